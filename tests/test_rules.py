"""Criteria scoring against hand-worked firms (MIIT 2022 subset, see sim/model/rules.py), with the
model's readings of the SRDI score and the T3 strictness slopes at their configured values."""

import numpy as np
import pytest

from sim.commands.run import compose_job
from sim.core.schema import Calendar
from sim.model import rules
from sim.model.firms import COLUMNS, FirmPopulation, sme_ceiling
from sim.model.params import rule_params

STEP = 40  # 2028 Q1 when the run starts in 2018
CFG = compose_job(["calibration.use=none"])
CRITERIA = rules.Criteria(CFG)
CALENDAR = rules.RecognitionCalendar(CFG.start_year, CFG.region.calendar)


def one_firm(**state) -> tuple[FirmPopulation, np.ndarray]:
    """A population of one firm with the given state (everything else at its empty value; its SME
    ceiling the revenue cap, as for a firm of 1,000 employees or more)."""
    f = FirmPopulation(1, rule_params(CFG), None, CALENDAR.list_shares)
    f.n = 1
    f.alive[0] = True
    for name, value in {"sme_ceiling": CFG.region.sme_revenue_cap, **state}.items():
        assert name in COLUMNS, name
        getattr(f, name)[0] = value
    return f, np.array([0])


def innovative_firm(**over):
    """Worked T1 example: innovation 20 (IP) + 15 (R&D 3.5%) = 35; growth 15 (12%) + 10 (debt ratio
    20/(0.8*112+10) = 0.20 < 55%) = 25; specialisation 10 (strategic) + 15 (main share 65%) = 25;
    total 85."""
    state = dict(ip=1, rd_int_y1=0.035, rev_y1=112.0, rev_y2=100.0, revenue=112.0, debt=20.0,
                 cash=10.0, strategic=True, main_share=0.65)
    state.update(over)
    return one_firm(**state)


def test_t1_worked_example_scores_85_and_passes():
    f, idx = innovative_firm()
    inn, gro, spe = rules.t1_subscores(f, idx)
    assert (inn[0], gro[0], spe[0]) == (35.0, 25.0, 25.0)
    assert rules.t1_eligible(f, idx)[0]


def test_t1_needs_20_innovation_points_even_when_total_is_enough():
    # no class-I IP: innovation 15 (< 20) though the total is 15 + 30 + 30 = 75
    f, idx = innovative_firm(ip=0, rd_int_y1=0.045, rev_y1=120.0, main_share=0.8)
    inn, gro, spe = rules.t1_subscores(f, idx)
    assert inn[0] == 15 and inn[0] + gro[0] + spe[0] >= 60
    assert not rules.t1_eligible(f, idx)[0]
    # ... unless a direct-pass condition holds (valid high-tech title)
    f.high_tech[0] = True
    assert rules.t1_eligible(f, idx)[0]


@pytest.mark.parametrize(
    "rd, points", [(0.0, 0), (0.0099, 0), (0.01, 5), (0.02, 10), (0.03, 15), (0.0499, 15), (0.05, 20)]
)
def test_t1_rd_intensity_bands(rd, points):
    f, idx = one_firm(rd_int_y1=rd)
    assert rules.t1_subscores(f, idx)[0][0] == points


@pytest.mark.parametrize("debt, points", [(10.0, 10), (60.0, 5), (90.0, 0)])
def test_t1_debt_ratio_bands(debt, points):
    # assets = 0.8 * 100 + 0 = 80: ratios 0.125, 0.75 (55-75% band, inclusive), 1.125; growth 0
    f, idx = one_firm(revenue=100.0, rev_y1=100.0, rev_y2=100.0, debt=debt)
    assert rules.t1_subscores(f, idx)[1][0] == 5 + points  # 0-5% growth scores 5


