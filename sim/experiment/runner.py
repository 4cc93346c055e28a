"""Replications of one configuration: independent random streams spawned from the seed.

Replication k always gets child k of ``SeedSequence(seed)``, whatever the number of replications
and whatever the scenario, so replication k of every scenario shares its random streams (common
random numbers) and a difference between scenarios is policy, not noise.

With a calibrated posterior (``calibration.use``), replication k also runs with its own posterior
draw, chosen from a dedicated child of its SeedSequence, so it is the same draw in every scenario;
the parameters each replication used travel with the result (``attrs["parameters"]``).
"""

from __future__ import annotations

import logging
import sys

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.core.schema import SimConfig
from sim.experiment.posterior import replication_parameters, resolve, set_by_hand, staleness
from sim.model.model import SMEModel

log = logging.getLogger("sim")


def replication_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    return np.random.SeedSequence(seed).spawn(n)


def run_one(cfg: SimConfig, seed: np.random.SeedSequence | int) -> pd.DataFrame:
    """One simulated history: the DataCollector's quarterly model-level series."""
    model = SMEModel(cfg, seed)
    model.run()
    return model.datacollector.get_model_vars_dataframe().reset_index(drop=True)


def run_replications(cfg: SimConfig, progress: bool | None = None) -> pd.DataFrame:
    """All replications, stacked, with a ``replication`` column first."""
    show = cfg.progress if progress is None else progress
    seeds = replication_seeds(cfg.seed, cfg.replications)
    cfgs, parameters = replication_parameters(cfg, seeds)
    post = resolve(cfg)
    for why in staleness(cfg, post) if post is not None else ():
        log.warning("calibrated posterior %s may be stale: %s (rerun `python -m sim calibrate region=%s`)",
                    post.path, why, cfg.region.name)
    if post is not None and set_by_hand(cfg, post):
        log.info("set by hand, not drawn from the posterior: %s", ", ".join(set_by_hand(cfg, post)))
    frames = []
    bar = tqdm(seeds, desc=f"{cfg.region.name}/{cfg.scenario}", unit="rep", file=sys.stderr,
               disable=not show or cfg.replications < 2, leave=False)
    for k, ss in enumerate(bar):
        df = run_one(cfgs[k], ss)
        df.insert(0, "replication", k)
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out.attrs["parameters"] = parameters
    return out
