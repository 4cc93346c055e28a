"""Charts of a sweep comparison.

Each chart stands alone in a briefing: the title names the place, the year and what is compared; the
axes carry units; the legend or a note says what a dot, a line and a band are.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np

from sim.analysis.paired import Comparison
from sim.core.outcomes import (INDICATORS, INSTRUMENT_LABELS, INSTRUMENTS, SWEEP_STOCKS, fmt_money, in_bn, percent,
                               quantile_levels)
from sim.presentation.style import SIGNED, THOUSANDS, money_axis, write_applicable

REF_COLOR = "#333333"
INSTRUMENT_COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown"]  # one per instrument
STOCKS = [(i, INDICATORS[i].label) for i in SWEEP_STOCKS]


def _colors(c: Comparison) -> dict[str, str]:
    """A fixed colour per job across all charts; the reference is dark grey."""
    palette = [plt.cm.tab10(i) for i in range(10) if i != 7] + [plt.cm.Dark2(i) for i in range(8)]
    refs = {r.job.name for r in c.distinct_refs()} if len(c.distinct_refs()) == 1 else set()
    out, k = {}, 0
    for j in c.ok_jobs:
        if j.name in refs:
            out[j.name] = REF_COLOR
        else:
            out[j.name] = palette[k % len(palette)]
            k += 1
    return out


def _pct(c: Comparison) -> int:
    return percent(c.interval)


def _nrep(c: Comparison) -> str:
    reps = sorted({j.replications for j in c.ok_jobs})
    return "/".join(map(str, reps))


def _ref_name(c: Comparison) -> str:
    refs = [r.job.label for r in c.distinct_refs()]
    return refs[0] if len(refs) == 1 else "each job's reference"


def _region(c: Comparison) -> str:
    return c.region_label()


def money_text(x: float) -> str:
    """An amount in M yuan with its unit, for a label ("1,234 M yuan", "23.4 bn yuan")."""
    return fmt_money(x) + ("" if in_bn(x) else " M yuan")


def _ordered(c: Comparison) -> list:
    """Jobs in ranking order (best first)."""
    by_name = {j.name: j for j in c.ok_jobs}
    return [by_name[n] for n in c.ranking["job"]]


def _rows(c: Comparison, measure: str, indicator: str, year: int):
    t = c.table
    return t[(t["measure"] == measure) & (t["indicator"] == indicator) & (t["year"] == year)].set_index("job")


def outcomes_chart(c: Comparison) -> plt.Figure:
    jobs = _ordered(c)
    colors = _colors(c)
    y = np.arange(len(jobs))[::-1]
    fig, axes = plt.subplots(1, 3, figsize=(12.5, 1.9 + 0.42 * len(jobs)), sharey=True, layout="constrained")
    for ax, (ind, label) in zip(axes, STOCKS):
        rows = _rows(c, "level", ind, c.rank_year)
        for yi, j in zip(y, jobs):
            r = rows.loc[j.name]
            is_ref = j is c.reference_of(j)
            if is_ref and len(c.distinct_refs()) == 1:
                ax.axvspan(r["low"], r["high"], color="0.85", zorder=0, lw=0)
                ax.axvline(r["value"], color="0.5", lw=0.8, ls=":", zorder=0)
            ax.errorbar([r["value"]], [yi], xerr=[[r["value"] - r["low"]], [r["high"] - r["value"]]],
                        fmt="o", color=colors[j.name], ms=6, capsize=3, lw=1.6)
        ax.set_title(label)
        ax.set_xlabel(f"firms at end of {c.rank_year}")
        ax.xaxis.set_major_locator(mticker.MaxNLocator(nbins=4))  # narrow panels: few ticks, never overlapping
        ax.xaxis.set_major_formatter(THOUSANDS)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, [j.label + ("  (reference)" if j is c.reference_of(j) else "") for j in jobs])
    band = f"; grey band = the reference's {_pct(c)}% interval" if len(c.distinct_refs()) == 1 else ""
    fig.suptitle(f"{_region(c)}: firms holding each tier at the end of {c.rank_year}, by package\n"
                 f"dot = median, bar = {_pct(c)}% interval across {_nrep(c)} replications{band}; "
                 f"packages ranked by extra little giants", fontsize=10)
    return fig


def difference_chart(c: Comparison) -> plt.Figure | None:
    jobs = [j for j in _ordered(c) if j is not c.reference_of(j)]
    if not jobs:
        return None
    years = c.years
    cmap = plt.cm.viridis(np.linspace(0.1, 0.85, len(years)))
    y = np.arange(len(jobs))[::-1]
    offsets = np.linspace(0.25, -0.25, len(years)) if len(years) > 1 else [0.0]  # earliest year on top
    fig, axes = plt.subplots(1, 3, figsize=(12.5, 2.4 + 0.5 * len(jobs)), sharey=True, layout="constrained")
    for ax, (ind, label) in zip(axes, STOCKS):
        for yr, color, off in zip(years, cmap, offsets):
            rows = _rows(c, "difference", ind, yr)
            for yi, j in zip(y, jobs):
                r = rows.loc[j.name]
                ax.errorbar([r["value"]], [yi + off], xerr=[[r["value"] - r["low"]], [r["high"] - r["value"]]],
                            fmt="o", color=color, ms=4.5, capsize=2, lw=1.3,
                            label=str(yr) if (yi == y[0] and ax is axes[0]) else None)
        ax.axvline(0, color="0.3", lw=1)
        ax.set_title(f"Extra {INDICATORS[ind].short}")
        ax.set_xlabel("firms: package − reference (same replication)")
        ax.xaxis.set_major_locator(mticker.MaxNLocator(nbins=5, integer=True))
        ax.xaxis.set_major_formatter(SIGNED)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, [j.label for j in jobs])
    fig.legend(loc="outside lower center", ncol=len(years), frameon=False, title="end of year")
    fig.suptitle(f"{_region(c)}: difference from the reference ({_ref_name(c)}), paired replications\n"
                 f"dot = median of the per-replication differences, bar = their {_pct(c)}% interval "
                 f"({_nrep(c)} replications, common random numbers)", fontsize=10)
    return fig


def _nice_costs(ratios: np.ndarray) -> list[float]:
    """Up to four round cost-per-giant values spanning the packages' ratios, for guide lines."""
    r = ratios[np.isfinite(ratios) & (ratios > 0)]
    if not r.size:
        return []
    steps = [v * 10 ** e for e in range(-3, 7) for v in (1, 2, 5)]
    pick = [s for s in steps if r.min() / 2 <= s <= r.max() * 1.5]
    if len(pick) > 4:
        pick = [pick[i] for i in sorted(set(np.linspace(0, len(pick) - 1, 4).round().astype(int)))]
    return pick