def little_giant(**over):
    """A firm meeting every T3 criterion: 5 years old, main share 80%, 2-year growth 10%/yr,
    debt ratio 0.2, niche share 150/1000 = 15%, R&D 4% both years on revenue >= 100M, R&D
    institution, 3 class-I IPs, revenue below the 400M SME ceiling."""
    state = dict(born_step=STEP - 20, main_share=0.8, rev_y1=150.0, rev_y2=136.0, rev_y3=124.0,
                 revenue=150.0, debt=25.0, cash=5.0, niche_market=1000.0, rd_int_y1=0.04, rd_int_y2=0.04,
                 rd_institution=True, ip=3)
    state.update(over)
    return one_firm(**state)


def test_t3_worked_example_passes():
    f, idx = little_giant()
    assert CRITERIA.t3_eligible(f, idx, STEP)[0]


@pytest.mark.parametrize(
    "change",
    [
        dict(born_step=STEP - 8),  # only 2 years in its niche
        dict(main_share=0.69),
        dict(rev_y3=140.0),  # 2-year average growth about 3.5%
        dict(debt=120.0),  # debt ratio above 70%
        dict(niche_market=2000.0),  # niche share 7.5%
        dict(rd_int_y2=0.029),  # R&D below 3% in one of the two years
        dict(rev_y1=80.0, revenue=80.0, rev_y2=73.0, rev_y3=66.0),  # 50-100M needs 6%
        dict(rd_institution=False),
        dict(ip=1),
        dict(revenue=420.0, rev_y1=420.0, rev_y2=380.0, rev_y3=345.0, niche_market=3000.0),  # not an SME
    ],
)
def test_t3_each_hard_criterion_is_binding(change):
    f, idx = little_giant(**change)
    assert not CRITERIA.t3_eligible(f, idx, STEP)[0]


def test_sme_size_is_fewer_than_1000_employees_or_revenue_below_400m():
    """MIIT's 2011 standard: 420 M yuan of revenue is an SME if the firm has fewer than 1,000
    employees, i.e. its revenue per employee puts its ceiling above 420 M yuan."""
    big = dict(revenue=420.0, rev_y1=420.0, rev_y2=380.0, rev_y3=345.0, niche_market=3000.0)
    assert not CRITERIA.t3_eligible(*little_giant(**big), STEP)[0]
    assert CRITERIA.t3_eligible(*little_giant(**big, sme_ceiling=500.0), STEP)[0]
    p = rule_params(CFG)._replace(sme_employee_cap=1000)
    assert p.sme_revenue_cap == 400.0
    per_worker = p.revenue_per_worker_median * np.exp(p.revenue_per_worker_sigma * 1.0)
    assert sme_ceiling(p, 1.0) == pytest.approx(1000 * per_worker)  # 1,000 employees' revenue
    assert sme_ceiling(p, -5.0) == 400.0  # low revenue per employee: the revenue cap binds
    assert sme_ceiling(p._replace(sme_employee_cap=0), 1.0) == 400.0  # revenue test only


def _step_in(year: int) -> int:
    return (year - CFG.start_year) * 4 + 2


def test_miit_reviews_remove_a_little_giant_that_outgrew_sme_size_only_before_2024():
    """From 2024 (configs/miit/default.yaml: MIIT's 3rd and 4th batches kept 83% and ~87%) a holder
    that outgrew SME size keeps its title at review; before, it lost it; an applicant never gets one."""
    f, idx = little_giant(born_step=-20, revenue=420.0, rev_y1=420.0, rev_y2=380.0, rev_y3=345.0,
                          niche_market=3000.0)
    assert not f.is_sme(idx)[0]
    assert not CRITERIA.t3_eligible(f, idx, _step_in(2023), review=True)[0]
    assert CRITERIA.t3_eligible(f, idx, _step_in(2024), review=True)[0]
    assert not CRITERIA.t3_eligible(f, idx, _step_in(2024))[0]
    always = rules.Criteria(compose_job(["calibration.use=none", "miit.review_sme_size={2024: true}"]))
    assert not always.t3_eligible(f, idx, _step_in(2024), review=True)[0]


CRITERIA_2022 = rules.Criteria(compose_job(["calibration.use=none", "miit=criteria_2022"]))


