"""A run's tables: the yearly series and the summary of key indicators (``outcomes``)."""

from __future__ import annotations

import pandas as pd

from sim.core.outcomes import INDICATORS, RUN_SUMMARY, band
from sim.core.schema import SimConfig


def stock_columns(df: pd.DataFrame) -> list[str]:
    """Columns read at the end of a period (counts of firms, leaders open), not summed."""
    return [c for c in df.columns if c.startswith("n_") or c == "leaders_open_orders"]


def yearly(quarterly: pd.DataFrame) -> pd.DataFrame:
    """One row per replication and year: stocks at the end of Q4, flows and spending summed."""
    keys = ["replication", "year"]
    stocks = stock_columns(quarterly)
    flows = [c for c in quarterly.columns if c not in stocks + keys + ["quarter"]]
    g = quarterly.groupby(keys, sort=True)
    out = g[stocks].last().join(g[flows].sum()).reset_index()
    out["lost_review"] = out[[f"lost_review_T{t}" for t in (1, 2, 3)]].sum(axis=1)
    out["revoked"] = out[[f"revoked_T{t}" for t in (1, 2, 3)]].sum(axis=1)
    out["graduated"] = out["outgrew"] + out["listed"]
    out["cum_spend_total"] = out.groupby("replication")["spend_total"].cumsum()
    return out


def summary_table(year_df: pd.DataFrame, cfg: SimConfig) -> pd.DataFrame:
    """Median and interval across replications of each summary indicator at each report year."""
    rows = []
    for ind in (INDICATORS[i] for i in RUN_SUMMARY):
        for y in cfg.outcomes.report_years:
            v = year_df.loc[year_df["year"] == y, ind.id]
            if v.empty:
                continue
            med, lo, hi = band(v, cfg.outcomes.interval)
            rows.append({"indicator": ind.id, "label": ind.label, "kind": ind.kind, "year": y,
                         "median": med, "low": lo, "high": hi, "replications": len(v)})
    return pd.DataFrame(rows)
