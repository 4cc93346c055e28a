"""What firms do in a quarter on their own: R&D, capability and IP, growth, cash; then exit and entry.

Each firm's decisions use its own element of a per-mechanism random vector drawn over all slots,
so a firm's luck does not depend on how many other firms are alive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.firms import EXIT_CAUSES, FAILED, LISTED, OUTGREW
from sim.policies import chain_leaders, subsidies

if TYPE_CHECKING:
    from sim.model import SMEModel

CASH_CAP = 0.5  # cash above half a year's revenue is paid out or invested; it is not hoarded


def grow(model: SMEModel) -> None:
    """R&D, capability, IP, high-tech titles, revenue and cash of every alive firm.

    Works block by block on contiguous slices of the columns (``SMEModel.blocks``), so a block's
    arrays stay in the CPU cache; results are written back to alive firms only, so a dead firm's
    state stays as it was when it left. R&D is chosen for every firm first: the R&D subsidy is
    paid on the whole quarter's claims (a budget pro-rates them)."""
    blocks = model.blocks()
    subsidy = subsidies.RDSubsidy.this_quarter(model)
    for start, stop in blocks:
        _choose_rd(model, start, stop, subsidy)
    paid = subsidy.pay() if subsidy is not None else None
    voucher = subsidies.pay_digital_vouchers(model)
    unc = model.unc
    data = chain_leaders.open_table(model, "open_data") if unc.spillover_capability > 0.0 else None
    orders = chain_leaders.open_table(model, "open_orders") if unc.order_growth_effect > 0.0 else None
    for start, stop in blocks:
        _grow_block(model, start, stop, paid, voucher, data, orders)


def _choose_rd(model: SMEModel, start: int, stop: int, subsidy) -> None:
    """R&D: the firm moves towards its own propensity, raised by the subsidy it expects."""
    f, s = model.firms, slice(start, stop)
    target = f.rd_propensity[s] * np.exp(0.1 * model.draw_block("rd", start, stop, normal=True))
    if subsidy is not None:
        covered = subsidy.covers(s)
        np.multiply(target, subsidy.boost, out=target, where=covered)
    rd = np.clip(0.7 * f.rd_intensity[s] + 0.3 * target, 0.0, 0.5)
    f.rd_intensity[s] = np.where(f.alive[s], rd, f.rd_intensity[s])
    if subsidy is not None:
        subsidy.claim(s, covered, rd * f.revenue[s] * 0.25)


def _grow_block(model: SMEModel, start: int, stop: int, paid_rd: np.ndarray | None,
                voucher: np.ndarray | None, data: np.ndarray | None, orders: np.ndarray | None) -> None:
    f, unc, q, s = model.firms, model.unc, model.quarter, slice(start, stop)
    alive = f.alive[s]
    u_ip = model.draw_block("ip", start, stop)
    u_inst = model.draw_block("institution", start, stop)
    u_hte = model.draw_block("high_tech", start, stop)
    z_growth = model.draw_block("growth", start, stop, normal=True)
    z_cash = model.draw_block("cash", start, stop, normal=True)
    rd, rev = f.rd_intensity[s], f.revenue[s]
    rd_spend_q = rd * rev * 0.25
    cash = f.cash[s].copy()
    if paid_rd is not None:
        cash += paid_rd[s]
    if voucher is not None:
        cash += voucher[s]

    # capability, IP (at most one class-I IP a quarter) and R&D institutions
    cap = f.capability[s] * 0.9
    cap += rd * (0.1 / 0.03)
    if voucher is not None:
        cap += unc.voucher_capability * voucher[s]
    if data is not None:
        cap += unc.spillover_capability * data[f.leader[s]]
    lam = unc.ip_per_rd_million * rd_spend_q * (0.5 + 0.5 * np.minimum(cap, 3.0))
    ip = f.ip[s] + (u_ip < -np.expm1(-lam))
    f.rd_institution[s] |= alive & (rd_spend_q >= 0.25) & (u_inst < unc.rd_institution_rate)
    high_tech = (rd >= 0.03) & (f.high_tech[s] | ((ip >= 1) & (u_hte < unc.high_tech_rate)))

    # revenue: own trend, capability, chain-leader orders, credit
    g = f.growth_own[s] + unc.capability_growth_effect * (np.minimum(cap, 4.0) - 1.0)
    if orders is not None:
        g += unc.order_growth_effect * orders[f.leader[s]]
    g += unc.loan_growth_effect * (f.boost_until[s] >= q)
    g -= unc.denied_growth_penalty * f.distressed[s]
    revenue = rev * np.exp(0.25 * g + 0.5 * unc.growth_noise_sd * z_growth)

    # cash: operating margin net of R&D, shocks; a buffer above CASH_CAP x revenue is paid out
    flow = (f.margin[s] - rd + unc.cash_shock_sd * z_cash) * rev * 0.25
    cash = np.minimum(cash + flow, CASH_CAP * revenue)
    for column, value in (("capability", cap), ("ip", ip), ("high_tech", high_tech), ("revenue", revenue),
                          ("cash", cash)):
        col = getattr(f, column)
        col[s] = np.where(alive, value, col[s])


