"""The model's rules written the way a Mesa user writes them first: one ``mesa.Agent`` per firm.

This is NOT the product path (``sim.model.model.SMEModel`` holds firms as numpy columns). It exists for
two reasons:

* a yardstick: ``experiments/benchmark.py`` runs it and the product side by side on the same
  configuration and reports how much faster the columnar model is;
* an oracle: ``tests/test_reference_oracle.py`` runs both over many seeds and checks that tier
  counts and flows have the same distributions, so a slip in the vectorised code cannot hide.

Every rule is written again here, per firm, in plain Python on scalars — criteria, MIIT's rules of
the year, the levers in force (package from its adoption quarter, fiscal scaling, the status quo's
share of a fiscal lever, the two budget envelopes), exits that keep titles — from the domain brief
(``../shared/MODEL.md``, outside this repository) and the docstrings of ``sim/model/``. Numbers come
from the configuration (``cfg.behaviour``, ``cfg.miit``, ``cfg.uncertainties``, ``cfg.policy`` and
``cfg.status_quo``), never from the product's rule code; MIIT's published criteria thresholds are
written here as in ``sim/model/rules.py``. Shared with the product: configuration
(``sim.core.schema``), the recognition calendar, ``PASS_SCORE``, the counter names and the
institutional agents (``sim.model.institutions``: chain leaders, lender, government, MIIT).

A quarter runs the same stages in the same order as ``SMEModel.step``; within a stage firms act
independently, so they are activated with the AgentSet (``shuffle_do``). Where the product needs a
whole stage's claims before paying (a budget pro-rates them) or all applications before lending (the
lender rations by score), the model collects them from the firms and settles once, as a Mesa user
would with staged activation.

Randomness: each firm draws from the model's ``random.Random`` (``self.random``), so the draws are
not the product's; the two models agree in distribution, not run by run.

Scope: a region without areas (one municipality meeting MIIT's national bar), as the oracle's and
the benchmark's worlds are; the national model's areas are not re-stated.

Run it on its own: ``python experiments/per_agent_reference.py [overrides...]`` (small sizes only).
"""

from __future__ import annotations

import math
import sys
import time

import mesa
import numpy as np
import pandas as pd

from sim.core.outcomes import INSTRUMENTS
from sim.core.schema import Policy, SimConfig
from sim.model.institutions import MIIT, ChainLeader, Lender, MunicipalGovernment
from sim.model.model import COUNTERS
from sim.model.rules import PASS_SCORE, RecognitionCalendar

T0, T1, T2, T3 = 0, 1, 2, 3
IN_POOL, GRADUATED, LISTED_FIRM = "in pool", "outgrew, titled", "listed, titled"
EPS = 1e-9
# fiscal levers: a package's value above the status quo is scaled by policy.fiscal_scale, within these caps
FISCAL = {("subsidies", "rd_subsidy_rate"): 1.0, ("subsidies", "award_t1"): math.inf,
          ("subsidies", "award_t2"): math.inf, ("subsidies", "award_t3"): math.inf,
          ("subsidies", "digital_voucher"): math.inf, ("loans", "interest_subsidy"): 0.1}


def _steps(x: float, edges, points) -> float:
    """Points of the highest band whose lower edge ``x`` reaches (0 below all)."""
    out = 0.0
    for edge, pts in zip(edges, points):
        if x >= edge:
            out = float(pts)
    return out


def _table(x: float, steps) -> float:
    return _steps(x, steps.edges, steps.points)


def _lever(policy: Policy, block: str, name: str):
    return getattr(getattr(policy, block), name)


def fiscally_scaled(package: Policy, status_quo: Policy, s: float) -> Policy:
    """The package with every fiscal lever at status quo + s x (package - status quo), within caps."""
    if s == 1.0:
        return package
    out = package
    for (block, name), cap in FISCAL.items():
        sq = _lever(status_quo, block, name)
        value = min(max(sq + s * (_lever(package, block, name) - sq), 0.0), cap)
        out = out.model_copy(update={block: getattr(out, block).model_copy(update={name: value})})
    return out


