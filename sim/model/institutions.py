"""Institutional agents: chain leaders (链主), the lender, the municipal government, MIIT.

They are few, so they are ordinary ``mesa.Agent`` objects; each acts on the firm columns in bulk.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.core.outcomes import INSTRUMENTS
from sim.core.schema import AREA_MAPPINGS
from sim.model.units import QUARTERS_PER_YEAR


class ChainLeader(mesa.Agent):
    """A large firm (e.g. Changan, Seres, BOE) that may open orders, data and receivables to its SMEs.

    Each quarter it draws one number per channel; it opens the channel to the SMEs of an area when
    the draw is below that area's openness lever, so a leader is more open where policy pushes it."""

    CHANNELS = ("orders", "data", "receivables")  # drawn in this order each quarter

    def __init__(self, model: mesa.Model, name: str, cluster: int) -> None:
        super().__init__(model)
        self.name = name
        self.cluster = cluster
        self.draw = dict.fromkeys(self.CHANNELS, 1.0)

    def decide_openness(self) -> None:
        self.draw = dict(zip(self.CHANNELS, self.model.streams["leaders"].random(len(self.CHANNELS))))

    def open_in(self, channel: str, openness: np.ndarray) -> np.ndarray:
        """Whether ``channel`` is open to each area's SMEs this quarter (``openness`` per area)."""
        return self.draw[channel] < openness


class Lender(mesa.Agent):
    """The banking system of an area as one lender: scores applications on financial and
    non-financial signals, approves stochastically, and rations by score when new lending would
    exceed the area's capacity."""

    def approve(self, logit: np.ndarray, amount: np.ndarray, u: np.ndarray, capacity: float) -> np.ndarray:
        """``approve_by_area`` for applications to one area."""
        return self.approve_by_area(np.zeros(len(logit), dtype=np.int64), logit, amount, u, np.array([capacity]))

    def approve_by_area(self, area: np.ndarray, logit: np.ndarray, amount: np.ndarray, u: np.ndarray,
                        capacity: np.ndarray) -> np.ndarray:
        """Each application is approved with chance 1 / (1 + e^-logit) (``u`` its draw); where an
        area's approved amounts exceed its capacity (``capacity[a]``), the lender rations: it keeps
        its approvals in descending score while their running total fits."""
        approved = u < 1.0 / (1.0 + np.exp(-logit))
        for a in np.flatnonzero(np.bincount(area[approved], minlength=capacity.size)):
            mine = np.flatnonzero(approved & (area == a))
            if amount[mine].sum() > capacity[a]:
                order = mine[_descending(logit[mine])]
                approved[mine] = False
                approved[order[np.cumsum(amount[order]) <= capacity[a]]] = True
        return approved


def _descending(x: np.ndarray) -> np.ndarray:
    """Positions of ``x`` from largest to smallest, equal values in position order: what
    ``np.argsort(-x, kind="stable")`` gives, by numpy's default sort (introsort, about 3x faster on a
    quarter's applications) with its rare runs of equal values put back in position order."""
    order = np.argsort(-x)
    v = x[order]
    tied = np.flatnonzero(v[1:] == v[:-1])  # order[k] and order[k + 1] are equal
    for k in tied:
        if k == 0 or v[k - 1] != v[k]:  # a run starts at k: sort its positions
            end = k + 1
            while end + 1 < len(v) and v[end + 1] == v[k]:
                end += 1
            order[k:end + 1].sort()
    return order


