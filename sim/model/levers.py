"""The levers each area runs: the package where and once it is adopted, the status quo elsewhere.

A package (``policy``) is adopted by the run's region alone (``policy.adopted_by=region``: in the
national model, the area ``region.focus``; the other areas keep ``status_quo``) or by every area
(``nationwide``), from the quarter ``policy.adopt_from``; before it every area runs the status quo.
A lever is read as an array over areas, and a firm reads its area's entry, so a municipal lever
acts on the firms of the municipalities that set it."""

from __future__ import annotations

from functools import reduce

import numpy as np

from sim.core.schema import Policy, SimConfig


FISCAL = ("subsidies.rd_subsidy_rate", "subsidies.award_t1", "subsidies.award_t2", "subsidies.award_t3",
          "subsidies.digital_voucher", "loans.interest_subsidy")
# the bounds a scaled fiscal lever stays within (the schema's)
FISCAL_CAP = {"subsidies.rd_subsidy_rate": 1.0, "loans.interest_subsidy": 0.1}


def fiscal_deltas(package: Policy, status_quo: Policy) -> dict[str, float]:
    """How far each fiscal lever of the package is above the status quo (0 where it is not)."""
    return {path: reduce(getattr, path.split("."), package) - reduce(getattr, path.split("."), status_quo)
            for path in FISCAL}


def scaled(package: Policy, status_quo: Policy, s: float) -> Policy:
    """The package with each fiscal lever at status quo + s x (package - status quo)."""
    out = package
    for path, d in fiscal_deltas(package, status_quo).items():
        block, name = path.split(".")
        base = getattr(getattr(status_quo, block), name)
        value = min(max(base + s * d, 0.0), FISCAL_CAP.get(path, np.inf))
        out = out.model_copy(update={block: getattr(out, block).model_copy(update={name: value})})
    return out


class Levers:
    def __init__(self, cfg: SimConfig) -> None:
        n = len(cfg.region.area_names)
        if cfg.policy.adopted_by == "nationwide":
            self.adopts = np.ones(n, dtype=bool)
        else:
            self.adopts = np.arange(n) == cfg.region.focus_area
        self.status_quo = cfg.status_quo
        s = cfg.policy.fiscal_scale
        self.package = cfg.policy if s == 1.0 else scaled(cfg.policy, cfg.status_quo, s)
        self.adopt_step = cfg.policy.adopt_step(cfg.start_year)
        self.area_shares = np.array(cfg.area_shares())
        self.budget_scale = cfg.region.budget_scale * cfg.region.population_scale
        self.by_area: list[Policy] = []
        self._cache: dict[str, np.ndarray] = {}
        self.at(0)

    def at(self, step: int) -> bool:
        """The levers of quarter ``step``; True when they changed (the package was adopted now)."""
        active = [self.package if a and step >= self.adopt_step else self.status_quo for a in self.adopts]
        if active == self.by_area:
            return False
        self.by_area, self._cache = active, {}
        return True

    def adopted(self) -> np.ndarray:
        """Whether each area runs the package now."""
        return np.array([p is self.package for p in self.by_area]) & self.adopts

    @property
    def n_areas(self) -> int:
        return len(self.by_area)

    def of(self, path: str) -> np.ndarray:
        """A lever's value in each area, e.g. ``of("subsidies.rd_subsidy_rate")``; a missing budget
        (``None``) reads as infinite."""
        if path not in self._cache:
            values = [reduce(getattr, path.split("."), p) for p in self.by_area]
            self._cache[path] = np.array([np.inf if v is None else float(v) for v in values])
        return self._cache[path]

    def sq_share(self, path: str) -> np.ndarray:
        """The status quo's part of a fiscal lever's current value in each area (1 where the area
        runs the status quo or the package does not raise it): what the base envelope pays."""
        now = self.of(path)
        sq = reduce(getattr, path.split("."), self.status_quo)
        return np.where(now > 0.0, np.minimum(sq / np.where(now > 0.0, now, 1.0), 1.0), 1.0)

    def envelopes(self) -> tuple[np.ndarray, np.ndarray]:
        """(base, extra) budget envelope of each area, M yuan a year for a Chongqing-size region
        (inf: no cap): the status quo's, and what the package adds where it runs."""
        sq = self.status_quo.subsidies.annual_budget
        status_quo = np.full(self.n_areas, np.inf if sq is None else sq)
        total = self.of("subsidies.annual_budget")  # the package's envelope where it runs
        running = np.array([p is self.package for p in self.by_area])
        base = np.minimum(status_quo, total)  # a package may cut the status quo's envelope ...
        with np.errstate(invalid="ignore"):  # inf - inf: both uncapped
            extra = np.where(running, np.nan_to_num(np.maximum(total - status_quo, 0.0), nan=np.inf, posinf=np.inf), 0.0)
        return base, extra

    def area_budgets(self) -> tuple[np.ndarray, np.ndarray]:
        """(base, extra) budget envelope of each area of the region simulated, M yuan a year (inf or
        NaN: no cap): ``envelopes`` x the region's budget and population scales x the area's share
        of the firms. What each area's government spends up to, and the fiscal chart's line."""
        base, extra = self.envelopes()
        return base * self.budget_scale * self.area_shares, extra * self.budget_scale * self.area_shares

    def any(self, path: str) -> bool:
        """Whether the lever is on (non-zero) in some area."""
        return bool(np.any(self.of(path) != 0.0))
