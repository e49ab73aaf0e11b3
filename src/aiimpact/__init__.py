"""aiimpact: do AI-assisted changes turn out better or worse than unassisted ones?

Mine a repository's history into tidy pandas tables, tag every commit with the AI tools
that left a mark on it, and compare outcomes with honest statistics.

Examples
--------
>>> import aiimpact as ai
>>> commits = ai.Repo("path/to/repo").commits()  # doctest: +SKIP
"""

from typing import Any

from aiimpact import synth
from aiimpact.dataset import Dataset, open_dataset
from aiimpact.detect.coverage import coverage
from aiimpact.detect.detector import Attribution, Detector, detect
from aiimpact.errors import AiimpactError, AiimpactWarning, InputError
from aiimpact.parallel import mine_many
from aiimpact.platforms import github
from aiimpact.platforms.aidev import load_aidev
from aiimpact.platforms.gharchive import load_gharchive
from aiimpact.platforms.link import link_prs
from aiimpact.platforms.review_load import review_load
from aiimpact.repo import MiningReport, Repo

__version__ = "0.1.0"

# statsmodels takes seconds to import: the statistics load on first use, so that mining
# (and the CLI) start at once.
_LAZY = dict.fromkeys(
    ["compare", "compare_many", "did", "panel", "study", "adoption_cohorts", "dose_response"],
    "aiimpact.stats",
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'aiimpact' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "AiimpactError",
    "AiimpactWarning",
    "Attribution",
    "Dataset",
    "Detector",
    "InputError",
    "MiningReport",
    "Repo",
    "adoption_cohorts",
    "compare",
    "compare_many",
    "coverage",
    "detect",
    "dose_response",
    "github",
    "link_prs",
    "load_aidev",
    "load_gharchive",
    "mine_many",
    "open_dataset",
    "review_load",
    "study",
    "synth",
]
