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
import numpy as np

from sim import dynamics, rules
from sim.config import SimConfig
from sim.firms import FirmPopulation
from sim.institutions import INSTRUMENTS, MIIT, ChainLeader, Lender, MunicipalGovernment
from sim.policies import chain_leaders, loans, review

# one independent random stream per mechanism, spawned in this fixed order from the run's seed
STREAMS = (
    "init", "entry", "leaders", "matchmaking", "rd", "ip", "institution", "high_tech", "growth",
    "cash", "vouchers", "credit_demand", "credit_approve", "review", "apply", "accept", "failure",
    "listing",
)
TIER_FLOWS = ("recognised", "promoted", "renewed", "lost_review", "revoked", "demoted_into",
              "failed", "outgrew", "listed")
COUNTERS = (
    ["entered", "failed", "outgrew", "listed", "matched_to_leader", "leaders_open_orders",
     "loan_applications", "loans_approved", "loan_amount", "loans_ip_pledge", "loans_supply_chain"]
    + [f"{flow}_T{t}" for flow in TIER_FLOWS for t in range(4)]
)


class SMEModel(mesa.Model):
    """Enterprises moving through the 专精特新 tiers under policy, one step per quarter."""

    def __init__(self, cfg: SimConfig, seed: np.random.SeedSequence | int = 0) -> None:
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        children = ss.spawn(len(STREAMS) + 1)
        super().__init__(rng=np.random.default_rng(children[0]))
        self.streams = {name: np.random.default_rng(s) for name, s in zip(STREAMS, children[1:])}
        self.cfg = cfg
        self.region, self.policy, self.unc = cfg.region, cfg.policy, cfg.uncertainties
        self.calendar = rules.RecognitionCalendar(cfg.start_year, cfg.region.calendar)
        self.quarter = 0
        self._tier_counts_at = -1

        self.leader_list: list[ChainLeader] = []
        by_cluster: list[list[int]] = []
        for c, cluster in enumerate(self.region.clusters):
            ids = []
            for name in cluster.leaders:
                ids.append(len(self.leader_list))
                self.leader_list.append(ChainLeader(self, name, c))
            by_cluster.append(ids)
        self.leaders = mesa.agent.AgentSet(self.leader_list, random=self.random)
        self.leaders_by_cluster = [np.array(ids, dtype=np.int16) for ids in by_cluster]
        self.lender = Lender(self)
        self.government = MunicipalGovernment(self, self.policy.subsidies.annual_budget)
        self.miit = MIIT(self)

        self.firms = FirmPopulation(capacity=int(self.region.initial_firms * 1.2))
        self._populate()
        self.counters: dict[str, float] = dict.fromkeys(COUNTERS, 0)
        self.n_alive_start = self.firms.n_alive
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())

    def _populate(self) -> None:
        """Initial pool with ages spread over 0-15 years; the region's SRDI holders get T2 titles
        granted at staggered past quarters, so their reviews spread over the first years."""
        rng = self.streams["init"]
        k = self.region.initial_firms
        s = self.firms.add(k, 0, rng, self.region, self.unc, self.leaders_by_cluster,
                           age_years=rng.uniform(0.0, 15.0, k))
        idx = np.arange(s.start, s.stop)
        eligible = rules.t2_hard(self.firms, idx, 0)
        score = rules.t2_score(self.firms, idx, 0) + 100.0 * eligible
        order = idx[np.argsort(-score, kind="stable")][: self.region.initial_srdi]
        validity = 4 * self.policy.review.validity_years
        granted = -rng.integers(0, validity, len(order))
        self.firms.tier[order] = rules.T2
        self.firms.title_granted[order] = granted
        self.firms.title_expiry[order] = granted + validity
        self.firms.awarded[order] |= np.int8(1 << rules.T2)

    # ------------------------------------------------------------------------------ step
    def step(self) -> None:
        year, quarter = self.calendar.year_quarter(self.quarter)
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.n_alive_start = self.firms.n_alive
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
        if quarter == 4:
            dynamics.close_year(self)
        self.datacollector.collect(self)
        self.quarter += 1
        if self.quarter >= self.cfg.n_steps:
            self.running = False

    def run(self) -> None:
        while self.running:
            self.step()

    # ------------------------------------------------------------------------- reporting
    def any_leader_open(self, channel: str) -> bool:
        return any(getattr(ld, channel) for ld in self.leader_list)

    def tier_counts(self) -> np.ndarray:
        """Firms alive at each tier, counted once per step (reporters read the cached value)."""
        if self._tier_counts_at != self.quarter:
            n = self.firms.n
            self._tier_counts = np.bincount(self.firms.tier[:n][self.firms.alive[:n]], minlength=4)
            self._tier_counts_at = self.quarter
        return self._tier_counts

    def _reporters(self) -> dict:
        def year(m):
            return m.calendar.year_quarter(m.quarter)[0]

        def quarter(m):
            return m.calendar.year_quarter(m.quarter)[1]

        rep = {"year": year, "quarter": quarter, "n_firms": lambda m: m.firms.n_alive}
        for t in range(4):
            rep[f"n_T{t}"] = lambda m, t=t: int(m.tier_counts()[t])
        for t in range(1, 4):
            rep[f"n_T{t}plus"] = lambda m, t=t: int(m.tier_counts()[t:].sum())
        rep["n_high_tech"] = lambda m: int(np.count_nonzero(m.firms.high_tech[: m.firms.n] & m.firms.alive[: m.firms.n]))
        rep["n_linked"] = lambda m: int(np.count_nonzero((m.firms.leader[: m.firms.n] >= 0) & m.firms.alive[: m.firms.n]))
        for name in COUNTERS:
            rep[name] = lambda m, name=name: m.counters[name]
        for inst in INSTRUMENTS:
            rep[f"spend_{inst}"] = lambda m, inst=inst: m.government.quarter_spending[inst]
        rep["spend_total"] = lambda m: sum(m.government.quarter_spending.values())
        return rep
