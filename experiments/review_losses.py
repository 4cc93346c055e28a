"""Which little-giant criteria remove titles at MIIT's reviews in the model, by review year.

    python experiments/review_losses.py                       # national, installed posterior, 40 runs
    python experiments/review_losses.py --replications 20 'miit.review_growth_waived=[2024,2025]'

Runs posterior-predictive national runs of the installed calibration (or ``calibration.file=``), as a
fit's check makes them, and at every little-giant review records which of the named criteria
(``Criteria.t3_tests``) each reviewed firm misses. Prints, per review year and for the batch's
first review: titles due, the share kept, and for each criterion the share of due titles missing it
(``miss``) and missing only it (``only``: the titles that criterion alone removed). Holders that
failed before their review are not in it (they are counted in ``failed_T3``).

Why: MIIT kept 57%, 62% and 83% of batches 1-3 at their first reviews (中制智库, 2024-09-23) and
87% of those due in 2025, mostly the 4th batch (科创中国, 2025-12-01); the model keeps about two
thirds of batches 1-3 and, with the growth test waived at review in 2025, about 86% of the 4th.
Where the model's losses come from says what would have to differ for a milder review.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.calibration import check  # noqa: E402
from sim.commands.calibrate import translate  # noqa: E402
from sim.commands.run import compose_job  # noqa: E402
from sim.experiment import posterior as post_mod  # noqa: E402
from sim.model import rules  # noqa: E402
from sim.model.units import QUARTERS_PER_YEAR  # noqa: E402


def record_reviews(tally: dict) -> None:
    """Wrap ``Criteria.t3_eligible`` so every review call adds its per-criterion misses to ``tally``."""
    plain = rules.Criteria.t3_eligible

    def recording(self, f, idx, step, shift=0.0, review=False):
        keep = plain(self, f, idx, step, shift, review)
        if review and len(idx):
            year = self.start_year + step // QUARTERS_PER_YEAR
            tests = self.t3_tests(f, idx, step, shift, review)
            misses = np.column_stack([~v for v in tests.values()])
            first = f.t3_cohort[idx] == year - self.miit.validity_years  # the batch's first review
            for scope, mask in (("all", np.ones(len(idx), bool)), ("first", first)):
                t = tally[(year, scope)]
                t["due"] += int(mask.sum())
                t["kept"] += int(keep[mask].sum())
                for k, name in enumerate(tests):
                    t[f"miss:{name}"] += int(misses[mask, k].sum())
                    t[f"only:{name}"] += int((misses[mask, k] & (misses[mask].sum(axis=1) == 1)).sum())
        return keep

    rules.Criteria.t3_eligible = recording


def table(tally: dict) -> pd.DataFrame:
    rows = []
    for (year, scope), t in sorted(tally.items()):
        if not t["due"]:
            continue
        row = {"year": year, "reviews": scope, "due": t["due"], "kept": t["kept"] / t["due"]}
        for name in [k.split(":", 1)[1] for k in t if k.startswith("miss:")]:
            row[f"miss {name}"] = t[f"miss:{name}"] / t["due"]
            row[f"only {name}"] = t[f"only:{name}"] / t["due"]
        rows.append(row)
    out = pd.DataFrame(rows)
    keep = [c for c in out.columns if not c.startswith(("miss ", "only ")) or out[c].max() >= 0.005]
    return out[keep]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=40)
    ap.add_argument("--out", type=Path, default=None, help="also write the table as CSV")
    args, overrides = ap.parse_known_args()
    cfg = compose_job(translate(["region=national", *overrides]))
    pf = post_mod.calibration_file(cfg)
    tally: dict = defaultdict(lambda: defaultdict(int))
    record_reviews(tally)
    check.predictive(cfg, pf, args.replications, 1, cfg.calibration.scale, progress=False)  # 1 process: the tally is here
    out = table(tally)
    if args.out:
        out.to_csv(args.out, index=False, float_format="%.4f")
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.float_format", "{:.3f}".format):
        print(f"{' '.join(overrides) or '(defaults)'}: {args.replications} national runs of {pf.name}; "
              "shares of titles due (miss: missing the criterion; only: missing it alone)")
        print(out[out["year"] <= 2027].to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
