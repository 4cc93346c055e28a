"""Calibration: figures are read the way the report says, the distance honours tolerances, a fit
recovers known parameters within its own interval, the command runs end to end (report, backtest,
resume), and runs draw posterior parameters with common random numbers across scenarios.

Every fit here runs on a small population (a fraction of Chongqing's, counts scaled back up) with
few particles, so the file stays fast; the real fits are measured in experiments/.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.experiment import posterior as post_mod
from sim.commands.calibrate import calibrate_command
from sim.calibration.distance import ToleranceDistance, excess
from sim.calibration import driver
from sim.calibration.driver import Simulator, fit_config, run_fit
from sim.calibration.check import parameter_table, predictive_jobs, target_table
from sim.calibration.targets import build_targets, fitted, read_values
from sim.commands.run import compose_job
from sim.core.schema import validate
from sim.core.errors import InputError
from sim.experiment.runner import replication_seeds, run_replications
from sim.core.figures import COLUMNS, OPTIONAL_COLUMNS
from sim.experiment.store import verify
from sim.presentation.fit_report import core_share_note

SCALE = 0.1
TRUE = {"failure_rate": 0.08, "high_tech_rate": 0.11, "apply_t2": 0.5}
PRIORS = {"failure_rate": {"low": 0.02, "high": 0.14}, "high_tech_rate": {"low": 0.02, "high": 0.3, "scale": "log"},
          "apply_t2": {"low": 0.2, "high": 1.0}}
# (id, tier, date, kind, use, tolerance): what the synthetic "officials" report
FIGURES = [
    ("s_all_2020", "ALL", "2020-12-31", "stock", "calibrate", 0.03),
    ("s_all_2022", "ALL", "2022-12-31", "stock", "calibrate", 0.03),
    ("s_all_flow_2023", "ALL", "2023-12-31", "flow", "calibrate", 0.05),
    ("s_hte_2021", "HTE", "2021-12-31", "stock", "calibrate", 0.05),
    ("s_hte_2023", "HTE", "2023-09-30", "stock", "calibrate", 0.05),
    ("s_t2_2022", "T2", "2022-12-31", "stock", "calibrate", 0.08),
    ("s_t2_2023", "T2", "2023-12-31", "stock", "calibrate", 0.08),
    ("s_t3_2023", "T3", "2023-12-31", "stock", "validate", 0.2),
]


def write_figures(path, values: dict[str, float]) -> None:
    rows = [",".join(COLUMNS)]
    for fid, tier, date, kind, use, tol in FIGURES:
        rows.append(f"{fid},chongqing,{tier},{date},{values[fid]:.0f},{kind},{use},{tol},public:synthetic,"
                    f"synthetic {fid},simulated with known parameters")
    path.write_text("\n".join(rows) + "\n")


def small_cfg(figures_path, **calibration):
    # one national bar trajectory (the median) for the synthetic truth and every fit run: a bar drawn
    # per run from the installed national fit would add noise these three parameters cannot absorb,
    # and tie the recovery test to whichever national fit is installed
    base = compose_job(["calibration.use=none", f"reported_figures={figures_path}", "end_year=2024",
                        "outcomes.report_years=[2023]", "uncertainties.national_bar_quantile=0.5"])
    data = base.model_dump()
    data["calibration"] = {**data["calibration"], "priors": PRIORS, "scale": SCALE, "particles": 40,
                           "generations": 4, "processes": 1, "check_replications": 6, **calibration}
    return validate(data)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A reported-figures file made by simulating the (scaled) model with known parameters."""
    d = tmp_path_factory.mktemp("synthetic")
    placeholder = d / "figures.csv"
    write_figures(placeholder, {f[0]: 1000 for f in FIGURES})
    cfg = small_cfg(placeholder)
    targets = build_targets(cfg)
    truth = Simulator(fit_config(cfg, targets), cfg.calibration, targets)
    values = truth.simulate(TRUE)
    write_figures(placeholder, dict(zip(targets["id"], values)))
    return placeholder


