"""`python -m sim run ...`: a Hydra app with a pre-flight check.

Before Hydra creates any run directory, every job of the command (one job, or each job of a
multirun sweep, however many) is composed exactly as Hydra will compose it (``sim.commands.jobs``)
and validated against ``sim.core.schema``, and the directories it will write are checked
(``sim.commands.outdirs``). Bad input therefore ends with one line naming the field and what is
allowed, exit code 2, and nothing written. The command then holds the lock of the directory it
writes (the run's, or the sweep's for the whole multirun) until it ends; each job also locks its
own directory, also when a launcher runs it on another machine.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import pickle
import re
import shlex
import sys
from collections import OrderedDict
from pathlib import Path

import hydra
import joblib
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from sim.commands.jobs import Composer, hydra_context, quoted, resolved
from sim.commands.outdirs import JobPlan, Plan, check_inside, check_name, check_output_dir, plan_outputs
from sim.core.errors import InputError
from sim.core.figures import figures_for, load_reported_figures
from sim.core.paths import CONFIG_DIR, display, resolve_path
from sim.core.schema import SimConfig, block_at, unknown_key_message, validate
from sim.experiment.posterior import check_calibration
from sim.experiment.runner import run_equal_cost, run_replications
from sim.experiment.store import hold
from sim.presentation.run_report import write_run

log = logging.getLogger("sim")

# Hydra flags that ask for information instead of a run (no pre-flight, Hydra answers them)
INFO_FLAGS = {"--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i", "--shell-completion", "-sc",
              "--version"}
FLAGS_WITH_VALUE = {"--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn",
                    "--config-dir", "-cd", "--experimental-rerun", "--info", "-i"}
RERUN = "--experimental-rerun"
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


def _yaml_problem(exc: BaseException) -> str:
    """A YAML syntax error in a config file, as ``FILE line N: what is wrong``; '' if there is none."""
    for cause in _causes(exc):
        if isinstance(cause, yaml.MarkedYAMLError):
            mark = cause.context_mark or cause.problem_mark
            what = "; ".join(x for x in (cause.context, cause.problem) if x)
            return f"{display(mark.name)} line {mark.line + 1}: {what} (YAML)" if mark else f"{what} (YAML)"
    return ""


def _explain_hydra_error(exc: Exception, overrides: list[str] = ()) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if _yaml_problem(exc):
        return _yaml_problem(exc)
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


def checked(data: dict, overrides: list[str]) -> SimConfig:
    """A composed configuration validated against the schema, with the calibrated file it asks for,
    knowing which uncertainties its (already parsed) overrides set."""
    cfg = validate(data)
    check_calibration(cfg)
    return cfg.naming(uncertainties_named(overrides))


def uncertainties_named(overrides: list[str]) -> frozenset[str]:
    """The uncertainties the overrides set, below ``uncertainties.`` (``+uncertainties.area_push_points.
    beijing=3`` gives ``area_push_points.beijing``); a deletion sets nothing."""
    keys = (o.key_or_group for o in OverridesParser.create().parse_overrides(list(overrides)) if not o.is_delete())
    return frozenset(k.removeprefix("uncertainties.") for k in keys if k.startswith("uncertainties."))


def _app_config(cfg: DictConfig) -> dict:
    """The composed config without Hydra's node, resolved: what the schema validates."""
    with read_write(cfg), open_dict(cfg):
        del cfg["hydra"]
    return OmegaConf.to_container(cfg, resolve=True)


def compose_job(overrides: list[str]) -> SimConfig:
    """Compose the config of one job exactly as Hydra would and validate it."""
    try:
        with hydra_context() as composer:
            data = _app_config(composer.compose(overrides))
    except InputError:
        raise
    except Exception as exc:  # Hydra/OmegaConf composition errors: turn them into one line
        raise InputError(_explain_hydra_error(exc, overrides)) from None
    return checked(data, overrides)


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


_LAUNCHERS_CHECKED: set[str] = set()


def check_launcher(launcher: dict) -> None:
    """The joblib launcher's settings as joblib itself checks them, before Hydra writes the sweep's
    multirun.yaml and starts workers (other launchers check theirs when they start)."""
    stamp = json.dumps(launcher, sort_keys=True, default=str)
    if stamp in _LAUNCHERS_CHECKED or not str(launcher.get("_target_", "")).endswith("JoblibLauncher"):
        return
    params = {k: v for k, v in launcher.items() if k != "_target_"}
    process_joblib_cfg(params)  # as the launcher passes them to joblib.Parallel
    for key, value in params.items():
        try:
            joblib.Parallel(**{key: value, "backend": "loky"})
            if key == "n_jobs":
                joblib.effective_n_jobs(value)
        except (TypeError, ValueError) as exc:
            raise InputError(f"hydra.launcher.{key}: {exc} (got {value!r}; the default is in "
                             "configs/hydra/launcher/local.yaml)") from None
    _LAUNCHERS_CHECKED.add(stamp)


