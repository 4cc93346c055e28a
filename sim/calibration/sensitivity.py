"""Global sensitivity of a sweep's ranking to the uncertain parameters (SALib; `python -m sim sensitivity`).

Which parameters can flip the ranking? The factors are the calibrated parameters (over their
posterior 5-95% range) and the lever-effect parameters (over their priors, ``lever_effects``). At
each point the sweep's best package and its runner-up run once with the same seed (common random
numbers), so a difference between them at a point is policy. The measure that decides the ranking
is the lead of the best over the runner-up in little giants at the ranking year (the same as the
lead in extra little giants over any common reference): below zero, the ranking flips.

1. Morris screening (elementary effects, ``trajectories`` x (factors + 1) points) ranks every factor;
2. Sobol indices (Saltelli sampling, ``sobol_n`` x (2k + 2) points) on the ``top`` factors by Morris
   mu*, the others at their medians;
3. one-at-a-time swings of the top factors (5% and 95% of their range, the others at their medians)
   for the tornado chart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np
import pandas as pd

from sim.core.schema import Prior, SimConfig
from sim.experiment import posterior as post_mod
from sim.experiment.effects import with_effects
from sim.experiment.runner import run_one

LOW, HIGH = 0.05, 0.95  # the swing of a factor in the tornado: these quantiles of its range


@dataclass(frozen=True)
class Factor:
    name: str  # an uncertainty, ``area_weight.X``, or ``behaviour.GROUP.NAME``
    prior: Prior  # the range a unit value maps onto
    kind: str  # "calibrated" or "lever effect"


def factors(cfg: SimConfig) -> list[Factor]:
    """The calibrated parameters over their posterior 5-95% range, then the lever effects over their priors."""
    out = []
    post = post_mod.resolve(cfg)
    if post is not None:
        lo, hi = post.quantile(LOW), post.quantile(HIGH)
        for name in post.names:
            if hi[name] > lo[name]:
                out.append(Factor(name, Prior(low=lo[name], high=hi[name]), "calibrated"))
    for name, p in cfg.lever_effects.priors.items():
        out.append(Factor(name, Prior(low=p.low, high=p.high, scale=p.scale), "lever effect"))
    return out


def at_point(cfg: SimConfig, fs: list[Factor], u: np.ndarray) -> SimConfig:
    """``cfg`` with every factor at quantile ``u`` of its range (one replication, no posterior draw;
    the national bar at the point's ``national_bar_quantile`` when that is a factor, else at its
    median trajectory)."""
    base = cfg.model_copy(update={"replications": 1, "progress": False,
                                  "calibration": cfg.calibration.model_copy(update={"use": "none"}),
                                  "lever_effects": cfg.lever_effects.model_copy(update={"use": "none"})})
    point = with_effects(base, {f.name: f.prior.at(float(x)) for f, x in zip(fs, u)})
    bar = post_mod.national_bar(point)
    if bar is None:
        return point
    if point.uncertainties.national_bar_quantile is not None:
        return bar.applied(point, bar.index_at(point.uncertainties.national_bar_quantile))
    median = post_mod.NationalBar(bar.years, np.median(bar.draws, axis=0, keepdims=True),
                                  np.median(bar.noise, keepdims=True), bar.path)
    return median.applied(point, 0)


def _measure(args) -> dict[str, float]:
    """Little giants of each package at the end of the ranking year, at one point (same seed)."""
    configs, names, seed, year = args
    ss = np.random.SeedSequence(seed).spawn(1)[0]
    return {name: float(run_one(cfg, ss).groupby("year")["n_T3"].last().loc[year]) for name, cfg in zip(names, configs)}


@dataclass
class Study:
    """What ``run`` returns: the factors, Morris and Sobol tables, the tornado swings, and its cost."""

    factors: list[Factor]
    morris: pd.DataFrame
    sobol: pd.DataFrame
    swings: pd.DataFrame
    runs: int
    seconds: float
    measure: str


def run(packages: dict[str, SimConfig], best: str, second: str, year: int, trajectories: int = 6,
        sobol_n: int = 16, top: int = 5, processes: int = 2, seed: int = 0) -> Study:
    """The three stages above for the sweep's ``best`` and ``second`` packages (name -> config)."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    t0 = time.perf_counter()
    fs = factors(packages[best])
    problem = {"num_vars": len(fs), "names": [f.name for f in fs], "bounds": [[0.0, 1.0]] * len(fs)}
    names = list(packages)
    evaluate = _Evaluator(packages, names, seed, year, processes)

    x_m = morris_sample.sample(problem, trajectories, num_levels=4, seed=seed)
    lead_m = evaluate.lead(x_m, fs, best, second)
    m = morris_analyze.analyze(problem, x_m, lead_m, num_levels=4, seed=seed)
    morris = pd.DataFrame({"factor": problem["names"], "kind": [f.kind for f in fs], "mu_star": m["mu_star"],
                           "sigma": m["sigma"]}).sort_values("mu_star", ascending=False, kind="stable")
    keep = list(morris["factor"].head(top))
    sub = {"num_vars": len(keep), "names": keep, "bounds": [[0.0, 1.0]] * len(keep)}
    x_s = sobol_sample.sample(sub, sobol_n, calc_second_order=False, seed=seed)
    full = np.full((len(x_s), len(fs)), 0.5)
    full[:, [problem["names"].index(k) for k in keep]] = x_s
    s = sobol_analyze.analyze(sub, evaluate.lead(full, fs, best, second), calc_second_order=False,
                              seed=seed)
    sobol = pd.DataFrame({"factor": keep, "S1": s["S1"], "S1_conf": s["S1_conf"], "ST": s["ST"],
                          "ST_conf": s["ST_conf"]})
    swings = _swings(evaluate, fs, keep, best, second)
    return Study(fs, morris.reset_index(drop=True), sobol, swings, evaluate.runs, time.perf_counter() - t0,
                 f"lead of {best} over {second} in extra little giants at end of {year}")


