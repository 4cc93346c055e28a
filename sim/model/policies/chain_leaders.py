"""Chain-leader openness (链主 "场景出题、企业答题"): orders, data spillover, receivables, matchmaking."""

from __future__ import annotations

import numpy as np

from sim.model.units import QUARTER
from sim.model.world import World


def leaders_decide(model: World) -> None:
    model.leaders.do("decide_openness")
    model.counters["leaders_open_orders"] = sum(ld.open_orders for ld in model.leaders)


def open_flags(model: World, channel: str) -> np.ndarray:
    """Per chain leader (indexed by a firm's ``leader`` column): 1.0 if its ``channel`` is open
    this quarter, else 0.0."""
    return np.array([float(getattr(ld, channel)) for ld in model.leader_list])


def matchmaking(model: World) -> None:
    """供需对接: each year a share of unlinked firms in clusters with leaders is matched to one."""
    share = model.policy.chain_leaders.matchmaking_link_share
    if share <= 0.0:
        return
    f, live = model.firms, model.live
    unlinked = live[f.leader[live] < 0]
    matched = unlinked[model.uniform("matchmaking", unlinked) < 1.0 - (1.0 - share) ** QUARTER]
    cluster = f.cluster[matched]
    n = model.cluster_n_leaders[cluster]
    matched, cluster, n = matched[n > 0], cluster[n > 0], n[n > 0]  # clusters without leaders match none
    pick = model.uniform("matchmaking", matched, draw=1)
    f.leader[matched] = model.cluster_leaders[cluster, (pick * n).astype(int)]
    model.counters["matched_to_leader"] += len(matched)
