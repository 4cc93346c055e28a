"""Units of the quarterly clock and numerical guards: not behaviour, so not configuration.

Rates and amounts in the configuration are annual (M yuan a year, growth a year); the model steps
quarters, so a flow is ``QUARTER`` of its annual amount and an annual standard deviation becomes
``SQRT_QUARTER`` of itself for a quarter's shock."""

QUARTERS_PER_YEAR = 4
QUARTER = 0.25  # of a year
SQRT_QUARTER = 0.5  # sd of a quarter's shock, per unit of annual sd (independent quarters)
EPS = 1e-9  # floor of a denominator that can be zero (no revenue, no assets)
