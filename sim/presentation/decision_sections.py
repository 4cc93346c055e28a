"""The decision part of a comparison in words and tables: how often one package beats another, the
probability each is the best buy, costs per outcome, the ranking at equal cost, who gains, regions,
the dose-response along a swept lever and the sensitivity analysis. Numbers from
``sim.analysis.decision``; labels and formats from the outcome registry."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.decision import Decision, options
from sim.analysis.paired import BOOTSTRAP_RESAMPLES
from sim.core.outcomes import COST_PER_OUTCOME, INDICATORS, fmt, fmt_money, percent
from sim.presentation.cells import cell, cost_cell, share
from sim.presentation.document import Section

EQUAL_COST_EXAMPLE = 500  # M yuan a year, in the hint of how to produce the equal-cost runs
SHOWN_WTP = 6  # willingness-to-pay values in the acceptability table
NOT_REVIEWED = "no cohort reviewed yet"


def _labels(d: Decision) -> dict[str, str]:
    return {j.name: j.label for j in d.c.ok_jobs}


def _reps(d: Decision, t: pd.DataFrame) -> str:
    n = sorted(set(t["pairs"]))
    return "/".join(map(str, n))


# ------------------------------------------------------------------------------- win shares
def win_shares(d: Decision) -> Section | None:
    c, w = d.c, d.wins
    w = w[w["year"] == c.rank_year]
    if w.empty:
        return None
    labels = _labels(d)
    r = c.distinct_refs()[0]
    sub = w[w["reference"] == r.job.name]
    order = list(dict.fromkeys(sub["job"]))
    m = sub.pivot(index="job", columns="versus_job", values="share")
    header = ["package beats →", *[labels[n] for n in order]]
    rows = [[labels[a], *["–" if a == b else share(m.loc[a, b]) for b in order]] for a in order]
    return Section(f"How often one package beats another (paired win shares, {c.rank_year})", [
        f"Cell: the share of the {_reps(d, w)} paired replications in which the row's package has more extra "
        f"little giants at the end of {c.rank_year} than the column's (the same simulated history under both; a "
        "tie counts half, so a row and its mirror column add up to 100%). Near 50%: which of the two is ahead "
        "is a toss-up across histories, whatever their medians say; 90% or more: a robust ordering. "
        f"`win_shares.csv` has every pair at {c.rank_year} and {c.last_year}"
        + (", and the packages of the other references" if len(c.distinct_refs()) > 1 else "") + "."], header, rows)


# ---------------------------------------------------------------------------- acceptability
def _shown_wtp(grid: np.ndarray) -> list[float]:
    """A few round willingness-to-pay values inside the grid, for the table."""
    lo, hi = np.log10(grid.min()), np.log10(grid.max())
    cands = [m * 10 ** e for e in range(int(np.floor(lo)), int(np.ceil(hi)) + 1) for m in (1, 3)]
    inside = [v for v in cands if grid.min() <= v <= grid.max()]
    step = max(1, int(np.ceil(len(inside) / SHOWN_WTP)))
    return inside[::step]


def acceptability(d: Decision) -> Section | None:
    c, a = d.c, d.acceptability
    if a.empty:
        return None
    labels = _labels(d)
    r = c.distinct_refs()[0]
    sub = a[a["reference"] == r.job.name]
    p = sub.pivot(index="wtp", columns="job", values="probability")
    order = [j.name for j in options(c, r)[0]]
    rows = []
    for lam in _shown_wtp(p.index.to_numpy()):
        near = p.index[np.argmin(np.abs(np.log(p.index.to_numpy()) - np.log(lam)))]
        rows.append([fmt_money(lam, tick=True),
                     *[share(p.loc[near, n]) for n in order]])
    more = " (the first reference's packages)" if len(c.distinct_refs()) > 1 else ""
    return Section(f"Which package is the best buy? Cost-effectiveness acceptability, {c.rank_year}", [
        f"For a willingness to pay λ (M yuan the budget holder would pay for one extra little giant at the end of "
        f"{c.rank_year}), a package's net benefit in a replication is λ × its extra little giants − its extra "
        f"fiscal cost since adoption ({c.adopt_year}); the reference's is 0. The curve gives, at each λ, the share "
        f"of the {_reps(d, sub)} paired replications in which each option has the highest net benefit (the shares "
        "add up to 100% at each λ). Where the reference leads, no package's extra little giants are worth their "
        f"cost at that price. `acceptability.csv` has the whole grid{more}."],
        ["λ (M yuan per extra little giant)", *[labels[n] for n in order]], rows,
        image="acceptability.png",
        caption="Probability of being the best buy against the willingness to pay per extra little giant.")


# ---------------------------------------------------------------------------- cost per outcome
def costs_per_outcome(d: Decision) -> Section:
    c = d.c
    sub = c.table[c.table["measure"] == "cost_per_extra"].set_index(["job", "indicator", "year"])
    years = [y for y in c.years if y >= c.adopt_year] or c.years
    others = {j.name for j in c.ok_jobs if c.reference_of(j) is not j}
    rows = []
    for name in [n for n in c.ranking["job"] if n in others]:
        for cid in COST_PER_OUTCOME:
            cells = []
            for y in years:
                r = sub.loc[(name, cid, y)] if (name, cid, y) in sub.index else None
                not_yet = r is not None and str(r["note"]).startswith("no cohort")
                cells.append("–" if r is None else NOT_REVIEWED if not_yet else cost_cell(r))
            if any(x != "–" for x in cells):
                rows.append([_labels(d)[name], INDICATORS[cid].label.removeprefix("Fiscal cost "), *cells])
    text = [f"Extra fiscal cost since adoption ({c.adopt_year}) over the reference divided by the extra outcome "
            "at the end of the year (ratio of means over paired replications), with its "
            f"{percent(c.interval)}% paired bootstrap interval ({BOOTSTRAP_RESAMPLES} resamples). Per extra SRDI "
            "SME counts every extra SRDI SME (little giants included) against the whole extra cost, so it is not "
            "additive with the cost per extra little giant."]
    if c.has_reviews:
        first = c.adopt_year + c.validity()
        text.append(f"Per extra little giant that survives its first review: extra little giants recognised from "
                    f"{c.adopt_year} on and renewed at MIIT's review {c.validity()} years later. "
                    + (f"**No cohort recognised since adoption has had its first review by {c.rank_year} (the "
                       f"first is in {first}), so this cost has no value at the ranking year** ('{NOT_REVIEWED}')."
                       if first > c.rank_year else ""))
    else:
        text.append("The jobs' yearly.csv has no renewed_first_T3 (runs written before it was counted), so the "
                    "cost per extra little giant that survives its first review is not computed.")
    return Section("Fiscal cost per extra outcome (M yuan)", text, ["package", "cost per", *map(str, years)], rows)


# -------------------------------------------------------------------------------- equal cost
def _equal_cost_rows(d: Decision) -> list[list[str]]:
    rows = []
    for _, r in d.equal_cost.ranking.iterrows():
        flag = ""
        if r["note"] or not r["binding"]:
            flag = f"**cannot spend the envelope**: {r['note'] or 'its claims stay below it'}"
        band = {k: {"value": r[k], "low": r[f"{k}_low"], "high": r[f"{k}_high"],
                    "unit": "M yuan" if k == "extra_cost" else "firms", "note": r.get("cost_note", "")}
                for k in ("extra_giants", "extra_cost", "cost_per_extra")}
        rows.append([str(r["rank"]), r["package"], f"×{r['fiscal_scale']:g}", fmt_money(r["envelope"]),
                     cell(band["extra_giants"], True),
                     cell(band["extra_cost"], True), cost_cell(band["cost_per_extra"]), flag])
    return rows


def equal_cost(d: Decision) -> Section:
    c, e = d.c, d.equal_cost
    title = f"Ranking at equal cost ({c.rank_year})"
    if e.ranking is None:
        return Section(title, [
            "No job of this sweep ran at equal cost, so packages are compared only as written (each at its own "
            f"cost). To rank them at the same cost, rerun the sweep with `equal_cost={EQUAL_COST_EXAMPLE}` on the "
            f"command line (e.g. `python -m sim run -m +scenario=... equal_cost={EQUAL_COST_EXAMPLE}`): each "
            f"package's budget envelope becomes the status quo's plus {EQUAL_COST_EXAMPLE} M yuan a year from "
            "adoption, and its fiscal levers are scaled until it spends it; each job then writes `equal_cost/` "
            "and this section ranks them."])
    amount = ", ".join(fmt(a) for a in e.amount) or "?"
    text = [f"Each package's fiscal levers above the status quo are scaled (fiscal scale ×k) until its spending "
            f"on the envelopes (`envelope_spent`) fills an envelope of the status quo's budget plus {amount} M yuan "
            f"a year from adoption (`equal_cost`); differences are paired against the reference's runs as written "
            f"(the reference runs the status quo, which an equal-cost envelope does not change). Extra cost counts "
            f"from adoption ({c.adopt_year}) to {c.rank_year}; non-fiscal levers (review rules, chain leaders) are not "
            f"scaled."]
    if e.without:
        text.append(f"Not run at equal cost (no `equal_cost/` in their job directory): {', '.join(e.without)}.")
    if any(not b for b in e.ranking["binding"]):
        text.append("**Packages flagged below cannot spend the envelope: their claims fall short of it, so at "
                    "'equal cost' they still cost less than the others.**")
    header = ["rank", "package", "fiscal scale", "envelope (M yuan a year)", f"extra little giants {c.rank_year}",
              f"extra fiscal cost {c.adopt_year}–{c.rank_year} (M yuan)", "cost per extra little giant (M yuan)", "flag"]
    return Section(title, text, header, _equal_cost_rows(d))


# --------------------------------------------------------------------------------- who gains
def _group_table(d: Decision, t: pd.DataFrame, indicator: str) -> tuple[list[str], list[list[str]]]:
    c = d.c
    sub = t[(t["indicator"] == indicator) & (t["year"] == c.rank_year)]
    jobs = [n for n in c.ranking["job"] if n in set(sub["job"])]
    labels = _labels(d)
    groups = list(dict.fromkeys(zip(sub["group"], sub["group_label"])))
    idx = sub.set_index(["job", "group"])
    rows = [[label, *[cell(idx.loc[(n, g)], True) for n in jobs]] for g, label in groups]
    return ["group", *[labels[n] for n in jobs]], rows


def who_gains(d: Decision) -> list[Section]:
    """Two tables (little giants, SRDI SMEs) by group, and the chart; none without the group columns."""
    c, g = d.c, d.gains
    if g is None or g.empty:
        return []
    hdr, rows = _group_table(d, g, "n_T3")
    hdr2, rows2 = _group_table(d, g, "n_T2plus")
    return [Section(f"Who gains: extra little giants by cluster and chain-leader link ({c.rank_year})", [
        f"Paired extra little giants (T3) at the end of {c.rank_year}, median [interval], by the firm's industrial "
        "cluster and by whether it is a supplier of a chain leader (链主) at year end. Matchmaking moves firms from "
        "'not linked' to 'suppliers', so the link split shows where the extra titles sit, not only whom a "
        f"package helped. `who_gains.csv` has both tiers at {c.rank_year} and {c.last_year}."], hdr, rows),
        Section("", [f"Extra SRDI SMEs (T2 and above) at the end of {c.rank_year}, same groups:"], hdr2, rows2,
                image="who_gains.png",
                caption="Median extra little giants and SRDI SMEs per group and package (paired differences).")]


# ----------------------------------------------------------------------------------- regions
def regions(d: Decision) -> Section | None:
    c, a = d.c, d.areas
    if a is None or a.table.empty:
        return None
    sub = a.table[a.table["year"] == c.rank_year]
    jobs = [n for n in c.ranking["job"] if n in set(sub["job"])]
    idx = sub.set_index(["job", "group"])
    labels = _labels(d)
    groups = [*a.areas, ("nation", "Nation")]
    rows = [[labels[n], *[cell(idx.loc[(n, g)], True) for g, _ in groups]] for n in jobs]
    text = [f"Paired extra little giants at the end of {c.rank_year} by area of the national model, and for the "
            "nation (all areas)."]
    if a.nationwide:
        text.append(f"**Adopted nationwide ({', '.join(a.nationwide)}): MIIT's national batch is fixed, so the "
                    "national number of little giants cannot rise — a region's gains are other regions' losses. "
                    "The 'Nation' column shows it: its extra little giants stay near zero.**")
    if a.focus:
        text.append(f"Packages adopted by {', '.join(a.focus)} alone: MIIT's batch is fixed, so the titles "
                    f"{', '.join(a.focus)} gains are titles other areas do not win (their columns are negative).")
    return Section(f"Regions: extra little giants by area ({c.rank_year})", text,
                   ["package", *[lab for _, lab in groups]], rows)


# ----------------------------------------------------------------------------- dose-response
def dose_response(d: Decision) -> Section | None:
    c, dose = d.c, d.dose
    if dose is None:
        return None
    key = dose.key.removeprefix("policy.")
    rows = []
    for _, r in dose.table.iterrows():
        g = {"value": r["extra_giants"], "low": r["extra_giants_low"], "high": r["extra_giants_high"], "unit": "firms"}
        k = {"value": r["extra_cost"], "low": r["extra_cost_low"], "high": r["extra_cost_high"], "unit": "M yuan"}
        rows.append([f"{r['value']:g}", r["package"], "reference" if r["is_reference"] else cell(g, True),
                     "reference" if r["is_reference"] else cell(k, True)])
    return Section(f"Dose-response: {key}", [
        f"The sweep varies one lever, `{dose.key}`: extra little giants at the end of {c.rank_year} and extra "
        f"fiscal cost {c.adopt_year}–{c.rank_year} against its value (median and {percent(c.interval)}% "
        "interval of the paired differences; the reference is marked)."],
        [key, "package", f"extra little giants {c.rank_year}", f"extra fiscal cost {c.adopt_year}–{c.rank_year} (M yuan)"],
        rows, image="dose_response.png", caption=f"Response to {key}.")


# ------------------------------------------------------------------------------- sensitivity
def _fmt_value(v) -> str:
    if isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool):
        return f"{v:.3g}" if np.isfinite(v) else "n/a"
    return str(v)


def _sensitivity_text(s) -> list[str]:
    """What the study measured and cost, and whether a swing of one factor flips the ranking."""
    info = s.info or {}
    out = ["From `sensitivity/` in the sweep directory (`" + str(info.get("command", "python -m sim sensitivity")) + "`): "
           f"the measure is the {info.get('measure', 'lead of the best package over the runner-up')}; "
           "mu_star and sigma are Morris' elementary effects on it (every factor screened), S1 and ST Sobol's "
           "first-order and total indices on the top factors (with their 95% confidence half-widths: a wide one "
           "means more runs are needed, `--sobol N`), and lead_low / lead_high the lead with the factor at 5% and "
           "95% of its range, every other factor at its median."]
    if info:
        out.append(f"{info.get('factors')} factors, {info.get('runs')} simulations, {info.get('seconds')} s.")
    t = s.summary
    if t is not None and {"lead_low", "lead_high", "factor"} <= set(t.columns) and len(t):
        worst = t.assign(m=t[["lead_low", "lead_high"]].min(axis=1)).sort_values("m").iloc[0]
        flips = t[(t["lead_low"] < 0) | (t["lead_high"] < 0)]["factor"].tolist()
        out.append(f"**One factor's swing flips the ranking**: {', '.join(f'`{f}`' for f in flips)}." if flips else
                   f"No single factor's swing flips the ranking; the closest is `{worst['factor']}`, whose swing "
                   f"brings the lead down to {_fmt_value(worst['m'])}.")
    return out


def sensitivity(d: Decision) -> Section:
    s = d.sensitivity
    title = "Which uncertain parameters can flip the ranking (sensitivity)"
    if s.tornado is None and s.summary is None:
        return Section(title, [
            "No sensitivity analysis in this sweep directory. `python -m sim sensitivity DIR` (DIR: this sweep's "
            "directory; Morris screening, then Sobol indices on the parameters that matter) writes "
            "`DIR/sensitivity/tornado.png` and `DIR/sensitivity/summary.csv`; `python -m sim compare DIR` then "
            "rebuilds this report with them."])
    header, rows = [], []
    if s.summary is not None:
        header = [str(h) for h in s.summary.columns]
        rows = [[_fmt_value(v) for v in r] for r in s.summary.itertuples(index=False)]
    return Section(title, _sensitivity_text(s),
                   header, rows, image="tornado.png" if s.tornado is not None else None,
                   caption="Tornado chart of the sensitivity analysis.")