# ---------------------------------------------------------------------------- reading, distance
def test_figures_are_read_at_quarter_end_summed_or_netted(tmp_path):
    write_figures(tmp_path / "f.csv", {f[0]: 1000 for f in FIGURES})
    cfg = small_cfg(tmp_path / "f.csv")
    t = build_targets(cfg).set_index("id")
    q = pd.DataFrame({"year": np.repeat(np.arange(2018, 2025), 4), "quarter": np.tile([1, 2, 3, 4], 7)})
    q["n_firms"] = np.arange(len(q)) * 10.0
    q["n_high_tech"] = np.arange(len(q)) * 1.0
    q["n_T2plus"] = 5.0
    q["n_T3_titles"] = 7.0  # little giants as MIIT counts them: the column reported T3 stocks are read from
    vals = dict(zip(t.index, read_values(q, t.reset_index(), scale=0.5)))
    assert vals["s_all_2020"] == (4 * 2 + 3) * 10 / 0.5  # end of 2020Q4 is step 11
    assert vals["s_hte_2023"] == (4 * 5 + 2) / 0.5  # a September date is read at 2023Q3's end
    assert vals["s_all_flow_2023"] == 4 * 10 / 0.5  # net rise over the four quarters
    assert t.loc["s_t3_2023", "role"] == "validate" and t.loc["s_t2_2023", "role"] == "fitted"
    assert vals["s_t3_2023"] == 7.0 / 0.5 and t.loc["s_t3_2023", "model_reading"].startswith("n_T3_titles ")
    assert "summed" not in t.loc["s_all_flow_2023", "model_reading"]


def test_a_review_pass_share_is_the_batchs_first_renewals_over_its_titles_never_scaled(tmp_path):
    """MIIT's "142 of 248 passed" is read as renewed_first_T3 in the review year over recognised_T3
    in the batch's year (validity_years before), whatever the population scale."""
    figs = tmp_path / "f.csv"
    figs.write_text(",".join(COLUMNS) + "\n" + "\n".join(
        f"{fid},chongqing,T3,{date},{value},{kind},calibrate,0.1,public:synthetic,q,r" for fid, date, value, kind in [
            ("pass_2023", "2023-12-31", 0.6, "review_pass"), ("t3_2023", "2023-12-31", 100, "stock")]) + "\n")
    t = build_targets(small_cfg(figs)).set_index("id")
    assert t.loc["pass_2023", "how"] == "pass" and t.loc["pass_2023", "lag"] == 12
    assert "recognised_T3 in 2020" in t.loc["pass_2023", "model_reading"]
    q = pd.DataFrame({"year": np.repeat(np.arange(2018, 2025), 4), "quarter": np.tile([1, 2, 3, 4], 7)})
    q["recognised_T3"] = np.where((q["year"] == 2020) & (q["quarter"] == 3), 40.0, 0.0)
    q["recognised_T3"] += np.where((q["year"] == 2023) & (q["quarter"] == 3), 99.0, 0.0)  # a later batch: not the base
    q["renewed_first_T3"] = np.where((q["year"] == 2023) & (q["quarter"] == 3), 30.0, 0.0)
    q["n_T3_titles"] = 50.0
    vals = dict(zip(t.index, read_values(q, t.reset_index(), scale=0.5)))
    assert vals["pass_2023"] == 30.0 / 40.0 and vals["t3_2023"] == 100.0


def test_titles_due_for_review_are_read_over_their_year_and_scaled(tmp_path):
    """Chongqing's notice "复核企业……共142家" is the little giants falling due for review in 2025: read as
    review_due_T3 summed over that year's quarters, a count (scaled back up like any other)."""
    figs = tmp_path / "f.csv"
    figs.write_text(",".join(COLUMNS) + "\n" + "\n".join(
        f"{fid},chongqing,{tier},2023-12-31,{value},review_due,calibrate,0.1,public:synthetic,q,r"
        for fid, tier, value in [("due_t3", "T3", 142), ("due_t2", "T2", 900)]) + "\n")
    t = build_targets(small_cfg(figs)).set_index("id")
    assert t.loc["due_t3", "model_reading"] == "review_due_T3 summed 2023Q1-2023Q4"
    assert t.loc["due_t2", "column"] == "review_due_T2"
    q = pd.DataFrame({"year": np.repeat(np.arange(2018, 2025), 4), "quarter": np.tile([1, 2, 3, 4], 7)})
    q["review_due_T3"] = np.where(q["year"] == 2023, 10.0, 1.0)
    q["review_due_T2"] = np.where((q["year"] == 2023) & (q["quarter"] == 4), 400.0, 0.0)
    vals = dict(zip(t.index, read_values(q, t.reset_index(), scale=0.5)))
    assert vals["due_t3"] == 40.0 / 0.5 and vals["due_t2"] == 400.0 / 0.5


