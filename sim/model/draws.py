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

Uniforms carry 53 random bits. A normal is a ziggurat on 32 bits of a draw (a position resolved
to 2^-23 of its layer) with an exact tail, far finer than anything a rule here distinguishes.

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
def _draw(qkey, slot):
    """Firm ``slot``'s 64-bit draw in the sequence ``qkey``: every uniform and normal starts here."""
    return _mix(qkey + np.uint64(slot) * GOLDEN)


@numba.njit(cache=True, inline="always")
def uniform(qkey, slot):
    """Uniform on [0, 1) for firm ``slot`` (53 random bits)."""
    return np.float64(_draw(qkey, slot) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, inline="always")
def happens(qkey, slot, lam):
    """Whether an event of rate ``lam`` (a Poisson mean) happens to firm ``slot``, at least once:
    its uniform below 1 - exp(-lam). That chance lies in [lam (1 - lam/2), lam], so the uniform
    settles almost every firm without ``expm1``; the bounds are widened by 1e-12, far beyond the
    rounding of either side, so the answer is always the exact comparison's."""
    u = uniform(qkey, slot)
    if u < lam * (1.0 - 0.5 * lam) * (1.0 - 1e-12):
        return True
    return u < lam * (1.0 + 1e-12) and u < -np.expm1(-lam)


def _ziggurat_tables(layers: int = 256, r: float = 3.6541528853610088, v: float = 4.92867323399e-3):
    """Marsaglia & Tsang's (2000) 256 layers of equal area ``v`` under exp(-x^2/2), the base layer
    reaching ``r``, laid out as in Doornik's ZIGNOR (2005): ``x[i]`` the right edge of layer i (``x[0]``
    = v / f(r), the base rectangle's width that holds the tail's area), ``ratio[i] = x[i+1] / x[i]``
    the share of layer i that lies wholly under the curve."""
    x = np.zeros(layers + 1)
    f = np.exp(-0.5 * r * r)
    x[0], x[1] = v / f, r
    for i in range(2, layers):
        x[i] = np.sqrt(-2.0 * np.log(v / x[i - 1] + f))
        f = np.exp(-0.5 * x[i] * x[i])
    return x, x[1:] / x[:-1]


ZIG_X, ZIG_RATIO = _ziggurat_tables()
ZIG_R = ZIG_X[1]
_LOW32 = np.uint64(0xFFFFFFFF)


@numba.njit(cache=True, inline="always")
def _open_unit(z):
    """Uniform on (0, 1] from a mixed word (53 bits), safe under a logarithm."""
    return np.float64((z >> np.uint64(11)) + np.uint64(1)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True)
def _ziggurat_tail(s, negative):
    """Marsaglia's (1964) exact tail beyond ``ZIG_R``, on the chain's next words."""
    while True:
        s += GOLDEN
        x = np.log(_open_unit(_mix(s))) / ZIG_R
        s += GOLDEN
        y = np.log(_open_unit(_mix(s)))
        if -2.0 * y >= x * x:
            return x - ZIG_R if negative else ZIG_R - x


@numba.njit(cache=True, inline="always")
def _layer_and_position(h):
    """A 32-bit word read as a ziggurat point: its low 8 bits pick a layer, the other 24 a signed
    position in it (in units of the layer's width)."""
    return h & np.uint64(0xFF), np.float64(h >> np.uint64(8)) * (2.0 / 16777216.0) - 1.0


@numba.njit(cache=True)
def _ziggurat_edge(i, u, s):
    """The ziggurat's rare path (about 1 word in 100): the point (layer ``i``, position ``u``) fell
    outside its layer's core. The rejection test, the tail and any further word come from the
    firm's own chain ``mix(s + k G)``, keyed by the firm's draw, so no other firm's draw is touched."""
    while True:
        s += GOLDEN
        if i == 0:
            return _ziggurat_tail(s, u < 0.0)
        x = u * ZIG_X[i]
        f0 = np.exp(-0.5 * (ZIG_X[i] * ZIG_X[i] - x * x))
        f1 = np.exp(-0.5 * (ZIG_X[i + 1] * ZIG_X[i + 1] - x * x))
        if f1 + _open_unit(_mix(s)) * (f0 - f1) < 1.0:
            return x
        s += GOLDEN
        i, u = _layer_and_position(_mix(s) & _LOW32)
        if abs(u) < ZIG_RATIO[i]:
            return u * ZIG_X[i]


@numba.njit(cache=True, inline="always")
def _ziggurat(h, s):
    """A standard normal from the 32-bit word ``h``: inside its layer's core (99% of words) the
    point is the normal, otherwise ``_ziggurat_edge`` finishes the draw exactly."""
    i, u = _layer_and_position(h)
    if abs(u) < ZIG_RATIO[i]:
        return u * ZIG_X[i]
    return _ziggurat_edge(i, u, s)


@numba.njit(cache=True, inline="always")
def normal_pair(qkey, slot):
    """Two independent standard normals for firm ``slot``: the ziggurat (Marsaglia & Tsang 2000, in
    Doornik's 2005 form) on each 32-bit half of one draw. Almost always one mix and two table
    lookups: no logarithm or square root, which made the polar method it replaced 40% of the growth
    stage (``experiments/normal_draw_cost.py``). A rare rejected half continues on a chain of its own
    (the first from the draw, the second from its complement)."""
    z = _draw(qkey, slot)
    return _ziggurat(z & _LOW32, z), _ziggurat(z >> np.uint64(32), ~z)


@numba.njit(cache=True, inline="always")
def normal(qkey, slot):
    """One standard normal for firm ``slot`` (the first of ``normal_pair``)."""
    z = _draw(qkey, slot)
    return _ziggurat(z & _LOW32, z)


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
