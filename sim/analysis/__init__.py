"""Analysis: tables computed from simulated series and finished run directories: a run's yearly and
summary tables, a sweep's jobs, paired differences and rankings. Numbers only: no matplotlib."""