LABEL_OFFSETS = ((6, 5), (6, -13), (6, 17), (6, -25), (6, 29))  # points: tried in turn until a label fits
GUIDE_SLIDES = (0.97, 0.75, 0.58, 0.45, 0.35)  # fractions of a guide's exit point: tried in turn likewise


Box = tuple[float, float, float, float]  # a label's extent in display points: x0, y0, x1, y1


def _overlaps(box: Box, placed: list[Box]) -> bool:
    return any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed)


def _to_points(ax: plt.Axes, x: float, y: float) -> tuple[float, float]:
    to_pt = 72.0 / ax.figure.dpi
    px, py = ax.transData.transform((x, y))
    return px * to_pt, py * to_pt


def _label_points(ax: plt.Axes, points: list[tuple[float, float, str, str]]) -> list[Box]:
    """Name each point beside it, moving a label up or down when it would cover one already placed
    (packages close together on the chart stay readable). Call once the axis limits are set; returns
    the labels' boxes so later labels can keep clear of them."""
    ax.figure.canvas.draw()  # the transform needs the final layout
    placed: list[Box] = []
    for x, y, name, color in points:
        px, py = _to_points(ax, x, y)
        w, h = 5.0 * len(name), 10.0
        for dx, dy in LABEL_OFFSETS:
            box = (px + dx, py + dy, px + dx + w, py + dy + h)
            if not _overlaps(box, placed):
                break
        placed.append(box)
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=8, color=color, zorder=5,
                    bbox=dict(fc="white", ec="none", alpha=0.75, pad=0.5))
    return placed


