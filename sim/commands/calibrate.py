"""`python -m sim calibrate [OVERRIDES]`: fit and report — or backtest with ``cutoff=DATE`` — into
the fit's own working directory; `python -m sim calibrate install DIR`: make a finished fit the
region's default, keeping the previous one.

Overrides are the same Hydra overrides as `sim run` (``region=national``, ``seed=1``,
``calibration.particles=100``); the calibration settings may also be given bare
(``cutoff=2023-12-31`` for ``calibration.cutoff=2023-12-31``). The config is composed and validated
before anything is written; bad input is one line and exit code 2. A fit never replaces the
calibration every run reads (``configs/calibrated/<region>.yaml``) by itself: a 10-particle test fit
must not become the default without a word. Installing is a separate, explicit step, taken after
reading the fit's report; it checks the fit's COMPLETE marker and checksums first.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shlex
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

from sim.calibration import check
from sim.calibration.driver import default_out_dir, run_fit
from sim.calibration.targets import build_targets, fitted
from sim.commands.run import compose_job
from sim.core.errors import InputError
from sim.core.figures import configured_figures
from sim.core.paths import CALIBRATED_DIR, display
from sim.core.schema import Calibration, SimConfig, value_of
from sim.experiment import posterior as post_mod
from sim.experiment.store import COMPLETE, hold, verify, write_complete, write_text
from sim.presentation.fit_report import write_fit_report

USAGE = """usage: python -m sim calibrate [OVERRIDES]
       python -m sim calibrate install FIT_DIR

Fit the uncertain parameters (calibration.priors) to the reported figures (rows with use=calibrate
in reported_figures) with ABC-SMC and write the posterior (posterior.yaml) and a fit report
(report.md) into the fit's working directory, results/calibration/<region>[_cutoff-DATE] (or
calibration.out). Nothing else changes: `python -m sim run` keeps reading
configs/calibrated/<region>.yaml until you install the new fit.

  python -m sim calibrate region=chongqing                 full fit (resumes an interrupted one)
  python -m sim calibrate region=chongqing cutoff=2023-12-31   backtest: fit figures up to the date,
                                                           score the forecast of the later ones
  python -m sim calibrate calibration.particles=60 calibration.generations=3   a quick fit

  python -m sim calibrate install results/calibration/chongqing
      after reading its report.md: checks the fit directory (COMPLETE and its checksums; a backtest
      is never installed), moves the current default to configs/calibrated/previous/<region>-<created>.yaml
      (with its report directory), then installs the fit as configs/calibrated/<region>.yaml with its
      report in configs/calibrated/<region>/. Runs say in summary.md which calibration they used.

Settings (calibration.X or bare X): particles, generations, min_epsilon, max_minutes, processes,
scale, band_scale_noise, check_replications, cutoff, out, restart, weights.FIGURE_ID (0 drops a figure),
priors.NAME.low/high/scale. Defaults and documented priors: configs/calibration/default.yaml.
"""
INSTALL_HINT = ("a fit no longer installs itself; read its report, then run "
                "`python -m sim calibrate install FIT_DIR`")
POSTERIOR = "posterior.yaml"
PREVIOUS = "previous"

BARE = set(Calibration.model_fields) - set(SimConfig.model_fields) - {"use", "file"}


def translate(argv: list[str]) -> list[str]:
    """Bare calibration settings (``cutoff=...``) -> ``calibration.cutoff=...``; a figure's weight
    (``calibration.weights.ID=0``) is added to the empty default mapping without Hydra's ``+``."""
    out = []
    for a in argv:
        prefix = a[0] if a[:1] in ("+", "~") else ""
        body = a[len(prefix):]
        if body.split("=", 1)[0] in ("install", "calibration.install"):
            raise InputError(f"calibration.install: {INSTALL_HINT}")
        if body.split("=", 1)[0].split(".", 1)[0] in BARE:
            body = f"calibration.{body}"
        if not prefix and body.startswith("calibration.weights.") and "=" in body:
            prefix = "+"
        out.append(prefix + body)
    return out