def test_a_count_on_a_scaled_population_is_judged_to_half_a_firm_step(tmp_path):
    """At a tenth of the population MIIT's 248 titles are 24.8 firms, granted as 25 and read as 250:
    inside the interval at that resolution, outside at full scale; a share is never widened."""
    figs = tmp_path / "f.csv"
    figs.write_text(",".join(COLUMNS) + "\n" + "\n".join(
        f"{fid},chongqing,T3,{date},{value},{kind},calibrate,0.1,public:synthetic,q,r" for fid, date, value, kind in [
            ("pass_2023", "2023-12-31", 0.6, "review_pass"), ("t3_2023", "2023-12-31", 248, "stock")]) + "\n")
    targets = build_targets(small_cfg(figs))
    one = pd.DataFrame({"year": np.repeat(np.arange(2018, 2025), 4), "quarter": np.tile([1, 2, 3, 4], 7)})
    one["n_T3_titles"] = 250.0  # counts already scaled back up, as check.predictive returns them
    one["recognised_T3"] = np.where((one["year"] == 2020) & (one["quarter"] == 3), 100.0, 0.0)
    one["renewed_first_T3"] = np.where((one["year"] == 2023) & (one["quarter"] == 3), 61.0, 0.0)
    q = pd.concat([one.assign(replication=k) for k in range(3)], ignore_index=True)
    tenth = target_table(targets, q, 0.9, scale=0.1).set_index("id")["in_interval"]
    whole = target_table(targets, q, 0.9, scale=1.0).set_index("id")["in_interval"]
    assert tenth["t3_2023"] and not whole["t3_2023"]
    assert not tenth["pass_2023"] and not whole["pass_2023"]


def test_a_figure_quoted_rounded_is_inside_when_the_interval_reaches_its_range(tmp_path):
    """MIIT's "1.2万" little giants allow 11,500-12,500: runs of 12,200-12,340 reach that range and
    are inside; the same runs against an exact 12,000 are not, nor against "1.1万" (10,500-11,500)."""
    figs = tmp_path / "f.csv"
    figs.write_text(",".join(COLUMNS + OPTIONAL_COLUMNS) + "\n" + "\n".join(
        f"{fid},chongqing,T3,2023-12-31,{value},stock,{use},0.1,public:synthetic,q,r,{unit}"
        for fid, value, use, unit in [("wan", 12000, "calibrate", 1000), ("exact", 12000, "validate", ""),
                                      ("lower", 11000, "validate", 1000)]) + "\n")
    targets = build_targets(small_cfg(figs))
    one = pd.DataFrame({"year": np.repeat(np.arange(2018, 2025), 4), "quarter": np.tile([1, 2, 3, 4], 7)})
    q = pd.concat([one.assign(replication=k, n_T3_titles=v) for k, v in enumerate([12200.0, 12270.0, 12340.0])],
                  ignore_index=True)
    inside = target_table(targets, q, 0.9).set_index("id")["in_interval"]
    assert inside["wan"] and not inside["exact"] and not inside["lower"]


def test_distance_is_zero_inside_tolerance_and_grows_outside():
    t = pd.DataFrame({"id": ["a", "b"], "value": [100.0, 1000.0], "tolerance": [0.1, 0.02], "weight": [1.0, 1.0]})
    d = ToleranceDistance(t)
    assert d({"a": 109.0, "b": 1019.0}) == 0.0  # both within their bands: no credit for an exact hit
    near, far = d({"a": 100.0, "b": 1030.0}), d({"a": 100.0, "b": 1060.0})
    assert 0 < near < far
    assert excess(np.array([130.0]), np.array([100.0]), np.array([0.1]))[0] == pytest.approx(
        (np.log(1.3) - np.log(1.1)) / np.log(1.1))
    assert d({"a": np.nan, "b": 1000.0}) == np.inf  # a missing reading never passes
    dropped = ToleranceDistance(t.assign(weight=[1.0, 0.0]))
    assert dropped({"a": 100.0, "b": 5000.0}) == 0.0


