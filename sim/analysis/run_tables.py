"""A run's tables: the yearly series and the summary of key indicators (``outcomes``)."""

from __future__ import annotations

import pandas as pd

from sim.core.outcomes import AREA_SUMMARY, INDICATORS, RUN_SUMMARY, Indicator, area_indicator, band
from sim.core.schema import SimConfig


def stock_columns(df: pd.DataFrame) -> list[str]:
    """Columns read at the end of a period (counts of firms, leaders open), not summed."""
    return [c for c in df.columns if c.startswith("n_") or c == "leaders_open_orders"]


# MIIT's batch of the year: recorded in the batch quarter only (the bar is NaN, the size 0, elsewhere)
BATCH_COLUMNS = ("t3_batch", "t3_merit_bar")


def yearly(quarterly: pd.DataFrame) -> pd.DataFrame:
    """One row per replication and year: stocks at the end of Q4, flows and spending summed, MIIT's
    batch and bar of the year, review pass rates and each area's share of the batch."""
    keys = ["replication", "year"]
    stocks = stock_columns(quarterly)
    batch = [c for c in BATCH_COLUMNS if c in quarterly.columns]
    flows = [c for c in quarterly.columns if c not in stocks + keys + batch + ["quarter"]]
    g = quarterly.groupby(keys, sort=True)
    out = g[stocks].last().join(g[flows].sum()).join(g[batch].max()).reset_index()
    for t in (1, 2, 3):
        due = out[f"review_due_T{t}"]
        out[f"review_pass_rate_T{t}"] = (out[f"renewed_T{t}"] / due).where(due > 0)
    for c in [c for c in out.columns if c.startswith("recognised_T3")]:
        share = c.replace("recognised_T3", "t3_share_of_batch")
        out[share] = (out[c] / out["t3_batch"]).where(out["t3_batch"] > 0)
    out["lost_review"] = out[[f"lost_review_T{t}" for t in (1, 2, 3)]].sum(axis=1)
    out["revoked"] = out[[f"revoked_T{t}" for t in (1, 2, 3)]].sum(axis=1)
    out["graduated"] = out["outgrew"] + out["listed"]
    out["cum_spend_total"] = out.groupby("replication")["spend_total"].cumsum()
    return out


def summary_indicators(cfg: SimConfig) -> list[Indicator]:
    """What a run's summary shows: the registry's run summary, then each area's stocks (national model)."""
    out = [INDICATORS[i] for i in RUN_SUMMARY]
    for base in AREA_SUMMARY if cfg.region.areas else ():
        out += [area_indicator(base, a.name, a.label) for a in cfg.region.areas]
    return out


def summary_table(year_df: pd.DataFrame, cfg: SimConfig) -> pd.DataFrame:
    """Median and interval across replications of each summary indicator at each report year."""
    rows = []
    for ind in summary_indicators(cfg):
        for y in cfg.outcomes.report_years:
            v = year_df.loc[year_df["year"] == y, ind.id].dropna()
            if v.empty:
                continue
            med, lo, hi = band(v, cfg.outcomes.interval)
            rows.append({"indicator": ind.id, "label": ind.label, "kind": ind.kind, "year": y,
                         "median": med, "low": lo, "high": hi, "replications": len(v)})
    return pd.DataFrame(rows)
