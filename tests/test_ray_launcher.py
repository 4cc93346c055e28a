"""A sweep through Hydra's Ray launcher, on a Ray instance started on this machine, gives the same job
outputs as the local launchers and still ends with the comparison (the callback runs in the driver).

Optional extra: skipped, with the reason, when hydra-ray-launcher / ray are not installed.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # parent package missing
        return False


pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not (installed("ray") and installed("hydra_plugins.hydra_ray_launcher")),
    reason="hydra-ray-launcher and ray not installed (optional extra: pip install -e '.[ray]')")]

OVERRIDES = ["+scenario=baseline,subsidy_boost", "replications=2", "end_year=2019", "outcomes.report_years=[2019]",
             "progress=false"]
# no usage reporting, no dashboard, nothing but this machine
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DISABLE_DOCKER_CPU_WARNING": "1", "MPLBACKEND": "Agg"}


def _sweep(cwd: Path, name: str, *extra: str) -> Path:
    d = cwd / name
    r = subprocess.run([sys.executable, "-m", "sim", "run", "-m", *OVERRIDES, *extra, f"hydra.sweep.dir={d}"],
                       cwd=cwd, capture_output=True, text=True, env={**os.environ, **RAY_ENV}, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return d


def test_ray_launcher_runs_the_sweep_like_a_local_launcher(tmp_path):
    ray_dir = _sweep(tmp_path, "ray", "hydra/launcher=ray_local", "hydra.launcher.ray.init.num_cpus=2")
    local_dir = _sweep(tmp_path, "basic", "hydra/launcher=basic")
    for job in ("0_baseline", "1_subsidy_boost"):
        assert (ray_dir / job / "COMPLETE").is_file()
        # same seed -> same random streams, whichever process or launcher ran the job
        assert (ray_dir / job / "yearly.csv").read_bytes() == (local_dir / job / "yearly.csv").read_bytes()
    assert (ray_dir / "comparison" / "report.html").is_file()
    assert (ray_dir / "comparison" / "comparison.csv").read_bytes() == \
        (local_dir / "comparison" / "comparison.csv").read_bytes()