@pytest.mark.parametrize(
    "change",
    [
        dict(rev_y3=133.0),  # 2-year average growth 6.2%: below the 2018 notice's 10%
        dict(rev_y1=80.0, revenue=80.0, rev_y2=70.0, rev_y3=60.0, rd_int_y1=0.07, rd_int_y2=0.07,
             niche_market=600.0),  # 80 M yuan at 7% R&D: below the 2018 band of 100-400 M yuan
        dict(revenue=420.0, rev_y1=420.0, rev_y2=380.0, rev_y3=345.0, niche_market=3000.0,
             sme_ceiling=500.0),  # an SME by headcount, above the 2018 band
    ],
)
def test_batches_1_to_3_were_selected_on_the_2018_criteria(change):
    """MIIT's 2018 notice (batches 2019-2021): revenue 100-400 M yuan, 10% two-year growth; the 2022
    interim measures (batch 4 on and every review) take each of these firms."""
    f, idx = little_giant(born_step=-20, **change)
    assert not CRITERIA.t3_eligible(f, idx, _step_in(2019))[0]
    assert not CRITERIA.t3_eligible(f, idx, _step_in(2021))[0]
    assert CRITERIA.t3_eligible(f, idx, _step_in(2022))[0]
    assert CRITERIA.t3_eligible(f, idx, _step_in(2024), review=True)[0]
    # miit=criteria_2022 applies the 2022 measures to every batch
    assert CRITERIA_2022.t3_eligible(f, idx, _step_in(2019))[0]


def test_the_2018_criteria_end_with_2021():
    f, idx = little_giant(born_step=-20, rev_y3=120.0)  # 11.8% growth, 150 M yuan: meets both
    assert all(CRITERIA.t3_eligible(f, idx, _step_in(y))[0] for y in range(2019, 2026))
    m = CRITERIA.miit
    assert m.min_growth_in(2021) == 0.10 and m.min_growth_in(2022) == 0.05
    assert m.max_revenue_in(2021) == 400.0 and m.max_revenue_in(2022) == np.inf
    assert m.min_revenue_in(2018) == 0.0 and m.min_revenue_in(2025) == 50.0
    m = CRITERIA_2022.miit
    assert m.max_revenue_in(2020) == np.inf and m.min_growth_in(2020) == 0.05 and m.min_revenue_in(2020) == 0.0


def test_t3_strictness_tightens_rd_threshold():
    f, idx = little_giant(rd_int_y1=0.035, rd_int_y2=0.035)
    assert CRITERIA.t3_eligible(f, idx, STEP, shift=0.0)[0]
    assert not CRITERIA.t3_eligible(f, idx, STEP, shift=15.0)[0]  # +1.5 pp -> needs 4.5%


def test_t2_hard_criteria_worked_example():
    # 30M revenue at 3% R&D = 0.9M yuan: below the 1M yuan floor
    f, idx = one_firm(born_step=STEP - 12, rev_y1=30.0, rd_int_y1=0.03)
    assert not CRITERIA.t2_hard(f, idx, STEP)[0]
    f.rd_int_y1[0] = 0.034  # 1.02M yuan
    assert CRITERIA.t2_hard(f, idx, STEP)[0]
    f.born_step[0] = STEP - 7  # under 2 years in its niche
    assert not CRITERIA.t2_hard(f, idx, STEP)[0]


def test_t2_score_worked_example():
    """Specialisation 18 (main 85%) + 5 (6 years); refinement 10 (margin 12%) + 10 (debt ratio
    0.2) + 0 (not digital); distinctiveness 10 (supplies a leader) + 5 (niche 6%); innovation
    12 (R&D 5%) + 12 (4 IPs) + 5 (institution): 87."""
    f, idx = one_firm(born_step=STEP - 24, main_share=0.85, margin=0.12, revenue=60.0, debt=10.0,
                      cash=2.0, leader=0, niche_market=1000.0, rd_int_y1=0.05, ip=4, rd_institution=True,
                      capability=1.0)
    assert CRITERIA.t2_score(f, idx, STEP)[0] == 87.0


