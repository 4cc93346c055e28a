"""The decision part of a sweep comparison (issue 12): counted from adoption, ranked at 2027, paired
win shares and the acceptability curve, costs per outcome, the equal-cost ranking, who gains, regions
of the national model, dose-response along one swept lever, the sensitivity section, money in bn yuan.

Three tiny real sweeps with Hydra's basic launcher: Chongqing packages adopted from 2026Q1 (to 2028),
a one-lever sweep, and the national model at 2% of its firms with packages adopted nationwide.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.analysis.paired import build
from sim.analysis.stats import acceptability, win_shares, wtp_grid
from sim.commands.run import compose_job
from sim.core.errors import InputError
from sim.core.outcomes import fmt_money, in_bn
from sim.experiment.store import COMPLETE, write_complete
from sim.presentation.comparison_report import write_comparison

SMALL = ["end_year=2028", "outcomes.report_years=[2025,2027,2028]", "policy.adopt_from=2026Q1",
         "region.initial_firms=3000", "region.initial_srdi=150", "progress=false", "hydra/launcher=basic"]
PACKAGES = ("0_baseline", "1_finance_boost", "2_subsidy_boost")
# the CSVs hold 6 significant digits (sim.experiment.store.FLOAT_FORMAT): what a test recomputes from
# them, and what the comparison wrote, agree to about 5e-6
RTOL_CSV = 1e-5


def _sweep(cwd: Path, *overrides: str) -> Path:
    sweep_dir = cwd / "sweep"
    cmd = [sys.executable, "-m", "sim", "run", "-m", *overrides, f"hydra.sweep.dir={sweep_dir}"]
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    assert r.returncode == 0, r.stderr[-3000:]
    return sweep_dir


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> Path:
    """Status quo, finance boost and subsidy boost, adopted from 2026Q1, 3 replications to 2028."""
    return _sweep(tmp_path_factory.mktemp("pkg"), "+scenario=baseline,finance_boost,subsidy_boost", "replications=3",
                  *SMALL)


@pytest.fixture(scope="module")
def lever(tmp_path_factory) -> Path:
    """One package at three interest subsidies: a dose-response."""
    return _sweep(tmp_path_factory.mktemp("lever"), "+scenario=finance_boost",
                  "policy.loans.interest_subsidy=0,0.01,0.02", "replications=2", *SMALL)


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> Path:
    return _sweep(tmp_path_factory.mktemp("nat"), "+scenario=baseline,subsidy_boost", "region=national",
                  "region.population_scale=0.02", "policy.adopted_by=nationwide", "calibration.use=none",
                  "replications=2", "end_year=2027", "outcomes.report_years=[2025,2027]", "policy.adopt_from=2026Q1",
                  "progress=false", "hydra/launcher=basic")


def _out(sweep: Path, name: str) -> Path:
    return sweep / "comparison" / name


# ----------------------------------------------------------------------------- pure statistics
def test_win_shares_of_a_package_against_itself_are_one_half():
    rng = np.random.default_rng(1)
    g = {"a": rng.integers(-3, 4, 50).astype(float), "b": rng.integers(-3, 4, 50).astype(float), "ref": np.zeros(50)}
    m = win_shares(g)
    assert np.allclose(np.diag(m), 0.5)
    assert np.allclose(m.to_numpy() + m.to_numpy().T, 1.0)  # ties count half: a beats b + b beats a = 1
    assert win_shares({"x": np.array([1.0, 2, 3]), "y": np.array([0.0, 2, 5])}).loc["x", "y"] == pytest.approx(0.5)


def test_acceptability_probabilities_sum_to_one_at_each_wtp():
    rng = np.random.default_rng(2)
    gains = {"ref": np.zeros(40), "a": rng.normal(5, 3, 40), "b": rng.normal(1, 1, 40), "tie": np.zeros(40)}
    costs = {"ref": np.zeros(40), "a": rng.normal(500, 50, 40), "b": rng.normal(20, 5, 40), "tie": np.zeros(40)}
    p = acceptability(gains, costs, wtp_grid([100.0, 20.0]))
    assert np.allclose(p.sum(axis=1), 1.0)
    assert p.iloc[0]["ref"] == pytest.approx(p.iloc[0]["tie"])  # two options with equal net benefit share
    assert p.iloc[-1]["a"] > 0.8  # at a high price per extra giant, the package with most giants wins


def test_money_from_ten_thousand_m_yuan_is_shown_in_bn_yuan():
    assert fmt_money(9_999) == "9,999" and fmt_money(120_000) == "120 bn yuan"
    assert fmt_money(23_412) == "23.4 bn yuan" and fmt_money(-23_412, signed=True) == "−23.4 bn yuan"
    assert fmt_money(12_000, signed=True) == "+12.0 bn yuan" and fmt_money(20_000, bn=True, tick=True, unit=False) == "20"
    assert fmt_money(500, bn=True, unit=False) == "0.5" and not in_bn(9_999, -5) and in_bn(1, -10_000)


def test_rank_year_must_be_a_report_year_of_a_run_that_reaches_it():
    base = ["end_year=2028", "calibration.use=none"]
    assert compose_job([*base, "outcomes.report_years=[2027,2028]"]).outcomes.rank_year == 2027
    with pytest.raises(InputError, match=r"outcomes.rank_year: must be one of the report years 2025, 2028"):
        compose_job([*base, "outcomes.report_years=[2025,2028]"])
    compose_job(["end_year=2021", "outcomes.report_years=[2021]", "calibration.use=none"])  # short run: lenient


# ------------------------------------------------------------------------------- the package sweep
def test_costs_and_gains_count_from_adoption_and_are_zero_before_it(packages):
    """Before 2026Q1 every job runs the status quo with the same draws: identical yearly series per
    replication, so every paired difference at a report year before adoption is exactly zero."""
    y = {j: pd.read_csv(packages / j / "yearly.csv").set_index(["replication", "year"]) for j in PACKAGES}
    before = y["0_baseline"].index.get_level_values("year") < 2026
    for j in PACKAGES[1:]:
        for col in ("spend_total", "spend_rd_subsidy", "spend_interest_subsidy", "n_T3", "n_T2plus"):
            np.testing.assert_array_equal(y[j].loc[before, col].to_numpy(), y["0_baseline"].loc[before, col].to_numpy())
    t = pd.read_csv(_out(packages, "comparison.csv"))
    pre = t[(t.year == 2025) & t.measure.isin(["difference", "level"]) & t.indicator.str.endswith("_cum")]
    assert len(pre) and (pre[["value", "low", "high"]] == 0).all().all()  # counted from 2026: nothing yet
    diffs = t[(t.year == 2025) & (t.measure == "difference")]
    assert set(diffs.job) == set(PACKAGES[1:]) and (diffs[["value", "low", "high"]] == 0).all().all()
    # the ranking's extra cost is the 2026-2027 extra spending, replication by replication
    extra = [(y[j].xs(r, level="replication").loc[2026:2027, "spend_total"].sum()
              - y["0_baseline"].xs(r, level="replication").loc[2026:2027, "spend_total"].sum()) for r in range(3)
             for j in ["2_subsidy_boost"]]
    rk = pd.read_csv(_out(packages, "ranking.csv")).set_index("job")
    assert rk.loc["2_subsidy_boost", "extra_cost"] == pytest.approx(np.median(extra), rel=RTOL_CSV)
    md = _out(packages, "comparison.md").read_text()
    assert "Fiscal cost: total, since adoption (2026)" in md and "extra fiscal cost 2026–2027" in md


def test_ranks_at_2027_with_the_last_year_alongside_by_policy_name(packages):
    rk = pd.read_csv(_out(packages, "ranking.csv"))
    assert set(rk.year) == {2027} and set(rk.last_year) == {2028}
    assert set(rk.package) == {"Status quo", "Finance boost", "Subsidy boost"}
    md = _out(packages, "comparison.md").read_text()
    assert "## Ranking by extra little giants at 2027" in md and "| extra little giants 2028 |" in md


def test_win_shares_csv_is_paired_and_complementary(packages):
    w = pd.read_csv(_out(packages, "win_shares.csv"))
    assert set(w.year) == {2027, 2028} and (w.pairs == 3).all()
    self_ = w[w.job == w.versus_job]
    assert len(self_) == 6 and (self_.share == 0.5).all()
    m = w[w.year == 2027].set_index(["job", "versus_job"])["share"]
    for (a, b), v in m.items():
        assert v + m[(b, a)] == pytest.approx(1.0)
    # by hand: finance boost against the status quo is the share of replications with more giants
    y = {j: pd.read_csv(packages / j / "yearly.csv").query("year == 2027").sort_values("replication") for j in PACKAGES}
    a, b = y["1_finance_boost"]["n_T3"].to_numpy(), y["0_baseline"]["n_T3"].to_numpy()
    assert m[("1_finance_boost", "0_baseline")] == pytest.approx((a > b).mean() + 0.5 * (a == b).mean())


def test_acceptability_csv_sums_to_one_and_reaches_the_page(packages):
    a = pd.read_csv(_out(packages, "acceptability.csv"))
    assert set(a.job) == set(PACKAGES)
    assert np.allclose(a.groupby("wtp")["probability"].sum(), 1.0)
    page = _out(packages, "report.html").read_text()
    assert "Cost-effectiveness acceptability" in page and "How often one package beats another" in page


def test_costs_per_outcome_and_first_review(packages):
    t = pd.read_csv(_out(packages, "comparison.csv"))
    cpe = t[(t.measure == "cost_per_extra") & (t.job == "2_subsidy_boost") & (t.year == 2027)].set_index("indicator")
    assert {"cost_per_extra_T3", "cost_per_extra_T3_renewed", "cost_per_extra_T2plus"} <= set(cpe.index)
    d = t[(t.measure == "difference") & (t.job == "2_subsidy_boost") & (t.year == 2027)].set_index("indicator")
    if d.loc["n_T2plus", "mean"] > 0:
        assert cpe.loc["cost_per_extra_T2plus", "value"] == pytest.approx(  # CSVs hold 6 significant digits
            d.loc["spend_total_cum", "mean"] / d.loc["n_T2plus", "mean"], rel=RTOL_CSV)
    # cohorts from 2026 are first reviewed in 2029: none by 2028, and the report says so
    assert np.isnan(cpe.loc["cost_per_extra_T3_renewed", "value"])
    assert "first is in 2029" in cpe.loc["cost_per_extra_T3_renewed", "note"]
    md = _out(packages, "comparison.md").read_text()
    assert "No cohort recognised since adoption has had its first review by 2027 (the first is in 2029)" in md


def test_who_gains_groups_partition_the_extra_little_giants(packages):
    g = pd.read_csv(_out(packages, "who_gains.csv"))
    assert "Smart connected NEVs" in set(g.group_label) and {"linked", "unlinked"} <= set(g.group)
    y = {j: pd.read_csv(packages / j / "yearly.csv").set_index(["replication", "year"]) for j in PACKAGES}
    d = y["2_subsidy_boost"] - y["0_baseline"]
    clusters = [c for c in d.columns if c.startswith("n_T3_cl")]
    np.testing.assert_array_equal(d[clusters].sum(axis=1), d["n_T3"])
    np.testing.assert_array_equal(d["n_T3_linked"] + d["n_T3_unlinked"], d["n_T3"])
    row = g[(g.job == "2_subsidy_boost") & (g.group == "linked") & (g.indicator == "n_T3") & (g.year == 2027)].iloc[0]
    assert row["mean"] == pytest.approx(d.xs(2027, level="year")["n_T3_linked"].mean(), rel=RTOL_CSV)
    assert (_out(packages, "who_gains.png")).is_file()
    assert "Who gains" in _out(packages, "comparison.md").read_text()


def test_scenario_sweep_has_no_dose_response_nor_regions(packages):
    md = _out(packages, "comparison.md").read_text()
    assert not _out(packages, "dose_response.png").exists() and "Dose-response" not in md
    assert not _out(packages, "regions.csv").exists() and "Regions:" not in md


def test_without_equal_cost_or_sensitivity_the_report_says_how(packages):
    md = _out(packages, "comparison.md").read_text()
    assert "rerun the sweep with `equal_cost=500`" in md
    assert "`python -m sim sensitivity DIR`" in md and "No sensitivity analysis in this sweep directory" in md
    assert not _out(packages, "ranking_equal_cost.csv").exists()


def _fake_equal_cost(job: Path, scale: float, binding: bool, note: str) -> None:
    """What the model side writes for ``equal_cost=500``: the package's yearly series at equal cost."""
    d = job / "equal_cost"
    d.mkdir()
    y = pd.read_csv(job / "yearly.csv")
    y[[c for c in y.columns if c.startswith("spend_")]] *= scale
    y.to_csv(d / "yearly.csv", index=False)
    (d / "info.json").write_text(json.dumps({"fiscal_scale": scale, "binding": binding, "envelope": 1780.0,
                                             "note": note}))
    cfg = yaml.safe_load((job / "config.yaml").read_text())
    (job / "config.yaml").write_text(yaml.safe_dump({**cfg, "equal_cost": 500.0}, sort_keys=False))
    listed = json.loads((job / COMPLETE).read_text())["files"]  # sealed again, as the run itself would
    write_complete(job, listed + ["equal_cost/yearly.csv", "equal_cost/info.json"])