def _swings(evaluate, fs: list[Factor], keep: list[str], best: str, second: str) -> pd.DataFrame:
    """The lead with every factor at its median, and with each top factor at 5% and 95% of its range."""
    names = [f.name for f in fs]
    points = [np.full(len(fs), 0.5)]
    for k in keep:
        for u in (LOW, HIGH):
            x = np.full(len(fs), 0.5)
            x[names.index(k)] = u
            points.append(x)
    lead = evaluate.lead(np.array(points), fs, best, second)
    rows = []
    for j, k in enumerate(keep):
        f = fs[names.index(k)]
        rows.append({"factor": k, "kind": f.kind, "value_low": f.prior.at(LOW), "value_high": f.prior.at(HIGH),
                     "lead_low": lead[1 + 2 * j], "lead_high": lead[2 + 2 * j], "lead_median": lead[0]})
    return pd.DataFrame(rows)


class _Evaluator:
    """Runs every package at each point (in ``processes`` worker processes) and counts the runs."""

    def __init__(self, packages, names, seed, year, processes):
        self.packages, self.names, self.seed, self.year = packages, names, seed, year
        self.processes, self.runs = processes, 0

    def lead(self, x: np.ndarray, fs: list[Factor], best: str, second: str) -> np.ndarray:
        """The lead of ``best`` over ``second`` in little giants at each point of ``x``."""
        wanted = [best, second]
        jobs = [([at_point(self.packages[n], fs, u) for n in wanted], wanted, self.seed, self.year) for u in x]
        if self.processes > 1:
            with get_context("fork").Pool(self.processes) as pool:
                res = pool.map(_measure, jobs)
        else:
            res = [_measure(j) for j in jobs]
        self.runs += len(jobs) * len(wanted)
        return np.array([r[best] for r in res]) - np.array([r[second] for r in res])
