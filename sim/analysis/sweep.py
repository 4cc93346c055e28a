"""A sweep directory as data: its jobs, finished or not, with their configs and yearly series.

A sweep directory holds one directory per job (``<num>_<scenario>``) and, when the sweep was
launched by ``python -m sim run -m``, ``planned_jobs.json`` (written when the sweep starts, so jobs
that never started can be listed). A job's number and overrides are read from the plain YAML files
Hydra leaves in ``<job>/.hydra/`` (read as files: nothing here imports Hydra). Besides yearly.csv a
job run with ``equal_cost=X`` holds ``equal_cost/yearly.csv`` with ``equal_cost/info.json`` (the
package scaled to that cost), read when present.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from sim.core.errors import InputError
from sim.core.outcomes import SWEEP_CUMULATIVE, SWEEP_STOCKS, column_of
from sim.experiment.store import COMPLETE, verify

OUT_DIRNAME = "comparison"
PLANNED_JOBS = "planned_jobs.json"
EQUAL_COST_DIR = "equal_cost"
# keys that make a job's "setting"; the rest (policy and bookkeeping) may differ between compared jobs
NOT_SETTING = {"policy", "scenario", "scenario_title", "scenario_label", "equal_cost", "progress", "seed",
               "replications", "outcomes", "resume", "reported_figures"}
# overrides that never change results: not used to name jobs (a resumed sweep adds resume=true to some)
NOT_IN_LABEL = {"scenario", "progress", "resume"}


@dataclass
class EqualCostRun:
    """A job's package at equal cost (``<job>/equal_cost/``): its yearly series and what the scaling found."""

    yearly: pd.DataFrame
    fiscal_scale: float
    binding: bool
    envelope: float
    note: str


@dataclass
class Job:
    dir: Path
    num: int | None = None
    overrides: list[str] = field(default_factory=list)
    config: dict | None = None
    yearly: pd.DataFrame | None = None
    problem: str | None = None  # why the job is skipped (None: finished and readable)
    label: str = ""
    tampered: str | None = None  # a file changed after the job finished, as one line naming it
    equal_cost: EqualCostRun | None = None
    equal_cost_problem: str | None = None  # equal_cost/ present but unreadable

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def scenario(self) -> str:
        if self.config:
            return str(self.config.get("scenario", "?"))
        for o in self.overrides:
            k, _, v = o.partition("=")
            if k.lstrip("+~") == "scenario":
                return v
        return re.sub(r"^\d+_", "", self.name)

    @property
    def policy_name(self) -> str:
        """The package's short name ("Finance boost"), else its scenario id."""
        return str((self.config or {}).get("scenario_label") or self.scenario)

    @property
    def adopt_from(self) -> str:
        return str(self.config["policy"].get("adopt_from") or f"{self.config['start_year']}Q1")

    @property
    def adopt_year(self) -> int:
        """The year the package takes effect (its first quarter's year, not before the start year)."""
        return max(int(self.config["start_year"]), int(self.adopt_from[:4]))

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    @property
    def replications(self) -> int:
        return int(self.yearly["replication"].nunique())

    def setting(self) -> str:
        return json.dumps({k: v for k, v in self.config.items() if k not in NOT_SETTING}, sort_keys=True)


def _is_job_dir(d: Path) -> bool:
    return d.is_dir() and d.name != OUT_DIRNAME and not d.name.startswith(".") and (
        (d / ".hydra").is_dir() or (d / "config.yaml").is_file() or (d / COMPLETE).is_file())


def _job_num(d: Path) -> int | None:
    try:
        num = yaml.safe_load((d / ".hydra" / "hydra.yaml").read_text())["hydra"]["job"]["num"]
        return int(num)
    except Exception:
        m = re.match(r"(\d+)_", d.name)
        return int(m.group(1)) if m else None


