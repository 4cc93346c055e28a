"""`python -m sim compare SWEEP_DIR [--baseline JOB] [--year YEAR]`: rebuild a sweep's comparison
from its finished jobs (after a crash, or on job outputs copied back from a cluster). The Hydra
callback ``sim.commands.callbacks.CompareOnMultirunEnd`` writes the same files when a sweep ends.

A job whose files no longer match the checksums its COMPLETE marker recorded is left out and listed
as tampered, with one line on stderr naming the file; the comparison of the other jobs is written
(exit 0). While a sweep still runs in the directory, compare refuses, naming that process."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from sim.analysis.sweep import OUT_DIRNAME, find_jobs
from sim.commands.args import OneLineParser
from sim.core.errors import InputError
from sim.core.paths import display
from sim.experiment.store import hold
from sim.presentation.comparison_report import write_comparison


def compare_command(argv: list[str]) -> int:
    p = OneLineParser(prog="python -m sim compare", description=(
        "Rebuild the comparison of a sweep from its finished jobs: "
        "SWEEP_DIR/comparison/{comparison.csv, ranking.csv, comparison.md, report.html, *.png}. "
        "Unfinished jobs are skipped and listed."))
    p.add_argument("sweep_dir", type=Path, help="a sweep directory, e.g. results/sweeps/<time>")
    p.add_argument("--baseline", help="job to take differences against (directory name, job number or label); "
                                      "default: the job that runs the status-quo policy")
    p.add_argument("--year", type=int, help="report year to rank packages at (default: outcomes.rank_year, 2027; the last report year of a shorter run)")
    try:
        args = p.parse_args(argv)
        jobs = find_jobs(args.sweep_dir)  # a bad path is an error before anything is created
        target = args.sweep_dir / OUT_DIRNAME
        if os.path.lexists(target) and not target.is_dir():
            raise InputError(f"{display(target)}: is in the way of the comparison (not a directory); move it away")
        with hold(args.sweep_dir, "python -m sim compare " + " ".join(shlex.quote(a) for a in argv)):
            out, ranking = write_comparison(args.sweep_dir, baseline=args.baseline, year=args.year)
    except InputError as exc:
        print(f"sim: compare: {exc}", file=sys.stderr)
        return 2
    for j in jobs:
        if j.tampered:
            print(f"sim: compare: {j.tampered}; job {j.name} is left out of the comparison (listed as tampered)",
                  file=sys.stderr)
    print(f"comparison written to {out}/ (report.html, comparison.md, comparison.csv)")
    print(ranking.removeprefix("## "))  # the ranking table
    return 0
