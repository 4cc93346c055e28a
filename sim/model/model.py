"""SMEModel: builds the world, orders one quarter's step, and collects model-level series.

A quarter, in order:
1. chain leaders decide what they open (orders, data, receivables); matchmaking links new suppliers;
2. firms grow: R&D (after subsidy), vouchers, capability and IP, revenue, cash;
3. firms short of cash, or wanting to invest, apply for credit; the lender decides;
4. titles reaching their validity are reviewed; 有进有出 spot checks; recognitions due this quarter
   (T1 continuous, T2 and T3 batches) with first-recognition awards;
5. failures, outgrowing SME size, listings; new firms enter; year-end bookkeeping in Q4;
6. the DataCollector records stocks, flows by cause, spending by instrument and loans.
"""

from __future__ import annotations

import mesa
import numba
import numpy as np

from sim.core.outcomes import INSTRUMENTS
from sim.core.schema import SimConfig
from sim.model import draws, dynamics, rules
from sim.model.firms import FirmPopulation, cluster_table
from sim.model.institutions import MIIT, ChainLeader, Lender, MunicipalGovernment
from sim.model.params import rule_params
from sim.model.policies import chain_leaders, loans, review
from sim.model.units import QUARTERS_PER_YEAR

# sequential numpy Generators for what is drawn in bulk and in a fixed order: the initial pool,
# entrants, chain leaders' decisions (spawned first, in this order, from the run's seed)
STREAMS = ("init", "entry", "leaders")
# each firm's own draws, one key per mechanism (``sim.model.draws``), spawned after the streams
MECHANISMS = (
    "entrants", "matchmaking", "rd", "ip", "institution", "high_tech", "shocks", "vouchers", "credit_demand",
    "credit_approve", "review", "apply", "accept", "failure", "listing",
)
TIER_FLOWS = ("recognised", "promoted", "renewed", "lost_review", "revoked", "demoted_into",
              "failed", "outgrew", "listed")
COUNTERS = (
    ["entered", "failed", "outgrew", "listed", "matched_to_leader", "leaders_open_orders",
     "loan_applications", "loans_approved", "loan_amount", "loans_ip_pledge", "loans_supply_chain"]
    + [f"{flow}_T{t}" for flow in TIER_FLOWS for t in range(rules.N_TIERS)]
)


MAX_T2_SCORE = 100.0  # the SRDI score's full marks
HIGH_TECH, LINKED = rules.N_TIERS, rules.N_TIERS + 1  # _stock_counts' slots after the tiers


class QuarterlyCollector(mesa.DataCollector):
    """Mesa's DataCollector without its per-value ``deepcopy``: every reporter here returns a plain
    int or float, which nothing can change afterwards, and the copies cost more than the rest of
    a small model's quarter."""

    def collect(self, model: mesa.Model) -> None:
        if hasattr(self, "_collection_steps"):
            self._collection_steps.append(model.time)
        for name, reporter in self.model_reporters.items():
            self.model_vars[name].append(reporter(model))


