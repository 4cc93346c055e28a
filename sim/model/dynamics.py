"""What firms do in a quarter on their own: R&D, capability and IP, growth, cash; then exit and entry.

The per-firm rules are compiled loops over the alive firms (``numba``): each firm reads its own
columns and its own draws (``sim.model.draws``, keyed by mechanism, quarter and firm) and writes its
own state, so a firm's luck does not depend on who else is alive and the loop order changes nothing.
Stages that settle claims for everyone at once (the R&D subsidy under a budget) split the loop.
Every number a rule uses is a named parameter (``p``, ``sim.model.params``).
"""

from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np

from sim.model.draws import happens, normal, normal_pair, uniform
from sim.model.firms import ALIVE, EXIT_CAUSES, FAILED, GRADUATED, IN_POOL, LISTED, LISTED_FIRM, OUTGREW
from sim.model.policies import chain_leaders, subsidies
from sim.model.rules import N_TIERS, T3
from sim.model.units import QUARTER, QUARTERS_PER_YEAR, SQRT_QUARTER
from sim.model.world import World

# this quarter's keys of the growth stage's draws, and what the firms received before they grow
GrowthKeys = namedtuple("GrowthKeys", ["ip", "institution", "high_tech", "shocks"])
# (``rd_claims`` x ``rd_paid_share`` of the firm's area is the R&D subsidy it is paid)
Received = namedtuple("Received", ["rd_claims", "rd_paid_share", "voucher", "data", "orders"])
ExitKeys = namedtuple("ExitKeys", ["failure", "listing"])


def grow(model: World) -> None:
    """R&D, capability, IP, high-tech titles, revenue and cash of every alive firm.

    R&D is chosen by every firm first: the R&D subsidy is paid on the whole quarter's claims (a
    budget pro-rates them); vouchers likewise. Then each firm grows on what it received."""
    f, unc, live = model.firms, model.unc, model.live
    terms = subsidies.rd_subsidy_terms(model)
    claims, by_area = _choose_rd(live, model.qkey("rd"), terms, f.cols, model.params)
    paid_share = subsidies.settle(model, "rd_subsidy", "subsidies.rd_subsidy_rate", claims, by_area)
    voucher = subsidies.pay_digital_vouchers(model)
    data = unc.spillover_capability * chain_leaders.open_flags(model, "data")
    orders = unc.order_growth_effect * chain_leaders.open_flags(model, "orders")
    keys = GrowthKeys(model.qkey("ip"), model.qkey("institution"), model.qkey("high_tech"), model.qkey("shocks"))
    _grow(live, model.quarter, keys, Received(claims, paid_share, voucher, data, orders), f.cols, model.params)


@numba.njit(cache=True)
def _choose_rd(live, qk_rd, terms, c, p):
    """R&D: the firm moves towards its own propensity, raised by the subsidy it expects if covered;
    returns each firm's claim on the R&D subsidy (a share of this quarter's R&D spend) and the
    claims' total in each area."""
    claims, by_area = np.zeros(live.size), np.zeros(terms.rate.size)
    for j in range(live.size):
        i = live[j]
        a = c.area[i]
        target = c.rd_propensity[i] * np.exp(p.rd_target_noise_sd * normal(qk_rd, i))
        covered = terms.rate[a] > 0.0 and c.tier[i] >= terms.min_tier[a]
        if covered:
            target *= terms.boost[a]
        adj = p.rd_adjustment
        rd = min(max((1.0 - adj) * c.rd_intensity[i] + adj * target, 0.0), p.rd_max_intensity)
        c.rd_intensity[i] = rd
        if covered:
            claims[j] = terms.rate[a] * rd * c.revenue[i] * QUARTER
            by_area[a] += claims[j]
    return claims, by_area


@numba.njit(cache=True)
def _leader_value(table, leader, area):
    """What the firm's chain leader's open channel gives it (``table[leader, area]``), 0 if unlinked."""
    return table[leader, area] if leader >= 0 else 0.0


