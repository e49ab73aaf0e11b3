"""Link commits to the pull requests that brought them in."""

from __future__ import annotations

import re

import pandas as pd

_SQUASH = re.compile(r"\(#(\d+)\)\s*$")
_MERGE = re.compile(r"^Merge pull request #(\d+) from ")


def link_prs(
    commits: pd.DataFrame, prs: pd.DataFrame, pr_commits: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Which pull request each commit came from, and how we know.

    Evidence, strongest first: the PR's ``merge_commit_sha`` (``via="merge_commit"``), the
    PR's commit list (``pr_commits``), GitHub's merge subject ``Merge pull request #N from``
    (``merge_subject``) and a squash-merge subject ending in ``(#N)`` (``squash_subject``),
    the last two only for numbers that exist in *prs*.

    Returns
    -------
    pandas.DataFrame
        ``sha, number, via``, one row per linked commit; ``attrs["share_linked"]`` is the
        share of *commits* linked.

    Examples
    --------
    >>> links = ai.link_prs(repo.commits(), prs)  # doctest: +SKIP
    >>> links.attrs["share_linked"]               # doctest: +SKIP
    """
    numbers = set(prs["number"].dropna().astype(int))
    found: dict[str, tuple[int, str]] = {}

    def add(sha, number, via) -> None:
        if sha not in found and pd.notna(number):
            found[sha] = (int(number), via)

    shas = set(commits["sha"])
    for sha, number in zip(prs["merge_commit_sha"], prs["number"], strict=True):
        if sha in shas:
            add(sha, number, "merge_commit")
    if pr_commits is not None:
        for sha, number in zip(pr_commits["sha"], pr_commits["number"], strict=True):
            if sha in shas:
                add(sha, number, "pr_commits")
    for sha, subject in zip(commits["sha"], commits["subject"], strict=True):
        for rx, via in ((_MERGE, "merge_subject"), (_SQUASH, "squash_subject")):
            m = rx.search(subject)
            if m and int(m.group(1)) in numbers:
                add(sha, m.group(1), via)
    links = pd.DataFrame(
        [(sha, n, via) for sha, (n, via) in found.items()], columns=["sha", "number", "via"]
    )
    links["number"] = links["number"].astype("Int64")
    links.attrs["share_linked"] = len(found) / len(commits) if len(commits) else float("nan")
    return links
