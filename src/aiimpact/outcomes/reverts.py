"""Reverts declared in commit messages: which commit undid which, and when.

Evidence read (``kind="message"``; the ``evidence`` column says which):

* ``sha``: git's ``This reverts commit <sha>.`` (full or abbreviated sha, several per
  message for squashed reverts), including the merge form
  ``This reverts commit <sha>, reversing changes made to <parent>.`` (the parent is not the
  target). Gerrit writes the same line under its ``Reason for revert:`` paragraph.
* ``subject``: ``Revert "<subject>"`` (also Gerrit's ``Revert^2 "<subject>"``) with no sha:
  the most recent earlier commit with exactly that subject.
* ``conventional``: a conventional-commits ``revert: <description>`` header, resolved through
  its ``Refs: <sha>, ...`` footer, else by the description as a subject.

A revert of a revert is a *reland*: its row has ``is_reland=True``, and the commit the first
revert undid is then no longer counted as reverted (:func:`effective_reverts`). Shas are
resolved against the mined commits; a message naming a commit that is not in the history
(another branch, a rewritten history) resolves to nothing and is counted in
``unresolved``. GitHub's ``Reverts owner/repo#N`` needs pull-request data and is resolved
there.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from functools import cached_property

import pandas as pd

from aiimpact import schema

_SHA_LINE = re.compile(
    r"This reverts commits? ((?:[0-9a-f]{7,64})(?:(?:,\s*|,?\s+and\s+)[0-9a-f]{7,64})*)",
    re.I,
)
_SHA = re.compile(r"[0-9a-f]{7,64}")
_REVERT_SUBJECT = re.compile(r'^Revert(?:\^\d+)? "(.*)"(?:\s*\(#\d+\))?\s*$')
_PR_REVERT = re.compile(r"^Reverts\s+(?:[\w.-]+/[\w.-]+)?#(\d+)\s*$", re.M)
# a squash merge's subject ends "(#N)"; a merge commit's starts so: N is the PR (group 1)
SQUASH_SUFFIX = re.compile(r"\s*\(#(\d+)\)\s*$")
MERGE_PR = re.compile(r"^Merge pull request #(\d+) from ")
_CONVENTIONAL = re.compile(r"^revert(?:\([^)]*\))?!?:\s*(.+?)\s*$", re.I)
_REFS = re.compile(r"^Refs?:\s*(.+)$", re.I | re.M)
_CONVENTIONAL_PREFIX = re.compile(r"^[a-z]+(?:\([^)]*\))?!?:\s*", re.I)

COLUMNS = schema.columns(schema.REVERTS)
"""The columns of the reverts table (:data:`aiimpact.schema.REVERTS`)."""


class CommitIndex:
    """Resolve full or abbreviated shas, and subjects, against a commits table.

    Only the sorted shas are made up front; the subject and pull-request indexes (a regex
    or two per commit) are built on first use, so resolving ``Fixes:`` trailers costs a sort.
    """

    def __init__(self, commits: pd.DataFrame) -> None:
        self._commits = commits
        self.shas = sorted(commits["sha"])

    @cached_property
    def _by_subject_and_pr(self) -> tuple[dict, dict]:
        commits = self._commits
        # times as integers (microseconds; None: NaT, a date pandas cannot hold, which is
        # before nothing): Timestamps compare and sort slowly, 82k of them on git/git
        known = commits["commit_time"].notna().to_numpy()
        times = commits["commit_time"].to_numpy("datetime64[us]").astype("int64").tolist()
        by_subject: dict[str, list[tuple[int | None, str]]] = {}
        by_pr: dict[int, tuple[int | None, str]] = {}
        for sha, subject, is_known, t in zip(
            commits["sha"].tolist(), commits["subject"].tolist(), known, times, strict=True
        ):
            when = t if is_known else None
            suffix = SQUASH_SUFFIX.search(subject) if "(#" in subject else None
            bare = subject[: suffix.start()] if suffix else subject
            keys = {subject, bare, _CONVENTIONAL_PREFIX.sub("", subject)}
            for key in keys if when is not None else ():
                by_subject.setdefault(key, []).append((when, sha))
            pr = suffix or MERGE_PR.match(subject)
            if pr and not subject.startswith("Revert"):
                number = int(pr.group(1))
                first = by_pr.get(number)
                if first is None or (when is not None and (first[0] is None or when < first[0])):
                    by_pr[number] = (when, sha)
        for entries in by_subject.values():
            entries.sort()
        return by_subject, by_pr

    def sha(self, prefix: str) -> str | None:
        """The one commit whose sha starts with *prefix* (None if none or ambiguous)."""
        i = bisect.bisect_left(self.shas, prefix)
        hits: list[str] = []
        while i < len(self.shas) and self.shas[i].startswith(prefix) and len(hits) < 2:
            hits.append(self.shas[i])
            i += 1
        return hits[0] if len(hits) == 1 else None

    def pull_request(self, number: int) -> str | None:
        """The commit that landed pull request *number*: a squash merge whose subject ends
        with ``(#N)``, or GitHub's ``Merge pull request #N from ...``."""
        hit = self._by_subject_and_pr[1].get(number)
        return hit[1] if hit else None

    def before(self, subject: str, when: pd.Timestamp, not_sha: str) -> str | None:
        """The most recent commit with this subject committed before *when* (None when
        *when* is NaT: commits of unknown time are resolved by sha only)."""
        if pd.isna(when):
            return None
        stamp = pd.Timestamp(when)
        stamp = stamp if stamp.tzinfo is None else stamp.tz_convert(None)
        limit = int(stamp.to_datetime64().astype("datetime64[us]").astype("int64"))
        for t, sha in reversed(self._by_subject_and_pr[0].get(subject, [])):
            if t <= limit and sha != not_sha:
                return sha
        return None


def _targets(index: CommitIndex, sha: str, message: str, when) -> tuple[list[str], str, int]:
    """Commits *message* declares reverted, the evidence used, and unresolved references."""
    refs = [s for m in _SHA_LINE.finditer(message) for s in _SHA.findall(m.group(1))]
    subject = message.lstrip("\n").split("\n", 1)[0].strip()
    evidence = "sha"
    conventional = _CONVENTIONAL.match(subject)
    if not refs and conventional:
        refs = [s for m in _REFS.finditer(message) for s in _SHA.findall(m.group(1))]
        evidence = "conventional"
    found = [t for t in (index.sha(r) for r in refs) if t is not None and t != sha]
    unresolved = len(refs) - len(found)
    if found:
        return list(dict.fromkeys(found)), evidence, 0
    prs = [int(n) for n in _PR_REVERT.findall(message)]  # GitHub's revert button
    landed = [t for t in (index.pull_request(n) for n in prs) if t is not None and t != sha]
    if landed:
        return list(dict.fromkeys(landed)), "pr", 0
    quoted = _REVERT_SUBJECT.match(subject)
    named = quoted or conventional
    if named:
        text = named.group(1)
        target = index.before(text, when, sha)
        if target is not None:
            return [target], "subject" if quoted else "conventional", 0
    return [], "", unresolved


def message_reverts(commits: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Reverts declared in messages: one row per (revert, reverted) pair.

    Parameters
    ----------
    commits : pandas.DataFrame
        A commits table (``sha, subject, message, commit_time``; ``repo`` if present).

    Returns
    -------
    (pandas.DataFrame, int)
        The reverts table (columns :data:`COLUMNS`) and how many declared targets could not
        be resolved to a commit of the table.

    Examples
    --------
    >>> reverts, unresolved = message_reverts(repo.commits())  # doctest: +SKIP
    """
    index = CommitIndex(commits)
    rows, unresolved = [], 0
    may_revert = commits["message"].str.contains(r"revert", case=False, regex=False)
    for sha, message, when in zip(
        commits["sha"][may_revert],
        commits["message"][may_revert],
        commits["commit_time"][may_revert],
        strict=True,
    ):
        targets, evidence, missing = _targets(index, sha, message, when)
        unresolved += missing
        rows += [(sha, t, "message", 1.0, evidence) for t in targets]
    return reverts_table(commits, rows), unresolved


def reverts_table(commits: pd.DataFrame, rows: Iterable[tuple]) -> pd.DataFrame:
    """Reverts table from ``(revert_sha, reverted_sha, kind, fraction, evidence)`` rows.

    ``time_to_revert`` (hours) is NaN when either commit's time is NaT.
    """
    time = commits.set_index("sha")["commit_time"]
    time = time[~time.index.duplicated(keep="last")]  # a sha twice (forks): the last, as before
    df = pd.DataFrame(rows, columns=["revert_sha", "reverted_sha", "kind", "fraction", "evidence"])
    repo = commits["repo"].iloc[0] if "repo" in commits and len(commits) else None
    df.insert(0, "repo", repo)
    for side in ("revert", "reverted"):  # reindex, not map: an empty map is made float
        df[f"{side}_time"] = time.reindex(df[f"{side}_sha"].to_numpy()).array
    delta = df["revert_time"] - df["reverted_time"]
    df["time_to_revert"] = delta.dt.total_seconds() / 3600 if len(df) else pd.Series(dtype=float)
    reverts = set(df["revert_sha"]) | set(
        commits.loc[commits["message"].str.contains("This reverts commit", regex=False), "sha"]
    )
    df["is_reland"] = df["reverted_sha"].isin(reverts)
    return df[COLUMNS].sort_values(["revert_time", "revert_sha"]).reset_index(drop=True)


def effective_reverts(reverts: pd.DataFrame) -> pd.DataFrame:
    """The rows whose revert still stands.

    A commit is undone when a revert of it is itself in effect, and a revert is in effect
    unless it is undone: so a revert that was relanded (reverted) no longer counts against
    the commit it reverted, and a reland that was reverted again does.
    """
    by_target: dict[str, list[str]] = {}
    for revert, target in zip(reverts["revert_sha"], reverts["reverted_sha"], strict=True):
        by_target.setdefault(target, []).append(revert)
    memo: dict[str, bool] = {}

    def undone(sha: str, seen: frozenset = frozenset()) -> bool:
        if sha not in memo:
            memo[sha] = any(
                not undone(r, seen | {sha}) for r in by_target.get(sha, ()) if r not in seen
            )
        return memo[sha]

    keep = pd.Series([not undone(r) for r in reverts["revert_sha"]], index=reverts.index)
    return reverts.loc[keep.astype(bool)]
