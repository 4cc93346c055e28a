"""Presentation: what an analyst reads: run charts, sweep charts, fit charts, the prose sections of
a comparison, and their Markdown and HTML renderings. The only layer that draws (matplotlib)."""

import matplotlib

matplotlib.use("Agg")  # no display: every chart is a file (before any submodule imports pyplot)
