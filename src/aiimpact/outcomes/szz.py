"""Fixes and the commits that induced them (SZZ), from recorded evidence and line history.

**Fixes** (:func:`find_fixes`) are commits with evidence of a bug, each recorded: a keyword
in the subject (``fix``, ``bug``, ``defect``, ``crash``, ``regression``, ``hotfix``,
``fault``), a fix-family GitHub closing keyword in the message (``fixes #12``, ``fixed
owner/repo#12``), or a ``Fixes: <sha> ("subject")`` trailer (the kernel convention, which
also names the inducing commit: ground truth). Reverts are not fixes. An issue reference
(``#123``, ``PROJ-123``) or a ``closes #12``/``resolves #12`` is recorded beside that
evidence but is none by itself: GitHub squash merges end every subject with the pull
request's ``(#123)``, and issues are features as often as bugs (on astral-sh/uv, issue
references alone made 9,984 of 10,228 commits "fixes").

**Inducing commits** (:func:`szz`): the commits that last wrote the lines a fix deleted or
modified, as blame at the fix's first parent would say (the line history of
:mod:`aiimpact.outcomes.lines`), skipping blank and comment-only lines and whitespace-only
edits, following lines moved or renamed within a commit, and never blaming merges.
Variants: ``"b"`` every candidate (basic SZZ with those filters; the default), ``"r"`` the
most recent candidate, ``"l"`` the candidate with the most blamed lines. A fix that only
adds lines has nothing to blame: it is reported as a *ghost* fix, not dropped; with
``context=True`` it is linked to the commits that wrote the lines around its insertions
(variant ``"<v>-context"``). With
``issue_dates``, candidates committed after the bug was reported are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping

import pandas as pd

from aiimpact import schema
from aiimpact.outcomes.lines import LineHistory

_KEYWORD = re.compile(
    r"\b(fix(e[sd]|ing)?|bugs?|defects?|crash(es|ed)?|regressions?|hotfix|faults?)\b", re.I
)
_FIX_CLOSING = re.compile(r"\bfix(e[sd])?:?\s+(?:[\w.-]+/[\w.-]+)?#\d+", re.I)
_CLOSING = re.compile(r"\b(close[sd]?|resolve[sd]?):?\s+(?:[\w.-]+/[\w.-]+)?#\d+", re.I)
_ISSUE = re.compile(r"(?<![\w/])(#\d+|[A-Z][A-Z0-9]+-\d+)\b")
_FIXES_TRAILER = re.compile(r"^Fixes:\s*([0-9a-f]{7,64})\b", re.I | re.M)
_REVERT = re.compile(r"^Revert\b|This reverts commit", re.M)

FIX_COLUMNS = schema.columns(schema.FIXES)
"""The columns of the fixes table (:data:`aiimpact.schema.FIXES`)."""
SZZ_COLUMNS = schema.columns(schema.SZZ)
"""The columns of the szz table (:data:`aiimpact.schema.SZZ`)."""


def find_fixes(commits: pd.DataFrame) -> pd.DataFrame:
    """Fix commits with their evidence (one row per fix).

    Returns
    -------
    pandas.DataFrame
        ``repo, sha, evidence`` (list of ``keyword``, ``fix-closing``, ``fixes-trailer``,
        and, only beside one of those, ``closing`` and ``issue``) and ``fixes_trailer``
        (the shas named by ``Fixes:`` lines).
    """
    rows = []
    columns = (commits[c].tolist() for c in ("sha", "subject", "message"))
    for sha, subject, message in zip(*columns, strict=True):
        # each pattern only where its literal part is (C-speed substring tests: git/git's
        # 82k long messages took 2.5 s through the patterns alone); a non-ASCII message is
        # searched anyway, as case-insensitive matching folds some letters to ASCII
        if ("Revert" in message or "This reverts commit" in message) and _REVERT.search(message):
            continue
        evidence = []
        if _KEYWORD.search(subject):
            evidence.append("keyword")
        if "#" in message and _FIX_CLOSING.search(message):
            evidence.append("fix-closing")
        maybe = not message.isascii() or "fixes:" in message.lower()
        named = _FIXES_TRAILER.findall(message) if maybe else []
        if named:
            evidence.append("fixes-trailer")
        if not evidence:  # an issue reference alone is no evidence of a bug
            continue
        if _CLOSING.search(message):
            evidence.append("closing")
        if _ISSUE.search(subject):
            evidence.append("issue")
        rows.append((sha, evidence, named))
    df = pd.DataFrame(rows, columns=["sha", "evidence", "fixes_trailer"])
    df.insert(0, "repo", commits["repo"].iloc[0] if "repo" in commits and len(commits) else None)
    return df[FIX_COLUMNS]


def szz(
    history: LineHistory,
    fixes: list[str],
    *,
    merges: Collection[str] = frozenset(),
    variant: str = "b",
    issue_dates: Mapping[str, pd.Timestamp] | None = None,
    context: bool = False,
) -> tuple[pd.DataFrame, list[str]]:
    """Inducing commits of *fixes*; returns the links and the ghost fixes (nothing blamed).

    Returns
    -------
    (pandas.DataFrame, list of str)
        Links ``fix_sha, inducing_sha, path, lines, variant`` (``path``: the fix's file
        that held most of the inducing commit's lines it deleted, or where an add-only
        fix inserted its lines; ``lines`` counts them over all files) and the fixes that
        deleted no meaningful line.

    See Also
    --------
    aiimpact.outcomes.szz_blame.szz_by_blame : the same links from ``git blame`` per fix.
    """
    check_variant(variant)
    index = {sha: i for i, sha in enumerate(history.commits)}

    def by_sha(counts: Mapping[int, int]) -> dict[str, int]:
        return {history.commits[c]: n for c, n in counts.items()}

    def where_sha(where: Mapping[int, str]) -> dict[str, str]:
        return {history.commits[c]: path for c, path in where.items()}

    def time(sha: str) -> int | None:
        return history.time[index[sha]]

    rows, ghosts = [], []
    for fix in fixes:
        fi = index.get(fix)
        if fi is None:
            continue
        found, ghost = fix_links(
            fix,
            by_sha(history.deleted_from.get(fi, {})),
            where_sha(history.deleted_where.get(fi, {})),
            time,
            merges=merges,
            variant=variant,
            issue_dates=issue_dates,
            context_of=by_sha(history.context_of.get(fi, {})) if context else None,
            context_where=where_sha(history.context_where.get(fi, {})),
        )
        rows += found
        if ghost:
            ghosts.append(fix)
    return links_frame(rows), ghosts


def check_variant(variant: str) -> None:
    """Raise ValueError unless *variant* is one of ``"b"``, ``"r"``, ``"l"``."""
    if variant not in ("b", "r", "l"):
        raise ValueError(f"SZZ variant {variant!r} is not one of 'b', 'r', 'l'")


def fix_links(
    fix: str,
    deleted: Mapping[str, int],
    deleted_where: Mapping[str, str],
    time: Callable[[str], int | None],
    *,
    merges: Collection[str],
    variant: str,
    issue_dates: Mapping[str, pd.Timestamp] | None,
    context_of: Mapping[str, int] | None = None,
    context_where: Mapping[str, str] | None = None,
) -> tuple[list[tuple], bool]:
    """The link rows of one fix and whether it is a ghost fix (the selection every SZZ
    method shares).

    *deleted* maps each commit that wrote meaningful lines the fix deleted to how many
    (``deleted_where``: the fix's file holding most of them); *context_of* and
    ``context_where`` the same for the lines around its insertions (None: not wanted, or
    not computed yet: a ghost fix then gets no rows). *time* gives a commit's time in
    seconds (None: unknown; such a candidate is never the most recent and is kept by an
    issue date). Merges and the fix itself are never blamed; with *issue_dates*,
    candidates committed after the fix's bug was reported are dropped (not the context
    ones).

    Returns
    -------
    (list of tuple, bool)
        ``(fix, inducing, path, lines, variant)`` rows, and True for a ghost fix.
    """
    blamed = {s: n for s, n in deleted.items() if s not in merges and s != fix}
    if issue_dates and fix in issue_dates and pd.notna(issue_dates[fix]):
        cutoff = pd.Timestamp(issue_dates[fix]).timestamp()
        blamed = {s: n for s, n in blamed.items() if _before(time(s), cutoff)}
    variant_name, where = variant, deleted_where
    ghost = not blamed
    if ghost:
        if context_of is None:
            return [], True
        # an add-only fix: blame the lines it was inserted between
        blamed = {s: n for s, n in context_of.items() if s not in merges and s != fix}
        variant_name, where = f"{variant}-context", context_where or {}
        if not blamed:
            return [], True
    if variant == "r":
        blamed = dict([max(blamed.items(), key=lambda kv: _seconds(time(kv[0])))])
    elif variant == "l":
        blamed = dict([max(blamed.items(), key=lambda kv: kv[1])])
    return [(fix, s, where.get(s), n, variant_name) for s, n in blamed.items()], ghost


def links_frame(rows: list[tuple]) -> pd.DataFrame:
    """The szz table of :func:`fix_links` rows (``repo`` None)."""
    df = pd.DataFrame(rows, columns=["fix_sha", "inducing_sha", "path", "lines", "variant"])
    df.insert(0, "repo", None)
    return df[SZZ_COLUMNS]


def _before(seconds: int | None, cutoff: float) -> bool:
    return seconds is None or seconds <= cutoff


def _seconds(seconds: int | None) -> float:
    return float("-inf") if seconds is None else seconds
