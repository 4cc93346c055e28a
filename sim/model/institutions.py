"""Institutional agents: chain leaders (链主), the lender, the municipal government, MIIT.

They are few, so they are ordinary ``mesa.Agent`` objects; each acts on the firm columns in bulk.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.core.outcomes import INSTRUMENTS
from sim.model.units import EPS


class ChainLeader(mesa.Agent):
    """A large firm (e.g. Changan, Seres, BOE) that may open orders, data and receivables to its SMEs."""

    CHANNELS = ("orders", "data", "receivables")  # drawn in this order each quarter

    def __init__(self, model: mesa.Model, name: str, cluster: int) -> None:
        super().__init__(model)
        self.name = name
        self.cluster = cluster
        self.open_orders = False
        self.open_data = False
        self.open_receivables = False

    def decide_openness(self) -> None:
        """Each quarter, open each channel with the probability the openness lever sets."""
        lever = self.model.policy.chain_leaders
        u_orders, u_data, u_receivables = self.model.streams["leaders"].random(len(self.CHANNELS))
        self.open_orders = bool(u_orders < lever.orders_openness)
        self.open_data = bool(u_data < lever.data_openness)
        self.open_receivables = bool(u_receivables < lever.receivables_openness)


class Lender(mesa.Agent):
    """The banking system as one lender: scores applications on financial and non-financial signals,
    approves stochastically, and rations by score when new lending would exceed its capacity."""

    def approve(self, logit: np.ndarray, amount: np.ndarray, u: np.ndarray, capacity: float) -> np.ndarray:
        approved = u < 1.0 / (1.0 + np.exp(-logit))
        if approved.any() and amount[approved].sum() > capacity:
            order = np.flatnonzero(approved)[np.argsort(-logit[approved], kind="stable")]
            within = np.cumsum(amount[order]) <= capacity
            approved[:] = False
            approved[order[within]] = True
        return approved


class MunicipalGovernment(mesa.Agent):
    """Pays subsidies and awards from a yearly budget and keeps the ledger by instrument.

    When a payment would overrun the budget, every claimant of that payment gets the same share of
    its claim (pro rata), so spending never exceeds a budget that is set."""

    def __init__(self, model: mesa.Model, annual_budget: float | None) -> None:
        super().__init__(model)
        self.annual_budget = annual_budget
        self.spent_this_year = 0.0
        self.quarter_spending = dict.fromkeys(INSTRUMENTS, 0.0)
        self.funding_ratio = 1.0  # share of last claims paid: firms expect it next quarter

    def new_quarter(self, first_of_year: bool) -> None:
        if first_of_year:
            self.spent_this_year = 0.0
        self.quarter_spending = dict.fromkeys(INSTRUMENTS, 0.0)

    def pay(self, instrument: str, claims: np.ndarray) -> np.ndarray:
        """What each (non-negative) claim is paid; the claims themselves when paid in full."""
        total = float(claims.sum())
        if total <= 0.0:
            return claims
        ratio = 1.0
        if self.annual_budget is not None:
            remaining = max(self.annual_budget - self.spent_this_year, 0.0)
            ratio = min(1.0, remaining / total)
        paid = claims if ratio == 1.0 else claims * ratio
        spent = total if ratio == 1.0 else float(paid.sum())
        self.spent_this_year += spent
        self.quarter_spending[instrument] += spent
        if instrument == "rd_subsidy":
            self.funding_ratio = ratio
        return paid


class MIIT(mesa.Agent):
    """The national ministry: grants little-giant (T3) titles in yearly batches and reviews the batch
    from ``validity`` years earlier together with each new batch (their expiry falls in that quarter)."""

    def batch_due(self, step: int) -> bool:
        return self.model.calendar.t3_batch(step)

    def pass_probability(self, year: int, accept: float) -> float:
        """Chance an eligible nominee passes: ``accept`` at the reference batch size, scaled by the
        size of this year's national batch (the ministry's quota ramped up from 248 firms in 2019)."""
        sizes = self.model.region.calendar.t3_batch_sizes
        if not sizes:
            return accept
        ref_year = max(sizes)
        size = sizes.get(year, sizes[ref_year] if year > ref_year else 0.0)
        return min(1.0, accept * size / max(sizes[ref_year], EPS))
