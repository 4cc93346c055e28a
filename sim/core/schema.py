"""Typed schema of a run's configuration, with range checks.

Hydra composes YAML; this module decides whether the result is a world the model can run. It keeps
the three kinds of setting apart, as policy analysts do:

* ``policy``        — levers: what a government chooses (subsidies, loans, chain leaders, review);
* ``uncertainties`` — what nobody knows exactly and calibration fits (growth, R&D response, ...);
* ``outcomes``      — what is measured and reported (report years, interval width).

``region`` holds structural facts of the place (pool size, entry path, clusters, calendar).
Every model is ``extra="forbid"`` so a typo such as ``+policy.typo=1`` is an error, not a silent no-op.
"""

from __future__ import annotations

import copy
import datetime as _dt
import difflib
import math
import re
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from sim.core.errors import InputError

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Tier = Annotated[int, Field(ge=0, le=3)]
Year = Annotated[int, Field(ge=1990, le=2100)]
Quarter = Annotated[int, Field(ge=1, le=4)]


def _no_coercion(value: Any, tp: Any) -> None:
    """Refuse the silent conversions pydantic's lax mode makes: ``seed=true`` must not run seed 1,
    ``credit_supply='1.5'`` (a quoted string) or ``progress=1`` must not pass as a number or a switch,
    ``seed=1e3`` or ``replications=2.0`` (floats) must not pass as whole numbers."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _no_coercion(value, get_args(tp)[0])
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(tp) if a is not type(None)]
        if value is not None and len(inner) == 1:
            _no_coercion(value, inner[0])
        elif value is not None:  # e.g. a quarter or {year: quarter}: check against the member of its shape
            for member in inner:
                if (get_origin(member) is dict) == isinstance(value, dict):
                    _no_coercion(value, member)
    elif origin is list and isinstance(value, list):
        for item in value:
            _no_coercion(item, get_args(tp)[0])
    elif origin is dict and isinstance(value, dict):
        for item in value.values():
            _no_coercion(item, get_args(tp)[1])
    elif tp in (int, float) and isinstance(value, (bool, str)):
        raise ValueError(f"must be a number, not {'true/false' if isinstance(value, bool) else 'text'}")
    elif tp is int and isinstance(value, float):
        raise ValueError("must be a whole number written without a decimal point or exponent (e.g. 1000, not 1e3)")
    elif tp is bool and not isinstance(value, bool):
        raise ValueError("must be true or false")


class Block(BaseModel):
    # allow_inf_nan=False: `inf` or `nan` is never a meaningful lever, parameter or size
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _typed(cls, value: Any, info: Any) -> Any:
        _no_coercion(value, cls.model_fields[info.field_name].annotation)
        return value


# --------------------------------------------------------------------------------------- levers
class Subsidies(Block):
    """Municipal subsidies. Money is in million yuan (M yuan)."""

    rd_subsidy_rate: Share = 0.0  # share of a firm's R&D spend reimbursed (vouchers, super-deduction cash)
    rd_subsidy_min_tier: Tier = 1  # lowest tier eligible for the R&D subsidy
    award_t1: NonNeg = 0.0  # one-off award on first recognition as innovative SME
    award_t2: NonNeg = 0.0  # ... as municipal SRDI SME ("首次获评市级专精特新...发放专项奖励")
    award_t3: NonNeg = 0.0  # ... as national little giant
    digital_voucher: NonNeg = 0.0  # digital/AI voucher per firm per year
    digital_voucher_min_tier: Tier = 1
    # the budget envelope the fiscal instruments draw on (R&D subsidy, vouchers, 贴息, and what a package
    # adds to an award: the status quo's awards are a line of their own, paid in full), M yuan a year
    # for a Chongqing-size region (x region.budget_scale): claims beyond it are paid pro rata, a
    # quarter's allowance being its share of the year plus what earlier quarters left; null = no cap
    annual_budget: NonNeg | None = None


class Loans(Block):
    """Credit: how lenders approve, what policy adds to it."""

    credit_supply: Annotated[float, Field(ge=0.0, le=10.0)] = 1.0  # lending capacity, x status quo
    nonfinancial_weight: Annotated[float, Field(ge=0.0, le=5.0)] = 0.5  # weight on IP, titles, chain link
    ip_pledge_coverage: Share = 0.0  # share of IP-holding firms whose IP a lender accepts as pledge
    interest_subsidy: Annotated[float, Field(ge=0.0, le=0.1)] = 0.0  # 贴息, rate points paid by government
    interest_subsidy_min_tier: Tier = 1
    supply_chain_finance: bool = False  # lenders finance receivables on open chain leaders


class ChainLeaders(Block):
    """链主 openness: each quarter each leader is open with these probabilities."""

    orders_openness: Share = 0.0  # opens orders / application scenarios to linked local SMEs
    data_openness: Share = 0.0  # opens data and technology (capability spillover)
    receivables_openness: Share = 0.0  # confirms receivables for supply-chain finance
    matchmaking_link_share: Share = 0.0  # extra share of unlinked SMEs matched to a leader (供需对接)


class Review(Block):
    """Municipal (T1, T2) title validity and review (复核). MIIT's little-giant titles follow MIIT's
    own rules (block ``miit``): a city cannot move them."""

    validity_years: Annotated[int, Field(ge=1, le=10)] = 3
    strictness: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.0  # shifts T1/T2 pass lines by x points_span
    strictness_points_span: Annotated[float, Field(ge=0.0, le=40.0)] = 15.0
    dynamic_exit: bool = False  # 有进有出: yearly spot checks revoke titles far below criteria
    dynamic_exit_margin: Annotated[float, Field(ge=0.0, le=60.0)] = 10.0  # points below threshold
    auto_recognition: bool = False  # 免申即享: eligible firms are recognised without applying


_QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")


class Policy(Block):
    subsidies: Subsidies = Subsidies()
    loans: Loans = Loans()
    chain_leaders: ChainLeaders = ChainLeaders()
    review: Review = Review()
    # who adopts the package: the run's region alone (the rest of China keeps the status quo), or
    # every region (in the national model only: MIIT's batch is fixed, so gains move titles between regions)
    adopted_by: Literal["region", "nationwide"] = "region"
    # the quarter the package takes effect: before it every run is the status quo (the same draws
    # in every package, so paired differences start at zero); default the first quarter after the
    # last reported figure (Nov 2025)
    adopt_from: str = "2026Q1"
    # the package's fiscal levers above the status quo, times this (an equal-cost comparison sets it,
    # see ``equal_cost``): lever = status quo + fiscal_scale x (package - status quo)
    fiscal_scale: Annotated[float, Field(ge=0.0, le=1000.0)] = 1.0

    @field_validator("adopt_from")
    @classmethod
    def _quarter(cls, v: str) -> str:
        if not _QUARTER_RE.match(v):
            raise ValueError(f"must be a quarter written YYYYQn, e.g. 2026Q1 (got {v!r})")
        return v

    def adopt_step(self, start_year: int) -> int:
        """The model quarter (0 = Q1 of the start year) from which the package applies."""
        y, q = _QUARTER_RE.match(self.adopt_from).groups()
        return max(0, (int(y) - start_year) * 4 + int(q) - 1)


class MIIT(Block):
    """MIIT's national little-giant programme: a national-policy input, neither a city lever nor an
    uncertainty. Batch sizes are MIIT's published lists (batches 1-7, 2019-2025)."""

    batch_sizes: dict[int, Annotated[float, Field(ge=0.0)]]  # titles granted in each year's batch
    batch_after: Annotated[float, Field(ge=0.0)]  # titles per batch after the last listed year (assumed)
    validity_years: Annotated[int, Field(ge=1, le=10)]  # reviewed with the batch this many years later
    review_growth_waived: list[Year]  # years whose review waives the 2-year growth test
    min_revenue: dict[int, Annotated[float, Field(ge=0.0)]]  # from each year on: last-year revenue needed, M yuan
    max_revenue: dict[int, Annotated[float, Field(gt=0.0)] | None]  # from each year on: last-year revenue allowed (null: no cap)
    min_growth: dict[int, Annotated[float, Field(ge=0.0, le=1.0)]]  # from each year on: 2-year average growth needed
    # from each year on: whether a nominee must hold the provincial SRDI title (false: firms in the
    # provinces' SRDI cultivation pools, meeting the SRDI criteria without the title, may apply too)
    srdi_title_required: dict[int, bool] = {2019: True}
    # from each year on: whether MIIT's review removes a little giant that has outgrown SME size
    review_sme_size: dict[int, bool] = {2019: True}
    # single-region runs: the national merit bar of each year, from the calibrated national model
    bar_file: str | None = None  # default configs/calibrated/national.yaml
    fallback_bar: Annotated[float, Field(ge=0.0, le=200.0)] = 80.0  # T2 points, when there is no national model
    # set per replication by the runner (a single-region run): the bar of each batch year
    bar: dict[int, float] | None = None

    def batch(self, year: int) -> float:
        """Titles MIIT grants in ``year`` (0 before the first batch)."""
        if year in self.batch_sizes:
            return self.batch_sizes[year]
        return self.batch_after if self.batch_sizes and year > max(self.batch_sizes) else 0.0

    def min_revenue_in(self, year: int) -> float:
        """Last-year revenue an applicant or reviewed little giant needs in ``year`` (M yuan)."""
        return _in_force(self.min_revenue, year, 0.0)

    def max_revenue_in(self, year: int) -> float:
        """Last-year revenue above which MIIT does not take applicants or keep little giants in ``year``."""
        cap = _in_force(self.max_revenue, year, None)
        return math.inf if cap is None else cap

    def min_growth_in(self, year: int) -> float:
        """Two-year average growth an applicant or reviewed little giant needs in ``year``."""
        return _in_force(self.min_growth, year, 0.0)

    def srdi_title_required_in(self, year: int) -> bool:
        """Whether MIIT's nominees in ``year`` must hold the provincial SRDI title."""
        return bool(_in_force(self.srdi_title_required, year, True))

    def review_sme_size_in(self, year: int) -> bool:
        """Whether MIIT's review in ``year`` removes a little giant that has outgrown SME size."""
        return bool(_in_force(self.review_sme_size, year, True))


