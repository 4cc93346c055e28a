"""The enterprise population, held as columns (structure of arrays).

Every firm is an agent: slot ``i`` in every column is firm ``i``'s own state, and each of its
stochastic decisions uses its own draw, keyed by mechanism, quarter and slot (``sim.draws``).
Holding the population as numpy columns instead of one ``mesa.Agent`` per firm is what makes a
million-firm national run take seconds (see ``experiments/``). Slots are never reused: a firm's slot
is its id, so replication k of two scenarios gives the same firm the same random draws
(common random numbers).
"""

from __future__ import annotations

import numba
import numpy as np

from sim.config import Region, Uncertainties
from sim.draws import DRAWS_PER_QUARTER, normal, normal_pair, quarter_key, uniform, uniforms

# exit causes
ALIVE, FAILED, OUTGREW, LISTED = 0, 1, 2, 3
EXIT_CAUSES = {FAILED: "failed", OUTGREW: "outgrew", LISTED: "listed"}

COLUMNS: dict[str, tuple[type, float | int | bool]] = {
    # name: (dtype, value of an empty slot)
    "alive": (np.bool_, False),
    "born_step": (np.int32, 0),  # quarter of entry (negative for firms older than the run)
    "exit_step": (np.int32, -1),
    "exit_cause": (np.int8, ALIVE),
    "cluster": (np.int16, 0),
    "strategic": (np.bool_, False),  # in a strategic emerging industry
    "leader": (np.int16, -1),  # chain leader this firm supplies, -1 if none
    "growth_own": (np.float64, 0.0),  # the firm's own mean annual growth
    "revenue": (np.float64, 0.0),  # annual run-rate, M yuan
    "rev_y1": (np.float64, 0.0),  # revenue at the end of the last completed year
    "rev_y2": (np.float64, 0.0),  # ... the year before
    "rev_y3": (np.float64, 0.0),
    "rd_propensity": (np.float64, 0.0),  # R&D intensity the firm chooses without subsidy
    "rd_intensity": (np.float64, 0.0),  # R&D spend / revenue now
    "rd_int_y1": (np.float64, 0.0),  # R&D intensity over the last completed year
    "rd_int_y2": (np.float64, 0.0),
    "capability": (np.float64, 0.0),  # technological capability index (1 = typical R&D firm)
    "ip": (np.int32, 0),  # class-I IP on the main product
    "rd_institution": (np.bool_, False),
    "high_tech": (np.bool_, False),  # 高新技术企业 title
    "main_share": (np.float64, 0.0),  # main-business share of revenue
    "margin": (np.float64, 0.0),  # the firm's own operating margin
    "cash": (np.float64, 0.0),  # M yuan
    "debt": (np.float64, 0.0),  # M yuan
    "niche_market": (np.float64, 1.0),  # size of its national niche market, M yuan
    "digital": (np.bool_, False),  # has used a digital/AI voucher
    "tier": (np.int8, 0),
    "title_granted": (np.int32, -1),  # quarter its current validity began (grant or renewal)
    "title_expiry": (np.int32, -1),  # quarter its current title expires and is reviewed
    "awarded": (np.int8, 0),  # bit k set: first-recognition award for tier k paid
    "distressed": (np.bool_, False),  # short of cash after credit this quarter
    "boost_until": (np.int32, -1),  # a growth loan lifts growth until this quarter
}


def _column(size: int, dtype: type, empty: float | int | bool) -> np.ndarray:
    """A column of empty slots. Zero-filled columns come from ``np.zeros``, whose pages the OS maps
    only when a slot is first used, so sizing the population for the whole horizon costs nothing
    up front."""
    return np.zeros(size, dtype=dtype) if empty == 0 else np.full(size, empty, dtype=dtype)


# an entrant's attributes are keyed by (attribute, slot): a slot enters once, so the attribute takes
# the place of the quarter in ``sim.draws.quarter_key``
(ENTRANT_CLUSTER, ENTRANT_GROWTH_REVENUE, ENTRANT_RD_MARGIN, ENTRANT_CASH_DEBT, ENTRANT_NICHE, ENTRANT_LINK,
 ENTRANT_INSTITUTION, ENTRANT_HIGH_TECH, ENTRANT_MAIN_SHARE) = range(9)  # main share: 2 x 4 draw numbers


