"""Chain-leader openness (链主 "场景出题、企业答题"): orders, data spillover, receivables, matchmaking."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.model import SMEModel


def leaders_decide(model: SMEModel) -> None:
    model.leaders.do("decide_openness")
    model.counters["leaders_open_orders"] = sum(ld.open_orders for ld in model.leaders)


def _open_flags(model: SMEModel, attr: str) -> np.ndarray:
    """Per firm slot: does the leader it supplies have channel ``attr`` open? (index -1 -> False)."""
    table = np.array([getattr(ld, attr) for ld in model.leader_list] + [False])
    return table[model.firms.leader[: model.firms.n]]


def orders_open(model: SMEModel) -> np.ndarray:
    return _open_flags(model, "open_orders")


def data_open(model: SMEModel) -> np.ndarray:
    return _open_flags(model, "open_data")


def receivables_open(model: SMEModel) -> np.ndarray:
    return _open_flags(model, "open_receivables")


def matchmaking(model: SMEModel) -> None:
    """供需对接: each year a share of unlinked firms in clusters with leaders is matched to one."""
    share = model.policy.chain_leaders.matchmaking_link_share
    if share <= 0.0:
        return
    f, n = model.firms, model.firms.n
    u = model.streams["matchmaking"].random(n)
    pick = model.streams["matchmaking"].random(n)
    p = 1.0 - (1.0 - share) ** 0.25
    for c, ids in enumerate(model.leaders_by_cluster):
        if not len(ids):
            continue
        m = f.alive[:n] & (f.leader[:n] < 0) & (f.cluster[:n] == c) & (u < p)
        f.leader[:n][m] = ids[(pick[m] * len(ids)).astype(int)]
        model.counters["matched_to_leader"] += int(m.sum())
