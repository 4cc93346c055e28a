"""Compose the jobs of a command exactly as Hydra will, fast enough to check every job of a large
sweep before the first one starts.

Composing one job with Hydra's compose API costs about 0.1 s, nearly all of it building the
defaults tree (reading and merging the YAML files of the chosen config groups). Jobs of a sweep
mostly differ in values (``seed=0,1,2``, a lever), not in group choices. Hydra itself composes a
config in two steps: the defaults tree from the group choices, then the value overrides applied to
it in order (``ConfigLoaderImpl._apply_overrides_to_config``). ``Composer`` does the same, building
each distinct tree once and applying every job's value overrides to a copy of it, then fills in
what Hydra derives from all of a job's overrides (``hydra.overrides``, ``hydra.job.override_dirname``,
``hydra.job.num``). ``tests/test_preflight.py`` checks it against composing every job in full.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from sim.core.errors import InputError
from sim.core.paths import CONFIG_DIR, display

BOM = b"\xef\xbb\xbf"


class Composer:
    """Composes jobs as Hydra would (module docstring); valid inside ``hydra_context()``."""

    def __init__(self) -> None:
        self._loader = GlobalHydra.instance().config_loader()
        self._parser = OverridesParser.create()
        self._groups: dict[tuple[tuple[str, ...], str], bool] = {}
        self._repos: dict[tuple[str, ...], object] = {}
        self._trees: dict[tuple[str, ...], bytes] = {}

    def _is_group(self, search: tuple[str, ...], key: str) -> bool:
        """Whether ``key`` names a config group on the search path ``search`` (Hydra's repository)."""
        if (search, key) not in self._groups:
            if search not in self._repos:
                self._repos[search] = self._loader._parse_overrides_and_create_caching_repo("config", list(search))[1]
            self._groups[search, key] = self._repos[search].group_exists(key)
        return self._groups[search, key]

    def _split(self, overrides: list[str]) -> tuple[list, list, list]:
        """(all, tree, values): Hydra's own split of overrides into group choices and config
        overrides (``hydra._internal.defaults_list.Overrides``); the search path shapes the tree."""
        parsed = self._parser.parse_overrides(overrides)
        search = tuple(o.input_line for o in parsed if o.key_or_group.startswith("hydra.searchpath"))
        tree, values = [], []
        for o in parsed:
            group = self._is_group(search, o.key_or_group) and not isinstance(o.value(), dict)
            (tree if group or o.key_or_group.startswith("hydra.searchpath") else values).append(o)
        return parsed, tree, values

    def _tree(self, lines: tuple[str, ...]) -> DictConfig:
        """The defaults tree of these group choices, composed once (kept pickled: a copy of a
        config is ~5x faster to unpickle than to deep-copy)."""
        if lines not in self._trees:
            cfg = compose(config_name="config", overrides=list(lines), return_hydra_config=True)
            check_no_bom(cfg)
            self._trees[lines] = pickle.dumps(cfg)
        return pickle.loads(self._trees[lines])  # noqa: S301 - our own bytes

    def compose(self, overrides: list[str], num: int = 0) -> DictConfig:
        """The config (with its ``hydra`` node) Hydra gives job ``num`` with these overrides."""
        parsed, tree, values = self._split(overrides)
        cfg = self._tree(tuple(o.input_line for o in tree))
        ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
        task = [o for o in parsed if not o.is_hydra_override()]
        with read_write(cfg), open_dict(cfg):
            cfg.hydra.overrides.task = [o.input_line for o in task]
            cfg.hydra.overrides.hydra = [o.input_line for o in parsed if o.is_hydra_override()]
            dirname = cfg.hydra.job.config.override_dirname
            cfg.hydra.job.override_dirname = get_overrides_dirname(
                overrides=task, kv_sep=dirname.kv_sep, item_sep=dirname.item_sep, exclude_keys=dirname.exclude_keys)
            cfg.hydra.job.num = num
        return cfg


@contextmanager
def hydra_context() -> Iterator[Composer]:
    """Hydra initialised on the project's configs for as long as the block runs."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            yield Composer()
    finally:
        GlobalHydra.instance().clear()


def check_no_bom(cfg: DictConfig) -> None:
    """A config file that starts with a byte-order mark hides its ``# @package`` line from Hydra,
    which then files its keys under the wrong package: name the file instead."""
    dirs = [Path(s.path) for s in cfg.hydra.runtime.config_sources if s.schema == "file"]
    chosen = [("", "config")] + [(g, c) for g, c in cfg.hydra.runtime.choices.items() if isinstance(c, str)]
    for d in dirs:
        for group, choice in chosen:
            f = d / group / f"{choice}.yaml"
            if f.is_file() and f.read_bytes()[:3] == BOM:
                raise InputError(f"{display(f)} line 1: starts with a byte-order mark, which hides its "
                                 "'# @package' line from Hydra; save it as UTF-8 without BOM")


def quoted(value: str) -> str:
    """A literal value in Hydra's override grammar (for the directories pre-flight pins)."""
    if "${" in value:
        raise InputError(f"{value!r}: an output directory must not contain '${{'")
    quote = "'" if "'" not in value else '"'
    if quote in value:
        raise InputError(f"{value!r}: an output directory must not contain both kinds of quote")
    body = value.rstrip("\\")
    return f"{quote}{body}{'\\' * 2 * (len(value) - len(body))}{quote}"  # backslashes before a quote doubled


def resolved(cfg: DictConfig, key: str, master: DictConfig | None = None) -> str:
    """The value at ``key`` as Hydra resolves it; with ``master``, sharing the master config's
    resolver cache (``${now:...}``), as Hydra's sweeper does for every job of a sweep."""
    if master is not None:
        OmegaConf.copy_cache(from_config=master, to_config=cfg)
    return str(OmegaConf.select(cfg, key, throw_on_missing=True))
