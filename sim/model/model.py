"""SMEModel: builds the world, orders one quarter's step, and collects model-level series.

A quarter, in order:
1. chain leaders decide what they open (orders, data, receivables); matchmaking links new suppliers;
2. firms grow: R&D (after subsidy), vouchers, capability and IP, revenue, cash;
3. firms short of cash, or wanting to invest, apply for credit; each area's lender decides;
4. titles reaching their validity are reviewed (municipal titles by the city, little giants by
   MIIT); 有进有出 spot checks; recognitions due this quarter (T1 continuous, the municipal T2 batch,
   MIIT's national T3 batch) with first-recognition awards;
5. failures; firms outgrowing SME size or listing leave the SME pool (a titled firm keeps its title
   to its next review); firms out of the pool without a title leave; new firms enter; year end in Q4;
6. the DataCollector records stocks, flows by cause, spending by instrument and loans.

The national model holds areas (a firm column): each has its own pool, entry, government, lender
and levers (``sim.model.levers``), and MIIT's batch is drawn from the nominees of all of them.
"""

from __future__ import annotations

import mesa
import numba
import numpy as np

from sim.core.outcomes import INSTRUMENTS
from sim.core.schema import SimConfig
from sim.model import draws, dynamics, heap, rules
from sim.model.firms import IN_POOL, FirmPopulation, cluster_table
from sim.model.institutions import MIIT, ChainLeader, Lender, MunicipalGovernment
from sim.model.levers import Levers
from sim.model.params import rule_params
from sim.model.policies import chain_leaders, loans, review
from sim.model.units import QUARTERS_PER_YEAR

# sequential numpy Generators for what is drawn in bulk and in a fixed order: the initial pool,
# entrants, chain leaders' decisions (spawned first, in this order, from the run's seed)
STREAMS = ("init", "entry", "leaders")
# each firm's own draws, one key per mechanism (``sim.model.draws``), spawned after the streams
MECHANISMS = (
    "entrants", "matchmaking", "rd", "ip", "institution", "high_tech", "shocks", "vouchers", "credit_demand",
    "credit_approve", "review", "apply", "accept", "failure", "listing", "merit",
)
TIER_FLOWS = ("recognised", "promoted", "review_due", "renewed", "lost_review", "revoked", "demoted_into",
              "failed", "outgrew", "listed")
COUNTERS = (
    # entered, failed: the model's population; outgrew, listed: leaving the SME pool (a titled firm
    # stays, holding its title); left: firms out of the pool leaving the model once they hold no title
    # renewed_first_T3: little giants keeping their title at their batch's first review (MIIT
    # publishes how many of each batch pass it)
    ["entered", "failed", "outgrew", "listed", "left", "nominated_T3", "renewed_first_T3", "matched_to_leader",
     "leaders_open_orders",
     "loan_applications", "loans_approved", "loan_amount", "loans_ip_pledge", "loans_supply_chain"]
    + [f"{flow}_T{t}" for flow in TIER_FLOWS for t in range(rules.N_TIERS)]
)
# stocks and flows also reported per area in the national model, as ``<column>__<area>``
AREA_STOCKS = ("n_firms", "n_T2plus", "n_T3", "n_T3_titles")
AREA_FLOWS = ("recognised_T3",)

