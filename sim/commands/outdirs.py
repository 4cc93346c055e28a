"""Where a command writes, checked before it writes: one writer per directory, no two jobs in one
directory, no name that leads outside the chosen results directory, no finished directory reused
or overwritten when its config differs or its files changed since it finished.

``plan_outputs`` looks only (it creates nothing), so a refusal leaves everything as it was;
``Plan.hold`` then takes the lock of the directory the command writes (a single run's directory,
or the sweep directory for the whole of a multirun, in the launching process) and looks again
under the lock, since another process may have written in between.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sim.analysis.sweep import OUT_DIRNAME
from sim.core.errors import InputError
from sim.core.paths import display, inside, unusable_dir
from sim.core.schema import SimConfig
from sim.experiment.store import config_difference, held_by_another, hold, refusal, verify

# characters and parts that would make a name a path: it names an output directory or a log file
_NOT_IN_A_NAME = re.compile(r"[/\\\x00]|\.\.")


@dataclass
class JobPlan:
    """One job as pre-flight sees it: its number, overrides, validated config and output directory."""

    num: int
    overrides: list[str]
    cfg: SimConfig
    out_dir: Path


@dataclass
class Plan:
    """What a command will write: the directory it locks (``root``), its jobs' directories, and
    whether they are fixed by the user (only fixed directories can hold earlier results)."""

    kind: str  # "run" or "sweep"
    root: Path
    jobs: list[JobPlan]
    fixed: bool
    command: str
    pins: list[str] = field(default_factory=list)  # overrides that make Hydra use exactly `root`

    @contextmanager
    def hold(self) -> Iterator[None]:
        """The lock of ``root`` for the whole command, then the same checks again under it."""
        with hold(self.root, self.command):
            check_contents(self)
            yield


def check_name(what: str, name: str) -> None:
    """A name that becomes part of a path (scenario, Hydra's job name) must not be a path."""
    if not name.strip() or _NOT_IN_A_NAME.search(name):
        raise InputError(f"{what}: must be a plain name without '/', '\\', '..' (it names an output directory "
                         f"or file); got {name!r}")


def static_base(raw: str) -> str | None:
    """The fixed directory a path template writes under: ``results/runs`` for
    ``results/runs/${now:...}_${scenario}``; None when the template has no interpolation."""
    if "${" not in raw:
        return None
    head = raw.split("${", 1)[0]
    return head.rpartition("/")[0] or "."


def check_inside(what: str, raw: str, resolved: str, base: str | None = None) -> None:
    """A resolved output directory stays inside the directory its template names (or ``base``)."""
    base = static_base(raw) if base is None else base
    if base is not None and (not inside(resolved, base) or os.path.normpath(resolved) == os.path.normpath(base)):
        raise InputError(f"{what}: {resolved!r} is not inside {display(base)}/ (a name in it leads elsewhere); "
                         "use plain names, or choose the directory itself")


def check_distinct(jobs: list[JobPlan]) -> None:
    """No two jobs of a sweep write the same directory (e.g. ``hydra.sweep.subdir=same``)."""
    first: dict[str, JobPlan] = {}
    for j in jobs:
        key = os.path.normpath(os.path.abspath(j.out_dir))
        if key in first:
            raise InputError(f"hydra.sweep.subdir: jobs {first[key].num} and {j.num} would both write "
                             f"{display(j.out_dir)}; every job needs its own directory (e.g. "
                             "hydra.sweep.subdir=${hydra.job.num}_${scenario})")
        first[key] = j


def check_writable(plan: Plan) -> None:
    """Every directory the command will create can be created (nothing in the way, writable)."""
    key = f"hydra.{plan.kind}.dir"
    for d in [plan.root, *(j.out_dir for j in plan.jobs)]:
        why = unusable_dir(d)
        if why:
            raise InputError(f"{key}: cannot write {display(d)}: {why}")
    if plan.kind == "sweep":
        out = plan.root / OUT_DIRNAME
        if os.path.lexists(out) and not out.is_dir():
            raise InputError(f"{display(out)}: is in the way of the sweep's comparison (not a directory); "
                             "move it away or choose another hydra.sweep.dir")


def check_no_writer(plan: Plan) -> None:
    """No live process writes the command's directory, a directory above it, or a job's directory."""
    for d in [plan.root, *Path(os.path.abspath(plan.root)).parents, *(j.out_dir for j in plan.jobs)]:
        if held_by_another(d):
            raise refusal(d)


def check_output_dir(out_dir: Path, cfg: SimConfig) -> bool:
    """True when ``out_dir`` already holds this config's finished, untouched outputs. A finished
    directory is never overwritten with a different config, nor reused or overwritten when a file
    changed since it finished (or its COMPLETE marker is not sim's): errors naming the file."""
    verdict = verify(out_dir)
    if verdict.state == "unfinished":
        return False
    if not verdict.finished:
        raise InputError(f"{verdict.message()}; {display(out_dir)} is not used or overwritten: restore the file, "
                         "or delete the directory to run it again")
    diff = config_difference(out_dir, cfg)
    if diff:
        raise InputError(f"{display(out_dir)}: already holds a finished run of a different config ({diff}); "
                         "choose another output directory or delete that one")
    return True


def check_contents(plan: Plan) -> None:
    """Earlier results in the command's directories may be reused (resume) or rewritten only when
    they are this config's own, untouched since they finished; and no one else writes there."""
    check_no_writer(plan)
    if plan.fixed:
        for j in plan.jobs:
            check_output_dir(j.out_dir, j.cfg)


def plan_outputs(plan: Plan) -> Plan:
    """All the checks that need no lock, before anything is written."""
    if plan.kind == "sweep":
        check_distinct(plan.jobs)
    check_writable(plan)
    check_contents(plan)
    return plan
