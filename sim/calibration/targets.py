"""Reported figures as calibration targets, and how the model reads each one.

A reported tier counts firms holding *at least* that tier, as officials count (T1 -> n_T1plus,
T2 -> n_T2plus, T3 -> n_T3, ALL -> n_firms, HTE -> n_high_tech). A ``stock`` is read at the end of
the quarter containing its date; a ``flow`` is summed over the four quarters ending there (new T1,
T2, T3 titles -> recognised_T1/T2/T3). The pool's flow (ALL, "新增科技型企业") is read as the pool's
net rise over those four quarters, as the region file reads it: the reported 15,535 new firms of
2023 equal 58,524 - 43,001, and the region's gross entry is set above it (so reading it as gross
entry would contradict the region's own facts). Rows with ``use=calibrate`` are fitted (unless
dropped with weight 0 or dated after a backtest cut-off); ``use=validate`` rows are only compared.
A ``review_pass`` figure (little giants of a batch passing its first review, as a share of the batch)
is read as ``renewed_first_T3`` summed over the year of its date over ``recognised_T3`` summed over
the year ``validity_years`` before: a share, never scaled. A ``review_due`` figure (titles of a tier
falling due for review in the year of its date) is read as ``review_due_T1/T2/T3`` summed over
that year, like a flow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.core.errors import InputError
from sim.core.figures import configured_figures, figures_for
from sim.core.outcomes import FIGURE_COLUMN, RENEWED_FIRST, column_of
from sim.model.model import AREA_STOCKS
from sim.model.units import QUARTERS_PER_YEAR
from sim.core.schema import SimConfig

FLOW_COLUMN = {"T1": "recognised_T1", "T2": "recognised_T2", "T3": "recognised_T3"}
DUE_COLUMN = {"T1": "review_due_T1", "T2": "review_due_T2", "T3": "review_due_T3"}
NET_FLOW_COLUMN = {"ALL": "n_firms"}  # flows read as the rise of a stock over the four quarters
FIRST_RENEWED = column_of(RENEWED_FIRST)  # little giants keeping their title at their batch's first review
KINDS_READ = ("stock", "flow", "review_pass", "review_due")
ROLES = ("fitted", "held out", "validate", "dropped")


def _area_stock(tier: str) -> str | None:
    """The stock column of ``tier`` when the national model also counts it per area, else None."""
    col = FIGURE_COLUMN.get(tier)
    return col if col in AREA_STOCKS else None


def model_reading(tier: str, kind: str, date: pd.Timestamp, area: str | None = None,
                  validity: int = 3) -> tuple[str | None, str]:
    """(model column, words for the report) of a figure, or (None, why not) when the model has none.
    A figure of an ``area`` of the national model is read from that area's column."""
    q = (date.month - 1) // 3 + 1
    if kind == "review_pass":
        if tier != "T3" or area is not None:
            return None, f"no model reading of {area or ''} {tier} review passes (only MIIT's little-giant batches)"
        return (FIRST_RENEWED, f"{FIRST_RENEWED} in {date.year} / {FLOW_COLUMN['T3']} in {date.year - validity}")
    if area is not None:
        stock = _area_stock(tier) if kind == "stock" else None
        col = f"{stock}__{area}" if stock else None
        return (col, f"{col} at end of {date.year}Q{q}") if col else (None, f"no model reading of {area} {tier} {kind}")
    if kind == "stock":
        col = FIGURE_COLUMN.get(tier)
        return (col, f"{col} at end of {date.year}Q{q}") if col else (None, f"no model stock for {tier}")
    start = pd.Period(f"{date.year}Q{q}", freq="Q") - 3
    if tier in NET_FLOW_COLUMN:
        col = NET_FLOW_COLUMN[tier]
        return col, f"net rise of {col}, end of {start.year - 1}Q{q} to end of {date.year}Q{q}"
    col = (DUE_COLUMN if kind == "review_due" else FLOW_COLUMN).get(tier)
    if col is None:
        return None, f"no model {'review' if kind == 'review_due' else 'flow'} for {tier}"
    return col, f"{col} summed {start.year}Q{start.quarter}-{date.year}Q{q}"


