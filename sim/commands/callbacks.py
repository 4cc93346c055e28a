"""Hydra callback: record the jobs a sweep plans when it starts, write its comparison when it ends.

Registered in ``configs/config.yaml`` under ``hydra.callbacks``, so every ``python -m sim run -m ...``
ends with ``<sweep>/comparison/report.html``, whatever the launcher (joblib, basic, Ray, submitit):
``on_multirun_end`` runs in the launching process once every job has returned. A failure there never
turns a finished sweep into a failed command: the jobs' outputs are complete, so the callback logs one
line saying how to rebuild the comparison with ``python -m sim compare``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from sim.analysis.sweep import PLANNED_JOBS
from sim.commands.run import expand_jobs
from sim.core.errors import InputError
from sim.experiment.store import write_text
from sim.presentation.comparison_report import write_comparison

log = logging.getLogger("sim")


class CompareOnMultirunEnd(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """``planned_jobs.json``: every job's overrides by job number, so a comparison can list the
        jobs that never started."""
        try:
            jobs = expand_jobs(list(config.hydra.overrides.task), multirun=True)
        except InputError:
            return
        sweep_dir = Path(str(config.hydra.sweep.dir))
        write_text(sweep_dir / PLANNED_JOBS, json.dumps({"jobs": jobs}, indent=1) + "\n")

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        try:
            out, _ = write_comparison(sweep_dir)
        except InputError as exc:
            log.warning("sweep comparison not written: %s", exc)
            return
        except Exception as exc:  # never fail a finished sweep because its report could not be drawn
            log.error("sweep comparison failed (%s: %s); rebuild it with `python -m sim compare %s`",
                      type(exc).__name__, exc, sweep_dir)
            return
        log.info("sweep comparison: %s", out / "report.html")
