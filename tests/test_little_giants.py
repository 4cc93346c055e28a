"""MIIT's little-giant stage as MIIT runs it: one national batch of a fixed number of titles that
the regions' nominees compete for, reviews against MIIT's rules of the year that can fail a firm,
no title lost at review granted back in the same batch, exits that keep titles, and municipal spot
checks that bite on municipal titles (issue 11)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from sim.commands.run import compose_job
from sim.core.errors import InputError
from sim.experiment.runner import run_one
from sim.model import rules
from sim.model.firms import FAILED, GRADUATED, IN_POOL
from sim.model.model import SMEModel
from sim.model.policies import review

SCENARIOS = ["baseline", "finance_boost", "subsidy_boost", "chain_leader_open", "strict_review", "lenient_review",
             "full_package"]


def national(*overrides: str):
    """The national model with all its areas, at 2% of its firms (a few seconds to 2026)."""
    return compose_job(["region=national", "region.population_scale=0.02", "end_year=2026", "outcomes.report_years=[2026]",
                        "calibration.use=none", *overrides])


# the 2018 pool drawn like entrants (the region file holds size_age_gradient at 0.03): with older firms
# larger, one can score the full 100 SRDI points, and an older firm's revenue is capped at a share of
# its SME ceiling, which the employee test moves
ENTRANT_LIKE_POOL = "uncertainties.size_age_gradient=0"


def chongqing(*overrides: str):
    return compose_job(["end_year=2026", "outcomes.report_years=[2026]", "calibration.use=none", "policy.adopt_from=2018Q1", "region.initial_firms=4000",
                        "region.initial_srdi=200", *overrides])


@pytest.fixture(scope="module")
def national_runs():
    return {s: run_one(national(f"+scenario={s}", "policy.adopted_by=nationwide"), 5) for s in SCENARIOS}


def _batches(df):
    b = df[df["t3_batch"] > 0]
    return b.assign(titles=np.round(b["t3_batch"]))


def test_the_national_batch_is_granted_exactly_unless_nominees_are_short(national_runs):
    for s, df in national_runs.items():
        b = _batches(df)
        assert len(b) == 8  # 2019-2026
        expected = np.minimum(b["titles"], b["nominated_T3"])
        np.testing.assert_array_equal(b["recognised_T3"].to_numpy(), expected.to_numpy(), err_msg=s)
        areas = [c for c in df.columns if c.startswith("recognised_T3__")]
        assert len(areas) == 6 and (df[areas].sum(axis=1) == df["recognised_T3"]).all()
    assert np.isclose(national_runs["baseline"]["t3_batch"].max(), 4357 * 0.02)  # the batch in the world simulated


def test_nationwide_adoption_leaves_the_national_total_unchanged(national_runs):
    """The batch is fixed: a package adopted everywhere only moves titles between regions."""
    base = _batches(national_runs["baseline"])
    for s, df in national_runs.items():
        b = _batches(df)
        full = (b["nominated_T3"].to_numpy() >= b["titles"].to_numpy()) & (
            base["nominated_T3"].to_numpy() >= base["titles"].to_numpy())
        assert full.sum() >= 6, s
        np.testing.assert_array_equal(b["recognised_T3"].to_numpy()[full], base["recognised_T3"].to_numpy()[full])


@pytest.mark.parametrize("bar, expect", [(-np.inf, "all"), (np.inf, "none"), (85.0, "some")])
def test_a_regions_intake_never_exceeds_its_eligible_nominees(bar, expect):
    cfg = chongqing()
    cfg = cfg.model_copy(update={"miit": cfg.miit.model_copy(update={"bar": {y: bar for y in range(2019, 2027)}})})
    b = _batches(run_one(cfg, 2))
    assert (b["recognised_T3"] <= b["nominated_T3"]).all()
    if expect == "all":
        assert (b["recognised_T3"] == b["nominated_T3"]).all() and b["nominated_T3"].sum() > 0
    elif expect == "none":
        assert b["recognised_T3"].sum() == 0
    else:
        assert 0 < b["recognised_T3"].sum() < b["nominated_T3"].sum()
    assert np.allclose(b["t3_merit_bar"], bar)


def _stepped(m: SMEModel):
    """Each quarter of ``m``'s run, once it is stepped: its index."""
    while m.running:
        q = m.quarter
        m.step()
        yield q


