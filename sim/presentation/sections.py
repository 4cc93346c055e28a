"""The comparison of a sweep in words and tables: one function per section of the report, each
reading the numbers of ``sim.analysis.paired`` and the labels of the outcome registry."""

from __future__ import annotations

import pandas as pd

from sim.analysis.decision import Decision
from sim.analysis.paired import BOOTSTRAP_RESAMPLES, Comparison
from sim.core.outcomes import SWEEP_STOCKS, percent, quantile_levels
from sim.presentation import decision_sections as ds
from sim.presentation.cells import cell, cost_cell
from sim.presentation.document import Section

BEFORE_ADOPTION = "before adoption"


def sections(c: Comparison, d: Decision) -> list[Section]:
    """Every section of the report, in order: the decision first, then the detail."""
    out = [intro(c), ranking(c),
           Section("", [], image="cost_vs_extra_giants.png",
                   caption="Which packages are efficient: extra fiscal cost against extra little giants.")]
    out += [s for s in (ds.win_shares(d), ds.acceptability(d)) if s is not None]
    out += [ds.costs_per_outcome(d), ds.equal_cost(d)]
    out += ds.who_gains(d)
    out += [s for s in (ds.regions(d), ds.dose_response(d)) if s is not None]
    out.append(ds.sensitivity(d))
    out += tier_tables(c) + [outflow_table(c), money_table(c)]
    out.append(Section("Little giants, SRDI SMEs and innovative SMEs over time", [], image="tier_counts_by_package.png",
                       caption="Median per package; shaded: the reference's interval."))
    notes = notes_section(c, d)
    if notes is not None:
        out.append(notes)
    out.append(jobs_table(c))
    return out


def adoption_text(c: Comparison) -> str:
    quarters = sorted({j.adopt_from for j in c.ok_jobs if c.reference_of(j) is not j}) or ["(no package)"]
    return (f"Packages take effect from {', '.join(quarters)} (`policy.adopt_from`); before that every job runs "
            f"the status quo with the same draws, so differences start at zero. Costs and other cumulative "
            f"figures count from the adoption year, {c.adopt_year}.")


def intro(c: Comparison) -> Section:
    pct = percent(c.interval)
    lo, hi = quantile_levels(c.interval)
    ok = c.ok_jobs
    multi = len(c.distinct_refs()) > 1
    reps = sorted({j.replications for j in ok})
    seeds = sorted({j.seed for j in ok})
    text = [
        f"Sweep `{c.sweep_dir.name}`: {len(ok)} finished job(s) of {len(c.jobs) + len(c.missing)}; "
        f"{', '.join(map(str, reps))} replication(s), seed {', '.join(map(str, seeds))}; "
        f"simulated {c.years_label()}.",
    ]
    for r in c.distinct_refs():
        users = [j.label for j in ok if c.reference_of(j) is r.job and j is not r.job]
        text.append(f"Reference{' of ' + ', '.join(users) if multi and users else ''}: {r.why}.")
        if not r.status_quo:
            whose = f"of {', '.join(users)}" if multi else "in this report"
            text.append(f"**Differences {whose} are against {r.job.label}, not against the status quo.**")
    text.append(
        f"Cells show the median [{pct}% interval] across replications. Differences are paired: replication k "
        f"of every job uses the same random streams as replication k of its reference (common random numbers), "
        f"so the difference d_k is the effect of policy in that simulated history; the interval is the "
        f"{100 * lo:g}th–{100 * hi:g}th percentile of the d_k, the range of the effect "
        f"across histories. Money in million yuan (M yuan; bn yuan from 10,000 M yuan), summed from adoption "
        f"({c.adopt_year}) to the year shown.")
    text.append(adoption_text(c))
    text.append(f"Packages are ranked at {c.rank_year} (`outcomes.rank_year`; `python -m sim compare DIR --year Y` "
                f"ranks at another report year){f', with {c.last_year} alongside' if c.last_year != c.rank_year else ''}.")
    return Section(f"Sweep comparison — {c.region_label()}", text, level=1)


