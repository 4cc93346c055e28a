"""Costs as they are paid, and comparisons that are fair: 贴息 only on new policy loans within their
term, packages run at equal cost spend the same, and a replication's lever-effect draw is the same in
every package (so paired differences hold no doubt about levers that one package drew and another
did not). Levers at zero cost nothing and change nothing: tests/test_model.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.commands.run import compose_job
from sim.experiment.runner import region_budget, run_equal_cost, run_replications
from sim.model.model import SMEModel
from sim.model.policies import loans

TERM = 4  # behaviour.credit.subsidy_quarters in these tests: short, so terms end within the run


def small(*overrides: str, replications: int = 1):
    """Chongqing with a few thousand firms, to 2024; packages from 2020Q1 (status quo before)."""
    cfg = compose_job(["end_year=2024", "outcomes.report_years=[2024]", "outcomes.rank_year=2024",
                       "policy.adopt_from=2020Q1", f"replications={replications}", "progress=false", *overrides])
    reg = dict(initial_firms=3000, initial_srdi=150, entries_per_year={2018: 900, 2023: 1500})
    return cfg.model_copy(update={"region": cfg.region.model_copy(update=reg)})


def test_interest_subsidy_is_paid_only_on_new_policy_loans_within_their_term(monkeypatch):
    """Every 贴息 claim is traced to the firm's own covered loans of the last TERM quarters: no firm
    is paid on older debt, and no claim exceeds the subsidised points on those loans."""
    ledger: list[tuple[int, int, float]] = []  # (firm, quarter, principal) of each subsidised new loan
    claims_seen: list[tuple[int, np.ndarray, np.ndarray]] = []
    original_subsidise, original_settle = loans._subsidise_new_loans, loans.settle

    def subsidise(model, got, amount):
        before = model.firms.subsidy_end[got].copy()
        original_subsidise(model, got, amount)
        on = model.firms.subsidy_end[got] != before
        ledger.extend((int(i), model.quarter, float(a)) for i, a in zip(got[on], amount[on]))

    def settle(model, instrument, lever, claims, by_area):
        if instrument == "interest_subsidy":
            claims_seen.append((model.quarter, model.live.copy(), claims.copy()))
        return original_settle(model, instrument, lever, claims, by_area)

    monkeypatch.setattr(loans, "_subsidise_new_loans", subsidise)
    monkeypatch.setattr(loans, "settle", settle)
    cfg = small("+scenario=finance_boost", f"behaviour.credit.subsidy_quarters={TERM}", "calibration.use=none",
                "lever_effects.use=none")
    model = SMEModel(cfg, 3)
    model.run()
    rate = cfg.policy.loans.interest_subsidy
    by_firm: dict[int, list[tuple[int, float]]] = {}
    for firm, q, principal in ledger:
        by_firm.setdefault(firm, []).append((q, principal))
    paid_firms = 0
    for q, live, claims in claims_seen:
        cap = np.array([_in_term(by_firm.get(int(i), []), q) for i in live]) * rate / 4
        assert (claims <= cap + 1e-12).all(), f"quarter {q}: a claim on debt outside a 贴息 term"
        paid_firms += int((claims > 0).sum())
    assert len(ledger) > 50 and paid_firms > 50  # the rule was exercised
    # the status quo pays no 贴息: nothing before adoption (2020Q1 is quarter 8)
    assert not any(claims.any() for q, _, claims in claims_seen if q < 8)


def _in_term(loans_made: list[tuple[int, float]], q: int) -> float:
    """The principal a firm may be paid 贴息 on in quarter ``q``: its latest covered loan still in term
    and the loans before it that were still in term when the next one came (one balance per firm)."""
    made = [(at, p) for at, p in loans_made if at <= q]
    if not made or q >= made[-1][0] + TERM:
        return 0.0
    total, later = 0.0, None
    for at, p in reversed(made):
        if later is not None and later >= at + TERM:
            break
        total, later = total + p, at
    return total


def test_a_replications_lever_effect_draw_is_the_same_in_every_package():
    runs = {s: run_replications(small(f"+scenario={s}", replications=4))
            for s in ("baseline", "finance_boost", "chain_leader_open")}
    params = {s: r.attrs["parameters"] for s, r in runs.items()}
    effects = [c for c in params["baseline"].columns if c.startswith("effect:")]
    assert len(effects) >= 10
    for s in ("finance_boost", "chain_leader_open"):
        pd.testing.assert_frame_equal(params[s][effects], params["baseline"][effects])
    assert params["baseline"][effects].nunique().min() == 4  # drawn per replication, not one value


@pytest.mark.slow
def test_packages_at_equal_cost_spend_the_same_within_one_percent():
    """Two packages of different instruments, each scaled until it fills the same envelope (the
    status quo's budget plus 20 M yuan a year from adoption): the same fiscal cost, to 1%."""
    totals = {}
    for s in ("subsidy_boost", "finance_boost"):
        cfg = small(f"+scenario={s}", "equal_cost=20", "status_quo.subsidies.annual_budget=20", replications=3)
        run, info = run_equal_cost(cfg)
        assert info["binding"], info
        spent = run[run.year >= 2020].groupby("replication")["envelope_spent"].sum()
        totals[s] = float(spent.median())
    a, b = totals.values()
    assert abs(a - b) <= 0.01 * max(a, b), totals


def test_the_region_budget_is_each_areas_envelope_at_the_regions_scale():
    """The budget the fiscal chart draws and equal-cost fills is what the model's governments hold:
    the package's envelope in the adopting area, the status quo's elsewhere, x the region's scales."""
    base = ["region=national", "region.population_scale=0.1", "policy.subsidies.annual_budget=1000"]
    cfg = compose_job(base)
    scale = cfg.region.budget_scale * cfg.region.population_scale
    shares = np.array(cfg.area_shares())
    focus = np.arange(len(shares)) == cfg.region.focus_area
    sq = cfg.status_quo.subsidies.annual_budget
    assert region_budget(cfg) == pytest.approx((1000 * shares[focus].sum() + sq * shares[~focus].sum()) * scale)
    assert region_budget(compose_job([*base, "policy.adopted_by=nationwide"])) == pytest.approx(1000 * scale)
    assert region_budget(compose_job([*base, "status_quo.subsidies.annual_budget=null"])) is None
