"""Each firm's own random draws, keyed by (mechanism, quarter, draw number, firm).

A firm's draw for a mechanism in a quarter is a pure function of the run's key for that mechanism,
the quarter, the draw number and the firm's slot: ``mix(mix(key + (4 * quarter + draw) * G) + slot * G)``
with SplitMix64's finaliser ``mix`` and its increment ``G`` (Steele, Lea & Flood 2014, the generator
behind Java's SplittableRandom). For a fixed mechanism, quarter and draw number this is exactly a
SplitMix64 sequence jumped to position ``slot``, which passes BigCrush; the starting points of two
sequences are themselves SplitMix64 outputs. Keys come from the run's SeedSequence, one per mechanism.

Why counter-keyed rather than one numpy Generator per mechanism: a firm's luck then depends on
nothing but its own identity, so
* only the firms a rule concerns are drawn for (alive firms, this quarter's applicants), never the
  dead slots a sequential stream would have to step over to stay aligned;
* replication k of two scenarios gives a firm the same draws whatever else differs (common random
  numbers), and a rule may visit firms in any order, or in a compiled loop (``numba``), without
  changing any result.
numpy has counter-based bit generators (Philox) but no per-element keyed access from compiled loops;
the mixer is seven integer operations, kept here with its tests (``tests/test_draws.py``).

Uniforms carry 53 random bits. A normal uses the polar method on 32-bit coordinates, so its tails
end near 9 standard deviations, far beyond anything a rule here distinguishes.

The compiled rules are cached by numba next to their modules (``__pycache__``). Numba checks only
the caller's own file, so after editing this module delete the caches (``find sim -name '*.nb[ic]'
-delete``) or the other modules' compiled rules keep the old draws.
"""

from __future__ import annotations

import numba
import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
DRAWS_PER_QUARTER = 4  # draw numbers 0..3 of a mechanism for one firm in one quarter


@numba.njit(cache=True, inline="always")
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, inline="always")
def quarter_key(key, quarter, draw):
    """The start of a mechanism's sequence for one quarter and draw number (0..3)."""
    return _mix(key + np.uint64(DRAWS_PER_QUARTER * quarter + draw) * GOLDEN)


@numba.njit(cache=True, inline="always")
def uniform(qkey, slot):
    """Uniform on [0, 1) for firm ``slot`` (53 random bits)."""
    return np.float64(_mix(qkey + np.uint64(slot) * GOLDEN) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, inline="always")
def normal_pair(qkey, slot):
    """Two independent standard normals for firm ``slot``: Marsaglia's polar method on the two
    32-bit halves of a draw, a point in the square [-1, 1)^2; a point outside the unit disc (21% of
    them) is replaced by the next value of the firm's own chain ``mix(z)``. No cosine, and both
    coordinates are used: a quarter of the cost of two Box-Muller normals in a compiled loop."""
    z = _mix(qkey + np.uint64(slot) * GOLDEN)
    while True:
        x = np.float64(z >> np.uint64(32)) * (2.0 / 4294967296.0) - 1.0
        y = np.float64(z & np.uint64(0xFFFFFFFF)) * (2.0 / 4294967296.0) - 1.0
        s = x * x + y * y
        if 0.0 < s < 1.0:
            f = np.sqrt(-2.0 * np.log(s) / s)
            return x * f, y * f
        z = _mix(z)


@numba.njit(cache=True, inline="always")
def normal(qkey, slot):
    """One standard normal for firm ``slot`` (the first of ``normal_pair``)."""
    return normal_pair(qkey, slot)[0]


@numba.njit(cache=True)
def _many(key, quarter, draw, slots, gaussian):
    qkey = quarter_key(key, quarter, draw)
    out = np.empty(slots.size)
    for j in range(slots.size):
        out[j] = normal(qkey, slots[j]) if gaussian else uniform(qkey, slots[j])
    return out


def uniforms(key: np.uint64, quarter: int, draw: int, slots: np.ndarray) -> np.ndarray:
    """``uniform`` for each of ``slots`` (for rules written with numpy)."""
    return _many(key, quarter, draw, slots, False)


def normals(key: np.uint64, quarter: int, draw: int, slots: np.ndarray) -> np.ndarray:
    """``normal`` for each of ``slots`` (for rules written with numpy)."""
    return _many(key, quarter, draw, slots, True)


def stream_keys(seeds: list[np.random.SeedSequence]) -> list[np.uint64]:
    """One 64-bit key per mechanism, from its own child of the run's SeedSequence."""
    return [np.uint64(s.generate_state(1, np.uint64)[0]) for s in seeds]