def check_deletions(overrides: list[str], data: dict) -> None:
    """``~policy`` (or ``~seed``, ``~policy.loans``...) would leave the schema's built-in defaults in
    place without a word: every lever off, while the summary still names the scenario. Refused;
    deleting a key and adding it back (``~region.entries_per_year '+region.entries_per_year={...}'``) is not."""
    for text in overrides:
        if not text.startswith("~"):
            continue
        parts = text[1:].partition("=")[0].split(".")
        node = data
        for part in parts:
            node = node.get(part, KeyError) if isinstance(node, dict) else KeyError
        parent = block_at(parts[:-1])
        if node is not KeyError or parent is None or parts[-1] not in parent.model_fields:
            continue
        if not parent.model_fields[parts[-1]].is_required():
            raise InputError(f"{'.'.join(parts)}: cannot be deleted: the run would silently use the built-in defaults "
                             "of sim/core/schema.py (for policy: every lever off); set the values you want instead "
                             "(`--cfg job` shows them)")


def _out_dir(cfg: DictConfig, kind: str, master: DictConfig | None) -> tuple[str, str]:
    """(resolved, template) of a job's output directory, as Hydra will make it."""
    for key in ("run", "sweep"):
        if not str(OmegaConf.select(cfg, f"hydra.{key}.dir")).strip():
            raise InputError(f"hydra.{key}.dir: must not be empty (it is the output directory)")
    raw = OmegaConf.to_container(cfg.hydra[kind], resolve=False)
    if kind == "run":
        return resolved(cfg, "hydra.run.dir"), raw["dir"]
    sweep = resolved(cfg, "hydra.sweep.dir", master)
    if sweep != str(master.hydra.sweep.dir):
        raise InputError(f"hydra.sweep.dir: must be the same for every job of a sweep (it depends on a swept "
                         f"value: {str(master.hydra.sweep.dir)!r} and {sweep!r})")
    return str(Path(sweep) / resolved(cfg, "hydra.sweep.subdir", master)), f"{raw['dir']}/{raw['subdir']}"


def _job(composer: Composer, overrides: list[str], num: int, kind: str, master: DictConfig | None) -> JobPlan:
    """Compose and check one job: config, names, files it reads, launcher, where it writes."""
    cfg = composer.compose(overrides, num)
    out, raw = _out_dir(cfg, kind, master)
    check_name("hydra.job.name", str(cfg.hydra.job.name))
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    data = _app_config(cfg)
    sim_cfg = checked(data, overrides)
    check_deletions(overrides, data)
    check_name("scenario", sim_cfg.scenario)
    check_reported_figures(sim_cfg)
    if kind == "sweep":
        check_launcher(launcher)
        check_inside("hydra.sweep.subdir", raw, out, base=str(master.hydra.sweep.dir))
    else:
        check_inside("hydra.run.dir", raw, out)
    if sim_cfg.resume and "now:" in raw:
        raise InputError(f"resume=true needs the directory to resume: add hydra.{kind}.dir=DIR "
                         f"(the {kind} directory of the command to finish)")
    return JobPlan(num, overrides, sim_cfg, Path(out))


def _checked_job(composer: Composer, overrides: list[str], num: int, kind: str, master) -> JobPlan:
    """``_job`` with every failure as one line naming the job of a sweep."""
    try:
        return _job(composer, overrides, num, kind, master)
    except Exception as exc:
        why = str(exc) if isinstance(exc, InputError) else _explain_hydra_error(exc, overrides)
        where = f" (in sweep job {num}: {' '.join(overrides)})" if kind == "sweep" and overrides else ""
        raise InputError(f"{why}{where}") from None


def _master(composer: Composer, overrides: list[str]) -> DictConfig:
    """The config Hydra's sweeper starts from: the command's overrides less the swept ones. Its
    ``hydra.sweep.dir`` is the sweep directory; its resolver cache is shared by every job."""
    fixed = [o.input_line for o in _parse(overrides) if not o.is_sweep_override()]
    try:
        master = composer.compose(fixed)
        str(master.hydra.sweep.dir)  # resolved once, cached: ${now:...} stays the same for every job
    except Exception as exc:
        why = str(exc) if isinstance(exc, InputError) else _explain_hydra_error(exc, fixed)
        raise InputError(f"{why} (in every sweep job)") from None
    return master