class Firm(mesa.Agent):
    """One enterprise: its own state and its own stochastic decisions each quarter."""

    def __init__(self, model: ReferenceModel, step: int, age_years: float | None = None) -> None:
        super().__init__(model)
        r, u, rnd = model.region, model.unc, self.random
        e = model.beh.entrants
        self.alive = True
        self.status = IN_POOL
        self.cluster = rnd.choices(range(len(r.clusters)), weights=[c.weight for c in r.clusters])[0]
        self.strategic = r.clusters[self.cluster].strategic_emerging
        self.born_step = step - int(round((age_years or 0.0) * 4))
        self.growth_own = u.growth_mean + u.growth_firm_sd * rnd.gauss(0.0, 1.0)
        # entrants are drawn about the region's median x entrant_size_ratio; firms already in
        # business when the run starts about the median, then grown with their age (below)
        median = r.revenue_median * (1.0 if age_years is not None else u.entrant_size_ratio)
        self.revenue = median * math.exp(r.revenue_sigma * rnd.gauss(0.0, 1.0))
        back = 1.0 + max(self.growth_own, e.back_growth_floor)
        self.rev_y1, self.rev_y2 = self.revenue, self.revenue / back
        self.rev_y3 = self.rev_y2 / back
        rd = min(max(u.rd_intensity_median * math.exp(u.rd_intensity_sigma * rnd.gauss(0.0, 1.0)), 0.0), e.rd_max)
        self.rd_propensity = self.rd_intensity = self.rd_int_y1 = self.rd_int_y2 = rd
        self.capability = rd / model.beh.capability.typical_rd
        self.main_share = min(max(rnd.betavariate(e.main_share_a, e.main_share_b), e.main_share_min), 1.0)
        self.margin = u.operating_margin + e.margin_sd * rnd.gauss(0.0, 1.0)
        self.cash = self.revenue * max(e.cash_mean + e.cash_sd * rnd.gauss(0.0, 1.0), 0.0)
        self.debt = self.revenue * max(e.debt_mean + e.debt_sd * rnd.gauss(0.0, 1.0), 0.0)
        self.niche_market = u.niche_market_median * math.exp(u.niche_market_sigma * rnd.gauss(0.0, 1.0))
        self.digital = False
        self.leader = -1
        leaders = model.leaders_by_cluster[self.cluster]
        if leaders and rnd.random() < u.link_share:
            self.leader = leaders[int(rnd.random() * len(leaders))]
        self.ip, self.rd_institution, self.high_tech = 0, False, False
        # the size standard: an SME has fewer employees than one cap OR less revenue than the other;
        # its revenue per employee is its own for life
        per_worker = r.revenue_per_worker_median * math.exp(r.revenue_per_worker_sigma * rnd.gauss(0.0, 1.0))
        self.sme_ceiling = max(r.sme_revenue_cap, r.sme_employee_cap * per_worker)
        if age_years is not None:
            self._grow_with_age(age_years)
            self._backdate(age_years)
        self.tier, self.title_granted, self.title_expiry = T0, -1, -1
        self.awarded: set[int] = set()  # tiers whose first-recognition award was paid
        self.lost_step, self.lost_tier = -1, T0  # the last title lost at review or in a spot check
        self.t3_cohort = 0
        self.distressed = False
        self.boost_until = -1
        self.subsidised_debt, self.subsidy_end = 0.0, -1  # 贴息: principal of new policy loans, until
        # what the firm received this quarter, set by the model's settling stages
        self.rd_subsidy = 0.0
        self.voucher = 0.0
        self.interest_subsidy = 0.0

    def _grow_with_age(self, age_years: float) -> None:
        """An older firm of the initial pool is larger: exp(size_age_gradient x age) times its draw
        (revenue, cash and debt alike), while it stays below its share of its SME ceiling."""
        m, u = self.model, self.model.unc
        ceiling = max(self.revenue, m.beh.entrants.initial_size_cap_share * self.sme_ceiling)
        factor = min(self.revenue * math.exp(u.size_age_gradient * age_years), ceiling) / max(self.revenue, EPS)
        self.revenue, self.rev_y1, self.rev_y2, self.rev_y3 = (x * factor for x in
                                                               (self.revenue, self.rev_y1, self.rev_y2, self.rev_y3))
        self.cash, self.debt = self.cash * factor, self.debt * factor

    def _backdate(self, age_years: float) -> None:
        """A firm of the initial pool brings the IP, R&D institution and high-tech title it built
        before the run."""
        m, u, rnd = self.model, self.model.unc, self.random
        e, cap = m.beh.entrants, m.beh.capability
        rd = self.rd_propensity
        years = min(max(age_years, 0.0), e.initial_ip_years)
        self.ip = int(m.rng.poisson(u.ip_per_rd_million * rd * self.revenue * years))
        quarters = 4 * years if rd * self.revenue / 4.0 >= cap.institution_min_rd else 0.0
        self.rd_institution = rnd.random() < 1.0 - (1.0 - u.rd_institution_rate) ** quarters
        self.high_tech = rd >= cap.high_tech_min_rd and self.ip >= 1 and rnd.random() < e.initial_high_tech_share

    # ------------------------------------------------------------------ derived indicators
    def age_years(self, step: int) -> float:
        return (step - self.born_step) / 4.0

    def debt_ratio(self) -> float:
        assets = self.model.beh.balance.assets_per_revenue * self.revenue + max(self.cash, 0.0)
        return self.debt / max(assets, EPS)

    def niche_share(self) -> float:
        return self.revenue / self.niche_market

    def is_sme(self) -> bool:
        return self.revenue < self.sme_ceiling

    # ----------------------------------------------------------------------------- criteria
    def t1_subscores(self) -> tuple[float, float, float]:
        inn = (20.0 if self.ip >= 1 else 0.0) + _steps(self.rd_int_y1, (0.01, 0.02, 0.03, 0.05), (5, 10, 15, 20))
        growth = self.rev_y1 / max(self.rev_y2, EPS) - 1.0
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
        t = self.model.beh.t2_score
        dr = self.debt_ratio()
        special = _table(self.main_share, t.main_share) + _table(self.age_years(step), t.years_in_niche)
        debt_pts = t.debt_good_points if dr < t.debt_good_below else t.debt_fair_points if dr <= t.debt_fair_up_to else 0.0
        digital = t.digital_points if self.digital or self.capability >= t.digital_capability else 0.0
        refine = _table(self.margin, t.margin) + debt_pts + digital
        distinct = ((t.leader_link_points if self.leader >= 0 else 0.0)
                    + (t.niche_share_points if self.niche_share() >= t.niche_share_line else 0.0))
        innov = (_table(self.rd_int_y1, t.rd_intensity) + _table(self.ip, t.class_one_ip)
                 + (t.rd_institution_points if self.rd_institution else 0.0))
        return special + refine + distinct + innov

    def t2_hard(self, step: int) -> bool:
        return (self.age_years(step) >= 2.0 and self.rd_int_y1 * self.rev_y1 >= 1.0
                and self.rd_int_y1 >= 0.03 and self.rev_y1 >= 10.0)

    def t2_ok(self, step: int, shift: float) -> bool:
        return self.t2_hard(step) and self.t2_score(step) >= PASS_SCORE + shift

    def t3_ok(self, step: int, shift: float, review: bool = False) -> bool:
        """MIIT's little-giant criteria of the step's year: its revenue floor, and at review the
        2-year growth test waived in the years MIIT waives it; ``shift`` points tighten them."""
        m = self.model
        year = m.cfg.start_year + step // 4
        rev = self.rev_y1
        ts = m.beh.t3_shift
        need = (0.03 if rev >= 100.0 else 0.06 if rev >= 50.0 else math.inf) + ts.rd * shift
        growth2 = math.sqrt(self.rev_y1 / max(self.rev_y3, EPS)) - 1.0
        growth_ok = (review and year in m.cfg.miit.review_growth_waived) or growth2 >= (
            m.miit_rule(m.cfg.miit.min_growth, year) + ts.growth * shift)
        return (self.age_years(step) >= 3.0 and self.main_share >= 0.70 and growth_ok
                and m.miit_rule(m.cfg.miit.min_revenue, year) <= rev <= (m.miit_rule(m.cfg.miit.max_revenue, year) or math.inf)
                and self.debt_ratio() <= 0.70
                and self.niche_share() >= 0.10 + ts.niche * shift
                and self.rd_int_y1 >= need and self.rd_int_y2 >= need
                and self.rd_institution and self.ip >= 2
                and (self.is_sme() or (review and not m.miit_rule(m.cfg.miit.review_sme_size, year))))

    def meets(self, tier: int, shift: float) -> bool:
        """The criteria of a municipal tier (an SME's only), or MIIT's at recognition."""
        if tier == T1:
            return self.t1_ok(shift) and self.is_sme()
        if tier == T2:
            return self.t2_ok(self.model.quarter, shift) and self.is_sme()
        if tier == T3:
            return self.t3_ok(self.model.quarter, shift)
        return True

    def grant(self, tier: int) -> None:
        m = self.model
        self.tier, self.title_granted = tier, m.quarter
        self.title_expiry = m.quarter + m.validity_quarters(tier)

    def drop_title(self) -> None:
        self.tier, self.title_granted, self.title_expiry = T0, -1, -1

    def lose(self, tier: int) -> None:
        self.lost_step, self.lost_tier = self.model.quarter, tier

    # ------------------------------------------------------------------------ the quarter
    def seek_leader(self) -> None:
        """供需对接: an unlinked firm may be matched to a leader of its cluster."""
        m = self.model
        share = m.lv.chain_leaders.matchmaking_link_share
        if self.leader >= 0 or not self.random.random() < 1.0 - (1.0 - share) ** 0.25:
            return
        leaders = m.leaders_by_cluster[self.cluster]
        if leaders:
            self.leader = leaders[int(self.random.random() * len(leaders))]
            m.counters["matched_to_leader"] += 1
            m.matched += 1

    def choose_rd(self) -> None:
        """R&D moves towards the firm's propensity, raised by the subsidy it expects (the rate times
        the share of last quarter's claims its government paid); a covered firm files its claim."""
        m, s, rb = self.model, self.model.lv.subsidies, self.model.beh.rd
        target = self.rd_propensity * math.exp(rb.target_noise_sd * self.random.gauss(0.0, 1.0))
        covered = s.rd_subsidy_rate > 0.0 and self.tier >= s.rd_subsidy_min_tier
        if covered:
            target *= 1.0 + m.unc.rd_subsidy_response * s.rd_subsidy_rate * m.government.funding_ratio
        self.rd_intensity = min(max((1.0 - rb.adjustment) * self.rd_intensity + rb.adjustment * target, 0.0),
                                rb.max_intensity)
        self.rd_subsidy = 0.0
        if covered:
            m.claims.append((self, s.rd_subsidy_rate * self.rd_intensity * self.revenue * 0.25))

    def ask_voucher(self) -> None:
        m, s = self.model, self.model.lv.subsidies
        if self.tier >= s.digital_voucher_min_tier and self.random.random() < m.unc.voucher_uptake:
            m.claims.append((self, s.digital_voucher / 4.0))

    def step(self) -> None:
        """The firm's own quarter: capability, IP, R&D institution, high-tech title, revenue, cash."""
        m, u, rnd = self.model, self.model.unc, self.random
        cb = m.beh.capability
        rev = self.revenue
        rd_spend_q = self.rd_intensity * rev * 0.25
        cap = (self.capability * (1.0 - cb.decay) + self.rd_intensity * cb.decay / cb.typical_rd
               + u.voucher_capability * self.voucher)
        if self.leader >= 0 and m.leader_open(self.leader, "data"):
            cap += u.spillover_capability
        lam = u.ip_per_rd_million * rd_spend_q * (cb.ip_base + cb.ip_slope * min(cap, cb.ip_cap))
        if rnd.random() < 1.0 - math.exp(-lam):
            self.ip += 1
        if rd_spend_q >= cb.institution_min_rd and rnd.random() < u.rd_institution_rate:
            self.rd_institution = True
        u_hte = rnd.random()
        self.high_tech = self.rd_intensity >= cb.high_tech_min_rd and (
            self.high_tech or (self.ip >= 1 and u_hte < u.high_tech_rate))
        self.capability = cap
        g = self.growth_own + u.capability_growth_effect * (min(cap, cb.growth_cap) - 1.0)
        if self.leader >= 0 and m.leader_open(self.leader, "orders"):
            g += u.order_growth_effect
        if self.boost_until >= m.quarter:
            g += u.loan_growth_effect
        if self.distressed:
            g -= u.denied_growth_penalty
        self.revenue = rev * math.exp(0.25 * g + 0.5 * u.growth_noise_sd * rnd.gauss(0.0, 1.0))
        flow = (self.margin - self.rd_intensity + u.cash_shock_sd * rnd.gauss(0.0, 1.0)) * rev * 0.25
        self.cash = min(self.cash + self.rd_subsidy + self.voucher + flow, m.beh.cash.cap_share * self.revenue)

    def seek_credit(self) -> None:
        """Short of cash, or (sometimes, more often under 贴息) wanting to invest: apply; the lender
        decides on all applications at once."""
        m, u, lev, cr = self.model, self.model.unc, self.model.lv.loans, self.model.beh.credit
        short = self.cash < 0.0
        if not short:
            covered = self.tier >= lev.interest_subsidy_min_tier
            demand = u.investment_demand_rate * (1.0 + cr.interest_subsidy_demand * lev.interest_subsidy * covered)
            if not self.random.random() < demand:
                return
        rev = self.revenue
        amount = -self.cash + cr.gap_buffer * rev if short else cr.investment_share * rev
        fin = (cr.debt_weight * (cr.debt_pivot - self.debt_ratio()) + cr.margin_weight * self.margin
               + cr.size_weight * math.log(max(rev, cr.size_floor) / cr.size_pivot))
        nonfin = (cr.ip_weight * min(self.ip, cr.ip_cap) + cr.tier_weight * self.tier
                  + cr.high_tech_weight * self.high_tech + cr.link_weight * (self.leader >= 0))
        pledge = lev.ip_pledge_coverage * cr.pledge_weight if self.ip >= 1 else 0.0
        scf = 0.0
        if lev.supply_chain_finance and self.leader >= 0 and m.leader_open(self.leader, "receivables"):
            scf = u.scf_approval_logit
        logit = cr.intercept + fin + lev.nonfinancial_weight * nonfin + pledge + scf
        m.applications.append((self, amount, logit, self.random.random(), not short, pledge > 0, scf > 0))

    def borrow(self, amount: float, invest: bool) -> None:
        """An approved loan; a covered firm's new loan is under 贴息 for its first quarters."""
        m, lev = self.model, self.model.lv.loans
        self.debt += amount
        self.cash += amount
        if invest:
            self.boost_until = m.quarter + m.beh.credit.boost_quarters
        if lev.interest_subsidy > 0.0 and self.tier >= lev.interest_subsidy_min_tier:
            # principal whose term has ended is no longer subsidised; a new loan restarts the term
            still_in_term = self.subsidised_debt if m.quarter < self.subsidy_end else 0.0
            self.subsidised_debt = still_in_term + amount
            self.subsidy_end = m.quarter + m.beh.credit.subsidy_quarters

    def owe_interest(self) -> None:
        """Still short of cash: distressed. Interest this quarter; a loan in its 贴息 term claims the
        subsidised points (paid all at once)."""
        m = self.model
        self.distressed = self.cash < 0.0
        self.interest_subsidy = 0.0
        if self.debt <= 0.0:
            return
        self.cash -= m.unc.loan_rate * self.debt / 4.0
        if m.quarter < self.subsidy_end and self.subsidised_debt > 0.0:
            m.claims.append((self, m.lv.loans.interest_subsidy * min(self.subsidised_debt, self.debt) / 4.0))

    def repay(self) -> None:
        if self.debt > 0.0:
            self.cash += self.interest_subsidy
            paid = min(self.model.beh.credit.amortisation * self.debt, max(self.cash, 0.0))
            self.debt -= paid
            self.cash -= paid
            self.subsidised_debt = min(self.subsidised_debt, self.debt)

    def face_review(self) -> None:
        """A title at its validity is reviewed with the experts' noise: a little giant against MIIT's
        rules of the year, a municipal title with the city's strictness (an SRDI title only if its
        holder applies). Renewed, or dropped to the highest lower tier the firm meets (fresh title),
        or to T0."""
        m = self.model
        if self.tier == T0 or self.title_expiry != m.quarter:
            return
        tier = self.tier
        noise = m.unc.review_noise_points * self.random.gauss(0.0, 1.0)
        m.counters[f"review_due_T{tier}"] += 1
        keep = self.t3_ok(m.quarter, noise, review=True) if tier == T3 else self.meets(tier, m.shift(tier) + noise)
        if tier == T2:  # an SRDI holder applies for review with chance apply_review_t2, else its title lapses
            keep = (self.random.random() < m.unc.apply_review_t2) and keep
        if keep:
            self.title_granted = m.quarter
            self.title_expiry = m.quarter + m.validity_quarters(tier)
            m.counters[f"renewed_T{tier}"] += 1
            year = m.cfg.start_year + m.quarter // 4
            if tier == T3 and self.t3_cohort == year - m.cfg.miit.validity_years:  # its batch's first review
                m.counters["renewed_first_T3"] += 1
            return
        m.counters[f"lost_review_T{tier}"] += 1
        self.lose(tier)
        for lower in range(tier - 1, 0, -1):
            if self.meets(lower, m.shift(lower)):
                self.grant(lower)
                m.counters[f"demoted_into_T{lower}"] += 1
                return
        self.drop_title()
        m.counters["demoted_into_T0"] += 1

    def spot_check(self) -> None:
        """有进有出: a municipal title holder that fails its tier's criteria even with the pass line
        lowered by the check's margin loses the title."""
        m = self.model
        if self.tier not in (T1, T2):
            return
        m.checked += 1
        if not self.meets(self.tier, m.shift(self.tier) - m.lv.review.dynamic_exit_margin):
            m.counters[f"revoked_T{self.tier}"] += 1
            m.counters["demoted_into_T0"] += 1
            self.lose(self.tier)
            self.drop_title()

    def draw_application_luck(self) -> None:
        """One draw for applying and one for the experts this quarter, used in every round."""
        self.u_apply, self.u_accept = self.random.random(), self.random.random()

    def applies(self, tier: int, from_tiers: tuple, p_apply: float, p_accept: float) -> bool:
        m = self.model
        return (self.tier in from_tiers and self.u_apply < p_apply and self.u_accept < p_accept
                and not (self.lost_step == m.quarter and self.lost_tier >= tier))

    def apply_for(self, tier: int, from_tiers: tuple, p_apply: float, p_accept: float, extra: float = 0.0) -> None:
        """A municipal round: an applicant meeting the criteria at the city's pass line (plus
        ``extra`` points: SRDI lists before their scale-up) is granted."""
        if self.applies(tier, from_tiers, p_apply, p_accept) and self.meets(tier, self.model.shift(tier) + extra):
            self.model.newly_recognised.append(self)

    def seek_nomination(self) -> None:
        """The province nominates an SRDI firm that applies and meets MIIT's criteria of the year;
        MIIT's experts give it a merit (SRDI score plus noise)."""
        m = self.model
        if self.applies(T3, (T2,), m.unc.apply_t3, 1.0) and self.t3_ok(m.quarter, 0.0):
            merit = self.t2_score(m.quarter) + m.unc.merit_noise_points * self.random.gauss(0.0, 1.0)
            m.nominees.append((self, merit))

    def maybe_exit(self) -> None:
        """Failure (more likely when distressed, young or small); an SME outgrowing SME size or (an
        SRDI firm) listing leaves the pool, a titled firm keeping its title; out of the pool with
        no title, the firm leaves."""
        m, u, ex = self.model, self.model.unc, self.model.beh.exits
        hazard = 1.0 - (1.0 - u.failure_rate) ** 0.25
        if self.distressed:
            hazard *= u.distress_failure_multiplier
        if self.age_years(m.quarter) < ex.young_years:
            hazard *= ex.young_multiplier
        hazard *= (max(self.revenue, ex.size_floor) / ex.size_pivot) ** -ex.size_elasticity
        u_fail, u_list = self.random.random(), self.random.random()
        if u_fail < hazard:
            self._event("failed")
            self._leave()
            return
        if self.status != IN_POOL:
            if self.tier == T0:
                m.counters["left"] += 1
                self._leave()
            return
        event = None
        if not self.is_sme():
            event = "outgrew"
        elif self.tier >= ex.listing_min_tier and self.revenue >= ex.listing_min_revenue and u_list < u.listing_rate / 4.0:
            event = "listed"
        if event is None:
            return
        self._event(event)
        if self.tier > T0:
            self.status = GRADUATED if event == "outgrew" else LISTED_FIRM
        else:
            m.counters["left"] += 1
            self._leave()

    def _event(self, name: str) -> None:
        self.model.counters[name] += 1
        self.model.counters[f"{name}_T{self.tier}"] += 1

    def _leave(self) -> None:
        self.alive = False
        self.remove()

    def close_year(self) -> None:
        self.rev_y3, self.rev_y2, self.rev_y1 = self.rev_y2, self.rev_y1, self.revenue
        self.rd_int_y2, self.rd_int_y1 = self.rd_int_y1, self.rd_intensity