class MunicipalGovernment(mesa.Agent):
    """An area's government: pays subsidies, awards and interest subsidies from its yearly budget
    envelopes, books administrative costs, and keeps the ledger by instrument.

    Two envelopes: the status quo's programmes draw on ``base_budget``; what a package adds above
    the status quo (a higher rate, a larger award, a new instrument) draws on ``extra_budget``, as a
    city funds a new programme line. A quarter may spend its share of a year's envelope plus what
    earlier quarters of the year left; claims beyond that are paid pro rata, so spending never
    exceeds a budget that is set (``None``: no cap). Administrative costs are booked, not rationed.

    The status quo's first-recognition awards are a programme line of their own (``OWN_LINE``), paid
    in full: the base envelope is the S&T programmes' fiscal money (seed 004: "5+8" programmes, 6.36
    亿 yuan in 2023), and the award is a 专项奖励 promised to every firm first recognised (seed 001),
    not a claim that R&D refunds can crowd out. What a package adds to an award still draws on the
    extra envelope."""

    OWN_LINE = ("awards",)  # instruments whose status-quo part is paid outside the envelopes

    def __init__(self, model: mesa.Model, area: int) -> None:
        super().__init__(model)
        self.area = area
        self.base_budget: float | None = None
        self.extra_budget: float | None = 0.0
        self.spent = {"base": 0.0, "extra": 0.0}  # this year
        self.quarter_of_year = 1
        self.quarter_spending = dict.fromkeys(INSTRUMENTS, 0.0)
        self.quarter_from_envelopes = 0.0  # what this quarter's spending drew on the two envelopes
        self.funding_ratio = 1.0  # share of last R&D-subsidy claims paid: firms expect it next quarter

    @property
    def annual_budget(self) -> float | None:
        """Both envelopes together (None when either is uncapped)."""
        if self.base_budget is None or self.extra_budget is None:
            return None
        return self.base_budget + self.extra_budget

    @property
    def spent_this_year(self) -> float:
        return self.spent["base"] + self.spent["extra"]

    def new_quarter(self, quarter_of_year: int) -> None:
        if quarter_of_year == 1:
            self.spent = {"base": 0.0, "extra": 0.0}
        self.quarter_of_year = quarter_of_year
        self.quarter_spending = dict.fromkeys(INSTRUMENTS, 0.0)
        self.quarter_from_envelopes = 0.0

    def book(self, instrument: str, amount: float) -> None:
        """A cost paid whatever the budget (administration)."""
        self.quarter_spending[instrument] += amount

    def pay(self, instrument: str, claims: np.ndarray, sq_share: float = 1.0) -> np.ndarray:
        """What each (non-negative) claim is paid: the status quo's ``sq_share`` of it from the base
        envelope, the rest (what the package adds) from the extra one."""
        return claims * self.settle(instrument, float(claims.sum()), sq_share)

    def settle(self, instrument: str, total: float, sq_share: float = 1.0) -> float:
        """The share of claims totalling ``total`` it pays now (from both envelopes); books the
        spending. Every claim on the instrument this quarter is paid that share of itself."""
        base = 1.0 if instrument in self.OWN_LINE else self._ratio("base", total * sq_share)
        share = sq_share * base
        if sq_share < 1.0:
            share += (1.0 - sq_share) * self._ratio("extra", total * (1.0 - sq_share))
        spent = total * share
        self.quarter_spending[instrument] += spent
        if instrument == "rd_subsidy":
            self.funding_ratio = share if total > 0.0 else 1.0
        return share

    def _ratio(self, envelope: str, total: float) -> float:
        """The share of ``total`` claims on an envelope it can pay now; books what it pays."""
        if total <= 0.0:
            return 1.0
        budget = self.base_budget if envelope == "base" else self.extra_budget
        ratio = 1.0
        if budget is not None:
            allowance = budget * self.quarter_of_year / QUARTERS_PER_YEAR
            ratio = min(1.0, max(allowance - self.spent[envelope], 0.0) / total)
        self.spent[envelope] += ratio * total
        self.quarter_from_envelopes += ratio * total
        return ratio


