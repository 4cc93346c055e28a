"""The numbers the compiled per-firm rules read, as one named tuple built from the configuration.

A rule reads ``p.capability_decay`` or ``p.failure_rate``, never a positional float, so two numbers
cannot be swapped by the order of arguments. Fields are every scalar uncertainty (by its own name), the
region's revenue distribution, and every behaviour setting as ``<group>_<name>``
(``configs/behaviour/default.yaml``). Built once per model (a replication's posterior draw changes
the uncertainties)."""

from __future__ import annotations

from collections import namedtuple

from sim.core.schema import Behaviour, SimConfig, Uncertainties

BEHAVIOUR_GROUPS = ("rd", "capability", "cash", "credit", "exits", "entrants", "balance")
REGION_FIELDS = ("revenue_median", "revenue_sigma", "sme_revenue_cap", "sme_employee_cap",
                 "revenue_per_worker_median", "revenue_per_worker_sigma")


def _behaviour_fields() -> list[str]:
    return [f"{g}_{name}" for g in BEHAVIOUR_GROUPS
            for name in Behaviour.model_fields[g].annotation.model_fields]


# the per-area weights and pushes (mappings) shape the areas' pools and their nominees' merit (MIIT),
# and the national bar's quantile and shift set the bar a single region meets
# (sim.experiment.posterior): none is a firm's rule
NOT_RULES = ("area_weight", "area_push_points", "national_bar_quantile", "national_bar_shift_points",
             "national_bar_shift_from", "area_push_from")
UNCERTAINTY_FIELDS = [k for k in Uncertainties.model_fields if k not in NOT_RULES]
RuleParams = namedtuple("RuleParams", [*UNCERTAINTY_FIELDS, *REGION_FIELDS, *_behaviour_fields()])


def rule_params(cfg: SimConfig) -> RuleParams:
    values = cfg.uncertainties.model_dump(include=set(UNCERTAINTY_FIELDS))
    values.update({k: getattr(cfg.region, k) for k in REGION_FIELDS})
    for g in BEHAVIOUR_GROUPS:
        values.update({f"{g}_{k}": v for k, v in getattr(cfg.behaviour, g).model_dump().items()})
    return RuleParams(**values)
