"""What firms do in a quarter on their own: R&D, capability and IP, growth, cash; then exit and entry.

The per-firm rules are compiled loops over the alive firms (``numba``): each firm reads its own
columns and its own draws (``sim.draws``, keyed by mechanism, quarter and firm) and writes its own
state, so a firm's luck does not depend on who else is alive and the loop order changes nothing.
Stages that settle claims for everyone at once (the R&D subsidy under a budget) split the loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from sim.draws import normal, normal_pair, uniform
from sim.firms import EXIT_CAUSES, FAILED, LISTED, OUTGREW
from sim.policies import chain_leaders, subsidies

if TYPE_CHECKING:
    from sim.model import SMEModel

CASH_CAP = 0.5  # cash above half a year's revenue is paid out or invested; it is not hoarded


def grow(model: SMEModel) -> None:
    """R&D, capability, IP, high-tech titles, revenue and cash of every alive firm.

    R&D is chosen by every firm first: the R&D subsidy is paid on the whole quarter's claims (a
    budget pro-rates them); vouchers likewise. Then each firm grows on what it received."""
    f, unc, live = model.firms, model.unc, model.live
    rate, min_tier, boost = subsidies.rd_subsidy_terms(model)
    claims = _choose_rd(live, model.qkey("rd"), f.rd_propensity, f.rd_intensity, f.revenue, f.tier,
                        rate, min_tier, boost)
    paid_rd = model.government.pay("rd_subsidy", claims)
    voucher = subsidies.pay_digital_vouchers(model)
    data = unc.spillover_capability * chain_leaders.open_flags(model, "open_data")
    orders = unc.order_growth_effect * chain_leaders.open_flags(model, "open_orders")
    _grow(live, model.quarter, model.qkey("ip"), model.qkey("institution"), model.qkey("high_tech"),
          model.qkey("shocks"), paid_rd, voucher, data, orders,
          f.rd_intensity, f.revenue, f.cash, f.capability, f.ip, f.rd_institution, f.high_tech,
          f.growth_own, f.margin, f.leader, f.boost_until, f.distressed,
          unc.voucher_capability, unc.ip_per_rd_million, unc.rd_institution_rate, unc.high_tech_rate,
          unc.capability_growth_effect, unc.loan_growth_effect, unc.denied_growth_penalty,
          unc.growth_noise_sd, unc.cash_shock_sd)


@numba.njit(cache=True)
def _choose_rd(live, qk_rd, rd_propensity, rd_intensity, revenue, tier, rate, min_tier, boost):
    """R&D: the firm moves towards its own propensity, raised by the subsidy it expects if covered;
    returns each firm's claim on the R&D subsidy (a share of this quarter's R&D spend)."""
    claims = np.zeros(live.size)
    for j in range(live.size):
        i = live[j]
        target = rd_propensity[i] * np.exp(0.1 * normal(qk_rd, i))
        covered = rate > 0.0 and tier[i] >= min_tier
        if covered:
            target *= boost
        rd = min(max(0.7 * rd_intensity[i] + 0.3 * target, 0.0), 0.5)
        rd_intensity[i] = rd
        if covered:
            claims[j] = rate * rd * revenue[i] * 0.25
    return claims


@numba.njit(cache=True)
def _leader_value(table, leader):
    return table[leader] if leader >= 0 else 0.0


@numba.njit(cache=True)
def _grow(live, q, qk_ip, qk_inst, qk_hte, qk_shocks, paid_rd, voucher, data, orders,
          rd_intensity, revenue, cash, capability, ip, rd_institution, high_tech,
          growth_own, margin, leader, boost_until, distressed,
          voucher_capability, ip_per_rd_million, rd_institution_rate, high_tech_rate,
          capability_growth_effect, loan_growth_effect, denied_growth_penalty, growth_noise_sd, cash_shock_sd):
    """Per firm: capability, at most one class-I IP, R&D institution, high-tech title, revenue, cash.
    ``data`` and ``orders`` give, per chain leader, the capability and growth its open channel adds.
    The firm's revenue and cash shocks this quarter are the two independent normals of one draw."""
    for j in range(live.size):
        i = live[j]
        rd, rev = rd_intensity[i], revenue[i]
        rd_spend_q = rd * rev * 0.25
        # capability, IP and R&D institutions
        cap = capability[i] * 0.9 + rd * (0.1 / 0.03) + voucher_capability * voucher[j]
        cap += _leader_value(data, leader[i])
        lam = ip_per_rd_million * rd_spend_q * (0.5 + 0.5 * min(cap, 3.0))
        if uniform(qk_ip, i) < -np.expm1(-lam):
            ip[i] += 1
        if rd_spend_q >= 0.25 and uniform(qk_inst, i) < rd_institution_rate:
            rd_institution[i] = True
        high_tech[i] = rd >= 0.03 and (high_tech[i] or (ip[i] >= 1 and uniform(qk_hte, i) < high_tech_rate))
        capability[i] = cap
        # revenue: own trend, capability, chain-leader orders, credit
        g = growth_own[i] + capability_growth_effect * (min(cap, 4.0) - 1.0) + _leader_value(orders, leader[i])
        if boost_until[i] >= q:
            g += loan_growth_effect
        if distressed[i]:
            g -= denied_growth_penalty
        z_growth, z_cash = normal_pair(qk_shocks, i)
        new_rev = rev * np.exp(0.25 * g + 0.5 * growth_noise_sd * z_growth)
        revenue[i] = new_rev
        # cash: what it received, operating margin net of R&D, shocks; a buffer above CASH_CAP x
        # revenue is paid out
        flow = (margin[i] - rd + cash_shock_sd * z_cash) * rev * 0.25
        cash[i] = min(cash[i] + paid_rd[j] + voucher[j] + flow, CASH_CAP * new_rev)


