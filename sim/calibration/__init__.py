"""Calibration of the uncertain parameters to the reported figures (`python -m sim calibrate`).

* ``targets``   — reported figures -> what the model reads for each (tier, stock/flow, quarter);
* ``distance``  — tolerance-aware distance for rounded figures of uncertain vintage;
* ``priors``    — priors of the fitted uncertainties (documented in configs/calibration/default.yaml);
* ``driver``    — ABC-SMC with pyabc, resumable from its SQLite history (the only place pyabc is used);
* ``check``     — posterior-predictive check: each figure and each parameter against the fit;
* ``backtest``  — scores of the forecast of figures held out after a cut-off.

The calibrated file runs read is ``sim.experiment.posterior``; the fit report is drawn by
``sim.presentation.fit_report``; the command is ``sim.commands.calibrate``.
"""
