"""Speed of the simulator at Chongqing and national scale, and against an idiomatic per-agent Mesa model.

    python experiments/benchmark.py             # full: ~8 min on the 2-core machine
    python experiments/benchmark.py --quick     # ~3 min: fewer repeats, small sweep

Reports, and writes to experiments/results/benchmark-<git short sha>.json:

* the one-off cost of the compiled rules: the first run in a fresh process with an empty numba cache
  (compiles them) and with a filled one (loads them);
* per region (Chongqing, national), on the region's own configuration, 2018-2030 quarterly, after
  a one-year warm-up run that loads the compiled rules (their cost is the item above):
  - model construction time (``SMEModel(cfg, seed)``), median over repeats;
  - simulation time per run (``model.run()``), median over repeats (replication seeds 0..R-1), wall
    and CPU (CPU stays readable when other work shares the machine; the load average is recorded);
  - firm-steps per second: alive firms summed over the quarters (firms alive at the start of each
    step, the ones the step simulates) divided by the simulation's wall seconds;
  - peak memory: peak resident set size (VmHWM) of a fresh subprocess that imports, builds and runs
    one model (the whole process: interpreter and libraries included), the same just before the
    model is built (imports only), and the ``tracemalloc`` peak of the build and run (numpy reports
    its arrays to tracemalloc);
* the per-agent reference (experiments/per_agent_reference.py, one ``mesa.Agent`` per firm) and
  the product side by side in this process, same configuration (Chongqing with its pool and entry
  scaled to 10% and 25%, 2018-2023; quick: fewer repeats), same seeds, alternating; the ratio is
  the median over repeats of reference / product wall time (build and run);
* a whole Chongqing sweep, serial (Hydra's basic launcher) against the default joblib launcher on
  both cores, through experiments/sweep_timing.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# this checkout's sim, the one _git_sha names, before the installed one: run from a git worktree,
# these scripts time that worktree's code (profile_stages.py and normal_draw_cost.py import this first)
sys.path[:0] = [str(HERE), str(ROOT)]


def _config(region: str):
    from sim.commands.run import compose_job

    return compose_job([f"region={region}"]).model_copy(update={"progress": False})


def _git_sha() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    sha = git("rev-parse", "--short", "HEAD") or "nogit"
    dirty = git("status", "--porcelain", "--", "sim", "experiments/per_agent_reference.py")
    return sha + ("-dirty" if dirty else "")


def simulate(model) -> int:
    """Step a built model to its end; return its firm-steps (firms alive at the start of each step)."""
    steps = 0
    while model.running:
        model.step()
        steps += model.n_alive_start
    return steps


def one_year(cfg):
    """``cfg`` cut to its first year: a run that loads (or compiles) every compiled rule."""
    return cfg.model_copy(update={"end_year": cfg.start_year})


def time_runs(model_cls, cfg, repeats: int) -> dict:
    """Construction and simulation time of ``repeats`` runs (replication seeds 0..repeats-1)."""
    seeds = np.random.SeedSequence(cfg.seed).spawn(repeats)
    build, wall, cpu, rate, firm_steps = [], [], [], [], []
    m = None
    for ss in seeds:
        del m  # one model at a time
        t = time.perf_counter()
        m = model_cls(cfg, ss)
        build.append(time.perf_counter() - t)
        t, c = time.perf_counter(), time.process_time()
        steps = simulate(m)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        firm_steps.append(steps)
        rate.append(steps / wall[-1])
    return {
        "repeats": repeats,
        "construction_s_median": round(statistics.median(build), 3),
        "simulation_s_median": round(statistics.median(wall), 3),
        "simulation_s_all": [round(x, 3) for x in wall],
        "simulation_cpu_s_median": round(statistics.median(cpu), 3),
        "firm_steps_median": int(statistics.median(firm_steps)),
        "firm_steps_per_s_median": round(statistics.median(rate)),
    }


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM). Not ``ru_maxrss``: Linux carries that over
    from the parent's memory at fork, so a child of a big parent would report the parent's size."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(region: str) -> None:
    """Run in a fresh subprocess: print peak memory of one build and run as JSON."""
    import tracemalloc

    from sim.model.model import SMEModel

    cfg = _config(region)
    before = peak_rss_mb()
    tracemalloc.start()
    m = SMEModel(cfg, np.random.SeedSequence(cfg.seed).spawn(1)[0])
    m.run()
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps({"peak_rss_mb": round(peak_rss_mb()), "rss_after_imports_mb": round(before),
                      "tracemalloc_peak_mb": round(traced / 2**20)}))


def measure_memory(region: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-child", region]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"memory measurement failed:\n{r.stderr[-2000:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["how"] = ("peak resident set size (VmHWM) of a fresh subprocess (whole process) after one build and run; "
                  "rss_after_imports_mb: the same before the model is built; tracemalloc_peak_mb: "
                  "Python and numpy allocations during build and run")
    return out


def compile_child() -> None:
    """Run in a fresh subprocess: time the imports and a one-year Chongqing run, printed as JSON."""
    t = time.perf_counter()
    from sim.model.model import SMEModel

    imports = time.perf_counter() - t
    cfg = one_year(_config("chongqing"))
    t = time.perf_counter()
    SMEModel(cfg, 0).run()
    print(json.dumps({"imports_s": round(imports, 2), "first_run_s": round(time.perf_counter() - t, 2)}))


def measure_compile() -> dict:
    """The one-off cost of the compiled rules (numba): a first run with an empty cache compiles
    them, later processes load them from the cache. Measured in fresh subprocesses with their own
    cache directory, so the repository's cache is neither used nor disturbed."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        for label in ("cold_cache", "warm_cache"):
            r = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--compile-child"], cwd=ROOT,
                               capture_output=True, text=True, env={**os.environ, "NUMBA_CACHE_DIR": cache})
            if r.returncode != 0:
                raise SystemExit(f"compile measurement failed:\n{r.stderr[-2000:]}")
            out[label] = json.loads(r.stdout.strip().splitlines()[-1])
    out["how"] = ("fresh subprocess: imports, then build and run Chongqing for one year; cold_cache compiles "
                  "every compiled rule (once per install and model change), warm_cache loads them from numba's cache")
    return out


