"""`python -m sim run ...`: a Hydra app with a pre-flight check.

Before Hydra creates any run directory, every job of the command (one job, or each job of a
multirun sweep) is composed with Hydra's compose API and validated against ``sim.core.schema``. Bad input
therefore ends with one line naming the field and what is allowed, exit code 2, and nothing written.
"""

from __future__ import annotations

import itertools
import logging
import re
import sys
from collections import OrderedDict
from pathlib import Path

import hydra
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from sim.core.errors import InputError
from sim.core.figures import figures_for, load_reported_figures
from sim.core.paths import CONFIG_DIR, resolve_path
from sim.core.schema import SimConfig, block_at, unknown_key_message, validate
from sim.experiment.posterior import check_calibration
from sim.experiment.runner import run_equal_cost, run_replications
from sim.experiment.store import config_difference, is_complete
from sim.presentation.run_report import write_run

log = logging.getLogger("sim")

# Hydra flags that ask for information instead of a run (no pre-flight, Hydra answers them)
INFO_FLAGS = {"--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i", "--shell-completion", "-sc",
              "--version"}
FLAGS_WITH_VALUE = {"--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn",
                    "--config-dir", "-cd", "--experimental-rerun", "--info", "-i"}
# beyond this many jobs, pre-flight checks every value of every swept key instead of every job
MAX_JOBS_CHECKED_ONE_BY_ONE = 100
# configs/calibrated/ holds fitted posteriors (read by sim.experiment.posterior), not a Hydra group
GROUPS = tuple(sorted(p.name for p in CONFIG_DIR.iterdir() if p.is_dir() and p.name not in ("hydra", "calibrated")))


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
    if multirun and info:
        raise InputError("-m/--multirun cannot be combined with --cfg, --info or --help: "
                         "drop -m to see one job's configuration")
    return overrides, multirun, info


def _causes(exc: BaseException):
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def _how_to_set(group: str) -> str:
    """How a config group is chosen on the command line (scenarios are added, not in the defaults)."""
    return "+scenario=NAME" if group == "scenario" else f"{group}=NAME"


def _explain_hydra_error(exc: Exception, overrides: list[str] = ()) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if "Config group override must be a string" in text:  # e.g. scenario=2024: the key is also a group
        for o in overrides:
            key, _, value = o.lstrip("+~").partition("=")
            if key in GROUPS:
                return f"{key}: must name one of {', '.join(options(key))} (use {_how_to_set(key)}; got {value!r})"
    m = re.search(r"Could not (?:find|load) '([\w/]+)/([^'/]*)'", text)
    if m:
        group, name = m.group(1), m.group(2)
        listed = re.search(r"Available options in '[^']+':\n((?:\t.*\n?)*)", text)
        allowed = options(group) if group in GROUPS else (listed.group(1).split() if listed else [])
        return f"unknown {group} {name!r}: allowed are {', '.join(allowed) or '(none)'} (use {_how_to_set(group)})"
    m = re.search(r"Could not override '([^']+)'. No match in the defaults list", text)
    if m and m.group(1) in GROUPS:
        return f"{m.group(1)}: add it with +{m.group(1)}=NAME; allowed are {', '.join(options(m.group(1)))}"
    for cause in _causes(exc):  # OmegaConf errors know the full key they are about
        key = getattr(cause, "full_key", None)
        if not key:
            continue
        key = re.sub(r"\[(\d+)\]", r".\1", key)  # region.clusters[0].x -> region.clusters.0.x
        why = str(cause).strip().splitlines()[0]
        if "not in struct" in why:
            parent = key.rpartition(".")[0]
            if parent and block_at(parent.split(".")) is None:  # a mapping such as region.entries_per_year
                return (f"{key}: cannot add a key to {parent} by merging; to replace it whole use "
                        f"~{parent} '+{parent}={{...}}'")
            return unknown_key_message(key)
        return f"{key}: {why}"
    m = re.search(r"Could not override '([^']+)'", text)
    if m:
        return unknown_key_message(m.group(1))
    m = re.search(r"Could not delete from config. '([^']+)' does not exist", text)
    if m:
        return unknown_key_message(m.group(1))
    m = re.search(r"Could not append to config. An item is already at '([^']+)'", text)
    if m:
        return f"{m.group(1)}: already set; override it without the leading '+'"
    if type(exc).__name__ == "OverrideParseException" or "Error parsing override" in text:
        bad = re.search(r"'([^']*)'", first)
        what = f" {bad.group(1)!r}" if bad else ""
        return f"cannot parse override{what}: write key=value, +key=value or ~key (Hydra override grammar)"
    return f"{first} ({type(exc).__name__})" if first == type(exc).__name__ else first


