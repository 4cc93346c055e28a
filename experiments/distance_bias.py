"""Where does a fit put the median of a noisy figure? The plain-ratio distance against the log-ratio one.

    python experiments/distance_bias.py

A particle's runs scatter around its median; for a city's little giants by about a third (the
coefficient of variation of `calibration_scale_check.py`: 0.30-0.43 for Chongqing, Beijing,
Shanghai and Shenzhen in the national fit). For lognormal runs of spread ``cv`` around a median
``m`` times the reported figure, this finds the ``m`` a fit prefers under each distance: the one with
the least expected squared excess (what the weighted root-mean-square of ``sim.calibration.distance``
adds up over figures), and the one most often within an acceptance threshold ``eps`` on its own.
An unbiased distance prefers m = 1.

Plain ratio (the distance before 2026-12-05): excess = max(0, |sim/reported - 1| - tol) / tol.
Log ratio (``sim.calibration.distance.excess``): excess = max(0, |ln(sim/reported)| - ln(1+tol)) / ln(1+tol).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.calibration.distance import excess  # noqa: E402


def plain_excess(ratio: np.ndarray, tol: float) -> np.ndarray:
    return np.maximum(np.abs(ratio - 1.0) - tol, 0.0) / tol


def preferred_medians(cv: float, tol: float, eps: float, z: np.ndarray, grid: np.ndarray) -> dict[str, float]:
    sigma = np.sqrt(np.log1p(cv**2))
    out: dict[str, float] = {}
    for name, ex in (("plain", lambda r: plain_excess(r, tol)),
                     ("log", lambda r: excess(r, np.ones_like(r), np.full_like(r, tol)))):
        sq, acc = [], []
        for m in grid:
            e = ex(m * np.exp(sigma * z))
            sq.append(np.mean(e**2))
            acc.append(np.mean(e <= eps))
        out[f"{name}: least squared excess"] = grid[int(np.argmin(sq))]
        out[f"{name}: most accepted at eps={eps:g}"] = grid[int(np.argmax(acc))]
    return out


def main() -> None:
    z = np.random.default_rng(0).standard_normal(200_000)
    grid = np.round(np.arange(0.50, 1.501, 0.005), 3)
    print("median a fit prefers, as a multiple of the reported figure (1.0 = unbiased)\n")
    for cv in (0.15, 0.30, 0.40):
        for tol in (0.05, 0.10, 0.15, 0.30):
            row = preferred_medians(cv, tol, 1.6, z, grid)
            cells = "  ".join(f"{k} {v:.3f}" for k, v in row.items())
            print(f"cv {cv:.2f}  tol {tol:.2f}  {cells}")


if __name__ == "__main__":
    main()
