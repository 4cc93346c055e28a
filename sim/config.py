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

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import InputError

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Tier = Annotated[int, Field(ge=0, le=3)]


class Block(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


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
    annual_budget: NonNeg | None = None  # cap on all subsidy spending per year; null = no cap


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
    """Title validity and review (复核)."""

    validity_years: Annotated[int, Field(ge=1, le=10)] = 3
    strictness: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.0  # shifts score thresholds by x points_span
    strictness_points_span: Annotated[float, Field(ge=0.0, le=40.0)] = 15.0
    dynamic_exit: bool = False  # 有进有出: yearly spot checks revoke titles far below criteria
    dynamic_exit_margin: Annotated[float, Field(ge=0.0, le=60.0)] = 10.0  # points below threshold
    auto_recognition: bool = False  # 免申即享: eligible firms are recognised without applying


class Policy(Block):
    subsidies: Subsidies = Subsidies()
    loans: Loans = Loans()
    chain_leaders: ChainLeaders = ChainLeaders()
    review: Review = Review()


# --------------------------------------------------------------------------------- uncertainties
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
    apply_t1: Share = 0.25  # quarterly chance an eligible firm applies for T1
    apply_t2: Share = 0.45  # chance an eligible T1 firm applies in a yearly T2 batch
    apply_t3: Share = 0.45  # chance an eligible T2 firm applies in a national T3 batch
    accept_t2: Share = 0.75  # chance an eligible applicant passes municipal expert review
    accept_t3: Share = 0.45  # chance an eligible applicant passes MIIT expert review (national quota)
    review_noise_points: Annotated[float, Field(ge=0.0, le=30.0)] = 6.0
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
    listing_rate: Share = 0.03  # annual chance an eligible SRDI firm lists


# ---------------------------------------------------------------------------------------- region
class Cluster(Block):
    name: str
    weight: Annotated[float, Field(gt=0.0)]
    strategic_emerging: bool
    leaders: list[str]


class Calendar(Block):
    """When titles are granted (MIIT 2022 measures and batch history)."""

    t1_start_year: int = 2022  # innovative-SME tier formalised Aug 2022; continuous thereafter
    t1_start_quarter: Annotated[int, Field(ge=1, le=4)] = 3
    t2_batch_quarter: Annotated[int, Field(ge=1, le=4)] = 4
    t3_first_year: int = 2019  # 1st national batch of little giants
    t3_batch_quarter: Annotated[int, Field(ge=1, le=4)] = 3
    # national little-giant batch sizes (MIIT notices, batches 1-5); MIIT's intake in a year scales
    # with its batch size relative to the last listed year, which is also used for later years
    t3_batch_sizes: dict[int, Annotated[float, Field(ge=0.0)]] = {
        2019: 248, 2020: 1744, 2021: 2930, 2022: 4357, 2023: 3671,
    }


class Region(Block):
    name: str
    label: str
    initial_firms: Annotated[int, Field(ge=1)]  # T0 pool at the start year
    initial_srdi: Annotated[int, Field(ge=0)]  # T2 titles held at the start year
    entries_per_year: dict[int, NonNeg]  # new firms per year; linear in between, flat outside
    revenue_median: Annotated[float, Field(gt=0.0)] = 8.0  # M yuan, entering and initial firms
    revenue_sigma: Annotated[float, Field(ge=0.0, le=4.0)] = 1.3
    sme_revenue_cap: Annotated[float, Field(gt=0.0)] = 400.0  # outgrows SME size above this
    clusters: list[Cluster]
    calendar: Calendar = Calendar()

    @model_validator(mode="after")
    def _clusters(self) -> Region:
        if not self.clusters:
            raise ValueError("clusters: at least one cluster is required")
        if not self.entries_per_year:
            raise ValueError("entries_per_year: at least one year is required")
        return self


# -------------------------------------------------------------------------------------- outcomes
class Outcomes(Block):
    report_years: list[Annotated[int, Field(ge=1990, le=2100)]] = [2023, 2025, 2027, 2030]
    interval: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.90


class SimConfig(Block):
    region: Region
    policy: Policy = Policy()
    uncertainties: Uncertainties = Uncertainties()
    outcomes: Outcomes = Outcomes()
    scenario: Annotated[str, Field(min_length=1)] = "baseline"
    scenario_title: str = ""
    start_year: Annotated[int, Field(ge=2000, le=2100)] = 2018
    end_year: Annotated[int, Field(ge=2000, le=2100)] = 2030
    seed: Annotated[int, Field(ge=0)] = 0
    replications: Annotated[int, Field(ge=1, le=10000)] = 1
    progress: bool = True

    @model_validator(mode="after")
    def _years(self) -> SimConfig:
        if self.end_year < self.start_year:
            raise ValueError(f"end_year: must be ≥ start_year ({self.start_year}), got {self.end_year}")
        return self

    @property
    def n_steps(self) -> int:
        return 4 * (self.end_year - self.start_year + 1)


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()))
    msg = err.get("msg", "invalid")
    if err.get("type") == "extra_forbidden":
        return f"{loc}: unknown key (check the spelling; `--cfg job` shows every allowed key)"
    msg = msg.replace("Value error, ", "")
    if msg.split(":", 1)[0].strip() in loc.split(".")[-1:]:
        return msg if not loc.rpartition(".")[0] else f"{loc.rpartition('.')[0]}.{msg}"
    return f"{loc}: {msg} (got {err.get('input')!r})"


def validate(data: dict[str, Any]) -> SimConfig:
    """Turn a plain dict (Hydra's composed config minus `hydra`) into a SimConfig or raise InputError."""
    try:
        return SimConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise InputError(f"invalid config: {_describe(first)}{tail}") from None
