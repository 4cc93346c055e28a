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

from collections import namedtuple

import numba
import numpy as np

from sim.core.schema import SimConfig, Steps, T2Score
from sim.model.firms import FirmPopulation, debt_ratio, growth_rate, niche_share, years_since
from sim.model.units import QUARTERS_PER_YEAR

T0, T1, T2, T3 = 0, 1, 2, 3
N_TIERS = 4
TIER_NAMES = {T0: "ordinary SME", T1: "innovative SME", T2: "SRDI SME", T3: "little giant"}
PASS_SCORE = 60.0
# thresholds that ``may_meet`` reads too (one place for each)
T1_FULL_RD_INTENSITY = 0.05  # R&D intensity that alone gives T1's innovation floor (20 points)
T2_MIN_RD_INTENSITY, T2_MIN_REVENUE = 0.03, 10.0  # SRDI hard criteria: last year's R&D share, revenue (M yuan)
T2_MIN_YEARS = 2.0  # ... and years in its niche
T3_MIN_MAIN_SHARE, T3_MIN_IP = 0.70, 2  # little giants: main-business share, class-I IP


@numba.njit(cache=True)
def _band(x, edges, points):
    """Points for the band ``x`` falls in: ``edges`` ascending, ``points[k]`` for x >= edges[k] (0
    below every edge), as MIIT's score tables and ``Steps`` read."""
    n = 0  # edges at or below x, counted without branching: bands are hit at random
    for k in range(edges.size):
        n += x >= edges[k]
    return points[n - 1] if n > 0 else 0.0


def _line(shift: float | np.ndarray, n: int) -> np.ndarray:
    """The pass line of each of ``n`` firms: PASS_SCORE + ``shift`` (one shift for all, or one each)."""
    return PASS_SCORE + np.broadcast_to(np.asarray(shift, dtype=np.float64), (n,))


# ------------------------------------------------------------------------------------------- T1
# the innovative-SME self-assessment, as far as the model reads it. Innovation: a class-I IP, and R&D
# intensity by band; growth: revenue growth by band, and the debt ratio; specialisation: a strategic
# emerging industry, and the main-business share by band. Each part has a floor.
T1_IP_POINTS = 20.0
T1_BAND_POINTS = np.array([5.0, 10.0, 15.0, 20.0])
T1_RD_EDGES = np.array([0.01, 0.02, 0.03, T1_FULL_RD_INTENSITY])
T1_GROWTH_EDGES = np.array([0.0, 0.05, 0.10, 0.15])
T1_DEBT_GOOD_BELOW, T1_DEBT_GOOD_POINTS, T1_DEBT_FAIR_UP_TO, T1_DEBT_FAIR_POINTS = 0.55, 10.0, 0.75, 5.0
T1_STRATEGIC_POINTS, T1_OTHER_INDUSTRY_POINTS = 10.0, 5.0
T1_MAIN_SHARE_EDGES = np.array([0.50, 0.55, 0.60, 0.70])
T1_MIN_INNOVATION, T1_MIN_GROWTH, T1_MIN_SPECIALISATION = 20.0, 15.0, 15.0


@numba.njit(cache=True)
def _t1_points(i, c, p):
    """(innovation /40, growth /30, specialisation /30) of firm ``i``."""
    innovation = (T1_IP_POINTS if c.ip[i] >= 1 else 0.0) + _band(c.rd_int_y1[i], T1_RD_EDGES, T1_BAND_POINTS)
    dr = debt_ratio(c.debt[i], c.revenue[i], c.cash[i], p.balance_assets_per_revenue)
    debt = T1_DEBT_GOOD_POINTS if dr < T1_DEBT_GOOD_BELOW else (T1_DEBT_FAIR_POINTS if dr <= T1_DEBT_FAIR_UP_TO else 0.0)
    growth = _band(growth_rate(c.rev_y1[i], c.rev_y2[i]), T1_GROWTH_EDGES, T1_BAND_POINTS) + debt
    industry = T1_STRATEGIC_POINTS if c.strategic[i] else T1_OTHER_INDUSTRY_POINTS
    special = industry + _band(c.main_share[i], T1_MAIN_SHARE_EDGES, T1_BAND_POINTS)
    return innovation, growth, special


@numba.njit(cache=True)
def _t1_subscores(idx, c, p):
    innovation, growth, special = np.empty(idx.size), np.empty(idx.size), np.empty(idx.size)
    for j in range(idx.size):
        innovation[j], growth[j], special[j] = _t1_points(idx[j], c, p)
    return innovation, growth, special


@numba.njit(cache=True)
def _t1_eligible(idx, c, p, line):
    """A direct pass, or each part at its floor and the total at ``line``. The innovation floor
    needs a class-I IP or R&D of at least 5% of revenue: only those firms are scored."""
    out = np.empty(idx.size, dtype=np.bool_)
    for j in range(idx.size):
        i = idx[j]
        if c.high_tech[i] | c.rd_institution[i]:
            out[j] = True
        elif (c.ip[i] >= 1) | (c.rd_int_y1[i] >= T1_FULL_RD_INTENSITY):
            inn, gro, spe = _t1_points(i, c, p)
            out[j] = ((inn + gro + spe >= line[j]) & (inn >= T1_MIN_INNOVATION) & (gro >= T1_MIN_GROWTH)
                      & (spe >= T1_MIN_SPECIALISATION))
        else:
            out[j] = False
    return out


