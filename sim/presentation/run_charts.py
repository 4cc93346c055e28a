"""Charts a policy analyst can put in a briefing: tier counts with the reported figures on the same
axes, yearly flows by cause, fiscal cost by instrument. Median line and a band when there are
several replications."""

from __future__ import annotations

from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from sim.core.figures import region_figures
from sim.core.outcomes import (FIGURE_COLUMN, INDICATORS, INSTRUMENT_LABELS, INSTRUMENTS, RENEWED_FIRST, TIER_COLUMN,
                               TIER_PANELS, band, column_of, percent, quantile_levels)
from sim.core.schema import SimConfig
from sim.experiment.runner import region_budget
from sim.presentation.style import ABSOLUTE, THOUSANDS, figure_legend, save

PANELS = [(i, INDICATORS[i].label) for i in TIER_PANELS]
# a panel's column -> the column its reported figures are read from, drawn dashed when it differs
READ_FROM = {TIER_COLUMN[t]: FIGURE_COLUMN[t] for t in TIER_COLUMN}


def _dates(df: pd.DataFrame) -> pd.DatetimeIndex:
    """Quarter-end dates, so a stock plotted at a date means 'at the end of that quarter'."""
    return pd.PeriodIndex.from_fields(year=df["year"], quarter=df["quarter"], freq="Q").to_timestamp(how="end")


def _quantiles(quarterly: pd.DataFrame, col: str, interval: float) -> pd.DataFrame:
    lo, hi = quantile_levels(interval)
    g = quarterly.groupby(["year", "quarter"])[col]
    out = pd.DataFrame({"median": g.median(), "low": g.quantile(lo), "high": g.quantile(hi)}).reset_index()
    out["date"] = _dates(out)
    return out


def band_label(cfg: SimConfig) -> str:
    pct = percent(cfg.outcomes.interval)
    return f"simulated median, {pct}% band of {cfg.replications} replications" if cfg.replications > 1 else "simulated"


def reported_stocks(cfg: SimConfig, figures: pd.DataFrame | None = None) -> pd.DataFrame:
    """Reported stocks and targets of the run's region, as drawn on the tier chart (``figures``:
    as in ``region_figures``)."""
    figs = region_figures(cfg, figures)
    return figs[(figs["kind"].isin(["stock", "target"])) & figs["tier"].isin(TIER_COLUMN)]


def sample_note(cfg: SimConfig) -> str:
    """What a chart title adds when the run simulates a sample of the region's firms: its counts
    and money are of that sample."""
    scale = cfg.region.population_scale
    return "" if scale == 1.0 else f"; simulated on {scale:.0%} of its firms"


def scaled_note(figs: pd.DataFrame) -> str:
    """What a legend adds when reported counts were scaled to a sample of the region (``region_figures``)."""
    scale = figs.attrs.get("scale", 1.0)
    return "" if scale == 1.0 else f", × {scale:g} as simulated"


def _plot_reported(ax, figs: pd.DataFrame, col: str, labelled: set) -> None:
    sub = figs[figs["tier"].map(TIER_COLUMN) == col]
    for _, r in sub.iterrows():
        if r["kind"] == "target":
            style = dict(marker="D", mfc="none", mec="tab:red", color="tab:red", ms=6, ls="none")
            label = "plan target"
        else:
            style = dict(marker="o", color="black", ms=5, ls="none", capsize=3)
            label = "reported (bar = tolerance)" if r["use"] != "context" else "reported, context"
        label += scaled_note(figs)
        err = r["value"] * r["tolerance"] if r["kind"] != "target" else None
        ax.errorbar([r["date"]], [r["value"]], yerr=err, label=None if label in labelled else label, **style)
        labelled.add(label)


def tier_counts_chart(cfg: SimConfig, quarterly: pd.DataFrame, title_suffix: str = "",
                      figures: pd.DataFrame | None = None) -> plt.Figure:
    figs = reported_stocks(cfg, figures)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    labelled: set = set()
    for ax, (col, title) in zip(axes.flat, PANELS):
        q = _quantiles(quarterly, col, cfg.outcomes.interval)
        if cfg.replications > 1:
            ax.fill_between(q["date"], q["low"], q["high"], color="tab:blue", alpha=0.25, lw=0,
                            label=None if "band" in labelled else band_label(cfg))
            labelled.add("band")
        ax.plot(q["date"], q["median"], color="tab:blue", lw=1.8,
                label=None if "line" in labelled else ("simulated median" if cfg.replications > 1 else "simulated"))
        labelled.add("line")
        counted = READ_FROM.get(col, col)
        if counted != col and counted in quarterly:
            words = INDICATORS[counted].short
            ax.plot(q["date"], _quantiles(quarterly, counted, cfg.outcomes.interval)["median"], color="tab:blue",
                    lw=1.2, ls="--", label=f"{words[:1].upper()}{words[1:]} (dashed)")
        _plot_reported(ax, figs, col, labelled)
        ax.set_title(title)
        ax.set_ylabel("firms")
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(THOUSANDS)
        ax.xaxis.set_major_locator(mdates.YearLocator(2))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        ax.grid(alpha=0.3)
    figure_legend(fig, axes.flat, ncol=4)
    fig.suptitle(f"{cfg.region.label} — {cfg.scenario}{title_suffix}: firms by tier, "
                 f"{cfg.start_year}–{cfg.end_year} (end of quarter){sample_note(cfg)}", fontsize=11)
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    return fig


