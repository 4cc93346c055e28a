"""One look for every chart: matplotlib without a display, the house style, shared formatters, the
figure legend, and writing a figure (atomically, as every output is written)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402

from sim.experiment.store import save_figure  # noqa: E402

plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "axes.spines.top": False,
                     "axes.spines.right": False})
THOUSANDS = mticker.FuncFormatter(lambda v, _: f"{v:,.0f}")
SIGNED = mticker.FuncFormatter(lambda v, _: f"{v:+,g}" if v else "0")
ABSOLUTE = mticker.FuncFormatter(lambda v, _: f"{abs(v):,.0f}")  # bars drawn below zero for outflows


def figure_legend(fig: plt.Figure, axes, ncol: int) -> None:
    """One legend under the figure with each label once, gathered from every panel (replacing any
    figure legend drawn before)."""
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    for old in list(fig.legends):
        old.remove()
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)


def save(out_dir: Path, name: str, fig: plt.Figure) -> str:
    """Write ``fig`` as ``out_dir/name`` and close it; returns the name."""
    save_figure(Path(out_dir) / name, fig)
    plt.close(fig)
    return name
