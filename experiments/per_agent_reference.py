"""The model's rules written the way a Mesa user writes them first: one ``mesa.Agent`` per firm.

This is NOT the product path (``sim.model.model.SMEModel`` holds firms as numpy columns). It exists for
two reasons:

* a yardstick: ``experiments/benchmark.py`` runs it and the product side by side on the same
  configuration and reports how much faster the columnar model is;
* an oracle: ``tests/test_reference_oracle.py`` runs both over many seeds and checks that tier
  counts and flows have the same distributions, so a slip in the vectorised code cannot hide.

Every rule is written again here, per firm, in plain Python on scalars — criteria included — from
the domain brief (``../shared/MODEL.md``, outside this repository) and the docstrings of
``sim/model/rules.py``; only configuration (``sim.core.schema``), the recognition calendar, scalar
constants of ``sim.model.rules`` and the institutional agents (``sim.model.institutions``: chain
leaders, lender, government, MIIT) are shared. A quarter runs the same stages in the same order as
``SMEModel.step``; within a stage firms act independently, so they are activated with the AgentSet
(``shuffle_do``). Where the product needs a whole stage's claims before paying (a budget pro-rates
them) or all applications before lending (the lender rations by score), the model collects them
from the firms and settles once, as a Mesa user would with staged activation.

Randomness: each firm draws from the model's ``random.Random`` (``self.random``), so the draws are
not the product's; the two models agree in distribution, not run by run.

Run it on its own: ``python experiments/per_agent_reference.py [overrides...]`` (small sizes only).
"""

from __future__ import annotations

import math
import sys
import time

import mesa
import numpy as np
import pandas as pd

from sim.core.schema import SimConfig
from sim.model.institutions import INSTRUMENTS, MIIT, ChainLeader, Lender, MunicipalGovernment
from sim.model.model import COUNTERS
from sim.model.rules import PASS_SCORE, RecognitionCalendar

T0, T1, T2, T3 = 0, 1, 2, 3
CASH_CAP = 0.5


def _steps(x: float, edges: tuple, points: tuple) -> float:
    """Points of the highest band whose lower edge ``x`` reaches (0 below all)."""
    out = 0.0
    for edge, pts in zip(edges, points):
        if x >= edge:
            out = float(pts)
    return out


