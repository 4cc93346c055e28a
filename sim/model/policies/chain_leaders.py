"""Chain-leader openness (链主 "场景出题、企业答题"): orders, data spillover, receivables, matchmaking."""

from __future__ import annotations

import numpy as np

from sim.model.institutions import ChainLeader
from sim.model.policies.subsidies import areas_of, book_admin
from sim.model.units import QUARTER
from sim.model.world import World


def leaders_decide(model: World) -> None:
    """Each leader draws its openness; the count of leaders opening orders is the focus area's. Every
    channel a leader opens to an area costs that area's government its coordination."""
    model.leaders.do("decide_openness")
    model.counters["leaders_open_orders"] = int(open_flags(model, "orders")[:, model.region.focus_area].sum())
    open_by_area = sum(open_flags(model, ch).sum(axis=0) for ch in ChainLeader.CHANNELS)
    book_admin(model, model.cfg.behaviour.admin.openness_per_channel, open_by_area)


def open_flags(model: World, channel: str) -> np.ndarray:
    """[chain leader (a firm's ``leader`` column), area]: 1.0 where the leader's ``channel`` is open
    to the area's SMEs this quarter, else 0.0."""
    openness = model.levers.of(f"chain_leaders.{channel}_openness")
    if not model.leader_list:
        return np.zeros((0, len(openness)))
    return np.array([ld.open_in(channel, openness) for ld in model.leader_list], dtype=float)


def matchmaking(model: World) -> None:
    """供需对接: each year a share of unlinked firms in clusters with leaders is matched to one."""
    share = model.levers.of("chain_leaders.matchmaking_link_share")
    if not share.any():
        return
    f, live = model.firms, model.live
    unlinked = live[f.leader[live] < 0]
    rate = 1.0 - (1.0 - share[f.area[unlinked]]) ** QUARTER
    matched = unlinked[model.uniform("matchmaking", unlinked) < rate]
    cluster = f.cluster[matched]
    n = model.cluster_n_leaders[cluster]
    matched, cluster, n = matched[n > 0], cluster[n > 0], n[n > 0]  # clusters without leaders match none
    pick = model.uniform("matchmaking", matched, draw=1)
    f.leader[matched] = model.cluster_leaders[cluster, (pick * n).astype(int)]
    model.counters["matched_to_leader"] += len(matched)
    book_admin(model, model.cfg.behaviour.admin.matchmaking_per_match, areas_of(model, matched))
