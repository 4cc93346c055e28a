"""Where the extra little giants are: by cluster and chain-leader link (who gains), by area of the
national model, along a swept lever (dose-response); and the sensitivity analysis' files, when a
``python -m sim sensitivity`` run has left them in the sweep directory.

Every difference is paired as in ``sim.analysis.paired``: replication k of a package minus
replication k of its reference, on the replications both have.
"""

from __future__ import annotations

import json

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.paired import Comparison, paired_delta
from sim.analysis.sweep import Job, varying_keys
from sim.core.outcomes import GROUP_STOCKS, band

SENSITIVITY_DIR = "sensitivity"
GROUP_COLUMNS = ["job", "package", "reference", "group", "group_label", "indicator", "year", "value", "low",
                 "high", "mean", "pairs"]


def stock_delta(c: Comparison, j: Job, cols: list[str]) -> pd.DataFrame | None:
    """Package minus reference of yearly.csv's ``cols`` per (replication, year), on the replications
    the comparison paired; None when a column is missing from either job."""
    ref = c.reference_of(j)
    if j is ref or j.name not in c.deltas or any(col not in x.yearly.columns for x in (j, ref) for col in cols):
        return None
    reps = list(c.deltas[j.name].index.get_level_values("replication").unique())
    a, b = (x.yearly.set_index(["replication", "year"])[cols] for x in (j, ref))
    return paired_delta(a, b, reps)


def _band_rows(c: Comparison, j: Job, d: pd.DataFrame, groups: list[tuple[str, str, str, str]]) -> list[dict]:
    """(group, group label, indicator, column) -> median, interval and mean at the ranking and last year."""
    rows = []
    for y in dict.fromkeys((c.rank_year, c.last_year)):
        dy = d.xs(y, level="year")
        for group, label, ind, col in groups:
            v = dy[col].to_numpy(float)
            med, lo, hi = band(v, c.interval)
            rows.append({"job": j.name, "package": j.label, "reference": c.reference_of(j).name, "group": group,
                         "group_label": label, "indicator": ind, "year": y, "value": med, "low": lo, "high": hi,
                         "mean": float(v.mean()), "pairs": len(v)})
    return rows


# ---------------------------------------------------------------------------------- who gains
def group_names(config: dict) -> list[tuple[str, str]]:
    """(column suffix, label) of the who-gains groups: each cluster, then chain-leader suppliers or not."""
    clusters = [(f"cl{k}", str(cl.get("name", f"cluster {k}"))) for k, cl in enumerate(config["region"].get("clusters", []))]
    return clusters + [("linked", "Suppliers of a chain leader"), ("unlinked", "Not linked to a chain leader")]


def who_gains(c: Comparison) -> pd.DataFrame | None:
    """Extra little giants and SRDI SMEs by cluster and by chain-leader link, per package (tidy), or
    None when the jobs' yearly series lack the per-group columns."""
    rows = []
    for j in c.ok_jobs:
        groups = [(g, label, base, f"{base}_{g}") for base in GROUP_STOCKS for g, label in group_names(j.config)]
        d = stock_delta(c, j, [g[3] for g in groups])
        if d is not None:
            rows += _band_rows(c, j, d, groups)
    return pd.DataFrame(rows, columns=GROUP_COLUMNS) if rows else None


# -------------------------------------------------------------------------------------- areas
@dataclass
class Areas:
    table: pd.DataFrame  # GROUP_COLUMNS; group = area name, or "nation"
    areas: list[tuple[str, str]]  # (name, label) in the region's order
    nationwide: list[str]  # labels of packages adopted nationwide
    focus: list[str]  # labels of the areas that adopt a package alone (adopted_by=region)