def _label_guides(ax: plt.Axes, costs: list[float], placed: list[Box]) -> None:
    """Name each cost-per-giant guide near where it leaves the plot, sliding a label down its line
    when it would cover another label (steep guides leave the plot close together, top left)."""
    for v in costs:
        text = f"{money_text(v)}/giant"
        exit_x = min(ax.get_xlim()[1], ax.get_ylim()[1] / v)
        for f in GUIDE_SLIDES:
            px, py = _to_points(ax, exit_x * f, exit_x * f * v)
            box = (px - 4.4 * len(text), py, px, py + 9.0)  # right-aligned, above its anchor
            if not _overlaps(box, placed):
                break
        placed.append(box)
        ax.text(exit_x * f, exit_x * f * v, text, fontsize=7, color="0.45", ha="right", va="bottom")


def cost_effectiveness_chart(c: Comparison) -> plt.Figure | None:
    rk = c.ranking[~c.ranking["is_reference"]]
    if rk.empty:
        return None
    colors = _colors(c)
    fig, ax = plt.subplots(figsize=(8.5, 6.2 + 0.16 * len(rk)), layout="constrained")
    xs, ys = rk["extra_giants"].to_numpy(float), rk["extra_cost"].to_numpy(float)
    for _, r in rk.iterrows():
        xerr = [[r["extra_giants"] - r["extra_giants_low"]], [r["extra_giants_high"] - r["extra_giants"]]]
        yerr = [[r["extra_cost"] - r["extra_cost_low"]], [r["extra_cost_high"] - r["extra_cost"]]]
        if not np.all(np.isfinite(xerr)):
            xerr = None
        if not np.all(np.isfinite(yerr)):
            yerr = None
        cpe = r["cost_per_extra"]
        tag = f"{money_text(cpe)} per extra giant" if np.isfinite(cpe) else r["cost_note"].split(";")[0]
        ax.errorbar([r["extra_giants"]], [r["extra_cost"]], xerr=xerr, yerr=yerr, fmt="o", ms=7, capsize=3,
                    color=colors[r["job"]], label=f"{r['package']}: {tag}")
    ax.plot([0], [0], marker="s", color=REF_COLOR, ms=7, ls="none", label=f"reference: {_ref_name(c)}")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.axvline(0, color="0.6", lw=0.8)
    xmax = max(1.0, np.nanmax(np.append(rk["extra_giants_high"].to_numpy(float), xs)))
    ymax = max(1.0, np.nanmax(np.append(rk["extra_cost_high"].to_numpy(float), ys)))
    xmin = min(0.0, np.nanmin(np.append(rk["extra_giants_low"].to_numpy(float), xs)))
    ymin = min(0.0, np.nanmin(np.append(rk["extra_cost_low"].to_numpy(float), ys)))
    ax.set_xlim(xmin - 0.08 * (xmax - xmin), xmax + 0.12 * (xmax - xmin))
    ax.set_ylim(ymin - 0.08 * (ymax - ymin), ymax + 0.12 * (ymax - ymin))
    placed = _label_points(ax, [(r["extra_giants"], r["extra_cost"], r["package"], colors[r["job"]])
                                for _, r in rk.iterrows()])
    costs = _nice_costs(rk["cost_per_extra"].to_numpy(float))
    for k, v in enumerate(costs):
        gx = np.array([0, ax.get_xlim()[1]])
        ax.plot(gx, gx * v, color="0.6", lw=0.8, ls="--", zorder=0,
                label="guide: constant cost per extra giant" if k == 0 else None)
    _label_guides(ax, costs, placed)
    ax.text(0.99, 0.02, "towards bottom right: more little giants for less money", transform=ax.transAxes,
            ha="right", fontsize=7, color="0.4")
    ax.set_xlabel(f"extra little giants at end of {c.rank_year} (package − reference, median)")
    ax.xaxis.set_major_formatter(SIGNED)
    money_axis(ax, "y", f"extra fiscal cost {c.adopt_year}–{c.rank_year} ({{unit}}, median)", signed=True)
    ax.grid(alpha=0.25)
    fig.legend(fontsize=7.5, frameon=False, loc="outside lower center", ncol=2)
    ax.set_title(f"{_region(c)}: what each package buys — extra fiscal cost vs extra little giants, "
                 f"{c.rank_year}\nagainst {_ref_name(c)}; bars = {_pct(c)}% interval of paired differences "
                 f"({_nrep(c)} replications); flatter slope = cheaper per extra giant", fontsize=9.5)
    return fig


