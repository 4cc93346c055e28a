"""The outcome registry: every indicator a run or a comparison reports, once, with its label, unit
and kind; the rule for intervals; the number formats. Tables, charts, summaries, the comparison and
the fit report all read from here, so a label or an interval cannot drift between them.

Kinds: ``stock`` is read at the end of a year (quarter), ``flow`` is summed over the year,
``cumulative`` is summed to the year shown (in a comparison: from the packages' adoption year, see
``since_adoption``), ``ratio`` divides two of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Indicator:
    id: str  # column of yearly.csv, or ``<column>_cum`` for a flow summed from the start year
    label: str  # as tables show it
    unit: str  # "firms", "titles", "M yuan"
    kind: str  # "stock", "flow" or "cumulative"
    short: str = ""  # lower-case, for chart titles ("extra little giants (T3)")


# fiscal instruments, in ledger order (sim.model.institutions.MunicipalGovernment)
INSTRUMENTS = ("rd_subsidy", "awards", "digital_vouchers", "interest_subsidy", "administration")
# English only: charts have no CJK font on a bare machine (the tables and the report page name 贴息 etc.)
INSTRUMENT_LABELS = {
    "rd_subsidy": "R&D subsidy",
    "awards": "First-recognition awards",
    "digital_vouchers": "Digital/AI vouchers",
    "interest_subsidy": "Interest subsidy",
    "administration": "Administration (matchmaking, auto-recognition, spot checks, leader openness)",
}

_ALL = [
    Indicator("n_firms", "Firms in the SME pool", "firms", "stock", "tech-based SME pool (all tiers)"),
    Indicator("n_T1plus", "Innovative SMEs (T1 and above)", "firms", "stock", "innovative SMEs (T1 and above)"),
    Indicator("n_T2plus", "SRDI SMEs (T2 and above)", "firms", "stock", "SRDI SMEs (T2 and above)"),
    Indicator("n_T3", "Little giants (T3)", "firms", "stock", "little giants (T3)"),
    # what MIIT's published counts are: its batches less titles lost at review (failed holders included)
    Indicator("n_T3_titles", "Little-giant titles as MIIT counts them (failed holders until review)", "titles",
              "stock", "little-giant titles as MIIT counts them"),
    Indicator("n_high_tech", "High-tech enterprises", "firms", "stock", "high-tech enterprises"),
    Indicator("recognised_T3", "New little giants in the year", "firms", "flow"),
    Indicator("recognised_T2", "New SRDI SMEs in the year", "firms", "flow"),
    Indicator("lost_review", "Titles lost at review in the year", "titles", "flow"),
    Indicator("review_pass_rate_T3", "Little giants passing MIIT's review (share of those due)", "share", "flow"),
    Indicator("review_pass_rate_T2", "SRDI SMEs passing the city's review (share of those due)", "share", "flow"),
    Indicator("t3_share_of_batch", "Share of MIIT's national batch won", "share", "flow"),
    Indicator("failed", "Firm failures in the year", "firms", "flow"),
    Indicator("spend_total", "Fiscal spending in the year (M yuan)", "M yuan", "flow"),
    # what equal-cost comparisons fill: all but administration and the status quo's awards (own lines)
    Indicator("envelope_spent", "Spending drawn on the budget envelopes in the year (M yuan)", "M yuan", "flow"),
    # read at the end of the year like a stock (the summary's kind column says so)
    Indicator("cum_spend_total", "Fiscal spending since start (M yuan)", "M yuan", "stock"),
    Indicator("lost_review_cum", "Titles lost at review", "titles", "cumulative"),
    Indicator("lost_review_T3_cum", "Little-giant titles lost at review", "titles", "cumulative"),
    Indicator("failed_cum", "Firm failures", "firms", "cumulative"),
    *[Indicator(f"spend_{i}_cum", f"Fiscal cost: {INSTRUMENT_LABELS[i]}", "M yuan", "cumulative")
      for i in INSTRUMENTS],
    Indicator("spend_total_cum", "Fiscal cost: total", "M yuan", "cumulative"),
    # little giants recognised from the adoption year on whose first review (validity years later) renewed
    # them, summed to the year shown (the model's renewed_first_T3)
    Indicator("renewed_first_T3_cum", "Little giants renewed at their first review", "firms", "cumulative",
              "little giants surviving their first review"),
    # the comparison's cost-effectiveness ratios: extra cumulative cost / extra outcome (COST_PER_OUTCOME)
    Indicator("cost_per_extra_T3", "Fiscal cost per extra little giant", "M yuan per little giant", "ratio"),
    Indicator("cost_per_extra_T3_renewed", "Fiscal cost per extra little giant that survives its first review",
              "M yuan per little giant", "ratio"),
    Indicator("cost_per_extra_T2plus", "Fiscal cost per extra SRDI SME", "M yuan per SRDI SME", "ratio"),
]
INDICATORS: dict[str, Indicator] = {i.id: i for i in _ALL}

# what each report shows, in order
RUN_SUMMARY = ("n_firms", "n_T1plus", "n_T2plus", "n_T3", "n_T3_titles", "n_high_tech", "recognised_T3",
               "t3_share_of_batch", "recognised_T2", "lost_review", "review_pass_rate_T3", "review_pass_rate_T2",
               "failed", "spend_total", "cum_spend_total")
# the national model's areas: these stocks, per area, join the summary (``<id>__<area>``)
AREA_SUMMARY = ("n_T3", "n_T2plus")
TIER_PANELS = ("n_firms", "n_T1plus", "n_T2plus", "n_T3")  # the run's tier chart, 2 x 2
SWEEP_STOCKS = ("n_T3", "n_T2plus", "n_T1plus")
SWEEP_CUMULATIVE = ("lost_review_cum", "lost_review_T3_cum", "failed_cum",
                    *[f"spend_{i}_cum" for i in INSTRUMENTS], "spend_total_cum")
COST_PER_GIANT = "cost_per_extra_T3"
# each cost-effectiveness ratio -> the outcome it divides the extra cost by
COST_PER_OUTCOME = {"cost_per_extra_T3": "n_T3", "cost_per_extra_T3_renewed": "renewed_first_T3_cum",
                    "cost_per_extra_T2plus": "n_T2plus"}
RENEWED_FIRST = "renewed_first_T3_cum"
# who gains (the comparison): per-cluster and chain-link stocks, ``<base>_cl<k>``, ``<base>_linked`` ...
GROUP_STOCKS = ("n_T3", "n_T2plus")

# reported figures' tier (firms holding at least the tier, as officials count) -> model column
TIER_COLUMN = {"ALL": "n_firms", "T1": "n_T1plus", "T2": "n_T2plus", "T3": "n_T3", "HTE": "n_high_tech"}
# ... and the column a reported stock is read from: MIIT counts little giants as titles on its lists,
# its batches less those lost at review (a holder that failed stays listed until its batch's review)
FIGURE_COLUMN = TIER_COLUMN | {"T3": "n_T3_titles"}


def area_indicator(base: str, area: str, label: str) -> Indicator:
    """An indicator of one area of the national model (column ``<base>__<area>``)."""
    ind = INDICATORS[base]
    return Indicator(f"{base}__{area}", f"{ind.label}: {label}", ind.unit, ind.kind, ind.short)


def since_adoption(label: str, adopt_year: int) -> str:
    """A cumulative indicator's label in a comparison, which sums from the packages' adoption."""
    return f"{label}, since adoption ({adopt_year})"


def column_of(indicator_id: str) -> str:
    """The yearly.csv column an indicator is computed from (``x_cum`` -> ``x``)."""
    return indicator_id.removesuffix("_cum")


# ------------------------------------------------------------------------------------ intervals
def quantile_levels(interval: float) -> tuple[float, float]:
    """The lower and upper quantiles of a central interval (0.05 and 0.95 for 0.9)."""
    return (1 - interval) / 2, 1 - (1 - interval) / 2


def band(values, interval: float) -> tuple[float, float, float]:
    """Median and the central ``interval`` range of ``values``."""
    v = np.asarray(values, dtype=float)
    lo, hi = quantile_levels(interval)
    return float(np.median(v)), float(np.quantile(v, lo)), float(np.quantile(v, hi))


def percent(interval: float) -> int:
    """The interval as a whole percentage, for labels ("90% interval")."""
    return int(round(interval * 100))


# ------------------------------------------------------------------------------------- numbers
COUNTED = ("firms", "titles")  # units whose levels are whole numbers: "81 [74–88]", not "81.0 [73.8–88.2]"


def fmt(x: float | None, missing: str = "n/a", small: str = ",.1f", unit: str = "") -> str:
    """A count or an amount as tables show it: whole numbers from 100 up, else ``small``; a level of
    firms or titles (``unit`` in COUNTED) always whole; a share (``unit="share"``) as a percentage."""
    if x is None or not np.isfinite(x):
        return missing
    if unit == "share":
        return f"{x:.0%}"
    return f"{x:,.0f}" if abs(x) >= 100 or unit in COUNTED else format(x, small)


def fmt_signed(x: float | None) -> str:
    """A difference: +12, −3.5, 0 (a true minus sign)."""
    if x is None or not np.isfinite(x):
        return "n/a"
    s = fmt(abs(x))
    return "0" if s in ("0", "0.0") else ("+" if x > 0 else "−") + s


BN_FROM = 10_000.0  # M yuan: amounts from here up are shown in bn yuan


def in_bn(*amounts: float | None) -> bool:
    """Whether amounts in M yuan (a cell's value and interval, an axis' limits) are shown in bn yuan."""
    return any(a is not None and np.isfinite(a) and abs(a) >= BN_FROM for a in amounts)


def fmt_money(x: float | None, signed: bool = False, bn: bool | None = None, unit: bool = True,
              tick: bool = False) -> str:
    """An amount given in M yuan, as tables and chart axes show it: "1,234" (M yuan, the column's unit)
    below 10,000 M yuan, "23.4 bn yuan" from there up. ``bn`` forces the scale (one scale per cell or
    axis), ``unit=False`` drops " bn yuan" (a cell or axis that states it once), ``signed`` writes +/−,
    ``tick`` drops a trailing ".0" (axis ticks: "20", not "20.0")."""
    if x is None or not np.isfinite(x):
        return "n/a"
    bn = in_bn(x) if bn is None else bn
    a = abs(x / 1000.0 if bn else x)
    s = f"{a:.2g}" if 0 < a < 0.1 else fmt(a)  # a few thousand yuan per SRDI SME is not "0"
    if tick or s == "0.0":
        s = s.removesuffix(".0")
    if s != "0" and (signed or x < 0):
        s = ("+" if x > 0 else "−") + s
    return s + (" bn yuan" if bn and unit else "")
