"""Honest comparisons of AI-assisted and unassisted changes (statsmodels underneath)."""

from aiimpact.stats.compare import StatsWarning, compare
from aiimpact.stats.many import compare_many
from aiimpact.stats.results import Comparison, ComparisonSet

__all__ = ["Comparison", "ComparisonSet", "StatsWarning", "compare", "compare_many"]