def _lost_and_tiers(*overrides: str):
    """Each quarter's firms that lost a title, with the tier they lost and the tier they end it at."""
    m = SMEModel(chongqing("+scenario=lenient_review", *overrides), 1)
    for q in _stepped(m):
        f = m.firms
        now = f.alive[: f.n] & (f.lost_step[: f.n] == q)
        yield q, f.lost_tier[: f.n][now], f.tier[: f.n][now]


# MIIT nominating only SRDI holders (as from its 4th batch); the cultivation pool's path of
# 2019-2021 is checked below
SRDI_ONLY = "miit.srdi_title_required={2019: true}"


def test_a_title_lost_at_review_is_not_granted_again_in_the_same_batch():
    lost = 0
    for q, was, now in _lost_and_tiers(SRDI_ONLY):
        lost += len(was)
        assert (now < was).all(), q
    assert lost > 50


def test_a_lost_srdi_title_is_not_followed_by_a_pool_nomination_in_the_same_quarter():
    assert all((now < was).all() for _, was, now in _lost_and_tiers())


def _titled(m: SMEModel, tier: int) -> int:
    f = m.firms
    idx = np.flatnonzero(f.alive[: f.n] & (f.tier[: f.n] == tier) & (f.title_expiry[: f.n] > m.quarter + 2))
    return int(idx[0])


def test_a_firm_that_outgrows_sme_size_keeps_its_title_until_review():
    m = SMEModel(chongqing(), 3)
    while m.quarter < 20:
        m.step()
    f = m.firms
    i = _titled(m, rules.T2)
    f.revenue[i] = f.rev_y1[i] = 2 * f.sme_ceiling[i]  # it outgrows SME size this quarter
    m.step()
    assert f.alive[i] and f.tier[i] == rules.T2 and f.status[i] == GRADUATED
    assert m.counters["outgrew_T2"] >= 1
    f.title_expiry[i] = m.quarter  # its review falls due now
    m.step()  # at review it fails the size test, holds no title, and leaves
    assert not f.alive[i] and m.counters["lost_review_T2"] >= 1 and m.counters["left"] >= 1


def _newly_granted(m: SMEModel, tier: int):
    """Each quarter of ``m``'s run, once stepped: the quarter, the firms granted ``tier`` in it from
    a lower tier (renewals and demotions left out), and the tiers they held before."""
    while m.running:
        q, before = m.quarter, m.firms.tier[: m.firms.n].copy()
        m.step()
        f = m.firms
        assert not (f.tier[len(before): f.n] > 0).any()  # entrants of this quarter hold no title yet
        new = np.flatnonzero((f.tier[: len(before)] == tier) & (f.title_granted[: len(before)] == q)
                             & (before < tier))
        yield q, new, before[new]


