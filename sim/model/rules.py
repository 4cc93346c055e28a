"""Tier criteria and scoring, after MIIT's 2022 interim measures (《优质中小企业梯度培育管理暂行办法》).

A documented, tractable subset. Every function takes firm slots ``idx`` and returns one value per
firm, so the same code scores one hand-worked firm in a test and a million firms in a run.

Simplifications (named here so a reader can weigh them):
* T1 innovation: only class-I IP is tracked; >= 1 class-I IP scores the full 20 points, none scores 0
  (class-II IP, worth up to 10 in the MIIT table, is not modelled).
* T1 direct pass: a valid high-tech-enterprise title or an R&D institution. S&T awards and equity
  raised are not modelled (the model has no equity financing).
* T2 score: the MIIT table's items are approximated by the model's state (``behaviour.t2_score``,
  configs/behaviour/default.yaml, read by ``Criteria``): specialisation from
  main-business share and years in the niche; refinement from net margin, debt ratio and digital use;
  distinctiveness (set by provinces) from supplying a chain leader and niche share; innovation from
  R&D intensity, class-I IP and an R&D institution. T2 direct-pass routes are not modelled.
* T3: all hard criteria except the small-firm route (revenue < 50M yuan with large equity raised and
  R&D staff), which the model does not allow (MIIT's 2025 notice closes it: revenue >= 50M yuan for
  applicants and at review). MIIT's expert stage ranks nominees by merit (``sim.model.institutions.MIIT``).
  T3 has no score: review strictness and expert noise, in points, move its thresholds by the
  model's slopes (``behaviour.t3_shift``).
* SME size: MIIT's 2011 standard, revenue below 400M yuan or fewer than 1,000 employees, read as one
  ceiling per firm (``firms.sme_ceiling``; employees from an assumed revenue per employee).
* MIIT's T3 revenue band and growth floor change by year (``configs/miit/``): the 2018 notice for
  the batches of 2019-2021, the 2022 measures after; ``miit=criteria_2022`` the 2022 ones throughout.
* A firm holds one title, its highest; losing it at review drops it to the highest lower tier whose
  criteria it still meets (with a fresh validity), else to T0.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.core.schema import SimConfig, Steps
from sim.model.firms import FirmPopulation
from sim.model.units import QUARTERS_PER_YEAR

T0, T1, T2, T3 = 0, 1, 2, 3
N_TIERS = 4
TIER_NAMES = {T0: "ordinary SME", T1: "innovative SME", T2: "SRDI SME", T3: "little giant"}
PASS_SCORE = 60.0
# thresholds that ``may_meet`` reads too (one place for each)
T1_FULL_RD_INTENSITY = 0.05  # R&D intensity that alone gives T1's innovation floor (20 points)
T2_MIN_RD_INTENSITY, T2_MIN_REVENUE = 0.03, 10.0  # SRDI hard criteria: last year's R&D share, revenue (M yuan)
T3_MIN_MAIN_SHARE, T3_MIN_IP = 0.70, 2  # little giants: main-business share, class-I IP


def _steps(x: np.ndarray, edges: list[float], points: list[float]) -> np.ndarray:
    """Points for the band x falls in: edges ascending, points[i] for x >= edges[i] (0 below all)."""
    out = np.zeros(np.shape(x))
    for edge, pts in zip(edges, points):
        out = np.where(x >= edge, pts, out)
    return out


# ------------------------------------------------------------------------------------------- T1
def t1_subscores(f: FirmPopulation, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(innovation /40, growth /30, specialisation /30) of the innovative-SME self-assessment."""
    innovation = np.where(f.ip[idx] >= 1, 20.0, 0.0) + _steps(
        f.rd_int_y1[idx], [0.01, 0.02, 0.03, T1_FULL_RD_INTENSITY], [5, 10, 15, 20]
    )
    growth = _steps(f.growth_last_year(idx), [0.0, 0.05, 0.10, 0.15], [5, 10, 15, 20])
    dr = f.debt_ratio(idx)
    growth = growth + np.where(dr < 0.55, 10.0, np.where(dr <= 0.75, 5.0, 0.0))
    special = np.where(f.strategic[idx], 10.0, 5.0) + _steps(
        f.main_share[idx], [0.50, 0.55, 0.60, 0.70], [5, 10, 15, 20]
    )
    return innovation, growth, special


def t1_score(f: FirmPopulation, idx: np.ndarray) -> np.ndarray:
    return sum(t1_subscores(f, idx))


def t1_eligible(f: FirmPopulation, idx: np.ndarray, shift: float | np.ndarray = 0.0) -> np.ndarray:
    """Score >= 60 (+shift) with innovation >= 20, growth >= 15, specialisation >= 15, or direct pass.

    Innovation reaches 20 only with a class-I IP or R&D of at least 5% of revenue, so only those
    firms are scored (most of a large pool has neither; the result is the same)."""
    out = f.high_tech[idx] | f.rd_institution[idx]
    scored = ~out & ((f.ip[idx] >= 1) | (f.rd_int_y1[idx] >= T1_FULL_RD_INTENSITY))
    if scored.any():
        inn, gro, spe = t1_subscores(f, idx[scored])
        line = PASS_SCORE + (shift[scored] if np.ndim(shift) else shift)
        out[scored] = (inn + gro + spe >= line) & (inn >= 20) & (gro >= 15) & (spe >= 15)
    return out