def _in_force(rule_from: dict[int, float | None], year: int, before: float | None) -> float | None:
    """The value of a rule that changes in the years it lists: the latest listed at or before ``year``."""
    values = [v for y, v in sorted(rule_from.items()) if y <= year]
    return values[-1] if values else before


# --------------------------------------------------------------------------------- uncertainties
def with_values(base: dict, values: dict[str, float]) -> dict:
    """``base`` (a dumped block) with ``values`` set, a dotted name setting a nested entry
    (``area_weight.beijing``, ``credit.interest_subsidy_demand``)."""
    out = copy.deepcopy(base)
    for name, v in values.items():
        *parents, last = name.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = v
    return out


# the uncertainties given area by area in the national model, and the value of an area not named
AREA_MAPPINGS = {"area_weight": 1.0, "area_push_points": 0.0}


def value_of(dumped: dict, name: str) -> float:
    """A (possibly dotted) parameter's value in a dumped block; a mapping's missing entry reads as
    its neutral value (``AREA_MAPPINGS``), an unset one (None, e.g. ``national_bar_quantile``) as NaN."""
    *parents, last = name.split(".")
    node = dumped
    for part in parents:
        node = node[part]
    v = node.get(last, AREA_MAPPINGS.get(parents[0] if parents else "", 1.0))
    return float("nan") if v is None else float(v)


