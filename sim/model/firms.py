"""The enterprise population, held as columns (structure of arrays).

Every firm is an agent: slot ``i`` in every column is firm ``i``'s own state, and each of its
stochastic decisions uses its own draw, keyed by mechanism, quarter and slot (``sim.model.draws``).
Holding the population as numpy columns instead of one ``mesa.Agent`` per firm is what makes a
million-firm national run take seconds (see ``experiments/``). Slots are never reused: a firm's slot
is its id, so replication k of two scenarios gives the same firm the same random draws
(common random numbers).
"""

from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np

from sim.core.schema import Cluster
from sim.model.draws import DRAWS_PER_QUARTER, normal, normal_pair, quarter_key, uniform, uniforms
from sim.model.params import RuleParams
from sim.model.units import EPS, QUARTER, QUARTERS_PER_YEAR

# exit causes
ALIVE, FAILED, OUTGREW, LISTED = 0, 1, 2, 3
EXIT_CAUSES = {FAILED: "failed", OUTGREW: "outgrew", LISTED: "listed"}
# where a living firm stands: in the SME pool; or out of it, keeping its title to its next review,
# because it outgrew SME size or listed (seed 002: listed SRDI firms are still counted as SRDI)
IN_POOL, GRADUATED, LISTED_FIRM = 0, 1, 2

COLUMNS: dict[str, tuple[type, float | int | bool]] = {
    # name: (dtype, value of an empty slot)
    "alive": (np.bool_, False),
    "area": (np.int8, 0),  # the region (area of the national model) the firm is in
    "status": (np.int8, IN_POOL),  # IN_POOL, GRADUATED (outgrew SME size, titled) or LISTED_FIRM
    "born_step": (np.int32, 0),  # quarter of entry (negative for firms older than the run)
    "exit_step": (np.int32, -1),
    "exit_cause": (np.int8, ALIVE),
    "cluster": (np.int16, 0),
    "strategic": (np.bool_, False),  # in a strategic emerging industry
    "leader": (np.int16, -1),  # chain leader this firm supplies, -1 if none
    "growth_own": (np.float64, 0.0),  # the firm's own mean annual growth
    "revenue": (np.float64, 0.0),  # annual run-rate, M yuan
    "sme_ceiling": (np.float64, 0.0),  # revenue (M yuan) from which it is no longer an SME (its own, for life)
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
    "srdi_list": (np.int8, 0),  # quarter (1-4) its province lists SRDI firms in (its own fixed draw; read where a region holds many provinces)
    "tier": (np.int8, 0),
    "title_granted": (np.int32, -1),  # quarter its current validity began (grant or renewal)
    "title_expiry": (np.int32, -1),  # quarter its current title expires and is reviewed
    "awarded": (np.int8, 0),  # bit k set: first-recognition award for tier k paid
    "lost_step": (np.int32, -1),  # quarter it last lost a title at review or in a spot check ...
    "lost_tier": (np.int8, 0),  # ... and the tier it lost (not re-granted in that quarter's batch)
    "t3_cohort": (np.int16, 0),  # year of its first little-giant batch (0 if never one)
    "distressed": (np.bool_, False),  # short of cash after credit this quarter
    "boost_until": (np.int32, -1),  # a growth loan lifts growth until this quarter
    "subsidised_debt": (np.float64, 0.0),  # principal of new policy loans under 贴息, M yuan ...
    "subsidy_end": (np.int32, -1),  # ... paid until this quarter
}


def _column(size: int, dtype: type, empty: float | int | bool) -> np.ndarray:
    """A column of empty slots. Zero-filled columns come from ``np.zeros``, whose pages the OS maps
    only when a slot is first used, so sizing the population for the whole horizon costs nothing
    up front."""
    return np.zeros(size, dtype=dtype) if empty == 0 else np.full(size, empty, dtype=dtype)


# an entrant's attributes are keyed by (attribute, slot): a slot enters once, so the attribute takes
# the place of the quarter in ``sim.draws.quarter_key``
(ENTRANT_CLUSTER, ENTRANT_GROWTH_REVENUE, ENTRANT_RD_MARGIN, ENTRANT_CASH_DEBT, ENTRANT_NICHE, ENTRANT_LINK,
 ENTRANT_INSTITUTION, ENTRANT_HIGH_TECH, ENTRANT_MAIN_SHARE) = range(9)
