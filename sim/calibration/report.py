"""Fit report: how the calibrated model reads each reported figure, and what the data pin down.

The numbers come from a posterior-predictive check: ``check_replications`` runs exactly as
`python -m sim run` makes them with ``calibration.use=posterior`` (replication k draws its own
particle), to the config's end year, so the report shows what a user of the calibration gets.
"""

from __future__ import annotations

import os
from multiprocessing import get_context
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.calibration import posterior as post_mod  # noqa: E402
from sim.calibration.driver import Bar, scaled_region  # noqa: E402
from sim.calibration.priors import bounds, sampling_space  # noqa: E402
from sim.calibration.targets import read_replications  # noqa: E402
from sim.config import Calibration, SimConfig  # noqa: E402
from sim.outputs import band, save_figure, write_csv  # noqa: E402
from sim.runner import replication_seeds, run_one  # noqa: E402

ROLE_STYLE = {"fitted": ("tab:blue", "fitted"), "held out": ("tab:orange", "held out (after the cut-off)"),
              "validate": ("tab:grey", "compared, not fitted"), "dropped": ("tab:grey", "dropped (weight 0)")}
UNSCALED = {"replication", "year", "quarter", "leaders_open_orders"}


# ------------------------------------------------------------------------- posterior predictive
def _one(args):
    cfg_k, ss = args
    return run_one(cfg_k, ss)


