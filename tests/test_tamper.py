"""Checksums are read: a finished directory is trusted only while every file its COMPLETE marker
lists still has the SHA-256 recorded there. A changed file is named in one line; compare leaves that
job out and lists it as tampered (never ranks it); a run or a resume refuses to reuse or overwrite
it; a COMPLETE that is not what sim writes is damage, never a crash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import SHORT, run_sim
from sim.experiment.store import COMPLETE, verify, write_complete

SWEEP = ["run", "-m", "+scenario=baseline,finance_boost", *SHORT, "hydra/launcher=basic", "hydra.sweep.dir=sweep"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("finished")
    r = run_sim(SWEEP, cwd)
    assert r.returncode == 0, r.stderr[-3000:]
    return cwd / "sweep"


@pytest.fixture
def copy(finished, tmp_path) -> Path:
    shutil.copytree(finished, tmp_path / "sweep")
    return tmp_path / "sweep"


def state(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def one_line(r, code: int = 2) -> str:
    lines = r.stderr.strip().splitlines()
    assert r.returncode == code and len(lines) == 1 and lines[0].startswith("sim: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def inflate_little_giants(job: Path) -> None:
    """What the issue did: n_T3 x 1000 in a finished job's yearly.csv."""
    y = pd.read_csv(job / "yearly.csv")
    y["n_T3"] *= 1000
    y.to_csv(job / "yearly.csv", index=False)


def test_verify_tells_finished_unfinished_damaged_and_tampered(finished, tmp_path):
    job = tmp_path / "job"
    shutil.copytree(finished / "1_finance_boost", job)
    assert verify(job).finished
    inflate_little_giants(job)
    v = verify(job)
    assert v.state == "tampered" and v.file == job / "yearly.csv" and "changed after the run finished" in v.message()
    write_complete(job, json.loads((job / COMPLETE).read_text())["files"])  # sealed again: trusted again
    assert verify(job).finished
    (job / "flows.png").unlink()
    assert verify(job).state == "damaged" and verify(job).file == job / "flows.png"
    for marker in ["hello", "[]", '{"files": [1]}', '{"files": ["../escape"], "sha256": {}}',
                   '{"files": ["yearly.csv"]}', "\xff\xfe"]:
        (job / COMPLETE).write_bytes(marker.encode("latin-1"))
        v = verify(job)
        assert v.state == "damaged" and "not a COMPLETE marker sim writes" in v.message(), marker
    (job / COMPLETE).unlink()
    (job / COMPLETE).mkdir()
    assert verify(job).state == "damaged"
    (job / COMPLETE).rmdir()
    assert verify(job).state == "unfinished"


def test_compare_leaves_a_tampered_job_out_names_the_file_and_lists_it(copy):
    inflate_little_giants(copy / "1_finance_boost")
    r = run_sim(["compare", str(copy)], copy.parent)
    line = one_line(r, code=0)
    assert "1_finance_boost/yearly.csv: changed after the run finished" in line and "left out" in line, line
    assert "finance_boost" not in set(pd.read_csv(copy / "comparison" / "ranking.csv").astype(str).stack())
    assert set(pd.read_csv(copy / "comparison" / "comparison.csv")["job"]) == {"0_baseline"}
    md = (copy / "comparison" / "comparison.md").read_text()
    assert "| 1_finance_boost | finance_boost |  | skipped: tampered: yearly.csv changed after the job finished" in md


@pytest.mark.parametrize("extra", [["resume=true"], []])
def test_a_run_never_reuses_or_overwrites_a_tampered_job(copy, extra):
    inflate_little_giants(copy / "1_finance_boost")
    before = state(copy)
    line = one_line(run_sim([*SWEEP, *extra], copy.parent))
    assert "sweep/1_finance_boost/yearly.csv: changed after the run finished" in line, line
    assert "restore the file, or delete the directory to run it again" in line
    assert state(copy) == before


@pytest.mark.parametrize("marker", ["not json at all", '{"files": [1, 2]}', '{"sha256": {}}'])
def test_a_complete_marker_sim_did_not_write_is_damage_not_a_crash(copy, marker):
    (copy / "0_baseline" / COMPLETE).write_text(marker)
    before = state(copy)
    line = one_line(run_sim([*SWEEP, "resume=true"], copy.parent))
    assert "sweep/0_baseline/COMPLETE: not a COMPLETE marker sim writes" in line, line
    assert state(copy) == before
    r = run_sim(["compare", str(copy)], copy.parent)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    md = (copy / "comparison" / "comparison.md").read_text()
    assert "| 0_baseline | baseline |  | skipped: damaged: COMPLETE: not a COMPLETE marker sim writes" in md


def test_resume_still_skips_untouched_finished_jobs(copy):
    stamps = {j: (copy / j / COMPLETE).stat().st_mtime_ns for j in ("0_baseline", "1_finance_boost")}
    r = run_sim([*SWEEP, "resume=true"], copy.parent)
    assert r.returncode == 0, r.stderr[-2000:]
    assert {j: (copy / j / COMPLETE).stat().st_mtime_ns for j in stamps} == stamps


def test_a_file_where_the_comparison_goes_is_one_line_for_compare(copy):
    shutil.rmtree(copy / "comparison")
    (copy / "comparison").write_text("not a directory\n")
    before = state(copy)
    line = one_line(run_sim(["compare", str(copy)], copy.parent))
    assert line.startswith("sim: compare: ") and "sweep/comparison: is in the way of the comparison" in line
    assert state(copy) == before
