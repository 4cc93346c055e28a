"""The result store: one writer per directory, atomic writes, the COMPLETE marker with checksums
that every reader verifies, saved configurations.

Every file is written to a temporary name in the same directory, flushed to disk and renamed into
place, so a crash never leaves a half-written file under its real name; ``COMPLETE`` is written last
and marks a finished run directory. Only ``COMPLETE`` says a directory is finished: Hydra's own files
(``.hydra/``, the job log) are written before the job starts, not atomically, and are not results.
A reader trusts a finished directory only when every file ``COMPLETE`` lists still has the SHA-256
recorded there (``verify``).

A process writes a directory only while it holds the directory's lock (``hold``): an OS-level lock
on ``DIR/.sim.lock`` (the ``filelock`` package: ``flock`` on Unix, ``LockFileEx`` on Windows) that
the operating system releases when the process ends, however it ends, so a killed run never leaves
a stale lock. Who holds it (pid, host, command, start time) is written next to it, in
``DIR/.sim.lock.holder``, so a refusal can name the holder. The lock file itself is never deleted:
deleting it would let two processes lock two different files of the same name.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import filelock
import pandas as pd
import yaml

from sim.core.errors import InputError
from sim.core.paths import display
from sim.core.schema import SimConfig

COMPLETE = "COMPLETE"
COMPLETE_FORMAT = "sim-complete/2"  # v1 (before the format key) had the same files and sha256
LOCK = ".sim.lock"
HOLDER = ".sim.lock.holder"
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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_complete(out_dir: Path, files: list[str]) -> None:
    """The marker of a finished directory, written last: the files it holds and their checksums."""
    out_dir = Path(out_dir)
    digests = {name: _sha256(out_dir / name) for name in files}
    doc = {"format": COMPLETE_FORMAT, "files": files, "sha256": digests}
    write_text(out_dir / COMPLETE, json.dumps(doc, indent=1) + "\n")


def clear_unfinished(out_dir: Path) -> None:
    """Before (re)writing a directory: it is no longer finished, and temporary files of a run killed
    while writing go."""
    (out_dir / COMPLETE).unlink(missing_ok=True)
    for stale in out_dir.glob(f".*{TMP_SUFFIX}"):
        stale.unlink(missing_ok=True)


@dataclass(frozen=True)
class Verdict:
    """What a directory's COMPLETE marker says about it, checked against the files.

    ``state``: ``finished`` (every listed file has its recorded checksum), ``unfinished`` (no
    marker: crashed, killed or still running), ``damaged`` (the marker is not one sim writes, or a
    listed file is missing: partly copied) or ``tampered`` (a listed file changed after the run
    finished). ``file`` is the file at fault and ``why`` says what is wrong with it."""

    state: str
    file: Path | None = None
    why: str = ""

    @property
    def finished(self) -> bool:
        return self.state == "finished"

    def message(self) -> str:
        """One line naming the file: ``results/x/yearly.csv: changed after the run finished (...)``."""
        return f"{display(self.file)}: {self.why}" if self.file is not None else self.why


def _listed(marker: object) -> tuple[list[str], dict[str, str]]:
    """The files and checksums of a parsed marker; ValueError when it is not one sim writes."""
    if not isinstance(marker, dict):
        raise ValueError("not a JSON object")
    files, digests = marker.get("files"), marker.get("sha256")
    if not isinstance(files, list) or not files or not all(isinstance(f, str) and f for f in files):
        raise ValueError("no list of files")
    if not isinstance(digests, dict):
        raise ValueError("no checksums")
    for name in files:
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ValueError(f"lists {name!r}, which is outside its directory")
        if not isinstance(digests.get(name), str) or len(digests[name]) != 64:
            raise ValueError(f"no SHA-256 for {name}")
    return files, digests


def verify(run_dir: Path) -> Verdict:
    """Whether ``run_dir`` is finished and untouched since: its COMPLETE marker is one sim wrote and
    every file it lists still has the checksum recorded there. Never raises for what it reads."""
    run_dir = Path(run_dir)
    marker = run_dir / COMPLETE
    if not os.path.lexists(marker):
        return Verdict("unfinished", None, "no COMPLETE marker (crashed, killed or still running)")
    try:
        files, digests = _listed(json.loads(marker.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:  # unreadable, not UTF-8, not JSON, or not sim's layout
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
        return Verdict("damaged", marker, f"not a COMPLETE marker sim writes ({why})")
    for name in files:
        path = run_dir / name
        try:
            digest = _sha256(path)
        except OSError:
            return Verdict("damaged", path, "listed in COMPLETE but missing or unreadable (damaged or partly copied)")
        if digest != digests[name]:
            return Verdict("tampered", path, "changed after the run finished (its SHA-256 does not match COMPLETE)")
    return Verdict("finished")


def is_complete(run_dir: Path) -> bool:
    """A run directory is finished only when its COMPLETE marker (written last) is there and every
    file it lists still has its recorded checksum; anything else is not a finished directory."""
    return verify(run_dir).finished


# ------------------------------------------------------------------------------- one writer
_HELD: dict[str, list] = {}  # real path of a directory -> [FileLock, depth] held by this process
_HELD_LOCK = threading.Lock()


def holder(directory: Path) -> str:
    """Who holds ``directory``'s lock, from its sidecar file, as a phrase for a message."""
    try:
        h = json.loads((Path(directory) / HOLDER).read_text(encoding="utf-8"))
        return (f"pid {h['pid']} on {h['host']}, since {h['started']}: "
                f"{str(h['command'])[:160]}")
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not recorded itself yet"


