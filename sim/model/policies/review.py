"""Recognition, expiry and review (复核) of titles; dynamic entry-and-exit (有进有出); 免申即享.

Who acts where: the city recognises and reviews its T1 and T2 titles (its strictness, 有进有出
spot checks and 免申即享 are its levers, per area); MIIT grants little giants in its national batch
and reviews them against its own rules of the year, with its experts' noise. A city reaches little
giants only through its firms. The calendar decides what fires in a quarter; the criteria live in
``sim.model.rules``; this module decides who applies, who is granted, renewed, or loses a title.
A title lost at review or in a spot check is not granted again in the same quarter's batch.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.model import rules
from sim.model.draws import uniform
from sim.model.policies.subsidies import areas_of, book_admin, pay_first_recognition_awards
from sim.model.units import QUARTERS_PER_YEAR
from sim.model.world import World


def municipal_shift(model: World) -> np.ndarray:
    """Points the city adds to its T1/T2 pass lines, per area (its review strictness)."""
    lv = model.levers
    return lv.of("review.strictness") * lv.of("review.strictness_points_span")


def municipal_line(model: World, tier: int) -> np.ndarray:
    """Points added to a T1/T2 pass line this quarter, per area: the city's strictness, and for SRDI
    titles the provinces' tightened line once it is in force (``calendar.t2_tightened_year``),
    alike at recognition, review, demotion and spot checks: the criteria in force that year."""
    shift = municipal_shift(model)
    if tier == rules.T2 and model.calendar.t2_tightened(model.quarter):
        return shift + model.unc.t2_line_after_tightening
    return shift


def _validity(model: World, idx: np.ndarray, tier: int) -> np.ndarray:
    """Quarters a title granted now lasts: MIIT's validity for little giants, the city's for T1/T2."""
    if tier == rules.T3:
        return np.full(len(idx), QUARTERS_PER_YEAR * model.cfg.miit.validity_years)
    years = model.levers.of("review.validity_years")[model.firms.area[idx]]
    return (QUARTERS_PER_YEAR * years).astype(np.int64)


def _grant(model: World, idx: np.ndarray, tier: int) -> None:
    f = model.firms
    f.tier[idx] = tier
    f.title_granted[idx] = model.quarter
    f.title_expiry[idx] = model.quarter + _validity(model, idx, tier)


def _lose(model: World, idx: np.ndarray, tier: int) -> None:
    """Mark a title lost this quarter, so this quarter's batch does not grant it again."""
    model.firms.lost_step[idx] = model.quarter
    model.firms.lost_tier[idx] = tier


def review_expiring(model: World) -> None:
    """Titles reaching their validity this quarter are reviewed: renewed if the firm still meets its
    tier's criteria (with expert noise; T1/T2 with the city's strictness, T3 with MIIT's rules of
    the year), else dropped to the highest lower tier it meets, with a fresh title, or to T0. A
    review is applied for: an SRDI holder that does not apply (``apply_review_t2``) lets its title
    lapse, counted as lost at review (passed / due is the pass rate provinces see)."""
    f, q, live = model.firms, model.quarter, model.live
    due = _due(live, f.cols, q)
    if not len(due):
        return
    noise_pts = model.unc.review_noise_points * model.normal("review", due)
    year = model.calendar.year_quarter(q)[0]
    for tier in (rules.T3, rules.T2, rules.T1):
        at = (f.tier[due] == tier) & (f.title_expiry[due] == q)  # not a title just re-granted lower
        if not at.any():
            continue
        idx = due[at]
        if tier == rules.T3:
            keep = model.criteria.t3_eligible(f, idx, q, noise_pts[at], review=True)
            _log_cohorts(model, year, f.t3_cohort[idx], keep)
            first = f.t3_cohort[idx] == year - model.cfg.miit.validity_years  # the batch's first review
            model.counters["renewed_first_T3"] += int((keep & first).sum())
        else:
            line = municipal_line(model, tier)[f.area[idx]]
            keep = model.criteria.eligible_for(tier, f, idx, q, line + noise_pts[at])
            if tier == rules.T2:  # the holder's own choice to apply, drawn for SRDI holders only
                keep &= model.uniform("review", idx, draw=1) < model.unc.apply_review_t2
        f.title_granted[idx[keep]] = q  # a renewal starts a new validity period
        f.title_expiry[idx[keep]] = q + _validity(model, idx[keep], tier)
        model.counters[f"review_due_T{tier}"] += len(idx)
        model.counters[f"renewed_T{tier}"] += int(keep.sum())
        lost = idx[~keep]
        model.counters[f"lost_review_T{tier}"] += len(lost)
        _lose(model, lost, tier)
        _demote(model, lost, from_tier=tier)


