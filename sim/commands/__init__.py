"""Commands: `python -m sim run | compare | calibrate` and the Hydra callback. The only layer that
knows Hydra: it composes and checks configurations, launches jobs and writes their outputs."""