def predictive(cfg: SimConfig, post_file: Path, n: int, processes: int, scale: float,
               progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` replications of ``cfg`` drawing from the posterior file, as `sim run` would (on the
    scaled region when ``scale`` < 1, counts scaled back up). Returns (quarterly, parameters)."""
    run_cfg = cfg.model_copy(update={
        "replications": n, "progress": False,
        "calibration": Calibration(use="posterior", file=str(post_file)),
    })
    seeds = replication_seeds(cfg.seed, n)
    cfgs, params = post_mod.replication_parameters(run_cfg, seeds)
    if scale != 1.0:
        cfgs = [c.model_copy(update={"region": scaled_region(c.region, scale)}) for c in cfgs]
    jobs = list(zip(cfgs, seeds))
    bar = dict(total=n, desc="posterior-predictive check", unit="run", disable=not progress, leave=False)
    if processes > 1:
        with get_context("fork").Pool(min(processes, n)) as pool:
            frames = list(Bar(pool.imap(_one, jobs), **bar))
    else:
        frames = [run_one(c, s) for c, s in Bar(jobs, **bar)]
    for k, df in enumerate(frames):
        df.insert(0, "replication", k)
    q = pd.concat(frames, ignore_index=True)
    if scale != 1.0:
        cols = [c for c in q.columns if c not in UNSCALED]
        q[cols] = q[cols].astype(float) / scale
    return q, params


# ------------------------------------------------------------------------------------- tables
def target_table(targets: pd.DataFrame, quarterly: pd.DataFrame, interval: float) -> pd.DataFrame:
    sims = read_replications(quarterly, targets)
    rows = []
    for i, t in targets.iterrows():
        v = sims[:, i]
        ok = np.isfinite(v)
        med, lo, hi = band(v[ok], interval) if ok.any() else (np.nan, np.nan, np.nan)
        rel = (med - t["value"]) / t["value"]
        rows.append({
            "id": t["id"], "tier": t["tier"], "kind": t["kind"], "date": t["date"].date().isoformat(),
            "reported": t["value"], "tolerance": t["tolerance"], "role": t["role"], "weight": t["weight"],
            "model_reading": t["model_reading"], "sim_median": med, "sim_low": lo, "sim_high": hi,
            "rel_error": rel, "in_tolerance": bool(abs(rel) <= t["tolerance"]) if ok.any() else False,
            "in_interval": bool(lo <= t["value"] <= hi) if ok.any() else False,
        })
    return pd.DataFrame(rows)


def parameter_table(cfg: SimConfig, post: post_mod.Posterior, interval: float) -> pd.DataFrame:
    """Posterior vs prior per fitted parameter; width ratio in the space the prior is uniform on
    (log10 for log priors): near 1 the data say nothing about it, small means pinned down."""
    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    qlo, qmed, qhi = post.quantile(lo_q), post.median(), post.quantile(hi_q)
    rows = []
    for name, p in cfg.calibration.priors.items():
        a, b = bounds(p)
        s_lo, s_hi = sampling_space(p, np.array([qlo[name], qhi[name]]))
        ratio = (s_hi - s_lo) / (interval * (b - a))
        verdict = "pinned down" if ratio < 0.5 else "partly informed" if ratio < 0.8 else "not identified (prior)"
        rows.append({"parameter": name, "scale": p.scale, "prior_low": p.low, "prior_high": p.high,
                     "region_value": getattr(cfg.uncertainties, name), "post_median": qmed[name],
                     "post_low": qlo[name], "post_high": qhi[name], "width_ratio": ratio, "verdict": verdict})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------- charts
def targets_chart(table: pd.DataFrame, region_label: str, interval: float) -> plt.Figure:
    """Each figure: simulated / reported, median and interval, over the figure's tolerance band."""
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
    ax.set_yticklabels([f"{r['tier']} {r['kind']} {r['date'][:7]}: {r['reported']:,.0f}" for _, r in t.iterrows()],
                       fontsize=8)
    ax.set_xscale("log")
    lo = min(0.5, np.nanmin(t["sim_low"] / t["reported"]) * 0.9, np.nanmin(1 - t["tolerance"]) * 0.9)
    hi = max(2.0, np.nanmax(t["sim_high"] / t["reported"]) * 1.1, np.nanmax(1 + t["tolerance"]) * 1.1)
    ax.set_xlim(lo, hi)
    ticks = [v for v in (0.1, 0.2, 0.3, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 5, 10) if lo <= v <= hi]
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel(f"simulated / reported (dot: median, line: {int(round(interval * 100))}% interval)")
    ax.set_title(f"{region_label}: calibrated model against each reported figure", fontsize=10)
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
        rv = getattr(cfg.uncertainties, name)
        if rv > 0 or p.scale == "linear":
            ax.axvline(sampling_space(p, np.array([rv]))[0], color="black", lw=1, ls=":", label="region file value")
        ratio = table.set_index("parameter").loc[name, "width_ratio"]
        ax.set_title(f"{name}\nwidth ratio {ratio:.2f}", fontsize=8)
        ax.set_xlim(a, b)
        if p.scale == "log":
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{10 ** v:.3g}"))
            ax.set_xlabel("log scale", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False, fontsize=8)
    fig.suptitle(f"{cfg.region.label}: fitted parameters, posterior against prior "
                 "(width ratio = posterior / prior 90% width)", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    return fig


def tiers_chart(cfg: SimConfig, quarterly: pd.DataFrame, targets: pd.DataFrame, n: int) -> plt.Figure:
    """The run chart (sim.charts.tier_counts_chart) of the posterior-predictive runs, with figures
    held out of a backtest ringed."""
    from sim.charts import PANELS, TIER_COLUMN, figure_legend, tier_counts_chart

    ccfg = cfg.model_copy(update={"replications": n, "scenario": "calibrated baseline"})
    fig = tier_counts_chart(ccfg, quarterly, title_suffix=" (posterior-predictive check)")
    held = targets[(targets["role"] == "held out") & (targets["kind"] == "stock")]
    if len(held):
        for ax, (col, _) in zip(fig.axes, PANELS):
            sub = held[held["tier"].map(TIER_COLUMN) == col]
            if len(sub):
                ax.plot(sub["date"], sub["value"], "o", ms=12, mfc="none", mec="tab:orange", mew=1.6,
                        label="held out of the fit")
        figure_legend(fig, fig.axes, ncol=5)
    return fig


# ----------------------------------------------------------------------------------- markdown
def _n(x: float) -> str:
    if not np.isfinite(x):
        return "–"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def _pct(x: float) -> str:
    return f"{x:+.1%}" if np.isfinite(x) else "–"


def _yes(r, col: str) -> str:
    return "–" if not np.isfinite(r["sim_median"]) else "yes" if r[col] else "NO"


def targets_markdown(table: pd.DataFrame, interval: float) -> list[str]:
    pct = int(round(interval * 100))
    lines = [f"| figure | date | reported (tol.) | model reading | role | simulated median [{pct}%] | rel. error | in tol. | in {pct}% |",
             "|---|---|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        lines.append(
            f"| `{r['id']}` | {r['date']} | {_n(r['reported'])} (±{r['tolerance']:.0%}) | {r['model_reading']} | "
            f"{r['role']} | {_n(r['sim_median'])} [{_n(r['sim_low'])}–{_n(r['sim_high'])}] | "
            f"{_pct(r['rel_error'])} | {_yes(r, 'in_tolerance')} | {_yes(r, 'in_interval')} |")
    return lines


def parameters_markdown(ptable: pd.DataFrame, interval: float) -> list[str]:
    pct = int(round(interval * 100))
    lines = [f"| parameter | prior | region file | posterior median [{pct}%] | width ratio | verdict |",
             "|---|---|---|---|---|---|"]
    for _, r in ptable.iterrows():
        prior = f"{'log-' if r['scale'] == 'log' else ''}uniform {r['prior_low']:.4g}–{r['prior_high']:.4g}"
        lines.append(f"| `{r['parameter']}` | {prior} | {r['region_value']:.4g} | {r['post_median']:.4g} "
                     f"[{r['post_low']:.4g}–{r['post_high']:.4g}] | {r['width_ratio']:.2f} | {r['verdict']} |")
    return lines


def write_tables(out_dir: Path, table: pd.DataFrame, ptable: pd.DataFrame, params: pd.DataFrame) -> None:
    write_csv(out_dir / "targets.csv", table)
    write_csv(out_dir / "parameters.csv", ptable)
    write_csv(out_dir / "check_parameters.csv", params)


def save(out_dir: Path, name: str, fig: plt.Figure) -> str:
    save_figure(Path(out_dir) / name, fig)
    plt.close(fig)
    return name


def relpath(p: Path, start: Path) -> str:
    return os.path.relpath(p, start)