def test_equal_cost_runs_are_ranked_and_packages_that_cannot_spend_are_flagged(packages, tmp_path):
    copy = tmp_path / "sweep"
    shutil.copytree(packages, copy)
    _fake_equal_cost(copy / "1_finance_boost", 1.0, False, "claims fall short of the envelope even at 256x")
    _fake_equal_cost(copy / "2_subsidy_boost", 0.5, True, "")
    out, _ = write_comparison(copy)
    rk = pd.read_csv(out / "ranking_equal_cost.csv").set_index("job")
    assert set(rk.index) == {"1_finance_boost", "2_subsidy_boost"}
    # paired against the reference's normal runs: half the subsidy boost's spending, its extra cost accordingly
    y = {j: pd.read_csv(copy / j / "yearly.csv").set_index(["replication", "year"]) for j in PACKAGES}
    extra = [0.5 * y["2_subsidy_boost"].xs(r, level="replication").loc[2026:2027, "spend_total"].sum()
             - y["0_baseline"].xs(r, level="replication").loc[2026:2027, "spend_total"].sum() for r in range(3)]
    assert rk.loc["2_subsidy_boost", "extra_cost"] == pytest.approx(np.median(extra), rel=RTOL_CSV)
    md = (out / "comparison.md").read_text()
    assert "**cannot spend the envelope**: claims fall short of the envelope even at 256x" in md
    t = pd.read_csv(out / "comparison.csv")
    assert {"difference_equal_cost", "cost_per_extra_equal_cost"} <= set(t.measure)


