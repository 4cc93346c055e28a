"""Replications of one configuration: independent random streams spawned from the seed.

Replication k always gets child k of ``SeedSequence(seed)``, whatever the number of replications
and whatever the scenario, so replication k of every scenario shares its random streams (common
random numbers) and a difference between scenarios is policy, not noise.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.config import SimConfig
from sim.model import SMEModel


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
    frames = []
    bar = tqdm(seeds, desc=f"{cfg.region.name}/{cfg.scenario}", unit="rep", file=sys.stderr,
               disable=not show or cfg.replications < 2, leave=False)
    for k, ss in enumerate(bar):
        df = run_one(cfg, ss)
        df.insert(0, "replication", k)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)
