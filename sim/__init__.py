"""sim: an agent-based simulator of SMEs moving through China's 专精特新 cultivation tiers."""

__version__ = "0.1.0"