def _band(r: pd.Series, name: str, suffix: str = "", money: bool = False) -> dict:
    return {"value": r[f"{name}{suffix}"], "low": r[f"{name}_low{suffix}"], "high": r[f"{name}_high{suffix}"],
            "unit": "M yuan" if money else "firms", "note": r.get(f"cost_note{suffix}", "")}


def ranking_rows(c: Comparison, rk: pd.DataFrame, late: bool) -> list[list[str]]:
    """The ranking's cells: level, extra little giants, extra cost and cost per extra at the ranking
    year, and (``late``) extra little giants and cost per extra at the last report year."""
    rows = []
    for _, r in rk.iterrows():
        g = cell(_band(r, "giants"))
        if r["is_reference"]:
            cells = ["reference"] * (5 if late else 3)
        else:
            cells = [cell(_band(r, "extra_giants"), True), cell(_band(r, "extra_cost", money=True), True),
                     cost_cell(_band(r, "cost_per_extra"))]
            if late:
                cells += [cell(_band(r, "extra_giants", "_last_year"), True),
                          cost_cell(_band(r, "cost_per_extra", "_last_year"))]
        rows.append([str(r["rank"]), r["package"], g, *cells])
    return rows


def ranking(c: Comparison) -> Section:
    multi = len(c.distinct_refs()) > 1
    late = c.last_year != c.rank_year
    header = ["rank", "package", f"little giants {c.rank_year}", f"extra little giants {c.rank_year}",
              f"extra fiscal cost {c.adopt_year}–{c.rank_year} (M yuan)",
              f"cost per extra little giant {c.rank_year} (M yuan)"]
    if late:
        header += [f"extra little giants {c.last_year}", f"cost per extra little giant {c.last_year} (M yuan)"]
    rows = ranking_rows(c, c.ranking, late)
    if multi:
        header.insert(2, "reference")
        labels = {j.name: j.label for j in c.ok_jobs}
        for row, ref in zip(rows, c.ranking["reference"]):
            row.insert(2, labels[ref])
    pct = percent(c.interval)
    return Section(
        f"Ranking by extra little giants at {c.rank_year}",
        [f"Packages ordered by the median number of extra little giants (T3) at the end of {c.rank_year} over "
         f"the reference; ties broken by the lower cost per extra little giant. Extra fiscal cost counts from "
         f"adoption ({c.adopt_year}) to the year shown. Cost per extra little giant = "
         f"mean extra fiscal cost / mean extra little giants over the paired replications (incremental "
         f"cost-effectiveness ratio); its interval is a {pct}% paired bootstrap interval ({BOOTSTRAP_RESAMPLES} "
         f"resamples of replications), 'unbounded' when resamples with no gain are too common, and 'n/a (no "
         f"gain)' when the package does not add little giants on average."
         + (f" The last two columns give the same at {c.last_year}." if late else "")],
        header, rows)


def _ordered(c: Comparison) -> list:
    by_name = {j.name: j for j in c.ok_jobs}
    return [by_name[n] for n in c.ranking["job"]]


def _others(c: Comparison) -> list:
    refs = [r.job for r in c.distinct_refs()]
    return [j for j in _ordered(c) if j not in refs]


def _wide(c: Comparison, measure: str, inds: list[tuple[str, str, str]], signed: bool, jobs: list) -> tuple[list, list]:
    """One row per job and indicator, one column per report year."""
    hdr = ["package", "indicator", *map(str, c.years)]
    rws = []
    sub = c.table[c.table["measure"] == measure].set_index(["job", "indicator", "year"])
    for j in jobs:
        for ind, label, unit in inds:
            cells = []
            for y in c.years:
                key = (j.name, ind, y)
                if ind.endswith("_cum") and y < c.adopt_year:
                    cells.append(BEFORE_ADOPTION)  # counted from adoption: nothing yet
                else:
                    cells.append(cell(sub.loc[key], signed) if key in sub.index else "–")
            rws.append([j.label, f"{label}{'' if unit == 'firms' else ' (' + unit + ')'}", *cells])
    return hdr, rws


