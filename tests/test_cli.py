"""The CLI end to end on a small configuration: outputs present and readable; bad input stops with
one line and writes nothing."""

import json
import subprocess
import sys

import pandas as pd
import pytest

SMALL = ["~region.entries_per_year", "+region.entries_per_year={2018:400}", "region.initial_firms=1500",
         "region.initial_srdi=60", "end_year=2021", "outcomes.report_years=[2020,2021]"]


def sim(args, cwd):
    return subprocess.run([sys.executable, "-m", "sim", "run", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_run_writes_readable_outputs(tmp_path):
    r = sim([*SMALL, "+scenario=finance_boost", "replications=3", "seed=7"], tmp_path)
    assert r.returncode == 0, r.stderr
    (run_dir,) = list((tmp_path / "results" / "runs").iterdir())
    assert run_dir.name.endswith("_chongqing_finance_boost")
    done = json.loads((run_dir / "COMPLETE").read_text())
    for name in done["files"]:
        assert (run_dir / name).stat().st_size > 0
    for png in ("tier_counts.png", "flows.png", "fiscal_cost.png"):
        assert (run_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ts = pd.read_csv(run_dir / "timeseries.csv")
    assert sorted(ts["replication"].unique()) == [0, 1, 2]
    assert len(ts) == 3 * 4 * 4  # replications x years x quarters
    assert {"n_T3", "n_T2plus", "recognised_T3", "lost_review_T2", "spend_interest_subsidy"} <= set(ts.columns)
    summary = pd.read_csv(run_dir / "summary.csv")
    assert set(summary["year"]) == {2020, 2021}
    assert (summary["low"] <= summary["median"]).all() and (summary["median"] <= summary["high"]).all()
    assert "Little giants" in (run_dir / "summary.md").read_text()
    cfg = (run_dir / "config.yaml").read_text()
    assert "scenario: finance_boost" in cfg and "interest_subsidy: 0.01" in cfg


def test_two_runs_never_share_a_directory(tmp_path):
    for _ in range(2):
        assert sim([*SMALL, "end_year=2018", "outcomes.report_years=[2018]"], tmp_path).returncode == 0
    assert len(list((tmp_path / "results" / "runs").iterdir())) == 2


@pytest.mark.parametrize(
    "override, expected",
    [
        ("policy.loans.interest_subsidy=-1", "policy.loans.interest_subsidy"),
        ("policy.chain_leaders.orders_openness=1.5", "policy.chain_leaders.orders_openness"),
        ("+policy.typo=1", "policy.typo: unknown key"),
        ("policy.review.validity_years=three", "policy.review.validity_years"),
        ("+scenario=nope", "unknown scenario 'nope': allowed are baseline"),
        ("region=mars", "unknown region 'mars': allowed are chongqing, national"),
    ],
)
def test_bad_input_one_line_nothing_written(tmp_path, override, expected):
    r = sim([override], tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert not any(tmp_path.iterdir())


def test_help_lists_scenarios(tmp_path):
    r = sim(["--help"], tmp_path)
    assert r.returncode == 0
    assert "full_package" in r.stdout and "chain_leader_open" in r.stdout