def _new_little_giants(cfg, seed: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Each batch year's new little giants: the tier each held before the batch, and whether each
    met the SRDI criteria (at the city's line) when MIIT took it."""
    m = SMEModel(cfg, seed)
    out = {}
    for q, new, before in _newly_granted(m, rules.T3):
        if len(new):
            f = m.firms
            srdi = m.criteria.eligible_for(rules.T2, f, new, q, review.municipal_shift(m)[f.area[new]])
            out[m.calendar.year_quarter(q)[0]] = (before, srdi)
    return out


def test_until_2022_miit_also_takes_firms_from_the_provinces_cultivation_pools():
    """The 2018 notice let provinces nominate firms they cultivated without the SRDI title: batches
    1-3 take some such firms, each meeting the SRDI criteria; from 2022 only SRDI holders."""
    cfg = chongqing()
    cfg = cfg.model_copy(update={"miit": cfg.miit.model_copy(update={"bar": {y: -np.inf for y in range(2019, 2027)}})})
    batches = _new_little_giants(cfg, 2)
    early = [batches[y] for y in (2019, 2020, 2021) if y in batches]
    assert sum(int((tiers < rules.T2).sum()) for tiers, _ in early) > 0
    assert all(srdi[tiers < rules.T2].all() for tiers, srdi in early)
    assert all((batches[y][0] == rules.T2).all() for y in batches if y >= 2022) and max(batches) >= 2024
    # with the SRDI title required throughout (the 2022 rule), every new little giant held it
    strict = cfg.model_copy(update={"miit": cfg.miit.model_copy(update={"srdi_title_required": {2019: True}})})
    assert all((tiers == rules.T2).all() for tiers, _ in _new_little_giants(strict, 2).values())


def _srdi_lists(m: SMEModel) -> dict[int, np.ndarray]:
    """Quarter of the year -> list quarters (``srdi_list``) of the firms newly granted the SRDI
    title in that quarter over ``m``'s run (demotions from little giant left out)."""
    out = {k: [] for k in range(1, 5)}
    for q, new, _ in _newly_granted(m, rules.T2):
        out[m.calendar.year_quarter(q)[1]].append(m.firms.srdi_list[new])
    return {k: np.concatenate(v) for k, v in out.items()}


def test_a_region_of_many_provinces_grants_srdi_lists_all_year_each_firm_in_its_provinces_quarter():
    """With ``calendar.t2_list_shares`` each firm's province lists it in one quarter of the year (its
    own fixed draw, in those shares): SRDI titles are granted in every quarter, each to firms of that
    quarter, and a title granted in the run falls due for review in the same quarter; with a single
    list quarter (the default) every title is granted in it."""
    spread = chongqing("+region.calendar.t2_list_shares=[0.1,0.2,0.3,0.4]")
    m = SMEModel(spread, 3)
    by_quarter = _srdi_lists(m)
    for k, lists in by_quarter.items():
        assert len(lists) > 10 and (lists == k).all(), k
    f = m.firms
    shares = np.bincount(f.srdi_list[: f.n], minlength=5)[1:] / f.n
    np.testing.assert_allclose(shares, [0.1, 0.2, 0.3, 0.4], atol=0.02)
    # entrants' titles (initial holders' were granted at staggered past quarters)
    held = (f.tier[: f.n] == rules.T2) & (f.born_step[: f.n] > 0)
    due = (f.title_expiry[: f.n][held] % 4) + 1  # quarter 0 is the start year's Q1
    assert held.sum() > 20 and (due == f.srdi_list[: f.n][held]).mean() > 0.9  # the rest: demoted from T3
    single = _srdi_lists(SMEModel(chongqing("region.calendar.t2_batch_quarter=4"), 3))
    assert all(len(single[k]) == 0 for k in (1, 2, 3)) and len(single[4]) > 10


def test_a_city_list_that_moves_to_mid_year_is_open_to_miits_batch_of_the_same_year():
    """Chongqing's one SRDI list was granted in December until 2021 and in May-June (Q2) from 2022
    (``t2_batch_quarter: {2018: 4, 2022: 2}``): every SRDI title is granted in its year's quarter,
    and from 2022 MIIT's Q3 batch takes firms listed in Q2 of the same year."""
    m = SMEModel(chongqing(), 3)
    assert m.cfg.region.calendar.t2_batch_quarter == {2018: 4, 2022: 2}
    granted, listed_in, same_year = {}, {}, 0
    for q, new, _ in _newly_granted(m, rules.T2):
        year, quarter = m.calendar.year_quarter(q)
        if len(new):
            granted[year, quarter] = len(new)
            listed_in.update(dict.fromkeys(new.tolist(), (year, quarter)))
        f = m.firms
        giants = np.flatnonzero((f.tier[: f.n] == rules.T3) & (f.title_granted[: f.n] == q))
        same_year += sum(listed_in.get(i) == (year, 2) for i in giants.tolist())
    assert all(quarter == (4 if year < 2022 else 2) for year, quarter in granted), sorted(granted)
    assert {y for y, _ in granted} >= {2018, 2021, 2022, 2026}
    assert same_year > 0
    cal = m.cfg.region.calendar
    assert [cal.t2_batch_quarter_in(y) for y in (2017, 2021, 2022, 2030)] == [4, 4, 2, 2]


def test_the_srdi_scale_up_starts_in_its_quarter():
    """The national lists follow the 2022 interim measures from 2022 Q3, and run in every quarter."""
    cal = rules.RecognitionCalendar(2018, national().region.calendar)
    step = {(2018 + s // 4, s % 4 + 1): s for s in range(40)}
    assert not cal.t2_full_scale(step[2022, 2]) and cal.t2_full_scale(step[2022, 3])
    assert all(cal.t2_batch(s) for s in range(8))
    assert not cal.t2_tightened(step[2024, 4]) and cal.t2_tightened(step[2025, 1]) and cal.t2_tightened(step[2027, 3])
    relaxed = national().region.calendar.model_copy(update={"t2_tightened_until": 2026})
    cal = rules.RecognitionCalendar(2018, relaxed)
    assert [cal.t2_tightened(step[y, q]) for y, q in ((2024, 4), (2025, 1), (2026, 4), (2027, 1))] == [
        False, True, True, False]
    with pytest.raises(InputError, match=r"region.calendar.t2_tightened_until: must be a year from t2_tightened_year \(2025\)"):
        compose_job(["region=national", "region.calendar.t2_tightened_until=2024"])


def test_an_srdi_holder_that_does_not_apply_for_review_lets_its_title_lapse():
    """Review is applied for: with nobody applying every SRDI title due is lost (MIIT's are not)."""
    none, every = (run_one(chongqing(f"uncertainties.apply_review_t2={p}"), 2) for p in (0.0, 1.0))
    assert none["review_due_T2"].sum() > 20 and none["renewed_T2"].sum() == 0
    assert none["lost_review_T2"].sum() == none["review_due_T2"].sum()
    assert none["renewed_T3"].sum() > 0.5 * none["review_due_T3"].sum() > 0  # MIIT's reviews are its own
    assert every["renewed_T2"].sum() > 0.5 * every["review_due_T2"].sum()


def test_a_listed_firm_keeps_its_title():
    cfg = chongqing("uncertainties.listing_rate=1.0", "behaviour.exits.listing_min_revenue=0.0")
    m = SMEModel(cfg, 4)
    while m.quarter < 8:
        m.step()
    f = m.firms
    listed = np.flatnonzero(f.alive[: f.n] & (f.status[: f.n] != IN_POOL) & (f.tier[: f.n] >= rules.T2))
    assert len(listed) > 0
    assert m._stocks["n_T2plus"] >= len(listed)


def test_spot_checks_revoke_srdi_titles_far_below_the_line():
    m = SMEModel(chongqing("policy.review.dynamic_exit=true"), 6)
    while m.calendar.year_quarter(m.quarter) != (2023, 4):
        m.step()
    f = m.firms
    t2 = np.flatnonzero(f.alive[: f.n] & (f.tier[: f.n] == rules.T2) & (f.title_expiry[: f.n] > m.quarter))[:20]
    f.rd_int_y1[t2] = 0.0  # no R&D last year: far below the SRDI criteria
    m.step()
    assert (f.tier[t2][f.alive[t2]] == rules.T0).all()
    assert m.counters["revoked_T2"] >= int(f.alive[t2].sum()) > 0


def test_city_strictness_does_not_move_miits_bar():
    """strict_review changes municipal pass lines only: little giants are granted against MIIT's bar,
    so with the same firms nominated the same nominees pass."""
    cfg = chongqing()
    cfg = cfg.model_copy(update={"miit": cfg.miit.model_copy(update={"bar": {y: 80.0 for y in range(2019, 2027)}})})
    strict = cfg.model_copy(update={"policy": cfg.policy.model_copy(
        update={"review": cfg.policy.review.model_copy(update={"strictness": 1.0})})})
    a, b = _batches(run_one(cfg, 8)), _batches(run_one(strict, 8))
    assert (a["t3_merit_bar"] == b["t3_merit_bar"]).all()
    # strictness thins the SRDI pool that nominates, never the bar: intake falls, if at all, with nominees
    assert (b["recognised_T3"] <= b["nominated_T3"]).all() and b["recognised_T3"].sum() <= a["recognised_T3"].sum()


# ------------------------------------------------------- who MIIT's first batches found, and who came later
def test_older_firms_of_the_initial_pool_are_larger_by_the_size_age_gradient():
    """With the gradient, an initial firm of age a is exp(g a) times the same draw (its keyed draws are
    the same), up to its share of its SME ceiling; entrants are untouched; at 0 nothing moves."""
    g = 0.05
    base = SMEModel(chongqing(ENTRANT_LIKE_POOL), 5)
    aged = SMEModel(chongqing(f"uncertainties.size_age_gradient={g}"), 5)
    f0, f1 = base.firms, aged.firms
    s = slice(0, f0.n)
    age = -f0.born_step[s] / 4.0
    cap = aged.params.entrants_initial_size_cap_share * f0.sme_ceiling[s]
    expected = np.minimum(f0.revenue[s] * np.exp(g * age), np.maximum(f0.revenue[s], cap))
    # ages are kept to the quarter (born_step): exp(0.05 x 1/8 year) is the largest rounding gap
    np.testing.assert_allclose(f1.revenue[s], expected, rtol=np.expm1(g / 8) + 1e-9)
    np.testing.assert_allclose(f1.rev_y3[s] / f1.revenue[s], f0.rev_y3[s] / f0.revenue[s], rtol=1e-12)
    np.testing.assert_allclose(f1.debt[s] / f1.revenue[s], f0.debt[s] / f0.revenue[s], rtol=1e-12)
    old = age > 10
    assert (f1.revenue[s][old] > 1.6 * f0.revenue[s][old]).mean() > 0.9  # exp(0.05 x 10) = 1.65
    assert (f1.revenue[s] <= np.maximum(f0.revenue[s], cap)).all()


def test_entrants_are_drawn_about_the_regions_median_times_the_entrant_size_ratio():
    """The same entrants (same slots, same keyed draws) enter at 0.4 x the size; the initial pool
    is not touched."""
    m0 = SMEModel(chongqing("uncertainties.entrant_size_ratio=1"), 9)  # the region file holds it at 0.5
    m1 = SMEModel(chongqing("uncertainties.entrant_size_ratio=0.4"), 9)
    n = m0.firms.n
    np.testing.assert_array_equal(m0.firms.revenue[:n], m1.firms.revenue[:n])
    new = [m.firms.add(500, 1, m.keys["entrants"], np.random.default_rng(0)) for m in (m0, m1)]
    assert new[0] == new[1] == slice(n, n + 500)
    for col in ("revenue", "rev_y1", "rev_y2", "rev_y3", "cash", "debt"):
        np.testing.assert_allclose(getattr(m1.firms, col)[new[1]], 0.4 * getattr(m0.firms, col)[new[0]], rtol=1e-12)
    np.testing.assert_array_equal(m1.firms.rd_propensity[new[1]], m0.firms.rd_propensity[new[0]])


def test_renewed_first_counts_the_batches_first_reviews_as_the_review_log_does():
    m = SMEModel(chongqing("end_year=2027", "outcomes.report_years=[2027]"), 11)
    renewed = 0
    while m.running:
        m.step()
        renewed += m.counters["renewed_first_T3"]
    validity = m.cfg.miit.validity_years
    logged = sum(r for (year, tier, cohort, due, r) in m.review_log if tier == rules.T3 and year - cohort == validity)
    assert renewed == logged > 0


def test_the_employee_test_widens_sme_size_for_the_same_firms():
    """Off (0), every firm's SME ceiling is the 400 M yuan revenue cap; with ``sme_employee_cap=1000``
    (the region files') the same firms (same keyed draws) are SMEs up to 1,000 employees' revenue,
    never below the revenue cap, and their other attributes do not move."""
    off = SMEModel(chongqing("region.sme_employee_cap=0", ENTRANT_LIKE_POOL), 4)
    on = SMEModel(chongqing("region.sme_employee_cap=1000", ENTRANT_LIKE_POOL), 4)
    n, cap = off.firms.n, off.region.sme_revenue_cap
    assert (off.firms.sme_ceiling[:n] == cap).all()
    wider = on.firms.sme_ceiling[:n]
    r = on.region  # lognormal revenue per employee: the share whose 1,000 employees earn more than the cap
    above = norm.sf(np.log(cap / (1000 * r.revenue_per_worker_median)) / r.revenue_per_worker_sigma)
    assert (wider >= cap).all() and (wider > cap).mean() == pytest.approx(above, abs=0.03)
    np.testing.assert_array_equal(on.firms.revenue[:n], off.firms.revenue[:n])


def test_a_single_region_run_refuses_a_batch_its_national_bar_was_not_made_with():
    """The stored bar is what the rest of China reached for the published batches and the assumed
    batch after 2025: a Chongqing run with another batch would change only its share, not its intake."""
    from sim.core.errors import InputError
    from sim.experiment.posterior import national_bar

    assert national_bar(compose_job([])) is not None  # the installed national fit, made with the defaults
    for override, field in [("miit.batch_after=2500", "miit.batch_after"), ("miit.batch_sizes={2025:3000}", "miit.batch_sizes")]:
        with pytest.raises(InputError, match=f"^{field}: .*made with {field}="):
            national_bar(compose_job([override]))
    assert national_bar(compose_job(["region=national", "miit.batch_after=2500"])) is None  # the national model makes its own


def test_a_little_giant_that_fails_stays_on_miits_list_until_its_batchs_review():
    """MIIT counts its batches less the titles lost at review (the 14,600 of Sep 2024 is the 15,962
    granted less the 1,275 lost at three reviews, nothing else): a holder that fails is still counted
    in ``n_T3_titles`` until its batch's review, where it is a title not renewed."""
    m = SMEModel(chongqing("uncertainties.failure_rate=0.12"), 2)
    most = 0
    for q in _stepped(m):
        f = m.firms
        failed = ~f.alive[: f.n] & (f.exit_cause[: f.n] == FAILED) & (f.tier[: f.n] == rules.T3)
        listed = int((failed & (f.title_expiry[: f.n] > q)).sum())
        assert m._stocks["n_T3_titles"] == m._stocks["n_T3"] + listed, q
        most = max(most, listed)
    assert most >= 3 and (failed & (f.title_expiry[: f.n] <= q)).sum() >= 1  # some reached their review


def test_srdi_lists_before_the_scale_up_year_are_kept_for_the_strongest():
    """Before ``calendar.t2_scale_up_year`` the SRDI pass line is t2_line_before_scale_up points
    higher: no title under a line no firm reaches, the lists after it untouched in form, and at 0
    points the run is the one without a scale-up year (Chongqing's own is 2022: set apart here)."""
    def t2_granted(*overrides):
        df = run_one(chongqing("end_year=2022", "outcomes.report_years=[2022]", ENTRANT_LIKE_POOL, *overrides), 3)
        by_year = df.groupby("year")["recognised_T2"].sum()
        return by_year.loc[2018:2020].sum(), by_year.loc[2021:2022].sum(), df
    before, after, plain = t2_granted("region.calendar.t2_scale_up_year=null")
    assert before > 0 and after > 0
    none_before, after_high, _ = t2_granted("region.calendar.t2_scale_up_year=2021",
                                            "uncertainties.t2_line_before_scale_up=40")
    assert none_before == 0 and after_high > 0
    fewer, _, _ = t2_granted("region.calendar.t2_scale_up_year=2021", "uncertainties.t2_line_before_scale_up=10")
    assert 0 < fewer < before
    _, _, same = t2_granted("region.calendar.t2_scale_up_year=2021", "uncertainties.t2_line_before_scale_up=0")
    assert same.equals(plain)


def test_srdi_lists_after_the_tightening_hold_recognition_and_review_to_a_higher_line():
    """From ``calendar.t2_tightened_year`` the SRDI line is t2_line_after_tightening points higher at
    recognition and at review alike (the criteria in force): under a line only a perfect score reaches
    (60 + 40 = 100 points) hardly anyone is listed and almost every title due is lost; the years before
    are untouched; at 0 points the run is the one without the tightening."""
    def t2_flows(*overrides):
        df = run_one(chongqing("end_year=2022", "outcomes.report_years=[2022]", ENTRANT_LIKE_POOL, *overrides), 3)
        by_year = df.groupby("year")[["recognised_T2", "review_due_T2", "renewed_T2"]].sum()
        return by_year.loc[2018:2020], by_year.loc[2021:2022], df
    plain_before, plain_after, plain = t2_flows()
    assert plain_after["recognised_T2"].sum() > 0 and plain_after["renewed_T2"].sum() > 0
    before, after, _ = t2_flows("+region.calendar.t2_tightened_year=2021", "+uncertainties.t2_line_after_tightening=40")
    assert before.equals(plain_before)
    listed, plain_listed = after["recognised_T2"].sum(), plain_after["recognised_T2"].sum()
    assert listed <= 0.02 * plain_listed, (listed, plain_listed)
    # a review passes only with the experts' noise on a near-perfect score
    kept, plain_kept = (t["renewed_T2"].sum() / t["review_due_T2"].sum() for t in (after, plain_after))
    assert kept < 0.05 < 0.5 < plain_kept
    _, _, same = t2_flows("+region.calendar.t2_tightened_year=2021", "+uncertainties.t2_line_after_tightening=0")
    assert same.equals(plain)


def test_a_bar_quantile_picks_the_trajectory_of_that_rank_and_a_run_keeps_it():
    """Trajectories rank from lowest to highest bar (a year short of nominees ranks lowest); a run
    with ``national_bar_quantile`` set (fitted with its particle, or by hand) meets that trajectory in
    every replication, while an unset one draws per replication, as before."""
    from pathlib import Path

    from sim.experiment.posterior import NationalBar, national_bar, replication_parameters

    draws = np.array([[80.0, 82.0], [70.0, -np.inf], [90.0, 91.0], [75.0, 77.0]])
    bar = NationalBar((2024, 2025), draws, np.zeros(4), Path("x"))
    qs = (0.0, 0.3, 0.6, 0.99, 1.0)
    assert [bar.index_at(q) for q in qs] == [1, 3, 0, 2, 2]
    # only the years of published batches rank: a variant that differs after them keeps each
    # quantile's trajectory (ranked over every year, it would re-pick)
    later = draws.copy()
    later[:, 1] = [99.0, 50.0, 60.0, 70.0]
    kept = NationalBar((2024, 2025), later, np.zeros(4), Path("x"), ranked_until=2024)
    assert [kept.index_at(q) for q in qs] == [bar.index_at(q) for q in qs]
    assert [NationalBar((2024, 2025), later, np.zeros(4), Path("x")).index_at(q) for q in qs] != [1, 3, 0, 2, 2]

    seeds = np.random.SeedSequence(7).spawn(12)
    stored = national_bar(compose_job([]))
    assert stored.ranked_until == max(compose_job([]).miit.batch_sizes) < max(stored.years)
    cfgs, table = replication_parameters(chongqing("uncertainties.national_bar_quantile=0.9"), seeds)
    i = stored.index_at(0.9)
    assert set(table["bar_draw"]) == {i}
    assert all(c.miit.bar[2023] == stored.draws[i][stored.years.index(2023)] for c in cfgs)
    _, drawn = replication_parameters(chongqing(), seeds)
    assert drawn["bar_draw"].nunique() > 3


def test_a_bar_shift_raises_the_national_bar_from_its_year_and_fewer_nominees_clear_it():
    """``national_bar_shift_points`` raises the stored trajectory in the batch years from
    ``national_bar_shift_from`` on and leaves the years before as the national fit made them; a
    higher bar admits no more of the city's nominees, and the national model (its own bar) ignores it."""
    from sim.experiment.posterior import national_bar, replication_parameters

    seeds = np.random.SeedSequence(11).spawn(4)
    stored = national_bar(compose_job([]))
    plain, table = replication_parameters(chongqing("uncertainties.national_bar_quantile=0.5"), seeds)
    shifted, _ = replication_parameters(chongqing("uncertainties.national_bar_quantile=0.5",
                                                  "uncertainties.national_bar_shift_points=4"), seeds)
    row = stored.draws[table["bar_draw"].iloc[0]]
    for c, s in zip(plain, shifted):
        for y, v in zip(stored.years, row):
            assert c.miit.bar[y] == v
            assert s.miit.bar[y] == (v + 4.0 if y >= 2023 else v)
    later, _ = replication_parameters(chongqing("uncertainties.national_bar_quantile=0.5", "uncertainties.national_bar_shift_points=4",
                                                "uncertainties.national_bar_shift_from=2025"), seeds)
    assert later[0].miit.bar[2024] == row[stored.years.index(2024)] and later[0].miit.bar[2025] == row[stored.years.index(2025)] + 4.0

    def intake(cfg):
        df = run_one(cfg, 3)
        return df[df["year"] >= 2023]["recognised_T3"].sum(), df[df["year"] < 2023]["recognised_T3"].sum()
    (after, before), (after_high, before_high) = intake(plain[0]), intake(shifted[0])
    assert before_high == before and after_high < after
    assert national_bar(national("+uncertainties.national_bar_shift_points=4")) is None


def test_an_areas_push_moves_its_share_of_the_batch_from_its_year_never_the_batch():
    """``area_push_points`` adds points to an area's nominees' merit from ``area_push_from`` (2024)
    on: the batches before are the same, the area takes more of the batches after, and every batch
    is granted in full (the titles come from the other areas)."""
    col = "recognised_T3__shenzhen"
    plain = run_one(national(), 5)
    pushed = run_one(national("+uncertainties.area_push_points.shenzhen=15"), 5)
    early, late = plain["year"] < 2024, plain["year"] >= 2024
    np.testing.assert_array_equal(pushed.loc[early, col], plain.loc[early, col])
    assert pushed.loc[late, col].sum() > plain.loc[late, col].sum()
    np.testing.assert_array_equal(pushed["recognised_T3"], plain["recognised_T3"])
    assert (_batches(pushed)["recognised_T3"] == _batches(pushed)["titles"]).all()
    # an unnamed area meets the rest of China's bar: a zero push changes nothing
    zero = run_one(national("+uncertainties.area_push_points.beijing=0"), 5)
    assert zero.equals(plain)


def test_a_push_set_by_hand_is_named_stale_against_a_fit_made_without_it():
    """A fit stores each area's push it held (``fixed_uncertainties``): a national run that pushes an
    area the installed fit did not (it fits the four cities' pushes, not Shandong's) is told so, by
    name; with no push it is not."""
    from sim.experiment.posterior import default_file, load_posterior, staleness

    post = load_posterior(default_file("national"))
    assert "area_push_points.shenzhen" in post.names
    assert post.meta["fixed_uncertainties"]["area_push_points.shandong"] == 0.0
    assert not any("area_push_points" in w for w in staleness(compose_job(["region=national"]), post))
    why = staleness(compose_job(["region=national", "+uncertainties.area_push_points.shandong=3"]), post)
    assert any("area_push_points.shandong" in w for w in why), why
