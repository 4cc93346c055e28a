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

from sim.core.errors import InputError
from sim.core.schema import SimConfig
from sim.experiment.posterior import replication_parameters, resolve, set_by_hand, staleness
from sim.model.levers import Levers, fiscal_deltas
from sim.model.model import SMEModel
from sim.model.units import QUARTERS_PER_YEAR

log = logging.getLogger("sim")


def replication_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    return np.random.SeedSequence(seed).spawn(n)


REVIEW_COLUMNS = ["year", "tier", "cohort", "due", "renewed"]


def run_one(cfg: SimConfig, seed: np.random.SeedSequence | int) -> pd.DataFrame:
    """One simulated history: the DataCollector's quarterly model-level series; the little-giant
    reviews by year and cohort ride along in ``attrs["reviews"]``."""
    model = SMEModel(cfg, seed)
    model.run()
    df = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    df.attrs["reviews"] = list(model.review_log)  # plain tuples: pandas compares attrs when it joins frames
    return df


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
    frames, reviews = [], []
    bar = tqdm(seeds, desc=f"{cfg.region.name}/{cfg.scenario}", unit="rep", file=sys.stderr,
               disable=not show or cfg.replications < 2, leave=False)
    for k, ss in enumerate(bar):
        df = run_one(cfgs[k], ss)
        reviews.append(pd.DataFrame(df.attrs.pop("reviews"), columns=REVIEW_COLUMNS).assign(replication=k))
        df.insert(0, "replication", k)
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out.attrs["parameters"] = parameters
    rev = pd.concat(reviews, ignore_index=True)
    out.attrs["reviews"] = rev[["replication", *REVIEW_COLUMNS]]
    return out


# ------------------------------------------------------------------------------ equal cost
MAX_DOUBLINGS = 8  # fiscal_scale up to 2^8: a package whose claims cannot fill the envelope by then is flagged
BINDING = 0.995  # spending at or above this share of the envelope in every year from adoption: it binds


def run_equal_cost(cfg: SimConfig, progress: bool | None = None) -> tuple[pd.DataFrame, dict]:
    """The package at equal cost: its budget envelope is the status quo's plus ``equal_cost`` M yuan
    a year from adoption, and its fiscal levers above the status quo are scaled (``policy.fiscal_scale``
    1, 2, 4, ...) until its claims fill that envelope in every year from adoption, so that it spends
    exactly the envelope (claims beyond it are paid pro rata). Returns the replications at that
    scale and what was found (scale, whether the envelope binds, why not)."""
    sq_budget = cfg.status_quo.subsidies.annual_budget
    if sq_budget is None:
        raise InputError("equal_cost: needs a status-quo budget envelope (status_quo.subsidies.annual_budget)")
    envelope = sq_budget + cfg.equal_cost
    if not any(fiscal_deltas(cfg.policy, cfg.status_quo).values()):
        info = {"fiscal_scale": 1.0, "binding": False, "envelope": envelope,
                "note": "no fiscal lever above the status quo: this package cannot spend the envelope"}
        return run_replications(cfg, progress), info
    subsidies = cfg.policy.subsidies.model_copy(update={"annual_budget": envelope})
    scale = 1.0
    for _ in range(MAX_DOUBLINGS + 1):
        policy = cfg.policy.model_copy(update={"subsidies": subsidies, "fiscal_scale": scale})
        scaled_cfg = cfg.model_copy(update={"policy": policy})
        run = run_replications(scaled_cfg, progress)
        if _binds(scaled_cfg, run):
            return run, {"fiscal_scale": scale, "binding": True, "envelope": envelope, "note": ""}
        scale *= 2.0
    return run, {"fiscal_scale": scale / 2.0, "binding": False, "envelope": envelope,
                 "note": f"claims fall short of the envelope even at {scale / 2:g}x its fiscal levers"}


def region_budget(cfg: SimConfig) -> float | None:
    """The region's yearly budget envelope once the package runs, M yuan (None: uncapped): each
    area's (``Levers.envelopes``: the package's where adopted, the status quo's elsewhere) x its
    share of the firms x the region's budget and population scales, as the model applies it."""
    levers = Levers(cfg)
    levers.at(levers.adopt_step)
    base, extra = levers.area_budgets()
    total = base + extra
    return float(total.sum()) if np.all(np.isfinite(total)) else None


def _binds(cfg: SimConfig, run: pd.DataFrame) -> bool:
    """Whether the median replication spends the region's budget (``region_budget``) in every full
    year from adoption."""
    start = cfg.policy.adopt_step(cfg.start_year)
    first_year = cfg.start_year + -(-start // QUARTERS_PER_YEAR)  # the first year the package runs all of
    spent = run[run["year"] >= first_year].groupby(["replication", "year"])["envelope_spent"].sum()
    limit = region_budget(cfg)
    return bool((spent.groupby("year").median() >= BINDING * limit).all())