def test_a_fit_at_a_tenth_widens_each_counts_band_by_its_sampling_noise_and_never_a_shares():
    """band_scale_noise: a count C simulated at scale s carries (1/s - 1)/C more variance of its log
    than a full run; its band widens by that, a small count's more than a large one's; a review pass
    share keeps its band; at scale 1 nothing changes."""
    t = pd.DataFrame({"id": ["city", "nation", "pass"], "value": [100.0, 10000.0, 0.6], "tolerance": [0.1] * 3,
                      "weight": [1.0] * 3, "how": ["end", "end", "pass"]})
    run = {"city": 125.0, "nation": 12500.0, "pass": 0.75}  # each 25% over
    plain, tenth = ToleranceDistance(t), ToleranceDistance(t, 0.1)
    assert ToleranceDistance(t, 1.0).of_values(plain.vector(run)) == plain(run)
    e_plain = excess(plain.vector(run), plain.reported, plain.tolerance)
    e_tenth = excess(tenth.vector(run), tenth.reported, tenth.tolerance, tenth.noise_var)
    assert e_tenth[2] == e_plain[2] > 0.0  # the share
    assert e_tenth[0] < e_tenth[1] < e_plain[1] == pytest.approx(e_plain[0])  # the small count gains most
    assert tenth.noise_var[0] == pytest.approx(9.0 / 100.0)
    assert tenth(run) < plain(run)
    fall = ToleranceDistance(t.assign(value=[-50.0, 10000.0, 0.6]), 0.1)
    assert fall.noise_var[0] == 0.0 and np.isfinite(fall.noise_var).all()


def test_distance_misses_twice_and_half_the_reported_figure_equally():
    """A run's counts scatter multiplicatively: a distance that punished overshoot more than the same
    factor of undershoot would pull every noisy figure's fitted median below the reported one."""
    e = excess(np.array([200.0, 50.0, 110.0, 100.0 / 1.1]), np.full(4, 100.0), np.full(4, 0.1))
    assert e[0] == pytest.approx(e[1])
    assert e[0] > 0.0
    assert e[2] == pytest.approx(0.0, abs=1e-12) and e[3] == pytest.approx(0.0, abs=1e-12)  # the band's two edges
    assert excess(np.array([0.0]), np.array([100.0]), np.array([0.1]))[0] == np.inf  # none at all never passes


def test_fit_charts_name_each_figure_in_words():
    """The fit chart goes into briefings: its rows say what was counted, where and when, not codes."""
    from sim.presentation.fit_report import _figure_label

    rows = [
        ("T3", "stock", "2023-08-31", 796.0, "n_T3_titles__beijing at end of 2023Q3"),
        ("T2", "stock", "2025-11-12", 140000.0, "n_T2plus at end of 2025Q4"),
        ("T3", "flow", "2019-12-31", 248.0, "recognised_T3 summed 2019Q1-2019Q4"),
        ("T3", "review_pass", "2024-12-31", 0.829, "renewed_first_T3 in 2024 / recognised_T3 in 2021"),
        ("HTE", "flow", "2023-12-31", 3071.0, "no model flow for HTE"),
        ("T3", "review_due", "2025-12-31", 142.0, "review_due_T3 summed 2025Q1-2025Q4"),
    ]
    labels = [_figure_label(dict(zip(("tier", "kind", "date", "reported", "model_reading"), r))) for r in rows]
    assert labels == ["Little giants (T3), Beijing, Aug 2023: 796", "SRDI SMEs (T2 and above), Nov 2025: 140,000",
                      "New little giants in 2019: 248", "Little giants passing MIIT's 2024 review: 83%",
                      "New high-tech enterprises in 2023: 3,071", "Little giants (T3) due for review in 2025: 142"]


