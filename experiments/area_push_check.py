"""How far each city's push from 2024 moves its little giants, on the installed national posterior.

    python experiments/area_push_check.py                        # pushes -8..16, 40 runs each
    python experiments/area_push_check.py --pushes -4 0 4 --replications 20

Runs the installed national calibration's posterior-predictive runs (as a fit's check makes them)
with every city area's ``uncertainties.area_push_points`` set to each value of ``--pushes`` in turn,
and prints, per city figure, the runs' median and 90% interval at each push; then, per city, the
push at which the median of its fitted end-2025 count meets the reported figure (linear
interpolation of the log median), and a last set of runs with each city at its own push, with the
rest of China's bar by batch year against the runs without pushes (the bar a Chongqing run meets).
The cities share one push per set of runs: a city takes ~2-8% of a batch, so the others' pushes
move its bar little (the last set shows how little).

Why: a joint 18-parameter national fit (the 14 installed and the four pushes) in the 45-minute
budget collapsed onto one or two particles (ESS 1.6 of 100 in its last generation) and fitted the
cities worse than the installed fit (`experiments/results/national_area_push_joint_fit/`). This
asks the narrower question the data can answer at the fit's scale: with the installed national
parameters held as runs draw them, what push does each city's end-2025 count call for, and do its
Sep 2024 and Mar 2025 counts, not used, agree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.calibration import check  # noqa: E402
from sim.calibration.targets import build_targets  # noqa: E402
from sim.commands.calibrate import translate  # noqa: E402
from sim.commands.run import compose_job  # noqa: E402
from sim.experiment import posterior as post_mod  # noqa: E402

CITIES = {"chongqing": "cq", "beijing": "bj", "shanghai": "sh", "shenzhen": "sz"}
FITTED = {"chongqing": "cq_t3_2025_11", "beijing": "bj_t3_2025_12", "shanghai": "sh_t3_2025_12",
          "shenzhen": "sz_t3_2025_12"}


def city_rows(pushes: dict[str, float], n: int, processes: int) -> tuple[pd.DataFrame, pd.Series]:
    """The city little-giant figures of ``n`` runs with these pushes (median, interval, reported),
    and the median of the rest of China's bar by batch year (``sim.calibration.check.merit_bar``)."""
    cfg = compose_job(translate(["region=national", *(f"+uncertainties.area_push_points.{a}={p:g}"
                                                      for a, p in pushes.items())]))
    q, params = check.predictive(cfg, post_mod.default_file("national"), n, processes, cfg.calibration.scale,
                                 progress=False)
    targets = build_targets(cfg)
    table = check.target_table(targets, q, cfg.outcomes.interval, cfg.calibration.scale)
    prefixes = tuple(f"{c}_t3_" for c in CITIES.values())
    bar = check.merit_bar(cfg, q, params)
    bar_median = pd.Series(np.median(np.array(bar["draws"]), axis=0), index=bar["years"])
    return table[table["id"].str.startswith(prefixes)][["id", "reported", "sim_median", "sim_low", "sim_high",
                                                        "rel_error"]], bar_median


def push_for(curve: pd.DataFrame, reported: float) -> float:
    """The push at which the log median crosses the reported figure (linear between grid points);
    NaN when no grid point lies on each side."""
    x, y = curve["push"].to_numpy(), np.log(curve["sim_median"].to_numpy()) - np.log(reported)
    for i in range(len(x) - 1):
        if y[i] == 0.0:
            return float(x[i])
        if y[i] * y[i + 1] < 0.0:
            return float(x[i] + (x[i + 1] - x[i]) * (-y[i]) / (y[i + 1] - y[i]))
    return float(x[-1]) if y[-1] == 0.0 else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pushes", type=float, nargs="+", default=[-8.0, -4.0, 0.0, 4.0, 8.0, 12.0, 16.0])
    ap.add_argument("--replications", type=int, default=40)
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    grid, bars = [], {}
    for p in sorted(args.pushes):
        rows, bars[p] = city_rows({a: p for a in CITIES}, args.replications, args.processes)
        grid.append(rows.assign(push=p))
        print(f"push {p:+g}: " + ", ".join(f"{r.id} {r.sim_median:,.0f} ({r.rel_error:+.1%})" for r in rows.itertuples()),
              flush=True)
    grid = pd.concat(grid, ignore_index=True)
    found = {}
    for area, fid in FITTED.items():
        curve = grid[grid["id"] == fid].sort_values("push")
        found[area] = push_for(curve, float(curve["reported"].iloc[0]))
    print("push each city's end-2025 count calls for: "
          + ", ".join(f"{a} {p:+.1f}" for a, p in found.items()))
    if all(np.isfinite(list(found.values()))):
        rows, bar = city_rows(found, args.replications, args.processes)
        with pd.option_context("display.width", 200):
            print(f"each city at its own push ({args.replications} runs):")
            print(rows.to_string(index=False))
        if 0.0 in bars:  # what a single region meets: the rest of China's bar, with the pushes and without
            print("rest of China's bar, median points by batch year (no push -> each city at its own push): "
                  + ", ".join(f"{y} {bars[0.0][y]:.1f} -> {bar[y]:.1f} ({bar[y] - bars[0.0][y]:+.1f})"
                              for y in bar.index))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
