"""Pre-flight: every job of a sweep is composed and checked before the first one starts, however
many there are, exactly as Hydra will compose it; where it would write is checked too (names that
lead outside the results directory, directories that cannot be made, two jobs in one directory),
and every failure is one line, exit 2, with nothing written."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from hydra import compose
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf, open_dict

from conftest import SHORT, run_sim
from sim.commands.jobs import hydra_context
from sim.commands.run import preflight
from sim.core.errors import InputError
from sim.experiment.store import is_complete

BASE = ["end_year=2019", "outcomes.report_years=[2019]", "progress=false"]


def refused(r, *fragments: str) -> str:
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("sim: "), r.stderr
    assert "Traceback" not in r.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# ---------------------------------------------------------------------------- every job checked
def test_a_bad_combination_in_job_90_of_120_stops_the_sweep_before_job_0(tmp_path):
    """Each value alone is valid in some job; only the combination (50 firms, 100 SRDI holders),
    from job 90 on, is not. Checking every value once (the old shortcut beyond 100 jobs) missed it."""
    seeds = ",".join(str(i) for i in range(30))
    r = run_sim(["run", "-m", "region.initial_firms=1000,50", "region.initial_srdi=10,100", f"seed={seeds}", *BASE,
                 "hydra/launcher=basic", "hydra.sweep.dir=big"], tmp_path)
    refused(r, "region.initial_srdi: must be at most initial_firms (50)", "(in sweep job 90:")
    assert listing(tmp_path) == []


def test_preflight_plans_every_job_and_pins_the_timestamped_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seeds = ",".join(str(i) for i in range(150))
    plan = preflight(["-m", "+scenario=baseline,finance_boost", f"seed={seeds}", *BASE])
    assert len(plan.jobs) == 300 and [j.num for j in plan.jobs] == list(range(300))
    assert {j.out_dir.parent for j in plan.jobs} == {plan.root} and plan.root.parent == Path("results/sweeps")
    assert plan.pins == [f"hydra.sweep.dir='{plan.root}'"]  # Hydra must not take another ${now:} later
    assert plan.jobs[299].cfg.seed == 149 and plan.jobs[299].cfg.scenario == "finance_boost"
    assert listing(tmp_path) == []


# ------------------------------------------------- the fast composition equals Hydra's own, job by job
GROUP_CHOICES = ["+scenario=finance_boost", "+scenario=strict_review", "region=national", "hydra/launcher=basic",
                 "policy=status_quo", "~policy"]
VALUES = ["seed=3", "seed=4", "replications=2", "policy.loans.credit_supply=2.5", "policy.loans.credit_supply=0.5",
          "outcomes.report_years=[2019,2020]", "end_year=2021", "~region.entries_per_year",
          "+region.entries_per_year={2018:400}", "region.initial_firms=900", "hydra.sweep.subdir=${scenario}",
          "hydra.job.config.override_dirname.exclude_keys=[seed]", "hydra.sweep.subdir=${hydra.job.override_dirname}",
          "+policy.typo=1", "policy.loans.nope=2", "uncertainties.failure_rate=0.08", "scenario_title=x",
          "'policy.review={validity_years: 4}'", "hydra.launcher.n_jobs=1"]


def _full(overrides: list[str], num: int):
    """Hydra's own composition of the job: the whole defaults tree, every time."""
    cfg = compose(config_name="config", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.job.num = num
    return cfg


def _view(cfg) -> dict:
    app = {k: v for k, v in OmegaConf.to_container(cfg, resolve=False).items() if k != "hydra"}
    h = cfg.hydra
    return {"app": app, "subdir": str(h.sweep.subdir), "run": OmegaConf.to_container(h.run, resolve=False),
            "task": list(h.overrides.task), "hydra": list(h.overrides.hydra), "dirname": h.job.override_dirname,
            "launcher": OmegaConf.to_container(h.launcher, resolve=True), "choices": dict(h.runtime.choices)}


def _outcome(fn):
    try:
        return _view(fn())
    except Exception as exc:  # the same error, whichever way the job is composed
        return type(exc).__name__


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(jobs=st.lists(st.lists(st.sampled_from(GROUP_CHOICES + VALUES), max_size=6), min_size=1, max_size=4))
def test_composing_each_tree_once_gives_what_hydra_gives_every_job(jobs):
    with hydra_context() as composer:
        for num, overrides in enumerate(jobs):
            assert _outcome(lambda: composer.compose(overrides, num)) == _outcome(lambda: _full(overrides, num)), overrides


# ------------------------------------------------------------------------------------- paths
@pytest.fixture
def scenarios(tmp_path):
    """A search path with user-written scenario files: one named like a path, one broken, one with a BOM."""
    d = tmp_path.parent / f"{tmp_path.name}-configs"
    (d / "scenario").mkdir(parents=True)
    (d / "scenario" / "evil.yaml").write_text("# @package _global_\nscenario: ../../../x\n")
    (d / "scenario" / "broken.yaml").write_text('# @package _global_\nscenario: "broken\nscenario_title: x\n')
    (d / "scenario" / "bom.yaml").write_bytes(b"\xef\xbb\xbf# @package _global_\nscenario: bom\n")
    return [f"hydra.searchpath=[file://{d}]"]


def test_a_scenario_named_like_a_path_writes_nowhere(tmp_path, scenarios):
    for extra in ([], ["-m"]):
        r = run_sim(["run", *extra, *scenarios, "+scenario=evil", *BASE], tmp_path)
        refused(r, "scenario: must be a plain name", "'../../../x'")
    r = run_sim(["run", *BASE, "hydra.job.name=../../x"], tmp_path)
    refused(r, "hydra.job.name: must be a plain name")
    assert listing(tmp_path) == [] and not (tmp_path.parent / "x.log").exists()


def test_a_directory_template_that_leads_outside_is_refused(tmp_path):
    r = run_sim(["run", *BASE, "hydra.run.dir=results/runs/${scenario_title}", "scenario_title=../../../elsewhere"],
                tmp_path)
    refused(r, "hydra.run.dir:", "is not inside results/runs/")
    r = run_sim(["run", "-m", "+scenario=baseline", *BASE, "hydra.sweep.dir=s", "hydra.sweep.subdir=../x"], tmp_path)
    refused(r, "hydra.sweep.subdir:", "is not inside s/")
    assert listing(tmp_path) == []


def test_yaml_problems_name_the_file_and_line(tmp_path, scenarios):
    line = refused(run_sim(["run", *scenarios, "+scenario=broken", *BASE], tmp_path),
                   "scenario/broken.yaml line 2: while scanning a quoted scalar")
    assert "found unexpected end of stream" in line
    refused(run_sim(["run", *scenarios, "+scenario=bom", *BASE], tmp_path),
            "scenario/bom.yaml line 1: starts with a byte-order mark")
    assert listing(tmp_path) == []


def _obstacles(root: Path) -> dict[str, str]:
    (root / "afile").write_text("in the way\n")
    os.symlink(root / "nowhere", root / "dangling")
    os.symlink(root / "loop", root / "loop")
    ro = Path("/sys/sim-test") if os.geteuid() == 0 else root / "readonly" / "x"  # root may write anywhere else
    if os.geteuid() != 0:
        (root / "readonly").mkdir()
        (root / "readonly").chmod(0o555)
    return {"afile/run": "it is a file", "dangling/run": "a symlink to nothing", "loop/run": "symbolic links",
            str(ro): "not" if os.geteuid() != 0 else "cannot create the output directory"}


def test_an_output_directory_that_cannot_be_made_is_one_line(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    cases = _obstacles(work)
    before = listing(work)
    for target, why in cases.items():
        refused(run_sim(["run", *BASE, f"hydra.run.dir={target}"], work), why)
        refused(run_sim(["run", "-m", "+scenario=baseline", *BASE, f"hydra.sweep.dir={target}"], work), why)
        assert listing(work) == before, target


def test_a_file_where_the_comparison_goes_is_refused_before_the_sweep(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "comparison").write_text("not a directory\n")
    r = run_sim(["run", "-m", "+scenario=baseline", *BASE, "hydra.sweep.dir=s"], tmp_path)
    refused(r, "s/comparison: is in the way of the sweep's comparison")
    assert listing(tmp_path) == ["s", "s/comparison"]


def test_experimental_rerun_reruns_into_its_own_directory(tmp_path):
    """Hydra's rerun file (written by its PickleJobInfoCallback) is checked like any job."""
    (tmp_path / "first" / ".hydra").mkdir(parents=True)
    with hydra_context() as composer:
        cfg = composer.compose([*SHORT, "hydra.run.dir=first"])
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(tmp_path / "first")
    (tmp_path / "first" / ".hydra" / "config.pickle").write_bytes(pickle.dumps(cfg))
    r = run_sim(["run", "--experimental-rerun", "first/.hydra/config.pickle"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert is_complete(tmp_path / "first") and sorted(p.name for p in tmp_path.iterdir()) == ["first"]
    (tmp_path / "junk.pickle").write_bytes(b"not a pickle")
    refused(run_sim(["run", "--experimental-rerun", "junk.pickle"], tmp_path), "not a config.pickle written by Hydra")
    refused(run_sim(["run", "--experimental-rerun", "first/.hydra/config.pickle", "seed=2"], tmp_path),
            "drop -m and the overrides")


def test_preflight_errors_are_input_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="jobs 0 and 1 would both write"):
        preflight(["-m", "seed=1,2", *BASE, "hydra.sweep.dir=s", "hydra.sweep.subdir=same"])
    # one sweep, one directory to lock: a sweep directory that depends on a swept value is not one
    with pytest.raises(InputError, match=r"hydra.sweep.dir: must be the same for every job .*\(in sweep job 0"):
        preflight(["-m", "seed=1,2", *BASE, "hydra.sweep.dir=s_${seed}"])
    assert listing(tmp_path) == []