def t1_subscores(f: FirmPopulation, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(innovation /40, growth /30, specialisation /30) of the innovative-SME self-assessment."""
    return _t1_subscores(idx, f.cols, f.p)


def t1_score(f: FirmPopulation, idx: np.ndarray) -> np.ndarray:
    return sum(t1_subscores(f, idx))


def t1_eligible(f: FirmPopulation, idx: np.ndarray, shift: float | np.ndarray = 0.0) -> np.ndarray:
    """Score >= 60 (+shift) with innovation >= 20, growth >= 15, specialisation >= 15, or direct pass."""
    return _t1_eligible(idx, f.cols, f.p, _line(shift, len(idx)))


# ------------------------------------------------------------------------------------- T2, T3
# the T2 score table (``behaviour.t2_score``) as the compiled criteria read it: each band table as
# its edges and points, the rest as configured
T2Table = namedtuple("T2Table", [
    "main_share_edges", "main_share_points", "years_edges", "years_points", "margin_edges", "margin_points",
    "debt_good_below", "debt_good_points", "debt_fair_up_to", "debt_fair_points", "digital_points",
    "digital_capability", "leader_link_points", "niche_share_line", "niche_share_points",
    "rd_edges", "rd_points", "ip_edges", "ip_points", "rd_institution_points"])


def t2_table(t: T2Score) -> T2Table:
    def band(steps: Steps) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(steps.edges, dtype=np.float64), np.asarray(steps.points, dtype=np.float64)

    return T2Table(*band(t.main_share), *band(t.years_in_niche), *band(t.margin), float(t.debt_good_below),
                   float(t.debt_good_points), float(t.debt_fair_up_to), float(t.debt_fair_points),
                   float(t.digital_points), float(t.digital_capability), float(t.leader_link_points),
                   float(t.niche_share_line), float(t.niche_share_points), *band(t.rd_intensity),
                   *band(t.class_one_ip), float(t.rd_institution_points))


@numba.njit(cache=True)
def _t2_points(i, c, p, t, step):
    """Specialisation /25 + refinement /25 + distinctiveness /15 + innovation /35 of firm ``i``."""
    special = (_band(c.main_share[i], t.main_share_edges, t.main_share_points)
               + _band(years_since(c.born_step[i], step), t.years_edges, t.years_points))
    dr = debt_ratio(c.debt[i], c.revenue[i], c.cash[i], p.balance_assets_per_revenue)
    debt = t.debt_good_points if dr < t.debt_good_below else (t.debt_fair_points if dr <= t.debt_fair_up_to else 0.0)
    digital = t.digital_points if (c.digital[i] | (c.capability[i] >= t.digital_capability)) else 0.0
    refine = _band(c.margin[i], t.margin_edges, t.margin_points) + debt + digital
    distinct = ((t.leader_link_points if c.leader[i] >= 0 else 0.0)
                + (t.niche_share_points if niche_share(c.revenue[i], c.niche_market[i]) >= t.niche_share_line else 0.0))
    innov = (_band(c.rd_int_y1[i], t.rd_edges, t.rd_points) + _band(c.ip[i], t.ip_edges, t.ip_points)
             + (t.rd_institution_points if c.rd_institution[i] else 0.0))
    return special + refine + distinct + innov


@numba.njit(cache=True)
def _t2_hard(i, c, step):
    """>= 2 years in its niche; last-year R&D >= 1M yuan and >= 3% of revenue; revenue >= 10M yuan."""
    return ((years_since(c.born_step[i], step) >= T2_MIN_YEARS) & (c.rd_int_y1[i] * c.rev_y1[i] >= 1.0)
            & (c.rd_int_y1[i] >= T2_MIN_RD_INTENSITY) & (c.rev_y1[i] >= T2_MIN_REVENUE))


@numba.njit(cache=True)
def _t2_scores(idx, c, p, t, step):
    out = np.empty(idx.size)
    for j in range(idx.size):
        out[j] = _t2_points(idx[j], c, p, t, step)
    return out


@numba.njit(cache=True)
def _t2_hards(idx, c, step):
    out = np.empty(idx.size, dtype=np.bool_)
    for j in range(idx.size):
        out[j] = _t2_hard(idx[j], c, step)
    return out


@numba.njit(cache=True)
def _t2_eligible(idx, c, p, t, step, line):
    """The hard criteria and a score >= ``line``: only firms meeting the hard criteria are scored."""
    out = np.empty(idx.size, dtype=np.bool_)
    for j in range(idx.size):
        i = idx[j]
        out[j] = _t2_hard(i, c, step) and _t2_points(i, c, p, t, step) >= line[j]
    return out


class Criteria:
    """The SRDI (T2) and little-giant (T3) criteria: MIIT's published thresholds, written here, with
    the model's readings of what MIIT leaves to experts (the T2 score table, how points move the T3
    thresholds) from ``behaviour``; a firm is an SME below its own size ceiling (``sme_ceiling``)."""

    def __init__(self, cfg: SimConfig) -> None:
        self.score = t2_table(cfg.behaviour.t2_score)
        self.shift = cfg.behaviour.t3_shift
        self.miit = cfg.miit  # MIIT's rules by year (revenue floor, growth waiver at review)
        self.start_year = cfg.start_year

    def t2_score(self, f: FirmPopulation, idx: np.ndarray, step: int) -> np.ndarray:
        """Specialisation /25 + refinement /25 + distinctiveness /15 + innovation /35."""
        return _t2_scores(idx, f.cols, f.p, self.score, step)

    def t2_hard(self, f: FirmPopulation, idx: np.ndarray, step: int) -> np.ndarray:
        """>= 2 years in its niche; last-year R&D >= 1M yuan and >= 3% of revenue; revenue >= 10M yuan."""
        return _t2_hards(idx, f.cols, step)

    def t2_eligible(self, f: FirmPopulation, idx: np.ndarray, step: int, shift: float | np.ndarray = 0.0) -> np.ndarray:
        """Hard criteria and score >= 60 (+shift)."""
        return _t2_eligible(idx, f.cols, f.p, self.score, step, _line(shift, len(idx)))

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