@numba.njit(cache=True)
def _due(live, c, q):
    """Titled firms whose title expires in quarter ``q``, in slot order."""
    out = np.empty(live.size, dtype=live.dtype)
    n = 0
    for i in live:
        if c.title_expiry[i] == q and c.tier[i] > 0:
            out[n] = i
            n += 1
    return out[:n]


def _log_cohorts(model: World, year: int, cohort: np.ndarray, keep: np.ndarray) -> None:
    """Little-giant reviews of the year by cohort (the year of the firm's first batch)."""
    for c in np.unique(cohort):
        mine = cohort == c
        model.review_log.append((year, rules.T3, int(c), int(mine.sum()), int(keep[mine].sum())))


def _demote(model: World, idx: np.ndarray, from_tier: int) -> None:
    f, q = model.firms, model.quarter
    remaining = idx
    for lower in range(from_tier - 1, 0, -1):
        if not len(remaining):
            return
        ok = model.criteria.eligible_for(lower, f, remaining, q, municipal_line(model, lower)[f.area[remaining]])
        _grant(model, remaining[ok], lower)
        model.counters[f"demoted_into_T{lower}"] += int(ok.sum())
        remaining = remaining[~ok]
    f.tier[remaining] = rules.T0
    f.title_granted[remaining] = -1
    f.title_expiry[remaining] = -1
    model.counters["demoted_into_T0"] += len(remaining)


def dynamic_exit(model: World) -> None:
    """有进有出: a yearly spot check (in Q4) by cities that run it revokes municipal (T1, T2) titles of
    holders far below the criteria: those that fail them even with the pass line lowered by the
    check's margin (a hard criterion failed fails the check). Little giants are MIIT's to review."""
    lv = model.levers
    if not lv.any("review.dynamic_exit") or model.calendar.year_quarter(model.quarter)[1] != QUARTERS_PER_YEAR:
        return
    f, q, live = model.firms, model.quarter, model.live
    checks = lv.of("review.dynamic_exit") > 0.0
    for tier in (rules.T1, rules.T2):
        lenient = municipal_line(model, tier) - lv.of("review.dynamic_exit_margin")
        idx = live[(f.tier[live] == tier) & checks[f.area[live]]]
        if not len(idx):
            continue
        book_admin(model, model.cfg.behaviour.admin.spot_check_per_firm, areas_of(model, idx))
        out = idx[~model.criteria.eligible_for(tier, f, idx, q, lenient[f.area[idx]])]
        f.tier[out] = rules.T0
        f.title_granted[out] = -1
        f.title_expiry[out] = -1
        _lose(model, out, tier)
        model.counters[f"revoked_T{tier}"] += len(out)
        model.counters["demoted_into_T0"] += len(out)


def recognise(model: World) -> None:
    """Grant titles due this quarter: T1 continuously (from its start), T2 in the provinces' yearly
    lists (each firm in its province's quarter), T3 in MIIT's national batch. Each tier is open only
    to holders of the tier below (before the T1 tier existed, ordinary SMEs could apply for T2
    directly; before MIIT required the SRDI title, firms meeting the SRDI criteria could be
    nominated for T3)."""
    q, cal, unc = model.quarter, model.calendar, model.unc
    if cal.t1_open(q):
        _municipal_round(model, rules.T1, [rules.T0], unc.apply_t1, 1.0)
    if cal.t2_batch(q):
        below = [rules.T1] if cal.t1_required_for_t2(q) else [rules.T0, rules.T1]
        selective = 0.0 if cal.t2_full_scale(q) else unc.t2_line_before_scale_up
        _municipal_round(model, rules.T2, below, unc.apply_t2, unc.accept_t2, selective,
                         list_quarter=cal.list_quarter(q))
    if model.miit.batch_due(q):
        _national_batch(model)


def _applicants(model: World, tier: int, from_tiers: list[int], p_apply: np.ndarray, p_accept: float,
                list_quarter: int = 0) -> np.ndarray:
    """Firms at a tier the round is open to that apply (``p_apply`` per area) and pass the experts'
    stage, leaving out those that lost this tier (or a higher one) this quarter; with a
    ``list_quarter`` (1-4), only firms whose province grants its SRDI list in that quarter."""
    f, q = model.firms, model.quarter
    open_to = np.zeros(rules.N_TIERS, dtype=bool)
    open_to[from_tiers] = True
    # tiers are read again: an earlier round may have granted; a firm's application and expert
    # luck are its own for the quarter, the same in every round
    keys = (model.qkey("apply"), model.qkey("accept"))
    return _candidates(model.live, f.cols, open_to, keys, p_apply, p_accept, (q, tier), list_quarter)


