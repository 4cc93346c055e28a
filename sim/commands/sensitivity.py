"""`python -m sim sensitivity SWEEP_DIR`: which uncertain parameters can flip a sweep's ranking
(Morris screening, then Sobol indices on the few that matter; SALib). Writes
``SWEEP_DIR/sensitivity/`` and rebuilds the comparison so its report shows the tornado chart."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from sim.analysis.paired import build
from sim.calibration import sensitivity
from sim.commands.args import OneLineParser
from sim.core.errors import InputError
from sim.core.schema import validate
from sim.experiment.store import hold
from sim.presentation.comparison_report import write_comparison
from sim.presentation.sensitivity_report import write_sensitivity


def _packages(c) -> tuple[dict, str, str]:
    """Configs of the sweep's finished packages (by label), its best and its runner-up at the ranking year."""
    ranked = c.ranking[~c.ranking["is_reference"]].sort_values("extra_giants", ascending=False, kind="stable")
    if len(ranked) < 2:
        raise InputError(f"{c.sweep_dir}: needs at least two packages besides the reference to rank")
    by_name = {j.name: j for j in c.ok_jobs}
    configs = {}
    for name in ranked["job"]:
        data = {k: v for k, v in by_name[name].config.items()}
        configs[by_name[name].label] = validate(data)
    best, second = (by_name[n].label for n in ranked["job"].head(2))
    return configs, best, second


def sensitivity_command(argv: list[str]) -> int:
    p = OneLineParser(prog="python -m sim sensitivity", description=(
        "Which uncertain parameters (calibrated ones over their posterior range, lever effects over their "
        "priors) can flip a sweep's ranking: Morris screening, then Sobol indices on the top factors, and a "
        "tornado chart of one-at-a-time swings. Writes SWEEP_DIR/sensitivity/ and rebuilds the comparison."))
    p.add_argument("sweep_dir", type=Path)
    p.add_argument("--trajectories", type=int, default=6, help="Morris trajectories (runs: 2 x trajectories x (factors + 1))")
    p.add_argument("--sobol", type=int, default=16, help="Sobol base sample N (runs: 2 x N x (top + 2))")
    p.add_argument("--top", type=int, default=5, help="factors kept for Sobol and the tornado (by Morris mu*)")
    p.add_argument("--year", type=int, help="ranking year (default: the comparison's)")
    p.add_argument("--processes", type=int, default=2)
    try:
        args = p.parse_args(argv)
        for name in ("trajectories", "sobol", "top", "processes"):
            if getattr(args, name) < 1:
                raise InputError(f"--{name}: must be at least 1 (got {getattr(args, name)})")
        c = build(args.sweep_dir, year=args.year)
        configs, best, second = _packages(c)
        command = "python -m sim sensitivity " + " ".join(shlex.quote(a) for a in argv)
        with hold(args.sweep_dir, command):  # no sweep or compare may write there meanwhile
            study = sensitivity.run(configs, best, second, c.rank_year, args.trajectories, args.sobol, args.top,
                                    args.processes, seed=int(c.ok_jobs[0].seed))
            out = write_sensitivity(args.sweep_dir, study, c.region_label(), command)
            write_comparison(args.sweep_dir, year=args.year)
    except InputError as exc:
        print(f"sim: sensitivity: {exc}", file=sys.stderr)
        return 2
    print(f"sensitivity written to {out}/ ({study.runs} runs in {study.seconds:.0f} s); comparison rebuilt")
    print(study.morris.head(args.top).to_string(index=False))
    return 0
