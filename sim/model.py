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


BLOCK = 1 << 15  # slots worked on at a time: a block's arrays stay in the CPU cache


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
        children = ss.spawn(len(STREAMS) + 1)
        super().__init__(rng=np.random.default_rng(children[0]))
        self.streams = {name: np.random.default_rng(s) for name, s in zip(STREAMS, children[1:])}
        self.cfg = cfg
        self.region, self.policy, self.unc = cfg.region, cfg.policy, cfg.uncertainties
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
        self.leaders_by_cluster = [np.array(ids, dtype=np.int16) for ids in by_cluster]
        self.lender = Lender(self)
        self.government = MunicipalGovernment(self, self.policy.subsidies.annual_budget)
        self.miit = MIIT(self)

        self.firms = FirmPopulation(capacity=self._expected_slots())
        self._populate()
        self.live = np.arange(self.firms.n)  # slots of the alive firms, sorted; exits and entry keep it
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

    def blocks(self) -> list[tuple[int, int]]:
        """The slots in blocks of ``BLOCK``, in order: (first slot, end slot). Working block by
        block on contiguous slices keeps a block's arrays in the CPU cache; dead slots in a block
        are computed and then left unwritten."""
        n = self.firms.n
        return [(a, min(a + BLOCK, n)) for a in range(0, n, BLOCK)]

    def draw_block(self, stream: str, start: int, stop: int, normal: bool = False) -> np.ndarray:
        """One block (slots ``start`` to ``stop``) of a mechanism's vector of draws this quarter.

        Every slot gets its own element of the vector (uniform on [0, 1), or standard normal),
        alive or not, so a firm's luck never depends on who else is alive, and replication k of
        two scenarios gives the same firm the same draws. A quarter draws every block of a
        mechanism's vector, in slot order (``draw`` does it for callers that want it at once)."""
        rng = self.streams[stream]
        return rng.standard_normal(stop - start) if normal else rng.random(stop - start)

    def draw(self, stream: str, at: np.ndarray, normal: bool = False) -> np.ndarray:
        """A mechanism's whole vector of draws this quarter (see ``draw_block``), kept at the sorted
        slots ``at``; drawn block by block, the vector itself is never held in full."""
        blocks = self.blocks()
        cuts = np.searchsorted(at, [a for a, _ in blocks] + [self.firms.n])
        out = np.empty(len(at))
        for k, (a, b) in enumerate(blocks):
            out[cuts[k]:cuts[k + 1]] = self.draw_block(stream, a, b, normal)[at[cuts[k]:cuts[k + 1]] - a]
        return out

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
        if quarter == 4:
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
        return np.bincount(self.firms.tier[self.live], minlength=4)

    def _count_stocks(self) -> dict[str, int]:
        """The end-of-quarter stocks the reporters read, counted once over the alive firms."""
        f, live = self.firms, self.live
        counts = self.tier_counts()
        stocks = {"n_firms": len(live)}
        for t in range(4):
            stocks[f"n_T{t}"] = int(counts[t])
        for t in range(1, 4):
            stocks[f"n_T{t}plus"] = int(counts[t:].sum())
        stocks["n_high_tech"] = int(np.count_nonzero(f.high_tech[live]))
        stocks["n_linked"] = int(np.count_nonzero(f.leader[live] >= 0))
        return stocks

    def _reporters(self) -> dict:
        def year(m):
            return m.calendar.year_quarter(m.quarter)[0]

        def quarter(m):
            return m.calendar.year_quarter(m.quarter)[1]

        rep = {"year": year, "quarter": quarter}
        stocks = ["n_firms"] + [f"n_T{t}" for t in range(4)] + [f"n_T{t}plus" for t in range(1, 4)]
        for name in stocks + ["n_high_tech", "n_linked"]:
            rep[name] = lambda m, name=name: m._stocks[name]
        for name in COUNTERS:
            rep[name] = lambda m, name=name: m.counters[name]
        for inst in INSTRUMENTS:
            rep[f"spend_{inst}"] = lambda m, inst=inst: m.government.quarter_spending[inst]
        rep["spend_total"] = lambda m: sum(m.government.quarter_spending.values())
        return rep