def areas(c: Comparison) -> Areas | None:
    """Extra little giants by area of the national model and for the nation, or None outside it."""
    first = c.ok_jobs[0].config["region"]
    named = [(str(a["name"]), str(a.get("label", a["name"]))) for a in first.get("areas") or []]
    if not named:
        return None
    rows = []
    groups = [(name, label, "n_T3", f"n_T3__{name}") for name, label in named] + [("nation", "Nation", "n_T3", "n_T3")]
    for j in c.ok_jobs:
        d = stock_delta(c, j, [g[3] for g in groups])
        if d is not None:
            rows += _band_rows(c, j, d, groups)
    packages = [j for j in c.ok_jobs if c.reference_of(j) is not j]
    nationwide = [j.label for j in packages if j.config["policy"].get("adopted_by") == "nationwide"]
    labels = dict(named)
    focus = sorted({labels.get(str(j.config["region"].get("focus")), str(j.config["region"].get("focus")))
                    for j in packages if j.config["policy"].get("adopted_by") != "nationwide"
                    and j.config["region"].get("focus")})
    return Areas(pd.DataFrame(rows, columns=GROUP_COLUMNS), named, nationwide, focus)


# ------------------------------------------------------------------------------ dose-response
@dataclass
class Dose:
    key: str  # the swept lever, e.g. policy.loans.interest_subsidy
    table: pd.DataFrame  # one row per job: value, is_reference, extra giants and extra cost (median, interval)


def _lever_value(config: dict, key: str):
    node = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def dose_response(c: Comparison) -> Dose | None:
    """When the sweep varies exactly one numeric policy lever (one package, one reference), extra
    little giants and extra cost since adoption at the ranking year against the lever's value."""
    ok = c.ok_jobs
    keys = varying_keys(ok)
    if len(ok) < 2 or len(keys) != 1 or not keys[0].startswith("policy.") or len({j.scenario for j in ok}) > 1 \
            or len(c.distinct_refs()) > 1:
        return None
    values = [_lever_value(j.config, keys[0]) for j in ok]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return None
    rows = []
    for j, v in zip(ok, values):
        row = {"job": j.name, "package": j.label, "value": float(v), "is_reference": c.reference_of(j) is j,
               "year": c.rank_year}
        d = c.deltas.get(j.name)
        if d is None and not row["is_reference"]:
            continue  # not paired with the reference
        for name, col in (("extra_giants", "n_T3"), ("extra_cost", "spend_total_cum")):
            x = d.xs(c.rank_year, level="year")[col].to_numpy(float) if d is not None else np.zeros(1)
            row[name], row[f"{name}_low"], row[f"{name}_high"] = band(x, c.interval)
        rows.append(row)
    return Dose(keys[0], pd.DataFrame(rows).sort_values("value", kind="stable").reset_index(drop=True))


# ------------------------------------------------------------------------------- sensitivity
@dataclass
class Sensitivity:
    tornado: Path | None  # <sweep>/sensitivity/tornado.png
    summary: pd.DataFrame | None  # <sweep>/sensitivity/summary.csv
    problem: str = ""
    info: dict | None = None  # <sweep>/sensitivity/info.json: command, measure, factors, runs, seconds


def sensitivity(sweep_dir: Path) -> Sensitivity:
    """The sensitivity analysis' chart and table, as ``python -m sim sensitivity`` leaves them."""
    d = Path(sweep_dir) / SENSITIVITY_DIR
    png = d / "tornado.png"
    summary, problem = None, ""
    if (d / "summary.csv").is_file():
        try:
            summary = pd.read_csv(d / "summary.csv")
        except Exception as exc:
            problem = f"{SENSITIVITY_DIR}/summary.csv unreadable ({type(exc).__name__})"
    info = None
    if (d / "info.json").is_file():
        try:
            info = json.loads((d / "info.json").read_text(encoding="utf-8"))
        except Exception as exc:
            problem = problem or f"{SENSITIVITY_DIR}/info.json unreadable ({type(exc).__name__})"
    return Sensitivity(png if png.is_file() else None, summary, problem, info)