def test_weights_drop_figures_and_cutoff_holds_later_ones_out(tmp_path):
    write_figures(tmp_path / "f.csv", {f[0]: 1000 for f in FIGURES})
    cfg = small_cfg(tmp_path / "f.csv", weights={"s_hte_2021": 0.0}, cutoff="2022-12-31")
    t = build_targets(cfg).set_index("id")
    assert t.loc["s_hte_2021", "role"] == "dropped"
    assert set(t.index[t["role"] == "held out"]) == {"s_all_flow_2023", "s_hte_2023", "s_t2_2023", "s_t3_2023"}
    assert set(fitted(t.reset_index())["id"]) == {"s_all_2020", "s_all_2022", "s_t2_2022"}


# --------------------------------------------------------------------------- recovery (the core)
def test_fit_recovers_known_parameters_within_its_interval(synthetic, tmp_path):
    cfg = small_cfg(synthetic, out=str(tmp_path / "fit"))
    fit = run_fit(cfg, "test", progress=False)
    post = fit.posterior
    lo, hi = post.quantile(0.05), post.quantile(0.95)
    for name, true in TRUE.items():
        assert lo[name] <= true <= hi[name], (name, lo[name], true, hi[name])
    table = parameter_table(cfg, post, 0.9).set_index("parameter")
    # the data must have taught the fit something: on the report's own scale (below 0.8 the data
    # inform a parameter, below 0.5 they pin it down) the pool and HTE counts inform their rates;
    # this fast setting (few particles and generations) narrows failure_rate to about 0.6
    assert table.loc["failure_rate", "width_ratio"] < 0.8
    assert table.loc["high_tech_rate", "width_ratio"] < 0.8
    assert fit.epsilons == sorted(fit.epsilons, reverse=True)
    # generation 0 accepts every prior draw at equal weight: worth all its particles; later ones less
    assert len(fit.ess) == fit.generations and fit.ess[0] == pytest.approx(cfg.calibration.particles)
    assert all(0 < e <= cfg.calibration.particles + 1e-9 for e in fit.ess)


def test_a_fit_with_each_particles_own_proposal_runs_its_generations(synthetic, tmp_path):
    """``transition: local`` (pyabc's LocalTransition) is a proposal a fit can take from the CLI."""
    cfg = small_cfg(synthetic, out=str(tmp_path / "local"), transition="local", kernel_scaling=1.0,
                    particles=20, generations=2)
    fit = run_fit(cfg, "test", progress=False)
    assert fit.generations == 2 and len(fit.posterior.weights) == 20 and len(fit.ess) == 2
    assert fit.epsilons[1] < fit.epsilons[0]


# ----------------------------------------------------------------------- the command end to end
def test_backtest_command_end_to_end_then_runs_draw_from_it(synthetic, tmp_path, capsys):
    out = tmp_path / "bt"
    installed = post_mod.default_file("chongqing")
    before = installed.stat().st_mtime_ns if installed.exists() else None
    argv = [f"reported_figures={synthetic}", "calibration.use=none", "calibration.scale=0.1",
            "calibration.particles=20", "calibration.generations=2", "calibration.check_replications=4",
            "calibration.processes=2", f"out={out}", "cutoff=2022-12-31", "progress=false"]
    assert calibrate_command(argv) == 0, capsys.readouterr().err
    done = json.loads((out / "COMPLETE").read_text())
    for name in done["files"]:
        assert (out / name).stat().st_size > 0
    md = (out / "report.md").read_text()
    assert "## Backtest" in md and "cut-off 2022-12-31" in md and "## Fitted parameters" in md
    assert "Effective sample size of each generation's weights (of 20" in md
    targets = pd.read_csv(out / "targets.csv")
    held = targets[targets["role"] == "held out"]
    assert set(held["id"]) == {"s_all_flow_2023", "s_hte_2023", "s_t2_2023", "s_t3_2023"}
    assert held["sim_median"].notna().all() and (held["sim_low"] <= held["sim_high"]).all()
    params = pd.read_csv(out / "parameters.csv")
    documented = compose_job(["calibration.use=none"]).calibration.priors
    assert list(params["parameter"]) == list(documented) and params["width_ratio"].between(0, 1.2).all()
    meta = yaml.safe_load((out / "posterior.yaml").read_text())
    assert meta["fit"]["cutoff"] == "2022-12-31" and meta["command"].startswith("python -m sim calibrate")
    # it records what a later run must match to be described by it (post_mod.staleness)
    assert meta["settings"] == post_mod.fit_settings(compose_job([]))
    assert meta["national_bar_created"] == post_mod.load_posterior(post_mod.default_file("national")).meta["created"]
    assert meta["national_bar_ranked_until"] == max(compose_job([]).miit.batch_sizes)
    assert (installed.stat().st_mtime_ns if installed.exists() else None) == before  # a backtest never installs

    # runs draw from it: replication k uses the same draw in every scenario, recorded per replication
    run = [f"calibration.file={out / 'posterior.yaml'}", "calibration.use=posterior", "replications=4",
           "end_year=2019", "outcomes.report_years=[2019]", "progress=false"]
    a = run_replications(compose_job(run)).attrs["parameters"]
    b = run_replications(compose_job([*run, "+scenario=full_package"])).attrs["parameters"]
    pd.testing.assert_frame_equal(a, b)
    assert (a["source"] == "posterior draw").all() and "failure_rate" in a.columns
    post = post_mod.load_posterior(out / "posterior.yaml")
    for _, r in a.iterrows():
        assert r["failure_rate"] == post.values[int(r["particle"]), post.names.index("failure_rate")]


