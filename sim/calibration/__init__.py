"""Calibration of the uncertain parameters to the reported figures (`python -m sim calibrate`).

* ``targets``   — reported figures -> what the model reads for each (tier, stock/flow, quarter);
* ``distance``  — tolerance-aware distance for rounded figures of uncertain vintage;
* ``priors``    — priors of the fitted uncertainties (documented in configs/calibration/default.yaml);
* ``driver``    — ABC-SMC with pyabc, resumable from its SQLite history;
* ``report``    — posterior-predictive check, target and parameter tables, charts;
* ``backtest``  — fit up to a cut-off date, score the forecast of later figures;
* ``posterior`` — the calibrated file runs read, and each replication's posterior draw;
* ``cli``       — the command.
"""
