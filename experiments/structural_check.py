"""A structural variant checked on an installed posterior, before deciding whether it is worth a refit.

    python experiments/structural_check.py region=national miit=criteria_2022 region.sme_employee_cap=0
    python experiments/structural_check.py --bar-overrides miit=criteria_2022 -- region=chongqing miit=criteria_2022

Runs ``--replications`` posterior-predictive runs of the installed calibration (configs/calibrated/,
or ``calibration.file=``)
with the given config overrides, exactly as a fit's check makes them (``sim.calibration.check``),
and prints each reported figure's median, 90% interval, whether it is within tolerance and inside
the interval, and the fit's own distance per run (``sim.calibration.distance``) over the fitted
figures. A single-region run meets the national merit bar: ``--bar-overrides`` re-runs the
installed national posterior under those overrides first and uses the bar its runs met, so a
Chongqing variant is checked against a national model that holds the same variant; ``--bar-out
FILE`` keeps that bar, so a forecast can be run against it (what the rest of China's lists
tightening from 2025 does to Chongqing's little giants):

    python experiments/structural_check.py --replications 200 --bar-out /tmp/bar.yaml \
        --bar-overrides region.calendar.t2_tightened_year=null -- region=chongqing
    python -m sim run replications=200 miit.bar_file=/tmp/bar.yaml

Why: a refit costs ~30 minutes a region and its ABC is stopped on a time budget, so a refit that
comes out worse may be the search, not the model. The installed particles under the variant show
what the variant does to the fitted figures with the parameters held where they were.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.calibration import check  # noqa: E402
from sim.calibration.distance import ToleranceDistance  # noqa: E402
from sim.calibration.driver import distance_scale  # noqa: E402
from sim.calibration.targets import build_targets, fitted, read_replications  # noqa: E402
from sim.commands.calibrate import translate  # noqa: E402
from sim.commands.run import compose_job  # noqa: E402
from sim.experiment import posterior as post_mod  # noqa: E402

COLUMNS = ["id", "role", "reported", "sim_median", "sim_low", "sim_high", "rel_error", "in_tolerance", "in_interval"]


def national_bar(overrides: list[str], n: int, processes: int, out: Path) -> Path:
    """The installed national posterior re-run under ``overrides``, written with the merit bar its runs met."""
    cfg = compose_job(translate(["region=national", *overrides]))
    pf = post_mod.default_file("national")
    q, params = check.predictive(cfg, pf, n, processes, cfg.calibration.scale, progress=False)
    post = check.with_merit_bar(cfg, post_mod.load_posterior(pf), q, params)
    post_mod.write_posterior(out, post, "installed national particles; merit bar re-run under "
                             + " ".join(overrides))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=40)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--bar-overrides", nargs="*", default=None,
                    help="single-region runs: re-run the national model under these overrides for its bar")
    ap.add_argument("--bar-out", type=Path, default=None,
                    help="keep that bar in this file (a forecast against it: sim run miit.bar_file=FILE)")
    args, overrides = ap.parse_known_args()
    overrides = [o for o in overrides if o != "--"]
    with tempfile.TemporaryDirectory() as tmp:
        if args.bar_overrides is not None:
            bar = national_bar(args.bar_overrides, args.replications, args.processes,
                               args.bar_out or Path(tmp) / "national.yaml")
            overrides = [*overrides, f"miit.bar_file={bar}"]
        cfg = compose_job(translate(overrides))
        pf = post_mod.calibration_file(cfg)  # the installed one, or calibration.file=
        q, _ = check.predictive(cfg, pf, args.replications, args.processes, cfg.calibration.scale, progress=False)
    targets = build_targets(cfg)
    table = check.target_table(targets, q, cfg.outcomes.interval, cfg.calibration.scale)
    fit = fitted(targets).reset_index(drop=True)
    dist = ToleranceDistance(fit, distance_scale(cfg.calibration))
    d = np.array([dist.of_values(v) for v in read_replications(q, fit)])
    with pd.option_context("display.width", 200, "display.max_rows", 100):
        print(f"{' '.join(overrides) or '(defaults)'}: {args.replications} runs of {pf.name}")
        print(table[COLUMNS].to_string(index=False))
    print(f"fit distance per run: median {np.median(d):.2f}, quartiles {np.quantile(d, 0.25):.2f}-"
          f"{np.quantile(d, 0.75):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
