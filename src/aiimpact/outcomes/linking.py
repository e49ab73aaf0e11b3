"""Glue from one line history to the reverts and szz tables.

* :func:`unfollowed` names the files a line history cannot follow (some of their blobs are
  absent), from the ``file_changes`` table.
* :func:`revert_pairs` combines the reverts declared in messages with those found in
  content (exact inverses) and partial ones, each pair once.
* :func:`szz_links` links fixes to the commits they name in ``Fixes:`` trailers and the
  rest to their inducing commits by line history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from aiimpact.outcomes.lines import LineHistory
from aiimpact.outcomes.reverts import CommitIndex, message_reverts, reverts_table
from aiimpact.outcomes.szz import find_fixes


@dataclass(frozen=True)
class Unfollowed:
    """Files the line history leaves out (some of their blobs are absent), from the
    ``file_changes`` table.

    Attributes
    ----------
    paths : set of str
        The files (their paths and their old paths).
    missing_files, missing_commits : int
        Rows with unknown line counts, and the commits they belong to.
    commits : int
        Commits that touch one of *paths*.
    """

    paths: frozenset[str]
    missing_files: int
    missing_commits: int
    commits: int


def unfollowed(files: pd.DataFrame) -> Unfollowed:
    """The files of *files* (a ``file_changes`` table) that the line history cannot follow."""
    missing = files[files["insertions"].isna()]
    paths = set(missing["path"]) | set(missing["old_path"].dropna())
    touching = files["path"].isin(paths) | files["old_path"].isin(paths)
    return Unfollowed(
        frozenset(paths),
        len(missing),
        missing["sha"].nunique(),
        files.loc[touching, "sha"].nunique(),
    )


def revert_pairs(commits: pd.DataFrame, history: LineHistory) -> tuple[pd.DataFrame, int]:
    """The reverts of *commits*, and how many declared targets are not in the history.

    Message reverts come first; a content or partial revert found by *history* is added
    when the same pair was not declared.
    """
    declared, unresolved = message_reverts(commits)
    seen = set(zip(declared["revert_sha"], declared["reverted_sha"], strict=True))
    rows = []
    for kind, pairs in (
        ("content", [(r, c, 1.0) for r, c in history.content_reverts]),
        ("partial", history.partial_reverts),
    ):
        for r, c, fraction in pairs:
            pair = (history.commits[r], history.commits[c])
            if pair not in seen:
                seen.add(pair)
                rows.append((*pair, kind, fraction, "lines"))
    found = reverts_table(commits, rows)
    table = (
        pd.concat([declared, found], ignore_index=True)
        .sort_values(["revert_time", "revert_sha", "kind"])
        .reset_index(drop=True)
    )
    return table, unresolved


def szz_links(
    commits: pd.DataFrame,
    blame: Callable[..., tuple[pd.DataFrame, list[str]]],
    fixes: list[str] | None,
    name: str,
    variant: str = "l",
    use_trailers: bool = True,
    context: bool = True,
    issue_dates=None,
    found: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The szz links of *fixes* (shas; default: every fix found in *commits*) and the fixes
    with nothing to blame. *found*: ``find_fixes(commits)``, if the caller has it.

    With *use_trailers*, a fix whose ``Fixes:`` trailer names commits of the history is
    linked to them (``variant="trailer"``); the others go to *blame* (called with those fixes
    and the keywords ``merges, variant, context, issue_dates``: :func:`aiimpact.outcomes.szz.szz`
    on a line history, or :func:`aiimpact.outcomes.szz_blame.szz_by_blame`).
    """
    found = find_fixes(commits) if found is None else found
    shas = list(found["sha"]) if fixes is None else fixes
    named: dict[str, list[str]] = {}
    if use_trailers:
        index = CommitIndex(commits)
        for sha, targets in zip(found["sha"], found["fixes_trailer"], strict=True):
            hits = [h for h in (index.sha(t) for t in targets) if h]
            if hits and sha in shas:
                named[sha] = hits
    merges = set(commits.loc[commits["is_merge"].astype(bool), "sha"])
    rest = [s for s in shas if s not in named]
    links, ghosts = blame(
        rest, merges=merges, variant=variant, context=context, issue_dates=issue_dates
    )
    trailer_rows = [(f, t, None, pd.NA, "trailer") for f, ts in named.items() for t in ts]
    if trailer_rows:
        extra = pd.DataFrame(trailer_rows, columns=links.columns[1:])
        links = pd.concat([links, extra.assign(repo=None)[links.columns]], ignore_index=True)
    links["repo"] = name
    return links, ghosts
