"""Hydra callback: when a multirun ends, write the sweep's comparison into its directory.

Registered in ``configs/config.yaml`` under ``hydra.callbacks``, so every ``python -m sim run -m ...``
ends with ``<sweep>/comparison/report.html``, whatever the launcher (joblib, basic, Ray, submitit):
``on_multirun_end`` runs in the launching process once every job has returned. A failure here never
turns a finished sweep into a failed command: the jobs' outputs are complete, so the callback logs one
line saying how to rebuild the comparison with ``python -m sim compare``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger("sim")


class CompareOnMultirunEnd(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from sim.compare import write_comparison
        from sim.errors import InputError

        sweep_dir = Path(str(config.hydra.sweep.dir))
        try:
            out = write_comparison(sweep_dir)
        except InputError as exc:
            log.warning("sweep comparison not written: %s", exc)
            return
        except Exception as exc:  # never fail a finished sweep because its report could not be drawn
            log.error("sweep comparison failed (%s: %s); rebuild it with `python -m sim compare %s`",
                      type(exc).__name__, exc, sweep_dir)
            return
        log.info("sweep comparison: %s", out / "report.html")
