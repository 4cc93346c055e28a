"""The enterprise population, held as columns (structure of arrays).

Every firm is an agent: slot ``i`` in every column is firm ``i``'s own state, and each of its
stochastic decisions uses its own element of a per-mechanism random vector (see ``SMEModel.draw``).
Holding the population as numpy columns instead of one ``mesa.Agent`` per firm is what makes a
million-firm national run take seconds (see ``experiments/``). Slots are never reused: a firm's slot
is its id, so replication k of two scenarios gives the same firm the same random draws
(common random numbers) for as long as its life is the same.
"""

from __future__ import annotations

import numpy as np

from sim.config import Region, Uncertainties

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
        rng: np.random.Generator,
        region: Region,
        unc: Uncertainties,
        leaders_by_cluster: list[np.ndarray],
        age_years: np.ndarray | None = None,
    ) -> slice:
        """Create ``k`` new firms drawn from the region's entrant distribution; return their slots."""
        self._reserve(k)
        s = slice(self.n, self.n + k)
        self.n += k
        if k == 0:
            return s
        weights = np.array([c.weight for c in region.clusters], dtype=float)
        cluster = rng.choice(len(weights), size=k, p=weights / weights.sum())
        strategic_by_cluster = np.array([c.strategic_emerging for c in region.clusters])
        if age_years is None:
            age_years = np.zeros(k)
        self.alive[s] = True
        self.born_step[s] = step - np.round(age_years * 4).astype(np.int32)
        self.cluster[s] = cluster
        self.strategic[s] = strategic_by_cluster[cluster]
        self.growth_own[s] = unc.growth_mean + unc.growth_firm_sd * rng.standard_normal(k)
        revenue = region.revenue_median * np.exp(region.revenue_sigma * rng.standard_normal(k))
        self.revenue[s] = revenue
        self.rev_y1[s] = revenue
        self.rev_y2[s] = revenue / (1.0 + np.clip(self.growth_own[s], -0.5, None))
        self.rev_y3[s] = self.rev_y2[s] / (1.0 + np.clip(self.growth_own[s], -0.5, None))
        rd = np.clip(unc.rd_intensity_median * np.exp(unc.rd_intensity_sigma * rng.standard_normal(k)), 0, 0.4)
        self.rd_propensity[s] = rd
        self.rd_intensity[s] = rd
        self.rd_int_y1[s] = rd
        self.rd_int_y2[s] = rd
        self.capability[s] = rd / 0.03
        # older, R&D-intensive firms start with IP and institutions accumulated before the run
        years = np.maximum(age_years, 0.0)
        expected_ip = unc.ip_per_rd_million * rd * revenue * np.minimum(years, 8.0)
        self.ip[s] = rng.poisson(expected_ip)
        p_inst = 1.0 - (1.0 - unc.rd_institution_rate) ** (4 * np.minimum(years, 8.0) * (rd * revenue >= 1.0))
        self.rd_institution[s] = rng.random(k) < p_inst
        self.high_tech[s] = (rd >= 0.03) & (self.ip[s] >= 1) & (rng.random(k) < 0.5)
        self.main_share[s] = np.clip(rng.beta(6.0, 2.0, k), 0.2, 1.0)
        self.margin[s] = unc.operating_margin + 0.05 * rng.standard_normal(k)
        self.cash[s] = revenue * np.clip(0.15 + 0.1 * rng.standard_normal(k), 0.0, None)
        self.debt[s] = revenue * np.clip(0.4 + 0.2 * rng.standard_normal(k), 0.0, None)
        self.niche_market[s] = unc.niche_market_median * np.exp(unc.niche_market_sigma * rng.standard_normal(k))
        linked = rng.random(k) < unc.link_share
        pick = rng.random(k)
        leader = np.full(k, -1, dtype=np.int16)
        for c, ids in enumerate(leaders_by_cluster):
            m = linked & (cluster == c)
            if len(ids) and m.any():
                leader[m] = ids[(pick[m] * len(ids)).astype(int)]
        self.leader[s] = leader
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
        """Liabilities over assets; assets are read as 0.8 x annual revenue plus cash."""
        assets = 0.8 * self.revenue[idx] + np.maximum(self.cash[idx], 0.0)
        return self.debt[idx] / np.maximum(assets, 1e-9)

    def growth_last_year(self, idx: np.ndarray) -> np.ndarray:
        return self.rev_y1[idx] / np.maximum(self.rev_y2[idx], 1e-9) - 1.0

    def growth_two_year_avg(self, idx: np.ndarray) -> np.ndarray:
        return np.sqrt(self.rev_y1[idx] / np.maximum(self.rev_y3[idx], 1e-9)) - 1.0

    def niche_share(self, idx: np.ndarray) -> np.ndarray:
        return self.revenue[idx] / self.niche_market[idx]
