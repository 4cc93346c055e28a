"""What a budget holder decides on, from a paired comparison: how often one package beats another
(paired win shares), the probability each is the best buy at each willingness to pay (the
cost-effectiveness acceptability curve), the ranking at equal cost, and where the gains are
(``sim.analysis.breakdown``). All of it in one ``Decision`` the report reads.

Win shares and the acceptability curve compare packages of the same reference on the replications
all of them share, so replication k is one simulated history lived under each package.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.analysis.breakdown import Areas, Dose, Sensitivity, areas, dose_response, sensitivity, who_gains
from sim.analysis.paired import COLUMNS, Comparison, Reference, cost_rows, difference_rows, outcome_frame, paired_delta
from sim.analysis.stats import acceptability, win_shares, wtp_grid
from sim.core.outcomes import INDICATORS, since_adoption

EQUAL_COST_INDICATORS = ("n_T3", "n_T2plus", "spend_total_cum")


@dataclass
class EqualCost:
    ranking: pd.DataFrame | None  # one row per package run at equal cost, best first
    amount: list[float]  # the equal_cost settings (M yuan a year) the jobs ran with
    without: list[str]  # packages of the sweep with no equal-cost runs
    problems: list[str]  # equal_cost/ directories that could not be read
    rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COLUMNS))  # for comparison.csv


@dataclass
class Decision:
    c: Comparison
    wins: pd.DataFrame  # tidy: reference, job, package, versus_job, versus, year, share, pairs
    acceptability: pd.DataFrame  # tidy: reference, year, wtp, job, package, probability, pairs
    equal_cost: EqualCost
    gains: pd.DataFrame | None  # who gains (sim.analysis.breakdown.GROUP_COLUMNS)
    areas: Areas | None
    dose: Dose | None
    sensitivity: Sensitivity

    @property
    def table(self) -> pd.DataFrame:
        """comparison.csv: the comparison's rows, then the equal-cost rows."""
        parts = [t for t in (self.c.table, self.equal_cost.rows) if not t.empty]
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def options(c: Comparison, r: Reference) -> tuple[list, list[int]]:
    """The reference and the packages paired with it, in ranking order, and their common replications."""
    order = [n for n in c.ranking["job"]]
    jobs = [j for j in c.ok_jobs if j is r.job or (c.reference_of(j) is r.job and j.name in c.deltas)]
    jobs.sort(key=lambda j: order.index(j.name))
    reps = set(c.frames[r.job.name].index.get_level_values("replication"))
    for j in jobs:
        if j is not r.job:
            reps &= set(c.deltas[j.name].index.get_level_values("replication"))
    return jobs, sorted(reps)


def _at(c: Comparison, j, ref, year: int, col: str, reps: list[int]) -> np.ndarray:
    """Per-replication difference from the reference (zeros for the reference itself)."""
    if j is ref:
        return np.zeros(len(reps))
    return c.deltas[j.name].xs(year, level="year").loc[reps, col].to_numpy(float)


def paired_wins(c: Comparison) -> pd.DataFrame:
    """For each pair of packages of a reference, the share of paired replications in which the first
    has more extra little giants than the second (ties half), at the ranking and the last year."""
    rows = []
    for r in c.distinct_refs():
        jobs, reps = options(c, r)
        if len(jobs) < 2 or not reps:
            continue
        for y in dict.fromkeys((c.rank_year, c.last_year)):
            m = win_shares({j.name: _at(c, j, r.job, y, "n_T3", reps) for j in jobs})
            rows += [{"reference": r.job.name, "job": a.name, "package": a.label, "versus_job": b.name,
                      "versus": b.label, "year": y, "share": float(m.loc[a.name, b.name]), "pairs": len(reps)}
                     for a in jobs for b in jobs]
    return pd.DataFrame(rows, columns=["reference", "job", "package", "versus_job", "versus", "year", "share",
                                       "pairs"])