def reference_ratio(share: float, end_year: int, repeats: int) -> dict:
    """The product and the per-agent reference side by side, same configuration and seeds."""
    from per_agent_reference import ReferenceModel, scaled

    from sim.model.model import SMEModel

    cfg = scaled(_config("chongqing"), share, end_year)
    seeds = np.random.SeedSequence(cfg.seed).spawn(repeats)
    prod, ref, ratios, fs_prod, fs_ref = [], [], [], [], []
    for ss in seeds:
        p = time_runs_one(SMEModel, cfg, ss)
        r = time_runs_one(ReferenceModel, cfg, ss)
        prod.append(p[0])
        ref.append(r[0])
        fs_prod.append(p[1] / p[0])
        fs_ref.append(r[1] / r[0])
        ratios.append(r[0] / p[0])
    return {
        "config": f"Chongqing, region.initial_firms x{share} and entries x{share}, {cfg.start_year}-{end_year}"
                  f" ({cfg.region.initial_firms} initial firms)",
        "repeats": repeats,
        "product_s_median": round(statistics.median(prod), 4),
        "reference_s_median": round(statistics.median(ref), 3),
        "product_firm_steps_per_s_median": round(statistics.median(fs_prod)),
        "reference_firm_steps_per_s_median": round(statistics.median(fs_ref)),
        "ratio_median": round(statistics.median(ratios), 1),
        "ratios": [round(x, 1) for x in ratios],
    }


def time_runs_one(model_cls, cfg, ss) -> tuple[float, int]:
    """(wall seconds of build + run, firm-steps) of one run."""
    t = time.perf_counter()
    steps = simulate(model_cls(cfg, ss))
    return time.perf_counter() - t, steps


