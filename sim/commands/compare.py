"""`python -m sim compare SWEEP_DIR [--baseline JOB] [--year YEAR]`: rebuild a sweep's comparison
from its finished jobs (after a crash, or on job outputs copied back from a cluster). The Hydra
callback ``sim.commands.callbacks.CompareOnMultirunEnd`` writes the same files when a sweep ends."""

from __future__ import annotations

import sys
from pathlib import Path

from sim.commands.args import OneLineParser
from sim.core.errors import InputError
from sim.presentation.comparison_report import write_comparison


def compare_command(argv: list[str]) -> int:
    p = OneLineParser(prog="python -m sim compare", description=(
        "Rebuild the comparison of a sweep from its finished jobs: "
        "SWEEP_DIR/comparison/{comparison.csv, ranking.csv, comparison.md, report.html, *.png}. "
        "Unfinished jobs are skipped and listed."))
    p.add_argument("sweep_dir", type=Path, help="a sweep directory, e.g. results/sweeps/<time>")
    p.add_argument("--baseline", help="job to take differences against (directory name, job number or label); "
                                      "default: the job that runs the status-quo policy")
    p.add_argument("--year", type=int, help="report year to rank packages at (default: the last report year)")
    try:
        args = p.parse_args(argv)
        out, ranking = write_comparison(args.sweep_dir, baseline=args.baseline, year=args.year)
    except InputError as exc:
        print(f"sim: compare: {exc}", file=sys.stderr)
        return 2
    print(f"comparison written to {out}/ (report.html, comparison.md, comparison.csv)")
    print(ranking.removeprefix("## "))  # the ranking table
    return 0