class Uncertainties(Block):
    """Behavioural and market parameters: plausible priors now, fitted by `sim calibrate` later."""

    growth_mean: Annotated[float, Field(ge=-0.5, le=1.0)] = 0.06  # mean annual revenue growth
    growth_firm_sd: Annotated[float, Field(ge=0.0, le=1.0)] = 0.08  # spread of firms' own growth rates
    growth_noise_sd: Annotated[float, Field(ge=0.0, le=1.0)] = 0.15  # annualised idiosyncratic shocks
    capability_growth_effect: Annotated[float, Field(ge=0.0, le=1.0)] = 0.04  # growth per unit capability
    rd_intensity_median: Annotated[float, Field(gt=0.0, le=0.5)] = 0.025
    rd_intensity_sigma: Annotated[float, Field(ge=0.0, le=3.0)] = 0.7
    rd_subsidy_response: Annotated[float, Field(ge=0.0, le=10.0)] = 1.5  # R&D intensity x (1 + r*rate)
    ip_per_rd_million: Annotated[float, Field(ge=0.0, le=5.0)] = 0.08  # class-I IPs per M yuan of R&D
    rd_institution_rate: Share = 0.04  # quarterly chance an R&D-active firm sets up an R&D institution
    high_tech_rate: Share = 0.06  # quarterly chance an eligible firm gets the high-tech title
    operating_margin: Annotated[float, Field(ge=-0.5, le=0.5)] = 0.10
    cash_shock_sd: Annotated[float, Field(ge=0.0, le=2.0)] = 0.10  # quarterly cash shock, x revenue/4
    failure_rate: Share = 0.05  # annual base failure rate
    distress_failure_multiplier: Annotated[float, Field(ge=1.0, le=50.0)] = 6.0
    niche_market_median: Annotated[float, Field(gt=0.0)] = 1200.0  # M yuan, national niche market
    niche_market_sigma: Annotated[float, Field(ge=0.0, le=3.0)] = 0.9
    # firms in business when the run starts are larger the older they are: log revenue per year of age
    # (0: the initial pool is drawn like entrants); entrants' revenue median relative to the region's
    size_age_gradient: Annotated[float, Field(ge=0.0, le=0.2)] = 0.0
    entrant_size_ratio: Annotated[float, Field(gt=0.0, le=5.0)] = 1.0
    apply_t1: Share = 0.25  # quarterly chance an eligible firm applies for T1
    apply_t2: Share = 0.45  # chance an eligible T1 firm applies in a yearly T2 batch
    # points added to the SRDI pass line before provinces scaled up their lists (calendar.
    # t2_scale_up_year): the early lists were small and kept for the strongest firms
    t2_line_before_scale_up: Annotated[float, Field(ge=0.0, le=40.0)] = 0.0
    # points added to the SRDI pass line, at recognition and at review, once provinces tightened
    # their lists (calendar.t2_tightened_year): the criteria in force from then on
    t2_line_after_tightening: Annotated[float, Field(ge=0.0, le=40.0)] = 0.0
    apply_t3: Share = 0.45  # chance an eligible SRDI firm is nominated for MIIT's national batch
    accept_t2: Share = 0.75  # chance an eligible applicant passes municipal expert review
    review_noise_points: Annotated[float, Field(ge=0.0, le=30.0)] = 6.0  # expert noise at review (points)
    # chance an SRDI holder applies for review when its title expires (复核 is applied for; a
    # title not put up for review lapses when the year's list is published)
    apply_review_t2: Share = 1.0
    merit_noise_points: Annotated[float, Field(ge=0.0, le=30.0)] = 6.0  # MIIT experts' noise on a nominee's merit
    # single-region runs: which of the calibrated national model's bar trajectories the rest of China
    # sets, as a quantile of them ranked from lowest to highest bar in the years of MIIT's published
    # batches (``NationalBar.index_at``); unset: each replication draws one. The Chongqing fit fits
    # it, so a particle keeps the bar it was fitted against (a low bar and a weak pool, or a high bar
    # and a strong one, never one with the other)
    national_bar_quantile: Share | None = None
    # single-region runs: points the rest of China's bar stands above the national fit's trajectory
    # in the batch years from ``national_bar_shift_from`` on. The national model holds the rest of
    # China as one area with one nomination rate, so it cannot show one province's nominees surging
    # (Jiangsu's 795 of MIIT's 5th batch, 2023, against 710 in its first four): a surge raises the
    # bar everyone else meets. 0: the national fit's bar as it stands; fitted by the Chongqing fit
    national_bar_shift_points: Annotated[float, Field(ge=-20.0, le=20.0)] = 0.0
    national_bar_shift_from: Annotated[int, Field(ge=2019, le=2100)] = 2023
    # national model: an area's share of the pool is its GDP share x this weight (the rest of China
    # takes what is left); a weight above 1 means more tech-based SMEs per unit of GDP
    area_weight: dict[str, Annotated[float, Field(gt=0.0, le=10.0)]] = {}
    # national model: points added to an area's nominees' merit in MIIT's batches from
    # ``area_push_from`` on, against the rest of China's (0). After MIIT's 2022 standard the
    # provinces pushed their nominees unequally (Shenzhen took 8-10% of the 5th-7th batches against 6%
    # of the 2023 stock; Jiangsu 795 of the 5th against 710 in its first four), so an area's share
    # of the batch can move: the national model's side of the shift a single region fits
    area_push_points: dict[str, Annotated[float, Field(ge=-20.0, le=20.0)]] = {}
    # ... from MIIT's 6th batch (2024): the cities' Aug 2023 counts, which fit the areas' weights,
    # already hold the 5th (announced July 2023), so a weight carries an area's share up to it and a
    # push only how the share moved after. Pushing the 5th too made a push and a weight trade off
    # (Shenzhen's push raised its fitted Aug 2023 count by 17%; NOTES, "2026-12-06, evening again")
    area_push_from: Annotated[int, Field(ge=2019, le=2100)] = 2024
    link_share: Share = 0.25  # share of firms supplying a local chain leader
    order_growth_effect: Annotated[float, Field(ge=0.0, le=1.0)] = 0.08  # extra growth, open orders
    spillover_capability: Annotated[float, Field(ge=0.0, le=1.0)] = 0.03  # per quarter, open data
    scf_approval_logit: Annotated[float, Field(ge=0.0, le=10.0)] = 1.5  # supply-chain finance boost
    investment_demand_rate: Share = 0.04  # quarterly chance a healthy firm seeks a growth loan
    lending_capacity: NonNeg = 0.25  # M yuan of new lending per firm in the pool per quarter
    loan_rate: Annotated[float, Field(ge=0.0, le=0.3)] = 0.045
    loan_growth_effect: Annotated[float, Field(ge=0.0, le=1.0)] = 0.04  # growth after a growth loan
    denied_growth_penalty: Annotated[float, Field(ge=0.0, le=1.0)] = 0.10
    voucher_capability: Annotated[float, Field(ge=0.0, le=10.0)] = 0.5  # capability per M yuan
    voucher_uptake: Share = 0.3
    award_rd_share: Share = 0.5  # share of a first-recognition award spent on R&D (capability); the rest is cash
    listing_rate: Share = 0.03  # annual chance an eligible SRDI firm lists