def acceptability_curve(c: Comparison) -> pd.DataFrame:
    """The probability each option (packages and the reference) has the highest net benefit
    λ·(extra little giants) − (extra cost since adoption) at the ranking year, over a λ grid."""
    rows = []
    for r in c.distinct_refs():
        jobs, reps = options(c, r)
        if len(jobs) < 2 or not reps:
            continue
        y = c.rank_year
        ratios = c.ranking.loc[c.ranking["reference"] == r.job.name, "cost_per_extra"].tolist()
        grid = wtp_grid(ratios)
        p = acceptability({j.name: _at(c, j, r.job, y, "n_T3", reps) for j in jobs},
                          {j.name: _at(c, j, r.job, y, "spend_total_cum", reps) for j in jobs}, grid)
        rows += [{"reference": r.job.name, "year": y, "wtp": float(lam), "job": j.name, "package": j.label,
                  "probability": float(p.loc[lam, j.name]), "pairs": len(reps)} for lam in p.index for j in jobs]
    return pd.DataFrame(rows, columns=["reference", "year", "wtp", "job", "package", "probability", "pairs"])


# -------------------------------------------------------------------------------- equal cost
def equal_cost(c: Comparison) -> EqualCost:
    """Each package at equal cost (``<job>/equal_cost/``) against its reference's runs as written:
    the reference runs the status quo, which an equal-cost envelope does not change."""
    packages = [j for j in c.ok_jobs if c.reference_of(j) is not j and j.name in c.deltas]
    have = [j for j in packages if j.equal_cost is not None]
    problems = [f"{j.label}: {j.equal_cost_problem}" for j in c.ok_jobs if j.equal_cost_problem]
    amounts = sorted({float(j.config["equal_cost"]) for j in have if j.config.get("equal_cost") is not None})
    out = EqualCost(None, amounts, [j.label for j in packages if j.equal_cost is None], problems)
    if not have:
        return out
    inds = [(i, since_adoption(INDICATORS[i].label, c.adopt_year) if i.endswith("_cum") else INDICATORS[i].label,
             INDICATORS[i].unit) for i in EQUAL_COST_INDICATORS]
    rows = []
    for j in have:
        ref = c.reference_of(j)
        fj = outcome_frame(j, c.adopt_year, yearly=j.equal_cost.yearly)
        common = sorted(set(fj.index.get_level_values("replication"))
                        & set(c.frames[ref.name].index.get_level_values("replication")))
        d = paired_delta(fj, c.frames[ref.name], common)
        rows += difference_rows(j, ref, d, inds, c.years, c.interval, "", measure="difference_equal_cost")
        rows += cost_rows(j, ref, d, c.years, c.interval, "", None, measure="cost_per_extra_equal_cost")
    out.rows = pd.DataFrame(rows, columns=COLUMNS)
    out.ranking = _equal_cost_ranking(c, have, out.rows)
    return out


def _equal_cost_ranking(c: Comparison, have: list, rows: pd.DataFrame) -> pd.DataFrame:
    t = rows[rows["year"] == c.rank_year].set_index(["job", "measure", "indicator"])
    out = []
    for j in have:
        e = j.equal_cost
        row = {"job": j.name, "package": j.label, "reference": c.reference_of(j).name, "year": c.rank_year,
               "fiscal_scale": e.fiscal_scale, "binding": e.binding, "envelope": e.envelope, "note": e.note}
        for name, measure, ind in (("extra_giants", "difference_equal_cost", "n_T3"),
                                   ("extra_cost", "difference_equal_cost", "spend_total_cum"),
                                   ("cost_per_extra", "cost_per_extra_equal_cost", "cost_per_extra_T3")):
            r = t.loc[(j.name, measure, ind)]
            row.update({name: r["value"], f"{name}_low": r["low"], f"{name}_high": r["high"]})
            if name == "cost_per_extra":
                row["cost_note"] = r["note"]
        out.append(row)
    r = pd.DataFrame(out).sort_values(["reference", "extra_giants", "cost_per_extra"], ascending=[True, False, True],
                                      na_position="last", kind="stable").reset_index(drop=True)
    r.insert(0, "rank", r.groupby("reference").cumcount() + 1)
    return r


def decide(c: Comparison) -> Decision:
    """Everything the report shows beyond the paired comparison itself."""
    return Decision(c, paired_wins(c), acceptability_curve(c), equal_cost(c), who_gains(c), areas(c),
                    dose_response(c), sensitivity(c.sweep_dir))
