"""Everything a run leaves behind: its data files, a one-page summary, its charts; ``COMPLETE`` last."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from sim.analysis.run_tables import summary_indicators, summary_table, yearly
from sim.core.outcomes import fmt, percent
from sim.core.schema import REST, SimConfig, value_of
from sim.experiment.posterior import provenance
from sim.experiment.store import clear_unfinished, hold, write_complete, write_config, write_csv, write_text
from sim.presentation import run_charts


def summary_markdown(table: pd.DataFrame, cfg: SimConfig, params: pd.DataFrame | None = None) -> str:
    pct = percent(cfg.outcomes.interval)
    years = sorted(table["year"].unique())
    lines = [
        f"# {cfg.region.label} — {cfg.scenario}",
        "",
        f"{cfg.scenario_title}",
        "",
        f"{cfg.start_year}–{cfg.end_year}, quarterly; {cfg.replications} replication(s), seed {cfg.seed}. "
        f"Cells: median [{pct}% interval] across replications.",
        "",
        provenance(cfg),
        "",
        "| indicator | " + " | ".join(str(y) for y in years) + " |",
        "|---|" + "---|" * len(years),
    ]
    for ind in summary_indicators(cfg):
        sub = table[table["indicator"] == ind.id].set_index("year")
        cells = []
        for y in years:
            if y not in sub.index:
                cells.append("–")
                continue
            r = sub.loc[y]
            u = ind.unit
            cells.append(fmt(r["median"], unit=u) if cfg.replications == 1 else
                         f"{fmt(r['median'], unit=u)} [{fmt(r['low'], unit=u)}–{fmt(r['high'], unit=u)}]")
        lines.append(f"| {ind.label} | " + " | ".join(cells) + " |")
    lines += ["", "Tiers count firms holding at least that tier, as officials report them "
              "(SRDI SMEs include little giants). Money in million yuan. Little giants are won in MIIT's "
              f"national batch ({_batch_note(cfg, params)}); MIIT counts titles, its batches less those lost "
              "at review (a little giant that failed stays counted until its batch's review); review pass "
              "rates are shares of the titles due.", ""]
    scale = cfg.region.population_scale
    if scale != 1.0:
        lines += [f"Simulated on {scale:.0%} of the region's firms (region.population_scale={scale:g}): counts and "
                  f"money are of that sample, about {1 / scale:.3g} times smaller than the region's; the charts "
                  "scale the reported figures to it.", ""]
    return "\n".join(lines)


def _batch_note(cfg: SimConfig, params: pd.DataFrame | None) -> str:
    if cfg.region.areas:
        return "every region's nominees compete for a fixed number of titles" + _push_note(cfg, params)
    if params is not None and "bar_draw" in params:
        how = ("fitted with each replication's particle" if "national_bar_quantile" in params
               and params["national_bar_quantile"].notna().all() else "drawn")
        note = f"a nominee passes when its merit clears the year's national bar, {how} from the calibrated national model"
        return note + _bar_shift_note(cfg, params)
    return f"no calibrated national model: the bar is the assumed {cfg.miit.fallback_bar:g} points"


def _ran_with(cfg: SimConfig, params: pd.DataFrame | None, name: str) -> pd.Series:
    """An uncertainty's value in each replication: its column of the run's parameters when drawn
    from the posterior, else the config's one value."""
    if params is not None and name in params:
        return params[name]
    return pd.Series([value_of(cfg.uncertainties.model_dump(), name)])


def _push_note(cfg: SimConfig, params: pd.DataFrame | None) -> str:
    """The points each area's nominees stand above the rest of China's (``area_push_points``), when any."""
    parts = []
    for a in (a for a in cfg.region.area_names if a != REST):
        push = _ran_with(cfg, params, f"area_push_points.{a}")
        if push.abs().gt(0).any():
            parts.append(f"{a} {push.median():+.1f}")
    if not parts:
        return ""
    return (f"; from {cfg.uncertainties.area_push_from} on, nominees' merit against the rest of China's "
            f"(`uncertainties.area_push_points`, median points across replications): {', '.join(parts)}")


def _bar_shift_note(cfg: SimConfig, params: pd.DataFrame) -> str:
    """The points the run's bar stands above the national fit's (``national_bar_shift_points``), when any."""
    shift = _ran_with(cfg, params, "national_bar_shift_points")
    if not shift.abs().gt(0).any():
        return ""
    lo, mid, hi = shift.quantile([0.05, 0.5, 0.95])
    size = f"{mid:+.1f} points" + ("" if lo == hi else f" [{lo:+.1f} to {hi:+.1f}] across replications")
    return (f", raised by {size} from {cfg.uncertainties.national_bar_shift_from} on "
            "(`uncertainties.national_bar_shift_points`: provinces whose nominees surged, which the national model "
            "holds as one area)")


def write_run(out_dir: Path, cfg: SimConfig, quarterly: pd.DataFrame, charts: bool = True,
              equal_cost: tuple[pd.DataFrame, dict] | None = None) -> None:
    """The run's files (config, quarterly and yearly series, summary, the parameters each
    replication ran with, charts; the package at equal cost in ``equal_cost/`` when it was run so),
    then ``COMPLETE`` with their checksums; all while holding the directory's lock (already held by
    ``sim run``; taken here for any other caller)."""
    out_dir = Path(out_dir)
    with hold(out_dir, " ".join(sys.argv)):
        _write_run(out_dir, cfg, quarterly, charts, equal_cost)


def _write_run(out_dir: Path, cfg: SimConfig, quarterly: pd.DataFrame, charts: bool,
               equal_cost: tuple[pd.DataFrame, dict] | None) -> None:
    clear_unfinished(out_dir)
    params = quarterly.attrs.get("parameters")
    reviews = quarterly.attrs.get("reviews")
    quarterly = quarterly.copy(deep=False)
    quarterly.attrs = {}  # pandas compares attrs when it joins frames, and a DataFrame there cannot be
    year_df = yearly(quarterly)
    table = summary_table(year_df, cfg)
    write_config(out_dir, cfg)
    write_csv(out_dir / "timeseries.csv", quarterly)
    write_csv(out_dir / "yearly.csv", year_df)
    write_csv(out_dir / "summary.csv", table)
    write_text(out_dir / "summary.md", summary_markdown(table, cfg, params))
    files = ["config.yaml", "timeseries.csv", "yearly.csv", "summary.csv", "summary.md"]
    if params is not None:  # which (calibrated) parameters each replication ran with; see sim.experiment.runner
        write_csv(out_dir / "parameters.csv", params)
        files.append("parameters.csv")
    if reviews is not None:  # little-giant reviews by year and cohort (year of the firm's first batch)
        write_csv(out_dir / "reviews.csv", reviews)
        files.append("reviews.csv")
    if charts:
        files += run_charts.run_charts(out_dir, cfg, quarterly, year_df)
    if equal_cost is not None:
        files += _write_equal_cost(out_dir, *equal_cost)
    write_complete(out_dir, files)


def _write_equal_cost(out_dir: Path, quarterly: pd.DataFrame, info: dict) -> list[str]:
    """The package scaled to the equal-cost envelope: its yearly series and what scaling it took."""
    quarterly = quarterly.copy(deep=False)
    quarterly.attrs = {}
    write_csv(out_dir / "equal_cost" / "yearly.csv", yearly(quarterly))
    write_text(out_dir / "equal_cost" / "info.json", json.dumps(info, indent=1) + "\n")
    return ["equal_cost/yearly.csv", "equal_cost/info.json"]