# ------------------------------------------------------------------------------------- behaviour
# How firms and lenders behave, where neither MIIT's published rules nor the calibration set it. The
# values and where each comes from are in configs/behaviour/default.yaml (most are "assumed");
# every per-firm rule reads them from here, never from a literal in code.
Pos = Annotated[float, Field(gt=0.0)]
Frac = Annotated[float, Field(gt=0.0, le=1.0)]


class Steps(Block):
    """Points by band: ``points[i]`` for a value at or above ``edges[i]`` (0 below every edge)."""

    edges: list[float]
    points: list[NonNeg]

    @model_validator(mode="after")
    def _bands(self) -> Steps:
        if len(self.edges) != len(self.points) or not self.edges:
            raise ValueError(f"points: must have one entry per edge ({len(self.edges)}), got {len(self.points)}")
        if any(b <= a for a, b in zip(self.edges, self.edges[1:])):
            raise ValueError(f"edges: must be strictly ascending, got {self.edges}")
        return self


class RDBehaviour(Block):
    target_noise_sd: NonNeg  # quarterly log-noise of a firm's R&D target
    adjustment: Frac  # share of the gap to its R&D target a firm closes in a quarter
    max_intensity: Frac  # R&D spend never exceeds this share of revenue


class CapabilityBehaviour(Block):
    decay: Frac  # share of capability that lapses each quarter, rebuilt by R&D (steady state rd/typical_rd)
    typical_rd: Pos  # R&D intensity of a firm of capability 1
    ip_base: NonNeg  # class-I IP rate multiplier at capability 0 ...
    ip_slope: NonNeg  # ... rising by this per unit of capability ...
    ip_cap: Pos  # ... up to this capability
    growth_cap: Pos  # capability above this adds no growth
    institution_min_rd: NonNeg  # M yuan of R&D a quarter before a firm can set up an R&D institution
    high_tech_min_rd: Share  # R&D intensity a high-tech-enterprise title needs


class CashBehaviour(Block):
    cap_share: Pos  # cash above this share of annual revenue is paid out or invested


class CreditBehaviour(Block):
    """Who borrows and the lender's scorecard: logit = intercept + financial + weight x non-financial."""

    interest_subsidy_demand: NonNeg  # growth-loan demand rises by this x the subsidised rate points
    intercept: float
    debt_weight: NonNeg  # x (debt_pivot - debt ratio)
    debt_pivot: Share
    margin_weight: NonNeg  # x operating margin
    size_weight: NonNeg  # x log(revenue / size_pivot), revenue floored at size_floor
    size_floor: Pos
    size_pivot: Pos
    ip_weight: NonNeg  # per class-I IP, up to ip_cap
    ip_cap: Annotated[int, Field(ge=0)]
    tier_weight: NonNeg  # per tier held
    high_tech_weight: NonNeg
    link_weight: NonNeg  # supplies a chain leader
    pledge_weight: NonNeg  # x IP-pledge coverage, for IP holders
    gap_buffer: NonNeg  # a firm short of cash asks for its gap plus this share of revenue
    investment_share: Pos  # a growth loan is this share of revenue
    boost_quarters: Annotated[int, Field(ge=0, le=40)]  # quarters a growth loan lifts growth
    subsidy_quarters: Annotated[int, Field(ge=1, le=40)]  # 贴息 is paid on a new loan for this many quarters
    amortisation: Frac  # share of debt repaid each quarter, as cash allows


class ExitBehaviour(Block):
    young_years: NonNeg  # firms younger than this fail more often ...
    young_multiplier: Annotated[float, Field(ge=1.0)]  # ... by this factor
    size_elasticity: Annotated[float, Field(ge=0.0, le=2.0)]  # hazard x (revenue / size_pivot) ^ -elasticity
    size_pivot: Pos  # M yuan: a firm of this revenue has the base hazard
    size_floor: Pos  # M yuan: smaller firms are read as this small
    listing_min_tier: Tier  # lowest title a listing firm holds
    listing_min_revenue: NonNeg  # M yuan


class EntrantBehaviour(Block):
    """Attributes of new firms and of the initial pool (besides the region's and the uncertainties')."""

    rd_max: Frac  # an entrant's R&D propensity is capped at this intensity
    margin_sd: NonNeg  # spread of firms' own operating margins
    cash_mean: NonNeg  # initial cash, share of revenue (normal, floored at 0) ...
    cash_sd: NonNeg
    debt_mean: NonNeg  # initial debt, share of revenue (normal, floored at 0)
    debt_sd: NonNeg
    main_share_a: Annotated[int, Field(ge=1, le=7)]  # main-business share ~ Beta(a, b), integer shapes
    main_share_b: Annotated[int, Field(ge=1, le=7)]  # (a + b <= 8 draws per firm)
    main_share_min: Share
    back_growth_floor: Annotated[float, Field(gt=-1.0, le=0.0)]  # growth floor when backdating revenue
    initial_max_age: Pos  # initial pool: ages uniform on 0 to this many years
    initial_ip_years: NonNeg  # IP accumulated over at most this many years before the run
    initial_high_tech_share: Share  # share of eligible initial firms holding the high-tech title
    initial_size_cap_share: Frac  # an initial firm's age grows its revenue up to this share of the SME ceiling

    @model_validator(mode="after")
    def _draws(self) -> EntrantBehaviour:
        if self.main_share_a + self.main_share_b > 8:
            raise ValueError(f"main_share_b: main_share_a + main_share_b must be at most 8 (the draws a firm has), "
                             f"got {self.main_share_a} + {self.main_share_b}")
        return self