def refusal(directory: Path) -> InputError:
    """The one-line refusal to write a directory another process holds, naming that process."""
    return InputError(f"{display(directory)}: another sim process is writing here ({holder(directory)}); "
                      "wait for it to finish or choose another directory")


def held_by_another(directory: Path) -> str | None:
    """The holder of ``directory``'s lock when a live process other than this one holds it, else
    None. Only looks: creates nothing (a directory without a lock file is not held)."""
    directory = Path(directory)
    if os.path.realpath(directory) in _HELD or not (directory / LOCK).is_file():
        return None
    probe = filelock.FileLock(str(directory / LOCK), timeout=0)
    try:
        probe.acquire()
    except filelock.Timeout:
        return holder(directory)
    except OSError:
        return None  # a lock file we may not open is no sign of a writer
    probe.release()
    return None


def _make_dir(directory: Path) -> None:
    """Create ``directory`` and its missing parents; on failure remove what was created and raise
    InputError naming the directory (a read-only place, a file in the way, a full disk)."""
    missing = [p for p in [directory, *directory.parents] if not os.path.lexists(p)]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        for p in missing:  # deepest first
            try:
                p.rmdir()
            except OSError:
                pass
        raise InputError(f"{display(directory)}: cannot create the output directory "
                         f"({exc.strerror or type(exc).__name__})") from None


@contextmanager
def hold(directory: Path, command: str) -> Iterator[None]:
    """Be the only process writing ``directory`` (created if needed) while the block runs; a live
    holder elsewhere -> InputError naming it, with nothing written. Re-entrant within a process."""
    directory = Path(directory)
    key = os.path.realpath(directory)
    with _HELD_LOCK:
        if key in _HELD:
            _HELD[key][1] += 1
            entry = None
        else:
            _make_dir(directory)
            entry = [filelock.FileLock(str(directory / LOCK), timeout=0), 1]
            try:
                entry[0].acquire()
            except filelock.Timeout:
                raise refusal(directory) from None
            except OSError as exc:
                raise InputError(f"{display(directory)}: cannot lock it for writing "
                                 f"({exc.strerror or type(exc).__name__})") from None
            _HELD[key] = entry
    try:
        if entry is not None:
            started = _dt.datetime.now().isoformat(sep=" ", timespec="seconds")
            write_text(directory / HOLDER, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                       "command": command, "started": started}) + "\n")
        yield
    finally:
        with _HELD_LOCK:
            _HELD[key][1] -= 1
            if _HELD[key][1] == 0:
                lock = _HELD.pop(key)[0]
                (directory / HOLDER).unlink(missing_ok=True)
                lock.release()


# settings that change how a run is shown or launched, never its results
NOT_RESULTS = ("progress",)


def config_record(cfg: SimConfig) -> dict:
    """The config as saved in a run's config.yaml (``resume`` is excluded by the schema)."""
    return cfg.model_dump(mode="json")


def config_text(cfg: SimConfig) -> str:
    return yaml.safe_dump(config_record(cfg), sort_keys=False, allow_unicode=True)


def write_config(out_dir: Path, cfg: SimConfig) -> None:
    write_text(Path(out_dir) / "config.yaml", config_text(cfg))


MISSING = object()  # a key one of two compared trees lacks


def differences(old, new, key: str = ""):
    """Each place two loaded YAML trees differ, in order: (dotted key, old value, new value), MISSING
    where one of them lacks the key."""
    if isinstance(old, dict) and isinstance(new, dict):
        for k in list(old) + [k for k in new if k not in old]:
            if k not in old or k not in new:
                yield f"{key}{k}", old.get(k, MISSING), new.get(k, MISSING)
            else:
                yield from differences(old[k], new[k], f"{key}{k}.")
    elif old != new:
        yield key.rstrip("."), old, new


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
    for key, old, now in differences(saved, new):
        if MISSING in (old, now):
            return f"{key}: {'only in the new config' if old is MISSING else 'only in the saved one'}"
        return f"{key}: {old!r} there, {now!r} now"
    return ""
