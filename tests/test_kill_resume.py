"""No lost or half-written results: a sweep killed at random moments, then resumed, ends exactly
as if it had never been interrupted.

A real `python -m sim run -m ...` (default joblib launcher, two workers) is killed with SIGKILL,
with its whole process group, at random moments while its jobs run. After every kill each job
directory must be either complete (COMPLETE marker, every listed file present with the recorded
checksum, data identical to an uninterrupted sweep) or recognisably incomplete (no COMPLETE; any
file under its final name is already whole, because every write is temp-file-then-rename). The
same command with `resume=true` then skips the finished jobs (their files are untouched), runs the
rest, and every job's data and the sweep comparison equal those of the uninterrupted sweep.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import DATA_FILES, REPO, SHORT, data_outputs, job_dirs, run_sim, sim_cmd
from sim.experiment.store import COMPLETE, TMP_SUFFIX, is_complete

SCENARIOS = "baseline,finance_boost,strict_review,full_package"
SWEEP = ["run", "-m", f"+scenario={SCENARIOS}", *SHORT]
KILLS = 4
RNG = random.Random(20240606)  # the "random" moments are reproducible from run to run
SEEN = collections.Counter()
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _start(cwd: Path, sweep_dir: str, resume: bool) -> subprocess.Popen:
    args = [*SWEEP, f"hydra.sweep.dir={sweep_dir}", *(["resume=true"] if resume else [])]
    return subprocess.Popen(sim_cmd(*args), cwd=cwd, env=ENV, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_group(p: subprocess.Popen) -> None:
    """SIGKILL the sweep and its worker processes (one process group), and wait until all are gone."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait(timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(p.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError("processes of the killed sweep are still alive")


def _jobs_started(sweep: Path, since: float) -> int:
    """Unfinished jobs this run has started (Hydra writes a job's .hydra/ just before it runs)."""
    marks = sweep.glob("*_*/.hydra/overrides.yaml") if sweep.is_dir() else []
    return sum(1 for m in marks if m.stat().st_mtime >= since and not is_complete(m.parent.parent))


def _jobs_done(sweep: Path) -> int:
    return sum(1 for d in sweep.glob("*_*") if is_complete(d)) if sweep.is_dir() else 0