def pay_by_area(governments: list[MunicipalGovernment], area: np.ndarray, instrument: str,
                claims: np.ndarray, sq_share: np.ndarray | None = None) -> np.ndarray:
    """Each claim paid by the government of the claimant's area (``area`` per claim); ``sq_share``
    (per area) is the status quo's part of the instrument there."""
    n = len(governments)
    if n == 1:
        return governments[0].pay(instrument, claims, 1.0 if sq_share is None else float(sq_share[0]))
    claimed = np.flatnonzero(claims)  # most firms claim nothing: settle on the claims made, not a mask per area
    at, amounts = area[claimed], claims[claimed]
    paid_share = settle_by_area(governments, instrument, np.bincount(at, weights=amounts, minlength=n), sq_share)
    if not claimed.size:
        return claims  # all zero: nothing paid (read only, as every caller uses it)
    paid = np.zeros_like(claims)
    paid[claimed] = amounts * paid_share[at]
    return paid


def settle_by_area(governments: list[MunicipalGovernment], instrument: str, totals: np.ndarray,
                   sq_share: np.ndarray | None = None) -> np.ndarray:
    """The share of its claims each area's government pays now (``totals``: the claims made in each
    area; ``sq_share``: the status quo's part of the instrument there), booked. Compiled rules that
    make claims total them by area as they go and pay each claim this share of itself, so no
    per-firm array of payments is built."""
    share = np.ones(len(governments)) if sq_share is None else sq_share
    paid_share = np.zeros(len(governments))
    for g in governments:  # an area without claims pays nothing and books nothing
        paid_share[g.area] = g.settle(instrument, float(totals[g.area]), float(share[g.area]))
    return paid_share


def claim_totals(claims: np.ndarray, by_area: np.ndarray) -> np.ndarray:
    """Claims per area for ``settle_by_area``: ``by_area`` as a compiled rule summed them in firm
    order (as ``pay_by_area`` sums them); with one area, numpy's sum of all claims (as
    ``MunicipalGovernment.pay`` sums them), so either way of paying books the same bytes."""
    return np.array([claims.sum()]) if by_area.size == 1 else by_area


class MIIT(mesa.Agent):
    """The national ministry: grants little-giant (T3) titles in yearly national batches of a fixed
    number of titles and reviews the batch from ``validity`` years earlier together with each new one.

    Provinces nominate their eligible applicants; MIIT takes the best by merit (the firm's criteria
    score plus its experts' noise). In the national model every area's nominees compete for the
    batch; a single-region run meets the national merit bar of the year (``miit.bar``), which is how
    the rest of China's nominees enter it."""

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        cfg = model.cfg
        self.rules = cfg.miit
        self.competes = bool(cfg.region.areas)  # the whole nation's nominees are in this model
        self.scale = cfg.region.population_scale
        self.bar = np.nan  # this year's bar (the merit of the last nominee admitted), for the record
        self.batch_size = 0.0  # this year's national batch (titles, in the world simulated)
        unc = cfg.uncertainties
        self._push = np.array([unc.area_push_points.get(a, AREA_MAPPINGS["area_push_points"])
                               for a in cfg.region.area_names])
        self._push_from = unc.area_push_from

    def batch_due(self, step: int) -> bool:
        return self.model.calendar.t3_batch(step)

    def push(self, year: int) -> np.ndarray:
        """Points each area's nominees' merit stands above the rest of China's in ``year``'s batch
        (``uncertainties.area_push_points`` from ``area_push_from`` on; 0 before and for a
        single region). The bar stays in the rest of China's points, the bar a single region meets."""
        return self._push if year >= self._push_from else np.zeros_like(self._push)

    def select(self, nominees: np.ndarray, merit: np.ndarray, year: int) -> np.ndarray:
        """The nominees MIIT admits in ``year``'s batch."""
        # the batch in the world simulated (a fraction ``scale`` of the nation's firms)
        self.batch_size = self.rules.batch(year) * self.scale
        if not self.competes:
            self.bar = self.rules.fallback_bar if self.rules.bar is None else self.rules.bar.get(year, np.inf)
            return nominees[merit >= self.bar]
        titles = int(round(self.batch_size))
        order = np.argsort(-merit, kind="stable")[:titles]
        # the bar: the merit of the last nominee admitted; -inf when nominees were short of the batch
        self.bar = float(merit[order[-1]]) if titles and len(order) == titles else -np.inf
        return nominees[order]
