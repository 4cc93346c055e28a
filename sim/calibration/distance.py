"""Distance between a simulated history and the reported figures, for rounded counts of uncertain
vintage: each figure is met when the simulated value lies within its relative tolerance (no credit
for an exact hit), and the miss outside that band is measured in units of the band, on the log of
the ratio simulated / reported:

    band_i   = ln(1 + tol_i)
    excess_i = max(0, |ln(sim_i / reported_i)| - band_i) / band_i
    distance = sqrt( sum_i w_i excess_i^2 / sum_i w_i )

So the distance is 0 when every fitted figure is inside its band, and 1 when the figures are, in
the weighted root-mean-square, one band width outside it. A figure with weight 0 is dropped.

Why the log: a run's counts scatter multiplicatively (a city's little giants vary by a third from run
to run of one particle), and a miss measured on the plain ratio punishes a run at twice the reported
count (excess 9 at 10% tolerance) far more than one at half of it (4). ABC accepts a particle by its
runs' distances, so that asymmetry pulled the posterior's median of every noisy figure below what was
reported (by 13-22% at a spread of 30-40%, experiments/distance_bias.py). On the log ratio twice and
half miss equally, and the accepted median sits on the reported figure.

A fit run on a fraction ``s`` of the population (``calibration.scale``) adds sampling noise a full
run does not have: a count C is C*s firms, so its log carries a variance of about 1/(C*s) where a
full run's carries 1/C. With ``calibration.band_scale_noise`` each count's band widens by that
difference, band_i = sqrt(ln(1 + tol_i)^2 + (1/s - 1)/C_i), so the fit does not reward runs whose
scaled-down counts were lucky (a city's 70-130 simulated little giants at a tenth scatter as much as
its 10% tolerance). Shares (review pass rates) are not counts and keep their band.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def excess(sim: np.ndarray, reported: np.ndarray, tolerance: np.ndarray,
           noise_var: np.ndarray | None = None) -> np.ndarray:
    """Miss outside each figure's tolerance band, in units of the band, on the log ratio (0 inside);
    ``noise_var``: the variance of the log the fit's scale adds to each figure, widening its band."""
    band = np.log1p(tolerance)
    if noise_var is not None and np.any(noise_var):
        band = np.sqrt(band**2 + noise_var)
    with np.errstate(divide="ignore", invalid="ignore"):
        miss = np.abs(np.log(np.asarray(sim, float) / reported))
    out = np.maximum(miss - band, 0.0) / band
    return np.where(np.isfinite(out), out, np.inf)  # a missing reading (or none at all) never passes


class ToleranceDistance:
    """pyabc-compatible distance ``d(x, x0)`` on summary-statistic dicts keyed by figure id."""

    def __init__(self, targets: pd.DataFrame, scale_noise_of: float = 1.0) -> None:
        """``scale_noise_of``: the population scale whose sampling noise widens each count's band
        (1: none)."""
        self.ids = list(targets["id"])
        self.reported = targets["value"].to_numpy(float)
        self.tolerance = targets["tolerance"].to_numpy(float)
        w = targets["weight"].to_numpy(float)
        self.weights = w / w.sum()
        shares = (targets["how"] == "pass").to_numpy() if "how" in targets else np.zeros(len(targets), bool)
        counts = ~shares & (self.reported > 0.0)  # a reported fall or zero has no Poisson scale of its own
        with np.errstate(divide="ignore"):
            self.noise_var = np.where(counts, (1.0 / scale_noise_of - 1.0) / self.reported, 0.0)

    def vector(self, x: dict) -> np.ndarray:
        return np.array([x[i] for i in self.ids], dtype=float)

    def of_values(self, sim: np.ndarray) -> float:
        e = excess(sim, self.reported, self.tolerance, self.noise_var)
        return float(np.sqrt(np.sum(self.weights * e**2)))

    def __call__(self, x: dict, x0: dict | None = None) -> float:
        return self.of_values(self.vector(x))