def load_job(d: Path) -> Job:
    job = Job(dir=d, num=_job_num(d))
    try:
        job.overrides = [str(o) for o in yaml.safe_load((d / ".hydra" / "overrides.yaml").read_text()) or []]
    except Exception:
        job.overrides = []
    verdict = verify(d)  # a job is used only when every file still has the checksum it finished with
    if verdict.state == "tampered":
        job.tampered = verdict.message()
        job.problem = f"tampered: {verdict.file.name} changed after the job finished (checksum differs from COMPLETE)"
        return job
    if not verdict.finished:
        job.problem = verdict.why if verdict.file is None else f"damaged: {verdict.file.name}: {verdict.why}"
        return job
    try:
        job.config = yaml.safe_load((d / "config.yaml").read_text(encoding="utf-8"))
        job.yearly = pd.read_csv(d / "yearly.csv")
        needed = ["replication", "year", *SWEEP_STOCKS, *(column_of(i) for i in SWEEP_CUMULATIVE)]
        missing = [c for c in needed if c not in job.yearly.columns]
        if missing:
            raise ValueError(f"yearly.csv lacks column(s) {', '.join(missing)}")
        if not isinstance(job.config, dict) or "seed" not in job.config or "policy" not in job.config:
            raise ValueError("config.yaml is not a run's configuration")
    except Exception as exc:
        job.problem = f"unreadable outputs: {_first_line(exc)}"
        job.config = job.yearly = None
        return job
    _load_equal_cost(job)
    return job


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _load_equal_cost(job: Job) -> None:
    """``<job>/equal_cost/``, when the job ran with ``equal_cost=X``; a damaged one is noted, not fatal."""
    d = job.dir / EQUAL_COST_DIR
    if not (d / "yearly.csv").is_file():
        return
    try:
        info = json.loads((d / "info.json").read_text(encoding="utf-8"))
        yearly = pd.read_csv(d / "yearly.csv")
        missing = [c for c in ("replication", "year", *SWEEP_STOCKS, "spend_total") if c not in yearly.columns]
        if missing:
            raise ValueError(f"yearly.csv lacks column(s) {', '.join(missing)}")
        job.equal_cost = EqualCostRun(yearly, float(info["fiscal_scale"]), bool(info["binding"]),
                                      float(info["envelope"]), str(info.get("note") or ""))
    except Exception as exc:
        job.equal_cost_problem = f"{EQUAL_COST_DIR}/ unreadable: {_first_line(exc)}"


def planned_jobs(sweep_dir: Path) -> list[list[str]] | None:
    """The jobs the sweep planned (their overrides, by job number), if it recorded them."""
    try:
        jobs = json.loads((Path(sweep_dir) / PLANNED_JOBS).read_text(encoding="utf-8"))["jobs"]
        return [[str(o) for o in job] for job in jobs]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def find_jobs(sweep_dir: Path) -> list[Job]:
    """Every job directory of a sweep, finished or not, in job order; bad path -> InputError."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.exists():
        raise InputError(f"{sweep_dir}: no such directory (give a sweep directory, e.g. results/sweeps/<time>)")
    if not sweep_dir.is_dir():
        raise InputError(f"{sweep_dir}: not a directory (give a sweep directory, e.g. results/sweeps/<time>)")
    if (sweep_dir / ".hydra").is_dir() and not (sweep_dir / "multirun.yaml").is_file():
        raise InputError(f"{sweep_dir}: is a single run, not a sweep (give its parent sweep directory, "
                         "or run a sweep with `python -m sim run -m ...`)")
    dirs = sorted(d for d in sweep_dir.iterdir() if _is_job_dir(d))
    if not dirs:
        raise InputError(f"{sweep_dir}: no job directories found (a sweep directory holds <num>_<scenario>/ "
                         "job directories, as written by `python -m sim run -m ...`)")
    jobs = [load_job(d) for d in dirs]
    jobs.sort(key=lambda j: (j.num is None, j.num if j.num is not None else 0, j.name))
    return jobs


def _key(override: str) -> tuple[str, str]:
    k, _, v = override.partition("=")
    return k.lstrip("+~"), v


def override_map(job: Job) -> dict[str, str]:
    """The job's overrides as key -> value (``+``/``~`` dropped)."""
    return dict(_key(o) for o in job.overrides)


def varying_keys(jobs: list[Job]) -> list[str]:
    """The override keys whose value differs between jobs, other than the scenario and bookkeeping."""
    maps = [override_map(j) for j in jobs]
    keys = list(dict.fromkeys(k for m in maps for k in m))
    return [k for k in keys if len({m.get(k) for m in maps}) > 1 and k not in NOT_IN_LABEL]


def label_jobs(jobs: list[Job]) -> None:
    """A short name per job: the package's policy name (``scenario_label``) plus whatever else the
    sweep varies (``key=value``)."""
    varying = varying_keys(jobs)
    for j in jobs:
        m = override_map(j)
        parts = [j.policy_name] + [f"{k.removeprefix('policy.')}={m.get(k, '(default)')}" for k in varying]
        j.label = ", ".join(parts)
    seen: dict[str, int] = {}
    for j in jobs:
        seen[j.label] = seen.get(j.label, 0) + 1
    for j in jobs:
        if seen[j.label] > 1:
            j.label = f"{j.label} (job {j.num if j.num is not None else j.name})"


def override_keys(job: Job) -> list[str]:
    return [_key(o)[0] for o in job.overrides]