def test_a_sensitivity_analysis_left_in_the_sweep_reaches_the_report(packages, tmp_path):
    copy = tmp_path / "sweep"
    shutil.copytree(packages, copy)
    (copy / "sensitivity").mkdir()
    shutil.copyfile(_out(packages, "who_gains.png"), copy / "sensitivity" / "tornado.png")  # any PNG
    pd.DataFrame({"parameter": ["rd_subsidy_response", "loan_growth_effect"], "mu_star": [0.41, 0.05]}).to_csv(
        copy / "sensitivity" / "summary.csv", index=False)
    out, _ = write_comparison(copy)
    assert (out / "tornado.png").is_file()
    md = (out / "comparison.md").read_text()
    assert "| rd_subsidy_response | 0.41 |" in md and "](tornado.png)" in md
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == len(list(out.glob("*.png")))


# ---------------------------------------------------------------------------- the one-lever sweep
def test_a_one_lever_sweep_draws_its_dose_response(lever):
    dose = pd.read_csv(_out(lever, "dose_response.csv"))
    assert list(dose["value"]) == [0.0, 0.01, 0.02]
    assert dose.loc[dose.is_reference, "value"].tolist() == [0.0]  # no status-quo job: the first is the reference
    assert (dose.loc[dose.is_reference, ["extra_giants", "extra_cost"]] == 0).all().all()
    assert dose.loc[dose.value == 0.02, "extra_cost"].item() > dose.loc[dose.value == 0.01, "extra_cost"].item() > 0
    assert _out(lever, "dose_response.png").is_file()
    assert "## Dose-response: loans.interest_subsidy" in _out(lever, "comparison.md").read_text()


