"""One module per lever family: what the lever changes in a firm's quarter, and what it costs.

A lever at its off value (a zero rate, a zero share, False) spends nothing and changes nothing:
each mechanism has its own key for each firm's draws (``sim.model.draws``), so switching one on or off
leaves every other mechanism's draws where they were (common random numbers across scenarios).
"""
