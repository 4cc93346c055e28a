"""Loans: who asks for credit, how lenders decide on financial and non-financial signals, and what
policy adds — IP-pledge loans, supply-chain finance on chain-leader receivables, interest subsidy
(贴息), and the overall credit supply. The lender's scorecard is ``behaviour.credit``."""

from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np

from sim.model.draws import uniform
from sim.model.firms import debt_ratio
from sim.model.policies.chain_leaders import open_flags
from sim.model.policies.subsidies import settle
from sim.model.units import QUARTERS_PER_YEAR
from sim.model.world import World

# the loan lever as the compiled application rule reads it, with this quarter's open receivables
CreditTerms = namedtuple("CreditTerms", ["demand_rate", "subsidy_min_tier", "receivables_open",
                                         "nonfinancial_weight", "ip_pledge_coverage", "scf_logit"])


def credit_terms(model: World) -> CreditTerms:
    """The loan levers of each area as the compiled application rule reads them."""
    unc, lv, p = model.unc, model.levers, model.params
    subsidy = lv.of("loans.interest_subsidy")
    # a lower effective rate draws out more growth borrowing (behaviour.credit.interest_subsidy_demand):
    # demand_rate[area, covered by the interest subsidy]
    demand_rate = np.stack([unc.investment_demand_rate * (1.0 + p.credit_interest_subsidy_demand * subsidy * e)
                            for e in (0.0, 1.0)], axis=1)
    return CreditTerms(demand_rate, lv.of("loans.interest_subsidy_min_tier").astype(np.int64),
                       open_flags(model, "receivables"), lv.of("loans.nonfinancial_weight"),
                       lv.of("loans.ip_pledge_coverage"), unc.scf_approval_logit * lv.of("loans.supply_chain_finance"))


def credit_round(model: World) -> None:
    """Firms short of cash, and healthy firms that want to invest, apply; each area's lender decides
    on all its applications at once (it rations by score); then every indebted firm services its debt."""
    f, unc, p = model.firms, model.unc, model.params
    idx, short, amount, logit, pledged, on_scf = _applications(model.live, model.qkey("credit_demand"),
                                                               credit_terms(model), f.cols, p)
    if len(idx):
        capacity = model.levers.of("loans.credit_supply") * unc.lending_capacity * model.alive_by_area
        ok = model.lender.approve_by_area(f.area[idx], logit, amount, model.uniform("credit_approve", idx), capacity)
        got = idx[ok]
        f.debt[got] += amount[ok]
        f.cash[got] += amount[ok]
        f.boost_until[idx[ok & ~short]] = model.quarter + p.credit_boost_quarters
        _subsidise_new_loans(model, got, amount[ok])
        c = model.counters
        c["loan_applications"] += len(idx)
        c["loans_approved"] += int(ok.sum())
        c["loan_amount"] += float(amount[ok].sum())
        c["loans_ip_pledge"] += int((ok & pledged).sum())
        c["loans_supply_chain"] += int((ok & on_scf).sum())
    _service_debt(model)


@numba.njit(cache=True)
def _applications(live, qk_demand, terms, c, p):
    """This quarter's credit applications: (slots, short of cash, amount, the lender's logit, IP
    pledged, backed by open chain-leader receivables). A firm short of cash applies for its gap plus
    a buffer; a share of healthy firms (higher where the interest subsidy covers them) applies for a
    growth loan. The lender scores financial signals and, with the lever's weight, non-financial ones."""
    n_max = live.size
    idx = np.empty(n_max, dtype=live.dtype)
    short = np.empty(n_max, dtype=np.bool_)
    amount, logit = np.empty(n_max), np.empty(n_max)
    pledged, on_scf = np.empty(n_max, dtype=np.bool_), np.empty(n_max, dtype=np.bool_)
    n = 0
    for i in live:
        a = c.area[i]
        is_short = c.cash[i] < 0.0
        if not is_short and uniform(qk_demand, i) >= terms.demand_rate[a, int(c.tier[i] >= terms.subsidy_min_tier[a])]:
            continue
        rev = c.revenue[i]
        pledge = terms.ip_pledge_coverage[a] * p.credit_pledge_weight if c.ip[i] >= 1 else 0.0
        scf = terms.scf_logit[a] if c.leader[i] >= 0 and terms.receivables_open[c.leader[i], a] > 0.0 else 0.0
        idx[n], short[n] = i, is_short
        amount[n] = -c.cash[i] + p.credit_gap_buffer * rev if is_short else p.credit_investment_share * rev
        logit[n] = (p.credit_intercept + _financial_score(i, c, p)
                    + terms.nonfinancial_weight[a] * _nonfinancial_score(i, c, p) + pledge + scf)
        pledged[n], on_scf[n] = pledge > 0.0, scf > 0.0
        n += 1
    return idx[:n], short[:n], amount[:n], logit[:n], pledged[:n], on_scf[:n]


