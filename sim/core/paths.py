"""Where the project's files are: the repository, its configs, the calibrated defaults and results.

Relative paths a user gives (a reported-figures file, a calibrated file) are read from the working
directory when they exist there, else from the repository, so the documented defaults work from
any directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CONFIG_DIR = REPO_ROOT / "configs"
CALIBRATED_DIR = CONFIG_DIR / "calibrated"
SIM_DIR = REPO_ROOT / "sim"


def resolve_path(given: str | os.PathLike) -> Path:
    """As given when absolute or present from the working directory, else from the repo root."""
    p = Path(given)
    return p if p.is_absolute() or p.exists() else REPO_ROOT / p


def display(path: str | os.PathLike) -> str:
    """Repo-relative when inside the repo, so messages name files the way a user knows them."""
    try:
        return Path(path).resolve().relative_to(REPO_ROOT).as_posix()
    except (ValueError, OSError, RuntimeError):  # outside the repo, or a symlink loop on the way
        return str(path)


def inside(path: str | os.PathLike, base: str | os.PathLike) -> bool:
    """Whether ``path`` lies in ``base`` (or is it) once ``..`` is taken literally, without
    following symlinks: what a name such as ``../../x`` inside an output path would reach."""
    p, b = os.path.normpath(os.path.abspath(path)), os.path.normpath(os.path.abspath(base))
    return p == b or p.startswith(b.rstrip(os.sep) + os.sep)


def unusable_dir(path: str | os.PathLike) -> str:
    """Why ``path`` cannot be (made) a directory, or '' when it can: walking down from the root,
    every part that exists must be a directory (a file, a dangling symlink or a symlink loop in
    the way is named) and the deepest existing one must be writable. Looks only, creates nothing."""
    target = Path(os.path.abspath(path))
    last = Path(target.anchor)
    for part in [*reversed(target.parents), target][1:]:
        if not os.path.lexists(part):
            break
        try:
            mode = os.stat(part).st_mode  # follows symlinks
        except FileNotFoundError:
            return f"{part} is in the way: it is a symlink to nothing (dangling), not a directory"
        except OSError as exc:  # a symlink loop, or a part this user may not look into
            return f"{part} is in the way: {exc.strerror or type(exc).__name__}"
        if not stat.S_ISDIR(mode):
            return f"{part} is in the way: it is a file, not a directory"
        last = part
    if not os.access(last, os.W_OK | os.X_OK):
        return f"{last} is not writable" if last != target else f"{target} is not writable"
    return ""