def test_a_full_fit_writes_only_its_own_directory(synthetic, tmp_path, capsys):
    """A tiny fit (20 particles, one generation) never becomes the default every run reads."""
    default = post_mod.default_file("chongqing")
    watched = [default, *sorted((default.parent / "chongqing").rglob("*")), *sorted(default.parent.glob("previous/*"))]
    before = {p: p.read_bytes() for p in watched if p.is_file()}
    out = tmp_path / "tiny"
    argv = [f"reported_figures={synthetic}", "calibration.use=none", "calibration.scale=0.1",
            "calibration.particles=20", "calibration.generations=1", "calibration.check_replications=2",
            "calibration.processes=1", f"out={out}", "progress=false"]
    assert calibrate_command(argv) == 0, capsys.readouterr().err
    assert f"python -m sim calibrate install {out}" in capsys.readouterr().err
    assert verify(out).finished and "posterior.yaml" in json.loads((out / "COMPLETE").read_text())["sha256"]
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(default.parent.glob("previous/*")) == sorted(p for p in watched if p.parent.name == "previous")


def test_a_fit_keeps_the_figures_it_started_with_if_the_file_is_edited_while_it_runs(synthetic, tmp_path,
                                                                                    monkeypatch, capsys):
    """The report (targets table, tier chart) is of the figures the fit was made with: an edit to
    the figures file while a fit runs, even one that breaks it, neither stops nor changes it."""
    import sim.commands.calibrate as calibrate_mod

    figures = tmp_path / "figures.csv"
    figures.write_bytes(synthetic.read_bytes())
    real_run_fit = calibrate_mod.run_fit

    def run_fit_then_edit(*args, **kwargs):
        fit = real_run_fit(*args, **kwargs)
        figures.write_text("id,region\nbroken,chongqing\n")  # edited while the fit ran
        return fit

    monkeypatch.setattr(calibrate_mod, "run_fit", run_fit_then_edit)
    out = tmp_path / "fit"
    argv = [f"reported_figures={figures}", "calibration.use=none", "calibration.scale=0.1",
            "calibration.particles=20", "calibration.generations=1", "calibration.check_replications=2",
            "calibration.processes=1", f"out={out}", "progress=false"]
    assert calibrate_command(argv) == 0, capsys.readouterr().err
    assert verify(out).finished and (out / "fit_tiers.png").is_file()
    table = pd.read_csv(out / "targets.csv")
    assert sorted(table["id"]) == sorted(f[0] for f in FIGURES)


