"""Same config and seed, same numbers: whoever launches the run, and whatever ran before it.

Analysts cite these files, so the data outputs (CSVs and summary.md) of a configuration must be
byte-identical whether it runs alone, as a job of a sweep on Hydra's basic launcher (sequential,
in-process) or on the joblib launcher with two worker processes (which reuse their interpreter
between jobs). Replications draw independent streams spawned from the seed with numpy's
SeedSequence and never touch global random state.
"""

from __future__ import annotations

import os
import random
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import DATA_FILES, REPO, SHORT, data_outputs, job_dirs, sim_cmd
from sim.commands.run import compose_job
from sim.experiment.store import is_complete
from sim.experiment.runner import replication_seeds, run_one, run_replications

SCENARIOS = ("baseline", "finance_boost")
ADOPTED = "policy.adopt_from=2019Q1"  # inside the short runs, so the two scenarios differ

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """Each scenario alone (seed 0), and as jobs of a sweep over two seeds on the basic launcher
    and on joblib with 2 workers: seed 0 comes second, so those jobs run in a process that has
    already run another job (joblib reuses its workers, basic runs all jobs in one process).
    The four commands are independent and run at the same time to keep the test short."""
    root = tmp_path_factory.mktemp("repro")
    commands = {f"alone_{s}": ["run", f"+scenario={s}", *SHORT, ADOPTED, f"hydra.run.dir=alone_{s}"] for s in SCENARIOS}
    sweep = ["run", "-m", f"+scenario={','.join(SCENARIOS)}", "seed=7,0", *SHORT, ADOPTED]
    commands["basic"] = [*sweep, "hydra/launcher=basic", "hydra.sweep.dir=basic"]
    commands["joblib"] = [*sweep, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweep.dir=joblib"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = {k: subprocess.Popen(sim_cmd(*args), cwd=root, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True) for k, args in commands.items()}
    for name, p in procs.items():
        _, err = p.communicate(timeout=900)
        assert p.returncode == 0, (name, err[-3000:])
    return root


def _runs(root):
    """scenario -> {launcher -> run dir}"""
    basic, joblib = job_dirs(root / "basic"), job_dirs(root / "joblib")
    out = {}
    for i, s in enumerate(SCENARIOS):  # jobs: (s0, seed 7), (s0, seed 0), (s1, seed 7), (s1, seed 0)
        name = f"{2 * i + 1}_{s}"
        out[s] = {"alone": root / f"alone_{s}", "basic": basic[name], "joblib": joblib[name]}
    return out


def test_data_outputs_identical_alone_basic_and_joblib(launched):
    runs = _runs(launched)
    for s, by in runs.items():
        assert all(is_complete(d) for d in by.values()), by
        alone = data_outputs(by["alone"])
        assert set(DATA_FILES) <= set(alone)
        assert pd.read_csv(by["alone"] / "timeseries.csv")["replication"].nunique() == 2
        for launcher in ("basic", "joblib"):
            other = data_outputs(by[launcher])
            assert sorted(other) == sorted(alone), (s, launcher)
            for name in alone:
                assert other[name] == alone[name], (s, launcher, name)
            assert (by[launcher] / "config.yaml").read_bytes() == (by["alone"] / "config.yaml").read_bytes()
    # the two scenarios differ (the comparison above could not pass by comparing empty files)
    yearly = [data_outputs(runs[s]["alone"])["yearly.csv"] for s in SCENARIOS]
    assert yearly[0] != yearly[1]


def test_charts_and_comparison_identical_across_launchers(launched):
    """PNG charts need not be byte-identical, but they are (no timestamps, same fonts); the
    sweep comparison (if the compare step exists) is identical on both launchers."""
    runs = _runs(launched)
    pngs = {}
    for s, by in runs.items():
        for name in ("tier_counts.png", "flows.png", "fiscal_cost.png"):
            pngs[(s, name)] = len({(d / name).read_bytes() for d in by.values()}) == 1
    print(f"\nPNG byte-identical across alone/basic/joblib: {pngs}")
    assert all(pngs.values()), pngs
    cmp_basic, cmp_joblib = launched / "basic" / "comparison", launched / "joblib" / "comparison"
    if not cmp_basic.is_dir():
        pytest.skip("no sweep comparison step in this tree")
    tables = sorted(p.name for p in cmp_basic.iterdir() if p.suffix == ".csv")  # the .md names its sweep
    assert tables, list(cmp_basic.iterdir())
    for name in tables:
        assert (cmp_basic / name).read_bytes() == (cmp_joblib / name).read_bytes(), name


# ------------------------------------------------------------------------------ in-process
@pytest.fixture(scope="module")
def cfg():
    return compose_job(["+scenario=finance_boost", *SHORT, "replications=3", "seed=42"])


def test_replication_k_is_child_k_of_the_seed(cfg):
    """Replication k runs on child k of SeedSequence(seed) (with posterior draw k when a calibrated
    posterior is in use), so it is the same history whether the run has 2 or 3 replications, and
    replications differ from each other."""
    from sim.experiment.posterior import replication_parameters

    three = run_replications(cfg, progress=False)
    two = run_replications(cfg.model_copy(update={"replications": 2}), progress=False)
    seeds = replication_seeds(cfg.seed, 3)
    cfgs, _ = replication_parameters(cfg, seeds)
    for k, ss in enumerate(seeds):
        rep = three[three["replication"] == k].drop(columns="replication").reset_index(drop=True)
        pd.testing.assert_frame_equal(rep, run_one(cfgs[k], ss), check_exact=True)
        if k < 2:
            pd.testing.assert_frame_equal(rep, two[two["replication"] == k].drop(columns="replication")
                                          .reset_index(drop=True), check_exact=True)
    reps = [three[three["replication"] == k]["n_T2plus"].to_numpy() for k in range(3)]
    assert not np.array_equal(reps[0], reps[1]) and not np.array_equal(reps[1], reps[2])


def test_global_random_state_is_neither_used_nor_changed(cfg):
    """joblib reuses worker processes, so a run must not depend on, or disturb, global state."""
    outputs, states = [], []
    for global_seed in (1, 2):
        np.random.seed(global_seed)
        random.seed(global_seed)
        before = (np.random.get_state()[1].copy(), random.getstate())
        outputs.append(run_replications(cfg.model_copy(update={"replications": 2}), progress=False))
        after = (np.random.get_state()[1], random.getstate())
        states.append(np.array_equal(before[0], after[0]) and before[1] == after[1])
    pd.testing.assert_frame_equal(outputs[0], outputs[1], check_exact=True)
    assert all(states), "a run drew from numpy's or Python's global random state"


def test_another_seed_gives_another_history(cfg):
    a = run_one(cfg, replication_seeds(cfg.seed, 1)[0])
    b = run_one(cfg, replication_seeds(cfg.seed + 1, 1)[0])
    assert not a.equals(b)