class Firm(mesa.Agent):
    """One enterprise: its own state and its own stochastic decisions each quarter."""

    def __init__(self, model: ReferenceModel, step: int, age_years: float = 0.0) -> None:
        super().__init__(model)
        r, u, rnd = model.region, model.unc, self.random
        self.alive = True
        self.cluster = rnd.choices(range(len(r.clusters)), weights=[c.weight for c in r.clusters])[0]
        self.strategic = r.clusters[self.cluster].strategic_emerging
        self.born_step = step - int(round(age_years * 4))
        self.growth_own = u.growth_mean + u.growth_firm_sd * rnd.gauss(0.0, 1.0)
        self.revenue = r.revenue_median * math.exp(r.revenue_sigma * rnd.gauss(0.0, 1.0))
        back = 1.0 + max(self.growth_own, -0.5)
        self.rev_y1, self.rev_y2 = self.revenue, self.revenue / back
        self.rev_y3 = self.rev_y2 / back
        rd = min(max(u.rd_intensity_median * math.exp(u.rd_intensity_sigma * rnd.gauss(0.0, 1.0)), 0.0), 0.4)
        self.rd_propensity = self.rd_intensity = self.rd_int_y1 = self.rd_int_y2 = rd
        self.capability = rd / 0.03
        years = min(max(age_years, 0.0), 8.0)
        self.ip = int(model.rng.poisson(u.ip_per_rd_million * rd * self.revenue * years))
        quarters = 4 * years * (rd * self.revenue >= 1.0)
        self.rd_institution = rnd.random() < 1.0 - (1.0 - u.rd_institution_rate) ** quarters
        self.high_tech = rd >= 0.03 and self.ip >= 1 and rnd.random() < 0.5
        self.main_share = min(max(rnd.betavariate(6.0, 2.0), 0.2), 1.0)
        self.margin = u.operating_margin + 0.05 * rnd.gauss(0.0, 1.0)
        self.cash = self.revenue * max(0.15 + 0.1 * rnd.gauss(0.0, 1.0), 0.0)
        self.debt = self.revenue * max(0.4 + 0.2 * rnd.gauss(0.0, 1.0), 0.0)
        self.niche_market = u.niche_market_median * math.exp(u.niche_market_sigma * rnd.gauss(0.0, 1.0))
        self.digital = False
        self.leader = -1
        leaders = model.leaders_by_cluster[self.cluster]
        if rnd.random() < u.link_share and leaders:
            self.leader = leaders[int(rnd.random() * len(leaders))]
        self.tier, self.title_granted, self.title_expiry = T0, -1, -1
        self.awarded: set[int] = set()
        self.distressed = False
        self.boost_until = -1
        # what the firm received this quarter (subsidies), set by the model's settling stages
        self.rd_subsidy = 0.0
        self.voucher = 0.0

    # ------------------------------------------------------------------ derived indicators
    def age_years(self, step: int) -> float:
        return (step - self.born_step) / 4.0

    def debt_ratio(self) -> float:
        return self.debt / max(0.8 * self.revenue + max(self.cash, 0.0), 1e-9)

    def niche_share(self) -> float:
        return self.revenue / self.niche_market

    # ----------------------------------------------------------------------------- criteria
    def t1_subscores(self) -> tuple[float, float, float]:
        inn = (20.0 if self.ip >= 1 else 0.0) + _steps(self.rd_int_y1, (0.01, 0.02, 0.03, 0.05), (5, 10, 15, 20))
        growth = self.rev_y1 / max(self.rev_y2, 1e-9) - 1.0
        dr = self.debt_ratio()
        gro = _steps(growth, (0.0, 0.05, 0.10, 0.15), (5, 10, 15, 20)) + (10.0 if dr < 0.55 else 5.0 if dr <= 0.75 else 0.0)
        spe = (10.0 if self.strategic else 5.0) + _steps(self.main_share, (0.50, 0.55, 0.60, 0.70), (5, 10, 15, 20))
        return inn, gro, spe

    def t1_ok(self, shift: float) -> bool:
        if self.high_tech or self.rd_institution:
            return True
        inn, gro, spe = self.t1_subscores()
        return inn + gro + spe >= PASS_SCORE + shift and inn >= 20 and gro >= 15 and spe >= 15

    def t2_score(self, step: int) -> float:
        dr = self.debt_ratio()
        special = (_steps(self.main_share, (0.5, 0.6, 0.7, 0.8), (5, 10, 15, 18))
                   + _steps(self.age_years(step), (2, 5, 10), (3, 5, 7)))
        refine = (_steps(self.margin, (0.0, 0.05, 0.10), (3, 6, 10))
                  + (10.0 if dr < 0.5 else 5.0 if dr <= 0.7 else 0.0)
                  + (5.0 if self.digital or self.capability >= 1.5 else 0.0))
        distinct = (10.0 if self.leader >= 0 else 0.0) + (5.0 if self.niche_share() >= 0.05 else 0.0)
        innov = (_steps(self.rd_int_y1, (0.03, 0.04, 0.05, 0.07), (6, 9, 12, 15))
                 + _steps(self.ip, (1, 2, 4, 6), (6, 9, 12, 15))
                 + (5.0 if self.rd_institution else 0.0))
        return special + refine + distinct + innov

    def t2_hard(self, step: int) -> bool:
        return (self.age_years(step) >= 2.0 and self.rd_int_y1 * self.rev_y1 >= 1.0
                and self.rd_int_y1 >= 0.03 and self.rev_y1 >= 10.0)

    def t2_ok(self, step: int, shift: float) -> bool:
        return self.t2_hard(step) and self.t2_score(step) >= PASS_SCORE + shift

    def t3_ok(self, step: int, shift: float) -> bool:
        rev = self.rev_y1
        ts = self.model.cfg.behaviour.t3_shift
        need = (0.03 if rev >= 100.0 else 0.06 if rev >= 50.0 else math.inf) + ts.rd * shift
        growth2 = math.sqrt(self.rev_y1 / max(self.rev_y3, 1e-9)) - 1.0
        return (self.age_years(step) >= 3.0 and self.main_share >= 0.70
                and growth2 >= 0.05 + ts.growth * shift and self.debt_ratio() <= 0.70
                and self.niche_share() >= 0.10 + ts.niche * shift
                and self.rd_int_y1 >= need and self.rd_int_y2 >= need
                and self.rd_institution and self.ip >= 2
                and self.revenue < self.model.region.sme_revenue_cap)

    def meets(self, tier: int, shift: float) -> bool:
        if tier == T1:
            return self.t1_ok(shift)
        if tier == T2:
            return self.t2_ok(self.model.quarter, shift)
        if tier == T3:
            return self.t3_ok(self.model.quarter, shift)
        return True

    def grant(self, tier: int) -> None:
        m = self.model
        self.tier, self.title_granted = tier, m.quarter
        self.title_expiry = m.quarter + 4 * m.policy.review.validity_years

    # ------------------------------------------------------------------------ the quarter
    def seek_leader(self) -> None:
        """供需对接: an unlinked firm may be matched to a leader of its cluster."""
        share = self.model.policy.chain_leaders.matchmaking_link_share
        u, pick = self.random.random(), self.random.random()
        leaders = self.model.leaders_by_cluster[self.cluster]
        if self.leader < 0 and leaders and u < 1.0 - (1.0 - share) ** 0.25:
            self.leader = leaders[int(pick * len(leaders))]
            self.model.counters["matched_to_leader"] += 1

    def choose_rd(self) -> None:
        """R&D moves towards the firm's propensity, raised by the subsidy it expects; a covered firm
        files its claim (the model pays all claims at once)."""
        m, s = self.model, self.model.policy.subsidies
        target = self.rd_propensity * math.exp(0.1 * self.random.gauss(0.0, 1.0))
        covered = s.rd_subsidy_rate > 0.0 and self.tier >= s.rd_subsidy_min_tier
        if covered:
            target *= 1.0 + m.unc.rd_subsidy_response * s.rd_subsidy_rate * m.government.funding_ratio
        self.rd_intensity = min(max(0.7 * self.rd_intensity + 0.3 * target, 0.0), 0.5)
        self.rd_subsidy = 0.0
        if covered:
            m.claims.append((self, s.rd_subsidy_rate * self.rd_intensity * self.revenue * 0.25))

    def ask_voucher(self) -> None:
        m, s = self.model, self.model.policy.subsidies
        self.voucher = 0.0
        if self.random.random() < m.unc.voucher_uptake and self.tier >= s.digital_voucher_min_tier:
            m.claims.append((self, s.digital_voucher / 4.0))

    def step(self) -> None:
        """The firm's own quarter: capability, IP, R&D institution, high-tech title, revenue, cash."""
        m, u, rnd = self.model, self.model.unc, self.random
        rev = self.revenue
        rd_spend_q = self.rd_intensity * rev * 0.25
        self.cash += self.rd_subsidy + self.voucher
        self.capability = 0.9 * self.capability + self.rd_intensity * (0.1 / 0.03) + u.voucher_capability * self.voucher
        if self.leader >= 0 and m.leader_list[self.leader].open_data:
            self.capability += u.spillover_capability
        lam = u.ip_per_rd_million * rd_spend_q * (0.5 + 0.5 * min(self.capability, 3.0))
        if rnd.random() < 1.0 - math.exp(-lam):
            self.ip += 1
        if rd_spend_q >= 0.25 and rnd.random() < u.rd_institution_rate:
            self.rd_institution = True
        u_hte = rnd.random()
        self.high_tech = self.rd_intensity >= 0.03 and (self.high_tech or (self.ip >= 1 and u_hte < u.high_tech_rate))
        g = self.growth_own + u.capability_growth_effect * (min(self.capability, 4.0) - 1.0)
        if self.leader >= 0 and m.leader_list[self.leader].open_orders:
            g += u.order_growth_effect
        if self.boost_until >= m.quarter:
            g += u.loan_growth_effect
        if self.distressed:
            g -= u.denied_growth_penalty
        self.revenue = rev * math.exp(0.25 * g + 0.5 * u.growth_noise_sd * rnd.gauss(0.0, 1.0))
        flow = (self.margin - self.rd_intensity + u.cash_shock_sd * rnd.gauss(0.0, 1.0)) * rev * 0.25
        self.cash = min(self.cash + flow, CASH_CAP * self.revenue)

    def seek_credit(self) -> None:
        """Short of cash, or (sometimes) wanting to invest: apply; the lender decides on all at once."""
        m, u, lev = self.model, self.model.unc, self.model.policy.loans
        short = self.cash < 0.0
        demand = u.investment_demand_rate * (1.0 + 20.0 * lev.interest_subsidy * (self.tier >= lev.interest_subsidy_min_tier))
        invest = not short and self.random.random() < demand
        if not (short or invest):
            return
        rev = self.revenue
        amount = -self.cash + 0.05 * rev if short else 0.10 * rev
        fin = 2.0 * (0.6 - self.debt_ratio()) + 5.0 * self.margin + 0.3 * math.log(max(rev, 0.1) / 10.0)
        nonfin = 0.3 * min(self.ip, 5) + 0.5 * self.tier + 0.5 * self.high_tech + 0.5 * (self.leader >= 0)
        pledge = lev.ip_pledge_coverage * (self.ip >= 1) * 1.5
        scf = 0.0
        if lev.supply_chain_finance and self.leader >= 0 and m.leader_list[self.leader].open_receivables:
            scf = u.scf_approval_logit
        logit = -0.5 + fin + lev.nonfinancial_weight * nonfin + pledge + scf
        m.applications.append((self, amount, logit, self.random.random(), invest, pledge > 0, scf > 0))

    def owe_interest(self) -> None:
        """Interest this quarter; a covered firm claims the interest subsidy (paid all at once)."""
        m, lev = self.model, self.model.policy.loans
        self.distressed = self.cash < 0.0
        if self.debt <= 0.0:
            return
        self.cash -= m.unc.loan_rate * self.debt / 4.0
        if lev.interest_subsidy > 0.0:
            claim = lev.interest_subsidy * self.debt / 4.0 if self.tier >= lev.interest_subsidy_min_tier else 0.0
            m.claims.append((self, claim))

    def repay(self) -> None:
        if self.debt > 0.0:
            paid = min(0.05 * self.debt, max(self.cash, 0.0))
            self.debt -= paid
            self.cash -= paid

    def face_review(self) -> None:
        """A title at its validity is reviewed (strictness + expert noise): renewed, or dropped to the
        highest lower tier the firm meets (fresh title), or to T0."""
        m = self.model
        if self.tier == T0 or self.title_expiry != m.quarter:
            return
        shift = m.shift()
        tier = self.tier
        if self.meets(tier, shift + m.unc.review_noise_points * self.random.gauss(0.0, 1.0)):
            self.title_granted = m.quarter
            self.title_expiry = m.quarter + 4 * m.policy.review.validity_years
            m.counters[f"renewed_T{tier}"] += 1
            return
        m.counters[f"lost_review_T{tier}"] += 1
        for lower in range(tier - 1, 0, -1):
            if self.meets(lower, shift):
                self.grant(lower)
                m.counters[f"demoted_into_T{lower}"] += 1
                return
        self.tier, self.title_granted, self.title_expiry = T0, -1, -1
        m.counters["demoted_into_T0"] += 1

    def spot_check(self) -> None:
        """有进有出: a holder far below the pass line loses its title."""
        m, r = self.model, self.model.policy.review
        if self.tier == T0:
            return
        score = sum(self.t1_subscores()) if self.tier == T1 else self.t2_score(m.quarter)
        if score - PASS_SCORE - m.shift() < -r.dynamic_exit_margin:
            m.counters[f"revoked_T{self.tier}"] += 1
            m.counters["demoted_into_T0"] += 1
            self.tier, self.title_granted, self.title_expiry = T0, -1, -1

    def draw_application_luck(self) -> None:
        """One draw for applying and one for the experts this quarter, used in every round."""
        self.u_apply, self.u_accept = self.random.random(), self.random.random()

    def apply_for(self, tier: int, from_tiers: tuple, p_apply: float, p_accept: float, automatic: bool) -> None:
        m = self.model
        if self.tier not in from_tiers:
            return
        if (automatic or self.u_apply < p_apply) and self.u_accept < p_accept and self.meets(tier, m.shift()):
            m.counters[f"promoted_T{self.tier}"] += 1
            self.grant(tier)
            m.newly_recognised.append(self)

    def maybe_exit(self) -> None:
        m, u = self.model, self.model.unc
        hazard = (1.0 - (1.0 - u.failure_rate) ** 0.25) * (u.distress_failure_multiplier if self.distressed else 1.0)
        if self.age_years(m.quarter) < 3.0:
            hazard *= 1.5
        u_fail, u_list = self.random.random(), self.random.random()
        cause = None
        if u_fail < hazard:
            cause = "failed"
        elif self.revenue >= m.region.sme_revenue_cap:
            cause = "outgrew"
        elif self.tier >= T2 and self.revenue >= 100.0 and u_list < u.listing_rate / 4.0:
            cause = "listed"
        if cause is not None:
            m.counters[cause] += 1
            m.counters[f"{cause}_T{self.tier}"] += 1
            self.alive = False
            self.remove()

    def close_year(self) -> None:
        self.rev_y3, self.rev_y2, self.rev_y1 = self.rev_y2, self.rev_y1, self.revenue
        self.rd_int_y2, self.rd_int_y1 = self.rd_int_y1, self.rd_intensity