class AdminCosts(Block):
    """What running a non-fiscal lever costs the government, M yuan (no lever is free by omission)."""

    matchmaking_per_match: NonNeg  # per SME matched to a chain leader (供需对接)
    auto_recognition_per_title: NonNeg  # per title granted without application (免申即享: data screening)
    spot_check_per_firm: NonNeg  # per titled firm checked (有进有出)
    openness_per_channel: NonNeg  # per chain leader, channel and area open in a quarter (platform, coordination)


class BalanceBehaviour(Block):
    assets_per_revenue: Pos  # total assets read as this x annual revenue plus cash (for debt ratios)


class T2Score(Block):
    """The model's reading of the SRDI score (MIIT's items are approximated by firm state, 100 points)."""

    main_share: Steps  # specialisation
    years_in_niche: Steps
    margin: Steps  # refinement
    debt_good_below: Share
    debt_good_points: NonNeg
    debt_fair_up_to: Share
    debt_fair_points: NonNeg
    digital_points: NonNeg  # digital voucher used, or capability at least digital_capability
    digital_capability: NonNeg
    leader_link_points: NonNeg  # distinctiveness: supplies a chain leader ...
    niche_share_line: Share  # ... and holds this share of its national niche
    niche_share_points: NonNeg
    rd_intensity: Steps  # innovation
    class_one_ip: Steps
    rd_institution_points: NonNeg


class T3Shift(Block):
    """How far one point (of strictness or expert noise) moves the little-giant thresholds, which
    have no score of their own."""

    rd: NonNeg  # R&D intensity per point
    growth: NonNeg  # 2-year average growth per point
    niche: NonNeg  # niche share per point


class Behaviour(Block):
    rd: RDBehaviour
    capability: CapabilityBehaviour
    cash: CashBehaviour
    credit: CreditBehaviour
    exits: ExitBehaviour
    entrants: EntrantBehaviour
    balance: BalanceBehaviour
    admin: AdminCosts
    t2_score: T2Score
    t3_shift: T3Shift


# ---------------------------------------------------------------------------------------- region
class Cluster(Block):
    name: str
    weight: Annotated[float, Field(gt=0.0)]
    strategic_emerging: bool
    leaders: list[str]