def _meta(cfg: SimConfig, fit, command: str) -> dict:
    cal = cfg.calibration
    ft = fit.targets[fit.targets["role"] == "fitted"]
    meta = {
        "command": command,
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "model_source": fit.model_source,
        "fit": {
            "method": "ABC-SMC (pyabc), tolerance distance (sim.calibration.distance)",
            "particles": cal.particles, "generations": fit.generations, "stop": fit.stop_reason,
            "posterior_generation": fit.posterior_generation,
            "final_distance_threshold": float(fit.epsilons[fit.posterior_generation]), "simulations": fit.evaluations,
            "wall_seconds": round(fit.wall_seconds, 1), "processes": cal.processes, "scale": cal.scale,
            "cpu_share": fit.core_share,
            "band_scale_noise": cal.band_scale_noise,
            "seed": cfg.seed, "cutoff": cal.cutoff.isoformat() if cal.cutoff else None,
            "figures": {r["id"]: float(r["weight"]) for _, r in ft.iterrows()},
        },
        "priors": {k: p.model_dump() for k, p in cal.priors.items()},
        # the region file's values of the fitted parameters: a run that sets one to anything else
        # has set it by hand, and keeps its own value (sim.experiment.posterior.replication_parameters)
        "region_values": {k: value_of(cfg.uncertainties.model_dump(), k) for k in cal.priors},
        "fixed_uncertainties": post_mod.fixed_uncertainties(cfg, list(cal.priors)),
        "behaviour": cfg.behaviour.model_dump(mode="json"),  # a later change of it makes the fit stale
        "settings": post_mod.fit_settings(cfg),  # ... and so does one of these (post_mod.staleness)
    }
    bar = post_mod.national_bar(cfg)
    if bar is not None:  # a single-region fit: the national fit whose bar it met (a new one makes it stale)
        meta["national_bar_created"] = bar.created
        meta["national_bar_ranked_until"] = bar.ranked_until  # the years its quantiles were ranked over
    return meta


def calibrate(cfg: SimConfig, command: str, progress: bool = True) -> Path:
    """Fit (or resume), then write the posterior and the report into the fit's working directory,
    holding its lock (one fit per directory); COMPLETE, with checksums, last. Returns the directory.
    The reported figures are read here, once: the fit and its report use them as they were then."""
    figures = configured_figures(cfg)
    fitted(build_targets(cfg, figures))  # bad weights or no figure to fit: one line before anything is written
    with hold(default_out_dir(cfg), command):
        return _calibrate(cfg, command, progress, figures)


def _calibrate(cfg: SimConfig, command: str, progress: bool, figures: pd.DataFrame) -> Path:
    cal = cfg.calibration
    fit = run_fit(cfg, command, progress=progress, figures=figures)
    out = fit.out_dir
    (out / COMPLETE).unlink(missing_ok=True)
    post = post_mod.Posterior(fit.posterior.region, fit.posterior.names, fit.posterior.weights,
                              fit.posterior.values, None, _meta(cfg, fit, command))
    post_file = out / POSTERIOR
    header = f"Calibrated parameters for {cfg.region.label}.\nReproduce with: {command}\nSee the fit report next to it."
    post_mod.write_posterior(post_file, post, header)

    t0 = time.perf_counter()
    quarterly, params = check.predictive(cfg, post_file, cal.check_replications, cal.processes, cal.scale,
                                         progress=progress)
    check_s = time.perf_counter() - t0
    interval = cfg.outcomes.interval
    table = check.target_table(fit.targets, quarterly, interval, cal.scale)
    ptable = check.parameter_table(cfg, post, interval)
    check.write_tables(out, table, ptable, params)
    if cfg.region.areas:  # the national model: keep the bar its runs met, for single-region runs
        post = check.with_merit_bar(cfg, post, quarterly, params)
        post_mod.write_posterior(post_file, post, header)
    report = write_fit_report(out, cfg, fit, command, table, ptable, quarterly, check_s)
    write_complete(out, [POSTERIOR, report[0], "targets.csv", "parameters.csv", "check_parameters.csv", *report[1:]])
    return out


# --------------------------------------------------------------------------------- installing
def _finished_fit(fit_dir: Path) -> tuple[post_mod.Posterior, list[str]]:
    """The posterior of a finished, untouched, full fit in ``fit_dir`` and the files it lists."""
    verdict = verify(fit_dir)
    if not verdict.finished:
        raise InputError(f"install {display(fit_dir)}: not a finished fit ({verdict.message()}); "
                         "run its calibrate command again to finish it")
    files = json.loads((fit_dir / COMPLETE).read_text(encoding="utf-8"))["files"]
    if POSTERIOR not in files:
        raise InputError(f"install {display(fit_dir)}: its COMPLETE lists no {POSTERIOR}: not a fit directory")
    post = post_mod.load_posterior(fit_dir / POSTERIOR)
    cutoff = (post.meta.get("fit") or {}).get("cutoff")
    if cutoff:
        raise InputError(f"install {display(fit_dir)}: a backtest (fitted on figures up to {cutoff}) is never "
                         "installed; fit all figures (no cutoff) to install")
    return post, files


