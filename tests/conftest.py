"""Shared helpers: run the real CLI in a subprocess, and read a run directory's data outputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# a run that takes about a second: three simulated years, two report years, two replications
SHORT = ["end_year=2020", "outcomes.report_years=[2019,2020]", "replications=2", "progress=false"]
# the files analysts cite: must be byte-identical for the same config and seed
DATA_FILES = ("timeseries.csv", "yearly.csv", "summary.csv", "summary.md")


def sim_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "sim", *args]


def run_sim(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m sim ARGS` in ``cwd`` (the repo is importable from anywhere: installed editable)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(sim_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def data_outputs(run_dir: Path) -> dict[str, bytes]:
    """The data files of a run directory (every CSV and summary.md; never a temp file), by name."""
    return {p.name: p.read_bytes() for p in sorted(Path(run_dir).iterdir())
            if p.suffix in (".csv", ".md") and not p.name.startswith(".")}


def job_dirs(sweep_dir: Path) -> dict[str, Path]:
    """Job directories of a sweep (``<num>_<scenario>``), by name."""
    return {p.name: p for p in sorted(Path(sweep_dir).iterdir()) if p.is_dir() and p.name[:1].isdigit()}


# ------------------------------------------------------------------------- schema introspection
def leaf_fields(model, prefix: str = ""):
    """Scalar fields of a pydantic block, recursively: (dotted path, base type, bounds, optional,
    default). Tests generate values from the schema itself, so a new field is covered the day it
    is added. ``bounds`` maps ge/gt/le/lt to their limits."""
    import types
    import typing

    from pydantic import BaseModel

    for name, info in model.model_fields.items():
        tp, optional = info.annotation, False
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            optional = len(args) < len(typing.get_args(tp))
            tp = args[0] if len(args) == 1 else tp
        metadata = list(info.metadata)
        if typing.get_origin(tp) is typing.Annotated:
            tp, *extra = typing.get_args(tp)
            for e in extra:
                metadata += list(getattr(e, "metadata", [])) or [e]
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            yield from leaf_fields(tp, f"{prefix}{name}.")
            continue
        bounds = {k: getattr(m, k) for m in metadata for k in ("ge", "gt", "le", "lt")
                  if getattr(m, k, None) is not None}
        yield f"{prefix}{name}", tp, bounds, optional, info.default
