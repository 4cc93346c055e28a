"""Each firm's own random draws (sim.draws): right distributions, independent across mechanisms,
quarters and firms, and a pure function of the firm, so who else is drawn for never matters."""

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
