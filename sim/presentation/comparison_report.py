"""A sweep's comparison on disk: ``<sweep>/comparison/`` with the tidy tables, the charts, the
Markdown and the self-contained HTML page, all from one ``sim.analysis.paired.Comparison``."""

from __future__ import annotations

from pathlib import Path

from sim.analysis.paired import build
from sim.analysis.sweep import OUT_DIRNAME
from sim.experiment.store import write_csv, write_text
from sim.presentation import sweep_charts
from sim.presentation.document import Section, to_html, to_markdown
from sim.presentation.sections import ranking, sections


def write_comparison(sweep_dir: Path, baseline: str | None = None, year: int | None = None) -> tuple[Path, str]:
    """Build the comparison of a sweep and write it to ``<sweep>/comparison/``; returns that
    directory and the ranking table as text (what the terminal shows)."""
    c = build(sweep_dir, baseline=baseline, year=year)
    out = Path(sweep_dir) / OUT_DIRNAME
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "comparison.csv", c.table)
    write_csv(out / "ranking.csv", c.ranking)
    secs = sections(c)
    images = sweep_charts.write_charts(out, c)
    write_text(out / "comparison.md", to_markdown(secs, images))
    write_text(out / "report.html", to_html(secs, out, images))
    r = ranking(c)
    return out, to_markdown([Section(r.title, [], r.header, r.rows, level=r.level)]).strip()