MAX_T2_SCORE = 100.0  # the SRDI score's full marks
HIGH_TECH, LINKED, POOL = rules.N_TIERS, rules.N_TIERS + 1, rules.N_TIERS + 2  # _stock_counts' columns per area
GROUP_TIERS = ("T2plus", "T3")  # _stock_counts' groups: columns; its rows: clusters, then linked and unlinked
GROUPS_AFTER_CLUSTERS = 2


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
        heap.keep_freed_memory()
        heap.small_pages()
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
        self.levers = Levers(cfg)
        self.areas = self.region.area_names
        self.area_shares = self.levers.area_shares  # each area's share of the firms (its budgets scale by it too)
        self.quarter = 0
        self._leaders()
        self.lender = Lender(self)
        self.governments = [MunicipalGovernment(self, a) for a in range(len(self.areas))]
        self._set_budgets()
        self.miit = MIIT(self)

        clusters = cluster_table(self.region.clusters, self.cluster_leaders, self.cluster_n_leaders)
        self.firms = FirmPopulation(self._expected_slots(), self.params, clusters, self.calendar.list_shares)
        self._populate()
        self._live = np.arange(self.firms.capacity)  # its first _n_live entries: see ``live``
        self._n_live = self.firms.n
        self.counters: dict[str, float] = dict.fromkeys(self._counter_names(), 0)
        self.review_log: list[tuple[int, int, int, int, int]] = []  # (year, tier, cohort, due, renewed)
        self.failed_titles = np.empty((0, 2), dtype=np.int64)  # (area, title expiry): see ``n_T3_titles``
        self.n_alive_start = self.firms.n_alive
        self._stocks = self._count_stocks()  # also the first quarter's alive_by_area
        self.datacollector = QuarterlyCollector(model_reporters=self._reporters())

    def _leaders(self) -> None:
        """Chain leaders per cluster, and one table of them: row c lists cluster c's leader ids (-1
        past the cluster's count); entrants and matchmaking pick a firm's leader from its row."""
        self.leader_list: list[ChainLeader] = []
        by_cluster: list[list[int]] = []
        for c, cluster in enumerate(self.region.clusters):
            ids = []
            for name in cluster.leaders:
                ids.append(len(self.leader_list))
                self.leader_list.append(ChainLeader(self, name, c))
            by_cluster.append(ids)
        self.leaders = mesa.agent.AgentSet(self.leader_list, random=self.random)
        self.cluster_n_leaders = np.array([len(ids) for ids in by_cluster], dtype=np.int64)
        self.cluster_leaders = np.full((len(by_cluster), max(1, self.cluster_n_leaders.max(initial=0))), -1,
                                       dtype=np.int16)
        for c, ids in enumerate(by_cluster):
            self.cluster_leaders[c, : len(ids)] = ids

    def _set_budgets(self) -> None:
        """Each area's government spends up to its area's envelopes (``Levers.area_budgets``)."""
        base, extra = self.levers.area_budgets()
        for g, b, e in zip(self.governments, base, extra):
            g.base_budget = float(b) if np.isfinite(b) else None
            g.extra_budget = float(e) if np.isfinite(e) else None

    def _counter_names(self) -> list[str]:
        per_area = [f"{c}__{a}" for c in AREA_FLOWS for a in self.areas] if len(self.areas) > 1 else []
        return list(COUNTERS) + per_area

    def _expected_slots(self) -> int:
        """Initial pool plus the entries the region expects over the horizon (with a margin for
        Poisson noise): sized once, the columns are not copied while the population grows."""
        years = range(self.cfg.start_year, self.cfg.end_year + 1)
        pts = sorted(self.region.entries_per_year.items())
        entries = float(np.interp(list(years), [y for y, _ in pts], [v for _, v in pts]).sum())
        entries *= self.region.population_scale
        return int(self.region.initial_firms * self.region.population_scale + 1.02 * entries
                   + 4.0 * np.sqrt(entries) + 64 * len(self.areas))

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

    def split(self, total: float) -> np.ndarray:
        """``total`` firms shared out over the areas by their pool shares (whole numbers summing to it)."""
        counts = np.floor(total * self.area_shares).astype(np.int64)
        counts[np.argmax(self.area_shares)] += int(round(total)) - counts.sum()
        return counts

    def _populate(self) -> None:
        """Initial pool with ages spread over 0-15 years, area by area; each area's SRDI holders get
        T2 titles granted at staggered past quarters, so their reviews spread over the first years."""
        rng = self.streams["init"]
        validity = QUARTERS_PER_YEAR * self.levers.of("review.validity_years").astype(np.int64)
        scale = self.region.population_scale
        for a, (k, k_srdi) in enumerate(zip(self.split(self.region.initial_firms * scale),
                                            self.split(self.region.initial_srdi * scale))):
            s = self.firms.add(int(k), 0, self.keys["entrants"], rng, area=a,
                               age_years=rng.uniform(0.0, self.params.entrants_initial_max_age, int(k)))
            idx = np.arange(s.start, s.stop)
            eligible = self.criteria.t2_hard(self.firms, idx, 0)
            # the area's best firms hold its SRDI titles: those meeting the hard criteria first, then by score
            score = self.criteria.t2_score(self.firms, idx, 0) + MAX_T2_SCORE * eligible
            order = idx[np.argsort(-score, kind="stable")][: min(int(k_srdi), len(idx))]
            granted = -rng.integers(0, validity[a], len(order))
            self.firms.tier[order] = rules.T2
            self.firms.title_granted[order] = granted
            self.firms.title_expiry[order] = granted + validity[a]
            self.firms.awarded[order] |= np.int8(1 << rules.T2)

    # ------------------------------------------------------------------------------ step
    def step(self) -> None:
        year, quarter = self.calendar.year_quarter(self.quarter)
        if self.levers.at(self.quarter):
            self._set_budgets()
        self.counters = dict.fromkeys(self.counters, 0)
        self.n_alive_start = len(self.live)
        self.miit.bar, self.miit.batch_size = np.nan, 0.0
        for g in self.governments:
            g.new_quarter(quarter)

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
        return self._counts()[0].sum(axis=0)[:rules.N_TIERS]

    def _counts(self) -> tuple[np.ndarray, np.ndarray]:
        return _stock_counts(self.live, self.firms.cols, len(self.areas), len(self.region.clusters))

    def _count_stocks(self) -> dict[str, int]:
        """The end-of-quarter stocks the reporters read, counted once over the alive firms; and the
        firms alive in each area at the start of the next quarter (exits and entry are done)."""
        by_area, groups = self._counts()
        self.alive_by_area = by_area[:, :rules.N_TIERS].sum(axis=1)
        on_list = self.failed_titles[self.failed_titles[:, 1] > self.quarter, 0]  # not yet reviewed
        failed = np.bincount(on_list, minlength=len(self.areas))
        stocks = _stocks_of(by_area.sum(axis=0), int(failed.sum()))
        if len(self.areas) > 1:
            for a, name in enumerate(self.areas):
                own = _stocks_of(by_area[a], int(failed[a]))
                stocks.update({f"{col}__{name}": own[col] for col in AREA_STOCKS})
        for g, name in enumerate([f"cl{k}" for k in range(len(self.region.clusters))] + ["linked", "unlinked"]):
            stocks[f"n_T2plus_{name}"], stocks[f"n_T3_{name}"] = int(groups[g, 0]), int(groups[g, 1])
        return stocks

    def government_spending(self, instrument: str) -> float:
        return sum(g.quarter_spending[instrument] for g in self.governments)

    def _reporters(self) -> dict:
        def year(m):
            return m.calendar.year_quarter(m.quarter)[0]

        def quarter(m):
            return m.calendar.year_quarter(m.quarter)[1]

        rep = {"year": year, "quarter": quarter}
        for name in self._count_stocks():
            rep[name] = lambda m, name=name: m._stocks[name]
        for name in self.counters:
            rep[name] = lambda m, name=name: m.counters[name]
        rep["t3_batch"] = lambda m: m.miit.batch_size
        rep["t3_merit_bar"] = lambda m: m.miit.bar
        for inst in INSTRUMENTS:
            rep[f"spend_{inst}"] = lambda m, inst=inst: m.government_spending(inst)
        rep["spend_total"] = lambda m: sum(m.government_spending(i) for i in INSTRUMENTS)
        # what the spending drew on the budget envelopes (not administration, not the status quo's awards)
        rep["envelope_spent"] = lambda m: sum(g.quarter_from_envelopes for g in m.governments)
        return rep


