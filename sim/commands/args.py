"""The argument parser of the commands that are not Hydra apps: a usage error is one line, exit 2."""

from __future__ import annotations

import argparse

from sim.core.errors import InputError


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, via InputError
        raise InputError(message)
