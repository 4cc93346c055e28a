"""Subsidies: R&D subsidy, digital/AI vouchers, awards on first recognition — all within a budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.model import SMEModel


class RDSubsidy:
    """This quarter's R&D subsidy: who it covers, the boost to R&D they expect, and the ledger of
    claims over every slot (zero where none), paid at once so the budget can pro-rate them. The
    ledger is summed in slot order, so totals are the same to the last bit however claims arrive."""

    def __init__(self, model: SMEModel) -> None:
        s = model.policy.subsidies
        self.model, self.rate, self.min_tier = model, s.rd_subsidy_rate, s.rd_subsidy_min_tier
        # the rate firms expect is scaled by how much of last quarter's claims the budget paid
        self.boost = 1.0 + model.unc.rd_subsidy_response * (s.rd_subsidy_rate * model.government.funding_ratio)
        self.claims = np.zeros(model.firms.n)

    @classmethod
    def this_quarter(cls, model: SMEModel) -> RDSubsidy | None:
        return cls(model) if model.policy.subsidies.rd_subsidy_rate > 0.0 else None

    def covers(self, slots: slice) -> np.ndarray:
        f = self.model.firms
        return f.alive[slots] & (f.tier[slots] >= self.min_tier)

    def claim(self, slots: slice, covered: np.ndarray, rd_spend_q: np.ndarray) -> None:
        """The ``covered`` firms among ``slots`` claim their share of this quarter's R&D spend."""
        self.claims[slots] = covered * (self.rate * rd_spend_q)

    def pay(self) -> np.ndarray:
        """What each slot receives (the budget may pay every claimant the same share)."""
        return self.model.government.pay("rd_subsidy", self.claims)


def pay_digital_vouchers(model: SMEModel) -> np.ndarray | None:
    """Quarterly instalment of the yearly voucher to eligible firms that take it up; returns the
    amount each slot received (it buys capability, see dynamics.grow), None when off."""
    s = model.policy.subsidies
    if s.digital_voucher <= 0.0:
        return None
    f, live = model.firms, model.live
    u = model.draw("vouchers", live)
    takes = live[(f.tier[live] >= s.digital_voucher_min_tier) & (u < model.unc.voucher_uptake)]
    claims = np.zeros(f.n)
    claims[takes] = s.digital_voucher / 4.0
    paid = model.government.pay("digital_vouchers", claims)
    f.digital[live] |= paid[live] > 0
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