# ------------------------------------------------------------------------------------- T2, T3
class Criteria:
    """The SRDI (T2) and little-giant (T3) criteria: MIIT's published thresholds, written here, with
    the model's readings of what MIIT leaves to experts (the T2 score table, how points move the T3
    thresholds) from ``behaviour``; a firm is an SME below its own size ceiling (``sme_ceiling``)."""

    def __init__(self, cfg: SimConfig) -> None:
        self.score = cfg.behaviour.t2_score
        self.shift = cfg.behaviour.t3_shift
        self.miit = cfg.miit  # MIIT's rules by year (revenue floor, growth waiver at review)
        self.start_year = cfg.start_year

    def t2_score(self, f: FirmPopulation, idx: np.ndarray, step: int) -> np.ndarray:
        """Specialisation /25 + refinement /25 + distinctiveness /15 + innovation /35."""
        t = self.score
        years = f.age_years(idx, step)
        special = _table(f.main_share[idx], t.main_share) + _table(years, t.years_in_niche)
        dr = f.debt_ratio(idx)
        refine = (
            _table(f.margin[idx], t.margin)
            + np.where(dr < t.debt_good_below, t.debt_good_points, np.where(dr <= t.debt_fair_up_to, t.debt_fair_points, 0.0))
            + np.where(f.digital[idx] | (f.capability[idx] >= t.digital_capability), t.digital_points, 0.0)
        )
        distinct = (np.where(f.leader[idx] >= 0, t.leader_link_points, 0.0)
                    + np.where(f.niche_share(idx) >= t.niche_share_line, t.niche_share_points, 0.0))
        innov = (
            _table(f.rd_int_y1[idx], t.rd_intensity)
            + _table(f.ip[idx], t.class_one_ip)
            + np.where(f.rd_institution[idx], t.rd_institution_points, 0.0)
        )
        return special + refine + distinct + innov

    @staticmethod
    def t2_hard(f: FirmPopulation, idx: np.ndarray, step: int) -> np.ndarray:
        """>= 2 years in its niche; last-year R&D >= 1M yuan and >= 3% of revenue; revenue >= 10M yuan."""
        rd_spend = f.rd_int_y1[idx] * f.rev_y1[idx]
        return (
            (f.age_years(idx, step) >= 2.0)
            & (rd_spend >= 1.0)
            & (f.rd_int_y1[idx] >= T2_MIN_RD_INTENSITY)
            & (f.rev_y1[idx] >= T2_MIN_REVENUE)
        )

    def t2_eligible(self, f: FirmPopulation, idx: np.ndarray, step: int, shift: float | np.ndarray = 0.0) -> np.ndarray:
        """Hard criteria and score >= 60 (+shift); only firms meeting the hard criteria are scored."""
        out = self.t2_hard(f, idx, step)
        if out.any():
            line = PASS_SCORE + (shift[out] if np.ndim(shift) else shift)
            out[out] = self.t2_score(f, idx[out], step) >= line
        return out

    def t3_tests(self, f: FirmPopulation, idx: np.ndarray, step: int, shift: float | np.ndarray = 0.0,
                 review: bool = False) -> dict[str, np.ndarray]:
        """Each little-giant hard criterion in force in the step's year, by name (MIIT's revenue band
        and growth floor; at ``review`` the growth test is waived in the years MIIT's notice says);
        ``shift`` (expert noise, in points) tightens them. Named, so a review's losses can be told apart."""
        year = self.start_year + step // QUARTERS_PER_YEAR
        rev = f.rev_y1[idx]
        rd_need = np.where(rev >= 100.0, 0.03, np.where(rev >= 50.0, 0.06, np.inf)) + self.shift.rd * shift
        growth_ok = (f.growth_two_year_avg(idx) >= self.miit.min_growth_in(year) + self.shift.growth * shift)
        if review and year in self.miit.review_growth_waived:
            growth_ok = np.ones(len(idx), dtype=bool)
        return {
            "years_in_niche": f.age_years(idx, step) >= 3.0,
            "main_business_share": f.main_share[idx] >= T3_MIN_MAIN_SHARE,
            "growth": growth_ok,
            "revenue_floor": rev >= self.miit.min_revenue_in(year),
            "revenue_band_top": rev <= self.miit.max_revenue_in(year),
            "debt_ratio": f.debt_ratio(idx) <= 0.70,
            "niche_share": f.niche_share(idx) >= 0.10 + self.shift.niche * shift,
            "rd_intensity": (f.rd_int_y1[idx] >= rd_need) & (f.rd_int_y2[idx] >= rd_need),
            "rd_institution": f.rd_institution[idx],
            "class_one_ip": f.ip[idx] >= T3_MIN_IP,
            "sme_size": f.is_sme(idx) | (review and not self.miit.review_sme_size_in(year)),
        }

    def t3_eligible(self, f: FirmPopulation, idx: np.ndarray, step: int, shift: float | np.ndarray = 0.0,
                    review: bool = False) -> np.ndarray:
        """All little-giant hard criteria (``t3_tests``) met."""
        return np.logical_and.reduce(list(self.t3_tests(f, idx, step, shift, review).values()))

    def eligible_for(self, tier: int, f: FirmPopulation, idx: np.ndarray, step: int,
                     shift: float | np.ndarray) -> np.ndarray:
        """Whether each firm meets the criteria of ``tier`` (T0 always holds). Every tier is for SMEs:
        a firm that has outgrown SME size meets none."""
        sme = f.is_sme(idx)
        if tier == T1:
            return t1_eligible(f, idx, shift) & sme
        if tier == T2:
            return self.t2_eligible(f, idx, step, shift) & sme
        if tier == T3:
            return self.t3_eligible(f, idx, step, shift)
        return np.ones(len(idx), dtype=bool)


