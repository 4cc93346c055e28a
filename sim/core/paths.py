"""Where the project's files are: the repository, its configs, the calibrated defaults and results.

Relative paths a user gives (a reported-figures file, a calibrated file) are read from the working
directory when they exist there, else from the repository, so the documented defaults work from
any directory."""

from __future__ import annotations

import os
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
    except ValueError:
        return str(path)
