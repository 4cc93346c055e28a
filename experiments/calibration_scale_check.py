"""How accurate is fitting the national region on a scaled-down population?

The national fit (configs/calibration/national.yaml, scale 0.04) simulates 4% of the ~1M-firm pool
and scales every count back up. This script runs the same parameter draws and seeds at full size
and at the fit's scale and compares what each says about the reported national figures.

    python experiments/calibration_scale_check.py [FULL_RUNS] [SCALED_RUNS] [SCALE]

Parameters come from configs/calibrated/national.yaml when it exists (replication k's posterior
draw, as `sim run` would use it), else from the region's own values.
"""

from __future__ import annotations

import sys
import time
from multiprocessing import get_context

import numpy as np
import pandas as pd

from sim.experiment import posterior as post_mod
from sim.calibration.driver import scaled_region
from sim.calibration.targets import build_targets, read_values
from sim.commands.run import compose_job
from sim.experiment.runner import replication_seeds, run_one


def _run(args):
    cfg, ss, scale, targets = args
    t0 = time.perf_counter()
    q = run_one(cfg.model_copy(update={"region": scaled_region(cfg.region, scale)}), ss)
    return read_values(q, targets, scale), time.perf_counter() - t0


def main(n_full: int = 4, n_scaled: int = 16, scale: float | None = None) -> None:
    cfg = compose_job(["region=national"])
    scale = scale or cfg.calibration.scale
    targets = build_targets(cfg)
    targets = targets[targets["column"].notna()].reset_index(drop=True)
    end = int(targets["year"].max())
    cfg = cfg.model_copy(update={"end_year": end, "progress": False})
    n = max(n_full, n_scaled)
    seeds = replication_seeds(cfg.seed, n)
    cfgs, params = post_mod.replication_parameters(cfg, seeds)
    source = params["source"].iloc[0]
    jobs = [(cfgs[k], seeds[k], 1.0, targets) for k in range(n_full)]
    jobs += [(cfgs[k], seeds[k], scale, targets) for k in range(n_scaled)]
    with get_context("fork").Pool(2) as pool:
        out = pool.map(_run, jobs)
    full = np.array([v for v, _ in out[:n_full]])
    scaled = np.array([v for v, _ in out[n_full:]])
    t_full = np.mean([t for _, t in out[:n_full]])
    t_scaled = np.mean([t for _, t in out[n_full:]])
    rows = []
    for j, t in targets.iterrows():
        same = (scaled[:n_full, j] - full[:, j]) / full[:, j]  # same draw and seed, two population sizes
        rows.append({
            "figure": t["id"], "reported": t["value"], "tolerance": t["tolerance"],
            "full_median": np.median(full[:, j]), "scaled_median": np.median(scaled[:, j]),
            "median_gap": np.median(scaled[:, j]) / np.median(full[:, j]) - 1,
            "paired_gap_mean": same.mean(), "paired_gap_sd": same.std(ddof=1) if n_full > 1 else np.nan,
            "full_cv": full[:, j].std(ddof=1) / full[:, j].mean() if n_full > 1 else np.nan,
            "scaled_cv": scaled[:, j].std(ddof=1) / scaled[:, j].mean(),
        })
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(f"national, parameters: {source}; {n_full} full-size runs ({t_full:.1f} s each) vs {n_scaled} runs at "
          f"scale {scale:g} ({t_scaled:.2f} s each), to {end}\n")
    print(df.to_string(index=False, float_format=lambda x: f"{x:,.4g}"))


if __name__ == "__main__":
    a = sys.argv[1:]
    main(int(a[0]) if a else 4, int(a[1]) if len(a) > 1 else 16, float(a[2]) if len(a) > 2 else None)
