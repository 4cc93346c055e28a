"""Each firm's own random draws (sim.draws): right distributions, independent across mechanisms,
quarters and firms, and a pure function of the firm, so who else is drawn for never matters."""

import numba
import numpy as np
import pytest
from scipy import stats

from sim.model import draws
from sim.model.model import SMEModel
from test_model import small

N = 200_000
SLOTS = np.arange(N)
KEY = np.uint64(0x1234_5678_9ABC_DEF0)


def test_uniforms_are_uniform_on_the_unit_interval():
    u = draws.uniforms(KEY, 7, 0, SLOTS)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    # equal-width bins hold equal counts (chi-square)
    assert stats.chisquare(np.bincount((u * 100).astype(int), minlength=100)).pvalue > 1e-3


def test_normals_are_standard_normal_in_body_and_tails():
    z = draws.normals(KEY, 3, 1, SLOTS)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 5 / np.sqrt(N) and abs(z.var() - 1.0) < 0.02
    # the tails: P(|z| > 3) = 0.0027
    assert abs(np.mean(np.abs(z) > 3.0) - 0.0027) < 0.0006


def test_both_normals_of_a_pair_are_standard_and_independent_into_the_ziggurats_tail():
    """The ziggurat's layers, their edges and its tail beyond ``ZIG_R`` (3.65: 1 draw in 3,900) each
    have their own code path; 4M draws put ~1,000 in the tail and ~40,000 through the edges."""
    n = 4_000_000
    a, b = _pairs(KEY, n)
    np.testing.assert_array_equal(a[:1000], draws.normals(KEY, 5, 2, np.arange(1000)))  # normal: the first
    p_tail = 2 * stats.norm.sf(draws.ZIG_R)
    for z in (a, b):
        assert stats.kstest(z, "norm").pvalue > 1e-3
        assert abs(z.var() - 1.0) < 5 * np.sqrt(2 / n)
        bins = np.searchsorted(stats.norm.ppf(np.linspace(0, 1, 201)[1:-1]), z)  # 200 equiprobable bins
        assert stats.chisquare(np.bincount(bins, minlength=200)).pvalue > 1e-3
        in_tail = np.abs(z) > draws.ZIG_R
        assert abs(in_tail.mean() - p_tail) < 5 * np.sqrt(p_tail / n)
        # and within the tail, the shape of a normal truncated at ZIG_R
        assert stats.kstest(np.abs(z[in_tail]), stats.truncnorm(draws.ZIG_R, np.inf).cdf).pvalue > 1e-3
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(n)
    assert abs(np.corrcoef(a * a, b * b)[0, 1]) < 5 / np.sqrt(n)


@numba.njit
def _pairs(key, n):
    qkey, a, b = draws.quarter_key(key, 5, 2), np.empty(n), np.empty(n)
    for i in range(n):
        a[i], b[i] = draws.normal_pair(qkey, i)
    return a, b


@pytest.mark.parametrize("other", [(KEY + np.uint64(1), 7, 0), (KEY, 8, 0), (KEY, 7, 1)])
def test_draws_of_other_mechanisms_quarters_and_draw_numbers_are_independent(other):
    u = draws.uniforms(KEY, 7, 0, SLOTS)
    v = draws.uniforms(*other, SLOTS)
    assert abs(np.corrcoef(u, v)[0, 1]) < 5 / np.sqrt(N)
    # neighbouring firms too: no correlation between slot i and slot i + 1
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 5 / np.sqrt(N)
    # and jointly: the pair (u, v) fills the unit square evenly
    counts = np.histogram2d(u, v, bins=10)[0].ravel()
    assert stats.chisquare(counts).pvalue > 1e-3


def test_a_firms_draw_depends_only_on_the_firm():
    """Drawing for a subset, in any order, gives each firm the draw it has in the full vector: this
    is what lets a rule draw only for the firms it concerns, and what keeps common random numbers
    across scenarios whose populations differ."""
    full_u, full_z = draws.uniforms(KEY, 5, 2, SLOTS), draws.normals(KEY, 5, 2, SLOTS)
    subset = np.random.default_rng(0).permutation(N)[:1000]
    np.testing.assert_array_equal(draws.uniforms(KEY, 5, 2, subset), full_u[subset])
    np.testing.assert_array_equal(draws.normals(KEY, 5, 2, subset), full_z[subset])


def test_model_keys_follow_the_seed_and_differ_by_mechanism():
    cfg = small()
    a, b, c = SMEModel(cfg, 3), SMEModel(cfg, 3), SMEModel(cfg, 4)
    assert a.keys == b.keys
    assert all(a.keys[m] != c.keys[m] for m in a.keys)
    assert len(set(a.keys.values())) == len(a.keys)
    slots = np.arange(50)
    np.testing.assert_array_equal(a.uniform("failure", slots), b.uniform("failure", slots))
    assert not np.array_equal(a.uniform("failure", slots), a.uniform("listing", slots))


@numba.njit
def _happens_both_ways(key, slots, lam):
    fast, exact = np.empty(slots.size, dtype=np.bool_), np.empty(slots.size, dtype=np.bool_)
    for j in range(slots.size):
        fast[j] = draws.happens(key, slots[j], lam[j])
        exact[j] = draws.uniform(key, slots[j]) < -np.expm1(-lam[j])
    return fast, exact


def test_happens_answers_as_the_exact_comparison_whatever_the_rate():
    # rates from 1e-12 to 50 (log-uniform), and each firm's uniform placed right at its chance
    # 1 - exp(-lam), where bounds that were too tight would answer wrongly
    rng = np.random.default_rng(5)
    qkey = draws.quarter_key(KEY, 0, 0)
    lam = 10.0 ** rng.uniform(-12, np.log10(50), N)
    fast, exact = _happens_both_ways(qkey, SLOTS, lam)
    assert np.array_equal(fast, exact) and 0 < exact.sum() < N
    u = draws.uniforms(KEY, 0, 0, SLOTS)  # the uniforms happens reads
    at_edge = -np.log1p(-u) * (1.0 + rng.choice([-1e-15, 0.0, 1e-15], N))  # lam with 1 - exp(-lam) ~= u
    fast, exact = _happens_both_ways(qkey, SLOTS, at_edge)
    assert np.array_equal(fast, exact)