MAIN_SHARE_KEYS = 2  # the main share takes two attributes' worth of draw numbers (2 x 4 uniforms)
ENTRANT_SIZE_STANDARD = ENTRANT_MAIN_SHARE + MAIN_SHARE_KEYS  # revenue per employee
ENTRANT_SRDI_LIST = ENTRANT_SIZE_STANDARD + 1  # the quarter of its province's SRDI list
MIN_CAPACITY, GROWTH_FACTOR = 16, 1.5  # the columns' smallest size, and how much they grow when full


# the clusters an entrant is drawn into: cumulative weights, strategic flags, their chain leaders
ClusterTable = namedtuple("ClusterTable", ["cum_weights", "strategic", "leaders", "n_leaders"])


@numba.njit(cache=True)
def _entrant_state(key, start, stop, clusters, p, c, revenue_median):
    """Cluster, own growth, revenue (lognormal about ``revenue_median``, and the two years before,
    grown at its own rate), R&D propensity, main-business share (Beta(a, b)), margin, cash, debt,
    niche market, chain-leader link and SME ceiling (``sme_ceiling``) of the entrants in slots ``start``
    to ``stop`` (columns ``c``, parameters ``p``)."""
    k_cluster, k_gr = quarter_key(key, ENTRANT_CLUSTER, 0), quarter_key(key, ENTRANT_GROWTH_REVENUE, 0)
    k_rm, k_cd = quarter_key(key, ENTRANT_RD_MARGIN, 0), quarter_key(key, ENTRANT_CASH_DEBT, 0)
    k_niche, k_link, k_pick = (quarter_key(key, ENTRANT_NICHE, 0), quarter_key(key, ENTRANT_LINK, 0),
                               quarter_key(key, ENTRANT_LINK, 1))
    k_size = quarter_key(key, ENTRANT_SIZE_STANDARD, 0)
    k_share = np.empty(MAIN_SHARE_KEYS * DRAWS_PER_QUARTER, dtype=np.uint64)
    for d in range(k_share.size):
        k_share[d] = quarter_key(key, ENTRANT_MAIN_SHARE + d // DRAWS_PER_QUARTER, d % DRAWS_PER_QUARTER)
    cum_weights = clusters.cum_weights
    for i in range(start, stop):
        k = min(np.searchsorted(cum_weights, uniform(k_cluster, i), side="right"), cum_weights.size - 1)
        c.cluster[i], c.strategic[i] = k, clusters.strategic[k]
        z_growth, z_revenue = normal_pair(k_gr, i)
        g = p.growth_mean + p.growth_firm_sd * z_growth
        rev = revenue_median * np.exp(p.revenue_sigma * z_revenue)
        back = 1.0 + max(g, p.entrants_back_growth_floor)
        c.growth_own[i], c.revenue[i], c.rev_y1[i], c.rev_y2[i], c.rev_y3[i] = g, rev, rev, rev / back, rev / (back * back)
        z_rd, z_margin = normal_pair(k_rm, i)
        rd = min(max(p.rd_intensity_median * np.exp(p.rd_intensity_sigma * z_rd), 0.0), p.entrants_rd_max)
        c.rd_propensity[i] = c.rd_intensity[i] = c.rd_int_y1[i] = c.rd_int_y2[i] = rd
        c.capability[i] = rd / p.capability_typical_rd
        c.margin[i] = p.operating_margin + p.entrants_margin_sd * z_margin
        z_cash, z_debt = normal_pair(k_cd, i)
        c.cash[i] = rev * max(p.entrants_cash_mean + p.entrants_cash_sd * z_cash, 0.0)
        c.debt[i] = rev * max(p.entrants_debt_mean + p.entrants_debt_sd * z_debt, 0.0)
        c.niche_market[i] = p.niche_market_median * np.exp(p.niche_market_sigma * normal(k_niche, i))
        c.main_share[i] = _beta_of_uniforms(k_share, i, p.entrants_main_share_a, p.entrants_main_share_b,
                                            p.entrants_main_share_min)
        c.sme_ceiling[i] = sme_ceiling(p, normal(k_size, i))
        c.leader[i] = -1
        if clusters.n_leaders[k] > 0 and uniform(k_link, i) < p.link_share:
            c.leader[i] = clusters.leaders[k, int(uniform(k_pick, i) * clusters.n_leaders[k])]


@numba.njit(cache=True)
def sme_ceiling(p, z):
    """Revenue (M yuan) from which a firm whose revenue per employee is the region's median x
    exp(sigma x ``z``) is no longer an SME: below either cap of the size standard it is one (an
    employee cap of 0 leaves the revenue cap)."""
    per_worker = p.revenue_per_worker_median * np.exp(p.revenue_per_worker_sigma * z)
    return max(p.sme_revenue_cap, p.sme_employee_cap * per_worker)


@numba.njit(cache=True)
def _beta_of_uniforms(k_share, i, a, b, floor):
    """Beta(a, b) of integer shapes as Ga / (Ga + Gb), each Gamma(n) a sum of n exponentials: minus
    the logs of products of the firm's uniforms on (0, 1]; clamped to [floor, 1]."""
    pa = pb = 1.0
    for d in range(a):
        pa *= 1.0 - uniform(k_share[d], i)
    for d in range(a, a + b):
        pb *= 1.0 - uniform(k_share[d], i)
    ga, gb = -np.log(pa), -np.log(pb)
    return min(max(ga / (ga + gb), floor), 1.0)


# the criteria's indicators of one firm, as ufuncs: numpy code calls them on columns, compiled rules
# (the lender's scorecard, the T1 and T2 criteria) on one firm, so each is written once
@numba.vectorize(["float64(float64, float64, float64, float64)"], cache=True)
def debt_ratio(debt, revenue, cash, assets_per_revenue):
    """Liabilities over assets; assets are read as ``assets_per_revenue`` x annual revenue plus cash."""
    return debt / max(assets_per_revenue * revenue + max(cash, 0.0), EPS)


@numba.vectorize(["float64(float64, float64)"], cache=True)
def growth_rate(now, before):
    """Growth from ``before`` to ``now`` (last year's revenue over the year before's, less one)."""
    return now / max(before, EPS) - 1.0


@numba.vectorize(["float64(int64, int64)"], cache=True)
def years_since(born_step, step):
    """A firm's age in years at ``step`` (its years in its niche: firms enter in their niche)."""
    return (step - born_step) / QUARTERS_PER_YEAR


@numba.vectorize(["float64(float64, float64)"], cache=True)
def niche_share(revenue, niche_market):
    """The firm's share of its national niche market."""
    return revenue / niche_market


Columns = namedtuple("Columns", list(COLUMNS))  # every column, for the compiled rules (``FirmPopulation.cols``)


def cluster_table(clusters: list[Cluster], leaders: np.ndarray, n_leaders: np.ndarray) -> ClusterTable:
    weights = np.array([c.weight for c in clusters], dtype=float)
    return ClusterTable(np.cumsum(weights) / weights.sum(), np.array([c.strategic_emerging for c in clusters]),
                        leaders, n_leaders)


class FirmPopulation:
    """Columns of firm state with amortised growth; ``n`` slots are in use, ``alive`` marks firms.
    New firms are drawn from the region's clusters (``clusters``) with the rules' parameters ``p``."""

    def __init__(self, capacity: int, p: RuleParams, clusters: ClusterTable, srdi_list_shares: np.ndarray):
        self.n = 0
        self.p, self.clusters = p, clusters
        self.srdi_list_cum = np.cumsum(srdi_list_shares)  # by quarter: see ``RecognitionCalendar``
        self._cap = max(int(capacity), MIN_CAPACITY)
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

    @property
    def cols(self) -> Columns:
        """The columns as one named tuple, as compiled rules take them (rebuilt on each call: the
        columns are replaced when the population outgrows its capacity)."""
        return Columns(*(getattr(self, name) for name in COLUMNS))

    def _reserve(self, k: int) -> None:
        need = self.n + k
        if need <= self._cap:
            return
        new_cap = max(need, int(self._cap * GROWTH_FACTOR))
        for name, (dtype, empty) in COLUMNS.items():
            col = _column(new_cap, dtype, empty)
            col[: self.n] = getattr(self, name)[: self.n]
            setattr(self, name, col)
        self._cap = new_cap

    def add(self, k: int, step: int, key: np.uint64, rng: np.random.Generator, area: int = 0,
            age_years: np.ndarray | None = None) -> slice:
        """Create ``k`` new firms drawn from the region's entrant distribution; return their slots.

        Each entrant's attributes are its own draws, keyed by ``key`` (the model's ``entrants`` key),
        the attribute and its slot (``sim.model.draws``); only its stock of IP (a Poisson count) comes
        from ``rng``. A linked entrant supplies a leader of its cluster. Entrants join ``area``, their
        revenue about the region's median x ``entrant_size_ratio``. ``age_years`` marks firms already
        in business when the run starts: drawn about the region's median, then backdated."""
        self._reserve(k)
        s = slice(self.n, self.n + k)
        self.n += k
        if k == 0:
            return s
        in_business = age_years is not None
        age_years = np.zeros(k) if age_years is None else age_years
        self.alive[s] = True
        self.area[s] = area
        self.born_step[s] = step - np.round(age_years * QUARTERS_PER_YEAR).astype(np.int32)
        median = self.p.revenue_median * (1.0 if in_business else self.p.entrant_size_ratio)
        _entrant_state(key, s.start, s.stop, self.clusters, self.p, self.cols, median)
        u = uniforms(key, ENTRANT_SRDI_LIST, 0, np.arange(s.start, s.stop))
        self.srdi_list[s] = np.minimum(np.searchsorted(self.srdi_list_cum, u, side="right"), QUARTERS_PER_YEAR - 1) + 1
        if in_business:
            self._grow_with_age(s, age_years)
        if age_years.any():
            self._backdate(s, key, rng, age_years)
        return s

    def _grow_with_age(self, s: slice, age_years: np.ndarray) -> None:
        """A firm in business for ``a`` years is exp(size_age_gradient x a) times its entrant-like draw
        (revenue of the last three years, cash and debt alike), so the initial pool holds the
        established mid-sized firms that older SMEs are; still an SME: age grows it to at most
        ``initial_size_cap_share`` of its SME ceiling."""
        p = self.p
        if p.size_age_gradient == 0.0:
            return
        rev = self.revenue[s]
        ceiling = np.maximum(rev, p.entrants_initial_size_cap_share * self.sme_ceiling[s])
        factor = np.minimum(rev * np.exp(p.size_age_gradient * age_years), ceiling) / np.maximum(rev, EPS)
        for name in ("revenue", "rev_y1", "rev_y2", "rev_y3", "cash", "debt"):
            getattr(self, name)[s] *= factor

    def _backdate(self, s: slice, key: np.uint64, rng: np.random.Generator, age_years: np.ndarray) -> None:
        """Older, R&D-intensive firms start with IP, institutions and high-tech titles accumulated
        before the run (a new firm has none yet)."""
        p = self.p
        rd, revenue, slots = self.rd_propensity[s], self.revenue[s], np.arange(s.start, s.stop)
        years = np.minimum(np.maximum(age_years, 0.0), p.entrants_initial_ip_years)
        ip = rng.poisson(p.ip_per_rd_million * rd * revenue * years)
        self.ip[s] = ip
        can_institute = rd * revenue * QUARTER >= p.capability_institution_min_rd
        p_inst = 1.0 - (1.0 - p.rd_institution_rate) ** (QUARTERS_PER_YEAR * years * can_institute)
        self.rd_institution[s] = uniforms(key, ENTRANT_INSTITUTION, 0, slots) < p_inst
        self.high_tech[s] = ((rd >= p.capability_high_tech_min_rd) & (ip >= 1)
                             & (uniforms(key, ENTRANT_HIGH_TECH, 0, slots) < p.entrants_initial_high_tech_share))

    def remove(self, idx: np.ndarray, step: int, cause: int) -> None:
        """Firms leave the model: they failed, or left the SME pool (outgrew it or listed) holding no title."""
        self.alive[idx] = False
        self.exit_step[idx] = step
        self.exit_cause[idx] = cause

    # ----------------------------------------------------------------------- derived indicators
    def age_years(self, idx: np.ndarray, step: int) -> np.ndarray:
        return years_since(self.born_step[idx], step)

    def debt_ratio(self, idx: np.ndarray) -> np.ndarray:
        return debt_ratio(self.debt[idx], self.revenue[idx], self.cash[idx], self.p.balance_assets_per_revenue)

    def growth_last_year(self, idx: np.ndarray) -> np.ndarray:
        return growth_rate(self.rev_y1[idx], self.rev_y2[idx])

    def growth_two_year_avg(self, idx: np.ndarray) -> np.ndarray:
        return np.sqrt(self.rev_y1[idx] / np.maximum(self.rev_y3[idx], EPS)) - 1.0

    def is_sme(self, idx: np.ndarray) -> np.ndarray:
        return self.revenue[idx] < self.sme_ceiling[idx]

    def niche_share(self, idx: np.ndarray) -> np.ndarray:
        return niche_share(self.revenue[idx], self.niche_market[idx])