class Calendar(Block):
    """When titles are granted (MIIT 2022 measures and batch history)."""

    t1_start_year: Year = 2022  # innovative-SME tier formalised Aug 2022; continuous thereafter
    t1_start_quarter: Quarter = 3
    # the quarter of the region's yearly SRDI list, or {year: quarter}: from each listed year on
    # (a list that moved, e.g. Chongqing's from December to May-June in 2022: configs/region/)
    t2_batch_quarter: Quarter | dict[Year, Quarter] = 4
    # a region of many provinces: the share of its firms whose province grants its SRDI list in
    # Q1, Q2, Q3, Q4 (each firm's own fixed draw; a title then falls due for review in that quarter
    # too); null: every list in t2_batch_quarter
    t2_list_shares: list[Annotated[float, Field(ge=0.0, le=1.0)]] | None = None
    # from this year and quarter provinces run their SRDI lists at full scale (null: always); before
    # it, the SRDI pass line is uncertainties.t2_line_before_scale_up points higher
    t2_scale_up_year: Year | None = None
    t2_scale_up_quarter: Quarter = 1
    # from this year and quarter provinces hold their SRDI lists (recognition and review) to a
    # line uncertainties.t2_line_after_tightening points higher (null: never) ...
    t2_tightened_year: Year | None = None
    t2_tightened_quarter: Quarter = 1
    # ... through the end of this year, then return to the line before (null: to the end of the run)
    t2_tightened_until: Year | None = None
    t3_first_year: Year = 2019  # 1st national batch of little giants
    t3_batch_quarter: Quarter = 3

    @model_validator(mode="after")
    def _tightened_span(self) -> Calendar:
        start, until = self.t2_tightened_year, self.t2_tightened_until
        if until is not None and start is None:
            raise ValueError(f"t2_tightened_until: needs t2_tightened_year, the year the line is raised (got {until})")
        if until is not None and until < start:
            raise ValueError(f"t2_tightened_until: must be a year from t2_tightened_year ({start}) on (got {until})")
        return self

    @field_validator("t2_list_shares")
    @classmethod
    def _four_shares(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and (len(v) != 4 or abs(sum(v) - 1.0) > 1e-9):
            raise ValueError("must be four shares (Q1-Q4) summing to 1")
        return v

    @field_validator("t2_batch_quarter", mode="before")
    @classmethod
    def _quarter_or_by_year(cls, v: Any) -> Any:
        quarters = list(v.values()) if isinstance(v, dict) else [v]
        if not quarters or any(isinstance(x, bool) or not isinstance(x, int) or not 1 <= x <= 4 for x in quarters):
            raise ValueError("must be a quarter 1-4, or {year: quarter} with each quarter 1-4")
        return v

    def t2_batch_quarter_in(self, year: int) -> int:
        """The quarter of the region's SRDI list in ``year`` (before the first listed year: its first)."""
        by_year = self.t2_batch_quarter
        if isinstance(by_year, int):
            return by_year
        return int(_in_force(by_year, year, by_year[min(by_year)]))


REST = "rest"  # the national model's area for the rest of China: its pool share is what is left


class Area(Block):
    """A region inside the national model (a city or province, or the rest of China)."""

    name: str  # as in reported_figures.csv
    label: str
    gdp_share: Annotated[float, Field(gt=0.0, lt=1.0)]  # share of national GDP; with uncertainties.area_weight, of the pool


class Region(Block):
    name: str
    label: str
    initial_firms: Annotated[int, Field(ge=1)]  # T0 pool at the start year
    initial_srdi: Annotated[int, Field(ge=0)]  # T2 titles held at the start year
    entries_per_year: dict[Year, NonNeg]  # new firms per year; linear in between, flat outside
    revenue_median: Annotated[float, Field(gt=0.0)] = 8.0  # M yuan, entering and initial firms
    revenue_sigma: Annotated[float, Field(ge=0.0, le=4.0)] = 1.3
    # MIIT's 2011 size standard for industry (工信部联企业〔2011〕300号): a firm with fewer than 1,000
    # employees OR revenue below 400 M yuan is an SME; ``sme_employee_cap`` 0 reads revenue alone (the
    # region files set 1,000: configs/calibrated/NOTES.md)
    sme_revenue_cap: Annotated[float, Field(gt=0.0, le=1e5)] = 400.0  # M yuan
    sme_employee_cap: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    # a firm's revenue per employee (M yuan), lognormal, its own draw for life (assumed; see
    # configs/calibrated/NOTES.md): with the employee test, its SME ceiling is
    # max(sme_revenue_cap, sme_employee_cap x revenue per employee)
    revenue_per_worker_median: Annotated[float, Field(gt=0.0, le=100.0)] = 1.0
    revenue_per_worker_sigma: Annotated[float, Field(ge=0.0, le=3.0)] = 0.5
    clusters: list[Cluster]
    calendar: Calendar = Calendar()
    # the national model holds areas; their nominees compete for MIIT's batch. A region without
    # areas is one area and meets MIIT's national merit bar (``miit``)
    areas: list[Area] = []
    focus: str | None = None  # the area whose adoption ``policy.adopted_by=region`` means (national model)
    budget_scale: Annotated[float, Field(gt=0.0)] = 1.0  # its budgets are Chongqing's x this (pool size)
    # simulate this fraction of the region's firms (pool, SRDI holders, entry and MIIT's batch alike);
    # counts are as simulated: the calibration uses it to fit a large region fast and scales back up
    population_scale: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0

    @property
    def area_names(self) -> list[str]:
        return [a.name for a in self.areas] or [self.name]

    @property
    def focus_area(self) -> int:
        return self.area_names.index(self.focus) if self.focus else 0

    @model_validator(mode="after")
    def _areas(self) -> Region:
        if self.areas:
            total = sum(a.gdp_share for a in self.areas)
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"areas: gdp_share must sum to 1 over the areas, got {total:g}")
            if len(set(self.area_names)) != len(self.areas):
                raise ValueError("areas: names must be unique")
            if REST not in self.area_names:
                raise ValueError(f"areas: one area must be named {REST!r} (the rest of China)")
        if self.focus is not None and self.focus not in self.area_names:
            raise ValueError(f"focus: must be one of {', '.join(self.area_names)}, got {self.focus!r}")
        return self

    @model_validator(mode="after")
    def _clusters(self) -> Region:
        if not self.clusters:
            raise ValueError("clusters: at least one cluster is required")
        if not self.entries_per_year:
            raise ValueError("entries_per_year: at least one year is required")
        if self.initial_srdi > self.initial_firms:
            raise ValueError(f"initial_srdi: must be at most initial_firms ({self.initial_firms}), "
                             f"got {self.initial_srdi}")
        if self.revenue_median >= self.sme_revenue_cap:
            raise ValueError(f"revenue_median: must be below sme_revenue_cap ({self.sme_revenue_cap:g} M yuan; "
                             f"above it new firms are not SMEs), got {self.revenue_median:g}")
        return self


# ----------------------------------------------------------------------------------- calibration
class Prior(Block):
    """Prior of one fitted uncertainty: uniform on [low, high], or uniform on log10 when ``scale`` is
    log (for rates and sizes whose plausible range spans several-fold)."""

    low: float
    high: float
    scale: Literal["linear", "log"] = "linear"

    def at(self, u: float) -> float:
        """The value at quantile ``u`` of the prior (0.5: its median)."""
        if self.scale == "log":
            return float(10 ** (np.log10(self.low) + u * (np.log10(self.high) - np.log10(self.low))))
        return float(self.low + u * (self.high - self.low))

    @model_validator(mode="after")
    def _range(self) -> Prior:
        if not self.low < self.high:
            raise ValueError(f"low: must be below high ({self.high:g}), got {self.low:g}")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"low: must be > 0 for a log-scale prior, got {self.low:g}")
        return self