# ------------------------------------------------------------------------------ the national model
def test_regions_table_only_in_the_national_model_and_the_nation_cannot_gain(national):
    r = pd.read_csv(_out(national, "regions.csv"))
    assert {"chongqing", "beijing", "shanghai", "shenzhen", "shandong", "rest", "nation"} == set(r.group)
    md = _out(national, "comparison.md").read_text()
    assert "## Regions: extra little giants by area" in md
    assert "**Adopted nationwide (Subsidy boost): MIIT's national batch is fixed" in md
    c = build(national)
    d = c.deltas["1_subsidy_boost"].xs(2027, level="year")["n_T3"]
    areas = [g for g in r.group.unique() if g != "nation"]
    y = {j: pd.read_csv(national / j / "yearly.csv").set_index(["replication", "year"]) for j in ("0_baseline",
                                                                                                   "1_subsidy_boost")}
    by_area = (y["1_subsidy_boost"] - y["0_baseline"]).xs(2027, level="year")[[f"n_T3__{a}" for a in areas]]
    np.testing.assert_array_equal(by_area.sum(axis=1).to_numpy(), d.to_numpy())  # the areas make the nation
    total = y["0_baseline"].xs(2027, level="year")["n_T3"]
    assert (d.abs() <= 0.05 * total).all()  # a fixed batch: the nation's extra little giants stay near zero