def exits(model: SMEModel) -> None:
    """Failure (higher when distressed or young), outgrowing SME size, listing (SRDI firms only)."""
    f, unc, q = model.firms, model.unc, model.quarter
    base = 1.0 - (1.0 - unc.failure_rate) ** 0.25
    mult = unc.distress_failure_multiplier
    # hazard by (distressed, young): base x multiplier x 1.5 for firms under three years old
    hazards = np.array([base * 1.0 * 1.0, base * mult * 1.0, base * 1.0 * 1.5, base * mult * 1.5])
    n_stay, gone, cause = _exit(model.live, q, model.qkey("failure"), model.qkey("listing"), f.born_step,
                                f.distressed, f.revenue, f.tier, hazards, model.region.sme_revenue_cap,
                                unc.listing_rate / 4.0)
    model.keep_live(n_stay)
    for code, name in EXIT_CAUSES.items():
        idx = gone[cause == code]
        tiers = np.bincount(f.tier[idx], minlength=4)
        for t in range(4):
            model.counters[f"{name}_T{t}"] += int(tiers[t])
        model.counters[name] += len(idx)
        f.remove(idx, q, code)


@numba.njit(cache=True)
def _exit(live, q, qk_fail, qk_list, born_step, distressed, revenue, tier, hazards, sme_cap, p_list):
    """Each alive firm fails, else outgrows SME size, else lists, else stays. Survivors are moved to
    the front of ``live`` in order; returns their number and the leavers' slots and causes."""
    gone = np.empty(live.size, dtype=live.dtype)
    cause = np.empty(live.size, dtype=np.int8)
    n_stay = n_gone = 0
    for j in range(live.size):
        i = live[j]
        young = born_step[i] > q - 12  # (q - born) / 4 < 3 years
        c = 0
        if uniform(qk_fail, i) < hazards[int(distressed[i]) + 2 * int(young)]:
            c = FAILED
        elif revenue[i] >= sme_cap:
            c = OUTGREW
        elif tier[i] >= 2 and revenue[i] >= 100.0 and uniform(qk_list, i) < p_list:
            c = LISTED
        if c == 0:
            live[n_stay] = i
            n_stay += 1
        else:
            gone[n_gone], cause[n_gone] = i, c
            n_gone += 1
    return n_stay, gone[:n_gone], cause[:n_gone]


def entries_this_year(model: SMEModel, year: int) -> float:
    """New firms per year, linear between the region's listed years, flat outside them."""
    pts = sorted(model.region.entries_per_year.items())
    years, values = zip(*pts)
    return float(np.interp(year, years, values))


def entry(model: SMEModel) -> None:
    rng = model.streams["entry"]
    year, _ = model.calendar.year_quarter(model.quarter)
    k = int(rng.poisson(entries_this_year(model, year) / 4.0))
    s = model.firms.add(k, model.quarter + 1, model.keys["entrants"], rng, model.region, model.unc,
                        model.cluster_leaders, model.cluster_n_leaders)
    model.append_live(s.start, s.stop)
    model.counters["entered"] += k


def close_year(model: SMEModel) -> None:
    """At the end of Q4 the year's revenue and R&D intensity become 'last year' for the criteria."""
    f = model.firms
    _close_year(model.live, f.revenue, f.rev_y1, f.rev_y2, f.rev_y3, f.rd_intensity, f.rd_int_y1, f.rd_int_y2)


@numba.njit(cache=True)
def _close_year(live, revenue, rev_y1, rev_y2, rev_y3, rd_intensity, rd_int_y1, rd_int_y2):
    for i in live:
        rev_y3[i], rev_y2[i], rev_y1[i] = rev_y2[i], rev_y1[i], revenue[i]
        rd_int_y2[i], rd_int_y1[i] = rd_int_y1[i], rd_intensity[i]
