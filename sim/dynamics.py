"""What firms do in a quarter on their own: R&D, capability and IP, growth, cash; then exit and entry.

Each firm's decisions use its own element of a per-mechanism random vector drawn over all slots,
so a firm's luck does not depend on how many other firms are alive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.firms import FAILED, LISTED, OUTGREW
from sim.policies import chain_leaders, subsidies

if TYPE_CHECKING:
    from sim.model import SMEModel

CASH_CAP = 0.5  # cash above half a year's revenue is paid out or invested; it is not hoarded


def grow(model: SMEModel) -> None:
    """Works on whole column views (dead slots included, masked where it matters): contiguous
    arithmetic is several times faster than gathering the alive firms first."""
    f, n, unc, q = model.firms, model.firms.n, model.unc, model.quarter
    alive = f.alive[:n]
    z_rd = model.streams["rd"].standard_normal(n)
    u_ip = model.streams["ip"].random(n)
    u_inst = model.streams["institution"].random(n)
    u_hte = model.streams["high_tech"].random(n)
    z_growth = model.streams["growth"].standard_normal(n)
    z_cash = model.streams["cash"].standard_normal(n)
    rd, cap, rev = f.rd_intensity[:n], f.capability[:n], f.revenue[:n].copy()

    # R&D: the firm moves towards its own propensity, raised by the subsidy it expects
    rate = subsidies.rd_subsidy_rate_expected(model)
    target = f.rd_propensity[:n] * np.exp(0.1 * z_rd)
    if rate is not None:
        target *= 1.0 + unc.rd_subsidy_response * rate
    rd[:] = np.clip(0.7 * rd + 0.3 * target, 0.0, 0.5)
    rd_spend_q = rd * rev * 0.25
    subsidies.pay_rd_subsidy(model, rd_spend_q)
    voucher = subsidies.pay_digital_vouchers(model)

    # capability, IP (at most one class-I IP a quarter) and R&D institutions
    cap *= 0.9
    cap += rd * (0.1 / 0.03)
    if voucher is not None:
        cap += unc.voucher_capability * voucher
    if unc.spillover_capability > 0.0 and model.any_leader_open("open_data"):
        cap += unc.spillover_capability * chain_leaders.data_open(model)
    lam = unc.ip_per_rd_million * rd_spend_q * (0.5 + 0.5 * np.minimum(cap, 3.0))
    f.ip[:n] += alive & (u_ip < -np.expm1(-lam))
    inst = f.rd_institution[:n]
    inst |= alive & (rd_spend_q >= 0.25) & (u_inst < unc.rd_institution_rate)
    hte = f.high_tech[:n]
    rd_ok = rd >= 0.03
    hte[:] = (hte & rd_ok) | (alive & rd_ok & (f.ip[:n] >= 1) & (u_hte < unc.high_tech_rate))

    # revenue: own trend, capability, chain-leader orders, credit
    g = f.growth_own[:n] + unc.capability_growth_effect * (np.minimum(cap, 4.0) - 1.0)
    if unc.order_growth_effect > 0.0 and model.any_leader_open("open_orders"):
        g += unc.order_growth_effect * chain_leaders.orders_open(model)
    g += unc.loan_growth_effect * (f.boost_until[:n] >= q)
    g -= unc.denied_growth_penalty * f.distressed[:n]
    f.revenue[:n] = np.where(alive, rev * np.exp(0.25 * g + 0.5 * unc.growth_noise_sd * z_growth), rev)

    # cash: operating margin net of R&D, shocks; a buffer above CASH_CAP x revenue is paid out
    flow = (f.margin[:n] - rd + unc.cash_shock_sd * z_cash) * rev * 0.25
    f.cash[:n] = np.where(alive, np.minimum(f.cash[:n] + flow, CASH_CAP * f.revenue[:n]), f.cash[:n])


def exits(model: SMEModel) -> None:
    """Failure (higher when distressed or young), outgrowing SME size, listing (SRDI firms only)."""
    f, n, unc, q = model.firms, model.firms.n, model.unc, model.quarter
    u_fail = model.streams["failure"].random(n)
    u_list = model.streams["listing"].random(n)
    idx = np.flatnonzero(f.alive[:n])
    base = 1.0 - (1.0 - unc.failure_rate) ** 0.25
    hazard = base * np.where(f.distressed[idx], unc.distress_failure_multiplier, 1.0)
    hazard *= np.where(f.age_years(idx, q) < 3.0, 1.5, 1.0)
    failed = u_fail[idx] < hazard
    outgrew = ~failed & (f.revenue[idx] >= model.region.sme_revenue_cap)
    listed = ~failed & ~outgrew & (f.tier[idx] >= 2) & (f.revenue[idx] >= 100.0)
    listed &= u_list[idx] < unc.listing_rate / 4.0
    for cause, mask, name in ((FAILED, failed, "failed"), (OUTGREW, outgrew, "outgrew"), (LISTED, listed, "listed")):
        gone = idx[mask]
        tiers = np.bincount(f.tier[gone], minlength=4)
        for t in range(4):
            model.counters[f"{name}_T{t}"] += int(tiers[t])
        model.counters[name] += len(gone)
        f.remove(gone, q, cause)


def entries_this_year(model: SMEModel, year: int) -> float:
    """New firms per year, linear between the region's listed years, flat outside them."""
    pts = sorted(model.region.entries_per_year.items())
    years, values = zip(*pts)
    return float(np.interp(year, years, values))


def entry(model: SMEModel) -> None:
    rng = model.streams["entry"]
    year, _ = model.calendar.year_quarter(model.quarter)
    k = int(rng.poisson(entries_this_year(model, year) / 4.0))
    model.firms.add(k, model.quarter + 1, rng, model.region, model.unc, model.leaders_by_cluster)
    model.counters["entered"] += k


def close_year(model: SMEModel) -> None:
    """At the end of Q4 the year's revenue and R&D intensity become 'last year' for the criteria."""
    f, n = model.firms, model.firms.n
    f.rev_y3[:n] = f.rev_y2[:n]
    f.rev_y2[:n] = f.rev_y1[:n]
    f.rev_y1[:n] = f.revenue[:n]
    f.rd_int_y2[:n] = f.rd_int_y1[:n]
    f.rd_int_y1[:n] = f.rd_intensity[:n]
