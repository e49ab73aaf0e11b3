"""Synthetic git repositories: declared for tests, generated for the demo, generated
with planted effects (a known truth) to validate the statistics, and realistic histories
of any length for the benchmarks.

Examples
--------
>>> from aiimpact.synth import RepoBuilder, make_repo
>>> with RepoBuilder(tmp_path / "r") as b:                                # doctest: +SKIP
...     b.commit("Add parser", {"parser.py": "def parse():\\n    pass\\n"})
"""

from aiimpact.synth.builder import Binary, RepoBuilder, Submodule, Symlink
from aiimpact.synth.planted import Effects, PlantedRepo, make_repo
from aiimpact.synth.realistic import make_realistic_repo

__all__ = [
    "Binary",
    "Effects",
    "PlantedRepo",
    "RepoBuilder",
    "Submodule",
    "Symlink",
    "make_realistic_repo",
    "make_repo",
]
