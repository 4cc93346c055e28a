"""Statistics of paired differences, over replications: the cost per extra outcome with its paired
bootstrap interval, paired win shares, and the cost-effectiveness acceptability curve.

Every function takes per-replication differences from a reference (replication k of a package minus
replication k of the reference: the same random draws, so the difference is policy), aligned on the
same replications; none reads files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.core.outcomes import quantile_levels

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240521  # fixed: the same sweep always gives the same interval
WTP_POINTS = 61  # willingness-to-pay values on the acceptability curve's grid


def cost_per_extra(extra_cost: np.ndarray, extra_giants: np.ndarray,
                   interval: float) -> tuple[float, float, float, str]:
    """Incremental cost per extra outcome (little giant, SRDI SME...): mean extra cost / mean extra
    outcome, with a paired bootstrap interval over replications. A per-replication ratio is undefined
    whenever a replication gains nothing, so the ratio of means is the estimate; resamples without a
    gain count as an unbounded cost. Returns (value, low, high, note); NaN where there is no finite answer."""
    dc, dg = np.asarray(extra_cost, float), np.asarray(extra_giants, float)
    mg, mc = dg.mean(), dc.mean()
    if mg <= 0:
        return np.nan, np.nan, np.nan, "n/a (no gain)"
    value = mc / mg
    note = "saves money" if mc < 0 else ""
    if len(dg) < 2:
        return value, np.nan, np.nan, note
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    idx = rng.integers(0, len(dg), size=(BOOTSTRAP_RESAMPLES, len(dg)))
    bg, bc = dg[idx].mean(axis=1), dc[idx].mean(axis=1)
    ratio = np.where(bg > 0, bc / np.where(bg > 0, bg, 1.0), np.inf)
    lo_q, hi_q = quantile_levels(interval)
    low, high = (float(np.quantile(ratio, q, method="inverted_cdf")) for q in (lo_q, hi_q))
    if not np.isfinite(high):
        note = "; ".join(filter(None, [note, "upper bound unbounded (gain not certain)"]))
        high = np.nan
    if not np.isfinite(low):
        low = np.nan
    return value, low, high, note


def win_shares(gains: dict[str, np.ndarray]) -> pd.DataFrame:
    """Paired win shares: cell (a, b) is the share of replications in which option a has more of the
    outcome than option b (replication by replication; a tie counts half). ``gains`` maps each option
    to its per-replication difference from the common reference (the reference itself: zeros). The
    diagonal is 0.5 and (a, b) + (b, a) = 1."""
    names = list(gains)
    g = np.vstack([np.asarray(gains[n], float) for n in names])  # (options, replications)
    more = (g[:, None, :] > g[None, :, :]).mean(axis=2)
    ties = (g[:, None, :] == g[None, :, :]).mean(axis=2)
    return pd.DataFrame(more + 0.5 * ties, index=names, columns=names)


def acceptability(gains: dict[str, np.ndarray], costs: dict[str, np.ndarray], wtp: np.ndarray) -> pd.DataFrame:
    """The cost-effectiveness acceptability curve: for each willingness to pay λ (M yuan per extra
    outcome), the share of replications in which each option has the highest net benefit
    λ·Δoutcome − Δcost (ties shared equally, so the shares sum to 1 at each λ). Include the reference
    as an option with zero gain and zero cost. Rows: λ; columns: options."""
    names = list(gains)
    g = np.vstack([np.asarray(gains[n], float) for n in names])
    c = np.vstack([np.asarray(costs[n], float) for n in names])
    lam = np.asarray(wtp, float)
    nb = lam[:, None, None] * g[None] - c[None]  # (λ, options, replications)
    best = np.isclose(nb, nb.max(axis=1, keepdims=True), rtol=1e-12, atol=1e-9)
    share = best / best.sum(axis=1, keepdims=True)
    return pd.DataFrame(share.mean(axis=2), index=pd.Index(lam, name="wtp"), columns=names)


def wtp_grid(ratios: list[float]) -> np.ndarray:
    """Willingness-to-pay values (M yuan per extra outcome) for the acceptability curve: a log grid
    from a decade below the lowest positive cost-effectiveness ratio to a decade above the highest
    (1 to 100,000 M yuan when no package has a finite positive ratio)."""
    r = np.array([x for x in ratios if np.isfinite(x) and x > 0])
    lo, hi = (np.floor(np.log10(r.min())) - 1, np.ceil(np.log10(r.max())) + 1) if r.size else (0.0, 5.0)
    return np.geomspace(10 ** lo, 10 ** max(hi, lo + 2), WTP_POINTS)
