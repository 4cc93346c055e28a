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
    """Firms short of cash, and healthy firms that want to invest, apply; the lender decides on all
    applications at once (it rations by score); then every indebted firm services its debt. The
    pool is read block by block (``SMEModel.blocks``); only applicants are gathered."""
    f, unc, lev = model.firms, model.unc, model.policy.loans
    # a lower effective rate draws out more growth borrowing (20% more demand per point of subsidy)
    demand_rate = np.array([unc.investment_demand_rate * (1.0 + 20.0 * lev.interest_subsidy * e) for e in (0.0, 1.0)])
    parts = []
    for start, stop in model.blocks():
        s = slice(start, stop)
        u_demand = model.draw_block("credit_demand", start, stop)
        u_approve = model.draw_block("credit_approve", start, stop)
        alive = f.alive[s]
        short = alive & (f.cash[s] < 0.0)
        eligible_sub = f.tier[s] >= lev.interest_subsidy_min_tier
        grow = alive & ~short & (u_demand < demand_rate[eligible_sub.view(np.int8)])
        pos = np.flatnonzero(short | grow)
        parts.append((pos + start, short[pos], grow[pos], u_approve[pos]))
    idx, short, grow, u_approve = (np.concatenate(x) for x in zip(*parts))
    if len(idx):
        rev = f.revenue[idx]
        amount = np.where(short, -f.cash[idx] + 0.05 * rev, 0.10 * rev)
        fin = 2.0 * (0.6 - f.debt_ratio(idx)) + 5.0 * f.margin[idx] + 0.3 * np.log(np.maximum(rev, 0.1) / 10.0)
        ip = f.ip[idx]
        nonfin = (
            0.3 * np.minimum(ip, 5)
            + 0.5 * f.tier[idx]
            + 0.5 * f.high_tech[idx]
            + 0.5 * (f.leader[idx] >= 0)
        )
        pledge = lev.ip_pledge_coverage * (ip >= 1) * 1.5
        scf = np.zeros(len(idx))
        if lev.supply_chain_finance:
            scf = receivables_open(model, idx) * unc.scf_approval_logit
        logit = -0.5 + fin + lev.nonfinancial_weight * nonfin + pledge + scf
        capacity = lev.credit_supply * unc.lending_capacity * model.n_alive_start
        ok = model.lender.approve(logit, amount, u_approve, capacity)
        got = idx[ok]
        f.debt[got] += amount[ok]
        f.cash[got] += amount[ok]
        f.boost_until[idx[ok & grow]] = model.quarter + 4
        c = model.counters
        c["loan_applications"] += len(idx)
        c["loans_approved"] += int(ok.sum())
        c["loan_amount"] += float(amount[ok].sum())
        c["loans_ip_pledge"] += int((ok & (pledge > 0)).sum())
        c["loans_supply_chain"] += int((ok & (scf > 0)).sum())
    _service_debt(model)


def _service_debt(model: SMEModel) -> None:
    """Firms still short of cash after credit are distressed; every indebted firm pays a quarter's
    interest (part paid by the government's interest subsidy) and amortises 5% of its debt.

    Block by block; with an interest subsidy in two passes, because the government pays all claims
    at once (a budget pro-rates them) before firms amortise."""
    f, lev, rate = model.firms, model.policy.loans, model.unc.loan_rate
    subsidised = lev.interest_subsidy > 0.0
    blocks = model.blocks()
    claims = []
    for start, stop in blocks:
        s = slice(start, stop)
        alive, debt, cash = f.alive[s], f.debt[s], f.cash[s]
        f.distressed[s] = alive & (cash < 0.0)
        owes = alive & (debt > 0.0)
        cash = np.where(owes, cash - rate * debt / 4.0, cash)
        if subsidised:
            covered = f.tier[s][owes] >= lev.interest_subsidy_min_tier
            claims.append(np.where(covered, lev.interest_subsidy * debt[owes] / 4.0, 0.0))
            f.cash[s] = cash
        else:
            _amortise(f, s, owes, debt, cash)
    if not subsidised:
        return
    paid = model.government.pay("interest_subsidy", np.concatenate(claims)) if claims else None
    cuts = np.cumsum([0] + [len(c) for c in claims])
    for k, (start, stop) in enumerate(blocks):
        s = slice(start, stop)
        owes = f.alive[s] & (f.debt[s] > 0.0)
        cash = f.cash[s].copy()
        cash[owes] += paid[cuts[k]:cuts[k + 1]]
        _amortise(f, s, owes, f.debt[s], cash)


def _amortise(f, s: slice, owes: np.ndarray, debt: np.ndarray, cash: np.ndarray) -> None:
    """Repay 5% of the debt, as far as cash allows."""
    repay = np.minimum(0.05 * debt, np.maximum(cash, 0.0))
    f.debt[s] = np.where(owes, debt - repay, debt)
    f.cash[s] = np.where(owes, cash - repay, cash)
