"""Honest comparisons of AI-assisted and unassisted changes (statsmodels underneath)."""

from aiimpact.stats.cohorts import adoption_cohorts, dose_response
from aiimpact.stats.compare import StatsWarning, compare
from aiimpact.stats.did import DidResult, did
from aiimpact.stats.many import compare_many
from aiimpact.stats.panel import panel
from aiimpact.stats.results import Comparison, ComparisonSet
from aiimpact.stats.study import Design, Study, study

__all__ = [
    "Comparison",
    "ComparisonSet",
    "Design",
    "DidResult",
    "StatsWarning",
    "Study",
    "adoption_cohorts",
    "compare",
    "compare_many",
    "did",
    "dose_response",
    "panel",
    "study",
]
