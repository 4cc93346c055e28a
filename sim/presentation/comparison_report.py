"""A sweep's comparison on disk: ``<sweep>/comparison/`` with the tidy tables, the charts, the
Markdown and the self-contained HTML page, all from one ``sim.analysis.paired.Comparison`` and the
``sim.analysis.decision.Decision`` drawn from it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.analysis.decision import Decision, decide
from sim.analysis.paired import build
from sim.analysis.sweep import OUT_DIRNAME
from sim.experiment.store import write_csv, write_text
from sim.presentation import decision_charts, sweep_charts
from sim.presentation.document import Section, to_html, to_markdown
from sim.presentation.sections import ranking, sections


def _tables(d: Decision) -> dict[str, pd.DataFrame | None]:
    """The tidy CSVs besides comparison.csv and ranking.csv (None: not applicable, and removed)."""
    e = d.equal_cost
    return {
        "win_shares.csv": d.wins if not d.wins.empty else None,
        "acceptability.csv": d.acceptability if not d.acceptability.empty else None,
        "ranking_equal_cost.csv": e.ranking,
        "who_gains.csv": d.gains,
        "regions.csv": d.areas.table if d.areas is not None else None,
        "dose_response.csv": d.dose.table if d.dose is not None else None,
    }


def write_comparison(sweep_dir: Path, baseline: str | None = None, year: int | None = None) -> tuple[Path, str]:
    """Build the comparison of a sweep and write it to ``<sweep>/comparison/``; returns that
    directory and the ranking table as text (what the terminal shows)."""
    c = build(sweep_dir, baseline=baseline, year=year)
    d = decide(c)
    out = Path(sweep_dir) / OUT_DIRNAME
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "comparison.csv", d.table)
    write_csv(out / "ranking.csv", c.ranking)
    for name, table in _tables(d).items():
        if table is None:
            (out / name).unlink(missing_ok=True)
        else:
            write_csv(out / name, table)
    secs = sections(c, d)
    images = sweep_charts.write_charts(out, c) + decision_charts.write_charts(out, d)
    write_text(out / "comparison.md", to_markdown(secs, images))
    write_text(out / "report.html", to_html(secs, out, images))
    r = ranking(c)
    return out, to_markdown([Section(r.title, [], r.header, r.rows, level=r.level)]).strip()