@numba.njit(cache=True)
def _financial_score(i, c, p):
    """Debt ratio below the pivot, operating margin, size (log revenue over the pivot)."""
    rev = c.revenue[i]
    dr = debt_ratio(c.debt[i], rev, c.cash[i], p.balance_assets_per_revenue)
    return (p.credit_debt_weight * (p.credit_debt_pivot - dr) + p.credit_margin_weight * c.margin[i]
            + p.credit_size_weight * np.log(max(rev, p.credit_size_floor) / p.credit_size_pivot))


@numba.njit(cache=True)
def _nonfinancial_score(i, c, p):
    """Class-I IP (capped), titles held, a high-tech title, supplying a chain leader (seed 001)."""
    return (p.credit_ip_weight * min(c.ip[i], p.credit_ip_cap) + p.credit_tier_weight * c.tier[i]
            + p.credit_high_tech_weight * c.high_tech[i] + p.credit_link_weight * (c.leader[i] >= 0))


def _subsidise_new_loans(model: World, got: np.ndarray, amount: np.ndarray) -> None:
    """贴息 as the programmes run it: a new loan to a covered firm (its area subsidises interest, the
    firm holds at least the tier covered) is subsidised for its first ``subsidy_quarters``. A firm
    keeps one subsidised balance: principal whose term has ended is no longer in it, and a new loan
    restarts the term of what is (a simplification: overlapping loans share the later term)."""
    f, lv = model.firms, model.levers
    area = f.area[got]
    covered = (lv.of("loans.interest_subsidy")[area] > 0.0) & (f.tier[got] >= lv.of("loans.interest_subsidy_min_tier")[area])
    on = got[covered]
    f.subsidised_debt[on] = np.where(f.subsidy_end[on] > model.quarter, f.subsidised_debt[on], 0.0) + amount[covered]
    f.subsidy_end[on] = model.quarter + model.params.credit_subsidy_quarters


def _service_debt(model: World) -> None:
    """Firms still short of cash after credit are distressed; every indebted firm pays a quarter's
    interest (the government pays the subsidised points on loans still in their 贴息 term, all
    claims at once so a budget can pro-rate them) and then amortises part of its debt, as far as
    cash allows."""
    f, lv, live = model.firms, model.levers, model.live
    claims, by_area = _pay_interest(live, model.quarter, model.unc.loan_rate, lv.of("loans.interest_subsidy"), f.cols)
    paid_share = settle(model, "interest_subsidy", "loans.interest_subsidy", claims, by_area)
    _amortise(live, claims, paid_share, f.cols, model.params)


@numba.njit(cache=True)
def _pay_interest(live, q, rate, subsidy, c):
    """Marks distress and pays a quarter's interest; returns each firm's interest-subsidy claim (the
    area's subsidised points on the part of its debt still in a 贴息 term) and their total per area."""
    claims, by_area = np.zeros(live.size), np.zeros(subsidy.size)
    for j in range(live.size):
        i = live[j]
        c.distressed[i] = c.cash[i] < 0.0
        if c.debt[i] > 0.0:
            c.cash[i] -= rate * c.debt[i] / QUARTERS_PER_YEAR
            if q < c.subsidy_end[i] and c.subsidised_debt[i] > 0.0:
                claims[j] = subsidy[c.area[i]] * min(c.subsidised_debt[i], c.debt[i]) / QUARTERS_PER_YEAR
                by_area[c.area[i]] += claims[j]
    return claims, by_area


@numba.njit(cache=True)
def _amortise(live, claims, paid_share, c, p):
    """The interest subsidy paid (``paid_share`` of its area's claims), then repayment from cash."""
    for j in range(live.size):
        i = live[j]
        if c.debt[i] > 0.0:
            c.cash[i] += claims[j] * paid_share[c.area[i]]
            repay = min(p.credit_amortisation * c.debt[i], max(c.cash[i], 0.0))
            c.debt[i] -= repay
            c.cash[i] -= repay
            c.subsidised_debt[i] = min(c.subsidised_debt[i], c.debt[i])