@numba.njit(cache=True)
def _entrant_state(key, start, stop, cum_weights, strategic_by_cluster, leaders, n_leaders,
                   growth_mean, growth_firm_sd, revenue_median, revenue_sigma, rd_median, rd_sigma, operating_margin,
                   niche_median, niche_sigma, link_share,
                   cluster, strategic, growth_own, revenue, rev_y1, rev_y2, rev_y3, rd_propensity, rd_intensity,
                   rd_int_y1, rd_int_y2, capability, main_share, margin, cash, debt, niche_market, leader):
    """Cluster, own growth, revenue (and the two years before, grown at its own rate), R&D
    propensity, main-business share (Beta(6, 2)), margin, cash, debt, niche market and chain-leader
    link of the entrants in slots ``start`` to ``stop``."""
    k_cluster, k_gr = quarter_key(key, ENTRANT_CLUSTER, 0), quarter_key(key, ENTRANT_GROWTH_REVENUE, 0)
    k_rm, k_cd = quarter_key(key, ENTRANT_RD_MARGIN, 0), quarter_key(key, ENTRANT_CASH_DEBT, 0)
    k_niche, k_link, k_pick = (quarter_key(key, ENTRANT_NICHE, 0), quarter_key(key, ENTRANT_LINK, 0),
                               quarter_key(key, ENTRANT_LINK, 1))
    k_share = np.empty(2 * DRAWS_PER_QUARTER, dtype=np.uint64)
    for d in range(k_share.size):
        k_share[d] = quarter_key(key, ENTRANT_MAIN_SHARE + d // DRAWS_PER_QUARTER, d % DRAWS_PER_QUARTER)
    for i in range(start, stop):
        c = min(np.searchsorted(cum_weights, uniform(k_cluster, i), side="right"), cum_weights.size - 1)
        cluster[i], strategic[i] = c, strategic_by_cluster[c]
        z_growth, z_revenue = normal_pair(k_gr, i)
        g = growth_mean + growth_firm_sd * z_growth
        rev = revenue_median * np.exp(revenue_sigma * z_revenue)
        back = 1.0 + max(g, -0.5)
        growth_own[i], revenue[i], rev_y1[i], rev_y2[i], rev_y3[i] = g, rev, rev, rev / back, rev / back**2
        z_rd, z_margin = normal_pair(k_rm, i)
        rd = min(max(rd_median * np.exp(rd_sigma * z_rd), 0.0), 0.4)
        rd_propensity[i] = rd_intensity[i] = rd_int_y1[i] = rd_int_y2[i] = rd
        capability[i] = rd / 0.03
        margin[i] = operating_margin + 0.05 * z_margin
        z_cash, z_debt = normal_pair(k_cd, i)
        cash[i] = rev * max(0.15 + 0.1 * z_cash, 0.0)
        debt[i] = rev * max(0.4 + 0.2 * z_debt, 0.0)
        niche_market[i] = niche_median * np.exp(niche_sigma * normal(k_niche, i))
        # Beta(6, 2) as G6 / (G6 + G2), each Gamma(n) of integer shape a sum of n exponentials
        p6 = p2 = 1.0  # products of uniforms on (0, 1]: minus their logs are G6 and G2
        for d in range(6):
            p6 *= 1.0 - uniform(k_share[d], i)
        for d in range(6, 8):
            p2 *= 1.0 - uniform(k_share[d], i)
        g6, g2 = -np.log(p6), -np.log(p2)
        main_share[i] = min(max(g6 / (g6 + g2), 0.2), 1.0)
        leader[i] = -1
        if n_leaders[c] > 0 and uniform(k_link, i) < link_share:
            leader[i] = leaders[c, int(uniform(k_pick, i) * n_leaders[c])]


@numba.vectorize(["float64(float64, float64, float64)"], cache=True)
def debt_ratio(debt, revenue, cash):
    """Liabilities over assets; assets are read as 0.8 x annual revenue plus cash (a ufunc: the
    criteria call it on columns, the lender's compiled loop on one firm)."""
    return debt / max(0.8 * revenue + max(cash, 0.0), 1e-9)


class FirmPopulation:
    """Columns of firm state with amortised growth; ``n`` slots are in use, ``alive`` marks firms."""

    def __init__(self, capacity: int):
        self.n = 0
        self._cap = max(int(capacity), 16)
        for name, (dtype, empty) in COLUMNS.items():
            setattr(self, name, _column(self._cap, dtype, empty))

    def __len__(self) -> int:
        return self.n

    @property
    def capacity(self) -> int:
        return self._cap

    @property
    def n_alive(self) -> int:
        return int(np.count_nonzero(self.alive[: self.n]))

    def _reserve(self, k: int) -> None:
        need = self.n + k
        if need <= self._cap:
            return
        new_cap = max(need, int(self._cap * 1.5))
        for name, (dtype, empty) in COLUMNS.items():
            col = _column(new_cap, dtype, empty)
            col[: self.n] = getattr(self, name)[: self.n]
            setattr(self, name, col)
        self._cap = new_cap

    def add(
        self,
        k: int,
        step: int,
        key: np.uint64,
        rng: np.random.Generator,
        region: Region,
        unc: Uncertainties,
        cluster_leaders: np.ndarray,
        cluster_n_leaders: np.ndarray,
        age_years: np.ndarray | None = None,
    ) -> slice:
        """Create ``k`` new firms drawn from the region's entrant distribution; return their slots.

        Each entrant's attributes are its own draws, keyed by ``key`` (the model's ``entrants`` key),
        the attribute and its slot (``sim.draws``); only its stock of IP (a Poisson count) comes from
        ``rng``. A linked entrant supplies a leader of its cluster (``SMEModel.cluster_leaders``).
        ``age_years`` (default 0) backdates firms already in business when the run starts."""
        self._reserve(k)
        s = slice(self.n, self.n + k)
        self.n += k
        if k == 0:
            return s
        age_years = np.zeros(k) if age_years is None else age_years
        weights = np.array([c.weight for c in region.clusters], dtype=float)
        strategic_by_cluster = np.array([c.strategic_emerging for c in region.clusters])
        self.alive[s] = True
        self.born_step[s] = step - np.round(age_years * 4).astype(np.int32)
        _entrant_state(
            key, s.start, s.stop, np.cumsum(weights) / weights.sum(), strategic_by_cluster, cluster_leaders,
            cluster_n_leaders, unc.growth_mean, unc.growth_firm_sd, region.revenue_median, region.revenue_sigma,
            unc.rd_intensity_median, unc.rd_intensity_sigma, unc.operating_margin,
            unc.niche_market_median, unc.niche_market_sigma, unc.link_share,
            self.cluster, self.strategic, self.growth_own, self.revenue, self.rev_y1, self.rev_y2, self.rev_y3,
            self.rd_propensity, self.rd_intensity, self.rd_int_y1, self.rd_int_y2, self.capability,
            self.main_share, self.margin, self.cash, self.debt, self.niche_market, self.leader,
        )
        if not age_years.any():
            return s  # a new firm has no IP, R&D institution or high-tech title yet
        # older, R&D-intensive firms start with IP and institutions accumulated before the run
        rd, revenue, slots = self.rd_propensity[s], self.revenue[s], np.arange(s.start, s.stop)
        years = np.minimum(np.maximum(age_years, 0.0), 8.0)
        ip = rng.poisson(unc.ip_per_rd_million * rd * revenue * years)
        self.ip[s] = ip
        p_inst = 1.0 - (1.0 - unc.rd_institution_rate) ** (4 * years * (rd * revenue >= 1.0))
        self.rd_institution[s] = uniforms(key, ENTRANT_INSTITUTION, 0, slots) < p_inst
        self.high_tech[s] = (rd >= 0.03) & (ip >= 1) & (uniforms(key, ENTRANT_HIGH_TECH, 0, slots) < 0.5)
        return s

    def remove(self, idx: np.ndarray, step: int, cause: int) -> None:
        """Firms leave the SME pool (failure, outgrowing SME size, listing); their titles go with them."""
        self.alive[idx] = False
        self.exit_step[idx] = step
        self.exit_cause[idx] = cause

    # ----------------------------------------------------------------------- derived indicators
    def age_years(self, idx: np.ndarray, step: int) -> np.ndarray:
        return (step - self.born_step[idx]) / 4.0

    def debt_ratio(self, idx: np.ndarray) -> np.ndarray:
        return debt_ratio(self.debt[idx], self.revenue[idx], self.cash[idx])

    def growth_last_year(self, idx: np.ndarray) -> np.ndarray:
        return self.rev_y1[idx] / np.maximum(self.rev_y2[idx], 1e-9) - 1.0

    def growth_two_year_avg(self, idx: np.ndarray) -> np.ndarray:
        return np.sqrt(self.rev_y1[idx] / np.maximum(self.rev_y3[idx], 1e-9)) - 1.0

    def niche_share(self, idx: np.ndarray) -> np.ndarray:
        return self.revenue[idx] / self.niche_market[idx]