def sweep(scenarios: str, replications: int) -> dict:
    """Serial vs joblib wall time of one Chongqing sweep, via experiments/sweep_timing.py."""
    import csv

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sweep.csv"
        cmd = [sys.executable, str(HERE / "sweep_timing.py"), "--scenarios", scenarios,
               "--replications", str(replications), "--out", str(out)]
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"sweep timing failed:\n{r.stderr[-2000:]}")
        rows = list(csv.DictReader(open(out)))
    res = {"scenarios": scenarios, "replications": replications,
           "command": f"python experiments/sweep_timing.py --scenarios {scenarios} --replications {replications}"}
    for row in rows:
        res[row["launcher"]] = {k: row[k] for k in ("workers", "wall_s", "cpu_s", "cores_busy", "speedup",
                                                    "load_avg_1m", "command")}
    res["identical_outputs"] = rows[-1].get("identical_outputs")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, small sweep")
    ap.add_argument("--regions", default="chongqing,national")
    ap.add_argument("--repeats", type=int, help="runs per region (default 5 Chongqing / 3 national; quick 3 / 1)")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--out", type=Path, help="results file (default experiments/results/benchmark-<sha>.json)")
    ap.add_argument("--memory-child", help=argparse.SUPPRESS)
    ap.add_argument("--compile-child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.memory_child:
        return memory_child(a.memory_child)
    if a.compile_child:
        return compile_child()

    from sim.model.model import SMEModel

    sha = _git_sha()
    cmdline = "python experiments/benchmark.py " + " ".join(sys.argv[1:])
    res: dict = {
        "commit": sha, "command": cmdline.strip(), "mode": "quick" if a.quick else "full",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"), "python": platform.python_version(),
        "numpy": np.__version__, "numba": __import__("numba").__version__, "cpus": os.cpu_count(), "load_avg_1m_start": round(os.getloadavg()[0], 2),
        "regions": {},
    }
    SMEModel(one_year(_config("chongqing")), 0).run()  # load the compiled rules
    print("[compile] first run with an empty numba cache, then with the cache ...", flush=True)
    res["compile"] = measure_compile()
    print(f"  cold cache: first one-year run {res['compile']['cold_cache']['first_run_s']} s;"
          f" warm cache: {res['compile']['warm_cache']['first_run_s']} s", flush=True)
    for region in a.regions.split(","):
        repeats = a.repeats or ({"national": 1}.get(region, 3) if a.quick else {"national": 3}.get(region, 5))
        print(f"[{region}] {repeats} run(s) ...", flush=True)
        cfg = _config(region)
        r = time_runs(SMEModel, cfg, repeats)
        if not a.no_memory:
            r["memory"] = measure_memory(region)
        r["load_avg_1m"] = round(os.getloadavg()[0], 2)
        res["regions"][region] = r
        mem = r.get("memory", {})
        print(f"  construction {r['construction_s_median']:.2f} s, simulation {r['simulation_s_median']:.2f} s"
              f" (CPU {r['simulation_cpu_s_median']:.2f} s), {r['firm_steps_per_s_median'] / 1e6:.2f} M firm-steps/s"
              + (f", peak RSS {mem['peak_rss_mb']} MB (imports alone {mem['rss_after_imports_mb']} MB,"
                 f" tracemalloc peak {mem['tracemalloc_peak_mb']} MB)" if mem else ""), flush=True)
    if not a.no_reference:
        # the product's fixed cost per quarter weighs more in a small world: two sizes show the trend
        sizes = [(0.1, 2023, 3), (0.25, 2023, 1)] if a.quick else [(0.1, 2023, 5), (0.25, 2023, 3)]
        res["per_agent_reference"] = []
        for share, end_year, repeats in sizes:
            print(f"[reference] per-agent Mesa model vs product, Chongqing x{share}, {repeats} repeats ...", flush=True)
            ref = reference_ratio(share, end_year, repeats)
            res["per_agent_reference"].append(ref)
            print(f"  {ref['config']}: product {ref['product_s_median']:.3f} s, reference {ref['reference_s_median']:.2f} s,"
                  f" ratio x{ref['ratio_median']} (all: {ref['ratios']})", flush=True)
    if not a.no_sweep:
        scenarios, reps = ("baseline,finance_boost", 2) if a.quick else ("baseline,finance_boost,subsidy_boost,full_package", 4)
        print(f"[sweep] {scenarios} x {reps} replications, serial vs joblib ...", flush=True)
        sw = sweep(scenarios, reps)
        res["sweep_chongqing"] = sw
        for name in ("basic", "joblib"):
            if name in sw:
                print(f"  {name:>6}: {sw[name]['wall_s']} s wall, {sw[name]['cpu_s']} s CPU, speed-up x{sw[name]['speedup']}")
    res["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    out = a.out or HERE / "results" / f"benchmark-{sha}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
