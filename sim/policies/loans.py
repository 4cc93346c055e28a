"""Loans: who asks for credit, how lenders decide on financial and non-financial signals, and what
policy adds — IP-pledge loans, supply-chain finance on chain-leader receivables, interest subsidy
(贴息), and the overall credit supply."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from sim.draws import uniform
from sim.firms import debt_ratio
from sim.policies.chain_leaders import open_flags

if TYPE_CHECKING:
    from sim.model import SMEModel


def credit_round(model: SMEModel) -> None:
    """Firms short of cash, and healthy firms that want to invest, apply; the lender decides on all
    applications at once (it rations by score); then every indebted firm services its debt."""
    f, unc, lev = model.firms, model.unc, model.policy.loans
    # a lower effective rate draws out more growth borrowing (20% more demand per point of subsidy)
    demand_rate = np.array([unc.investment_demand_rate * (1.0 + 20.0 * lev.interest_subsidy * e) for e in (0.0, 1.0)])
    scf_logit = unc.scf_approval_logit if lev.supply_chain_finance else 0.0
    idx, short, amount, logit, pledged, on_scf = _applications(
        model.live, model.qkey("credit_demand"), demand_rate, lev.interest_subsidy_min_tier,
        f.cash, f.tier, f.revenue, f.debt, f.margin, f.ip, f.high_tech, f.leader,
        open_flags(model, "open_receivables"), lev.nonfinancial_weight, lev.ip_pledge_coverage, scf_logit)
    if len(idx):
        capacity = lev.credit_supply * unc.lending_capacity * model.n_alive_start
        ok = model.lender.approve(logit, amount, model.uniform("credit_approve", idx), capacity)
        got = idx[ok]
        f.debt[got] += amount[ok]
        f.cash[got] += amount[ok]
        f.boost_until[idx[ok & ~short]] = model.quarter + 4
        c = model.counters
        c["loan_applications"] += len(idx)
        c["loans_approved"] += int(ok.sum())
        c["loan_amount"] += float(amount[ok].sum())
        c["loans_ip_pledge"] += int((ok & pledged).sum())
        c["loans_supply_chain"] += int((ok & on_scf).sum())
    _service_debt(model)


@numba.njit(cache=True)
def _applications(live, qk_demand, demand_rate, subsidy_min_tier, cash, tier, revenue, debt, margin, ip,
                  high_tech, leader, receivables_open, nonfinancial_weight, ip_pledge_coverage, scf_logit):
    """This quarter's credit applications: (slots, short of cash, amount, the lender's logit, IP
    pledged, backed by open chain-leader receivables). A firm short of cash applies for its gap plus
    5% of revenue; a share of healthy firms (higher where the interest subsidy covers them) applies
    for 10% of revenue to invest. The lender scores financial signals (debt ratio, margin, size) and,
    with the lever's weight, non-financial ones (IP, title, high-tech, chain-leader link)."""
    n_max = live.size
    idx = np.empty(n_max, dtype=live.dtype)
    short = np.empty(n_max, dtype=np.bool_)
    amount, logit = np.empty(n_max), np.empty(n_max)
    pledged, on_scf = np.empty(n_max, dtype=np.bool_), np.empty(n_max, dtype=np.bool_)
    n = 0
    for i in live:
        is_short = cash[i] < 0.0
        if not is_short and uniform(qk_demand, i) >= demand_rate[int(tier[i] >= subsidy_min_tier)]:
            continue
        rev = revenue[i]
        fin = 2.0 * (0.6 - debt_ratio(debt[i], rev, cash[i])) + 5.0 * margin[i] + 0.3 * np.log(max(rev, 0.1) / 10.0)
        nonfin = 0.3 * min(ip[i], 5) + 0.5 * tier[i] + 0.5 * high_tech[i] + 0.5 * (leader[i] >= 0)
        pledge = ip_pledge_coverage * 1.5 if ip[i] >= 1 else 0.0
        scf = scf_logit if leader[i] >= 0 and receivables_open[leader[i]] > 0.0 else 0.0
        idx[n], short[n] = i, is_short
        amount[n] = -cash[i] + 0.05 * rev if is_short else 0.10 * rev
        logit[n] = -0.5 + fin + nonfinancial_weight * nonfin + pledge + scf
        pledged[n], on_scf[n] = pledge > 0.0, scf > 0.0
        n += 1
    return idx[:n], short[:n], amount[:n], logit[:n], pledged[:n], on_scf[:n]


def _service_debt(model: SMEModel) -> None:
    """Firms still short of cash after credit are distressed; every indebted firm pays a quarter's
    interest (part paid by the government's interest subsidy, all claims at once so a budget can
    pro-rate them) and then amortises 5% of its debt, as far as cash allows."""
    f, lev, live = model.firms, model.policy.loans, model.live
    claims = _pay_interest(live, f.cash, f.debt, f.tier, f.distressed, model.unc.loan_rate,
                           lev.interest_subsidy, lev.interest_subsidy_min_tier)
    _amortise(live, f.cash, f.debt, model.government.pay("interest_subsidy", claims))


@numba.njit(cache=True)
def _pay_interest(live, cash, debt, tier, distressed, rate, subsidy, subsidy_min_tier):
    """Marks distress and pays a quarter's interest; returns each firm's interest-subsidy claim."""
    claims = np.zeros(live.size)
    for j in range(live.size):
        i = live[j]
        distressed[i] = cash[i] < 0.0
        if debt[i] > 0.0:
            cash[i] -= rate * debt[i] / 4.0
            if subsidy > 0.0 and tier[i] >= subsidy_min_tier:
                claims[j] = subsidy * debt[i] / 4.0
    return claims


@numba.njit(cache=True)
def _amortise(live, cash, debt, paid):
    for j in range(live.size):
        i = live[j]
        if debt[i] > 0.0:
            cash[i] += paid[j]
            repay = min(0.05 * debt[i], max(cash[i], 0.0))
            debt[i] -= repay
            cash[i] -= repay