def build_targets(cfg: SimConfig, figures: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per calibrate/validate figure of the region (stocks and flows) with its role, weight,
    the model column and quarter it is read from. Raises InputError for settings that cannot work."""
    settings = cfg.calibration
    figs = configured_figures(cfg, figures)
    src = figs.attrs.get("path", "reported figures")
    rows = figures_for(figs, cfg.region.name, ("calibrate", "validate"))
    area_rows = _area_figures(cfg, figs, src)
    rows = pd.concat([rows, area_rows], ignore_index=True) if len(area_rows) else rows
    rows = rows[rows["kind"].isin(KINDS_READ)].reset_index(drop=True)
    known = set(figures_for(figs, cfg.region.name)["id"]) | set(area_rows["id"])
    for fid in settings.weights:
        if fid not in known:
            raise InputError(f"calibration.weights.{fid}: no figure with this id for region {cfg.region.name} in {src}")
    cutoff = pd.Timestamp(settings.cutoff) if settings.cutoff else None
    out = []
    for _, r in rows.iterrows():
        area = r["region"] if r["region"] != cfg.region.name else None
        col, words = model_reading(r["tier"], r["kind"], r["date"], area, cfg.miit.validity_years)
        weight = float(settings.weights.get(r["id"], 1.0)) if r["use"] == "calibrate" else 0.0
        q = (r["date"].month - 1) // 3 + 1
        step = (r["date"].year - cfg.start_year) * 4 + q - 1
        how = _how(r["kind"], r["tier"])
        lag = QUARTERS_PER_YEAR * cfg.miit.validity_years if how == "pass" else 0
        first = step - lag - {"stock": 0, "net": 4}.get(how, 3)
        if cutoff is not None and r["date"] > cutoff:
            role = "held out"
        elif r["use"] == "validate":
            role = "validate"
        elif weight == 0.0:
            role = "dropped"
        else:
            role = "fitted"
        if role == "fitted" and col is None:
            raise InputError(f"{src}: figure {r['id']}: {words}; set calibration.weights.{r['id']}=0 to drop it")
        if role == "fitted" and first < 0:
            raise InputError(f"{src}: figure {r['id']}: dated before start_year {cfg.start_year}; "
                             f"set calibration.weights.{r['id']}=0 to drop it")
        out.append({
            "id": r["id"], "tier": r["tier"], "kind": r["kind"], "date": r["date"], "value": r["value"],
            "tolerance": r["tolerance"], "rounded_to": r["rounded_to"], "use": r["use"], "role": role,
            "weight": weight if role == "fitted" else 0.0,
            "column": col, "how": how, "step": step, "lag": lag, "year": r["date"].year, "quarter": q, "model_reading": words,
            "reading": r["reading"],
        })
    targets = pd.DataFrame(out)
    if targets.empty or not (targets["role"] == "fitted").any():
        when = f" dated up to {settings.cutoff}" if settings.cutoff else ""
        raise InputError(f"{src}: no figure to fit for region {cfg.region.name}{when} "
                         "(rows with use=calibrate, kind stock or flow, weight > 0)")
    return targets


def _how(kind: str, tier: str) -> str:
    """How ``read_values`` reads a figure: a stock at its quarter, a flow summed (or, for the pool,
    a net rise) over the four quarters to it, a review pass share (``pass``)."""
    if kind == "review_pass":
        return "pass"
    return "stock" if kind == "stock" else "net" if tier in NET_FLOW_COLUMN else "sum"


def _area_figures(cfg: SimConfig, figs: pd.DataFrame, src: str) -> pd.DataFrame:
    """The figures of the national model's areas: those it fits (``calibration.area_figures``, by
    id), and every other stock of an area the model counts per area, compared (not fitted): how
    far the areas' counts move apart over the years is a check the fitted dates cannot give."""
    wanted = cfg.calibration.area_figures
    rows = figs[figs["id"].isin(wanted)]
    missing = [i for i in wanted if i not in set(rows["id"])]
    if missing:
        raise InputError(f"calibration.area_figures: no figure {missing[0]!r} in {src}")
    bad = rows[~rows["region"].isin(cfg.region.area_names)]
    if len(bad):
        raise InputError(f"calibration.area_figures: {bad['id'].iloc[0]} is of region {bad['region'].iloc[0]!r}, "
                         f"not an area of {cfg.region.name} ({', '.join(cfg.region.area_names)})")
    compared = figs[figs["region"].isin(cfg.region.area_names) & (figs["region"] != cfg.region.name)
                    & (figs["kind"] == "stock") & figs["tier"].map(_area_stock).notna()
                    & figs["use"].isin(("calibrate", "validate"))
                    & ~figs["id"].isin(wanted)]
    return pd.concat([rows.assign(use="calibrate"), compared.assign(use="validate")], ignore_index=True)


def fitted(targets: pd.DataFrame) -> pd.DataFrame:
    return targets[targets["role"] == "fitted"].reset_index(drop=True)


def fit_end_year(targets: pd.DataFrame) -> int:
    """A fit simulates only up to the year of its last fitted figure."""
    return int(fitted(targets)["year"].max())


def read_values(quarterly: pd.DataFrame, targets: pd.DataFrame, scale: float = 1.0) -> np.ndarray:
    """Simulated value of each target from one replication's quarterly frame (rows in step order),
    counts divided by ``scale`` when the population was scaled down. NaN where the model has no
    reading or the run does not reach the date."""
    vals = np.full(len(targets), np.nan)
    n = len(quarterly)
    for i, (col, how, step, lag) in enumerate(zip(targets["column"], targets["how"], targets["step"], targets["lag"])):
        if not isinstance(col, str) or step >= n or step < 0:
            continue
        series = quarterly[col].to_numpy()
        if how == "stock":
            vals[i] = series[step] / scale
        elif how == "net":
            vals[i] = (series[step] - series[step - 4]) / scale if step >= 4 else np.nan
        elif how == "pass":  # a share: numerator and denominator scale alike
            granted = _year_to(quarterly[FLOW_COLUMN["T3"]].to_numpy(), step - lag)
            vals[i] = _year_to(series, step) / granted if granted > 0 else np.nan
        else:
            vals[i] = _year_to(series, step) / scale
    return vals


def _year_to(series: np.ndarray, step: int) -> float:
    """The four quarters of ``series`` ending at ``step``, summed."""
    return float(series[max(step - 3, 0): step + 1].sum()) if step >= 0 else np.nan


def read_replications(quarterly: pd.DataFrame, targets: pd.DataFrame, scale: float = 1.0) -> np.ndarray:
    """(replications, targets) array of simulated values from a stacked run."""
    return np.vstack([read_values(g.reset_index(drop=True), targets, scale)
                      for _, g in quarterly.groupby("replication", sort=True)])
