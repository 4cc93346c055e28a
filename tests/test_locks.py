"""One writer per directory: a run, a sweep or a comparison writes a directory only while it holds
that directory's OS-level lock, which dies with its process; anyone else is refused in one line that
names the holder (pid, host, command, start time), with nothing written.

A helper process takes the lock (``sim.experiment.store.hold``) and waits, standing in for a
long sweep; real `python -m sim` commands are then pointed at the locked directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, SHORT, run_sim
from sim.core.errors import InputError
from sim.experiment.store import HOLDER, LOCK, held_by_another, hold

ENV = {**os.environ, "PYTHONPATH": str(REPO)}
HOLD = ("import sys, time; from pathlib import Path; from sim.experiment.store import hold\n"
        "with hold(Path(sys.argv[1]), 'python -m sim run -m +scenario=baseline hydra.sweep.dir=elsewhere'):\n"
        "    print('held', flush=True); time.sleep(600)\n")


def files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and directory under ``root`` with its size and modification time."""
    return {str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.fixture
def holder(tmp_path):
    """Start a process holding the lock of a directory; yields a function taking the directory."""
    procs = []

    def start(directory: Path) -> subprocess.Popen:
        p = subprocess.Popen([sys.executable, "-c", HOLD, str(directory)], env=ENV, stdout=subprocess.PIPE,
                             text=True, start_new_session=True)
        assert p.stdout.readline().strip() == "held"
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.kill()
        p.wait()


def assert_refused_by_holder(r: subprocess.CompletedProcess, directory: str, pid: int) -> None:
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    line = lines[0]
    assert line.startswith("sim: ") and directory in line and "another sim process is writing here" in line, line
    assert f"pid {pid} on " in line and "python -m sim run -m +scenario=baseline" in line and "since 20" in line, line


def test_the_lock_names_its_holder_and_dies_with_it(tmp_path, holder):
    d = tmp_path / "sweep"
    p = holder(d)
    assert (d / LOCK).is_file() and (d / HOLDER).is_file()
    assert f"pid {p.pid}" in held_by_another(d)
    with pytest.raises(InputError, match=f"another sim process is writing here \\(pid {p.pid} on "):
        with hold(d, "test"):
            pass
    os.killpg(p.pid, signal.SIGKILL)  # however the holder ends, the OS releases its lock
    p.wait()
    deadline = time.monotonic() + 10
    while held_by_another(d) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert held_by_another(d) is None
    with hold(d, "test"):
        with hold(d, "test, again"):  # re-entrant within a process
            assert held_by_another(d) is None  # not another: this process holds it
        assert (d / HOLDER).is_file()
    assert not (d / HOLDER).exists() and (d / LOCK).is_file()  # the lock file stays: same inode for everyone


def test_a_run_into_a_locked_directory_is_refused_and_writes_nothing(tmp_path, holder):
    d = tmp_path / "run"
    p = holder(d)
    before = files(tmp_path)
    r = run_sim(["run", *SHORT, f"hydra.run.dir={d}"], tmp_path)
    assert_refused_by_holder(r, str(d), p.pid)
    assert files(tmp_path) == before


def test_a_sweep_into_a_locked_sweep_or_inside_it_is_refused(tmp_path, holder):
    d = tmp_path / "sweep"
    p = holder(d)
    before = files(tmp_path)
    r = run_sim(["run", "-m", "+scenario=baseline,finance_boost", *SHORT, f"hydra.sweep.dir={d}"], tmp_path)
    assert_refused_by_holder(r, str(d), p.pid)
    # a single run into what would be one of its jobs, and a sweep nested inside it
    r = run_sim(["run", "+scenario=baseline", *SHORT, f"hydra.run.dir={d / '0_baseline'}"], tmp_path)
    assert_refused_by_holder(r, str(d), p.pid)
    r = run_sim(["run", "-m", "+scenario=baseline", *SHORT, f"hydra.sweep.dir={d / 'inner'}"], tmp_path)
    assert_refused_by_holder(r, str(d), p.pid)
    assert files(tmp_path) == before


def test_a_sweep_refuses_when_one_of_its_job_dirs_is_being_written(tmp_path, holder):
    """E.g. a single run started earlier with hydra.run.dir=SWEEP/1_finance_boost."""
    job = tmp_path / "sweep" / "1_finance_boost"
    p = holder(job)
    before = files(tmp_path)
    r = run_sim(["run", "-m", "+scenario=baseline,finance_boost", *SHORT, f"hydra.sweep.dir={tmp_path / 'sweep'}"],
                tmp_path)
    assert_refused_by_holder(r, str(job), p.pid)
    assert files(tmp_path) == before


def test_compare_refuses_while_the_sweep_is_written(tmp_path, holder):
    d = tmp_path / "sweep"
    (d / "0_baseline" / ".hydra").mkdir(parents=True)
    p = holder(d)
    before = files(tmp_path)
    r = run_sim(["compare", str(d)], tmp_path)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("sim: compare: "), r.stderr
    assert "another sim process is writing here" in lines[0] and f"pid {p.pid} on " in lines[0]
    assert files(tmp_path) == before