class Calibration(Block):
    """Which fitted parameters a run uses (``use``, ``file``) and how ``python -m sim calibrate``
    fits them (the rest). Kept in one block so a run's config.yaml records both."""

    # ``auto``: the posterior when a calibrated file for the region exists, else the region's values;
    # ``posterior``: replication k uses posterior draw k (same draw in every scenario);
    # ``median``: every replication uses the posterior's marginal medians; ``none``: region values.
    use: Literal["auto", "posterior", "median", "none"] = "auto"
    file: str | None = None  # calibrated file; default configs/calibrated/<region>.yaml
    priors: dict[str, Prior] = {}  # fitted uncertainties; every other one stays at the region's value
    weights: dict[str, Annotated[float, Field(ge=0.0)]] = {}  # figure id in reported_figures -> weight (0 drops it)
    area_figures: list[str] = []  # national model: ids of its areas' figures it fits too
    cutoff: _dt.date | None = None  # backtest: fit only figures dated up to this day
    particles: Annotated[int, Field(ge=10, le=100000)] = 100  # ABC-SMC population size
    generations: Annotated[int, Field(ge=1, le=100)] = 12  # at most this many ABC-SMC generations
    min_epsilon: Annotated[float, Field(ge=0.0)] = 0.0  # stop once the distance threshold is this low
    max_minutes: Annotated[float, Field(gt=0.0)] | None = 16.0  # no new generation past this wall time
    processes: Annotated[int, Field(ge=1, le=256)] = 2  # pyabc multicore sampler processes
    # width of pyabc's Gaussian proposal kernel, x its Silverman covariance: wider keeps the importance
    # weights even with a dozen parameters (experiments/calibration_kernel_ess.py), at lower acceptance
    kernel_scaling: Annotated[float, Field(gt=0.0, le=100.0)] = 4.0
    # pyabc's proposal: ``gaussian`` (one covariance for every particle) or ``local`` (each particle's
    # own, from its nearest quarter of the population: pyabc's LocalTransition), for posteriors whose
    # parameters trade off along curved ridges (an area's weight against its push)
    transition: Literal["gaussian", "local"] = "gaussian"
    # the posterior is the last generation whose importance weights are worth at least this many
    # particles (effective sample size): one that collapsed onto a handful (a national fit's last
    # generation fell from 37 to 3) is reported, not used. 10 (a tenth of 100 particles) is assumed
    min_ess: Annotated[float, Field(ge=1.0)] = 10.0
    scale: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0  # fit on a population this fraction of the region
    # widen each count's tolerance band by the sampling noise ``scale`` adds (sim.calibration.distance)
    band_scale_noise: bool = False
    check_replications: Annotated[int, Field(ge=2, le=10000)] = 200  # posterior-predictive runs in the report
    out: str | None = None  # working directory; default results/calibration/<region>[_cutoff-DATE]
    restart: bool = False  # ignore an unfinished fit with the same settings instead of resuming it

    @model_validator(mode="before")
    @classmethod
    def _unfitted(cls, data: Any) -> Any:
        """``priors.NAME: null`` (a region's calibration file undoing a shared prior): not fitted."""
        if isinstance(data, dict) and isinstance(data.get("priors"), dict):
            data = {**data, "priors": {k: v for k, v in data["priors"].items() if v is not None}}
        return data

    @model_validator(mode="after")
    def _priors(self) -> Calibration:
        if self.min_ess > self.particles:
            raise ValueError(f"min_ess: at most particles ({self.particles}), got {self.min_ess:g}")
        for name, prior in self.priors.items():
            if name.split(".")[0] not in Uncertainties.model_fields:
                raise ValueError(f"priors.{name}: not an uncertainty; must be one of "
                                 f"{', '.join(Uncertainties.model_fields)} (area_weight.AREA for an area's weight)")
            for end in ("low", "high"):
                try:
                    Uncertainties(**with_values({}, {name: getattr(prior, end)}))
                except ValidationError as exc:
                    raise ValueError(f"priors.{name}.{end}: outside what uncertainties.{name} allows "
                                     f"({exc.errors()[0]['msg']})") from None
        return self


# ----------------------------------------------------------------------------------- lever effects
class EffectPrior(Prior):
    """What published evidence allows for one lever-effect parameter, and where that comes from."""

    source: str


class LeverEffects(Block):
    """How strongly each lever works is not known, and no reported count pins it down: each
    replication draws these parameters from their priors (the same draw in every package of a
    sweep), so intervals include doubt about whether a lever works. ``median`` fixes them at their
    prior medians; ``none`` keeps the values of uncertainties/ and behaviour/. The calibration fits
    with the values of uncertainties/ and behaviour/, which are the prior medians."""

    use: Literal["draw", "median", "none"] = "draw"
    # name: an uncertainty (``rd_subsidy_response``) or a behaviour setting (``behaviour.credit.x``)
    priors: dict[str, EffectPrior] = {}

    @model_validator(mode="after")
    def _names(self) -> LeverEffects:
        for name in self.priors:
            head = name.split(".")[0]
            if head != "behaviour" and head not in Uncertainties.model_fields:
                raise ValueError(f"priors.{name}: not an uncertainty or a behaviour.GROUP.NAME setting")
        return self


# -------------------------------------------------------------------------------------- outcomes
class Outcomes(Block):
    report_years: Annotated[list[Annotated[int, Field(ge=1990, le=2100)]], Field(min_length=1)] = [2023, 2025, 2027, 2030]
    interval: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.90
    # the year a sweep's comparison ranks packages at (``sim compare --year`` overrides it); must be a
    # report year when the run reaches it (a shorter run ranks at its last report year, and says so)
    rank_year: Year = 2027

    @model_validator(mode="after")
    def _distinct(self) -> Outcomes:
        if len(set(self.report_years)) != len(self.report_years):
            raise ValueError(f"report_years: each year at most once, got {self.report_years}")
        return self


