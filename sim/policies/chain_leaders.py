"""Chain-leader openness (链主 "场景出题、企业答题"): orders, data spillover, receivables, matchmaking."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.model import SMEModel


def leaders_decide(model: SMEModel) -> None:
    model.leaders.do("decide_openness")
    model.counters["leaders_open_orders"] = sum(ld.open_orders for ld in model.leaders)


def open_table(model: SMEModel, channel: str) -> np.ndarray | None:
    """Indexed by a firm's ``leader`` column: is that leader's ``channel`` open this quarter? (the
    last entry, index -1, is for firms without a leader). None when no leader has it open."""
    flags = [getattr(ld, channel) for ld in model.leader_list]
    return np.array(flags + [False]) if any(flags) else None


def receivables_open(model: SMEModel, idx: np.ndarray) -> np.ndarray:
    table = open_table(model, "open_receivables")
    return np.zeros(len(idx), dtype=bool) if table is None else table[model.firms.leader[idx]]


def matchmaking(model: SMEModel) -> None:
    """供需对接: each year a share of unlinked firms in clusters with leaders is matched to one."""
    share = model.policy.chain_leaders.matchmaking_link_share
    if share <= 0.0:
        return
    f, live = model.firms, model.live
    u = model.draw("matchmaking", live)
    pick = model.draw("matchmaking", live)
    p = 1.0 - (1.0 - share) ** 0.25
    unlinked = (f.leader[live] < 0) & (u < p)
    cluster = f.cluster[live]
    for c, ids in enumerate(model.leaders_by_cluster):
        if not len(ids):
            continue
        m = unlinked & (cluster == c)
        f.leader[live[m]] = ids[(pick[m] * len(ids)).astype(int)]
        model.counters["matched_to_leader"] += int(m.sum())
