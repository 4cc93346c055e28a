"""The sweep comparison says what an analyst will quote: paired differences that are exactly the
per-replication differences of the jobs' own yearly.csv, a named reference, honest cost per extra
little giant, and unfinished or unpaired jobs stated rather than crashed on or silently mixed in.

Runs two tiny real sweeps (Chongqing, 2018-2021, packages adopted from 2019, a few replications) with
Hydra's basic launcher.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.analysis.paired import build, cost_per_extra
from sim.presentation.comparison_report import write_comparison
from sim.core.errors import InputError
from sim.core.outcomes import fmt
from sim.presentation.cells import cell
from sim.experiment.store import write_complete

YEARS = [2020, 2021]
INTERVAL = 0.9
ADOPTED = 2019  # policy.adopt_from=2019Q1: cumulative figures count from here


def _sweep(cwd: Path, name: str, *overrides: str) -> Path:
    sweep_dir = cwd / name
    cmd = [sys.executable, "-m", "sim", "run", "-m", *overrides, "end_year=2021",
           f"outcomes.report_years=[{','.join(map(str, YEARS))}]", f"policy.adopt_from={ADOPTED}Q1",
           f"outcomes.rank_year={YEARS[-1]}", "progress=false", "hydra/launcher=basic",
           f"hydra.sweep.dir={sweep_dir}"]
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    assert r.returncode == 0, r.stderr[-3000:]
    return sweep_dir


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """baseline and finance_boost, 3 replications each; the callback has written comparison/."""
    return _sweep(tmp_path_factory.mktemp("cmp"), "packages", "+scenario=baseline,finance_boost", "replications=3")


@pytest.fixture(scope="module")
def lever_sweep(tmp_path_factory) -> Path:
    """A lever sweep with no status-quo job: finance_boost at two interest subsidies."""
    return _sweep(tmp_path_factory.mktemp("lever"), "lever", "+scenario=finance_boost",
                  "policy.loans.interest_subsidy=0,0.02", "replications=2")


def _cum(y: pd.DataFrame, col: str) -> pd.Series:
    """Summed from the adoption year, as the comparison counts costs and flows."""
    y = y.sort_values(["replication", "year"])
    y = y.assign(v=y[col].where(y["year"] >= ADOPTED, 0))
    return y.assign(v=y.groupby("replication")["v"].cumsum()).set_index(["replication", "year"])["v"]


def _hand(sweep: Path) -> dict[str, pd.DataFrame]:
    return {j: pd.read_csv(sweep / j / "yearly.csv") for j in ("0_baseline", "1_finance_boost")}


def _table(sweep: Path) -> pd.DataFrame:
    return pd.read_csv(sweep / "comparison" / "comparison.csv")


@pytest.mark.parametrize("indicator", ["n_T3", "n_T2plus", "n_T1plus", "spend_total_cum", "spend_interest_subsidy_cum",
                                       "lost_review_cum", "failed_cum"])
def test_paired_differences_are_the_per_replication_differences(sweep, indicator):
    y = _hand(sweep)
    t = _table(sweep)
    for year in YEARS:
        if indicator.endswith("_cum"):
            col = indicator.removesuffix("_cum")
            a, b = _cum(y["1_finance_boost"], col), _cum(y["0_baseline"], col)
        else:
            a = y["1_finance_boost"].set_index(["replication", "year"])[indicator]
            b = y["0_baseline"].set_index(["replication", "year"])[indicator]
        d = (a - b).xs(year, level="year").to_numpy()  # replication k minus replication k
        assert len(d) == 3
        row = t[(t.job == "1_finance_boost") & (t.measure == "difference") & (t.indicator == indicator)
                & (t.year == year)]
        assert len(row) == 1
        row = row.iloc[0]
        assert row["reference"] == "0_baseline" and row["pairs"] == 3
        assert row["value"] == pytest.approx(np.median(d), rel=1e-5, abs=1e-6)
        assert row["low"] == pytest.approx(np.quantile(d, 0.05), rel=1e-5, abs=1e-6)
        assert row["high"] == pytest.approx(np.quantile(d, 0.95), rel=1e-5, abs=1e-6)
        assert row["mean"] == pytest.approx(d.mean(), rel=1e-5, abs=1e-6)


def test_levels_are_quantiles_across_replications(sweep):
    y = _hand(sweep)["0_baseline"]
    t = _table(sweep)
    v = y.loc[y.year == 2021, "n_T3"].to_numpy()
    row = t[(t.job == "0_baseline") & (t.measure == "level") & (t.indicator == "n_T3") & (t.year == 2021)].iloc[0]
    assert (row["value"], row["low"], row["high"]) == pytest.approx(
        (np.median(v), np.quantile(v, 0.05), np.quantile(v, 0.95)), rel=1e-5)
    # a difference's interval is not the difference of the two levels' intervals: it comes from pairs
    assert not t[(t.measure == "difference") & (t.job == "0_baseline")].shape[0]


def test_cost_per_extra_little_giant_is_ratio_of_mean_differences(sweep):
    y = _hand(sweep)
    dc = (_cum(y["1_finance_boost"], "spend_total") - _cum(y["0_baseline"], "spend_total")).xs(2021, level="year")
    dg = (y["1_finance_boost"].set_index(["replication", "year"])["n_T3"]
          - y["0_baseline"].set_index(["replication", "year"])["n_T3"]).xs(2021, level="year")
    row = _table(sweep).query("measure == 'cost_per_extra' and year == 2021").iloc[0]
    if dg.mean() > 0:
        assert row["value"] == pytest.approx(dc.mean() / dg.mean(), rel=1e-5)
    else:
        assert np.isnan(row["value"]) and row["note"].startswith("n/a (no gain)")


def test_cost_per_extra_handles_no_gain_and_uncertain_gain():
    v, lo, hi, note = cost_per_extra(np.array([100.0, 120, 90]), np.array([0.0, -1, 0]), 0.9)
    assert np.isnan(v) and note == "n/a (no gain)"
    dc, dg = np.array([100.0, 110, 90, 100]), np.array([10.0, 11, 9, 10])
    v, lo, hi, note = cost_per_extra(dc, dg, 0.9)
    assert v == pytest.approx(10.0) and lo <= v <= hi and note == ""
    # the gain is positive on average but often not in a resample: no finite upper bound
    v, lo, hi, note = cost_per_extra(np.full(6, 50.0), np.array([8.0, -6, -5, 7, -4, 1]), 0.9)
    assert v == pytest.approx(50 / (1 / 6)) and np.isnan(hi) and "unbounded" in note
    v, _, _, note = cost_per_extra(np.array([-20.0, -10]), np.array([2.0, 3]), 0.9)
    assert v < 0 and "saves money" in note


def test_reference_is_the_status_quo_job(sweep):
    rk = pd.read_csv(sweep / "comparison" / "ranking.csv")
    assert set(rk["reference"]) == {"0_baseline"}
    assert rk.loc[rk.job == "0_baseline", "is_reference"].item()
    md = (sweep / "comparison" / "comparison.md").read_text()
    assert "Reference: job 0_baseline (Status quo), the job that runs the status-quo policy" in md
    assert "not against the status quo" not in md


def test_lever_sweep_without_status_quo_names_its_reference(lever_sweep):
    md = (lever_sweep / "comparison" / "comparison.md").read_text()
    assert ("**Differences in this report are against Finance boost, loans.interest_subsidy=0, not against the "
            "status quo.**") in md
    assert "no job in this sweep runs the status-quo policy" in md
    assert "| Finance boost, loans.interest_subsidy=0.02 |" in md
    c = build(lever_sweep, baseline="1")
    (ref,) = c.distinct_refs()
    assert ref.job.name == "1_finance_boost" and "--baseline" in ref.why
    assert set(c.table.loc[c.table.measure == "difference", "job"]) == {"0_finance_boost"}


def test_unfinished_and_never_started_jobs_are_listed_not_crashed_on(sweep, tmp_path):
    copy = tmp_path / "sweep"
    shutil.copytree(sweep, copy)
    shutil.rmtree(copy / "comparison")
    (copy / "1_finance_boost" / "COMPLETE").unlink()
    out, _ = write_comparison(copy)
    md = (out / "comparison.md").read_text()
    assert "| 1_finance_boost | finance_boost |  | skipped: no COMPLETE marker" in md  # unread: its id
    assert "1 finished job(s) of 2" in md
    assert set(pd.read_csv(out / "comparison.csv")["job"]) == {"0_baseline"}
    shutil.rmtree(copy / "1_finance_boost")
    md = (write_comparison(copy)[0] / "comparison.md").read_text()
    assert "skipped: never started" in md and "+scenario=finance_boost" in md


def _reseal(job_dir: Path) -> None:
    """A job edited on purpose, sealed again as if it had finished that way (else it is tampered)."""
    write_complete(job_dir, json.loads((job_dir / "COMPLETE").read_text())["files"])


def test_seed_and_replication_mismatches_are_reported(sweep, tmp_path):
    copy = tmp_path / "sweep"
    shutil.copytree(sweep, copy)
    cfg_path = copy / "1_finance_boost" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["seed"] = 5
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    _reseal(copy / "1_finance_boost")
    c = build(copy)
    assert any("seed 5 differs from the reference's seed 0" in n for n in c.notes)
    assert (c.table.loc[c.table.measure == "difference", "note"] == "not paired: different seed").all()

    shutil.rmtree(copy)
    shutil.copytree(sweep, copy)
    y = pd.read_csv(copy / "1_finance_boost" / "yearly.csv")
    y[y.replication < 2].to_csv(copy / "1_finance_boost" / "yearly.csv", index=False)
    _reseal(copy / "1_finance_boost")
    c = build(copy)
    diffs = c.table[c.table.measure == "difference"]
    assert (diffs["pairs"] == 2).all() and (diffs["note"] == "paired on 2 common replications").all()
    assert any("2 replications against the reference's 3" in n for n in c.notes)


def test_bad_year_and_baseline_are_one_line_errors(sweep):
    with pytest.raises(InputError, match=r"--year 2030: not a report year of this sweep; allowed are 2020, 2021"):
        build(sweep, year=2030)
    with pytest.raises(InputError, match=r"--baseline 'nope': no such job; allowed are 0_baseline, 1_finance_boost"):
        build(sweep, baseline="nope")


def test_levels_of_firms_are_whole_numbers_and_differences_keep_their_decimal():
    """A median of counts between two replications is not a count with a fraction: levels of firms or
    titles are shown whole; a paired difference of +0.5 little giants is a result and stays."""
    assert fmt(81.04, unit="firms") == "81" and fmt(73.8, unit="titles") == "74" and fmt(7.25) == "7.2"
    assert cell({"value": 81.0, "low": 73.8, "high": 88.2, "unit": "firms"}) == "81 [74–88]"
    assert cell({"value": 0.5, "low": -1.0, "high": 1.5, "unit": "firms"}, signed=True) == "+0.5 [−1.0 to +1.5]"