def _with_differences(c: Comparison, inds: list[tuple[str, str, str]]) -> tuple[list, list]:
    """Levels of every job, then each package's paired difference, marked '− reference'."""
    hdr, rws = _wide(c, "level", inds, False, _ordered(c))
    if _others(c):
        _, rws2 = _wide(c, "difference", inds, True, _others(c))
        rws += [[f"{r[0]} − reference", *r[1:]] for r in rws2]
    return hdr, rws


def tier_tables(c: Comparison) -> list[Section]:
    tiers = [x for x in c.indicators() if x[0] in SWEEP_STOCKS]
    hdr, rws = _wide(c, "level", tiers, False, _ordered(c))
    out = [Section("Firms by tier at the end of each year", [
        "Firms holding at least the tier, as officials count them (SRDI SMEs include little giants)."],
        hdr, rws, image="outcomes_by_package.png")]
    if _others(c):
        hdr, rws = _wide(c, "difference", tiers, True, _others(c))
        out.append(Section("Difference from the reference: firms by tier", [
            "Paired difference (package minus reference, same replication), median [interval]."],
            hdr, rws, image="difference_from_reference.png"))
    return out


def outflow_table(c: Comparison) -> Section:
    outflows = [x for x in c.indicators() if x[0] in ("lost_review_cum", "lost_review_T3_cum", "failed_cum",
                                                       "renewed_first_T3_cum")]
    hdr, rws = _with_differences(c, outflows)
    text = [f"Counted from adoption ({c.adopt_year}) to the end of the year shown."]
    if c.has_reviews:
        text.append(f"Little giants renewed at their first review: titles won in a batch from {c.adopt_year} on "
                    f"and renewed at MIIT's review {c.validity()} years later (renewed_first_T3 in yearly.csv); none before "
                    f"{c.adopt_year + c.validity()}.")
    return Section("Titles lost at review, first renewals and firm failures", text, hdr, rws)


def money_table(c: Comparison) -> Section:
    money = [x for x in c.indicators() if x[0].startswith("spend_")]
    hdr, rws = _with_differences(c, money)
    return Section("Fiscal cost by instrument (M yuan, cumulative since adoption)", [
        f"Spending from adoption ({c.adopt_year}) to the end of the year shown, by instrument (bn yuan where "
        "marked); rows marked '− reference' are the paired extra cost over the reference."],
        hdr, rws, image="fiscal_cost_by_package.png")


def notes_section(c: Comparison, d: Decision) -> Section | None:
    notes = list(c.notes) + d.equal_cost.problems + ([d.sensitivity.problem] if d.sensitivity.problem else [])
    bad = [j for j in c.jobs if not j.ok]
    if bad or c.missing:
        notes.append(f"{len(bad) + len(c.missing)} job(s) are not in this comparison (listed below); rebuild with "
                     f"`python -m sim compare {c.sweep_dir}` once they finish.")
    return Section("Notes and warnings", [f"- {n}" for n in notes]) if notes else None


def jobs_table(c: Comparison) -> Section:
    ref_jobs = [r.job for r in c.distinct_refs()]
    rows = []
    for j in c.jobs:
        status = "finished" if j.ok else f"skipped: {j.problem}"
        role = "reference" if j in ref_jobs else ""
        seed = str(j.seed) if j.ok else "–"
        nrep = str(j.replications) if j.ok else "–"
        rows.append([j.name, j.label, role, status, seed, nrep, " ".join(j.overrides) or "–"])
    rows += [[m.split(" (")[0], "–", "", "skipped: never started", "–", "–", m.partition(" (")[2].rstrip(")")]
             for m in c.missing]
    return Section("Jobs", [], ["job", "package", "role", "status", "seed", "replications", "overrides"], rows)
