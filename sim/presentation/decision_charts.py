"""Charts of the decision part of a comparison: the acceptability curve, who gains, the dose-response
along a swept lever. Same house rules as ``sweep_charts``: the title names the place, the year and
what is compared; axes carry units; colours follow the package across every chart."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np

from sim.analysis.decision import Decision, options
from sim.core.outcomes import INDICATORS, percent
from sim.presentation.style import SIGNED, money_axis, money_log_axis, write_applicable
from sim.presentation.sweep_charts import REF_COLOR, _colors, _region


def acceptability_chart(d: Decision) -> plt.Figure | None:
    c, a = d.c, d.acceptability
    if a.empty:
        return None
    r = c.distinct_refs()[0]
    sub = a[a["reference"] == r.job.name]
    p = sub.pivot(index="wtp", columns="job", values="probability")
    colors = _colors(c)
    fig, ax = plt.subplots(figsize=(8.5, 5.2), layout="constrained")
    for j in options(c, r)[0]:
        is_ref = j is r.job
        ax.plot(p.index, p[j.name], color=REF_COLOR if is_ref else colors[j.name], lw=2.2 if is_ref else 1.6,
                ls="--" if is_ref else "-", label=j.label + (" (reference: no package)" if is_ref else ""))
    ax.set_xscale("log")
    money_log_axis(ax, "x", f"willingness to pay λ: M yuan per extra little giant at the end of {c.rank_year}")
    ax.set_ylim(-0.02, 1.02)
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_ylabel("probability of the highest net benefit")
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncol=min(4, p.shape[1]), frameon=False, fontsize=8)
    ax.set_title(f"{_region(c)}: which package is the best buy at each price of an extra little giant ({c.rank_year})"
                 f"\nnet benefit = λ × extra little giants − extra fiscal cost since adoption ({c.adopt_year}); "
                 f"share of {int(sub['pairs'].iloc[0])} paired replications", fontsize=9.5)
    return fig


def _heat(ax: plt.Axes, m: np.ndarray, rows: list[str], cols: list[str], title: str) -> None:
    lim = max(1.0, float(np.nanmax(np.abs(m))))
    ax.imshow(m, cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    for (i, k), v in np.ndenumerate(m):
        ax.text(k, i, SIGNED(v, None) if abs(v) >= 0.05 else "0", ha="center", va="center", fontsize=7.5,
                color="white" if abs(v) > 0.6 * lim else "black")
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.tick_params(length=0)
    ax.set_title(title)
    ax.spines[:].set_visible(False)


def who_gains_chart(d: Decision) -> plt.Figure | None:
    c, g = d.c, d.gains
    if g is None or g.empty:
        return None
    sub = g[g["year"] == c.rank_year]
    jobs = [n for n in c.ranking["job"] if n in set(sub["job"])]
    labels = {j.name: j.label for j in c.ok_jobs}
    groups = list(dict.fromkeys(zip(sub["group"], sub["group_label"])))
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 2.6 + 0.36 * len(groups)), layout="constrained", sharey=True)
    for ax, ind in zip(axes, ("n_T3", "n_T2plus")):
        t = sub[sub["indicator"] == ind].set_index(["group", "job"])["value"]
        m = np.array([[t.loc[(grp, n)] for n in jobs] for grp, _ in groups], dtype=float)
        _heat(ax, m, [lab for _, lab in groups], [labels[n] for n in jobs], f"Extra {INDICATORS[ind].short}")
    fig.suptitle(f"{_region(c)}: who gains — median paired extra firms at the end of {c.rank_year}, by cluster and "
                 f"chain-leader link\n(package − reference, same replication; red = fewer, blue = more)", fontsize=10)
    return fig


def dose_chart(d: Decision) -> plt.Figure | None:
    c, dose = d.c, d.dose
    if dose is None:
        return None
    t = dose.table
    key = dose.key.removeprefix("policy.")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
    for ax, name, title in ((axes[0], "extra_giants", f"extra little giants, end of {c.rank_year}"),
                            (axes[1], "extra_cost", f"extra fiscal cost since adoption, {c.adopt_year}–{c.rank_year}")):
        x, med = t["value"].to_numpy(float), t[name].to_numpy(float)
        ax.fill_between(x, t[f"{name}_low"], t[f"{name}_high"], color="tab:blue", alpha=0.18, lw=0,
                        label=f"{percent(c.interval)}% interval")
        ax.plot(x, med, "o-", color="tab:blue", label="median")
        ref = t[t["is_reference"]]
        ax.plot(ref["value"], ref[name], "s", color=REF_COLOR, ms=9, ls="none", label="reference", zorder=5)
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_xlabel(key)
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].yaxis.set_major_formatter(SIGNED)
    axes[0].set_ylabel("firms: package − reference")
    money_axis(axes[1], "y", "{unit}: package − reference", signed=True)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    fig.suptitle(f"{_region(c)}: response to {key} — paired differences from the reference", fontsize=10)
    return fig


CHARTS = [
    ("acceptability.png", acceptability_chart),
    ("who_gains.png", who_gains_chart),
    ("dose_response.png", dose_chart),
]
TORNADO = "tornado.png"


def write_charts(out: Path, d: Decision) -> list[str]:
    """Write every chart that applies and copy the sensitivity analysis' tornado chart; stale ones go."""
    made = write_applicable(out, CHARTS, d)
    if d.sensitivity.tornado is not None:
        shutil.copyfile(d.sensitivity.tornado, Path(out) / TORNADO)
        made.append(TORNADO)
    else:
        (Path(out) / TORNADO).unlink(missing_ok=True)
    return made