class SMEModel(mesa.Model):
    """Enterprises moving through the 专精特新 tiers under policy, one step per quarter."""

    def __init__(self, cfg: SimConfig, seed: np.random.SeedSequence | int = 0) -> None:
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        children = ss.spawn(1 + len(STREAMS) + len(MECHANISMS))
        super().__init__(rng=np.random.default_rng(children[0]))
        self.streams = {name: np.random.default_rng(s) for name, s in zip(STREAMS, children[1:])}
        self.keys = dict(zip(MECHANISMS, draws.stream_keys(children[1 + len(STREAMS):])))
        self.cfg = cfg
        self.region, self.policy, self.unc = cfg.region, cfg.policy, cfg.uncertainties
        self.params = rule_params(cfg)
        self.criteria = rules.Criteria(cfg)
        self.calendar = rules.RecognitionCalendar(cfg.start_year, cfg.region.calendar)
        self.quarter = 0

        self.leader_list: list[ChainLeader] = []
        by_cluster: list[list[int]] = []
        for c, cluster in enumerate(self.region.clusters):
            ids = []
            for name in cluster.leaders:
                ids.append(len(self.leader_list))
                self.leader_list.append(ChainLeader(self, name, c))
            by_cluster.append(ids)
        self.leaders = mesa.agent.AgentSet(self.leader_list, random=self.random)
        # chain leaders of each cluster as one table: row c lists cluster c's leader ids (-1 past the
        # cluster's count); entrants and matchmaking pick a firm's leader from its row
        self.cluster_n_leaders = np.array([len(ids) for ids in by_cluster], dtype=np.int64)
        self.cluster_leaders = np.full((len(by_cluster), max(1, self.cluster_n_leaders.max(initial=0))), -1,
                                       dtype=np.int16)
        for c, ids in enumerate(by_cluster):
            self.cluster_leaders[c, : len(ids)] = ids
        self.lender = Lender(self)
        self.government = MunicipalGovernment(self, self.policy.subsidies.annual_budget)
        self.miit = MIIT(self)

        clusters = cluster_table(self.region.clusters, self.cluster_leaders, self.cluster_n_leaders)
        self.firms = FirmPopulation(self._expected_slots(), self.params, clusters)
        self._populate()
        self._live = np.arange(self.firms.capacity)  # its first _n_live entries: see ``live``
        self._n_live = self.firms.n
        self.counters: dict[str, float] = dict.fromkeys(COUNTERS, 0)
        self.n_alive_start = self.firms.n_alive
        self.datacollector = QuarterlyCollector(model_reporters=self._reporters())

    def _expected_slots(self) -> int:
        """Initial pool plus the entries the region expects over the horizon (with a margin for
        Poisson noise): sized once, the columns are not copied while the population grows."""
        years = range(self.cfg.start_year, self.cfg.end_year + 1)
        pts = sorted(self.region.entries_per_year.items())
        entries = float(np.interp(list(years), [y for y, _ in pts], [v for _, v in pts]).sum())
        return int(self.region.initial_firms + 1.02 * entries + 4.0 * np.sqrt(entries) + 64)

    @property
    def live(self) -> np.ndarray:
        """Slots of the alive firms, ascending. A view of one buffer: exits compact it in place
        (``dynamics.exits``) and entrants are appended (``append_live``), so it is never copied."""
        return self._live[: self._n_live]

    def keep_live(self, n: int) -> None:
        """After exits have moved the survivors to the front of ``live``: keep those ``n``."""
        self._n_live = n

    def append_live(self, start: int, stop: int) -> None:
        """Entrants (new slots ``start`` to ``stop``, above every live slot) join ``live``."""
        n = self._n_live + stop - start
        if n > len(self._live):
            self._live = np.concatenate([self._live[: self._n_live], np.empty(n - self._n_live, dtype=np.int64)])
        self._live[self._n_live:n] = np.arange(start, stop)
        self._n_live = n

    def qkey(self, mechanism: str, draw: int = 0) -> np.uint64:
        """Key of a mechanism's draw number ``draw`` (0-3) this quarter, for compiled rules that
        draw per firm with ``sim.model.draws.uniform``/``normal``."""
        return np.uint64(draws.quarter_key(self.keys[mechanism], self.quarter, draw))

    def uniform(self, mechanism: str, slots: np.ndarray, draw: int = 0) -> np.ndarray:
        """Each firm's own uniform draw for a mechanism this quarter (see ``sim.model.draws``): it depends
        only on the firm, never on who else is drawn for, so a rule draws for the firms it concerns."""
        return draws.uniforms(self.keys[mechanism], self.quarter, draw, slots)

    def normal(self, mechanism: str, slots: np.ndarray, draw: int = 0) -> np.ndarray:
        """Each firm's own standard-normal draw for a mechanism this quarter (see ``uniform``)."""
        return draws.normals(self.keys[mechanism], self.quarter, draw, slots)

    def _populate(self) -> None:
        """Initial pool with ages spread over 0-15 years; the region's SRDI holders get T2 titles
        granted at staggered past quarters, so their reviews spread over the first years."""
        rng = self.streams["init"]
        k = self.region.initial_firms
        s = self.firms.add(k, 0, self.keys["entrants"], rng,
                           age_years=rng.uniform(0.0, self.params.entrants_initial_max_age, k))
        idx = np.arange(s.start, s.stop)
        eligible = self.criteria.t2_hard(self.firms, idx, 0)
        # the region's best firms hold its SRDI titles: those meeting the hard criteria first, then by score
        score = self.criteria.t2_score(self.firms, idx, 0) + MAX_T2_SCORE * eligible
        order = idx[np.argsort(-score, kind="stable")][: self.region.initial_srdi]
        validity = QUARTERS_PER_YEAR * self.policy.review.validity_years
        granted = -rng.integers(0, validity, len(order))
        self.firms.tier[order] = rules.T2
        self.firms.title_granted[order] = granted
        self.firms.title_expiry[order] = granted + validity
        self.firms.awarded[order] |= np.int8(1 << rules.T2)

    # ------------------------------------------------------------------------------ step
    def step(self) -> None:
        year, quarter = self.calendar.year_quarter(self.quarter)
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.n_alive_start = len(self.live)
        self.government.new_quarter(first_of_year=quarter == 1)

        chain_leaders.leaders_decide(self)
        chain_leaders.matchmaking(self)
        dynamics.grow(self)
        loans.credit_round(self)
        review.review_expiring(self)
        review.dynamic_exit(self)
        review.recognise(self)
        dynamics.exits(self)
        dynamics.entry(self)
        if quarter == QUARTERS_PER_YEAR:
            dynamics.close_year(self)
        self._stocks = self._count_stocks()
        self.datacollector.collect(self)
        self.quarter += 1
        if self.quarter >= self.cfg.n_steps:
            self.running = False

    def run(self) -> None:
        while self.running:
            self.step()

    # ------------------------------------------------------------------------- reporting
    def tier_counts(self) -> np.ndarray:
        """Firms alive at each tier now."""
        return _stock_counts(self.live, self.firms.tier, self.firms.high_tech, self.firms.leader)[:rules.N_TIERS]

    def _count_stocks(self) -> dict[str, int]:
        """The end-of-quarter stocks the reporters read, counted once over the alive firms."""
        counts = _stock_counts(self.live, self.firms.tier, self.firms.high_tech, self.firms.leader)
        stocks = {"n_firms": len(self.live)}
        for t in range(rules.N_TIERS):
            stocks[f"n_T{t}"] = int(counts[t])
        for t in range(1, rules.N_TIERS):
            stocks[f"n_T{t}plus"] = int(counts[t:rules.N_TIERS].sum())
        stocks["n_high_tech"], stocks["n_linked"] = int(counts[HIGH_TECH]), int(counts[LINKED])
        return stocks

    def _reporters(self) -> dict:
        def year(m):
            return m.calendar.year_quarter(m.quarter)[0]

        def quarter(m):
            return m.calendar.year_quarter(m.quarter)[1]

        rep = {"year": year, "quarter": quarter}
        stocks = (["n_firms"] + [f"n_T{t}" for t in range(rules.N_TIERS)]
                  + [f"n_T{t}plus" for t in range(1, rules.N_TIERS)])
        for name in stocks + ["n_high_tech", "n_linked"]:
            rep[name] = lambda m, name=name: m._stocks[name]
        for name in COUNTERS:
            rep[name] = lambda m, name=name: m.counters[name]
        for inst in INSTRUMENTS:
            rep[f"spend_{inst}"] = lambda m, inst=inst: m.government.quarter_spending[inst]
        rep["spend_total"] = lambda m: sum(m.government.quarter_spending.values())
        return rep


@numba.njit(cache=True)
def _stock_counts(live, tier, high_tech, leader):
    """Alive firms at each tier, then with a high-tech title, then supplying a chain leader, in one pass."""
    counts = np.zeros(LINKED + 1, dtype=np.int64)
    for i in live:
        counts[tier[i]] += 1
        counts[HIGH_TECH] += high_tech[i]
        counts[LINKED] += leader[i] >= 0
    return counts