def _keep_previous(region: str) -> Path | None:
    """Move the region's current default (and its report directory) to configs/calibrated/previous/."""
    current, report = post_mod.default_file(region), CALIBRATED_DIR / region
    if not current.exists() and not report.is_dir():
        return None
    try:
        created = str(post_mod.load_posterior(current).meta.get("created") or "")
    except InputError:  # missing or unreadable: kept all the same, undated
        created = ""
    stamp = re.sub(r"[^0-9A-Za-z]+", "-", created).strip("-") or "undated"
    keep_dir = CALIBRATED_DIR / PREVIOUS
    keep_dir.mkdir(parents=True, exist_ok=True)
    name, n = f"{region}-{stamp}", 1
    while (keep_dir / f"{name}.yaml").exists() or (keep_dir / name).exists():
        n += 1
        name = f"{region}-{stamp}-{n}"
    if current.exists():  # copied, not moved: runs find a default at every moment of the install
        write_text(keep_dir / f"{name}.yaml", current.read_text(encoding="utf-8"))
    if report.is_dir():
        os.replace(report, keep_dir / name)
    return keep_dir / f"{name}.yaml" if current.exists() else keep_dir / name


def install(fit_dir: Path, command: str) -> tuple[Path, Path | None]:
    """Make the finished fit in ``fit_dir`` the region's default; returns the installed file and
    where the previous default was kept (None when there was none, or it was this very fit)."""
    post, files = _finished_fit(Path(fit_dir))
    dest = post_mod.default_file(post.region)
    new = (Path(fit_dir) / POSTERIOR).read_text(encoding="utf-8")
    with hold(CALIBRATED_DIR, command):
        if dest.exists() and dest.read_text(encoding="utf-8") == new:
            return dest, None
        staging = CALIBRATED_DIR / f".{post.region}.installing"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for f in files:
            if f != POSTERIOR:
                shutil.copyfile(Path(fit_dir) / f, staging / f)
        kept = _keep_previous(post.region)
        os.replace(staging, CALIBRATED_DIR / post.region)
        write_text(dest, new)  # last: runs read the new posterior only once its report is beside it
    return dest, kept


def install_command(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0].startswith("-"):
        print("sim: calibrate install: give one fit directory, e.g. "
              "`python -m sim calibrate install results/calibration/chongqing`", file=sys.stderr)
        return 2
    try:
        dest, kept = install(Path(argv[0]), "python -m sim calibrate install " + shlex.quote(argv[0]))
    except InputError as exc:
        print(f"sim: calibrate {exc}" if str(exc).startswith("install ") else f"sim: {exc}", file=sys.stderr)
        return 2
    print(f"installed: {display(dest)} (used by `python -m sim run` by default)"
          + (f"; the previous default is kept as {display(kept)}" if kept else ""), file=sys.stderr)
    return 0


def calibrate_command(argv: list[str]) -> int:
    if any(a in ("-h", "--help", "help") for a in argv):
        print(USAGE)
        return 0
    if argv[:1] == ["install"]:
        return install_command(argv[1:])
    command = "python -m sim calibrate" + ("" if not argv else " " + " ".join(shlex.quote(a) for a in argv))
    try:
        cfg = compose_job(translate(argv))
        out = calibrate(cfg, command, progress=cfg.progress)
    except InputError as exc:
        print(f"sim: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nsim: calibration interrupted; finished generations are kept. Run the same command to resume.",
              file=sys.stderr)
        return 130
    rel = display(out)
    print(f"calibration report: {rel}/report.md", file=sys.stderr)
    if cfg.calibration.cutoff is None:
        print(f"runs still use {display(post_mod.default_file(cfg.region.name))}; to use this fit instead, "
              f"read the report, then: python -m sim calibrate install {shlex.quote(rel)}", file=sys.stderr)
    return 0