def test_resume_continues_the_same_fit(synthetic, tmp_path, capsys, monkeypatch):
    cfg = small_cfg(synthetic, out=str(tmp_path / "r"), generations=1, particles=20)
    # a fit started on a busy machine says so: its time budget will buy fewer simulations
    monkeypatch.setattr(driver, "busy_share", lambda: 1.0)
    first = run_fit(cfg, "test", progress=False)
    assert "the machine is busy before the fit starts" in capsys.readouterr().err
    monkeypatch.setattr(driver, "busy_share", lambda: 0.0)
    more = small_cfg(synthetic, out=str(tmp_path / "r"), generations=2, particles=20)
    second = run_fit(more, "test", progress=False)
    assert second.resumed and second.abc_id == first.abc_id
    assert second.generations == 2 and second.epsilons[0] == first.epsilons[0]
    # it continues where it stopped: the next threshold is the median distance of the stored
    # generation, not the first generation's inf again
    assert np.isfinite(second.epsilons[1])
    assert second.evaluations > first.evaluations
    # each generation's share of its cores is kept across processes, like its time and simulations
    assert len(second.cpu_share) == 2 and all(0.0 < c <= 1.0 for c in second.cpu_share)
    assert "busy" not in capsys.readouterr().err
    state = json.loads((tmp_path / "r" / "state.json").read_text())
    assert list(state["runs"]) == [str(first.abc_id)]
    # a finished fit with the same settings is not redone; restart=true starts a new one
    # ... and keeps what the process that finished it said of why it stopped
    state["runs"][str(first.abc_id)]["stop_reason"] = f"{second.stop_reason} (and more it saw)"
    (tmp_path / "r" / "state.json").write_text(json.dumps(state))
    again = run_fit(more, "test", progress=False)
    assert again.resumed and again.evaluations == second.evaluations
    assert again.stop_reason == f"{second.stop_reason} (and more it saw)"
    fresh = run_fit(small_cfg(synthetic, out=str(tmp_path / "r"), generations=1, particles=20,
                              restart=True), "test", progress=False)
    assert fresh.abc_id != first.abc_id


@pytest.mark.parametrize("shares, shared", [([0.97, 0.95, 0.99], False), ([0.95, 0.36, 0.34], True)])
def test_a_fit_report_says_when_other_work_shared_the_cores(shares, shared):
    """The median share of its cores a fit got is in its report, which says when the machine was
    shared: a fit that shared two cores with the tests got a third of the simulations (NOTES)."""
    text = core_share_note(float(np.median(shares)), 2)
    assert f"got {np.median(shares):.0%} of their cores" in text
    assert ("other work shared the machine" in text) == shared
    assert core_share_note(None, 2) == ""  # a fit with no timed generation says nothing


def test_the_posterior_is_the_last_generation_worth_min_ess_particles(synthetic, tmp_path):
    """A generation whose weights collapsed is reported, not used: the same fit read again with a
    higher ``min_ess`` (no new generation: the fingerprint ignores it) takes an earlier generation,
    the last whose ESS reaches it, and its report says which."""
    from sim.presentation.fit_report import _posterior_generation

    out = str(tmp_path / "m")
    fit = run_fit(small_cfg(synthetic, out=out, generations=3, particles=20), "test", progress=False)
    assert fit.posterior_generation == 2 and _posterior_generation(fit, 10.0) == ""
    strict = run_fit(small_cfg(synthetic, out=out, generations=3, particles=20, min_ess=19.5), "test",
                     progress=False)
    assert strict.resumed and strict.evaluations == fit.evaluations
    use = max(t for t, e in enumerate(strict.ess) if e >= 19.5)
    assert strict.posterior_generation == use < 2  # generation 0 (the prior sample) is worth all 20
    import pyabc
    _, w = pyabc.History(f"sqlite:///{Path(out) / 'abc.db'}", _id=strict.abc_id).get_distribution(t=use)
    np.testing.assert_allclose(strict.posterior.weights, np.asarray(w) / np.sum(w))
    assert f"The posterior is generation {use}" in _posterior_generation(strict, 19.5)
    with pytest.raises(InputError, match="min_ess: at most particles"):
        small_cfg(synthetic, particles=20, min_ess=21.0)


