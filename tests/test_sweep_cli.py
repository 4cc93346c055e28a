"""What a user sees at the command line: `python -m sim run -m ...` ends with a comparison in the sweep
directory, `python -m sim compare DIR` rebuilds exactly the same files, and bad input is one line.

One tiny real sweep with the default launcher (joblib, 2 workers), run from a temporary working
directory: configs are found next to the package, results/ is written relative to the cwd.
"""

from __future__ import annotations

import filecmp
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.__main__ import main

OVERRIDES = ["+scenario=baseline,finance_boost", "replications=2", "end_year=2020", "outcomes.report_years=[2019,2020]",
             "progress=false"]
CHARTS = {"outcomes_by_package.png", "difference_from_reference.png", "cost_vs_extra_giants.png",
          "tier_counts_by_package.png", "fiscal_cost_by_package.png", "acceptability.png", "who_gains.png"}


def sim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "MPLBACKEND": "Agg"})


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("work")
    r = sim("run", "-m", *OVERRIDES, cwd=cwd)
    assert r.returncode == 0, r.stderr[-3000:]
    return cwd


@pytest.fixture(scope="module")
def sweep(workdir) -> Path:
    (d,) = (workdir / "results" / "sweeps").iterdir()
    return d


def test_multirun_writes_the_comparison_into_the_sweep_dir(sweep):
    assert sorted(p.name for p in sweep.iterdir() if not p.name.startswith(".")) == [
        "0_baseline", "1_finance_boost", "comparison", "multirun.yaml", "planned_jobs.json"]
    out = sweep / "comparison"
    names = {p.name for p in out.iterdir()}
    assert {"comparison.csv", "ranking.csv", "comparison.md", "report.html"} | CHARTS <= names
    for png in CHARTS:
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "report.html").read_text()
    # opens offline: every chart inline, nothing fetched from anywhere
    assert page.count('src="data:image/png;base64,') == len(CHARTS)
    assert "http://" not in page and "https://" not in page and "<link" not in page and "<script" not in page
    assert "Ranking by extra little giants at 2020" in page
    md = (out / "comparison.md").read_text()
    assert "| 1 | " in md and "finance_boost" in md and "Reference: job 0_baseline" in md


def test_compare_rebuilds_identical_files(sweep, tmp_path):
    saved = tmp_path / "saved"
    shutil.copytree(sweep / "comparison", saved)
    shutil.rmtree(sweep / "comparison")
    r = sim("compare", str(sweep), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Ranking by extra little giants at 2020" in r.stdout
    match, mismatch, errors = filecmp.cmpfiles(saved, sweep / "comparison", [p.name for p in saved.iterdir()],
                                               shallow=False)
    assert not mismatch and not errors, (mismatch, errors)
    assert {"comparison.csv", "comparison.md", "report.html"} <= set(match)


def _one_line_error(r: subprocess.CompletedProcess, *fragments: str) -> None:
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sim: compare: "), r.stderr
    assert "Traceback" not in r.stderr
    for f in fragments:
        assert f in lines[0]


def test_bad_paths_are_one_line_errors(sweep, tmp_path):
    _one_line_error(sim("compare", str(tmp_path / "nope"), cwd=tmp_path), "no such directory")
    assert not (tmp_path / "nope").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_line_error(sim("compare", str(empty), cwd=tmp_path), "no job directories found")
    assert list(empty.iterdir()) == []
    _one_line_error(sim("compare", str(sweep / "0_baseline"), cwd=tmp_path), "is a single run, not a sweep")
    _one_line_error(sim("compare", str(sweep), "--baseline", "9_nope", cwd=tmp_path),
                    "no such job; allowed are 0_baseline, 1_finance_boost")
    _one_line_error(sim("compare", cwd=tmp_path), "required: sweep_dir")


def test_usage_lists_compare(capsys):
    assert main([]) == 2
    assert "compare" in capsys.readouterr().out


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # parent package missing
        return False


@pytest.mark.skipif(not installed("hydra_plugins.hydra_submitit_launcher"),
                    reason="hydra-submitit-launcher not installed (optional extra: pip install -e '.[slurm]')")
def test_submitit_launcher_gives_the_same_outputs(sweep, tmp_path):
    """The SLURM launcher's local mode runs the same jobs to byte-identical results."""
    r = sim("run", "-m", *OVERRIDES, "hydra/launcher=submitit_local", f"hydra.sweep.dir={tmp_path / 's'}",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    for job in ("0_baseline", "1_finance_boost"):
        assert (tmp_path / "s" / job / "yearly.csv").read_bytes() == (sweep / job / "yearly.csv").read_bytes()
    assert (tmp_path / "s" / "comparison" / "comparison.csv").read_bytes() == \
        (sweep / "comparison" / "comparison.csv").read_bytes()
