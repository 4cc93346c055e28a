"""How large the model's little giants are, against MIIT's count of their revenue.

    python experiments/little_giant_size.py                  # national, installed posterior, 20 runs
    python experiments/little_giant_size.py --replications 10 region.revenue_per_worker_median=1.0

MIIT's vice minister at the 2022 national SRDI SME conference (Xinhua, Sep 2022, via
metropoltv.co.ke): the four batches' "nearly 9,000" little giants (8,997) earned 3.7 trillion yuan
in 2021, up 31.5% on 2020 — a mean of ~411 M yuan a firm. This runs posterior-predictive national
runs (as a fit's check draws them, at the fit's population scale) and reads, in the quarter of
the 4th batch (2022 Q3), the firms then holding the title: their mean and median revenue of 2021
and the growth of their summed revenue 2020 → 2021. Printed as medians over the runs.

Why: the size test at review (SME ceiling) removes ~20% of the titles due in the model; how large
the titled firms are sets how many outgrow it. Not fitted; no reported figure of this kind is in
``seeds/`` because the model has no output column for it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.calibration.check import predictive_jobs  # noqa: E402
from sim.commands.calibrate import translate  # noqa: E402
from sim.commands.run import compose_job  # noqa: E402
from sim.experiment import posterior as post_mod  # noqa: E402
from sim.model.model import SMEModel  # noqa: E402
from sim.model.rules import T3  # noqa: E402
from sim.model.units import QUARTERS_PER_YEAR  # noqa: E402

REPORTED_MEAN = 3.7e6 / 8997  # M yuan: 3.7 trillion yuan over the 8,997 little giants, 2021 revenue
REPORTED_GROWTH = 0.315
BATCH4_YEAR = 2022


def holders_2021(cfg, seed) -> tuple[float, float, float]:
    """Mean and median 2021 revenue (M yuan) of the firms holding the title after the 4th batch,
    and their summed revenue's growth 2020 -> 2021."""
    model = SMEModel(cfg, seed)
    batch_step = (BATCH4_YEAR - cfg.start_year) * QUARTERS_PER_YEAR + cfg.region.calendar.t3_batch_quarter - 1
    while model.quarter <= batch_step:
        model.step()
    f, live = model.firms, model.live
    t3 = live[f.tier[live] == T3]
    rev21, rev20 = f.rev_y1[t3], f.rev_y2[t3]
    return float(np.mean(rev21)), float(np.median(rev21)), float(rev21.sum() / rev20.sum() - 1.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=20)
    args, overrides = ap.parse_known_args()
    cfg = compose_job(translate(["region=national", *overrides]))
    pf = post_mod.calibration_file(cfg)
    jobs, _ = predictive_jobs(cfg, pf, args.replications, cfg.calibration.scale)
    rows = np.array([holders_2021(c, s) for c, s in jobs])
    mean, median, growth = np.median(rows, axis=0)
    lo, hi = np.quantile(rows[:, 0], [0.05, 0.95])
    print(f"{' '.join(overrides) or '(defaults)'}: {args.replications} national runs of {pf.name}")
    print(f"little giants after the 4th batch, 2021 revenue: mean {mean:.0f} M yuan [90%: {lo:.0f}-{hi:.0f}] "
          f"(MIIT: {REPORTED_MEAN:.0f}, {mean / REPORTED_MEAN - 1:+.0%}); median {median:.0f} M yuan")
    print(f"growth of their revenue 2020 -> 2021: {growth:+.1%} (MIIT: {REPORTED_GROWTH:+.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
