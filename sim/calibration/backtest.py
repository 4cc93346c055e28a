"""Backtest: fit only the figures dated up to a cut-off, then score the forecast of the later ones.

The later figures (``use`` calibrate or validate, dated after ``calibration.cutoff``) are never seen
by the fit; the posterior-predictive runs forecast them, and the score says how often the reported
value falls inside the forecast interval and within its own tolerance of the forecast median.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def score(table: pd.DataFrame) -> dict:
    """Scores of the held-out figures in a target table (see report.target_table)."""
    held = table[table["role"] == "held out"]
    readable = held[np.isfinite(held["sim_median"].astype(float))]
    return {
        "held_out": int(len(held)),
        "readable": int(len(readable)),
        "in_interval": int(readable["in_interval"].sum()),
        "in_tolerance": int(readable["in_tolerance"].sum()),
        "median_abs_rel_error": float(readable["rel_error"].abs().median()) if len(readable) else float("nan"),
        "max_abs_rel_error": float(readable["rel_error"].abs().max()) if len(readable) else float("nan"),
    }
