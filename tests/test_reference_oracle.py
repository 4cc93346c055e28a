"""The columnar model agrees in distribution with a per-agent Mesa model of the same rules.

``experiments/per_agent_reference.py`` writes every rule again per firm, in plain Python on scalars
(criteria included), one ``mesa.Agent`` per firm. Its random draws are not the product's, so the two
are compared as distributions: both run the same small world over many seeds, and for every tier
count (at three dates) and every flow, loan and spending total over the horizon, a Welch t-test asks
whether the two means differ. Holm's step-down procedure keeps the chance of any false alarm across
all quantities of both worlds below ALPHA. The seeds are fixed, so the verdict is deterministic.

A slip in the vectorised code (a flipped threshold, a mask applied to the wrong firms, a lever
missed) moves some quantity by many standard errors and fails the test; that this happens was
checked by flipping thresholds in a scratch copy of the model (see the report in the PR/README).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.commands.run import compose_job
from sim.experiment.runner import run_one

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "experiments"))
from per_agent_reference import run_reference, scaled  # noqa: E402

ALPHA = 0.01  # family-wise error rate over every quantity compared
SEEDS = 36
SHARE, END_YEAR = 0.02, 2025  # Chongqing's pool and entry x 2%: ~260 firms growing to ~1,700
DATES = (2019, 2022, END_YEAR)
# MIIT's bar for a single region (T2 points plus expert noise): in these small worlds it admits some
# but not all nominees, so the national batch's intake is exercised (the national model is not run)
BAR = "miit.fallback_bar=80"
# both worlds run the region's own values (no posterior, no drawn lever effects): what both models read
COMMON = ["lever_effects.use=none", "calibration.use=none", BAR]
# two worlds: the status quo (firms apply for titles), and every lever on from the start with both
# budget envelopes binding (the status quo's 4 and the package's extra 4 M yuan a year), 免申即享,
# 有进有出 and stricter review, in a world where SRDI and little-giant titles are common; the horizon
# reaches 2025, whose MIIT rules (revenue floor, growth test waived at review) differ
WORLDS = {
    "status quo": COMMON,
    "all levers": COMMON + ["+scenario=full_package", "policy.adopt_from=2018Q1", "policy.subsidies.annual_budget=8",
                            "status_quo.subsidies.annual_budget=4", "policy.review.strictness=0.3",
                            "uncertainties.ip_per_rd_million=1.5", "uncertainties.rd_institution_rate=0.2",
                            "uncertainties.niche_market_median=300", "uncertainties.apply_t3=1.0"],
}
STOCKS = ("n_firms", "n_T0", "n_T1", "n_T2", "n_T3", "n_high_tech", "n_linked", "n_T2plus_linked", "n_T2plus_unlinked")
# every counter and spending column: tier flows by cause (review_due, lost_review, ... outgrew and
# listed are events that leave the pool; left: leaving the model untitled), loans, spending
FLOWS = ("recognised", "promoted", "review_due", "renewed", "lost_review", "revoked", "demoted_into", "failed",
         "outgrew", "listed", "left", "entered", "nominated", "matched", "leaders", "loan", "spend", "envelope")

pytestmark = pytest.mark.slow


def summary(df: pd.DataFrame) -> dict[str, float]:
    """Stocks at the end of each of DATES, flows summed over the horizon."""
    out = {}
    for year in DATES:
        row = df[(df.year == year) & (df.quarter == 4)].iloc[0]
        for col in STOCKS:
            out[f"{col} end {year}"] = float(row[col])
    for col in df.columns:
        if col.startswith(FLOWS):
            out[f"total {col}"] = float(df[col].sum())
    return out


def compare(product: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Welch t-test per quantity (a quantity constant in both must be equal in both)."""
    rows = []
    for q in product.columns:
        a, b = product[q].to_numpy(), reference[q].to_numpy()
        if a.std() == 0 and b.std() == 0:
            p = 1.0 if a.mean() == b.mean() else 0.0
        else:
            p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
        se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        rows.append({"quantity": q, "product": a.mean(), "reference": b.mean(), "se": se, "p": p})
    return pd.DataFrame(rows)


def holm_rejected(p: np.ndarray, alpha: float) -> np.ndarray:
    """Holm's step-down: which hypotheses are rejected at family-wise level ``alpha``."""
    order = np.argsort(p)
    rejected = np.zeros(len(p), dtype=bool)
    for rank, i in enumerate(order):
        if p[i] > alpha / (len(p) - rank):
            break
        rejected[i] = True
    return rejected


def world_table(name: str) -> pd.DataFrame:
    cfg = scaled(compose_job(WORLDS[name]), SHARE, END_YEAR)
    seeds = np.random.SeedSequence(2024).spawn(SEEDS)
    product = pd.DataFrame([summary(run_one(cfg, ss)) for ss in seeds])
    reference = pd.DataFrame([summary(run_reference(cfg, ss)) for ss in seeds])
    table = compare(product, reference)
    table.insert(0, "world", name)
    return table


@pytest.fixture(scope="module")
def tables() -> pd.DataFrame:
    return pd.concat([world_table(name) for name in WORLDS], ignore_index=True)


def test_worlds_are_not_trivial(tables):
    """The comparison is only worth something if titles, reviews and loans happen in both worlds."""
    t = tables.set_index(["world", "quantity"])["product"]
    for world in WORLDS:
        assert t[(world, "total recognised_T1")] > 20 and t[(world, f"n_T2 end {END_YEAR}")] > 5
        assert t[(world, "total renewed_T2")] + t[(world, "total lost_review_T2")] > 5
        assert t[(world, "total loans_approved")] > 50
    assert t[("all levers", "total recognised_T3")] > 2
    assert t[("all levers", "total spend_digital_vouchers")] > 0


def test_product_and_per_agent_reference_agree_in_distribution(tables):
    rejected = holm_rejected(tables["p"].to_numpy(), ALPHA)
    bad = tables[rejected]
    assert bad.empty, "product and per-agent reference disagree:\n" + bad.to_string(index=False)


def test_holm_rejects_a_real_difference_only():
    """The multiple-comparison control itself: a shifted mean is found among nulls, nulls are not."""
    rng = np.random.default_rng(0)
    null = [stats.ttest_ind(rng.normal(size=40), rng.normal(size=40)).pvalue for _ in range(100)]
    shifted = stats.ttest_ind(rng.normal(size=40), rng.normal(1.5, 1, size=40)).pvalue
    rejected = holm_rejected(np.array(null + [shifted]), ALPHA)
    assert rejected[-1] and not rejected[:-1].any()