@numba.njit(cache=True)
def _grow(live, q, keys, got, c, p):
    """Per firm: capability, at most one class-I IP, R&D institution, high-tech title, revenue, cash.
    ``got.data`` and ``got.orders`` give, per chain leader, the capability and growth its open
    channel adds. The firm's revenue and cash shocks this quarter are the two normals of one draw."""
    for j in range(live.size):
        i = live[j]
        rd, rev = c.rd_intensity[i], c.revenue[i]
        rd_spend_q = rd * rev * QUARTER
        cap = _capability_and_ip(i, j, rd, rd_spend_q, keys, got, c, p)
        # revenue: own trend, capability, chain-leader orders, credit
        g = (c.growth_own[i] + p.capability_growth_effect * (min(cap, p.capability_growth_cap) - 1.0)
             + _leader_value(got.orders, c.leader[i], c.area[i]))
        if c.boost_until[i] >= q:
            g += p.loan_growth_effect
        if c.distressed[i]:
            g -= p.denied_growth_penalty
        z_growth, z_cash = normal_pair(keys.shocks, i)
        new_rev = rev * np.exp(QUARTER * g + SQRT_QUARTER * p.growth_noise_sd * z_growth)
        c.revenue[i] = new_rev
        # cash: what it received, operating margin net of R&D, shocks; a buffer above the cap is paid out
        flow = (c.margin[i] - rd + p.cash_shock_sd * z_cash) * rev * QUARTER
        rd_subsidy = got.rd_claims[j] * got.rd_paid_share[c.area[i]]
        c.cash[i] = min(c.cash[i] + rd_subsidy + got.voucher[j] + flow, p.cash_cap_share * new_rev)


@numba.njit(cache=True)
def _capability_and_ip(i, j, rd, rd_spend_q, keys, got, c, p):
    """Capability (lapsing, rebuilt by R&D, vouchers and a leader's open data), a class-I IP at a
    rate rising with capability, an R&D institution, the high-tech title; returns the capability."""
    decay = p.capability_decay
    cap = (c.capability[i] * (1.0 - decay) + rd * (decay / p.capability_typical_rd)
           + p.voucher_capability * got.voucher[j])
    cap += _leader_value(got.data, c.leader[i], c.area[i])
    lam = p.ip_per_rd_million * rd_spend_q * (p.capability_ip_base + p.capability_ip_slope * min(cap, p.capability_ip_cap))
    if happens(keys.ip, i, lam):
        c.ip[i] += 1
    if rd_spend_q >= p.capability_institution_min_rd and uniform(keys.institution, i) < p.rd_institution_rate:
        c.rd_institution[i] = True
    # ``&``/``|``, not ``and``/``or``: numba compiles short-circuits over the columns to slower code
    c.high_tech[i] = (rd >= p.capability_high_tech_min_rd) & (
        c.high_tech[i] | ((c.ip[i] >= 1) & (uniform(keys.high_tech, i) < p.high_tech_rate)))
    c.capability[i] = cap
    return cap


def exits(model: World) -> None:
    """Failure (more likely when distressed, young or small); leaving the SME pool by outgrowing SME
    size or listing (SRDI firms only), a titled firm keeping its title to its next review; and firms
    out of the pool that hold no title (any more) leave."""
    f, p, q = model.firms, model.params, model.quarter
    base = 1.0 - (1.0 - p.failure_rate) ** QUARTER
    mult, young = p.distress_failure_multiplier, p.exits_young_multiplier
    # hazard by [young, distressed]: base x young-firm multiplier x distress multiplier
    hazards = np.array([[base * 1.0 * 1.0, base * mult * 1.0], [base * 1.0 * young, base * mult * young]])
    keys = ExitKeys(model.qkey("failure"), model.qkey("listing"))
    n_stay, gone, cause, event, kind = _exit(model.live, q, keys, hazards, f.cols, p)
    model.keep_live(n_stay)
    c = model.counters
    for code, name in ((FAILED, "failed"), (OUTGREW, "outgrew"), (LISTED, "listed")):
        who = event[kind == code]  # failures, and firms leaving the pool (titles kept) this quarter
        tiers = np.bincount(f.tier[who], minlength=N_TIERS)
        for t in range(N_TIERS):
            c[f"{name}_T{t}"] += int(tiers[t])
        c[name] += len(who)
    c["left"] += int((cause != FAILED).sum())
    # MIIT's lists keep a failed little giant's title until its batch's review (counted as not passing)
    failed = event[(kind == FAILED) & (f.tier[event] == T3)]
    titles = np.stack([f.area[failed], f.title_expiry[failed]], 1).astype(np.int64)
    model.failed_titles = np.concatenate([model.failed_titles, titles])
    for code in EXIT_CAUSES:
        f.remove(gone[cause == code], q, code)


