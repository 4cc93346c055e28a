"""`python -m sim calibrate [OVERRIDES]`: fit, report, install — or backtest with ``cutoff=DATE``.

Overrides are the same Hydra overrides as `sim run` (``region=national``, ``seed=1``,
``calibration.particles=100``); the calibration settings may also be given bare
(``cutoff=2023-12-31`` for ``calibration.cutoff=2023-12-31``). The config is composed and validated
before anything is written; bad input is one line and exit code 2.
"""

from __future__ import annotations

import datetime as _dt
import json
import shlex
import shutil
import sys
import time
from pathlib import Path

from sim.calibration import check
from sim.calibration.driver import run_fit
from sim.commands.run import compose_job
from sim.core.errors import InputError
from sim.core.paths import display
from sim.core.schema import Calibration, SimConfig, value_of
from sim.experiment import posterior as post_mod
from sim.experiment.store import COMPLETE, write_text
from sim.presentation.fit_report import write_fit_report

USAGE = """usage: python -m sim calibrate [OVERRIDES]

Fit the uncertain parameters (calibration.priors) to the reported figures (rows with use=calibrate
in reported_figures) with ABC-SMC, write a fit report, and install the posterior where
`python -m sim run` picks it up (configs/calibrated/<region>.yaml).

  python -m sim calibrate region=chongqing                 full fit (resumes an interrupted one)
  python -m sim calibrate region=chongqing cutoff=2023-12-31   backtest: fit figures up to the date,
                                                           score the forecast of the later ones
  python -m sim calibrate calibration.particles=60 calibration.generations=3   a quick fit

Settings (calibration.X or bare X): particles, generations, min_epsilon, max_minutes, processes,
scale, check_replications, cutoff, out, install, restart, weights.FIGURE_ID (0 drops a figure),
priors.NAME.low/high/scale. Defaults and documented priors: configs/calibration/default.yaml.
"""

BARE = set(Calibration.model_fields) - set(SimConfig.model_fields) - {"use", "file"}


def translate(argv: list[str]) -> list[str]:
    """Bare calibration settings (``cutoff=...``) -> ``calibration.cutoff=...``; a figure's weight
    (``calibration.weights.ID=0``) is added to the empty default mapping without Hydra's ``+``."""
    out = []
    for a in argv:
        prefix = a[0] if a[:1] in ("+", "~") else ""
        body = a[len(prefix):]
        if body.split("=", 1)[0].split(".", 1)[0] in BARE:
            body = f"calibration.{body}"
        if not prefix and body.startswith("calibration.weights.") and "=" in body:
            prefix = "+"
        out.append(prefix + body)
    return out


def _meta(cfg: SimConfig, fit, command: str) -> dict:
    cal = cfg.calibration
    ft = fit.targets[fit.targets["role"] == "fitted"]
    return {
        "command": command,
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "model_source": fit.model_source,
        "fit": {
            "method": "ABC-SMC (pyabc), tolerance distance (sim.calibration.distance)",
            "particles": cal.particles, "generations": fit.generations, "stop": fit.stop_reason,
            "final_distance_threshold": float(fit.epsilons[-1]), "simulations": fit.evaluations,
            "wall_seconds": round(fit.wall_seconds, 1), "processes": cal.processes, "scale": cal.scale,
            "seed": cfg.seed, "cutoff": cal.cutoff.isoformat() if cal.cutoff else None,
            "figures": {r["id"]: float(r["weight"]) for _, r in ft.iterrows()},
        },
        "priors": {k: p.model_dump() for k, p in cal.priors.items()},
        # the region file's values of the fitted parameters: a run that sets one to anything else
        # has set it by hand, and keeps its own value (sim.experiment.posterior.replication_parameters)
        "region_values": {k: value_of(cfg.uncertainties.model_dump(), k) for k in cal.priors},
        "fixed_uncertainties": {k: v for k, v in cfg.uncertainties.model_dump().items()
                                if k not in cal.priors and not isinstance(v, dict)},
        "behaviour": cfg.behaviour.model_dump(mode="json"),  # a later change of it makes the fit stale
    }


def calibrate(cfg: SimConfig, command: str, progress: bool = True) -> Path:
    """Fit (or resume), then write the report into the working directory and, for a full fit,
    install it under configs/calibrated/. Returns the working directory."""
    cal = cfg.calibration
    fit = run_fit(cfg, command, progress=progress)
    out = fit.out_dir
    (out / COMPLETE).unlink(missing_ok=True)
    post = post_mod.Posterior(fit.posterior.region, fit.posterior.names, fit.posterior.weights,
                              fit.posterior.values, None, _meta(cfg, fit, command))
    post_file = out / "posterior.yaml"
    header = f"Calibrated parameters for {cfg.region.label}.\nReproduce with: {command}\nSee the fit report next to it."
    post_mod.write_posterior(post_file, post, header)

    t0 = time.perf_counter()
    quarterly, params = check.predictive(cfg, post_file, cal.check_replications, cal.processes, cal.scale,
                                         progress=progress)
    check_s = time.perf_counter() - t0
    interval = cfg.outcomes.interval
    table = check.target_table(fit.targets, quarterly, interval)
    ptable = check.parameter_table(cfg, post, interval)
    check.write_tables(out, table, ptable, params)
    if cfg.region.areas:  # the national model: keep the bar its runs met, for single-region runs
        post = post_mod.Posterior(post.region, post.names, post.weights, post.values, None,
                                  {**post.meta, "merit_bar": check.merit_bar(cfg, quarterly, params)})
        post_mod.write_posterior(post_file, post, header)
    report = write_fit_report(out, cfg, fit, command, table, ptable, quarterly, check_s)
    files = ["posterior.yaml", report[0], "targets.csv", "parameters.csv", "check_parameters.csv", *report[1:]]
    write_text(out / COMPLETE, json.dumps({"files": files}, indent=1) + "\n")

    if cal.install and cal.cutoff is None:
        dest = post_mod.default_file(cfg.region.name)
        rep_dir = dest.parent / cfg.region.name
        rep_dir.mkdir(parents=True, exist_ok=True)
        for f in files[1:]:
            shutil.copyfile(out / f, rep_dir / f)
        shutil.copyfile(post_file, dest)  # last: runs pick it up only once the report is beside it
    return out


def calibrate_command(argv: list[str]) -> int:
    if any(a in ("-h", "--help", "help") for a in argv):
        print(USAGE)
        return 0
    overrides = translate(argv)
    command = "python -m sim calibrate" + ("" if not argv else " " + " ".join(shlex.quote(a) for a in argv))
    try:
        cfg = compose_job(overrides)
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
    if cfg.calibration.install and cfg.calibration.cutoff is None:
        print(f"installed: {display(post_mod.default_file(cfg.region.name))} "
              "(used by `python -m sim run` by default)", file=sys.stderr)
    return 0