def test_calendar():
    cal = rules.RecognitionCalendar(2018, Calendar())
    assert cal.year_quarter(0) == (2018, 1) and cal.year_quarter(17) == (2022, 2)
    assert not cal.t1_open(17) and cal.t1_open(18)  # 2022 Q3
    assert cal.t3_batch(6) and not cal.t3_batch(2)  # 2019 Q3 yes, 2018 Q3 no (first batch 2019)
    assert cal.t2_batch(3) and not cal.t2_batch(2)


def test_may_meet_holds_for_every_firm_that_meets_the_criteria():
    """``rules.may_meet`` lets a round skip firms before drawing their application: it must hold for
    every firm the criteria admit, at any shift, at review or not. Firms drawn around every threshold
    (values at, just below and just above each), so a mismatch of one inequality shows."""
    n = 20_000
    rng = np.random.default_rng(7)
    f = FirmPopulation(n, rule_params(CFG), None, CALENDAR.list_shares)
    f.n = n
    f.alive[:n] = True

    def around(*values):
        v = np.array([x * s for x in values for s in (1.0 - 1e-12, 1.0, 1.0 + 1e-12)])
        return rng.choice(np.concatenate([v, rng.uniform(0.0, 2.0 * max(values), 32)]), n)

    f.revenue[:n] = around(10.0, 50.0, 100.0, CFG.region.sme_revenue_cap, 2.5 * CFG.region.sme_revenue_cap)
    f.rev_y1[:n] = f.revenue[:n] * rng.choice([0.8, 0.95, 1.0, 1.1], n)
    f.rev_y2[:n] = f.rev_y1[:n] / rng.choice([0.9, 1.0, 1.05, 1.2], n)
    f.rev_y3[:n] = f.rev_y2[:n] / rng.choice([0.9, 1.0, 1.05, 1.2], n)
    f.rd_int_y1[:n] = around(0.01, 0.02, 0.03, 0.05, 0.06)
    f.rd_int_y2[:n] = around(0.03, 0.06)
    f.ip[:n] = rng.integers(0, 4, n)
    f.high_tech[:n] = rng.random(n) < 0.2
    f.rd_institution[:n] = rng.random(n) < 0.5
    f.main_share[:n] = around(0.5, 0.55, 0.6, 0.7)
    f.strategic[:n] = rng.random(n) < 0.5
    f.debt[:n] = f.revenue[:n] * rng.uniform(0.0, 1.0, n)
    f.cash[:n] = f.revenue[:n] * rng.uniform(-0.1, 0.3, n)
    f.niche_market[:n] = f.revenue[:n] / around(0.05, 0.1, 0.2)
    f.born_step[:n] = STEP - rng.integers(0, 24, n)
    f.leader[:n] = np.where(rng.random(n) < 0.3, 0, -1)
    f.sme_ceiling[:n] = np.where(rng.random(n) < 0.5, CFG.region.sme_revenue_cap, 2.5 * CFG.region.sme_revenue_cap)
    idx, c = np.arange(n), f.cols
    for tier in (rules.T1, rules.T2, rules.T3):
        may = np.array([rules.may_meet(tier, i, c) for i in idx])
        assert may.mean() < 0.9, tier  # the filter does filter
        for shift in (-30.0, 0.0, 30.0):
            ok = CRITERIA.eligible_for(tier, f, idx, STEP, np.full(n, shift))
            assert ok.any() or shift > 0, (tier, shift)  # firms of every kind are drawn
            assert not (ok & ~may).any(), (tier, shift, idx[ok & ~may][:5])
        if tier == rules.T3:
            # a review from 2024 keeps a holder that outgrew SME size; may_meet filters applicants only
            ok = CRITERIA.t3_eligible(f, idx, STEP, np.full(n, -30.0), review=True) & f.is_sme(idx)
            assert not (ok & ~may).any()