class ReferenceModel(mesa.Model):
    """The same world as ``SMEModel`` (a region without areas), one agent per firm."""

    def __init__(self, cfg: SimConfig, seed: np.random.SeedSequence | int = 0) -> None:
        if cfg.region.areas:
            raise ValueError("the per-agent reference re-states a region without areas (not the national model)")
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        main, leaders = ss.spawn(2)
        super().__init__(rng=np.random.default_rng(main))
        self.cfg, self.region, self.unc, self.beh = cfg, cfg.region, cfg.uncertainties, cfg.behaviour
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
        self.government = MunicipalGovernment(self, 0)
        self.miit = MIIT(self)
        self.package = fiscally_scaled(cfg.policy, cfg.status_quo, cfg.policy.fiscal_scale)
        self.adopt_step = cfg.policy.adopt_step(cfg.start_year)
        self.lv = self._policy_at(0)
        self._set_budgets()
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.claims: list = []
        self.applications: list = []
        self.newly_recognised: list = []
        self.nominees: list = []
        self.matched = self.checked = 0
        self._populate()
        self.n_alive_start = len(self.firms)
        self.rows: list[dict] = []

    @property
    def firms(self) -> mesa.agent.AgentSet:
        return self.agents_by_type[Firm]

    # ------------------------------------------------------------------ levers and budgets
    def _policy_at(self, step: int) -> Policy:
        """The region runs the package from its adoption quarter, the status quo before."""
        return self.package if step >= self.adopt_step else self.cfg.status_quo

    def _set_budgets(self) -> None:
        """Two envelopes: the status quo's (capped by the package's own where it runs) and what the
        package adds above it; x the region's budget and population scale. None: no cap."""
        sq = self.cfg.status_quo.subsidies.annual_budget
        now = self.lv.subsidies.annual_budget
        sq = math.inf if sq is None else sq
        now = math.inf if now is None else now
        base = min(sq, now)
        if self.lv is not self.package:
            extra = 0.0
        elif now == math.inf:
            extra = math.inf
        else:
            extra = max(now - sq, 0.0)
        scale = self.region.budget_scale * self.region.population_scale
        g = self.government
        g.base_budget = None if base == math.inf else base * scale
        g.extra_budget = None if extra == math.inf else extra * scale

    def sq_share(self, block: str, name: str) -> float:
        """The status quo's part of a fiscal lever's value in force (what the base envelope pays)."""
        now = _lever(self.lv, block, name)
        return min(_lever(self.cfg.status_quo, block, name) / now, 1.0) if now > 0.0 else 1.0

    def shift(self, tier: int) -> float:
        """Points added to a T1/T2 pass line: the city's strictness, and for SRDI titles the
        provinces' tightened line once it is in force."""
        r = self.lv.review
        tightened = tier == T2 and self.calendar.t2_tightened(self.quarter)
        return r.strictness * r.strictness_points_span + (self.unc.t2_line_after_tightening if tightened else 0.0)

    def validity_quarters(self, tier: int) -> int:
        """A little giant's title lasts MIIT's validity; a municipal title the city's."""
        years = self.cfg.miit.validity_years if tier == T3 else self.lv.review.validity_years
        return 4 * years

    @staticmethod
    def miit_rule(rule_from: dict, year: int) -> float | None:
        """A rule MIIT changes by year (revenue band, growth floor): the value listed last at or
        before ``year`` (0 before the first; a null cap is no cap)."""
        value = 0.0
        for y in sorted(rule_from):
            if y <= year:
                value = rule_from[y]
        return value

    def leader_open(self, leader: int, channel: str) -> bool:
        openness = getattr(self.lv.chain_leaders, f"{channel}_openness")
        return bool(self.leader_list[leader].draw[channel] < openness)

    def admin(self, per_unit: float, units: int) -> None:
        if units:
            self.government.book("administration", per_unit * units)

    # ------------------------------------------------------------------------ population
    def _populate(self) -> None:
        """Initial pool aged uniformly; the best firms (hard criteria met first, then by SRDI score)
        hold the region's SRDI titles, granted at staggered past quarters."""
        scale = self.region.population_scale
        n = int(round(self.region.initial_firms * scale))
        firms = [Firm(self, 0, self.random.uniform(0.0, self.beh.entrants.initial_max_age)) for _ in range(n)]
        score = [f.t2_score(0) + 100.0 * f.t2_hard(0) for f in firms]
        n_srdi = min(int(round(self.region.initial_srdi * scale)), n)
        order = sorted(range(n), key=lambda i: -score[i])[:n_srdi]
        validity = self.validity_quarters(T2)
        for i in order:
            f = firms[i]
            f.tier, f.title_granted = T2, -self.random.randrange(validity)
            f.title_expiry = f.title_granted + validity
            f.awarded.add(T2)

    def _settle(self, instrument: str, sq_share: float, attr: str | None = None) -> list[tuple[Firm, float]]:
        """Pay the claims the firms filed this stage (pro rata when an envelope binds)."""
        claims, self.claims = self.claims, []
        paid = self.government.pay(instrument, np.array([c for _, c in claims], dtype=float), sq_share)
        out = []
        for (firm, _), p in zip(claims, paid):
            if attr is not None:
                setattr(firm, attr, float(p))
            out.append((firm, float(p)))
        return out

    # ------------------------------------------------------------------------------ step
    def step(self) -> None:
        q = self.quarter
        year, quarter = self.calendar.year_quarter(q)
        lv = self._policy_at(q)
        if lv is not self.lv:
            self.lv = lv
            self._set_budgets()
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.n_alive_start = n_alive_start = len(self.firms)
        self.miit.bar, self.miit.batch_size = np.nan, 0.0
        self.government.new_quarter(quarter)
        firms = self.firms

        self._chain_leaders()
        self._grow()
        self._credit(n_alive_start)
        # titles: review at expiry, spot checks, recognition rounds with first-recognition awards
        firms.shuffle_do("face_review")
        if lv.review.dynamic_exit and quarter == 4:
            self.checked = 0
            firms.shuffle_do("spot_check")
            self.admin(self.beh.admin.spot_check_per_firm, self.checked)
        self._recognise(q)
        # exits, entry, year end
        firms.shuffle_do("maybe_exit")
        pts = sorted(self.region.entries_per_year.items())
        per_year = float(np.interp(year, [y for y, _ in pts], [v for _, v in pts])) * self.region.population_scale
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

    def _chain_leaders(self) -> None:
        """Leaders draw their openness (each open channel costs coordination); matchmaking."""
        for ld in self.leader_list:
            ld.decide_openness()
        open_channels = sum(self.leader_open(i, ch) for i in range(len(self.leader_list)) for ch in ChainLeader.CHANNELS)
        self.counters["leaders_open_orders"] = sum(self.leader_open(i, "orders") for i in range(len(self.leader_list)))
        self.admin(self.beh.admin.openness_per_channel, open_channels)
        if self.lv.chain_leaders.matchmaking_link_share > 0.0:
            self.matched = 0
            self.firms.shuffle_do("seek_leader")
            self.admin(self.beh.admin.matchmaking_per_match, self.matched)

    def _grow(self) -> None:
        """R&D and its subsidy, vouchers, then each firm's own quarter."""
        firms, s = self.firms, self.lv.subsidies
        firms.shuffle_do("choose_rd")
        self._settle("rd_subsidy", self.sq_share("subsidies", "rd_subsidy_rate"), "rd_subsidy")
        firms.do(lambda f: setattr(f, "voucher", 0.0))
        if s.digital_voucher > 0.0:
            firms.shuffle_do("ask_voucher")
            for firm, paid in self._settle("digital_vouchers", self.sq_share("subsidies", "digital_voucher"), "voucher"):
                firm.digital |= paid > 0
        firms.shuffle_do("step")

    def _credit(self, n_alive_start: int) -> None:
        """Applications, the lender's decision on all of them, 贴息 on new loans, debt service."""
        firms, lev = self.firms, self.lv.loans
        self.applications = []
        firms.shuffle_do("seek_credit")
        apps, self.applications = self.applications, []
        if apps:
            capacity = lev.credit_supply * self.unc.lending_capacity * n_alive_start
            ok = self.lender.approve(np.array([a[2] for a in apps]), np.array([a[1] for a in apps]),
                                     np.array([a[3] for a in apps]), capacity)
            c = self.counters
            c["loan_applications"] += len(apps)
            for (firm, amount, _, _, invest, pledge, scf), yes in zip(apps, ok):
                if yes:
                    firm.borrow(amount, invest)
                    c["loans_approved"] += 1
                    c["loan_amount"] += amount
                    c["loans_ip_pledge"] += pledge
                    c["loans_supply_chain"] += scf
        firms.shuffle_do("owe_interest")
        self._settle("interest_subsidy", self.sq_share("loans", "interest_subsidy"), "interest_subsidy")
        firms.shuffle_do("repay")

    def _recognise(self, q: int) -> None:
        cal, unc, auto = self.calendar, self.unc, self.lv.review.auto_recognition
        rounds = []
        if cal.t1_open(q):
            rounds.append((T1, (T0,), 1.0 if auto else unc.apply_t1, 1.0, 0.0))
        if cal.t2_batch(q):
            below = (T1,) if cal.t1_required_for_t2(q) else (T0, T1)
            extra = 0.0 if cal.t2_full_scale(q) else unc.t2_line_before_scale_up
            rounds.append((T2, below, 1.0 if auto else unc.apply_t2, unc.accept_t2, extra))
        national = self.miit.batch_due(q)
        if not rounds and not national:
            return
        self.firms.do("draw_application_luck")
        for tier, from_tiers, p_apply, p_accept, extra in rounds:
            self.newly_recognised = []
            self.firms.shuffle_do("apply_for", tier, from_tiers, p_apply, p_accept, extra)
            self._award(self.newly_recognised, tier)
            if auto:
                self.admin(self.beh.admin.auto_recognition_per_title, len(self.newly_recognised))
        if national:
            self.nominees = []
            self.firms.shuffle_do("seek_nomination")
            self.counters["nominated_T3"] += len(self.nominees)
            merit = np.array([m for _, m in self.nominees], dtype=float)
            year = cal.year_quarter(q)[0]
            admitted = self.miit.select(np.arange(len(self.nominees)), merit, year)
            new = [self.nominees[i][0] for i in admitted]
            for f in new:
                if f.t3_cohort == 0:
                    f.t3_cohort = year
            self._award(new, T3)

    def _award(self, new: list[Firm], tier: int) -> None:
        """Grant ``tier``, count where the firms came from, pay first-recognition awards (part spent
        on R&D, building capability, the rest kept as cash)."""
        for f in new:
            self.counters[f"promoted_T{f.tier}"] += 1
            f.grant(tier)
        self.counters[f"recognised_T{tier}"] += len(new)
        amount = _lever(self.lv, "subsidies", f"award_t{tier}")
        first = [tier not in f.awarded for f in new]
        for f in new:
            f.awarded.add(tier)
        if amount > 0.0 and any(first):
            self.claims = [(f, amount if fst else 0.0) for f, fst in zip(new, first)]
            for f, paid in self._settle("awards", self.sq_share("subsidies", f"award_t{tier}")):
                f.capability += self.unc.voucher_capability * self.unc.award_rd_share * paid
                f.cash += (1.0 - self.unc.award_rd_share) * paid

    def _collect(self, year: int, quarter: int) -> None:
        firms = list(self.firms)
        counts = [0, 0, 0, 0]
        for f in firms:
            counts[f.tier] += 1
        row = {"year": year, "quarter": quarter, "n_firms": sum(f.status == IN_POOL for f in firms)}
        row.update({f"n_T{t}": counts[t] for t in range(4)})
        row.update({f"n_T{t}plus": sum(counts[t:]) for t in range(1, 4)})
        row["n_high_tech"] = sum(f.high_tech for f in firms)
        row["n_linked"] = sum(f.leader >= 0 for f in firms)
        groups = [f"cl{k}" for k in range(len(self.region.clusters))] + ["linked", "unlinked"]
        for name in groups:
            row[f"n_T2plus_{name}"] = row[f"n_T3_{name}"] = 0
        for f in firms:
            if f.tier >= T2:
                for name in (f"cl{f.cluster}", "linked" if f.leader >= 0 else "unlinked"):
                    row[f"n_T2plus_{name}"] += 1
                    row[f"n_T3_{name}"] += f.tier == T3
        row.update(self.counters)
        row["t3_batch"], row["t3_merit_bar"] = self.miit.batch_size, self.miit.bar
        row.update({f"spend_{i}": self.government.quarter_spending[i] for i in INSTRUMENTS})
        row["spend_total"] = sum(self.government.quarter_spending[i] for i in INSTRUMENTS)
        row["envelope_spent"] = self.government.quarter_from_envelopes
        self.rows.append(row)

    def run(self) -> pd.DataFrame:
        while self.running:
            self.step()
        return pd.DataFrame(self.rows)


def run_reference(cfg: SimConfig, seed: np.random.SeedSequence | int) -> pd.DataFrame:
    """One history of the per-agent model: the same quarterly columns as ``sim.experiment.runner.run_one``."""
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
