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


def markdown(table: pd.DataFrame, cutoff, interval: float) -> list[str]:
    s = score(table)
    pct = int(round(interval * 100))
    if not s["held_out"]:
        return [f"No reported figure is dated after the cut-off {cutoff}: nothing to forecast."]
    lines = [
        f"Fitted only figures dated up to **{cutoff}**; forecast the {s['held_out']} later figure(s) "
        f"({s['readable']} with a model reading):",
        "",
        f"- inside the forecast {pct}% interval: **{s['in_interval']} of {s['readable']}**",
        f"- forecast median within the figure's tolerance: **{s['in_tolerance']} of {s['readable']}**",
        f"- median absolute relative error of the forecast median: **{s['median_abs_rel_error']:.1%}** "
        f"(worst {s['max_abs_rel_error']:.1%})",
        "",
        f"| held-out figure | date | reported | forecast median [{pct}%] | rel. error |",
        "|---|---|---|---|---|",
    ]
    for _, r in table[table["role"] == "held out"].iterrows():
        lines.append(f"| `{r['id']}` | {r['date']} | {r['reported']:,.0f} | {r['sim_median']:,.0f} "
                     f"[{r['sim_low']:,.0f}–{r['sim_high']:,.0f}] | {r['rel_error']:+.1%} |")
    return lines