def exits(model: SMEModel) -> None:
    """Failure (higher when distressed or young), outgrowing SME size, listing (SRDI firms only)."""
    f, unc, q = model.firms, model.unc, model.quarter
    base = 1.0 - (1.0 - unc.failure_rate) ** 0.25
    mult = unc.distress_failure_multiplier
    # hazard by (distressed, young): base x multiplier x 1.5 for firms under three years old
    hazards = np.array([base * 1.0 * 1.0, base * mult * 1.0, base * 1.0 * 1.5, base * mult * 1.5])
    gone = {FAILED: [], OUTGREW: [], LISTED: []}
    for start, stop in model.blocks():
        s = slice(start, stop)
        u_fail = model.draw_block("failure", start, stop)
        u_list = model.draw_block("listing", start, stop)
        alive, revenue = f.alive[s], f.revenue[s]
        young = f.born_step[s] > q - 12  # (q - born) / 4 < 3 years
        failed = alive & (u_fail < hazards[f.distressed[s] + 2 * young])
        outgrew = alive & ~failed & (revenue >= model.region.sme_revenue_cap)
        listed = alive & ~failed & ~outgrew & (f.tier[s] >= 2) & (revenue >= 100.0)
        listed &= u_list < unc.listing_rate / 4.0
        for cause, mask in ((FAILED, failed), (OUTGREW, outgrew), (LISTED, listed)):
            gone[cause].append(np.flatnonzero(mask) + start)
    for cause, name in EXIT_CAUSES.items():
        idx = np.concatenate(gone[cause]) if gone[cause] else np.zeros(0, dtype=np.intp)
        tiers = np.bincount(f.tier[idx], minlength=4)
        for t in range(4):
            model.counters[f"{name}_T{t}"] += int(tiers[t])
        model.counters[name] += len(idx)
        f.remove(idx, q, cause)
    model.live = model.live[f.alive[model.live]]


def entries_this_year(model: SMEModel, year: int) -> float:
    """New firms per year, linear between the region's listed years, flat outside them."""
    pts = sorted(model.region.entries_per_year.items())
    years, values = zip(*pts)
    return float(np.interp(year, years, values))


def entry(model: SMEModel) -> None:
    rng = model.streams["entry"]
    year, _ = model.calendar.year_quarter(model.quarter)
    k = int(rng.poisson(entries_this_year(model, year) / 4.0))
    s = model.firms.add(k, model.quarter + 1, rng, model.region, model.unc, model.leaders_by_cluster)
    model.live = np.concatenate([model.live, np.arange(s.start, s.stop)])
    model.counters["entered"] += k


def close_year(model: SMEModel) -> None:
    """At the end of Q4 the year's revenue and R&D intensity become 'last year' for the criteria."""
    f, n = model.firms, model.firms.n
    f.rev_y3[:n] = f.rev_y2[:n]
    f.rev_y2[:n] = f.rev_y1[:n]
    f.rev_y1[:n] = f.revenue[:n]
    f.rd_int_y2[:n] = f.rd_int_y1[:n]
    f.rd_int_y1[:n] = f.rd_intensity[:n]
