"""Model behaviour users rely on: titles expire exactly at validity and go through review,
population accounting every step, a switched-off policy spends nothing and changes nothing,
the same seed gives identical outputs."""

import numpy as np
import pandas as pd
import pytest

from sim.commands.run import compose_job
from sim.model.model import SMEModel
from sim.experiment.runner import run_one


def small(overrides=(), **region):
    """Chongqing scaled down to a few thousand firms so a run takes a fraction of a second; the
    package runs from the first quarter (no status-quo years before it)."""
    cfg = compose_job(["policy.adopt_from=2018Q1", *overrides])
    reg = dict(initial_firms=3000, initial_srdi=150, entries_per_year={2018: 900, 2023: 1500})
    reg.update(region)
    return cfg.model_copy(update={"region": cfg.region.model_copy(update=reg)})


@pytest.mark.parametrize("validity", [3, 2])
def test_titles_expire_exactly_at_validity_and_are_reviewed(validity):
    """Municipal titles last the city's validity; little giants MIIT's (3 years), whatever the city sets."""
    cfg = small([f"policy.review.validity_years={validity}"])
    m = SMEModel(cfg, 3)
    f = m.firms
    seen_reviews = 0

    def quarters(tiers):
        return np.where(tiers == 3, 4 * cfg.miit.validity_years, 4 * validity)

    while m.running:
        q = m.quarter
        n = f.n
        held = f.alive[:n] & (f.tier[:n] > 0)
        due = np.flatnonzero(held & (f.title_expiry[:n] == q))
        m.step()
        c = m.counters
        # every title due this quarter was reviewed: renewed or lost (unless the firm exited) ...
        reviewed = sum(c[f"renewed_T{t}"] + c[f"lost_review_T{t}"] for t in (1, 2, 3))
        assert reviewed == len(due), (q, reviewed, len(due))
        # ... and afterwards each surviving firm holds a title with a fresh validity (renewed,
        # dropped to a lower tier it meets, or recognised again) or no title at all
        alive = f.alive[due]
        fresh = f.title_expiry[due] == q + quarters(f.tier[due])
        untitled = (f.tier[due] == 0) & (f.title_expiry[due] == -1)
        assert (fresh | untitled)[alive].all()
        assert sum(c[f"renewed_T{t}"] for t in (1, 2, 3)) <= int((fresh & alive).sum()) + int((~alive).sum())
        seen_reviews += len(due)
        # nobody holds a title past its validity, and every title was granted at most now
        n = f.n
        held = f.alive[:n] & (f.tier[:n] > 0)
        assert (f.title_expiry[:n][held] > q).all()
        assert ((f.title_granted[:n][held] >= -4 * validity) & (f.title_granted[:n][held] <= q)).all()
        # a title granted at quarter g expires at g + its validity
        assert (f.title_expiry[:n][held] - f.title_granted[:n][held] == quarters(f.tier[:n][held])).all()
    assert seen_reviews > 50


def test_population_accounting_every_step():
    m = SMEModel(small(["+scenario=full_package"]), 1)
    prev = m.tier_counts().copy()
    while m.running:
        m.step()
        c = m.counters
        now = m.tier_counts()
        # firms leave the model by failing, or once out of the SME pool without a title ("left", at T0);
        # outgrowing SME size or listing moves no titled firm out of its tier
        assert now.sum() == prev.sum() + c["entered"] - c["failed"] - c["left"]
        for t in range(4):
            inflow = c[f"recognised_T{t}"] + c[f"demoted_into_T{t}"] + (c["entered"] if t == 0 else 0)
            outflow = (c[f"promoted_T{t}"] + c[f"lost_review_T{t}"] + c[f"revoked_T{t}"]
                       + c[f"failed_T{t}"] + (c["left"] if t == 0 else 0))
            assert now[t] == prev[t] + inflow - outflow, (m.quarter, t)
        assert (now >= 0).all()
        prev = now.copy()


def spending(df: pd.DataFrame) -> pd.Series:
    return df[[c for c in df.columns if c.startswith("spend_")]].sum()


def test_switched_off_policies_spend_nothing():
    off = [
        "policy.subsidies.rd_subsidy_rate=0", "policy.subsidies.award_t2=0", "policy.subsidies.award_t3=0",
        "policy.subsidies.digital_voucher=0", "policy.loans.interest_subsidy=0",
        # leaders' open channels cost coordination (administration): closed, they cost nothing
        "policy.chain_leaders.orders_openness=0", "policy.chain_leaders.data_openness=0",
    ]
    assert (spending(run_one(small(off), 0)) == 0).all()
    on = run_one(small(["+scenario=full_package"]), 0)
    assert (spending(on) > 0).all()