def _stocks_of(counts: np.ndarray, failed_titles: int) -> dict[str, int]:
    """Named stocks from one row of ``_stock_counts``: the pool, firms at each tier, holding at least
    each tier, little-giant titles on MIIT's lists (the holders, and ``failed_titles`` of firms that
    failed holding one, until their batch's review), high-tech enterprises, suppliers of chain leaders."""
    stocks = {"n_firms": int(counts[POOL])}
    for t in range(rules.N_TIERS):
        stocks[f"n_T{t}"] = int(counts[t])
    for t in range(1, rules.N_TIERS):
        stocks[f"n_T{t}plus"] = int(counts[t:rules.N_TIERS].sum())
    stocks["n_T3_titles"] = stocks["n_T3"] + failed_titles
    stocks["n_high_tech"], stocks["n_linked"] = int(counts[HIGH_TECH]), int(counts[LINKED])
    return stocks


@numba.njit(cache=True)
def _stock_counts(live, c, n_areas, n_clusters):
    """In one pass over the alive firms: per area, firms at each tier, with a high-tech title,
    supplying a chain leader, and in the SME pool; and SRDI SMEs (T2 and above) and little giants
    by cluster, then among suppliers of a chain leader and among the rest (who gains from a package)."""
    counts = np.zeros((n_areas, POOL + 1), dtype=np.int64)
    groups = np.zeros((n_clusters + GROUPS_AFTER_CLUSTERS, len(GROUP_TIERS)), dtype=np.int64)
    for i in live:
        a, tier, linked = c.area[i], c.tier[i], c.leader[i] >= 0
        counts[a, tier] += 1
        counts[a, HIGH_TECH] += c.high_tech[i]
        counts[a, LINKED] += linked
        counts[a, POOL] += c.status[i] == IN_POOL
        if tier >= rules.T2:
            g = n_clusters if linked else n_clusters + 1
            groups[c.cluster[i], 0] += 1
            groups[g, 0] += 1
            if tier == rules.T3:
                groups[c.cluster[i], 1] += 1
                groups[g, 1] += 1
    return counts, groups
