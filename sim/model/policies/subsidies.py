"""Subsidies: R&D subsidy, digital/AI vouchers, awards on first recognition — each area's within its
government's budget (``sim.model.institutions.pay_by_area``)."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from sim.model.institutions import claim_totals, pay_by_area, settle_by_area
from sim.model.units import QUARTER
from sim.model.world import World

# the R&D subsidy this quarter, per area, as the compiled R&D choice reads it (sim.model.dynamics)
RDSubsidyTerms = namedtuple("RDSubsidyTerms", ["rate", "min_tier", "boost"])


def rd_subsidy_terms(model: World) -> RDSubsidyTerms:
    """This quarter's R&D subsidy in each area: (rate of R&D spend refunded, lowest tier covered, the
    factor by which covered firms raise their target R&D). The rate firms expect is scaled by how
    much of last quarter's claims their area's budget paid. Each firm's claim is made where it
    chooses R&D (``sim.model.dynamics.grow``) and paid by its area's government."""
    lv = model.levers
    rate = lv.of("subsidies.rd_subsidy_rate")
    funded = np.array([g.funding_ratio for g in model.governments])
    boost = 1.0 + model.unc.rd_subsidy_response * (rate * funded)
    return RDSubsidyTerms(rate, lv.of("subsidies.rd_subsidy_min_tier").astype(np.int64), boost)


def pay(model: World, instrument: str, lever: str, slots: np.ndarray, claims: np.ndarray) -> np.ndarray:
    """Claims of the firms in ``slots`` on an instrument set by ``lever``, each paid by its area's
    government (the status quo's part from the base envelope, the package's addition from the extra)."""
    return pay_by_area(model.governments, model.firms.area[slots], instrument, claims, model.levers.sq_share(lever))


def settle(model: World, instrument: str, lever: str, claims: np.ndarray, by_area: np.ndarray) -> np.ndarray:
    """``pay`` for a compiled rule that totalled its claims by area (``by_area``) as it made them:
    the share of its claims each area's government pays now; the rule pays each claim that share."""
    return settle_by_area(model.governments, instrument, claim_totals(claims, by_area), model.levers.sq_share(lever))


def pay_digital_vouchers(model: World) -> np.ndarray:
    """Quarterly instalment of the yearly voucher to eligible firms that take it up; returns the
    amount each alive firm (in ``model.live`` order) received: it buys capability (dynamics.grow)."""
    lv, f, live = model.levers, model.firms, model.live
    if not lv.any("subsidies.digital_voucher"):
        return np.zeros(len(live))
    area = f.area[live]
    amount = lv.of("subsidies.digital_voucher")[area]
    takes = ((amount > 0.0) & (f.tier[live] >= lv.of("subsidies.digital_voucher_min_tier")[area])
             & (model.uniform("vouchers", live) < model.unc.voucher_uptake))
    paid = pay(model, "digital_vouchers", "subsidies.digital_voucher", live, np.where(takes, amount * QUARTER, 0.0))
    f.digital[live] |= paid > 0
    return paid


def pay_first_recognition_awards(model: World, idx: np.ndarray, tier: int) -> None:
    """One-off award the first time a firm reaches ``tier`` (never twice for the same tier). The firm
    spends ``award_rd_share`` of it on R&D, which builds capability at ``voucher_capability`` per M
    yuan like a voucher, and keeps the rest as cash."""
    f, unc = model.firms, model.unc
    amount = model.levers.of(f"subsidies.award_t{tier}")[f.area[idx]]
    bit = np.int8(1 << tier)
    first = (f.awarded[idx] & bit) == 0
    f.awarded[idx] |= bit
    if not (first & (amount > 0.0)).any():
        return
    paid = pay(model, "awards", f"subsidies.award_t{tier}", idx, np.where(first, amount, 0.0))
    f.capability[idx] += unc.voucher_capability * unc.award_rd_share * paid
    f.cash[idx] += (1.0 - unc.award_rd_share) * paid


def book_admin(model: World, per_unit: float, units_by_area: np.ndarray) -> None:
    """Administrative cost of a non-fiscal lever: ``per_unit`` M yuan for each unit in each area."""
    for g, units in zip(model.governments, units_by_area):
        if units:
            g.book("administration", per_unit * float(units))


def areas_of(model: World, slots: np.ndarray) -> np.ndarray:
    """How many of ``slots`` are in each area."""
    return np.bincount(model.firms.area[slots], minlength=len(model.areas))