def tier_time_chart(c: Comparison) -> plt.Figure:
    jobs = _ordered(c)
    colors = _colors(c)
    panels = [STOCKS[2], STOCKS[1], STOCKS[0]]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.6 + 0.2 * int(np.ceil(len(jobs) / 4))), layout="constrained")
    lo_q, hi_q = quantile_levels(c.interval)
    for ax, (ind, label) in zip(axes, panels):
        for j in jobs:
            f = c.frames[j.name][ind].groupby(level="year")
            med = f.median()
            is_ref = j is c.reference_of(j)
            if is_ref and j.replications > 1:
                ax.fill_between(med.index, f.quantile(lo_q), f.quantile(hi_q), color=colors[j.name], alpha=0.15,
                                lw=0)
            ax.plot(med.index, med.to_numpy(), color=colors[j.name], lw=2.2 if is_ref else 1.4,
                    ls="-" if not is_ref else "--",
                    label=j.label + (" (reference)" if is_ref else "") if ax is axes[0] else None)
        for y in c.years:
            ax.axvline(y, color="0.85", lw=0.8, zorder=0)
        ax.set_title(label)
        ax.set_ylabel("firms (end of year)")
        ax.set_xlabel("year")
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(THOUSANDS)
        ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    ncol = min(4, len(jobs))
    fig.legend(loc="outside lower center", ncol=ncol, frameon=False, fontsize=8)
    band = f"; shaded = reference's {_pct(c)}% interval" if max(j.replications for j in jobs) > 1 else ""
    fig.suptitle(f"{_region(c)}: firms by tier over time, by package — median of {_nrep(c)} replications{band}; "
                 f"grey verticals = report years", fontsize=10)
    return fig


def fiscal_chart(c: Comparison) -> plt.Figure:
    jobs = _ordered(c)
    y = np.arange(len(jobs))[::-1]
    fig, ax = plt.subplots(figsize=(9.5, 2.2 + 0.42 * len(jobs)), layout="constrained")
    left = np.zeros(len(jobs))
    for inst, color in zip(INSTRUMENTS, INSTRUMENT_COLORS):
        rows = _rows(c, "level", f"spend_{inst}_cum", c.rank_year)
        vals = np.array([rows.loc[j.name, "value"] for j in jobs])
        ax.barh(y, vals, left=left, color=color, height=0.6, label=INSTRUMENT_LABELS[inst])
        left += vals
    tot = _rows(c, "level", "spend_total_cum", c.rank_year)
    med = np.array([tot.loc[j.name, "value"] for j in jobs])
    lo = np.array([tot.loc[j.name, "low"] for j in jobs])
    hi = np.array([tot.loc[j.name, "high"] for j in jobs])
    ax.errorbar(med, y, xerr=[med - lo, hi - med], fmt="|", color="black", ms=12, capsize=3,
                label=f"total: median and {_pct(c)}% interval")
    ax.set_yticks(y, [j.label + ("  (reference)" if j is c.reference_of(j) else "") for j in jobs])
    money_axis(ax, "x", f"{{unit}}, cumulative since adoption, {c.adopt_year}–{c.rank_year}")
    ax.grid(axis="x", alpha=0.3)
    fig.legend(fontsize=8, frameon=False, loc="outside lower center", ncol=3)
    ax.set_title(f"{_region(c)}: fiscal cost by instrument since adoption, {c.adopt_year}–{c.rank_year}, by package\n"
                 f"bars = median of each instrument across {_nrep(c)} replications", fontsize=10)
    return fig


CHARTS = [
    ("outcomes_by_package.png", outcomes_chart),
    ("difference_from_reference.png", difference_chart),
    ("cost_vs_extra_giants.png", cost_effectiveness_chart),
    ("tier_counts_by_package.png", tier_time_chart),
    ("fiscal_cost_by_package.png", fiscal_chart),
]


def write_charts(out: Path, c: Comparison) -> list[str]:
    """Write every chart that applies (no difference charts without a second job); stale ones go."""
    return write_applicable(out, CHARTS, c)


