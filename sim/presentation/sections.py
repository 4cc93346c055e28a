"""The comparison of a sweep in words and tables: one function per section of the report, each
reading the numbers of ``sim.analysis.paired`` and the labels of the outcome registry."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.paired import BOOTSTRAP_RESAMPLES, Comparison, indicators
from sim.core.outcomes import SWEEP_STOCKS, fmt, fmt_signed, percent, quantile_levels
from sim.presentation.document import Section


def cell(r: pd.Series | dict, signed: bool = False) -> str:
    """'median [low–high]' for levels, '+median [low to high]' for differences."""
    f = fmt_signed if signed else fmt
    v, lo, hi = r["value"], r["low"], r["high"]
    if not np.isfinite(v):
        return r.get("note") or "n/a"
    if not (np.isfinite(lo) or np.isfinite(hi)):
        return f(v)
    sep = " to " if signed else "–"
    return f"{f(v)} [{f(lo)}{sep}{f(hi)}]"


def cost_cell(r: pd.Series | dict) -> str:
    v, lo, hi, note = r["value"], r["low"], r["high"], r.get("note") or ""
    if not np.isfinite(v):
        return note or "n/a"
    if not np.isfinite(lo) and not np.isfinite(hi):
        return fmt(v) + (f" ({note})" if note else "")
    high = fmt(hi) if np.isfinite(hi) else "unbounded"
    extra = " (saves money)" if "saves money" in note else ""
    return f"{fmt(v)} [{fmt(lo)}–{high}]{extra}"


def sections(c: Comparison) -> list[Section]:
    """Every section of the report, in order."""
    out = [intro(c), ranking(c),
           Section("", [], image="cost_vs_extra_giants.png",
                   caption="Which packages are efficient: extra fiscal cost against extra little giants.")]
    out += tier_tables(c) + [outflow_table(c), money_table(c)]
    cost = cost_table(c)
    if cost is not None:
        out.append(cost)
    out.append(Section("Little giants, SRDI SMEs and innovative SMEs over time", [], image="tier_counts_by_package.png",
                       caption="Median per package; shaded: the reference's interval."))
    notes = notes_section(c)
    if notes is not None:
        out.append(notes)
    out.append(jobs_table(c))
    return out


def _start(c: Comparison) -> int:
    return min(int(j.config["start_year"]) for j in c.ok_jobs)


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
        f"across histories. Money in million yuan (M yuan), summed from {_start(c)} to the year shown.")
    return Section(f"Sweep comparison — {c.region_label()}", text, level=1)


def ranking(c: Comparison) -> Section:
    multi = len(c.distinct_refs()) > 1
    start = _start(c)
    header = ["rank", "package", f"little giants {c.rank_year}", "extra little giants",
              f"extra fiscal cost {start}–{c.rank_year} (M yuan)", "cost per extra little giant (M yuan)"]
    if multi:
        header.insert(2, "reference")
    rows = []
    for _, r in c.ranking.iterrows():
        g = cell({"value": r["giants"], "low": r["giants_low"], "high": r["giants_high"]})
        if r["is_reference"]:
            eg, ec, cp = "reference", "reference", "reference"
        else:
            eg = cell({"value": r["extra_giants"], "low": r["extra_giants_low"], "high": r["extra_giants_high"]}, True)
            ec = cell({"value": r["extra_cost"], "low": r["extra_cost_low"], "high": r["extra_cost_high"]}, True)
            cp = cost_cell({"value": r["cost_per_extra"], "low": r["cost_per_extra_low"],
                            "high": r["cost_per_extra_high"], "note": r["cost_note"]})
        row = [str(r["rank"]), r["package"], g, eg, ec, cp]
        if multi:
            row.insert(2, next(j.label for j in c.ok_jobs if j.name == r["reference"]))
        rows.append(row)
    pct = percent(c.interval)
    return Section(
        f"Ranking by extra little giants at {c.rank_year}",
        [f"Packages ordered by the median number of extra little giants (T3) at the end of {c.rank_year} over "
         f"the reference; ties broken by the lower cost per extra little giant. Cost per extra little giant = "
         f"mean extra fiscal cost / mean extra little giants over the paired replications (incremental "
         f"cost-effectiveness ratio); its interval is a {pct}% paired bootstrap interval ({BOOTSTRAP_RESAMPLES} "
         f"resamples of replications), 'unbounded' when resamples with no gain are too common, and 'n/a (no "
         f"gain)' when the package does not add little giants on average."],
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
    tiers = [x for x in indicators() if x[0] in SWEEP_STOCKS]
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
    outflows = [x for x in indicators() if x[0] in ("lost_review_cum", "lost_review_T3_cum", "failed_cum")]
    hdr, rws = _with_differences(c, outflows)
    return Section("Titles lost at review and firm failures", [f"Counted from {_start(c)} to the end of the year shown."],
                   hdr, rws)


def money_table(c: Comparison) -> Section:
    money = [x for x in indicators() if x[0].startswith("spend_")]
    hdr, rws = _with_differences(c, money)
    return Section("Fiscal cost by instrument (M yuan, cumulative)", [
        f"Spending from {_start(c)} to the end of the year shown, by instrument; rows marked '− reference' are the "
        "paired extra cost over the reference."], hdr, rws, image="fiscal_cost_by_package.png")


def cost_table(c: Comparison) -> Section | None:
    if not _others(c):
        return None
    sub = c.table[c.table["measure"] == "cost_per_extra"].set_index(["job", "year"])
    rws = [[j.label, *[cost_cell(sub.loc[(j.name, y)]) if (j.name, y) in sub.index else "–" for y in c.years]]
           for j in _others(c)]
    return Section("Fiscal cost per extra little giant (M yuan)", [
        "Extra cumulative fiscal cost over the reference divided by extra little giants held at the end of the "
        "year (ratio of means over paired replications), with its bootstrap interval."],
        ["package", *map(str, c.years)], rws)


def notes_section(c: Comparison) -> Section | None:
    notes = list(c.notes)
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
