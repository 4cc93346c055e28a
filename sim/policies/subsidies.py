"""Subsidies: R&D subsidy, digital/AI vouchers, awards on first recognition — all within a budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.model import SMEModel


def _eligible(model: SMEModel, min_tier: int) -> np.ndarray:
    n = model.firms.n
    return model.firms.alive[:n] & (model.firms.tier[:n] >= min_tier)


def rd_subsidy_rate_expected(model: SMEModel) -> np.ndarray | None:
    """The rate each firm slot expects: the lever if its tier is eligible, scaled by how much of
    last quarter's claims the budget actually paid. None when the lever is off."""
    s = model.policy.subsidies
    if s.rd_subsidy_rate <= 0.0:
        return None
    return _eligible(model, s.rd_subsidy_min_tier) * (s.rd_subsidy_rate * model.government.funding_ratio)


def pay_rd_subsidy(model: SMEModel, rd_spend_q: np.ndarray) -> None:
    s = model.policy.subsidies
    if s.rd_subsidy_rate <= 0.0:
        return
    claims = _eligible(model, s.rd_subsidy_min_tier) * (s.rd_subsidy_rate * rd_spend_q)
    model.firms.cash[: model.firms.n] += model.government.pay("rd_subsidy", claims)


def pay_digital_vouchers(model: SMEModel) -> np.ndarray | None:
    """Quarterly instalment of the yearly voucher to eligible firms that take it up; returns the
    amount each firm slot received (it buys capability, see dynamics.grow), None when off."""
    s = model.policy.subsidies
    if s.digital_voucher <= 0.0:
        return None
    n = model.firms.n
    u = model.streams["vouchers"].random(n)
    takes = _eligible(model, s.digital_voucher_min_tier) & (u < model.unc.voucher_uptake)
    paid = model.government.pay("digital_vouchers", takes * (s.digital_voucher / 4.0))
    model.firms.digital[:n] |= paid > 0
    model.firms.cash[:n] += paid
    return paid


def pay_first_recognition_awards(model: SMEModel, idx: np.ndarray, tier: int) -> None:
    """One-off award the first time a firm reaches ``tier`` (never twice for the same tier)."""
    amount = getattr(model.policy.subsidies, f"award_t{tier}")
    bit = np.int8(1 << tier)
    first = (model.firms.awarded[idx] & bit) == 0
    model.firms.awarded[idx] |= bit
    if amount <= 0.0 or not first.any():
        return
    model.firms.cash[idx] += model.government.pay("awards", np.where(first, amount, 0.0))
