"""The fit report of a calibration: every reported figure against the calibrated model, every
fitted parameter against its prior, as report.md with three charts."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from sim.calibration.backtest import score
from sim.calibration.priors import bounds, sampling_space
from sim.calibration.targets import FLOW_COLUMN
from sim.core.outcomes import INDICATORS, TIER_COLUMN, fmt, percent
from sim.core.schema import SimConfig, value_of
from sim.experiment import posterior as post_mod
from sim.experiment.store import write_text
from sim.presentation.run_charts import PANELS, tier_counts_chart
from sim.presentation.style import figure_legend, save

SHARED_CORES = 0.8  # below this share of its cores a fit says the machine was shared
ROLE_STYLE = {"fitted": ("tab:blue", "fitted"), "held out": ("tab:orange", "held out (after the cut-off)"),
              "validate": ("tab:grey", "compared, not fitted"), "dropped": ("tab:grey", "dropped (weight 0)")}


def write_fit_report(out: Path, cfg: SimConfig, fit, command: str, table: pd.DataFrame, ptable: pd.DataFrame,
                     quarterly: pd.DataFrame, check_s: float) -> list[str]:
    """report.md and its charts in ``out``; returns the files written."""
    n = cfg.calibration.check_replications
    charts = [
        save(out, "fit_tiers.png", tiers_chart(cfg, quarterly, fit.targets, n, fit.figures)),
        save(out, "fit_targets.png", targets_chart(table, cfg.region.label, cfg.outcomes.interval,
                                                   cfg.calibration.cutoff)),
        save(out, "parameters.png", parameters_chart(cfg, fit.posterior, ptable)),
    ]
    write_text(out / "report.md", _markdown(cfg, fit, command, table, ptable, check_s))
    return ["report.md", *charts]


# ------------------------------------------------------------------------------------- charts
def targets_chart(table: pd.DataFrame, region_label: str, interval: float, cutoff=None) -> plt.Figure:
    """Each figure: simulated / reported, median and interval, over the figure's tolerance band; a
    backtest (``cutoff``) says so in its title, as the figures after its cut-off are forecasts."""
    t = table.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(t) + 1.8))
    used = set()
    for y, r in t.iterrows():
        color, label = ROLE_STYLE[r["role"]]
        if not np.isfinite(r["sim_median"]):
            ax.text(1.0, y, "no model reading", va="center", ha="center", fontsize=7, color="grey")
            continue
        ax.add_patch(plt.Rectangle((1 - r["tolerance"], y - 0.3), 2 * r["tolerance"], 0.6, color="tab:green",
                                   alpha=0.18, lw=0, label=None if "tol" in used else "tolerance of the figure"))
        used.add("tol")
        lo, hi = r["sim_low"] / r["reported"], r["sim_high"] / r["reported"]
        ax.plot([lo, hi], [y, y], color=color, lw=2, solid_capstyle="butt")
        ax.plot(r["sim_median"] / r["reported"], y, "o", color=color, ms=6,
                label=None if label in used else label)
        used.add(label)
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_yticks(range(len(t)))
    ax.set_yticklabels([_figure_label(r) for _, r in t.iterrows()], fontsize=8)
    ax.set_xscale("log")
    lo = min(0.5, np.nanmin(t["sim_low"] / t["reported"]) * 0.9, np.nanmin(1 - t["tolerance"]) * 0.9)
    hi = max(2.0, np.nanmax(t["sim_high"] / t["reported"]) * 1.1, np.nanmax(1 + t["tolerance"]) * 1.1)
    ax.set_xlim(lo, hi)
    ticks = [v for v in (0.1, 0.2, 0.3, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 5, 10) if lo <= v <= hi]
    ax.xaxis.set_major_locator(mticker.FixedLocator(ticks))
    ax.xaxis.set_minor_locator(mticker.NullLocator())
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel(f"simulated / reported (dot: median, line: {percent(interval)}% interval)")
    ax.set_title(f"{region_label}: " + (f"backtest (fitted up to {cutoff}) against each reported figure"
                                        if cutoff else "calibrated model against each reported figure"), fontsize=10)
    ax.grid(axis="x", alpha=0.3, which="both")
    fig.legend(*ax.get_legend_handles_labels(), fontsize=8, frameon=False, loc="lower center", ncol=4)
    fig.tight_layout(rect=(0, 0.35 / fig.get_figheight(), 1, 1))
    return fig


def parameters_chart(cfg: SimConfig, post: post_mod.Posterior, table: pd.DataFrame) -> plt.Figure:
    """Posterior histogram of each fitted parameter over its whole prior range (flat = prior)."""
    k = len(post.names)
    ncol = min(4, k)
    nrow = int(np.ceil(k / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.1 * ncol, 2.3 * nrow), squeeze=False)
    for ax in axes.flat[k:]:
        ax.axis("off")
    for j, (ax, name) in enumerate(zip(axes.flat, post.names)):
        p = cfg.calibration.priors[name]
        a, b = bounds(p)
        x = sampling_space(p, post.values[:, j])
        ax.hist(x, bins=np.linspace(a, b, 21), weights=post.weights, density=True, color="tab:blue", alpha=0.7,
                label="posterior")
        ax.axhline(1.0 / (b - a), color="tab:red", lw=1, ls="--", label="prior (uniform)")
        rv = value_of(cfg.uncertainties.model_dump(), name)
        if np.isfinite(rv) and (rv > 0 or p.scale == "linear"):  # NaN: unset in the region file
            ax.axvline(sampling_space(p, np.array([rv]))[0], color="black", lw=1, ls=":", label="region file value")
        ratio = table.set_index("parameter").loc[name, "width_ratio"]
        ax.set_title(f"{name}\nwidth ratio {ratio:.2f}", fontsize=8)
        ax.set_xlim(a, b)
        if p.scale == "log":
            ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{10 ** v:.3g}"))
            ax.set_xlabel("log scale", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False, fontsize=8)
    fig.suptitle(f"{cfg.region.label}: fitted parameters, posterior against prior "
                 "(width ratio = posterior / prior 90% width)", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    return fig


def tiers_chart(cfg: SimConfig, quarterly: pd.DataFrame, targets: pd.DataFrame, n: int,
                figures: pd.DataFrame | None = None) -> plt.Figure:
    """The run chart (``run_charts.tier_counts_chart``) of the posterior-predictive runs, with
    figures held out of a backtest ringed; ``figures``: the reported figures as the fit read them."""
    ccfg = cfg.model_copy(update={"replications": n, "scenario": "calibrated baseline"})
    cutoff = cfg.calibration.cutoff
    fig = tier_counts_chart(ccfg, quarterly, title_suffix=f" (backtest fitted to {cutoff})" if cutoff
                            else " (posterior-predictive check)", figures=figures)
    held = targets[(targets["role"] == "held out") & (targets["kind"] == "stock")]
    if len(held):
        for ax, (col, _) in zip(fig.axes, PANELS):
            sub = held[held["tier"].map(TIER_COLUMN) == col]
            if len(sub):
                ax.plot(sub["date"], sub["value"], "o", ms=12, mfc="none", mec="tab:orange", mew=1.6,
                        label="held out of the fit")
        figure_legend(fig, fig.axes, ncol=5)
    return fig


def _figure_label(r) -> str:
    """A figure in words, as an analyst reads it: ``Little giants (T3), Beijing, Aug 2023: 796``,
    ``New little giants in 2019: 248``, ``Little giants passing MIIT's 2022 review: 57%``,
    ``Little giants (T3) due for review in 2025: 142`` (the national model's city rows name their
    area, read from the column, e.g. ``n_T3_titles__beijing``)."""
    area = str(r["model_reading"]).split(" ")[0].partition("__")[2]
    when = pd.Timestamp(r["date"])
    if r["kind"] == "review_pass":
        what = f"Little giants passing MIIT's {when.year} review"
    elif r["kind"] == "flow" and FLOW_COLUMN.get(r["tier"]) in INDICATORS:
        what = INDICATORS[FLOW_COLUMN[r["tier"]]].label.replace("the year", str(when.year))
    elif r["kind"] == "review_due":
        what = INDICATORS[TIER_COLUMN[r["tier"]]].label + f" due for review in {when.year}"
    elif r["kind"] == "flow":
        what = OTHER_FLOW_WORDS.get(r["tier"], f"New {r['tier']}") + f" in {when.year}"
    else:
        what = INDICATORS[TIER_COLUMN[r["tier"]]].label + f"{', ' + area.title() if area else ''}, {when:%b %Y}"
    return f"{what}: {_reported(r)}"


# reported yearly flows with no indicator of their own (titles granted are read from recognised_T*)
OTHER_FLOW_WORDS = {"ALL": "Net rise in pool firms", "HTE": "New high-tech enterprises"}


# ----------------------------------------------------------------------------------- markdown
def _reported(r) -> str:
    """A figure as reported: a count, or a share (review passes) in percent."""
    return f"{r['reported']:.0%}" if r["kind"] == "review_pass" else f"{r['reported']:,.0f}"


def _n(x: float) -> str:
    return fmt(x, missing="–", small=",.3g")


def _pct(x: float) -> str:
    return f"{x:+.1%}" if np.isfinite(x) else "–"


def _rounding(r) -> str:
    """How precisely the quote gives the figure, when rounded: its interval test allows that range."""
    return f"to the nearest {r['rounded_to']:,.0f}; " if r["rounded_to"] else ""


def _yes(r, col: str) -> str:
    return "–" if not np.isfinite(r["sim_median"]) else "yes" if r[col] else "NO"


def targets_markdown(table: pd.DataFrame, interval: float) -> list[str]:
    pct = percent(interval)
    lines = [f"| figure | date | reported (tol.) | model reading | role | simulated median [{pct}%] | rel. error | in tol. | in {pct}% |",
             "|---|---|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        lines.append(
            f"| `{r['id']}` | {r['date']} | {_n(r['reported'])} ({_rounding(r)}±{r['tolerance']:.0%}) | {r['model_reading']} | "
            f"{r['role']} | {_n(r['sim_median'])} [{_n(r['sim_low'])}–{_n(r['sim_high'])}] | "
            f"{_pct(r['rel_error'])} | {_yes(r, 'in_tolerance')} | {_yes(r, 'in_interval')} |")
    return lines


def parameters_markdown(ptable: pd.DataFrame, interval: float) -> list[str]:
    pct = percent(interval)
    lines = [f"| parameter | prior | region file | posterior median [{pct}%] | width ratio | verdict |",
             "|---|---|---|---|---|---|"]
    for _, r in ptable.iterrows():
        prior = f"{'log-' if r['scale'] == 'log' else ''}uniform {r['prior_low']:.4g}–{r['prior_high']:.4g}"
        lines.append(f"| `{r['parameter']}` | {prior} | {_region_value(r['region_value'])} | {r['post_median']:.4g} "
                     f"[{r['post_low']:.4g}–{r['post_high']:.4g}] | {r['width_ratio']:.2f} | {r['verdict']} |")
    return lines


def core_share_note(share: float | None, processes: int) -> str:
    """How much of its cores the fit got: under a time budget, a shared machine buys fewer simulations."""
    if share is None:
        return ""
    return (f" Its {processes} process(es) got {share:.0%} of their cores (median over generations)"
            + (": other work shared the machine, so the time budget bought fewer simulations than on a quiet "
               "one (run fits alone)." if share < SHARED_CORES else "."))


def _posterior_generation(fit, min_ess: float) -> str:
    """Which generation the posterior is, when a later one collapsed below ``min_ess`` and is not used."""
    if fit.posterior_generation == len(fit.ess) - 1:
        return ""
    t = fit.posterior_generation
    later = ", ".join(f"{e:.0f}" for e in fit.ess[t + 1:])
    return (f" **The posterior is generation {t}** (threshold {fit.epsilons[t]:.3g}, ESS {fit.ess[t]:.0f}): the "
            f"generation(s) after it fell below `min_ess` ({min_ess:g}; ESS {later}) and are not used.")


def _markdown(cfg, fit, command, table, ptable, check_s) -> str:
    cal = cfg.calibration
    pct = percent(cfg.outcomes.interval)
    stocks = table[(table["kind"] == "stock") & table["sim_median"].notna()]
    fstocks = stocks[stocks["role"] == "fitted"]
    scale_note = (f" Simulated at {cal.scale:g} of the region's population, counts scaled back up "
                  "(see the README's calibration section for the accuracy of this shortcut)." if cal.scale != 1 else "")
    lines = [
        f"# Calibration of {cfg.region.label}" + (f" — backtest with cut-off {cal.cutoff}" if cal.cutoff else ""),
        "",
        f"Reproduce: `{command}`",
        "",
        f"ABC-SMC (pyabc) with {cal.particles} particles: {fit.generations} generation(s), "
        f"{fit.evaluations:,} simulations in {fit.wall_seconds / 60:.1f} min on {cal.processes} process(es)"
        f"{' (resumed)' if fit.resumed else ''}; stopped: {fit.stop_reason}. Distance threshold by generation "
        f"(0 = every fitted figure within its tolerance"
        f"{', widened by the sampling noise of the fit scale' if cal.band_scale_noise else ''}): "
        f"{', '.join(f'{e:.3g}' for e in fit.epsilons)}."
        f" Effective sample size of each generation's weights (of {cal.particles}; a handful means the "
        f"posterior rests on a few particles): {', '.join(f'{e:.0f}' for e in fit.ess)}."
        + _posterior_generation(fit, cal.min_ess) + core_share_note(fit.core_share, cal.processes),
        "",
        f"Check: {cal.check_replications} posterior-predictive runs ({check_s:.0f} s), replication k with "
        f"posterior draw k as `sim run` does, to {cfg.end_year}.{scale_note} "
        f"Reported stock figures (fitted or compared) inside the simulated {pct}% interval (or, for a figure quoted "
        f"rounded, reaching the range its quote allows): "
        f"**{int(stocks['in_interval'].sum())} of {len(stocks)}** (fitted: {int(fstocks['in_interval'].sum())} of "
        f"{len(fstocks)}); simulated median within 10% of the figure: "
        f"**{int((stocks['rel_error'].abs() <= 0.10).sum())} of {len(stocks)}** "
        f"(fitted: {int((fstocks['rel_error'].abs() <= 0.10).sum())} of {len(fstocks)}).",
        "",
        "## Reported figures",
        "",
        *targets_markdown(table, cfg.outcomes.interval),
        "",
        "Roles: *fitted* figures enter the distance; *validate* figures are only compared; *held out* "
        "figures are dated after a backtest cut-off; *dropped* have weight 0. Model reading: the column of "
        "the run's timeseries and the quarter(s) it is read at.",
        "",
        "![tier counts](fit_tiers.png)",
        "",
        "![each figure](fit_targets.png)",
        "",
    ]
    if cal.cutoff:
        lines += ["## Backtest", "", *backtest_markdown(table, cal.cutoff, cfg.outcomes.interval), ""]
    lines += [
        "## Fitted parameters",
        "",
        f"Every other uncertainty stays at its value in configs/uncertainties/{cfg.region.name}.yaml. Width "
        f"ratio: posterior {pct}% width / prior {pct}% width, on the prior's scale (log10 for log priors): "
        "below 0.5 the data pin the parameter down; near 1 they say little and its prior range is carried "
        "into every run's interval.",
        "",
        *parameters_markdown(ptable, cfg.outcomes.interval),
        "",
        "![parameters](parameters.png)",
        "",
    ]
    return "\n".join(lines)



def backtest_markdown(table: pd.DataFrame, cutoff, interval: float) -> list[str]:
    s = score(table)
    pct = percent(interval)
    if not s["held_out"]:
        return [f"No reported figure is dated after the cut-off {cutoff}: nothing to forecast."]
    lines = [
        f"Fitted only figures dated up to **{cutoff}**; forecast the {s['held_out']} later figure(s) "
        f"({s['readable']} with a model reading):",
        "",
        f"- inside the forecast {pct}% interval: **{s['in_interval']} of {s['readable']}**",
        f"- forecast median within the figure's tolerance: **{s['in_tolerance']} of {s['readable']}**",
        f"- median absolute relative error of the forecast median: **{s['median_abs_rel_error']:.1%}** "
        f"(worst {s['max_abs_rel_error']:.1%})",
        "",
        f"| held-out figure | date | reported | forecast median [{pct}%] | rel. error |",
        "|---|---|---|---|---|",
    ]
    for _, r in table[table["role"] == "held out"].iterrows():
        lines.append(f"| `{r['id']}` | {r['date']} | {r['reported']:,.0f} | {r['sim_median']:,.0f} "
                     f"[{r['sim_low']:,.0f}–{r['sim_high']:,.0f}] | {r['rel_error']:+.1%} |")
    return lines


def _region_value(v: float) -> str:
    """A fitted parameter's value in the region file; NaN is one the file leaves unset (drawn per run)."""
    return "unset (drawn)" if np.isnan(v) else f"{v:.4g}"
