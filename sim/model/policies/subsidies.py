"""Subsidies: R&D subsidy, digital/AI vouchers, awards on first recognition — all within a budget."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from sim.model.units import QUARTER
from sim.model.world import World

# the R&D subsidy this quarter, as the compiled R&D choice reads it (sim.model.dynamics)
RDSubsidyTerms = namedtuple("RDSubsidyTerms", ["rate", "min_tier", "boost"])


def rd_subsidy_terms(model: World) -> RDSubsidyTerms:
    """This quarter's R&D subsidy: (rate of R&D spend refunded, lowest tier covered, the factor by
    which covered firms raise their target R&D). The rate firms expect is scaled by how much of last
    quarter's claims the budget paid. Each firm's claim is made where it chooses R&D
    (``sim.model.dynamics.grow``) and paid with ``MunicipalGovernment.pay``."""
    s = model.policy.subsidies
    boost = 1.0 + model.unc.rd_subsidy_response * (s.rd_subsidy_rate * model.government.funding_ratio)
    return RDSubsidyTerms(s.rd_subsidy_rate, s.rd_subsidy_min_tier, boost)


def pay_digital_vouchers(model: World) -> np.ndarray:
    """Quarterly instalment of the yearly voucher to eligible firms that take it up; returns the
    amount each alive firm (in ``model.live`` order) received: it buys capability (dynamics.grow)."""
    s, f, live = model.policy.subsidies, model.firms, model.live
    if s.digital_voucher <= 0.0:
        return np.zeros(len(live))
    takes = (f.tier[live] >= s.digital_voucher_min_tier) & (model.uniform("vouchers", live) < model.unc.voucher_uptake)
    paid = model.government.pay("digital_vouchers", np.where(takes, s.digital_voucher * QUARTER, 0.0))
    f.digital[live] |= paid > 0
    return paid


def pay_first_recognition_awards(model: World, idx: np.ndarray, tier: int) -> None:
    """One-off award the first time a firm reaches ``tier`` (never twice for the same tier)."""
    amount = getattr(model.policy.subsidies, f"award_t{tier}")
    bit = np.int8(1 << tier)
    first = (model.firms.awarded[idx] & bit) == 0
    model.firms.awarded[idx] |= bit
    if amount <= 0.0 or not first.any():
        return
    model.firms.cash[idx] += model.government.pay("awards", np.where(first, amount, 0.0))