@numba.njit(cache=True)
def may_meet(tier, i, c):
    """Whether firm ``i`` (columns ``c``) meets a part of ``tier``'s criteria that no shift, score or
    date moves: firms that do not cannot meet the criteria, so a round skips them before drawing
    their application (a draw is the firm's own: skipping it changes nothing) and scores the rest.
    T1: a direct pass or the innovation floor (``t1_eligible``); T2: last year's R&D intensity and
    revenue floors (``t2_hard``); T3: an R&D institution, two class-I IP, the main-business share."""
    if c.revenue[i] >= c.sme_ceiling[i]:
        return False
    if tier == T1:
        return c.high_tech[i] | c.rd_institution[i] | (c.ip[i] >= 1) | (c.rd_int_y1[i] >= T1_FULL_RD_INTENSITY)
    if tier == T2:
        return (c.rd_int_y1[i] >= T2_MIN_RD_INTENSITY) & (c.rev_y1[i] >= T2_MIN_REVENUE)
    if tier == T3:
        return c.rd_institution[i] & (c.ip[i] >= T3_MIN_IP) & (c.main_share[i] >= T3_MIN_MAIN_SHARE)
    return True


def _table(x: np.ndarray, steps: Steps) -> np.ndarray:
    return _steps(x, steps.edges, steps.points)


# ------------------------------------------------------------------------------------ calendar
class RecognitionCalendar:
    """Which recognitions fire in a quarter: T1 continuous from its start, T2 in the provinces' yearly
    lists (one quarter, or spread over the year where a region holds many provinces), T3 in MIIT's
    yearly batch."""

    def __init__(self, start_year: int, cal) -> None:
        self.start_year = start_year
        self.cal = cal
        self.spread_lists = cal.t2_list_shares is not None
        shares = np.zeros(QUARTERS_PER_YEAR)
        if self.spread_lists:
            shares[:] = cal.t2_list_shares
        else:  # one list: the firms' own list quarter is unused (``list_quarter``)
            shares[cal.t2_batch_quarter_in(start_year) - 1] = 1.0
        self.list_shares = shares

    def year_quarter(self, step: int) -> tuple[int, int]:
        return self.start_year + step // 4, step % 4 + 1

    def t1_open(self, step: int) -> bool:
        y, q = self.year_quarter(step)
        return (y, q) >= (self.cal.t1_start_year, self.cal.t1_start_quarter)

    def t1_required_for_t2(self, step: int) -> bool:
        """From the year after the T1 tier starts, SRDI applicants must hold the T1 title."""
        return self.year_quarter(step)[0] > self.cal.t1_start_year

    def t2_batch(self, step: int) -> bool:
        """Whether some province grants its SRDI list this quarter."""
        y, q = self.year_quarter(step)
        if self.spread_lists:
            return self.list_shares[q - 1] > 0.0
        return q == self.cal.t2_batch_quarter_in(y)

    def list_quarter(self, step: int) -> int:
        """The firms an SRDI round is open to: those whose province lists in this quarter (1-4), in a
        region of many provinces; 0 (all) where the region has one list."""
        return self.year_quarter(step)[1] if self.spread_lists else 0

    def t2_full_scale(self, step: int) -> bool:
        """Whether provinces run their SRDI lists at full scale (from ``t2_scale_up_year`` and
        ``t2_scale_up_quarter``, if set)."""
        year = self.cal.t2_scale_up_year
        return year is None or self.year_quarter(step) >= (year, self.cal.t2_scale_up_quarter)

    def t2_tightened(self, step: int) -> bool:
        """Whether provinces hold their SRDI lists to the tightened line (from ``t2_tightened_year``
        and ``t2_tightened_quarter``, if set, through ``t2_tightened_until``, if set)."""
        year, until = self.cal.t2_tightened_year, self.cal.t2_tightened_until
        now = self.year_quarter(step)
        return year is not None and now >= (year, self.cal.t2_tightened_quarter) and (until is None or now[0] <= until)

    def t3_batch(self, step: int) -> bool:
        y, q = self.year_quarter(step)
        return y >= self.cal.t3_first_year and q == self.cal.t3_batch_quarter