def test_sensitivity_command_screens_every_factor_and_reaches_the_report(packages, tmp_path):
    """`python -m sim sensitivity` on a real sweep: Morris over every calibrated and lever-effect
    factor, Sobol and swings on the top two, the run count it states, and the tornado in the page."""
    copy = tmp_path / "sweep"
    shutil.copytree(packages, copy)
    r = subprocess.run([sys.executable, "-m", "sim", "sensitivity", str(copy), "--trajectories", "1", "--sobol", "2",
                        "--top", "2", "--processes", "1"], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "MPLBACKEND": "Agg"})
    assert r.returncode == 0, r.stderr[-3000:]
    out = copy / "sensitivity"
    morris, summary = pd.read_csv(out / "morris.csv"), pd.read_csv(out / "summary.csv")
    info = json.loads((out / "info.json").read_text())
    assert set(morris.kind) == {"calibrated", "lever effect"} and len(morris) == info["factors"]
    assert list(summary.factor) == list(morris.factor.head(2))
    # two packages at each point: Morris (k + 1 points), Sobol (N x (top + 2)), swings (1 + 2 x top)
    assert info["runs"] == 2 * ((info["factors"] + 1) + 2 * (2 + 2) + (1 + 2 * 2))
    page = (copy / "comparison" / "report.html").read_text()
    assert "which uncertain parameters can flip the ranking" in page.lower() and (copy / "comparison" / "tornado.png").is_file()
