"""Priors of the fitted uncertainties, in the space ABC-SMC samples and perturbs.

A ``log`` prior is uniform on log10 of the parameter: pyabc then samples and perturbs log10 values
(a multiplicative kernel suits rates and market sizes spanning several-fold); everything outside
this module sees natural units. The ranges and where they come from are documented in
``configs/calibration/default.yaml``.
"""

from __future__ import annotations

import numpy as np

from sim.core.schema import Prior


def bounds(p: Prior) -> tuple[float, float]:
    """The range the prior is uniform on (log10 of the parameter for log priors)."""
    return (float(np.log10(p.low)), float(np.log10(p.high))) if p.scale == "log" else (p.low, p.high)


def pyabc_name(name: str) -> str:
    """A parameter's name as pyabc stores it (a dotted name such as ``area_weight.beijing`` has no dot)."""
    return name.replace(".", "__")


def pyabc_prior(priors: dict[str, Prior]):
    """A ``pyabc.Distribution`` of independent uniform priors (on log10 for log-scale ones)."""
    import pyabc

    rvs = {}
    for name, p in priors.items():
        lo, hi = bounds(p)
        rvs[pyabc_name(name)] = pyabc.RV("uniform", lo, hi - lo)
    return pyabc.Distribution(**rvs)


def to_natural(priors: dict[str, Prior], par) -> dict[str, float]:
    """Parameter dict as pyabc holds it -> natural units."""
    out = {}
    for name, p in priors.items():
        v = float(par[pyabc_name(name)])
        out[name] = 10.0**v if p.scale == "log" else v
    return out


def frame_to_natural(priors: dict[str, Prior], df) -> np.ndarray:
    """(n, k) natural-unit values of a pyabc parameter DataFrame, columns in ``priors`` order."""
    cols = []
    for name, p in priors.items():
        v = df[pyabc_name(name)].to_numpy(float)
        cols.append(10.0**v if p.scale == "log" else v)
    return np.column_stack(cols)


def sampling_space(p: Prior, values: np.ndarray) -> np.ndarray:
    """Values in the space the prior is uniform on (log10 for log priors)."""
    return np.log10(values) if p.scale == "log" else np.asarray(values, float)
