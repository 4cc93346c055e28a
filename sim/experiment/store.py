"""The result store: atomic writes, the COMPLETE marker with checksums, saved configurations.

Every file is written to a temporary name in the same directory, flushed to disk and renamed into
place, so a crash never leaves a half-written file under its real name; ``COMPLETE`` is written last
and marks a finished run directory. Only ``COMPLETE`` says a directory is finished: Hydra's own files
(``.hydra/``, the job log) are written before the job starts, not atomically, and are not results.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yaml

from sim.core.schema import SimConfig

COMPLETE = "COMPLETE"
TMP_SUFFIX = ".tmp"
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FLOAT_FORMAT = "%.6g"


def _atomic(path: Path, write: Callable[[str], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are for everyone to read
        with open(tmp, "rb") as fh:  # on disk before the rename, so a power cut cannot leave it empty
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path: Path, text: str) -> None:
    def w(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    _atomic(Path(path), w)


def write_csv(path: Path, df: pd.DataFrame) -> None:
    _atomic(Path(path), lambda tmp: df.to_csv(tmp, index=False, float_format=FLOAT_FORMAT, lineterminator="\n"))


def save_figure(path: Path, fig) -> None:
    """A matplotlib figure as PNG, without a timestamp in its metadata (same figure, same bytes)."""
    _atomic(Path(path), lambda tmp: fig.savefig(tmp, format="png", dpi=130, bbox_inches="tight",
                                                metadata={"Software": None}))


def write_complete(out_dir: Path, files: list[str]) -> None:
    """The marker of a finished directory, written last: the files it holds and their checksums."""
    digests = {name: hashlib.sha256((out_dir / name).read_bytes()).hexdigest() for name in files}
    write_text(out_dir / COMPLETE, json.dumps({"files": files, "sha256": digests}, indent=1) + "\n")


def clear_unfinished(out_dir: Path) -> None:
    """Before (re)writing a directory: it is no longer finished, and temporary files of a run killed
    while writing go."""
    (out_dir / COMPLETE).unlink(missing_ok=True)
    for stale in out_dir.glob(f".*{TMP_SUFFIX}"):
        stale.unlink(missing_ok=True)


def is_complete(run_dir: Path) -> bool:
    """A run directory is finished only when its COMPLETE marker (written last) is there and every
    file it lists exists; anything else is an unfinished directory, whatever else it holds."""
    try:
        files = json.loads((Path(run_dir) / COMPLETE).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return all((Path(run_dir) / name).is_file() for name in files)


# settings that change how a run is shown or launched, never its results
NOT_RESULTS = ("progress",)


def config_record(cfg: SimConfig) -> dict:
    """The config as saved in a run's config.yaml (``resume`` is excluded by the schema)."""
    return cfg.model_dump(mode="json")


def config_text(cfg: SimConfig) -> str:
    return yaml.safe_dump(config_record(cfg), sort_keys=False, allow_unicode=True)


def write_config(out_dir: Path, cfg: SimConfig) -> None:
    write_text(Path(out_dir) / "config.yaml", config_text(cfg))


def _first_difference(old, new, key: str = "") -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for k in list(old) + [k for k in new if k not in old]:
            if k not in old or k not in new:
                return f"{key}{k}: {'only in the new config' if k in new else 'only in the saved one'}"
            diff = _first_difference(old[k], new[k], f"{key}{k}.")
            if diff:
                return diff
        return ""
    return "" if old == new else f"{key.rstrip('.')}: {old!r} there, {new!r} now"


def config_difference(run_dir: Path, cfg: SimConfig) -> str:
    """'' when ``run_dir/config.yaml`` records the same run as ``cfg``, else the first difference."""
    try:
        saved = yaml.safe_load((Path(run_dir) / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return f"config.yaml unreadable: {exc.__class__.__name__}"
    new = yaml.safe_load(config_text(cfg))
    if not isinstance(saved, dict):
        return "config.yaml is not a mapping"
    for k in NOT_RESULTS:
        saved.pop(k, None)
        new.pop(k, None)
    return _first_difference(saved, new)
