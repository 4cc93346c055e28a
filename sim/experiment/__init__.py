"""Experiment: replications of a configuration (seeds, posterior draws) and the result store
(atomic writes, COMPLETE markers with checksums, saved configurations)."""