def _compose(overrides: list[str], num: int = 0) -> tuple[SimConfig, dict[str, str]]:
    """Compose one job exactly as Hydra would; return its validated config, its output directory
    as Hydra will name it, for a single run and as job ``num`` of a sweep, resolved and not."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides, return_hydra_config=True)
        with read_write(cfg), open_dict(cfg):
            cfg.hydra.job.num = num
            raw = OmegaConf.to_container(cfg.hydra, resolve=False)
            dirs = {"run": str(cfg.hydra.run.dir), "run_raw": raw["run"]["dir"],
                    "sweep": str(Path(str(cfg.hydra.sweep.dir)) / str(cfg.hydra.sweep.subdir)),
                    "sweep_raw": f"{raw['sweep']['dir']}/{raw['sweep']['subdir']}"}
            for key in ("run", "sweep"):
                if not str(OmegaConf.select(cfg, f"hydra.{key}.dir")).strip():
                    raise InputError(f"hydra.{key}.dir: must not be empty (it is the output directory)")
            del cfg["hydra"]
            data = OmegaConf.to_container(cfg, resolve=True)
    except InputError:
        raise
    except Exception as exc:  # Hydra/OmegaConf composition errors: turn them into one line
        raise InputError(_explain_hydra_error(exc, overrides)) from None
    finally:
        GlobalHydra.instance().clear()
    return checked(data), dirs


def checked(data: dict) -> SimConfig:
    """A composed configuration validated against the schema, with the calibrated file it asks for."""
    cfg = validate(data)
    check_calibration(cfg)
    return cfg


def compose_job(overrides: list[str]) -> SimConfig:
    """Compose the config of one job exactly as Hydra would and validate it."""
    return _compose(overrides)[0]


def _parse(overrides: list[str]) -> list:
    parser, parsed = OverridesParser.create(), []
    for text in overrides:  # one at a time, so a message can quote the override that is wrong
        try:
            (o,) = parser.parse_overrides([text])
        except Exception:
            o = None
        if o is None or not o.key_or_group:
            raise InputError(f"cannot parse override {text!r}: write key=value, +key=value or ~key "
                             "(Hydra's override grammar; quote values with spaces or brackets)")
        parsed.append(o)
    for o in parsed:  # Hydra lets `+hydra.anything=1` through and then ignores it
        key = o.key_or_group
        if key.startswith("hydra.") and (o.is_add() or o.is_force_add()) and not key.startswith("hydra.job.env_set."):
            raise InputError(f"{key}: Hydra has no such setting to add; set existing ones without '+' "
                             "(`--cfg hydra` lists them; only hydra.job.env_set.NAME may be added)")
    return parsed


def expand_jobs(overrides: list[str], multirun: bool) -> list[list[str]]:
    """Every job of the command, in the order (= job number) Hydra's basic sweeper gives them."""
    parsed = _parse(overrides)
    if not multirun:
        return [overrides]
    return sweep_jobs(parsed)


def sweep_jobs(parsed: list) -> list[list[str]]:
    """The cartesian product of the swept values, in the order of Hydra's basic sweeper: one list
    of ``key=value`` per override key (a later override of a key replaces an earlier one in place)."""
    by_key: OrderedDict[str, list[str]] = OrderedDict()
    for o in parsed:
        key = o.get_key_element()
        if o.is_sweep_override():
            if not o.is_discrete_sweep():
                raise InputError(f"{key}: only lists of values can be swept (a,b,c); got {o.input_line!r}")
            by_key[key] = [f"{key}={v}" for v in o.sweep_string_iterator()]
        else:
            by_key[key] = [f"{key}={o.get_value_element_as_str()}"]
    return [list(job) for job in itertools.product(*by_key.values())]


