"""What the growth stage's normal draws cost, against a floor of one keyed mix per normal.

    python experiments/normal_draw_cost.py                  # national at 2024, 9 timings each
    python experiments/normal_draw_cost.py --repeats 15

The growth stage (``sim.model.dynamics.grow``) is the largest part of a national run
(``profile_stages.py``), and each firm draws three standard normals in it (``sim.model.draws``).
This script builds the national model to the end of 2024, then times ``grow`` on that state twice,
alternating: as it is, and with each normal replaced by one keyed mix scaled to a similar spread
(not a normal: a floor for any exact method). The difference is what the normals cost; both
variants are compiled from the same source. Timings only: the stand-in changes results, so it never
runs a model to the end.

It decided the draws' method: with Marsaglia's polar method (a logarithm, a square root and a
division per pair) the normals cost 49-54 of 122-132 ns per firm and quarter (2026-12-07); the
ziggurat that replaced it costs 5-12 ns over the floor (growth 77-101 ns). Run from a git worktree,
it times that worktree's code (``benchmark.py`` puts its checkout first on the path).
"""

from __future__ import annotations

import argparse
import sys
import time
import types
from pathlib import Path

import numba
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

DRAWS_IMPORT = "from sim.model.draws import happens, normal, normal_pair, uniform"


def _cheap_draws() -> dict:
    """``normal``/``normal_pair`` stand-ins that cost one mix: the firm's own ``uniform``, spread
    over about [-1.7, 1.7] (a pair shares it)."""
    from sim.model.draws import uniform

    @numba.njit(inline="always")
    def normal_pair(qkey, slot):
        x = 3.4 * uniform(qkey, slot) - 1.7
        return x, -x

    @numba.njit(inline="always")
    def normal(qkey, slot):
        return normal_pair(qkey, slot)[0]

    return {"normal": normal, "normal_pair": normal_pair}


def _dynamics(cheap: bool) -> types.ModuleType:
    """``sim.model.dynamics`` compiled afresh (no cache), with the cheap normals if ``cheap``."""
    from sim.model import dynamics

    src = Path(dynamics.__file__).read_text().replace("cache=True", "cache=False")
    assert DRAWS_IMPORT in src, "sim.model.dynamics no longer imports its draws as this script expects"
    mod = types.ModuleType("dynamics_timed")
    if cheap:
        src = src.replace(DRAWS_IMPORT, "from sim.model.draws import happens, uniform")
        mod.__dict__.update(_cheap_draws())
    exec(compile(src, f"<dynamics, cheap={cheap}>", "exec"), mod.__dict__)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=9)
    a = ap.parse_args()
    from benchmark import _config, simulate

    from sim.model.model import SMEModel

    model = SMEModel(_config("national").model_copy(update={"end_year": 2024}), 0)
    simulate(model)
    variants = {"normals as drawn now": _dynamics(False), "one mix per normal (floor)": _dynamics(True)}
    for mod in variants.values():
        mod.grow(model)  # compile
    spent: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(a.repeats):
        for name, mod in variants.items():
            t = time.perf_counter()
            mod.grow(model)
            spent[name].append((time.perf_counter() - t) * 1e9 / model.live.size)
    print(f"national at the end of 2024, {model.live.size:,} firms alive; grow, ns per firm (median of {a.repeats}):")
    for name, v in spent.items():
        print(f"  {name:<28} {np.median(v):6.1f}")
    now, floor = (np.median(v) for v in spent.values())
    print(f"  the normals cost {now - floor:.1f} ns per firm and quarter ({100 * (now - floor) / now:.0f}% of grow)")


if __name__ == "__main__":
    main()
