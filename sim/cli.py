"""`python -m sim run ...`: a Hydra app with a pre-flight check.

Before Hydra creates any run directory, every job of the command (one job, or each job of a
multirun sweep) is composed with Hydra's compose API and validated against ``sim.config``. Bad input
therefore ends with one line naming the field and what is allowed, exit code 2, and nothing written.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

import hydra
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from sim.config import SimConfig, validate
from sim.errors import InputError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
log = logging.getLogger("sim")

# Hydra flags that ask for information instead of a run (no pre-flight, Hydra answers them)
INFO_FLAGS = {"--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i", "--shell-completion", "-sc",
              "--version"}
FLAGS_WITH_VALUE = {"--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn",
                    "--config-dir", "-cd", "--experimental-rerun", "--info", "-i"}
# beyond this many jobs, pre-flight checks every value of every swept key instead of every job
MAX_JOBS_CHECKED_ONE_BY_ONE = 100


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def split_args(argv: list[str]) -> tuple[list[str], bool, bool]:
    """(overrides, multirun?, info-only?) from the command line after `run`."""
    overrides, multirun, info = [], False, False
    skip = False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        flag = a.split("=", 1)[0]
        if flag in ("-m", "--multirun"):
            multirun = True
        elif flag in INFO_FLAGS:
            info = True
            skip = flag in FLAGS_WITH_VALUE and "=" not in a
        elif flag in FLAGS_WITH_VALUE:
            skip = "=" not in a
        elif a.startswith("-"):
            raise InputError(f"unknown option {a!r}: allowed are -m/--multirun, --cfg job, --help and Hydra's flags")
        else:
            overrides.append(a)
    return overrides, multirun, info


def _explain_hydra_error(exc: Exception) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    m = re.search(r"Could not (?:find|load) '([\w/]+?)/([^']+)'", text)
    if m and m.group(1) in {"scenario", "region", "policy", "uncertainties"}:
        group, name = m.group(1), m.group(2)
        how = "+scenario=NAME" if group == "scenario" else f"{group}=NAME"
        return f"unknown {group} {name!r}: allowed are {', '.join(options(group))} (use {how})"
    m = re.search(r"Could not override '([^']+)'", text)
    if m:
        return f"{m.group(1)}: unknown key (check the spelling; `--cfg job` shows every allowed key)"
    m = re.search(r"Could not append to config. An item is already at '([^']+)'", text)
    if m:
        return f"{m.group(1)}: already set; override it without the leading '+'"
    if "Error parsing override" in text or "mismatched input" in text or "no viable alternative" in text:
        return f"cannot parse override: {first}"
    return first


def compose_job(overrides: list[str]) -> SimConfig:
    """Compose the config of one job exactly as Hydra would and validate it."""
    from hydra import compose, initialize_config_dir

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides)
            data = OmegaConf.to_container(cfg, resolve=True)
    except InputError:
        raise
    except Exception as exc:  # Hydra/OmegaConf composition errors: turn them into one line
        raise InputError(_explain_hydra_error(exc)) from None
    finally:
        GlobalHydra.instance().clear()
    data.pop("hydra", None)
    return validate(data)


def expand_jobs(overrides: list[str], multirun: bool) -> list[list[str]]:
    """The override lists pre-flight checks: every job, or, for large sweeps, every swept value."""
    if not multirun:
        return [overrides]
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception as exc:
        raise InputError(_explain_hydra_error(exc)) from None
    jobs = [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
    if len(jobs) <= MAX_JOBS_CHECKED_ONE_BY_ONE:
        return jobs
    per_key = [[job[0] for job in BasicSweeper.split_arguments([o], None)[0]] for o in parsed]
    checks = []
    for i, values in enumerate(per_key):
        for v in values:
            checks.append([v if j == i else vals[0] for j, vals in enumerate(per_key)])
    return checks


def preflight(argv: list[str]) -> None:
    overrides, multirun, info = split_args(argv)
    if info:
        return
    for job in expand_jobs(overrides, multirun):
        try:
            compose_job(job)
        except InputError as exc:
            where = f" (in sweep job: {' '.join(job)})" if multirun and len(job) > 0 else ""
            raise InputError(f"{exc}{where}") from None


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def hydra_job(cfg: DictConfig) -> None:
    """One Hydra job: validate, simulate every replication, write outputs into the job's run dir."""
    from sim.outputs import write_run
    from sim.runner import run_replications

    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("hydra", None)
    try:
        sim_cfg = validate(data)
    except InputError as exc:  # normally caught in pre-flight; here for jobs launched elsewhere
        print(f"sim: {exc}", file=sys.stderr)
        sys.exit(2)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    quarterly = run_replications(sim_cfg)
    write_run(out_dir, sim_cfg, quarterly)
    log.info("%s/%s: wrote %s", sim_cfg.region.name, sim_cfg.scenario, out_dir)


def run_command(argv: list[str]) -> int:
    try:
        preflight(argv)
    except InputError as exc:
        print(f"sim: {exc}", file=sys.stderr)
        return 2
    sys.argv = ["sim run", *argv]
    hydra_job()
    return 0
