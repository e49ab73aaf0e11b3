"""Code-quality outcomes: complexity, functions changed and the Delta Maintainability Model
(lizard, as PyDriller computes them), and the lines added to tests and to other source.

:func:`quality_table` is what ``Repo.quality()`` returns; :mod:`aiimpact.quality.table`
defines each column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from aiimpact.quality.table import copies_table, quality_commits, quality_files

__all__ = ["quality_table"]


def quality_table(
    git_dir: str,
    tip: str | None,
    cache: Path,
    commits: pd.DataFrame,
    file_changes: pd.DataFrame,
    per: str = "commit",
    workers: int | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """The quality table of the history of *tip* (a commit sha; None: an empty
    repository), one row per commit (*per* ``"commit"``) or per file change (``"file"``),
    with the ``repo`` column of *commits*.

    Examples
    --------
    >>> ai.Repo(".").quality()[["sha", "complexity_delta", "dmm_unit_size"]]  # doctest: +SKIP
    """
    if per not in ("commit", "file"):
        raise ValueError(f"per must be 'commit' or 'file', not {per!r}")
    show = progress if progress is not None else len(commits) > 2000
    files = quality_files(git_dir, tip, cache, workers, bool(show), file_changes)
    merges = commits.loc[commits["is_merge"].astype(bool), "sha"]
    if per == "file":
        table = files
    else:
        copies = copies_table(git_dir, tip, cache, files, bool(show))
        table = quality_commits(files, file_changes, set(merges), copies)
    repo = commits["repo"].iloc[0] if len(commits) else None
    names = pd.Series([repo] * len(table), index=table.index, dtype="str")
    return table.assign(repo=names)[["repo", *table.columns]]