class ReferenceModel(mesa.Model):
    """The same world as ``SMEModel``, one agent per firm."""

    def __init__(self, cfg: SimConfig, seed: np.random.SeedSequence | int = 0) -> None:
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        main, leaders = ss.spawn(2)
        super().__init__(rng=np.random.default_rng(main))
        self.cfg, self.region, self.policy, self.unc = cfg, cfg.region, cfg.policy, cfg.uncertainties
        self.streams = {"leaders": np.random.default_rng(leaders)}  # what ChainLeader draws from
        self.calendar = RecognitionCalendar(cfg.start_year, cfg.region.calendar)
        self.quarter = 0
        self.leader_list: list[ChainLeader] = []
        self.leaders_by_cluster: list[list[int]] = []
        for c, cluster in enumerate(self.region.clusters):
            ids = []
            for name in cluster.leaders:
                ids.append(len(self.leader_list))
                self.leader_list.append(ChainLeader(self, name, c))
            self.leaders_by_cluster.append(ids)
        self.lender = Lender(self)
        self.government = MunicipalGovernment(self, self.policy.subsidies.annual_budget)
        self.miit = MIIT(self)
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.claims: list = []
        self.applications: list = []
        self.newly_recognised: list = []
        self._populate()
        self.rows: list[dict] = []

    @property
    def firms(self) -> mesa.agent.AgentSet:
        return self.agents_by_type[Firm]

    def shift(self) -> float:
        r = self.policy.review
        return r.strictness * r.strictness_points_span

    def _populate(self) -> None:
        """Initial pool aged 0-15 years; the best-scoring firms hold the region's SRDI titles,
        granted at staggered past quarters."""
        firms = [Firm(self, 0, self.random.uniform(0.0, 15.0)) for _ in range(self.region.initial_firms)]
        score = [f.t2_score(0) + 100.0 * f.t2_hard(0) for f in firms]
        order = sorted(range(len(firms)), key=lambda i: -score[i])[: self.region.initial_srdi]
        validity = 4 * self.policy.review.validity_years
        for i in order:
            f = firms[i]
            f.tier, f.title_granted = T2, -self.random.randrange(validity)
            f.title_expiry = f.title_granted + validity
            f.awarded.add(T2)

    def _settle(self, instrument: str, attr: str | None = None) -> list[float]:
        """Pay the claims the firms filed this stage (pro rata when the budget binds)."""
        claims, self.claims = self.claims, []
        if not claims:
            return []
        paid = self.government.pay(instrument, np.array([c for _, c in claims], dtype=float))
        for (firm, _), p in zip(claims, paid):
            if attr is None:
                firm.cash += p
            else:
                setattr(firm, attr, float(p))
        return list(paid)

    def step(self) -> None:
        q = self.quarter
        year, quarter = self.calendar.year_quarter(q)
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.n_alive_start = n_alive_start = len(self.firms)
        self.government.new_quarter(first_of_year=quarter == 1)
        firms = self.firms

        # chain leaders decide; matchmaking
        for ld in self.leader_list:
            ld.decide_openness()
        self.counters["leaders_open_orders"] = sum(ld.open_orders for ld in self.leader_list)
        if self.policy.chain_leaders.matchmaking_link_share > 0.0:
            firms.shuffle_do("seek_leader")

        # R&D and subsidies, then each firm's own quarter
        firms.shuffle_do("choose_rd")
        self._settle("rd_subsidy", "rd_subsidy")
        if self.policy.subsidies.digital_voucher > 0.0:
            firms.shuffle_do("ask_voucher")
            for firm, paid in zip([f for f, _ in self.claims], self._settle("digital_vouchers", "voucher")):
                firm.digital |= paid > 0
        firms.shuffle_do("step")

        # credit: applications, the lender's decision on all of them, debt service
        self.applications = []
        firms.shuffle_do("seek_credit")
        apps, self.applications = self.applications, []
        if apps:
            lev = self.policy.loans
            capacity = lev.credit_supply * self.unc.lending_capacity * n_alive_start
            ok = self.lender.approve(np.array([a[2] for a in apps]), np.array([a[1] for a in apps]),
                                     np.array([a[3] for a in apps]), capacity)
            c = self.counters
            c["loan_applications"] += len(apps)
            for (firm, amount, _, _, invest, pledge, scf), yes in zip(apps, ok):
                if yes:
                    firm.debt += amount
                    firm.cash += amount
                    if invest:
                        firm.boost_until = q + 4
                    c["loans_approved"] += 1
                    c["loan_amount"] += amount
                    c["loans_ip_pledge"] += pledge
                    c["loans_supply_chain"] += scf
        firms.shuffle_do("owe_interest")
        self._settle("interest_subsidy")
        firms.shuffle_do("repay")

        # titles: review at expiry, spot checks, recognition rounds with first-recognition awards
        firms.shuffle_do("face_review")
        if self.policy.review.dynamic_exit and quarter == 4:
            firms.shuffle_do("spot_check")
        self._recognise(q)

        # exits, entry, year end
        firms.shuffle_do("maybe_exit")
        pts = sorted(self.region.entries_per_year.items())
        per_year = float(np.interp(year, [y for y, _ in pts], [v for _, v in pts]))
        k = int(self.rng.poisson(per_year / 4.0))
        for _ in range(k):
            Firm(self, q + 1)
        self.counters["entered"] += k
        if quarter == 4:
            self.firms.do("close_year")
        self._collect(year, quarter)
        self.quarter += 1
        if self.quarter >= self.cfg.n_steps:
            self.running = False

    def _recognise(self, q: int) -> None:
        cal, unc, r = self.calendar, self.unc, self.policy.review
        rounds = []
        if cal.t1_open(q):
            rounds.append((T1, (T0,), unc.apply_t1, 1.0, r.auto_recognition))
        if cal.t2_batch(q):
            below = (T1,) if cal.t1_required_for_t2(q) else (T0, T1)
            rounds.append((T2, below, unc.apply_t2, unc.accept_t2, r.auto_recognition))
        if self.miit.batch_due(q):
            rounds.append((T3, (T2,), unc.apply_t3, self.miit.pass_probability(cal.year_quarter(q)[0], unc.accept_t3), False))
        if not rounds:
            return
        self.firms.do("draw_application_luck")
        for tier, from_tiers, p_apply, p_accept, automatic in rounds:
            self.newly_recognised = []
            self.firms.shuffle_do("apply_for", tier, from_tiers, p_apply, p_accept, automatic)
            new = self.newly_recognised
            self.counters[f"recognised_T{tier}"] += len(new)
            amount = getattr(self.policy.subsidies, f"award_t{tier}")
            first = [tier not in f.awarded for f in new]
            for f in new:
                f.awarded.add(tier)
            if amount > 0.0 and any(first):
                self.claims = [(f, amount if fst else 0.0) for f, fst in zip(new, first)]
                self._settle("awards")

    def _collect(self, year: int, quarter: int) -> None:
        firms = list(self.firms)
        counts = [0, 0, 0, 0]
        for f in firms:
            counts[f.tier] += 1
        row = {"year": year, "quarter": quarter, "n_firms": len(firms)}
        row.update({f"n_T{t}": counts[t] for t in range(4)})
        row.update({f"n_T{t}plus": sum(counts[t:]) for t in range(1, 4)})
        row["n_high_tech"] = sum(f.high_tech for f in firms)
        row["n_linked"] = sum(f.leader >= 0 for f in firms)
        row.update(self.counters)
        row.update({f"spend_{i}": self.government.quarter_spending[i] for i in INSTRUMENTS})
        row["spend_total"] = sum(self.government.quarter_spending.values())
        self.rows.append(row)

    def run(self) -> pd.DataFrame:
        while self.running:
            self.step()
        return pd.DataFrame(self.rows)