def _check_state(sweep: Path, reference: dict[str, Path]) -> dict[str, str]:
    """Every job dir is complete and right, or recognisably incomplete; returns name -> state."""
    states = {}
    for name, ref in reference.items():
        d = sweep / name
        if is_complete(d):
            marker = json.loads((d / COMPLETE).read_text())
            for f in marker["files"]:
                assert hashlib.sha256((d / f).read_bytes()).hexdigest() == marker["sha256"][f], (d, f)
            assert data_outputs(d) == data_outputs(ref) and set(DATA_FILES) <= set(data_outputs(d)), d
            assert (d / "config.yaml").read_bytes() == (ref / "config.yaml").read_bytes()
            states[name] = "complete"
        else:
            assert not (d / COMPLETE).exists(), f"{d}: a COMPLETE marker that does not check out"
            present = {**data_outputs(d), **({"config.yaml": (d / "config.yaml").read_bytes()}
                                             if (d / "config.yaml").exists() else {})} if d.exists() else {}
            for f, content in present.items():  # atomic writes: a file under its real name is whole
                assert content == (ref / f).read_bytes(), (d, f)
            states[name] = "incomplete" if d.exists() else "not started"
    return states


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted sweep, and how long it took."""
    root = tmp_path_factory.mktemp("uninterrupted")
    t0, t_wall = time.monotonic(), time.time()
    r = run_sim([*SWEEP, "hydra.sweep.dir=sweep"], root)
    assert r.returncode == 0, r.stderr[-3000:]
    jobs = job_dirs(root / "sweep")
    assert len(jobs) == 4 and all(is_complete(d) for d in jobs.values())
    times = [(d / COMPLETE).stat().st_mtime - (d / ".hydra" / "overrides.yaml").stat().st_mtime for d in jobs.values()]
    job_time = sum(times) / len(times)
    startup = min((d / ".hydra" / "overrides.yaml").stat().st_mtime for d in jobs.values()) - t_wall
    return root / "sweep", jobs, time.monotonic() - t0, job_time, startup


@pytest.mark.slow
def test_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path, reference):
    ref_sweep, ref_jobs, duration, job_time, startup = reference
    sweep = tmp_path / "sweep"
    history = []
    # kill 0 hits the plain command while its first jobs run; kill 1 a resumed run during its
    # start-up and pre-flight; kills 2 and 3 resumed runs while later jobs run
    for i, phase in enumerate(["jobs", "start-up", "jobs", "jobs"][:KILLS]):
        started = time.time() - 0.05
        p = _start(tmp_path, "sweep", resume=i > 0)  # the first is the plain command
        if phase == "start-up":
            time.sleep(RNG.uniform(0.0, startup))
        else:  # once a random number of jobs are done (2 at most: 4 jobs on 2 workers), mid-job
            target = RNG.randint(min(_jobs_done(sweep), 2), 2)
            deadline = time.monotonic() + 300
            while (not _jobs_started(sweep, started) or _jobs_done(sweep) < target) and p.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(RNG.uniform(0.0, 0.7 * job_time))
        finished = p.poll() is not None
        _kill_group(p)
        states = _check_state(sweep, ref_jobs)
        history.append((finished, states))
        SEEN["kills"] += not finished
        SEEN["runs finished before their kill"] += finished
        for s in states.values():
            SEEN[f"job dirs {s} after a kill"] += 1
    print(f"\nkill/resume (start-up {startup:.1f} s, a job {job_time:.1f} s, sweep {duration:.1f} s): {dict(SEEN)}")
    for i, h in enumerate(history):
        print(f"  kill {i}: {h}")
    assert SEEN["kills"] >= KILLS - 1, history
    assert SEEN["job dirs incomplete after a kill"] >= 1, history  # some kills hit a job mid-way

    done_before = {n: (sweep / n / COMPLETE).stat() for n in ref_jobs if is_complete(sweep / n)}
    r = run_sim([*SWEEP, "hydra.sweep.dir=sweep", "resume=true"], tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert set(_check_state(sweep, ref_jobs).values()) == {"complete"}
    for n, st in done_before.items():  # finished jobs were skipped, not redone
        now = (sweep / n / COMPLETE).stat()
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), n
    assert not list(sweep.rglob(f".*{TMP_SUFFIX}")), "temporary files left behind"
    print(f"  final resume skipped {len(done_before)} finished job(s) of 4")

    if (ref_sweep / "comparison").is_dir():  # the sweep comparison (sim compare) equals too
        tables = sorted(p.name for p in (ref_sweep / "comparison").glob("*.csv"))
        assert tables
        for name in tables:
            assert (sweep / "comparison" / name).read_bytes() == (ref_sweep / "comparison" / name).read_bytes(), name


def test_resume_refuses_a_finished_dir_of_another_config(tmp_path, reference):
    """A finished job directory is never silently reused, nor overwritten, with another config."""
    ref_sweep, ref_jobs, *_ = reference
    import shutil

    shutil.copytree(ref_sweep, tmp_path / "sweep")
    before = {p: p.read_bytes() for p in (tmp_path / "sweep").rglob("*") if p.is_file()}
    for extra in (["resume=true", "seed=1"], ["policy.loans.credit_supply=2"]):
        r = run_sim([*SWEEP, "hydra.sweep.dir=sweep", *extra], tmp_path)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1, r.stderr
        assert "sweep/0_baseline: already holds a finished run of a different config" in lines[0], lines[0]
        assert ("seed: 0 there, 1 now" if "seed=1" in extra else "credit_supply") in lines[0], lines[0]
    after = {p: p.read_bytes() for p in (tmp_path / "sweep").rglob("*") if p.is_file()}
    assert after == before


def test_resume_needs_a_fixed_directory(tmp_path):
    r = run_sim([*SWEEP, "resume=true"], tmp_path)
    assert r.returncode == 2 and "resume=true needs the directory to resume: add hydra.sweep.dir=DIR" in r.stderr
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------------------ the writers themselves
def test_a_process_killed_mid_write_leaves_no_file_under_its_name(tmp_path):
    """SIGKILL a process while it writes a large file through sim.outputs: the real name never
    holds a partial file (the old content survives), and the next write_run sweeps the debris."""
    target = tmp_path / "timeseries.csv"
    target.write_text("old, whole\n")
    code = ("import sys; from pathlib import Path; from sim.experiment.store import write_text; "
            "write_text(Path(sys.argv[1]), 'x' * 200_000_000)")
    p = subprocess.Popen([sys.executable, "-c", code, str(target)], env=ENV, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(t.stat().st_size > 0 for t in tmp_path.glob(f".*{TMP_SUFFIX}")):
        assert p.poll() is None, "the writer finished before it could be killed"
        time.sleep(0.01)
    _kill_group(p)
    assert target.read_text() == "old, whole\n"
    assert list(tmp_path.glob(f".timeseries.csv.*{TMP_SUFFIX}")), "expected the killed write's temp file"
    from sim.commands.run import compose_job
    from sim.presentation.run_report import write_run
    from sim.experiment.runner import run_replications

    cfg = compose_job(["end_year=2018", "outcomes.report_years=[2018]", "region.initial_firms=300",
                       "region.initial_srdi=10", "progress=false"])
    write_run(tmp_path, cfg, run_replications(cfg), charts=False)
    assert is_complete(tmp_path) and not list(tmp_path.glob(f".*{TMP_SUFFIX}"))
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())  # readable like any file


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_complete_is_written_last_and_checked(tmp_path, monkeypatch):
    """A crash while charting leaves no COMPLETE; a listed file gone makes a dir incomplete."""
    from sim.commands.run import compose_job
    from sim.experiment.runner import run_replications
    from sim.presentation import run_charts as charts
    from sim.presentation.run_report import write_run

    cfg = compose_job(["end_year=2018", "outcomes.report_years=[2018]", "region.initial_firms=300",
                       "region.initial_srdi=10", "progress=false"])
    quarterly = run_replications(cfg)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # what Ctrl-C does halfway through the charts

    monkeypatch.setattr(charts, "run_charts", crash)
    with pytest.raises(KeyboardInterrupt):
        write_run(tmp_path, cfg, quarterly)
    assert (tmp_path / "timeseries.csv").exists() and not is_complete(tmp_path)
    monkeypatch.undo()
    write_run(tmp_path, cfg, quarterly)
    assert is_complete(tmp_path)
    (tmp_path / "flows.png").unlink()
    assert not is_complete(tmp_path)
