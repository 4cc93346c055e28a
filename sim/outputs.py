"""Tidy outputs of a run: quarterly and yearly series, a summary of key indicators, atomic writes.

Every file is written to a temporary name in the same directory, flushed to disk and renamed into
place, so a crash never leaves a half-written file under its real name; ``COMPLETE`` is written last
and marks a finished run directory. Only ``COMPLETE`` says a directory is finished: Hydra's own files
(``.hydra/``, the job log) are written before the job starts, not atomically, and are not results.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.config import SimConfig

COMPLETE = "COMPLETE"
TMP_SUFFIX = ".tmp"
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FLOAT_FORMAT = "%.6g"

# (column, label, kind): stocks are read at the end of the year, flows summed over it
INDICATORS: list[tuple[str, str, str]] = [
    ("n_firms", "Firms in the SME pool", "stock"),
    ("n_T1plus", "Innovative SMEs (T1 and above)", "stock"),
    ("n_T2plus", "SRDI SMEs (T2 and above)", "stock"),
    ("n_T3", "Little giants (T3)", "stock"),
    ("n_high_tech", "High-tech enterprises", "stock"),
    ("recognised_T3", "New little giants in the year", "flow"),
    ("recognised_T2", "New SRDI SMEs in the year", "flow"),
    ("lost_review", "Titles lost at review in the year", "flow"),
    ("failed", "Firm failures in the year", "flow"),
    ("spend_total", "Fiscal spending in the year (M yuan)", "flow"),
    ("cum_spend_total", "Fiscal spending since start (M yuan)", "stock"),
]


def _atomic(path: Path, write: Callable[[str], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are for everyone to read
        with open(tmp, "rb") as fh:  # on disk before the rename, so a power cut cannot leave it empty
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path: Path, text: str) -> None:
    def w(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    _atomic(Path(path), w)


def write_csv(path: Path, df: pd.DataFrame) -> None:
    _atomic(Path(path), lambda tmp: df.to_csv(tmp, index=False, float_format=FLOAT_FORMAT, lineterminator="\n"))


def save_figure(path: Path, fig) -> None:
    _atomic(Path(path), lambda tmp: fig.savefig(tmp, format="png", dpi=130, bbox_inches="tight",
                                                metadata={"Software": None}))


def stock_columns(df: pd.DataFrame) -> list[str]:
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


def band(values: pd.Series | np.ndarray, interval: float) -> tuple[float, float, float]:
    """Median and the central ``interval`` range (e.g. 5th-95th percentiles for 0.9)."""
    v = np.asarray(values, dtype=float)
    lo, hi = (1 - interval) / 2, 1 - (1 - interval) / 2
    return float(np.median(v)), float(np.quantile(v, lo)), float(np.quantile(v, hi))


def summary_table(year_df: pd.DataFrame, cfg: SimConfig) -> pd.DataFrame:
    rows = []
    for col, label, kind in INDICATORS:
        for y in cfg.outcomes.report_years:
            v = year_df.loc[year_df["year"] == y, col]
            if v.empty:
                continue
            med, lo, hi = band(v, cfg.outcomes.interval)
            rows.append({"indicator": col, "label": label, "kind": kind, "year": y,
                         "median": med, "low": lo, "high": hi, "replications": len(v)})
    return pd.DataFrame(rows)


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"


def summary_markdown(table: pd.DataFrame, cfg: SimConfig) -> str:
    pct = int(round(cfg.outcomes.interval * 100))
    years = sorted(table["year"].unique())
    lines = [
        f"# {cfg.region.label} — {cfg.scenario}",
        "",
        f"{cfg.scenario_title}",
        "",
        f"{cfg.start_year}–{cfg.end_year}, quarterly; {cfg.replications} replication(s), seed {cfg.seed}. "
        f"Cells: median [{pct}% interval] across replications.",
        "",
        "| indicator | " + " | ".join(str(y) for y in years) + " |",
        "|---|" + "---|" * len(years),
    ]
    for col, label, _ in INDICATORS:
        sub = table[table["indicator"] == col].set_index("year")
        cells = []
        for y in years:
            if y not in sub.index:
                cells.append("–")
                continue
            r = sub.loc[y]
            cells.append(_fmt(r["median"]) if cfg.replications == 1 else
                         f"{_fmt(r['median'])} [{_fmt(r['low'])}–{_fmt(r['high'])}]")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Tiers count firms holding at least that tier, as officials report them "
              "(SRDI SMEs include little giants). Money in million yuan.", ""]
    return "\n".join(lines)


def write_run(out_dir: Path, cfg: SimConfig, quarterly: pd.DataFrame, charts: bool = True) -> None:
    """Everything a run leaves behind; ``COMPLETE`` last."""
    out_dir = Path(out_dir)
    (out_dir / COMPLETE).unlink(missing_ok=True)
    for stale in out_dir.glob(f".*{TMP_SUFFIX}"):  # left by a run killed while writing
        stale.unlink(missing_ok=True)
    params = quarterly.attrs.get("parameters")
    quarterly = quarterly.copy(deep=False)
    quarterly.attrs = {}  # pandas compares attrs when it joins frames, and a DataFrame there cannot be
    year_df = yearly(quarterly)
    table = summary_table(year_df, cfg)
    write_text(out_dir / "config.yaml", yaml.safe_dump(config_record(cfg), sort_keys=False, allow_unicode=True))
    write_csv(out_dir / "timeseries.csv", quarterly)
    write_csv(out_dir / "yearly.csv", year_df)
    write_csv(out_dir / "summary.csv", table)
    write_text(out_dir / "summary.md", summary_markdown(table, cfg))
    files = ["config.yaml", "timeseries.csv", "yearly.csv", "summary.csv", "summary.md"]
    if params is not None:  # which (calibrated) parameters each replication ran with; see sim.runner
        write_csv(out_dir / "parameters.csv", params)
        files.append("parameters.csv")
    if charts:
        from sim import charts as ch

        files += ch.run_charts(out_dir, cfg, quarterly, year_df)
    digests = {name: hashlib.sha256((out_dir / name).read_bytes()).hexdigest() for name in files}
    write_text(out_dir / COMPLETE, json.dumps({"files": files, "sha256": digests}, indent=1) + "\n")


def is_complete(run_dir: Path) -> bool:
    """A run directory is finished only when its COMPLETE marker (written last) is there and every
    file it lists exists; anything else is an unfinished directory, whatever else it holds."""
    try:
        files = json.loads((Path(run_dir) / COMPLETE).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return all((Path(run_dir) / name).is_file() for name in files)


# settings that change how a run is shown or launched, never its results
NOT_RESULTS = ("progress",)


def config_record(cfg: SimConfig) -> dict:
    """The config as saved in a run's config.yaml (``resume`` is excluded by the schema)."""
    return cfg.model_dump(mode="json")


def _first_difference(old, new, key: str = "") -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for k in list(old) + [k for k in new if k not in old]:
            if k not in old or k not in new:
                return f"{key}{k}: {'only in the new config' if k in new else 'only in the saved one'}"
            diff = _first_difference(old[k], new[k], f"{key}{k}.")
            if diff:
                return diff
        return ""
    return "" if old == new else f"{key.rstrip('.')}: {old!r} there, {new!r} now"


def config_difference(run_dir: Path, cfg: SimConfig) -> str:
    """'' when ``run_dir/config.yaml`` records the same run as ``cfg``, else the first difference."""
    try:
        saved = yaml.safe_load((Path(run_dir) / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return f"config.yaml unreadable: {exc.__class__.__name__}"
    new = yaml.safe_load(yaml.safe_dump(config_record(cfg), sort_keys=False, allow_unicode=True))
    if not isinstance(saved, dict):
        return "config.yaml is not a mapping"
    for k in NOT_RESULTS:
        saved.pop(k, None)
        new.pop(k, None)
    return _first_difference(saved, new)
