"""Model: the simulated world. Firms as columns with their own keyed draws, MIIT's criteria, the
institutions (chain leaders, lender, municipal government, MIIT), one module per lever family, the
compiled per-firm rules and ``SMEModel``, which orders a quarter. Knows nothing of files or Hydra."""
