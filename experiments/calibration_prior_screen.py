"""Prior screen for the calibration: simulate N parameter draws from the priors and report, per
reported figure, the range the model covers and which fitted parameters move it (rank correlation).

Why: before fitting, see whether every figure is reachable inside the priors and which parameters
the data can inform. Usage:
    python experiments/calibration_prior_screen.py [N] [region] [scale]
"""

from __future__ import annotations

import sys
import time
from multiprocessing import get_context

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from sim.calibration.driver import Simulator, fit_config
from sim.calibration.targets import build_targets
from sim.commands.run import compose_job


def main(n: int = 200, region: str = "chongqing", scale: float | None = None) -> None:
    over = [f"region={region}", "calibration.use=none"] + ([f"calibration.scale={scale}"] if scale else [])
    cfg = compose_job(over)
    targets = build_targets(cfg)
    readable = targets[targets["column"].notna()].reset_index(drop=True)
    sim = Simulator(fit_config(cfg, readable.assign(role="fitted")), cfg.calibration, readable)
    rng = np.random.default_rng(20251122)
    draws = []
    for _ in range(n):
        d = {}
        for name, p in cfg.calibration.priors.items():
            u = rng.random()
            d[name] = float(10 ** (np.log10(p.low) + u * np.log10(p.high / p.low))) if p.scale == "log" \
                else p.low + u * (p.high - p.low)
        draws.append(d)
    t0 = time.perf_counter()
    with get_context("fork").Pool(2) as pool:
        vals = np.array(pool.map(sim.simulate, draws))
    wall = time.perf_counter() - t0
    P = pd.DataFrame(draws)
    print(f"{n} prior draws in {wall:.0f} s ({2 * wall / n:.2f} s per simulation per process)\n")
    rows = []
    for j, t in readable.iterrows():
        v = vals[:, j]
        cors = {name: spearmanr(P[name], v).statistic for name in P.columns}
        top = sorted(cors.items(), key=lambda kv: -abs(kv[1]))[:4]
        lo_t, hi_t = t["value"] * (1 - t["tolerance"]), t["value"] * (1 + t["tolerance"])
        rows.append({"figure": t["id"], "role": t["role"], "reported": t["value"],
                     "p5": np.quantile(v, 0.05), "median": np.median(v), "p95": np.quantile(v, 0.95),
                     "share_in_tol": float(np.mean((v >= lo_t) & (v <= hi_t))),
                     "drivers": ", ".join(f"{k} {c:+.2f}" for k, c in top)})
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 120)
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:,.3g}"))
    fitted = readable["role"] == "fitted"
    lo = readable["value"] * (1 - readable["tolerance"])
    hi = readable["value"] * (1 + readable["tolerance"])
    inside = ((vals >= lo.to_numpy()) & (vals <= hi.to_numpy()))[:, fitted.to_numpy()]
    print(f"\ndraws with every fitted figure in tolerance: {inside.all(axis=1).sum()} of {n}")


if __name__ == "__main__":
    a = sys.argv[1:]
    main(int(a[0]) if a else 200, a[1] if len(a) > 1 else "chongqing", float(a[2]) if len(a) > 2 else None)