class SimConfig(Block):
    region: Region
    policy: Policy = Policy()  # the package run
    status_quo: Policy = Policy()  # what regions that do not adopt it keep (configs/policy/status_quo.yaml)
    miit: MIIT
    uncertainties: Uncertainties = Uncertainties()
    behaviour: Behaviour
    outcomes: Outcomes = Outcomes()
    calibration: Calibration = Calibration()
    lever_effects: LeverEffects = LeverEffects()
    scenario: Annotated[str, Field(min_length=1)] = "baseline"
    scenario_title: str = ""
    scenario_label: str = ""  # the package's short policy name, as tables and charts show it ("Finance boost")
    start_year: Annotated[int, Field(ge=2000, le=2100)] = 2018
    end_year: Annotated[int, Field(ge=2000, le=2100)] = 2030
    seed: Annotated[int, Field(ge=0)] = 0
    # equal-cost comparison: every package's budget envelope is the status quo's plus this many M yuan
    # a year from adoption, and its fiscal levers above the status quo are scaled up (policy.fiscal_scale)
    # until they spend it, so packages with fiscal levers cost the same; null = packages as written
    equal_cost: NonNeg | None = None
    replications: Annotated[int, Field(ge=1, le=10000)] = 1
    progress: bool = True
    # reported-figures CSV drawn on the charts, checked before anything is written; a relative path
    # is read from the working directory if it is there, else from the repo root
    reported_figures: Annotated[str, Field(min_length=1)] = "seeds/reported_figures.csv"
    # skip jobs whose output dir is already COMPLETE with an equal config (see sim.commands.run); how to run,
    # not what is run, so it is left out of the saved config.yaml
    resume: bool = Field(default=False, exclude=True)
    # the uncertainties the job's overrides set (``uncertainties.failure_rate=0.1`` names
    # ``failure_rate``; ``uncertainties.area_weight={...}`` names the whole mapping): a fitted one keeps
    # the value given even where it equals the region file's. From the command line, not a config key.
    _named_uncertainties: frozenset[str] = PrivateAttr(default=frozenset())

    def names_uncertainty(self, name: str) -> bool:
        """Whether the overrides set uncertainty ``name`` (dotted: ``area_push_points.beijing``),
        itself or the mapping holding it."""
        return any(name == k or name.startswith(k + ".") for k in self._named_uncertainties)

    def naming(self, names: frozenset[str]) -> SimConfig:
        """A copy whose overrides set these uncertainties (see ``names_uncertainty``)."""
        out = self.model_copy()
        out._named_uncertainties = frozenset(names)
        return out

    @model_validator(mode="after")
    def _adoption(self) -> SimConfig:
        if self.policy.adopted_by == "nationwide" and not self.region.areas:
            raise ValueError(f"policy.adopted_by: nationwide needs the national model (region=national), where every "
                             f"region competes for MIIT's batch; a {self.region.name} run meets the national bar as given "
                             "(got nationwide)")
        areas = [a.name for a in self.region.areas]
        for field in AREA_MAPPINGS:
            unknown = [a for a in getattr(self.uncertainties, field) if a not in areas]
            if unknown:
                raise ValueError(f"uncertainties.{field}.{unknown[0]}: not an area of region {self.region.name} "
                                 f"(areas: {', '.join(areas) or 'none; the national model has areas'})")
        if self.region.areas and min(self.area_shares()) <= 0.0:
            raise ValueError("uncertainties.area_weight: the named areas' weighted GDP shares leave no firms for "
                             f"the rest of China (shares {[round(x, 3) for x in self.area_shares()]})")
        return self

    def area_shares(self) -> list[float]:
        """Each area's share of the firm pool (and of its SRDI holders and entrants): its GDP share
        times its ``uncertainties.area_weight`` (default 1); the area named ``rest`` takes what is
        left. A region without areas is one area with share 1."""
        if not self.region.areas:
            return [1.0]
        w = self.uncertainties.area_weight
        shares = [0.0 if a.name == REST else a.gdp_share * w.get(a.name, AREA_MAPPINGS["area_weight"])
                  for a in self.region.areas]
        rest = 1.0 - sum(shares)
        return [rest if a.name == REST else x for a, x in zip(self.region.areas, shares)]

    @model_validator(mode="after")
    def _years(self) -> SimConfig:
        if self.end_year < self.start_year:
            raise ValueError(f"end_year: must be ≥ start_year ({self.start_year}), got {self.end_year}")
        outside = [y for y in self.outcomes.report_years if not self.start_year <= y <= self.end_year]
        if outside:
            raise ValueError(f"outcomes.report_years: each must lie in the simulated years {self.start_year}–"
                             f"{self.end_year} (got {outside[0]}); set e.g. outcomes.report_years=[{self.end_year}]")
        rank, years = self.outcomes.rank_year, self.outcomes.report_years
        if self.start_year <= rank <= self.end_year and rank not in years:
            raise ValueError(f"outcomes.rank_year: must be one of the report years {', '.join(map(str, years))} "
                             f"(got {rank}); add it to outcomes.report_years or set outcomes.rank_year="
                             f"{max(years) if years else self.end_year}")
        return self

    @property
    def n_steps(self) -> int:
        return 4 * (self.end_year - self.start_year + 1)


def block_at(path: list[str]) -> type[BaseModel] | None:
    """The schema block at a dotted path (list items and dict values step through), or None."""
    model: Any = SimConfig
    for part in path:
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None and get_origin(model) in (list, dict):
            model = get_args(model)[-1]
            continue
        if field is None:
            return None
        model = field.annotation
        while get_origin(model) in (Annotated, Union, types.UnionType):
            model = next(a for a in get_args(model) if a is not type(None))
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def unknown_key_message(key: str) -> str:
    """`a.b.typo: unknown key; allowed ...` naming the allowed keys (or the nearest ones) of `a.b`; for
    an allowed key the config files leave out, how to add it (Hydra refuses to set it without `+`)."""
    *parent, name = key.split(".")
    model = block_at(parent)
    if model is None:
        return f"{key}: unknown key (`--cfg job` shows every allowed key)"
    fields = list(model.model_fields)
    if name in fields:  # allowed, but the composed config leaves it out (a region file that omits it)
        return f"{key}: not set in the chosen config files (it takes its default); add it with +{key}=VALUE"
    if len(fields) <= 12:
        return f"{key}: unknown key; allowed are {', '.join(fields)}"
    near = difflib.get_close_matches(name, fields, n=3)
    hint = f"did you mean {' or '.join(near)}? " if near else ""
    return f"{key}: unknown key; {hint}(`--cfg job` shows all {len(fields)} allowed keys)"


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()))
    msg = err.get("msg", "invalid").replace("Value error, ", "")
    if not loc:  # a whole-config check names its own field in the message
        return msg
    if err.get("type") == "extra_forbidden":
        return unknown_key_message(loc)
    named = re.match(r"^([A-Za-z_][\w.]*): ", msg)
    if named and err.get("type") == "value_error":  # a block's own check names the field it is about
        parent, _, last = loc.rpartition(".")
        base = parent if named.group(1) == last else loc
        return f"{base}.{msg}" if base else msg
    got = repr(err.get("input"))
    return f"{loc}: {msg} (got {got if len(got) <= 80 else got[:77] + '...'})"


def validate(data: dict[str, Any]) -> SimConfig:
    """Turn a plain dict (Hydra's composed config minus `hydra`) into a SimConfig or raise InputError."""
    try:
        return SimConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise InputError(f"invalid config: {_describe(first)}{tail}") from None