def _value_checks(jobs: list[list[str]]) -> list[int]:
    """Job numbers pre-flight validates: all of them, or, for large sweeps, enough jobs to see every
    value of every swept key once."""
    if len(jobs) <= MAX_JOBS_CHECKED_ONE_BY_ONE:
        return list(range(len(jobs)))
    seen, picked = set(), []
    for num, job in enumerate(jobs):
        new = set(job) - seen
        if new:
            picked.append(num)
            seen |= new
    return picked


_FIGURES_CHECKED: dict[tuple[str, str, int], None] = {}


def check_reported_figures(cfg: SimConfig) -> None:
    """The reported-figures file a run charts must be valid and know the region, before any output."""
    path = resolve_path(cfg.reported_figures)
    stamp = path.stat().st_mtime_ns if path.is_file() else -1
    key = (str(path), cfg.region.name, stamp)
    if key in _FIGURES_CHECKED:
        return
    try:
        figures = load_reported_figures(path)
    except InputError as exc:
        raise InputError(f"reported_figures: {exc}") from None
    try:
        figures_for(figures, cfg.region.name)
    except InputError as exc:
        raise InputError(f"region.name: no reported figures can be charted for {cfg.region.name!r}: {exc}") from None
    _FIGURES_CHECKED[key] = None


def check_output_dir(out_dir: Path, cfg: SimConfig) -> bool:
    """True when ``out_dir`` already holds this config's finished outputs. A finished directory is
    never overwritten with a different config: that is an error naming the directory."""
    if not is_complete(out_dir):
        return False
    diff = config_difference(out_dir, cfg)
    if diff:
        raise InputError(f"{out_dir}: already holds a finished run of a different config ({diff}); "
                         "choose another output directory or delete that one")
    return True


def preflight(argv: list[str]) -> None:
    """Validate every job (config, reported figures, output directory) before Hydra writes anything.

    Output directories are checked when they are fixed (``hydra.run.dir`` / ``hydra.sweep.dir``
    without ``${now:...}``): a finished job dir with another config stops the command, and
    ``resume=true`` requires a fixed directory, since it resumes *that* directory."""
    overrides, multirun, info = split_args(argv)
    if info:
        return
    jobs = expand_jobs(overrides, multirun)
    kind = "sweep" if multirun else "run"
    checked: set[int] | None = None  # decided after job 0: which jobs to compose and check
    for num, job in enumerate(jobs):
        if checked is not None and num not in checked:
            continue
        try:
            cfg, dirs = _compose(job, num)
            check_reported_figures(cfg)
            fixed = "now:" not in dirs[f"{kind}_raw"]
            if cfg.resume and not fixed:
                raise InputError(f"resume=true needs the directory to resume: add hydra.{kind}.dir=DIR "
                                 f"(the {kind} directory of the command to finish)")
            if checked is None:  # a fixed output dir may hold finished jobs: look at every job's
                checked = set(range(len(jobs))) if fixed else set(_value_checks(jobs))
            if fixed:
                check_output_dir(Path(dirs[kind]), cfg)
        except InputError as exc:
            where = f" (in sweep job {num}: {' '.join(job)})" if multirun and len(job) > 0 else ""
            raise InputError(f"{exc}{where}") from None


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def hydra_job(cfg: DictConfig) -> None:
    """One Hydra job: validate, simulate every replication, write outputs into the job's run dir.
    With ``resume=true`` a job whose directory already holds its finished outputs is skipped."""
    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("hydra", None)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:  # normally all caught in pre-flight; here for jobs launched elsewhere or changed since
        sim_cfg = checked(data)
        done = check_output_dir(out_dir, sim_cfg)
    except InputError as exc:
        print(f"sim: {exc}", file=sys.stderr)
        sys.exit(2)
    if done and sim_cfg.resume:
        log.info("%s/%s: already complete, skipped (resume=true): %s", sim_cfg.region.name, sim_cfg.scenario, out_dir)
        return
    quarterly = run_replications(sim_cfg)
    equal = run_equal_cost(sim_cfg) if sim_cfg.equal_cost is not None else None
    write_run(out_dir, sim_cfg, quarterly, equal_cost=equal)
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
