"""Two commands writing one directory at once: is a finished job ever mixed from two configs, or
lost? (issue 13: two sweeps into one hydra.sweep.dir, seed=0 and a moment later seed=1, both exited
0 and in 2 of 4 trials ``0_baseline`` held seed 1's CSVs with seed 0's chart.)

A trial starts command A, waits a random delay, starts command B into the same directory, and
waits for both. Then every job directory whose COMPLETE marker verifies must hold, file for file,
exactly what that config gives when run alone (the reference, run once per config beforehand);
every job that was finished before the trial must still be; every refusal must be one line.

    python experiments/concurrent_sweeps.py [--trials 20] [--seed 13]   # prints a JSON summary

``tests/test_concurrency.py`` runs the same trials (slow).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sim.experiment.store import COMPLETE, is_complete  # noqa: E402

QUICK = ["end_year=2020", "outcomes.report_years=[2019,2020]", "replications=2", "progress=false",
         "hydra/launcher=basic"]
SCENARIOS = "+scenario=baseline,finance_boost"
JOBS = ("0_baseline", "1_finance_boost")
# the commands a trial pairs, each writing (or reading) the directory DIR
COMMANDS = {
    "sweep seed=0": ["run", "-m", SCENARIOS, *QUICK, "seed=0", "hydra.sweep.dir=DIR"],
    "sweep seed=1": ["run", "-m", SCENARIOS, *QUICK, "seed=1", "hydra.sweep.dir=DIR"],
    "resume seed=0": ["run", "-m", SCENARIOS, *QUICK, "seed=0", "hydra.sweep.dir=DIR", "resume=true"],
    "run seed=1 into a job": ["run", "+scenario=baseline", *QUICK[:-1], "seed=1", "hydra.run.dir=DIR/0_baseline"],
    "compare": ["compare", "DIR"],
}
ENV = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}


def start(name: str, directory: Path, cwd: Path) -> subprocess.Popen:
    args = [a.replace("DIR", str(directory)) for a in COMMANDS[name]]
    return subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=cwd, env=ENV, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def listed(job: Path) -> dict[str, bytes]:
    """The files a finished job's COMPLETE lists, with their bytes."""
    return {f: (job / f).read_bytes() for f in json.loads((job / COMPLETE).read_text())["files"]}


def references(root: Path) -> dict[int, dict[str, dict[str, bytes]]]:
    """Seed -> job -> file -> bytes, each sweep run alone."""
    refs = {}
    for seed in (0, 1):
        d = root / f"reference-seed{seed}"
        p = start(f"sweep seed={seed}", d, root)
        _, err = p.communicate(timeout=600)
        if p.returncode:
            raise SystemExit(f"reference sweep seed={seed} failed:\n{err[-3000:]}")
        refs[seed] = {j: listed(d / j) for j in JOBS}
    return refs


def check(directory: Path, refs: dict, finished_before: set[str]) -> list[str]:
    """What is wrong with the directory after a trial ([] when nothing is)."""
    wrong = []
    for j in JOBS:
        d = directory / j
        if not is_complete(d):
            if j in finished_before:
                wrong.append(f"{j}: finished before the trial, not any more (lost)")
            continue
        seed = int(next(line.split(":")[1] for line in (d / "config.yaml").read_text().splitlines()
                        if line.startswith("seed:")))
        ref = refs[seed][j]
        got = listed(d)
        mixed = sorted(f for f in set(ref) | set(got) if got.get(f) != ref.get(f))
        if mixed:
            wrong.append(f"{j}: config of seed {seed} but {', '.join(mixed)} differ from that config's own (mixed)")
    return wrong


def trial(root: Path, refs: dict, first: str, second: str, delay: float, prepared: bool) -> dict:
    """One trial in a fresh directory (holding a finished seed-0 sweep when ``prepared``)."""
    directory = Path(tempfile.mkdtemp(dir=root)) / "sweep"
    if prepared:
        p = start("sweep seed=0", directory, root)
        p.communicate(timeout=600)
    finished_before = {j for j in JOBS if is_complete(directory / j)}
    a = start(first, directory, root)
    time.sleep(delay)
    b = start(second, directory, root)
    out = {"first": first, "second": second, "delay_s": round(delay, 2), "prepared": prepared, "exits": []}
    for p in (a, b):
        _, err = p.communicate(timeout=900)
        lines = err.strip().splitlines()
        sim_lines = [ln for ln in lines if ln.startswith("sim: ")]
        out["exits"].append({"code": p.returncode, "refusal": sim_lines[0] if p.returncode == 2 and sim_lines else "",
                             "one_line": p.returncode != 2 or len(lines) == 1})
    out["wrong"] = check(directory, refs, finished_before)
    out["wrong"] += [f"exit {e['code']}" for e in out["exits"] if e["code"] not in (0, 2)]
    out["wrong"] += [f"refusal not one line: {e}" for e in out["exits"] if not e["one_line"]]
    return out


def kind(refusal: str) -> str:
    if "another sim process is writing here" in refusal:
        return "refused: lock held, holder named"
    if "different config" in refusal:
        return "refused: finished run of a different config"
    return f"refused: {refusal[:60]}" if refusal else "ran"


def two_sweeps(root: Path, refs: dict, trials: int, rng: random.Random) -> dict:
    """The issue's experiment: sweep seed=0, then after 0-8 s sweep seed=1, into one directory."""
    results = [trial(root, refs, "sweep seed=0", "sweep seed=1", rng.uniform(0.0, 8.0), False) for _ in range(trials)]
    outcomes = collections.Counter(kind(t["exits"][1]["refusal"]) if t["exits"][1]["code"] == 2 else
                                   (kind(t["exits"][0]["refusal"]) + " (the first)" if t["exits"][0]["code"] == 2
                                    else "both ran") for t in results)
    return {"trials": trials, "mixed_or_lost": sum(bool(t["wrong"]) for t in results),
            "outcomes_of_the_second": dict(outcomes), "problems": [t for t in results if t["wrong"]]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sim-concurrent-") as tmp:
        root = Path(tmp)
        t0 = time.monotonic()
        summary = two_sweeps(root, references(root), args.trials, random.Random(args.seed))
        summary["wall_s"] = round(time.monotonic() - t0, 1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