# ------------------------------------------------------------------------------ posterior draws
def test_replication_draws_are_seeded_per_replication(tmp_path):
    names = ("failure_rate", "apply_t2")
    region = compose_job(["calibration.use=none"]).uncertainties
    post = post_mod.Posterior("chongqing", names, np.full(50, 1 / 50),
                              np.column_stack([np.linspace(0.03, 0.1, 50), np.linspace(0.3, 0.9, 50)]),
                              meta={"fit": {}, "region_values": {n: getattr(region, n) for n in names}})
    path = tmp_path / "p.yaml"
    post_mod.write_posterior(path, post, "test")
    cfg = compose_job([f"calibration.file={path}", "calibration.use=posterior"])
    _, five = post_mod.replication_parameters(cfg, replication_seeds(3, 5))
    _, three = post_mod.replication_parameters(cfg, replication_seeds(3, 3))
    pd.testing.assert_frame_equal(five.iloc[:3], three)  # draw k does not depend on how many replications
    assert five["particle"].nunique() > 1
    _, med = post_mod.replication_parameters(compose_job([f"calibration.file={path}", "calibration.use=median"]),
                                             replication_seeds(3, 2))
    assert (med["particle"] == -1).all() and med["failure_rate"].nunique() == 1
    cfgs, _ = post_mod.replication_parameters(cfg, replication_seeds(3, 2))
    assert cfgs[0].uncertainties.failure_rate == five.loc[0, "failure_rate"]
    # a fitted parameter set by hand keeps the run's value; the others are still drawn
    hand = compose_job([f"calibration.file={path}", "calibration.use=posterior", "uncertainties.failure_rate=0.111"])
    cfgs, table = post_mod.replication_parameters(hand, replication_seeds(3, 5))
    assert (table["failure_rate"] == 0.111).all() and all(c.uncertainties.failure_rate == 0.111 for c in cfgs)
    pd.testing.assert_series_equal(table["apply_t2"], five["apply_t2"])
    # ... also when the value given is the region file's own (it is named on the command line)
    same = compose_job([f"calibration.file={path}", "calibration.use=posterior",
                        f"uncertainties.failure_rate={region.failure_rate!r}"])
    _, table = post_mod.replication_parameters(same, replication_seeds(3, 5))
    assert (table["failure_rate"] == region.failure_rate).all()
    pd.testing.assert_series_equal(table["apply_t2"], five["apply_t2"])
    # the fit's own check draws every fitted parameter, whatever the fit's overrides named
    _, drawn = predictive_jobs(same, path, 5, 1.0)
    _, as_run = post_mod.replication_parameters(cfg, replication_seeds(same.seed, 5))
    assert drawn["failure_rate"].nunique() > 1
    pd.testing.assert_series_equal(drawn["failure_rate"], as_run["failure_rate"])


def test_overrides_name_the_uncertainties_they_set():
    cfg = compose_job(["region=national", "+uncertainties.area_push_points.beijing=0", "+uncertainties.area_weight={shandong:2}",
                       "uncertainties.growth_mean=0.05", "seed=3"])
    named = [n for n in ("area_push_points.beijing", "area_push_points.shanghai", "area_weight.shanghai",
                         "growth_mean", "failure_rate") if cfg.names_uncertainty(n)]
    assert named == ["area_push_points.beijing", "area_weight.shanghai", "growth_mean"]
    assert not compose_job(["region=national"]).names_uncertainty("growth_mean")


# ------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("args, expected", [
    (["calibration.weights.nope=0"], "calibration.weights.nope: no figure with this id"),
    (["cutoff=2010-01-01"], "no figure to fit"),
    (["calibration.priors.failure_rate.low=0.5"], "calibration.priors.failure_rate.low: must be below high"),
    (["calibration.priors.apply_t3.high=1.5"], "calibration.priors.apply_t3.high: outside what"),
    (["cutoff=yesterday"], "calibration.cutoff"),
])
def test_bad_calibrate_input_one_line_nothing_written(tmp_path, capsys, args, expected):
    out = tmp_path / "never"
    assert calibrate_command([*args, f"out={out}", "calibration.use=none"]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1, err
    assert not out.exists()


def test_run_asking_for_a_missing_posterior_fails_before_anything(tmp_path):
    with pytest.raises(InputError, match="calibration.file: posterior needs a calibrated file"):
        compose_job([f"calibration.file={tmp_path / 'none.yaml'}", "calibration.use=posterior"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("region: chongqing\nparameters: [failure_rate]\nparticles: {weight: [1], failure_rate: [7]}\n")
    with pytest.raises(InputError, match="failure_rate = 7 is outside"):
        compose_job([f"calibration.file={bad}"])