def _municipal_round(model: World, tier: int, from_tiers: list[int], p_apply: float, p_accept: float,
                     extra_points: float = 0.0, list_quarter: int = 0) -> None:
    """A city's T1 or T2 round: applicants meeting the criteria at the city's pass line (plus
    ``extra_points``: SRDI lists before their scale-up) are granted; where 免申即享 runs, every
    eligible firm is considered without applying. An SRDI round is open to the firms whose
    province lists in this quarter (``list_quarter``)."""
    f, lv = model.firms, model.levers
    auto = lv.of("review.auto_recognition") > 0.0
    apply = np.where(auto, 1.0, p_apply)
    cand = _applicants(model, tier, from_tiers, apply, p_accept, list_quarter)
    line = municipal_line(model, tier)[f.area[cand]]
    ok = model.criteria.eligible_for(tier, f, cand, model.quarter, line + extra_points)
    new = cand[ok]
    _award(model, new, tier)
    book_admin(model, model.cfg.behaviour.admin.auto_recognition_per_title, areas_of(model, new) * auto)


def _national_batch(model: World) -> None:
    """MIIT's batch: provinces nominate their SRDI firms that apply and meet the criteria in force;
    MIIT ranks nominees by merit (SRDI score plus its experts' noise) and takes the best
    (``MIIT.select``). 免申即享 is municipal: MIIT's batch always needs a nomination. In years when
    MIIT does not require the SRDI title (``miit.srdi_title_required``), firms of the provinces'
    cultivation pools may be nominated too: those meeting the SRDI criteria at the city's own line."""
    f, q = model.firms, model.quarter
    year = model.calendar.year_quarter(q)[0]
    apply = np.full(len(model.areas), model.unc.apply_t3)
    if model.cfg.miit.srdi_title_required_in(year):
        cand = _applicants(model, rules.T3, [rules.T2], apply, 1.0)
    else:
        cand = _applicants(model, rules.T3, [rules.T0, rules.T1, rules.T2], apply, 1.0)
        keep = f.tier[cand] == rules.T2
        pool = cand[~keep]
        # a firm that lost a title this quarter is not nominated from the pool in the same batch
        keep[~keep] = (model.criteria.eligible_for(rules.T2, f, pool, q, municipal_line(model, rules.T2)[f.area[pool]])
                       & (f.lost_step[pool] != q))
        cand = cand[keep]
    nominees = cand[model.criteria.t3_eligible(f, cand, q)]
    model.counters["nominated_T3"] += len(nominees)
    merit = (model.criteria.t2_score(f, nominees, q) + model.unc.merit_noise_points * model.normal("merit", nominees)
             + model.miit.push(year)[f.area[nominees]])
    new = model.miit.select(nominees, merit, year)
    f.t3_cohort[new[f.t3_cohort[new] == 0]] = year
    _award(model, new, rules.T3)
    if len(model.areas) > 1:
        by_area = np.bincount(f.area[new], minlength=len(model.areas))
        for a, name in enumerate(model.areas):
            model.counters[f"recognised_T3__{name}"] += int(by_area[a])


def _award(model: World, new: np.ndarray, tier: int) -> None:
    """Grant ``tier`` to ``new`` firms, count where they came from, pay first-recognition awards."""
    f = model.firms
    for t in range(tier):  # leaving the tier it held
        model.counters[f"promoted_T{t}"] += int((f.tier[new] == t).sum())
    _grant(model, new, tier)
    model.counters[f"recognised_T{tier}"] += len(new)
    pay_first_recognition_awards(model, new, tier)


@numba.njit(cache=True)
def _candidates(live, c, open_to, keys, p_apply, p_accept, lost, list_quarter):
    """Firms at a tier the round is open to that apply (``p_apply`` of their area; 1.0 means
    everyone does: a draw is below 1) and pass the experts' stage, before the criteria are checked;
    not those that lost the round's tier (or a higher one) this quarter (``lost``: quarter, tier),
    nor those that cannot meet its criteria (``rules.may_meet``), nor (``list_quarter`` 1-4) those
    whose province grants its SRDI list in another quarter."""
    qk_apply, qk_accept = keys
    q, round_tier = lost
    out = np.empty(live.size, dtype=live.dtype)
    n = 0
    for i in live:
        if not open_to[c.tier[i]]:  # most firms share a tier: a branch the processor predicts
            continue
        # the other tests all evaluated, without branching (their outcomes are unpredictable; the
        # draws are the firm's own, so drawing them for every firm changes nothing)
        ok = (rules.may_meet(round_tier, i, c) & (uniform(qk_apply, i) < p_apply[c.area[i]])
              & (uniform(qk_accept, i) < p_accept) & ~((c.lost_step[i] == q) & (c.lost_tier[i] >= round_tier)))
        if list_quarter:
            ok &= c.srdi_list[i] == list_quarter
        out[n] = i
        n += ok
    return out[:n]
