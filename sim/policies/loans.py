"""Loans: who asks for credit, how lenders decide on financial and non-financial signals, and what
policy adds — IP-pledge loans, supply-chain finance on chain-leader receivables, interest subsidy
(贴息), and the overall credit supply."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.policies.chain_leaders import receivables_open

if TYPE_CHECKING:
    from sim.model import SMEModel


def credit_round(model: SMEModel) -> None:
    f, n, unc, lev = model.firms, model.firms.n, model.unc, model.policy.loans
    u_demand = model.streams["credit_demand"].random(n)
    u_approve = model.streams["credit_approve"].random(n)
    alive = f.alive[:n]
    short = alive & (f.cash[:n] < 0.0)
    # a lower effective rate draws out more growth borrowing (20% more demand per point of subsidy)
    eligible_sub = f.tier[:n] >= lev.interest_subsidy_min_tier
    demand_rate = unc.investment_demand_rate * (1.0 + 20.0 * lev.interest_subsidy * eligible_sub)
    grow = alive & ~short & (u_demand < demand_rate)
    idx = np.flatnonzero(short | grow)
    f.distressed[:n] = False
    if len(idx):
        rev = f.revenue[idx]
        amount = np.where(short[idx], -f.cash[idx] + 0.05 * rev, 0.10 * rev)
        fin = 2.0 * (0.6 - f.debt_ratio(idx)) + 5.0 * f.margin[idx] + 0.3 * np.log(np.maximum(rev, 0.1) / 10.0)
        nonfin = (
            0.3 * np.minimum(f.ip[idx], 5)
            + 0.5 * f.tier[idx]
            + 0.5 * f.high_tech[idx]
            + 0.5 * (f.leader[idx] >= 0)
        )
        pledge = lev.ip_pledge_coverage * (f.ip[idx] >= 1) * 1.5
        scf = np.zeros(len(idx))
        if lev.supply_chain_finance:
            scf = receivables_open(model)[idx] * unc.scf_approval_logit
        logit = -0.5 + fin + lev.nonfinancial_weight * nonfin + pledge + scf
        capacity = lev.credit_supply * unc.lending_capacity * model.n_alive_start
        ok = model.lender.approve(logit, amount, u_approve[idx], capacity)
        got = idx[ok]
        f.debt[got] += amount[ok]
        f.cash[got] += amount[ok]
        f.boost_until[idx[ok & grow[idx]]] = model.quarter + 4
        c = model.counters
        c["loan_applications"] += len(idx)
        c["loans_approved"] += int(ok.sum())
        c["loan_amount"] += float(amount[ok].sum())
        c["loans_ip_pledge"] += int((ok & (pledge > 0)).sum())
        c["loans_supply_chain"] += int((ok & (scf > 0)).sum())
    f.distressed[:n] = alive & (f.cash[:n] < 0.0)
    _service_debt(model)


def _service_debt(model: SMEModel) -> None:
    """Interest each quarter (part paid by the government's interest subsidy) and 5% amortisation."""
    f, n, lev = model.firms, model.firms.n, model.policy.loans
    idx = np.flatnonzero(f.alive[:n] & (f.debt[:n] > 0.0))
    if not len(idx):
        return
    debt = f.debt[idx]
    f.cash[idx] -= model.unc.loan_rate * debt / 4.0
    if lev.interest_subsidy > 0.0:
        claims = np.where(f.tier[idx] >= lev.interest_subsidy_min_tier, lev.interest_subsidy * debt / 4.0, 0.0)
        f.cash[idx] += model.government.pay("interest_subsidy", claims)
    repay = np.minimum(0.05 * debt, np.maximum(f.cash[idx], 0.0))
    f.debt[idx] -= repay
    f.cash[idx] -= repay