@pytest.mark.parametrize(
    "irrelevant",
    [
        # the eligibility tier of a lever at zero does not matter
        ["policy.subsidies.digital_voucher_min_tier=3"],
        ["policy.loans.interest_subsidy_min_tier=3"],
        # an effect size of a closed channel does not matter
        ["policy.chain_leaders.orders_openness=0", "uncertainties.order_growth_effect=0.5"],
        # a budget that never binds changes nothing
        ["policy.subsidies.annual_budget=1000000"],
    ],
)
def test_switched_off_policy_changes_nothing(irrelevant):
    base_over = ["policy.chain_leaders.orders_openness=0"] if "orders_openness" in irrelevant[0] else []
    a = run_one(small(base_over), 5)
    b = run_one(small(irrelevant), 5)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_budget_caps_spending_each_year():
    df = run_one(small(["+scenario=subsidy_boost", "policy.subsidies.annual_budget=5"]), 2)
    per_year = df.groupby("year")["envelope_spent"].sum()  # not administration, not the status quo's awards
    assert (per_year <= 5 + 1e-9).all()
    assert per_year.max() > 4.9  # the cap binds, the money is spent


def test_status_quo_awards_are_paid_in_full_whatever_the_envelope():
    """The status quo's first-recognition awards are a line of their own: with no money in either
    envelope (no R&D subsidy is paid), every award is still paid. What a package adds to an award
    draws on its extra envelope: without one, a larger award pays the status quo's amount, so the
    run is the status quo's (to rounding: 0.3 x 1/3 is not exactly 0.1)."""
    empty = ["status_quo.subsidies.annual_budget=0", "policy.subsidies.annual_budget=0"]
    sq = run_one(small(empty), 4)
    assert sq["envelope_spent"].sum() == 0 and sq["spend_rd_subsidy"].sum() == 0
    assert sq["spend_awards"].sum() > 0  # 10万 yuan per first SRDI title, 50万 per little giant
    larger = run_one(small([*empty, "policy.subsidies.award_t2=0.3", "policy.subsidies.award_t3=1.0"]), 4)
    pd.testing.assert_frame_equal(larger, sq, check_exact=False, rtol=1e-12)


def test_same_seed_same_output_and_different_seed_different_output():
    cfg = small(["+scenario=finance_boost"])
    a, b, c = run_one(cfg, 11), run_one(cfg, 11), run_one(cfg, 12)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not a.equals(c)


def test_common_random_numbers_across_scenarios():
    """Replication k of two scenarios shares its random streams: the firm population entering is
    identical, so differences in outcomes come from policy."""
    a = run_one(small(), 4)
    b = run_one(small(["+scenario=chain_leader_open"]), 4)
    assert (a["entered"] == b["entered"]).all()
    assert not a["n_T2plus"].equals(b["n_T2plus"])


@pytest.mark.parametrize("user_setting, advice_after", [(None, "False"), ("1", "True")])
def test_a_model_turns_numpys_huge_page_advice_off_unless_the_user_set_it(user_setting, advice_after):
    """Faults on 2 MB pages stalled on memory compaction here (sim.model.heap): building a model turns
    numpy's advice off, once per process; a user's NUMPY_MADVISE_HUGEPAGE is left as set."""
    import os
    import subprocess
    import sys

    code = ("import numpy as np; from tests.test_model import small; from sim.model.model import SMEModel; "
            "SMEModel(small(['end_year=2018', 'outcomes.report_years=[2018]']), 0); print(np._core.multiarray._set_madvise_hugepage(False))")
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if user_setting is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = user_setting
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip().splitlines()[-1] == advice_after  # the advice in force before this call


def test_the_lender_rations_each_area_by_score_within_its_capacity():
    """Approved applications of an area whose amounts exceed its capacity are kept in descending
    score (ties in application order) while their running total fits; other areas are untouched."""
    from sim.model.institutions import Lender, _descending

    rng = np.random.default_rng(2)
    for n in (0, 1, 7, 500):
        ties = rng.integers(0, 5, n).astype(float)  # many equal scores
        assert np.array_equal(_descending(ties), np.argsort(-ties, kind="stable"))
    lender = Lender(SMEModel(small(), 0))
    area = np.array([0, 0, 0, 0, 1, 1])
    logit = np.array([2.0, 5.0, 5.0, 1.0, 3.0, 4.0])
    amount = np.array([4.0, 3.0, 3.0, 1.0, 10.0, 10.0])
    u = np.zeros(6)  # every application approved before rationing
    ok = lender.approve_by_area(area, logit, amount, u, np.array([7.0, 100.0]))
    # area 0 keeps 5, 5 (total 6); 2.0 would take it to 10 > 7, and so everything after it is refused
    assert ok.tolist() == [False, True, True, False, True, True]
    assert lender.approve(logit[:4], amount[:4], u[:4], 7.0).tolist() == [False, True, True, False]
