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

from sim.calibration import backtest, report
from sim.calibration import posterior as post_mod
from sim.config import Calibration, SimConfig
from sim.errors import InputError
from sim.outputs import COMPLETE, write_text

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
        # has set it by hand, and keeps its own value (sim.calibration.posterior.replication_parameters)
        "region_values": {k: getattr(cfg.uncertainties, k) for k in cal.priors},
        "fixed_uncertainties": {k: v for k, v in cfg.uncertainties.model_dump().items() if k not in cal.priors},
    }


def calibrate(cfg: SimConfig, command: str, progress: bool = True) -> Path:
    """Fit (or resume), then write the report into the working directory and, for a full fit,
    install it under configs/calibrated/. Returns the working directory."""
    from sim.calibration.driver import run_fit

    cal = cfg.calibration
    fit = run_fit(cfg, command, progress=progress)
    out = fit.out_dir
    (out / COMPLETE).unlink(missing_ok=True)
    post = post_mod.Posterior(fit.posterior.region, fit.posterior.names, fit.posterior.weights,
                              fit.posterior.values, None, _meta(cfg, fit, command))
    post_file = out / "posterior.yaml"
    post_mod.write_posterior(post_file, post, f"Calibrated parameters for {cfg.region.label}.\n"
                             f"Reproduce with: {command}\nSee the fit report next to it.")

    t0 = time.perf_counter()
    quarterly, params = report.predictive(cfg, post_file, cal.check_replications, cal.processes, cal.scale,
                                          progress=progress)
    check_s = time.perf_counter() - t0
    interval = cfg.outcomes.interval
    table = report.target_table(fit.targets, quarterly, interval)
    ptable = report.parameter_table(cfg, post, interval)
    report.write_tables(out, table, ptable, params)
    charts = [
        report.save(out, "fit_tiers.png", report.tiers_chart(cfg, quarterly, fit.targets, cal.check_replications)),
        report.save(out, "fit_targets.png", report.targets_chart(table, cfg.region.label, interval)),
        report.save(out, "parameters.png", report.parameters_chart(cfg, post, ptable)),
    ]
    md = _markdown(cfg, fit, command, table, ptable, check_s)
    write_text(out / "report.md", md)
    files = ["posterior.yaml", "report.md", "targets.csv", "parameters.csv", "check_parameters.csv", *charts]
    write_text(out / COMPLETE, json.dumps({"files": files}, indent=1) + "\n")

    if cal.install and cal.cutoff is None:
        dest = post_mod.default_file(cfg.region.name)
        rep_dir = dest.parent / cfg.region.name
        rep_dir.mkdir(parents=True, exist_ok=True)
        for f in files[1:]:
            shutil.copyfile(out / f, rep_dir / f)
        shutil.copyfile(post_file, dest)  # last: runs pick it up only once the report is beside it
    return out


def _markdown(cfg, fit, command, table, ptable, check_s) -> str:
    cal = cfg.calibration
    pct = int(round(cfg.outcomes.interval * 100))
    stocks = table[(table["kind"] == "stock") & table["sim_median"].notna()]
    fstocks = stocks[stocks["role"] == "fitted"]
    scale_note = (f" Simulated at {cal.scale:g} of the region's population, counts scaled back up "
                  "(see the README's calibration section for the accuracy of this shortcut)." if cal.scale != 1 else "")
    lines = [
        f"# Calibration of {cfg.region.label}" + (f" — backtest with cut-off {cal.cutoff}" if cal.cutoff else ""),
        "",
        f"Reproduce: `{command}`",
        "",
        f"ABC-SMC (pyabc) with {cal.particles} particles: {fit.generations} generation(s), "
        f"{fit.evaluations:,} simulations in {fit.wall_seconds / 60:.1f} min on {cal.processes} process(es)"
        f"{' (resumed)' if fit.resumed else ''}; stopped: {fit.stop_reason}. Distance threshold by generation "
        f"(0 = every fitted figure within its tolerance): {', '.join(f'{e:.3g}' for e in fit.epsilons)}.",
        "",
        f"Check: {cal.check_replications} posterior-predictive runs ({check_s:.0f} s), replication k with "
        f"posterior draw k as `sim run` does, to {cfg.end_year}.{scale_note} "
        f"Reported stock figures (fitted or compared) inside the simulated {pct}% interval: "
        f"**{int(stocks['in_interval'].sum())} of {len(stocks)}** (fitted: {int(fstocks['in_interval'].sum())} of "
        f"{len(fstocks)}); simulated median within 10% of the figure: "
        f"**{int((stocks['rel_error'].abs() <= 0.10).sum())} of {len(stocks)}** "
        f"(fitted: {int((fstocks['rel_error'].abs() <= 0.10).sum())} of {len(fstocks)}).",
        "",
        "## Reported figures",
        "",
        *report.targets_markdown(table, cfg.outcomes.interval),
        "",
        "Roles: *fitted* figures enter the distance; *validate* figures are only compared; *held out* "
        "figures are dated after a backtest cut-off; *dropped* have weight 0. Model reading: the column of "
        "the run's timeseries and the quarter(s) it is read at.",
        "",
        "![tier counts](fit_tiers.png)",
        "",
        "![each figure](fit_targets.png)",
        "",
    ]
    if cal.cutoff:
        lines += ["## Backtest", "", *backtest.markdown(table, cal.cutoff, cfg.outcomes.interval), ""]
    lines += [
        "## Fitted parameters",
        "",
        f"Every other uncertainty stays at its value in configs/uncertainties/{cfg.region.name}.yaml. Width "
        f"ratio: posterior {pct}% width / prior {pct}% width, on the prior's scale (log10 for log priors): "
        "below 0.5 the data pin the parameter down; near 1 they say little and its prior range is carried "
        "into every run's interval.",
        "",
        *report.parameters_markdown(ptable, cfg.outcomes.interval),
        "",
        "![parameters](parameters.png)",
        "",
    ]
    return "\n".join(lines)


def calibrate_command(argv: list[str]) -> int:
    if any(a in ("-h", "--help", "help") for a in argv):
        print(USAGE)
        return 0
    from sim.cli import compose_job

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
    rel = post_mod.display(out)
    print(f"calibration report: {rel}/report.md", file=sys.stderr)
    if cfg.calibration.install and cfg.calibration.cutoff is None:
        print(f"installed: {post_mod.display(post_mod.default_file(cfg.region.name))} "
              "(used by `python -m sim run` by default)", file=sys.stderr)
    return 0
