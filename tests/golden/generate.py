"""The golden set: data outputs of fixed configurations, so a change meant to alter no result can
prove it byte for byte (``tests/test_golden.py``).

Three sweeps through the real command line (Hydra's basic launcher, one process):
* Chongqing, every scenario, seeds 0 and 1, 2 replications each, 2018-2030;
* national on a population scaled to a tenth (pool, SRDI holders, entry), same scenarios and seeds,
  one replication each (full size takes 10 s a run; the rules are the same);
* a 3-package Chongqing sweep with 3 replications, whose comparison is part of the set.

``python tests/golden/generate.py OUT_DIR`` writes the sweeps under OUT_DIR and prints the manifest
(file -> sha256); ``--write`` also stores it as ``tests/golden/manifest.json``. Regenerate the
manifest only in a commit that changes results on purpose, and say so in its message.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MANIFEST = HERE / "manifest.json"
SCENARIOS = "baseline,chain_leader_open,finance_boost,full_package,lenient_review,strict_review,subsidy_boost"
NATIONAL_TENTH = ["region=national", "region.initial_firms=70000", "region.initial_srdi=2500",
                  "~region.entries_per_year", "+region.entries_per_year={2018:9000,2021:12000,2024:13000,2030:13000}"]
SWEEPS = {
    "chongqing": ["+scenario=" + SCENARIOS, "seed=0,1", "replications=2"],
    "national": ["+scenario=" + SCENARIOS, "seed=0,1", "replications=1", *NATIONAL_TENTH],
    "packages": ["+scenario=baseline,finance_boost,full_package", "replications=3"],
}
# the files analysts cite, in a job directory and in a comparison
JOB_FILES = ("timeseries.csv", "yearly.csv", "summary.csv", "parameters.csv")
COMPARISON_FILES = ("comparison.csv", "ranking.csv")


def run(out: Path) -> dict[str, str]:
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "HYDRA_FULL_ERROR": "1"}
    for name, args in SWEEPS.items():
        cmd = [sys.executable, "-m", "sim", "run", "-m", *args, "progress=false", "hydra/launcher=basic",
               f"hydra.sweep.dir={out / name}"]
        r = subprocess.run(cmd, cwd=out, env=env, capture_output=True, text=True)
        if r.returncode:
            raise SystemExit(f"golden sweep {name} failed:\n{r.stderr[-4000:]}")
    return manifest(out)


def manifest(out: Path) -> dict[str, str]:
    digests = {}
    for sweep in sorted(SWEEPS):
        for job in sorted(p for p in (out / sweep).iterdir() if p.is_dir()):
            wanted = COMPARISON_FILES if job.name == "comparison" else JOB_FILES
            for f in wanted:
                path = job / f
                if path.is_file():
                    digests[f"{sweep}/{job.name}/{f}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--write", action="store_true", help="store the manifest as tests/golden/manifest.json")
    args = p.parse_args()
    digests = run(args.out.resolve())
    text = json.dumps(digests, indent=1, sort_keys=True) + "\n"
    if args.write:
        MANIFEST.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
