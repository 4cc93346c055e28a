"""What one quarter's stages may read and change: the model as its stages see it.

``SMEModel`` (``sim.model.model``) is the one implementation. Stages (``dynamics``, ``policies``)
are typed against this protocol instead of importing the model, so the model imports its stages
and nothing imports back: data flow in a quarter stays one way."""

from __future__ import annotations

from typing import Protocol

import mesa
import numpy as np

from sim.core.schema import Policy, Region, SimConfig, Uncertainties
from sim.model.firms import FirmPopulation
from sim.model.institutions import MIIT, ChainLeader, Lender, MunicipalGovernment
from sim.model.levers import Levers
from sim.model.params import RuleParams
from sim.model.rules import Criteria, RecognitionCalendar


class World(Protocol):
    cfg: SimConfig
    region: Region
    policy: Policy
    unc: Uncertainties
    params: RuleParams  # every number the compiled rules read
    criteria: Criteria  # MIIT's rules with the model's readings
    calendar: RecognitionCalendar
    firms: FirmPopulation
    quarter: int
    n_alive_start: int
    alive_by_area: np.ndarray  # firms alive at the start of the quarter, per area
    counters: dict[str, float]
    keys: dict[str, np.uint64]
    streams: dict[str, np.random.Generator]
    levers: Levers  # each area's levers this quarter
    areas: list[str]
    area_shares: np.ndarray
    governments: list[MunicipalGovernment]  # one per area
    lender: Lender
    miit: MIIT
    leaders: mesa.agent.AgentSet  # of ChainLeader
    leader_list: list[ChainLeader]
    cluster_leaders: np.ndarray
    cluster_n_leaders: np.ndarray
    review_log: list[tuple[int, int, int, int, int]]
    failed_titles: np.ndarray  # (area, title expiry) of each little giant that failed holding its title

    def split(self, total: float) -> np.ndarray: ...

    @property
    def live(self) -> np.ndarray: ...

    def keep_live(self, n: int) -> None: ...

    def append_live(self, start: int, stop: int) -> None: ...

    def qkey(self, mechanism: str, draw: int = 0) -> np.uint64: ...

    def uniform(self, mechanism: str, slots: np.ndarray, draw: int = 0) -> np.ndarray: ...

    def normal(self, mechanism: str, slots: np.ndarray, draw: int = 0) -> np.ndarray: ...
