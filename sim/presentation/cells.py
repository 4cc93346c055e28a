"""A table cell of the comparison: a median with its interval, a difference, a cost per extra outcome,
a share; numbers and money formatted by the outcome registry (``fmt``, ``fmt_signed``, ``fmt_money``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.core.outcomes import fmt, fmt_money, fmt_signed, in_bn


def _is_money(r: pd.Series | dict) -> bool:
    return str(r.get("unit") or "").startswith("M yuan")


def _money(v: float, lo: float, hi: float, signed: bool = False):
    """A formatter for the amounts of one cell, all on the scale its largest needs, and that scale's
    unit suffix ('' for M yuan, the column's unit; ' bn yuan' from 10,000 M yuan)."""
    bn = in_bn(v, lo, hi)
    return (lambda x: fmt_money(x, signed=signed, bn=bn, unit=False)), (" bn yuan" if bn else "")


def cell(r: pd.Series | dict, signed: bool = False) -> str:
    """'median [low–high]' for levels, '+median [low to high]' for differences; amounts (unit M yuan)
    from 10,000 M yuan up in bn yuan, the whole cell on one scale ('+23.4 [21.0 to 25.9] bn yuan')."""
    v, lo, hi = r["value"], r["low"], r["high"]
    if not np.isfinite(v):
        return r.get("note") or "n/a"
    if _is_money(r):
        f, unit = _money(v, lo, hi, signed)
    else:  # a level of firms or titles in whole numbers; a difference keeps its decimal (+0.5 is a result)
        f, unit = (fmt_signed if signed else lambda x: fmt(x, unit=r.get("unit") or "")), ""
    if not (np.isfinite(lo) or np.isfinite(hi)):
        return f(v) + unit
    sep = " to " if signed else "–"
    return f"{f(v)} [{f(lo)}{sep}{f(hi)}]{unit}"


def cost_cell(r: pd.Series | dict) -> str:
    """A cost per extra outcome (M yuan; bn yuan from 10,000 M yuan), its interval, or why it has none."""
    v, lo, hi, note = r["value"], r["low"], r["high"], r.get("note") or ""
    if not np.isfinite(v):
        return note or "n/a"
    f, unit = _money(v, lo, hi)
    if not np.isfinite(lo) and not np.isfinite(hi):
        return f(v) + unit + (f" ({note})" if note else "")
    high = f(hi) if np.isfinite(hi) else "unbounded"
    extra = " (saves money)" if "saves money" in note else ""
    return f"{f(v)} [{f(lo)}–{high}]{unit}{extra}"


def share(x: float) -> str:
    """A probability or a share of replications, as a whole percentage."""
    return fmt(x, unit="share")
