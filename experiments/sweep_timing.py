"""Wall time of one sweep, serial (Hydra's basic launcher) against the default joblib launcher.

    python experiments/sweep_timing.py --scenarios baseline,finance_boost,full_package --replications 4

Runs `python -m sim run -m +scenario=... replications=R` twice in a scratch directory, once with
`hydra/launcher=basic` and once with the joblib launcher (`hydra.launcher.n_jobs=N`), checks that both
give byte-identical job outputs (same seeds, whatever the launcher), and appends the figures to
experiments/results/sweep_timing.csv (and prints them), with the CPU time of the sweep's processes: CPU /
wall says how many cores the sweep kept busy, which stays readable when other work shares the machine
(the 1-minute load average before each sweep is recorded too). Wall time includes Python start-up, Hydra,
every job's outputs and charts, and the sweep comparison the callback writes at the end; the time of
that comparison alone is measured by running `python -m sim compare` once more.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "sweep_timing.csv"
FIELDS = ["when", "region", "scenarios", "replications", "end_year", "jobs", "launcher", "workers", "wall_s",
          "cpu_s", "cores_busy", "compare_s", "speedup", "identical_outputs", "cpus", "load_avg_1m", "python",
          "command"]


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and all its worker processes)."""
    c0, t0 = _children_cpu(), time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    if r.returncode != 0:
        sys.exit(f"sweep failed ({' '.join(cmd)}):\n{r.stderr[-2000:]}")
    return wall, cpu


def identical(a: Path, b: Path) -> bool:
    jobs = sorted(p.name for p in a.iterdir() if (p / "yearly.csv").is_file())
    return bool(jobs) and all((a / j / f).read_bytes() == (b / j / f).read_bytes()
                              for j in jobs for f in ("yearly.csv", "timeseries.csv", "summary.csv"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenarios", default="baseline,finance_boost,full_package")
    p.add_argument("--replications", type=int, default=4)
    p.add_argument("--region", default="chongqing")
    p.add_argument("--end-year", type=int, default=2030)
    p.add_argument("--workers", type=int, default=2, help="joblib workers (hydra.launcher.n_jobs)")
    p.add_argument("--skip-serial", action="store_true", help="time the joblib launcher only")
    p.add_argument("--out", type=Path, default=RESULTS)
    a = p.parse_args()

    scenarios = a.scenarios.split(",")
    base = [sys.executable, "-m", "sim", "run", "-m", f"+scenario={a.scenarios}", f"replications={a.replications}",
            f"region={a.region}", f"end_year={a.end_year}", "progress=false"]
    scratch = Path(tempfile.mkdtemp(prefix="sweep_timing_"))
    rows = []
    try:
        runs = [] if a.skip_serial else [("basic", 1, ["hydra/launcher=basic"])]
        runs.append(("joblib", a.workers, [f"hydra.launcher.n_jobs={a.workers}"]))
        dirs = {}
        for name, workers, extra in runs:
            d = scratch / name
            cmd = [*base, *extra, f"hydra.sweep.dir={d}"]
            load = round(os.getloadavg()[0], 2)
            wall, cpu = run(cmd, scratch)
            dirs[name] = d
            rows.append({"launcher": name, "workers": workers, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                         "cores_busy": round(cpu / wall, 2), "load_avg_1m": load,
                         "command": " ".join(["python", *cmd[1:-1]])})
        compare_s = round(run([sys.executable, "-m", "sim", "compare", str(dirs["joblib"])], scratch)[0], 1)
        same = identical(dirs["basic"], dirs["joblib"]) if "basic" in dirs else ""
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    serial = next((r["wall_s"] for r in rows if r["launcher"] == "basic"), None)
    common = {"when": dt.datetime.now().isoformat(timespec="seconds"), "region": a.region,
              "scenarios": a.scenarios, "replications": a.replications, "end_year": a.end_year,
              "jobs": len(scenarios), "compare_s": compare_s, "identical_outputs": same,
              "cpus": os.cpu_count(),
              "python": platform.python_version()}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    new = not a.out.exists()
    with open(a.out, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        if new:
            w.writeheader()
        for r in rows:
            r.update(common, speedup=round(serial / r["wall_s"], 2) if serial else "")
            w.writerow(r)
    for r in rows:
        print(f"{r['launcher']:>6} ({r['workers']} worker{'s' if r['workers'] > 1 else ''}): {r['wall_s']:7.1f} s wall,"
              f" {r['cpu_s']:7.1f} s CPU ({r['cores_busy']} cores busy on average)"
              + (f", speed-up x{r['speedup']}" if r["speedup"] != "" else ""))
    print(f"sweep comparison alone: {compare_s} s; identical job outputs across launchers: {same}")
    print(f"appended to {a.out}")


if __name__ == "__main__":
    main()
