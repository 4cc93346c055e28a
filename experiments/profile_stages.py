"""Where a run's time goes: wall time per stage of the quarter, for one region.

    python experiments/profile_stages.py                    # national, 2 runs after a warm-up
    python experiments/profile_stages.py --region chongqing --runs 5
    python experiments/profile_stages.py --reference-size 0.1   # the benchmark's small Chongqing world

Each stage function that ``SMEModel.step`` calls is wrapped with a timer (the compiled per-firm loops
run inside the stage that calls them); what is left of the step (the DataCollector, stock counts,
Mesa's own step machinery) is reported as "rest of the step". Timers add well under 1% at national
scale. For a function-level view use cProfile (``python -m cProfile -s tottime``) or line_profiler,
as done for the figures in the README.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

STAGES = {
    "sim.model.policies.chain_leaders": ["leaders_decide", "matchmaking"],
    "sim.model.dynamics": ["grow", "exits", "entry", "close_year"],
    "sim.model.policies.loans": ["credit_round"],
    "sim.model.policies.review": ["review_expiring", "dynamic_exit", "recognise"],
}


def instrument(spent: collections.Counter) -> None:
    """Wrap every stage function (as ``sim.model`` calls it, through its module) with a timer."""
    import importlib

    for module, names in STAGES.items():
        mod = importlib.import_module(module)
        for name in names:
            fn = getattr(mod, name)

            def timed(*args, _fn=fn, _name=name, **kwargs):
                t = time.perf_counter()
                try:
                    return _fn(*args, **kwargs)
                finally:
                    spent[_name] += time.perf_counter() - t

            setattr(mod, name, timed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--region", default="national")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--reference-size", type=float, help="Chongqing scaled to this share, 2018-2023 (as benchmark.py)")
    a = ap.parse_args()

    from benchmark import _config, one_year, simulate

    from sim.model.model import SMEModel

    if a.reference_size:
        from per_agent_reference import scaled

        cfg, label = scaled(_config("chongqing"), a.reference_size, 2023), f"chongqing x{a.reference_size}, 2018-2023"
    else:
        cfg = _config(a.region)
        label = f"{a.region}, {cfg.start_year}-{cfg.end_year}"
    SMEModel(one_year(cfg), 0).run()  # load the compiled rules
    spent: collections.Counter = collections.Counter()
    instrument(spent)
    build = run = firm_steps = 0.0
    for seed in range(a.runs):
        t = time.perf_counter()
        m = SMEModel(cfg, seed)
        build += time.perf_counter() - t
        t = time.perf_counter()
        firm_steps += simulate(m)
        run += time.perf_counter() - t
    n = a.runs
    print(f"{label}: {n} run(s); per run: build {build / n:.3f} s, simulation {run / n:.3f} s,"
          f" {firm_steps / run / 1e6:.2f} M firm-steps/s")
    rest = run - sum(spent.values())
    for name, s in [*spent.most_common(), ("rest of the step", rest)]:
        print(f"  {name:<18} {s / n:8.3f} s  {100 * s / run:5.1f}%  {1e9 * s / firm_steps:6.1f} ns per firm-step")


if __name__ == "__main__":
    main()
