"""The posterior-predictive check of a fit: how the calibrated model reads each reported figure,
and what the data pin down.

The numbers come from ``check_replications`` runs exactly as `python -m sim run` makes them with
``calibration.use=posterior`` (replication k draws its own particle), to the config's end year, so
the check shows what a user of the calibration gets.
"""

from __future__ import annotations

from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration.driver import Bar, scaled_region
from sim.calibration.priors import bounds, sampling_space
from sim.calibration.targets import read_replications
from sim.core.outcomes import band, quantile_levels
from sim.core.schema import Calibration, SimConfig, value_of
from sim.experiment import posterior as post_mod
from sim.experiment.runner import replication_seeds, run_one
from sim.experiment.store import write_csv

# what does not scale with the simulated population: keys, counts of chain leaders, MIIT's merit
# bar, rates and shares
UNSCALED = {"replication", "year", "quarter", "leaders_open_orders", "t3_merit_bar"}


def _scaled(column: str) -> bool:
    return column not in UNSCALED and not column.startswith(("review_pass_rate", "t3_share"))


# ------------------------------------------------------------------------- posterior predictive
def _one(args):
    cfg_k, ss = args
    return run_one(cfg_k, ss)


def predictive_jobs(cfg: SimConfig, post_file: Path, n: int, scale: float
                    ) -> tuple[list[tuple[SimConfig, np.random.SeedSequence]], pd.DataFrame]:
    """The (config, seed) of each of ``n`` posterior-predictive replications, posterior draw k for
    replication k as `sim run` draws them, on the region scaled to ``scale``; and the draws. Every
    fitted parameter is drawn, also one the fit's own overrides named (the fit started from it)."""
    run_cfg = cfg.model_copy(update={
        "replications": n, "progress": False,
        "calibration": Calibration(use="posterior", file=str(post_file)),
    }).naming(frozenset())
    seeds = replication_seeds(cfg.seed, n)
    cfgs, params = post_mod.replication_parameters(run_cfg, seeds)
    if scale != 1.0:
        cfgs = [c.model_copy(update={"region": scaled_region(c.region, scale)}) for c in cfgs]
    return list(zip(cfgs, seeds)), params


