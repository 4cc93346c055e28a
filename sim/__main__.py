"""`python -m sim COMMAND ...` — dispatch only; each command lives in its own module."""

from __future__ import annotations

import sys

USAGE = """usage: python -m sim COMMAND [ARGS]

commands:
  run         simulate a scenario (or a Hydra multirun sweep with -m); `python -m sim run --help`
  compare     rebuild a sweep's comparison from its finished jobs; `python -m sim compare --help`
  calibrate   fit the uncertain parameters to the reported figures (ABC-SMC); `python -m sim calibrate --help`
"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        from sim.cli import run_command

        return run_command(rest)
    if command == "compare":
        from sim.compare import compare_command

        return compare_command(rest)
    if command == "calibrate":
        from sim.calibration.cli import calibrate_command

        return calibrate_command(rest)
    print(f"sim: unknown command {command!r}: allowed are run, compare, calibrate\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
