"""Recognition, expiry and review (复核) of titles; dynamic entry-and-exit (有进有出); 免申即享.

The calendar decides what fires in a quarter; the criteria live in ``sim.model.rules``; this module
decides who applies, who is granted, who is renewed and who loses a title.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.model import rules
from sim.model.draws import uniform
from sim.model.policies.subsidies import pay_first_recognition_awards
from sim.model.units import QUARTERS_PER_YEAR
from sim.model.world import World


def _shift(model: World) -> float:
    r = model.policy.review
    return r.strictness * r.strictness_points_span


def _grant(model: World, idx: np.ndarray, tier: int) -> None:
    f = model.firms
    f.tier[idx] = tier
    f.title_granted[idx] = model.quarter
    f.title_expiry[idx] = model.quarter + QUARTERS_PER_YEAR * model.policy.review.validity_years


def review_expiring(model: World) -> None:
    """Titles reaching their validity this quarter are reviewed: renewed if the firm still meets its
    tier's criteria (with review strictness and expert noise), else dropped to the highest lower tier
    it meets, with a fresh title, or to T0."""
    f, q, live = model.firms, model.quarter, model.live
    due = live[(f.title_expiry[live] == q) & (f.tier[live] > 0)]
    if not len(due):
        return
    shift = _shift(model)
    noise_pts = model.unc.review_noise_points * model.normal("review", due)
    for tier in (rules.T3, rules.T2, rules.T1):
        at = (f.tier[due] == tier) & (f.title_expiry[due] == q)  # not a title just re-granted lower
        if not at.any():
            continue
        idx = due[at]
        keep = model.criteria.eligible_for(tier, f, idx, q, shift + noise_pts[at])
        f.title_granted[idx[keep]] = q  # a renewal starts a new validity period
        f.title_expiry[idx[keep]] = q + QUARTERS_PER_YEAR * model.policy.review.validity_years
        model.counters[f"renewed_T{tier}"] += int(keep.sum())
        lost = idx[~keep]
        model.counters[f"lost_review_T{tier}"] += len(lost)
        _demote(model, lost, from_tier=tier, shift=shift)


def _demote(model: World, idx: np.ndarray, from_tier: int, shift: float) -> None:
    f, q = model.firms, model.quarter
    remaining = idx
    for lower in range(from_tier - 1, 0, -1):
        if not len(remaining):
            return
        ok = model.criteria.eligible_for(lower, f, remaining, q, shift)
        _grant(model, remaining[ok], lower)
        model.counters[f"demoted_into_T{lower}"] += int(ok.sum())
        remaining = remaining[~ok]
    f.tier[remaining] = rules.T0
    f.title_granted[remaining] = -1
    f.title_expiry[remaining] = -1
    model.counters["demoted_into_T0"] += len(remaining)


def dynamic_exit(model: World) -> None:
    """有进有出: a yearly spot check (in Q4) revokes titles of holders far below the pass line."""
    r = model.policy.review
    if not r.dynamic_exit or model.calendar.year_quarter(model.quarter)[1] != QUARTERS_PER_YEAR:
        return
    f, q, live = model.firms, model.quarter, model.live
    tiers = f.tier[live]
    for tier in (rules.T1, rules.T2, rules.T3):
        idx = live[tiers == tier]
        if not len(idx):
            continue
        margin = model.criteria.review_score_margin(tier, f, idx, q) - _shift(model)
        out = idx[margin < -r.dynamic_exit_margin]
        f.tier[out] = rules.T0
        f.title_granted[out] = -1
        f.title_expiry[out] = -1
        model.counters[f"revoked_T{tier}"] += len(out)
        model.counters["demoted_into_T0"] += len(out)


def recognise(model: World) -> None:
    """Grant titles due this quarter: T1 continuously (from its start), T2 in the municipal yearly
    batch, T3 in MIIT's national batch. Each tier is open only to holders of the tier below (before
    the T1 tier existed, ordinary SMEs could apply for T2 directly)."""
    f, q, cal, live = model.firms, model.quarter, model.calendar, model.live
    unc, r = model.unc, model.policy.review
    shift = _shift(model)
    rounds = []
    if cal.t1_open(q):
        rounds.append((rules.T1, [rules.T0], unc.apply_t1, 1.0, r.auto_recognition))
    if cal.t2_batch(q):
        below = [rules.T1] if cal.t1_required_for_t2(q) else [rules.T0, rules.T1]
        rounds.append((rules.T2, below, unc.apply_t2, unc.accept_t2, r.auto_recognition))
    if model.miit.batch_due(q):
        # 免申即享 is a municipal practice; MIIT's national batch always needs an application
        p_pass = model.miit.pass_probability(cal.year_quarter(q)[0], unc.accept_t3)
        rounds.append((rules.T3, [rules.T2], unc.apply_t3, p_pass, False))
    if not rounds:
        return
    for tier, from_tiers, p_apply, p_accept, automatic in rounds:
        open_to = np.zeros(rules.N_TIERS, dtype=bool)
        open_to[from_tiers] = True
        # tiers are read again: an earlier round may have granted; a firm's application and expert
        # luck are its own for the quarter, the same in every round
        cand = _candidates(live, f.tier, open_to, model.qkey("apply"), 1.0 if automatic else p_apply,
                           model.qkey("accept"), p_accept)
        ok = model.criteria.eligible_for(tier, f, cand, q, shift)
        new = cand[ok]
        for t in range(tier):  # leaving the tier it held
            model.counters[f"promoted_T{t}"] += int((f.tier[new] == t).sum())
        _grant(model, new, tier)
        model.counters[f"recognised_T{tier}"] += len(new)
        pay_first_recognition_awards(model, new, tier)


@numba.njit(cache=True)
def _candidates(live, tier, open_to, qk_apply, p_apply, qk_accept, p_accept):
    """Firms at a tier the round is open to that apply and pass the experts' stage (before the
    criteria are checked); ``p_apply`` 1.0 means everyone applies (免申即享: a draw is below 1)."""
    out = np.empty(live.size, dtype=live.dtype)
    n = 0
    for i in live:
        if open_to[tier[i]] and uniform(qk_apply, i) < p_apply and uniform(qk_accept, i) < p_accept:
            out[n] = i
            n += 1
    return out[:n]
