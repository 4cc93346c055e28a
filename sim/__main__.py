"""`python -m sim COMMAND ...` — dispatch only; each command lives in ``sim.commands``."""

from __future__ import annotations

import sys

from sim.commands.calibrate import calibrate_command
from sim.commands.compare import compare_command
from sim.commands.run import run_command
from sim.commands.sensitivity import sensitivity_command

USAGE = """usage: python -m sim COMMAND [ARGS]

commands:
  run         simulate a scenario (or a Hydra multirun sweep with -m); `python -m sim run --help`
  compare     rebuild a sweep's comparison from its finished jobs; `python -m sim compare --help`
  calibrate   fit the uncertain parameters to the reported figures (ABC-SMC); `python -m sim calibrate --help`
  sensitivity which uncertain parameters can flip a sweep's ranking (SALib); `python -m sim sensitivity --help`
"""
COMMANDS = {"run": run_command, "compare": compare_command, "calibrate": calibrate_command,
            "sensitivity": sensitivity_command}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command in COMMANDS:
        return COMMANDS[command](rest)
    print(f"sim: unknown command {command!r}: allowed are {', '.join(COMMANDS)}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
