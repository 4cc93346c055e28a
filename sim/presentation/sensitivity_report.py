"""A sensitivity study on disk (``<sweep>/sensitivity/``): Morris and Sobol tables, the tornado of
one-at-a-time swings, and what the study cost. The comparison report shows them when present."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.calibration.sensitivity import Study
from sim.experiment.store import write_csv, write_text
from sim.presentation.style import save

OUT_DIRNAME = "sensitivity"


def tornado_chart(study: Study, region: str) -> plt.Figure:
    """Each top factor's swing of the lead (5% to 95% of its range, the others at their medians);
    left of zero, the runner-up would win."""
    sw = study.swings.assign(span=lambda d: (d["lead_high"] - d["lead_low"]).abs()).sort_values("span")
    fig, ax = plt.subplots(figsize=(9, 1.4 + 0.55 * len(sw)), layout="constrained")
    y = np.arange(len(sw))
    base = float(sw["lead_median"].iloc[0]) if len(sw) else 0.0
    for yi, (_, r) in zip(y, sw.iterrows()):
        ax.barh(yi, r["lead_low"] - base, left=base, color="tab:blue", height=0.6,
                label="factor at 5% of its range" if yi == 0 else None)
        ax.barh(yi, r["lead_high"] - base, left=base, color="tab:orange", height=0.6,
                label="factor at 95% of its range" if yi == 0 else None)
    ax.axvline(base, color="0.3", lw=1, label="every factor at its median")
    ax.axvline(0, color="tab:red", lw=1.2, ls="--", label="ranking flips (lead 0)")
    ax.set_yticks(y, [f"{r['factor']} ({r['kind']})\n{r['value_low']:.3g} – {r['value_high']:.3g}"
                      for _, r in sw.iterrows()], fontsize=8)
    ax.set_xlabel(f"{study.measure} (little giants)")
    ax.grid(axis="x", alpha=0.3)
    fig.legend(loc="outside lower center", ncol=2, frameon=False, fontsize=8)
    ax.set_title(f"{region}: which parameters can flip the ranking — one-at-a-time swings of the "
                 f"{len(sw)} most influential (Morris)", fontsize=10)
    return fig


def summary(study: Study) -> pd.DataFrame:
    """One row per top factor: Morris mu* and sigma, Sobol first-order and total indices, swing."""
    return study.morris.merge(study.sobol, on="factor", how="inner").merge(
        study.swings.drop(columns="kind"), on="factor", how="left")


def write_sensitivity(sweep_dir: Path, study: Study, region: str, command: str) -> Path:
    out = Path(sweep_dir) / OUT_DIRNAME
    write_csv(out / "morris.csv", study.morris)
    write_csv(out / "sobol.csv", study.sobol)
    write_csv(out / "summary.csv", summary(study))
    save(out, "tornado.png", tornado_chart(study, region))
    info = {"command": command, "measure": study.measure, "factors": len(study.factors), "runs": study.runs,
            "seconds": round(study.seconds, 1)}
    write_text(out / "info.json", json.dumps(info, indent=1) + "\n")
    return out
