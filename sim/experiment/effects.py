"""Each replication's draw of the lever-effect parameters (``lever_effects``).

Replication k draws from a dedicated child key of its SeedSequence, never from global state, so it
is the same draw in every package of a sweep (paired) and a rerun repeats exactly."""

from __future__ import annotations

import numpy as np

from sim.core.schema import SimConfig, with_values

EFFECT_KEY = 0xEFF  # child key of a replication's SeedSequence reserved for its lever effects


def effect_values(cfg: SimConfig, ss: np.random.SeedSequence) -> dict[str, float]:
    """The lever-effect parameters replication ``ss`` runs with (empty when ``use=none``)."""
    le = cfg.lever_effects
    if le.use == "none" or not le.priors:
        return {}
    if le.use == "median":
        return {name: p.at(0.5) for name, p in le.priors.items()}
    child = np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, EFFECT_KEY), pool_size=ss.pool_size)
    u = np.random.default_rng(child).random(len(le.priors))
    return {name: p.at(float(x)) for (name, p), x in zip(le.priors.items(), u)}


def with_effects(cfg: SimConfig, values: dict[str, float]) -> SimConfig:
    """``cfg`` with lever-effect values set: uncertainties by name, ``behaviour.GROUP.NAME`` in behaviour."""
    if not values:
        return cfg
    unc = {k: v for k, v in values.items() if not k.startswith("behaviour.")}
    beh = {k.removeprefix("behaviour."): v for k, v in values.items() if k.startswith("behaviour.")}
    update = {}
    if unc:
        update["uncertainties"] = type(cfg.uncertainties).model_validate(with_values(cfg.uncertainties.model_dump(), unc))
    if beh:
        update["behaviour"] = type(cfg.behaviour).model_validate(with_values(cfg.behaviour.model_dump(), beh))
    return cfg.model_copy(update=update)
