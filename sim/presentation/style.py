"""One look for every chart: matplotlib without a display, the house style, shared formatters, the
figure legend, and writing a figure (atomically, as every output is written)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402

from sim.core.outcomes import fmt_money, in_bn  # noqa: E402
from sim.experiment.store import save_figure  # noqa: E402

plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "axes.spines.top": False,
                     "axes.spines.right": False})
THOUSANDS = mticker.FuncFormatter(lambda v, _: f"{v:,.0f}")
SIGNED = mticker.FuncFormatter(lambda v, _: f"{v:+,g}" if v else "0")
ABSOLUTE = mticker.FuncFormatter(lambda v, _: f"{abs(v):,.0f}")  # bars drawn below zero for outflows


def money_axis(ax: plt.Axes, which: str, label: str, signed: bool = False, nbins: int = 5) -> None:
    """An axis of amounts given in M yuan: a few ticks (``nbins``), written by the registry's
    ``fmt_money`` on one scale, bn yuan when the axis reaches 10,000 M yuan; ``label``'s ``{unit}``
    becomes "M yuan" or "bn yuan". Call it once the data are drawn (it reads the axis limits)."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    lo, hi = ax.get_ylim() if which == "y" else ax.get_xlim()
    bn = in_bn(lo, hi)
    axis.set_major_locator(mticker.MaxNLocator(nbins=nbins))
    axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: fmt_money(v, signed=signed, bn=bn, unit=False,
                                                                          tick=True)))
    axis.set_label_text(label.format(unit="bn yuan" if bn else "M yuan"))


def money_log_axis(ax: plt.Axes, which: str, label: str) -> None:
    """A log axis of amounts in M yuan: each decade written by ``fmt_money`` ("100", "1,000", "10 bn yuan")."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    axis.set_major_locator(mticker.LogLocator(base=10, numticks=12))
    axis.set_minor_formatter(mticker.NullFormatter())
    axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: fmt_money(v, tick=True)))
    axis.set_label_text(label)


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


def write_applicable(out_dir: Path, charts, subject) -> list[str]:
    """Draw each ``(name, make)`` chart of ``subject`` that applies (``make`` returns None when it
    does not, and a stale file of that name goes); returns the names written."""
    made = []
    for name, make in charts:
        fig = make(subject)
        if fig is None:
            (Path(out_dir) / name).unlink(missing_ok=True)
            continue
        made.append(save(out_dir, name, fig))
    return made