@numba.njit(cache=True)
def _exit(live, q, keys, hazards, c, p):
    """Each alive firm fails, else leaves the pool (outgrows SME size, else lists), else, out of the
    pool without a title, leaves the model. Survivors are moved to the front of ``live`` in order;
    returns their number, the leavers' slots and causes, and this quarter's events and their kinds."""
    gone = np.empty(live.size, dtype=live.dtype)
    cause = np.empty(live.size, dtype=np.int8)
    event = np.empty(live.size, dtype=live.dtype)
    kind = np.empty(live.size, dtype=np.int8)
    n_stay = n_gone = n_event = 0
    # the size factor's largest value (at the revenue floor; unbounded when hazard grows with size):
    # a firm whose draw clears the hazard times it cannot fail, so its size factor is never computed
    top = p.exits_size_floor / p.exits_size_pivot
    bound = top ** -p.exits_size_elasticity if p.exits_size_elasticity >= 0.0 else np.inf
    rates = (QUARTERS_PER_YEAR * p.exits_young_years, p.listing_rate / QUARTERS_PER_YEAR, bound)
    for j in range(live.size):
        i = live[j]
        k = _event(i, q, rates, keys, hazards, c, p)
        if k != ALIVE:
            event[n_event], kind[n_event] = i, k
            n_event += 1
            if k != FAILED and c.tier[i] > 0:
                c.status[i] = GRADUATED if k == OUTGREW else LISTED_FIRM  # keeps its title
                k = ALIVE
        elif c.status[i] != IN_POOL and c.tier[i] == 0:
            k = OUTGREW if c.status[i] == GRADUATED else LISTED  # its title lapsed: it leaves
        if k == ALIVE:
            live[n_stay] = i
            n_stay += 1
        else:
            gone[n_gone], cause[n_gone] = i, k
            n_gone += 1
    return n_stay, gone[:n_gone], cause[:n_gone], event[:n_event], kind[:n_event]


@numba.njit(cache=True)
def _event(i, q, rates, keys, hazards, c, p):
    """What happens to firm ``i`` this quarter: it fails (hazard falling with size:
    (revenue / pivot) ^ -elasticity), or leaves the SME pool (outgrows it, or lists), or nothing.
    ``rates``: (young-firm age in quarters, listing chance a quarter, the size factor's bound)."""
    young_quarters, p_list, bound = rates
    young = c.born_step[i] > q - young_quarters  # younger than exits_young_years
    hazard = hazards[int(young), int(c.distressed[i])]
    u = uniform(keys.failure, i)
    if u < hazard * bound:  # only then can the firm fail: its size factor decides
        size = (max(c.revenue[i], p.exits_size_floor) / p.exits_size_pivot) ** -p.exits_size_elasticity
        if u < hazard * size:
            return FAILED
    if c.status[i] != IN_POOL:
        return ALIVE
    if c.revenue[i] >= c.sme_ceiling[i]:
        return OUTGREW
    # ``&``, not ``and``: numba's short-circuit over two fields of these large structs compiles to a
    # loop ~25x slower (measured); the listing draw is the firm's own, so drawing it always changes nothing
    if ((c.tier[i] >= p.exits_listing_min_tier) & (c.revenue[i] >= p.exits_listing_min_revenue)
            & (uniform(keys.listing, i) < p_list)):
        return LISTED
    return ALIVE


def entries_this_year(model: World, year: int) -> float:
    """New firms per year, linear between the region's listed years, flat outside them."""
    pts = sorted(model.region.entries_per_year.items())
    years, values = zip(*pts)
    return float(np.interp(year, years, values))


def entry(model: World) -> None:
    """New firms of the quarter, area by area (Poisson around each area's share of the region's entry)."""
    rng = model.streams["entry"]
    year, _ = model.calendar.year_quarter(model.quarter)
    per_quarter = entries_this_year(model, year) * model.region.population_scale / QUARTERS_PER_YEAR
    for a, share in enumerate(model.area_shares):
        k = int(rng.poisson(per_quarter * share))
        s = model.firms.add(k, model.quarter + 1, model.keys["entrants"], rng, area=a)
        model.append_live(s.start, s.stop)
        model.counters["entered"] += k


def close_year(model: World) -> None:
    """At the end of Q4 the year's revenue and R&D intensity become 'last year' for the criteria."""
    _close_year(model.live, model.firms.cols)


@numba.njit(cache=True)
def _close_year(live, c):
    for i in live:
        c.rev_y3[i], c.rev_y2[i], c.rev_y1[i] = c.rev_y2[i], c.rev_y1[i], c.revenue[i]
        c.rd_int_y2[i], c.rd_int_y1[i] = c.rd_int_y1[i], c.rd_intensity[i]