def predictive(cfg: SimConfig, post_file: Path, n: int, processes: int, scale: float,
               progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` replications of ``cfg`` drawing from the posterior file, as `sim run` would (on the
    scaled region when ``scale`` < 1, counts scaled back up). Returns (quarterly, parameters)."""
    jobs, params = predictive_jobs(cfg, post_file, n, scale)
    bar = dict(total=n, desc="posterior-predictive check", unit="run", disable=not progress, leave=False)
    if processes > 1:
        with get_context("fork").Pool(min(processes, n)) as pool:
            frames = list(Bar(pool.imap(_one, jobs), **bar))
    else:
        frames = [run_one(c, s) for c, s in Bar(jobs, **bar)]
    for k, df in enumerate(frames):
        df.attrs = {}
        df.insert(0, "replication", k)
    q = pd.concat(frames, ignore_index=True)
    if scale != 1.0:
        cols = [c for c in q.columns if _scaled(c)]
        q[cols] = q[cols].astype(float) / scale
    return q, params


# ------------------------------------------------------------------------------------- tables
def target_table(targets: pd.DataFrame, quarterly: pd.DataFrame, interval: float, scale: float = 1.0) -> pd.DataFrame:
    """Each figure against the replications' median and interval. A count simulated on ``scale`` of
    the population moves in steps of 1/scale firms, so its interval is widened by half a step (MIIT's
    248 first-batch titles are 24.8 firms at a tenth: the run grants 25, read as 250); a figure quoted
    rounded is inside when the interval reaches the range its quote allows ("1.2万": 11,500-12,500)."""
    sims = read_replications(quarterly, targets)
    rows = []
    for i, t in targets.iterrows():
        v = sims[:, i]
        ok = np.isfinite(v)
        med, lo, hi = band(v[ok], interval) if ok.any() else (np.nan, np.nan, np.nan)
        half_step = 0.0 if t["how"] == "pass" else 0.5 / scale  # a review pass share is not a count
        slack = half_step + 0.5 * t["rounded_to"]
        rel = (med - t["value"]) / t["value"]
        rows.append({
            "id": t["id"], "tier": t["tier"], "kind": t["kind"], "date": t["date"].date().isoformat(),
            "reported": t["value"], "rounded_to": t["rounded_to"], "tolerance": t["tolerance"],
            "role": t["role"], "weight": t["weight"],
            "model_reading": t["model_reading"], "sim_median": med, "sim_low": lo, "sim_high": hi,
            "rel_error": rel, "in_tolerance": bool(abs(rel) <= t["tolerance"]) if ok.any() else False,
            "in_interval": bool(lo - slack <= t["value"] <= hi + slack) if ok.any() else False,
        })
    return pd.DataFrame(rows)


def parameter_table(cfg: SimConfig, post: post_mod.Posterior, interval: float) -> pd.DataFrame:
    """Posterior vs prior per fitted parameter; width ratio in the space the prior is uniform on
    (log10 for log priors): near 1 the data say nothing about it, small means pinned down."""
    lo_q, hi_q = quantile_levels(interval)
    qlo, qmed, qhi = post.quantile(lo_q), post.median(), post.quantile(hi_q)
    rows = []
    for name, p in cfg.calibration.priors.items():
        a, b = bounds(p)
        s_lo, s_hi = sampling_space(p, np.array([qlo[name], qhi[name]]))
        ratio = (s_hi - s_lo) / (interval * (b - a))
        verdict = "pinned down" if ratio < 0.5 else "partly informed" if ratio < 0.8 else "not identified (prior)"
        rows.append({"parameter": name, "scale": p.scale, "prior_low": p.low, "prior_high": p.high,
                     "region_value": value_of(cfg.uncertainties.model_dump(), name), "post_median": qmed[name],
                     "post_low": qlo[name], "post_high": qhi[name], "width_ratio": ratio, "verdict": verdict})
    return pd.DataFrame(rows)


def write_tables(out_dir: Path, table: pd.DataFrame, ptable: pd.DataFrame, params: pd.DataFrame) -> None:
    write_csv(out_dir / "targets.csv", table)
    write_csv(out_dir / "parameters.csv", ptable)
    write_csv(out_dir / "check_parameters.csv", params)


def with_merit_bar(cfg: SimConfig, post: post_mod.Posterior, quarterly: pd.DataFrame,
                   params: pd.DataFrame) -> post_mod.Posterior:
    """The national posterior with the merit bar its check runs met (``merit_bar``) in its metadata."""
    return post_mod.Posterior(post.region, post.names, post.weights, post.values, None,
                              {**post.meta, "merit_bar": merit_bar(cfg, quarterly, params)})


def merit_bar(cfg: SimConfig, quarterly: pd.DataFrame, params: pd.DataFrame) -> dict:
    """MIIT's bar of each batch year in each posterior-predictive run, with the experts' noise the
    run used: what a single-region run meets (``sim.experiment.posterior.national_bar``)."""
    batch = quarterly[quarterly["t3_batch"] > 0]
    wide = batch.pivot_table(index="replication", columns="year", values="t3_merit_bar", aggfunc="max")
    noise = (params.set_index("replication")["merit_noise_points"] if "merit_noise_points" in params
             else pd.Series(cfg.uncertainties.merit_noise_points, index=wide.index))
    return {"years": [int(y) for y in wide.columns],
            "draws": [[float(v) for v in row] for row in wide.to_numpy()],
            "noise": [float(noise.loc[r]) for r in wide.index],
            "batches": post_mod.batches_of(cfg),
            "note": "merit (SRDI score points plus MIIT's expert noise) of the last nominee admitted, per batch "
                    "year (rows: posterior-predictive runs); -inf: nominees were short of the batch"}