def _command(argv: list[str]) -> str:
    return "python -m sim run " + " ".join(shlex.quote(a) for a in argv)


def preflight(argv: list[str]) -> Plan | None:
    """Validate every job (config, reported figures, launcher, output directories) before Hydra
    writes anything; None for Hydra's information flags (--help, --cfg job), which write nothing.

    Output directories with earlier results are checked when they are fixed (``hydra.run.dir`` /
    ``hydra.sweep.dir`` without ``${now:...}``): a finished job dir with another config, or with a
    file changed since it finished, stops the command; ``resume=true`` requires a fixed directory."""
    overrides, multirun, info = split_args(argv)
    if RERUN in {a.split("=", 1)[0] for a in argv}:
        return rerun_plan(argv, overrides, multirun)
    if info:
        return None
    jobs = expand_jobs(overrides, multirun)
    kind = "sweep" if multirun else "run"
    with hydra_context() as composer:
        master = _master(composer, overrides) if multirun else None
        planned = [_checked_job(composer, job, num, kind, master) for num, job in enumerate(jobs)]
        raw = OmegaConf.to_container((master or composer.compose(overrides)).hydra[kind], resolve=False)["dir"]
    root = Path(str(master.hydra.sweep.dir)) if master else planned[0].out_dir
    pins = [f"hydra.{kind}.dir={quoted(str(root))}"] if "${" in raw else []  # Hydra resolves ${now:} again
    plan = Plan(kind, root, planned, fixed="now:" not in raw, command=_command(argv), pins=pins)
    return plan_outputs(plan)


def rerun_plan(argv: list[str], overrides: list[str], multirun: bool) -> Plan:
    """``--experimental-rerun FILE`` reruns a pickled job config into its own directory."""
    at = next(i for i, a in enumerate(argv) if a.split("=", 1)[0] == RERUN)
    file = argv[at].split("=", 1)[1] if "=" in argv[at] else (argv[at + 1] if at + 1 < len(argv) else "")
    if multirun or overrides:
        raise InputError(f"{RERUN}: reruns the saved config as it is; drop -m and the overrides")
    path = Path(file)
    if not path.is_file():
        raise InputError(f"{RERUN} {file}: no such file (give a run's .hydra/config.pickle)")
    try:
        with open(path, "rb") as fh:
            cfg = pickle.load(fh)  # noqa: S301 - Hydra's own rerun file, named by the user
        out = Path(str(cfg.hydra.runtime.output_dir))
        saved = [str(o) for o in cfg.hydra.overrides.task]
        data = _app_config(cfg)
    except Exception as exc:
        raise InputError(f"{RERUN} {file}: not a config.pickle written by Hydra ({type(exc).__name__})") from None
    sim_cfg = checked(data, saved)
    check_reported_figures(sim_cfg)
    return plan_outputs(Plan("run", out, [JobPlan(0, [], sim_cfg, out)], fixed=True, command=_command(argv)))


def _job_command() -> str:
    hc = HydraConfig.get()
    what = f" (job {hc.job.num} of sweep {hc.sweep.dir})" if hc.mode == RunMode.MULTIRUN else ""
    return _command(list(hc.overrides.task)) + what


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def hydra_job(cfg: DictConfig) -> None:
    """One Hydra job: validate, simulate every replication, write outputs into the job's run dir,
    holding the directory's lock. With ``resume=true`` a job whose directory already holds its
    finished, untouched outputs is skipped."""
    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("hydra", None)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:  # normally all caught in pre-flight; here for jobs launched elsewhere or changed since
        with hold(out_dir, _job_command()):
            sim_cfg = checked(data, list(HydraConfig.get().overrides.task))
            if check_output_dir(out_dir, sim_cfg) and sim_cfg.resume:
                log.info("%s/%s: already complete, skipped (resume=true): %s", sim_cfg.region.name,
                         sim_cfg.scenario, out_dir)
                return
            equal = run_equal_cost(sim_cfg) if sim_cfg.equal_cost is not None else None
            write_run(out_dir, sim_cfg, run_replications(sim_cfg), equal_cost=equal)
    except InputError as exc:
        print(f"sim: {exc}", file=sys.stderr)
        sys.exit(2)
    log.info("%s/%s: wrote %s", sim_cfg.region.name, sim_cfg.scenario, out_dir)


def run_command(argv: list[str]) -> int:
    try:
        plan = preflight(argv)
        with plan.hold() if plan is not None else contextlib.nullcontext():
            sys.argv = ["sim run", *argv, *(plan.pins if plan is not None else [])]
            hydra_job()
    except InputError as exc:
        print(f"sim: {exc}", file=sys.stderr)
        return 2
    return 0
