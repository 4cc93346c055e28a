"""Core: what every layer may use and that uses nothing of ``sim`` above it: paths, the one error
type shown to users, the typed configuration schema, the reported figures, and the outcome registry
(every indicator's id, label, unit and kind; the interval rule; the number formats)."""
