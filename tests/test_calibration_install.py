"""A calibration never replaces the default every run reads by itself. Installing a finished fit is
an explicit command that checks the fit directory (COMPLETE and its checksums; never a backtest),
keeps the previous default with its report under configs/calibrated/previous/, and a run's
summary says which calibration it used."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.commands import calibrate as cal_cmd
from sim.commands.calibrate import calibrate_command
from sim.commands.run import compose_job
from sim.experiment import posterior as post_mod
from sim.experiment.store import write_complete

REAL = Path(post_mod.CALIBRATED_DIR)
REPORT = ["report.md", "targets.csv", "parameters.csv"]


@pytest.fixture
def calibrated(tmp_path, monkeypatch) -> Path:
    """A private configs/calibrated/ holding a copy of the committed Chongqing default."""
    d = tmp_path / "calibrated"
    d.mkdir()
    shutil.copyfile(REAL / "chongqing.yaml", d / "chongqing.yaml")
    shutil.copytree(REAL / "chongqing", d / "chongqing")
    monkeypatch.setattr(post_mod, "CALIBRATED_DIR", d)
    monkeypatch.setattr(cal_cmd, "CALIBRATED_DIR", d)
    return d


def make_fit(d: Path, created: str = "2027-01-02T03:04:05", cutoff: str | None = None, seal: bool = True) -> Path:
    """A finished fit directory as `sim calibrate` leaves it (posterior, report files, COMPLETE)."""
    d.mkdir(parents=True)
    meta = {"command": "python -m sim calibrate region=chongqing", "created": created, "model_source": "abc123",
            "fit": {"particles": 10, "generations": 1, "cutoff": cutoff}}
    post = post_mod.Posterior("chongqing", ("failure_rate",), np.array([0.5, 0.5]), np.array([[0.04], [0.06]]),
                              None, meta)
    post_mod.write_posterior(d / "posterior.yaml", post, "test fit")
    for f in REPORT:
        (d / f).write_text(f"{f} of the fit created {created}\n")
    if seal:
        write_complete(d, ["posterior.yaml", *REPORT])
    return d


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_install_keeps_the_previous_default_and_its_report(calibrated, tmp_path, capsys):
    old, old_report = (calibrated / "chongqing.yaml").read_bytes(), tree(calibrated / "chongqing")
    fit = make_fit(tmp_path / "fit")
    assert calibrate_command(["install", str(fit)]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "installed:" in err and "previous default is kept as" in err
    assert (calibrated / "chongqing.yaml").read_bytes() == (fit / "posterior.yaml").read_bytes()
    assert tree(calibrated / "chongqing") == {f: (fit / f).read_bytes() for f in REPORT}
    created = yaml.safe_load(old)["created"]  # the committed fit's `created` names the kept copy
    kept = calibrated / "previous" / f"chongqing-{created.replace(':', '-')}"
    assert (kept.parent / f"{kept.name}.yaml").read_bytes() == old and tree(kept) == old_report
    before = tree(calibrated)  # installing the same fit again changes nothing
    assert calibrate_command(["install", str(fit)]) == 0
    assert tree(calibrated) == before and "previous default" not in capsys.readouterr().err
    second = make_fit(tmp_path / "fit2", created="2027-02-03T00:00:00")
    assert calibrate_command(["install", str(second)]) == 0
    assert (calibrated / "previous" / "chongqing-2027-01-02T03-04-05.yaml").read_bytes() == \
        (fit / "posterior.yaml").read_bytes()


@pytest.mark.parametrize("damage, expected", [
    ("unsealed", "not a finished fit (no COMPLETE marker"),
    ("tampered", "posterior.yaml: changed after the run finished"),
    ("backtest", "a backtest (fitted on figures up to 2023-12-31) is never installed"),
    ("missing", "not a finished fit (no COMPLETE marker"),
])
def test_install_refuses_an_unfinished_damaged_or_backtest_fit(calibrated, tmp_path, capsys, damage, expected):
    fit = tmp_path / "fit"
    if damage != "missing":
        make_fit(fit, seal=damage != "unsealed", cutoff="2023-12-31" if damage == "backtest" else None)
    if damage == "tampered":
        (fit / "posterior.yaml").write_text((fit / "posterior.yaml").read_text().replace("0.06", "0.6"))
    before = tree(calibrated)
    assert calibrate_command(["install", str(fit)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sim: calibrate install ") and expected in lines[0], lines
    assert tree(calibrated) == before


def test_the_old_install_flag_is_refused_with_the_way_to_install(tmp_path, capsys):
    assert calibrate_command(["calibration.install=true", f"out={tmp_path / 'never'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "python -m sim calibrate install FIT_DIR" in err
    assert not (tmp_path / "never").exists()
    assert calibrate_command(["--help"]) == 0 and "calibrate install FIT_DIR" in capsys.readouterr().out


def test_a_run_says_which_calibration_it_used(tmp_path):
    fit = make_fit(tmp_path / "fit")
    median = compose_job([f"calibration.file={fit / 'posterior.yaml'}", "calibration.use=median"])
    line = post_mod.provenance(median)
    assert line.startswith("Parameters: posterior median from ") and str(fit / "posterior.yaml") in line
    assert "created 2027-01-02T03:04:05" in line and "model source abc123" in line and "May be stale" in line
    default = post_mod.provenance(compose_job([]))
    assert "a posterior draw per replication from configs/calibrated/chongqing.yaml" in default
    assert post_mod.provenance(compose_job(["calibration.use=none"])) == (
        "Parameters: the region's own values (configs/uncertainties/chongqing.yaml; calibration.use=none).")


def test_a_fit_is_stale_for_other_region_or_miit_settings_or_another_national_bar(tmp_path):
    """Fits store the region and MIIT settings they were made with (a single-region fit also the
    national fit whose bar it met): a run that differs is warned, naming what differs; the sample
    simulated and MIIT's batches after the published ones are not fit settings."""
    for region in ("chongqing", "national"):
        cfg = compose_job([f"region={region}"])
        assert post_mod.staleness(cfg, post_mod.resolve(cfg)) == []
    national = compose_job(["region=national", "region.population_scale=0.1", "miit.batch_after=2500"])
    assert post_mod.staleness(national, post_mod.resolve(national)) == []
    cq = compose_job(["region.sme_employee_cap=0", "miit.min_growth={2019: 0.2, 2022: 0.05}"])
    assert post_mod.staleness(cq, post_mod.resolve(cq)) == [
        "region or MIIT settings differ from those of the fit: region.sme_employee_cap (1000 at the fit, "
        "0 now); miit.min_growth.2019 (0.1 at the fit, 0.2 now)"]
    refit = tmp_path / "national.yaml"
    refit.write_text(re.sub(r"^created: .*$", "created: '2030-01-02T03:04:05'", (REAL / "national.yaml").read_text(),
                            count=1, flags=re.M))
    other_bar = compose_job([f"miit.bar_file={refit}"])
    (why,) = post_mod.staleness(other_bar, post_mod.resolve(other_bar))
    assert why.startswith("the fit met the national merit bar of the national fit created 2026-")
    assert why.endswith("national.yaml, created 2030-01-02T03:04:05")
    # a fit that ranked the bar's trajectories over other years (or over all: before 2026-12-07) meets
    # other trajectories at its fitted quantiles
    text = (REAL / "chongqing.yaml").read_text()
    assert re.search(r"^national_bar_ranked_until: 2025$", text, flags=re.M)
    every_year = tmp_path / "chongqing.yaml"
    every_year.write_text(re.sub(r"^national_bar_ranked_until: .*\n", "", text, flags=re.M))
    ranked_all = compose_job([f"calibration.file={every_year}"])
    assert post_mod.staleness(ranked_all, post_mod.resolve(ranked_all)) == [
        "the fit ranked the national bar's trajectories over every year; this run ranks them over the years "
        "to 2025, so a fitted national_bar_quantile meets another trajectory"]