def run_reference(cfg: SimConfig, seed: np.random.SeedSequence | int) -> pd.DataFrame:
    """One history of the per-agent model: the same quarterly columns as ``sim.runner.run_one``."""
    return ReferenceModel(cfg, seed).run()


def scaled(cfg: SimConfig, share: float, end_year: int | None = None) -> SimConfig:
    """The same world with the firm pool and its inflow scaled by ``share`` (and optionally a
    shorter horizon): a size the per-agent model can run in seconds."""
    r = cfg.region
    region = r.model_copy(update={
        "initial_firms": max(1, round(r.initial_firms * share)),
        "initial_srdi": round(r.initial_srdi * share),
        "entries_per_year": {y: v * share for y, v in r.entries_per_year.items()},
    })
    update = {"region": region}
    if end_year is not None:
        update.update(end_year=end_year, outcomes=cfg.outcomes.model_copy(update={"report_years": [end_year]}))
    return cfg.model_copy(update=update)


def main(argv: list[str]) -> None:
    """Run the reference once on Chongqing scaled to 2% (2018-2021) and print the tier counts."""
    from sim.commands.run import compose_job

    cfg = scaled(compose_job(argv), 0.02, 2021)
    t = time.perf_counter()
    df = run_reference(cfg, 0)
    print(df[["year", "quarter", "n_firms", "n_T0", "n_T1", "n_T2", "n_T3"]].tail(8).to_string(index=False))
    print(f"{len(df)} quarters in {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