def _median_by_year(year_df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return year_df.groupby("year")[cols].median()


def flows_chart(cfg: SimConfig, year_df: pd.DataFrame) -> plt.Figure:
    """In and out of SRDI (T2) and little-giant (T3) status and of the pool, per year, by cause."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    yd = year_df.copy()
    for t in (2, 3):
        yd[f"in_T{t}"] = yd[f"recognised_T{t}"] + yd[f"demoted_into_T{t}"]
    # a titled firm that outgrows SME size or lists keeps its title to its next review (counted there
    # if it loses it), so it is not an outflow of the title panels
    panels = [
        ("SRDI SMEs (T2 tier)", 2, [("in_T2", "recognised or demoted into", "tab:green")],
         [("promoted_T2", "promoted to little giant", "tab:blue"), ("lost_review_T2", "lost at review", "tab:red"),
          ("revoked_T2", "revoked in spot checks", "tab:purple"), ("failed_T2", "failed", "black")]),
        ("Little giants (T3)", 3, [("in_T3", "recognised (national batch)", "tab:green")],
         [("lost_review_T3", "lost at review", "tab:red"), ("revoked_T3", "revoked in spot checks", "tab:purple"),
          ("failed_T3", "failed", "black")]),
        ("Whole pool", None, [("entered", "new firms", "tab:green")],
         [("failed", "failed", "black"), ("graduated", "outgrew SME size or listed", "tab:orange")]),
    ]
    for ax, (title, _, ins, outs) in zip(axes, panels):
        cols = [c for c, _, _ in ins + outs]
        med = _median_by_year(yd, cols)
        years = med.index.to_numpy()
        bottom = np.zeros(len(years))
        for c, label, color in ins:
            ax.bar(years, med[c], bottom=bottom, color=color, label=label, width=0.8)
            bottom += med[c].to_numpy()
        bottom = np.zeros(len(years))
        for c, label, color in outs:
            ax.bar(years, -med[c], bottom=bottom, color=color, label=label, width=0.8)
            bottom -= med[c].to_numpy()
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(title)
        ax.set_ylabel("firms per year (out of the tier below zero)")
        ax.yaxis.set_major_formatter(ABSOLUTE)
        ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))  # whole years, not 2017.5
        ax.grid(axis="y", alpha=0.3)
    _mark_reported_flows(cfg, axes)
    rates = [_pass_rate_lines(cfg, ax, yd, tier) for ax, (_, tier, _, _) in zip(axes, panels)]
    for ax, rate in zip(axes, rates):
        handles, labels = ax.get_legend_handles_labels()
        handles, labels = handles + rate, labels + [r.get_label() for r in rate]
        ax.legend(handles, labels, fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2)
    note = "median across replications" if cfg.replications > 1 else "one replication"
    fig.suptitle(f"{cfg.region.label} — {cfg.scenario}: yearly flows by cause ({note}){sample_note(cfg)}", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return fig


def _pass_rate_lines(cfg: SimConfig, ax: plt.Axes, yd: pd.DataFrame, tier: int | None) -> list:
    """The review pass rate of the tier (renewed / due, median across replications) on a right-hand
    axis; for little giants also the share of each batch that passes its first review (renewed at
    it / titles granted ``validity_years`` before), with MIIT's published shares where the region has
    them. Empty for the pool panel or when no title was due."""
    col = f"review_pass_rate_T{tier}"
    if tier is None or col not in yd.columns or not yd[col].notna().any():
        return []
    rate = _median_by_year(yd, [col])[col]
    right = ax.twinx()
    (line,) = right.plot(rate.index, 100 * rate.to_numpy(), color="0.25", marker="o", ms=3, lw=1.2,
                         label="review pass rate, % of titles due (right)")
    lines = [line]
    if tier == 3 and column_of(RENEWED_FIRST) in yd.columns:
        lines += _first_review_share(cfg, right, yd)
    right.set_ylim(0, 105)
    right.set_ylabel("% passing review", fontsize=8)
    right.spines["right"].set_visible(True)
    return lines


def _first_review_share(cfg: SimConfig, right: plt.Axes, yd: pd.DataFrame) -> list:
    """The share of each batch kept at its first review (median across replications), and MIIT's
    published shares where the region has them: what the reported review outcomes are compared with."""
    validity = cfg.miit.validity_years
    by = yd.set_index(["replication", "year"]).sort_index()
    granted = by["recognised_T3"].groupby(level="replication").shift(validity)
    share = (by[column_of(RENEWED_FIRST)] / granted.where(granted > 0)).groupby(level="year").median().dropna()
    if share.empty:
        return []
    (line,) = right.plot(share.index, 100 * share.to_numpy(), color="tab:red", ls="--", marker="s", ms=3, lw=1.0,
                         label=f"batch kept at review {validity} yrs on, % (right)")
    lines = [line]
    figs = region_figures(cfg)
    reported = figs[figs["kind"] == "review_pass"]
    if len(reported):
        pts = right.errorbar(reported["date"].dt.year, 100 * reported["value"],
                             yerr=100 * reported["value"] * reported["tolerance"], fmt="D", color="tab:red",
                             mfc="white", capsize=3, ms=5, label="reported: batch passing MIIT's first review")
        lines.append(pts)
    return lines


def _mark_reported_flows(cfg: SimConfig, axes) -> None:
    """Reported yearly flows on their panel: new SRDI titles, new little giants, the pool's growth.
    A ``context`` row (a lower bound, e.g. one of a year's lists) is not a figure to compare with."""
    figs = region_figures(cfg)
    flows = figs[(figs["kind"] == "flow") & (figs["use"] != "context")]
    labelled = set()  # one legend entry per panel, however many years were reported
    for _, r in flows.iterrows():
        ax = {"T2": axes[0], "T3": axes[1], "ALL": axes[2]}.get(r["tier"])
        if ax is None:
            continue
        # the pool's reported "new firms" is read as its net growth (see seeds/), not gross entry
        label = ("reported net growth of the pool" if r["tier"] == "ALL" else "reported new titles") + scaled_note(figs)
        ax.errorbar([r["date"].year], [r["value"]], yerr=r["value"] * r["tolerance"], fmt="o", color="black",
                    capsize=3, ms=4, label="_nolegend_" if ax in labelled else f"{label} (bar = tolerance)")
        labelled.add(ax)


def fiscal_chart(cfg: SimConfig, year_df: pd.DataFrame) -> plt.Figure:
    cols = [f"spend_{i}" for i in INSTRUMENTS]
    med = _median_by_year(year_df, cols)
    fig, ax = plt.subplots(figsize=(8, 4.6))
    bottom = np.zeros(len(med))
    for inst, col in zip(INSTRUMENTS, cols):
        ax.bar(med.index, med[col], bottom=bottom, label=INSTRUMENT_LABELS[inst], width=0.8)
        bottom += med[col].to_numpy()
    total = year_df.groupby("replication")["spend_total"].sum()
    m, lo, hi = band(total, cfg.outcomes.interval)
    rng = f" ({percent(cfg.outcomes.interval)}% range {lo:,.0f}–{hi:,.0f})" if cfg.replications > 1 else ""
    budget = region_budget(cfg)  # the region's, at its scale, once the package runs
    if budget is not None:
        ax.axhline(budget, color="tab:red", ls="--", lw=1,
                   label=f"budget envelope {budget:,.0f} a year (all but administration\n"
                         "and the status quo's awards, which are lines of their own)")
    ax.set_ylabel("million yuan per year")
    ax.yaxis.set_major_formatter(THOUSANDS)
    ax.set_title(f"{cfg.region.label} — {cfg.scenario}: fiscal cost by instrument{sample_note(cfg)}\n"
                 f"total {cfg.start_year}–{cfg.end_year}: {m:,.0f} M yuan{rng}", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    figure_legend(fig, [ax], ncol=2)  # under the chart, clear of the bars
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    return fig


def run_charts(out_dir: Path, cfg: SimConfig, quarterly: pd.DataFrame, year_df: pd.DataFrame) -> list[str]:
    return [save(out_dir, "tier_counts.png", tier_counts_chart(cfg, quarterly)),
            save(out_dir, "flows.png", flows_chart(cfg, year_df)),
            save(out_dir, "fiscal_cost.png", fiscal_chart(cfg, year_df))]
