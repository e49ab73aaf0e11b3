"""Link commits to the pull requests that brought them in, and let them inherit a PR's AI
evidence.

A PR lands in a history in one of three ways, and each leaves other commits behind:

* a **merge** (GitHub's merge commit): the PR's ``merge_commit_sha`` is the merge, and the
  PR's branch commits are the commits that merge brought into the first-parent line (the
  ancestors of its other parents that were not already ancestors of its first parent);
* a **squash**: ``merge_commit_sha`` is the one new commit, whose subject usually ends in
  ``(#N)``;
* a **rebase**: ``merge_commit_sha`` is the last of the PR's commits copied onto the base;
  the copies before it are the first-parent commits just below it whose subjects are those
  of the PR's own commits (the copies have new shas, so ``pr_commits`` cannot name them),
  or, where the repository holds the PR's own commits (a mirror fetches
  ``refs/pull/*/head``), whose patch ids (``git patch-id --stable``) are theirs: that holds
  when a subject was reworded, and tells a rebase from a squash, whose one commit has the
  patch id of none of them.

Only merges into the first-parent line of the newest commit are followed into their branch
commits; a PR merged into another branch gets its merge commit and the commits its
``pr_commits`` list names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from functools import partial

import numpy as np
import pandas as pd

from aiimpact.errors import InputError
from aiimpact.git.patches import patch_ids
from aiimpact.outcomes.reverts import MERGE_PR, SQUASH_SUFFIX


def link_prs(
    commits: pd.DataFrame,
    prs: pd.DataFrame,
    pr_commits: pd.DataFrame | None = None,
    patch_ids: Callable[[list[str]], Mapping[str, str]] | None = None,
) -> pd.DataFrame:
    """Which pull request each commit came from, and how we know.

    Evidence (``via``), strongest first: the PR's ``merge_commit_sha``
    (``merge_commit``), the commits a PR's merge brought into the first-parent line
    (``branch``), the rebased copies of a PR's commits (``rebase``), the PR's commit list
    (``pr_commits``), GitHub's merge subject ``Merge pull request #N from``
    (``merge_subject``) and a squash-merge subject ending in ``(#N)`` (``squash_subject``),
    the last two only for numbers that exist in *prs*, and the commits a merge linked by
    its subject brought in (``branch_of_subject``: data without merge commit shas, such as
    AIDev, whose commit lists miss some). *commits* needs ``sha``,
    ``parents`` and ``subject`` (``Repo.commits()``, newest first); merges are told by
    their parents. *patch_ids*, if given (``Repo`` gives
    :func:`aiimpact.git.patches.patch_ids` on its repository), maps commits to their
    patch ids, and rebased copies are also found by them (``patch_id``).

    Returns
    -------
    pandas.DataFrame
        ``sha, number, via``, one row per linked commit; ``attrs["share_linked"]`` is the
        share of *commits* linked.

    Examples
    --------
    >>> links = ai.link_prs(repo.commits(), prs, data.pr_commits)  # doctest: +SKIP
    >>> links.attrs["share_linked"]                                # doctest: +SKIP
    """
    numbers = set(prs["number"].dropna().astype(int))
    parents = {s: list(ps) for s, ps in zip(commits["sha"], commits["parents"], strict=True)}
    subject = dict(zip(commits["sha"], commits["subject"], strict=True))
    found: dict[str, tuple[int, str]] = {}

    def add(sha, number, via) -> None:
        if sha in parents and sha not in found and pd.notna(number):
            found[sha] = (int(number), via)

    landed = {
        s: n
        for s, n in zip(prs["merge_commit_sha"], prs["number"], strict=True)
        if isinstance(s, str)  # not NA: unmerged, or a source without merge commits
    }
    for sha, number in landed.items():
        add(sha, number, "merge_commit")
    brought = _brought_in(parents, _tip(commits["sha"], parents))
    for sha, merge in brought.items():
        if merge in landed:
            add(sha, landed[merge], "branch")
    if pr_commits is not None:  # a commit listed by several PRs (a PR closed and opened
        # again, stacked PRs) came through the first of them that was merged
        for sha, number in _merged_first(pr_commits, prs):
            add(sha, number, "pr_commits")
    messages = _messages(pr_commits)  # pr_commits' subjects
    for sha, number in landed.items():
        own = messages.get(int(number), [])
        if sha in parents and len(parents[sha]) == 1 and len(own) > 1:
            for copy in _rebased(sha, own, parents, subject):
                add(copy, number, "rebase")
    if patch_ids is not None and pr_commits is not None:
        for copy, number in _rebased_by_patch(landed, pr_commits, parents, patch_ids).items():
            add(copy, number, "patch_id")
    merged_by_subject: dict[str, int] = {}
    for sha, text in subject.items():
        for rx, via in ((MERGE_PR, "merge_subject"), (SQUASH_SUFFIX, "squash_subject")):
            m = rx.search(text or "")
            if m and int(m.group(1)) in numbers:
                add(sha, m.group(1), via)
                if via == "merge_subject" and found.get(sha) == (int(m.group(1)), via):
                    merged_by_subject[sha] = int(m.group(1))
    # data without merge commit shas (AIDev): the merge known by its subject brought the
    # PR's branch commits in, listed by pr_commits or not
    for sha, merge in brought.items():
        if merge in merged_by_subject:
            add(sha, merged_by_subject[merge], "branch_of_subject")
    links = pd.DataFrame(
        [(sha, n, via) for sha, (n, via) in found.items()], columns=["sha", "number", "via"]
    )
    links["number"] = links["number"].astype("Int64")
    links.attrs["share_linked"] = len(found) / len(commits) if len(commits) else float("nan")
    return links


def _merged_first(pr_commits: pd.DataFrame, prs: pd.DataFrame) -> Iterable[tuple[str, object]]:
    """``(sha, number)`` of *pr_commits*, those of merged PRs first (earliest merge first),
    then the others in their order."""
    if "merged_at" not in prs or pr_commits.empty:
        return zip(pr_commits["sha"], pr_commits["number"], strict=True)
    merged = prs.dropna(subset=["number"]).drop_duplicates("number")
    when = pd.Series(merged["merged_at"].to_numpy(), index=merged["number"].astype(int))
    order = pr_commits["number"].map(lambda n: when.get(int(n)) if pd.notna(n) else None)
    ranked = pr_commits.assign(_when=pd.to_datetime(order, utc=True))
    ranked = ranked.sort_values("_when", kind="stable", na_position="last")
    return zip(ranked["sha"], ranked["number"], strict=True)


def _tip(shas: Iterable[str], parents: Mapping[str, list[str]]) -> str | None:
    """The commit no other commit of the table names as a parent (the first such one)."""
    named = {q for ps in parents.values() for q in ps}
    return next((s for s in shas if s not in named), None)


def _brought_in(parents: Mapping[str, list[str]], tip: str | None) -> dict[str, str]:
    """For each commit off the first-parent line of *tip*: the merge on that line that
    brought it in. One pass from the oldest commit of the line up: what a merge's other
    parents reach, and no earlier commit of the line did, is what it brought in."""
    line: list[str] = []
    at = tip
    while at is not None and at in parents:
        line.append(at)
        at = parents[at][0] if parents[at] else None
    seen: set[str] = set()  # always closed under "parent of"
    brought: dict[str, str] = {}
    for merge in reversed(line):
        seen.add(merge)
        stack = list(parents[merge][1:])
        while stack:
            c = stack.pop()
            if c in seen or c not in parents:
                continue
            seen.add(c)
            brought[c] = merge
            stack.extend(parents[c])
    return brought


def _messages(pr_commits: pd.DataFrame | None) -> dict[int, list[str]]:
    """Each PR's commit subjects, in the order listed (oldest first, as GitHub lists them);
    a PR with a commit of unknown subject has none (its copies cannot be told)."""
    if pr_commits is None or "subject" not in pr_commits:
        return {}
    out: dict[int, list[str]] = {}
    unknown = set()
    for number, subject in zip(pr_commits["number"], pr_commits["subject"], strict=True):
        if pd.isna(number):
            continue
        if isinstance(subject, str) and subject:
            out.setdefault(int(number), []).append(subject)
        else:
            unknown.add(int(number))
    return {n: subjects for n, subjects in out.items() if n not in unknown}


def _rebased(last: str, own: list[str], parents, subject) -> list[str]:
    """The rebased copies of a PR's commits (subjects *own*) ending at *last*: the
    first-parent commits from *last* down whose subjects match *own* from its end."""
    copies: list[str] = []
    c: str | None = last
    for expected in reversed(own):
        if c is None or c not in parents or (subject.get(c) or "").strip() != expected:
            break
        copies.append(c)
        c = parents[c][0] if len(parents[c]) == 1 else None
    return copies if len(copies) == len(own) else []


def _rebased_by_patch(landed, pr_commits, parents, patch_ids) -> dict[str, int]:
    """Rebased copies found by patch id: for each PR landed by a one-parent commit, the
    first-parent commits from it down whose patch ids are those of the PR's own commits
    (each matched once; the walk stops at the first that is none of them). One
    :func:`patch_ids` call for all PRs."""
    own: dict[int, list[str]] = {}
    for sha, number in zip(pr_commits["sha"], pr_commits["number"], strict=True):
        if isinstance(sha, str) and sha not in parents and pd.notna(number):
            own.setdefault(int(number), []).append(sha)
    chains: dict[int, list[str]] = {}
    for last, number in landed.items():
        mine = own.get(int(number), [])
        chain: list[str] = []
        c = last
        while c in parents and len(parents[c]) == 1 and len(chain) < len(mine):
            chain.append(c)
            c = parents[c][0]
        if chain:
            chains[int(number)] = chain
    if not chains:
        return {}
    ids = patch_ids([s for n in chains for s in (*own[n], *chains[n])])
    found: dict[str, int] = {}
    for number, chain in chains.items():
        left = Counter(ids[s] for s in own[number] if s in ids)
        for c in chain:
            pid = ids.get(c)
            if not left[pid]:
                break
            left[pid] -= 1
            found[c] = number
    return found


def with_prs(
    table: pd.DataFrame, prs, repo: str, report, git_dir: str | None = None
) -> pd.DataFrame:
    """*table* (commits or outcomes) as :func:`inherit_pr_evidence` makes it from the PR
    data *prs* (:class:`~aiimpact.platforms.tables.PullRequestData`: ``ai.load_aidev``,
    ``ai.load_gharchive``, ``ai.github.pull_requests``), its counts in ``report.prs``;
    *table* itself when *prs* is None. The rows used are those whose ``repo`` is *repo*;
    with *git_dir*, rebased copies are also found by patch id there.
    """
    if prs is None:
        return table
    if not isinstance(getattr(prs, "prs", None), pd.DataFrame):
        raise InputError(
            "prs must be pull-request data (ai.load_aidev, ai.load_gharchive, "
            f"ai.github.pull_requests), not {type(prs).__name__}"
        )
    pid = partial(patch_ids, git_dir) if git_dir is not None else None
    listed = getattr(prs, "pr_commits", None)
    table, report.prs = inherit_pr_evidence(table, prs.prs, listed, repo, pid)
    return table


def inherit_pr_evidence(
    commits: pd.DataFrame,
    prs: pd.DataFrame,
    pr_commits: pd.DataFrame | None,
    repo: str,
    patch_ids: Callable[[list[str]], Mapping[str, str]] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """*commits* with ``pr_number`` and ``ai_source``, the AI evidence of AI-assisted PRs
    added to the commits that landed through them.

    The rows of *prs* (and *pr_commits*) for this repository are those whose ``repo`` is
    *repo*. A commit linked to an AI-assisted PR (:func:`link_prs`) gets the PR's tools and
    modes, and its evidence as ``pr:<evidence>``; ``ai_source`` says where a commit's
    attribution came from: ``commit`` (its own marks), ``pr``, ``both``, NA for a commit
    neither marks. Returns the table and the counts behind it (``linked``, ``via``, and
    the commits per ``ai_source``).

    Raises :class:`~aiimpact.errors.InputError` when no PR row names *repo*.
    """
    mine = prs[prs["repo"] == repo] if "repo" in prs else prs.iloc[0:0]
    if mine.empty:
        names = sorted({str(r) for r in prs.get("repo", pd.Series(dtype=str)).dropna()})[:5]
        raise InputError(
            f"no pull request of {repo!r} in the PR data (its repo column has "
            f"{', '.join(map(repr, names)) or 'no names'}); pass Repo(..., name='owner/name')"
        )
    listed = None
    if pr_commits is not None and "repo" in pr_commits:
        listed = pr_commits[pr_commits["repo"] == repo]
    links = link_prs(commits, mine, listed, patch_ids)
    number = commits["sha"].map(dict(zip(links["sha"], links["number"], strict=True)))
    out = commits.copy()
    out["pr_number"] = pd.array(number, dtype="Int64")
    ai_prs = mine[mine["ai_assisted"].astype(bool)].drop_duplicates("number")
    evidence = {
        int(n): (tools, modes, ev)
        for n, tools, modes, ev in zip(
            ai_prs["number"], ai_prs["ai_tools"], ai_prs["ai_modes"], ai_prs["ai_evidence"],
            strict=True,
        )
    }  # fmt: skip
    own = out["ai_assisted"].astype("boolean").fillna(False).to_numpy(bool)
    gained = [evidence.get(int(n)) if pd.notna(n) else None for n in out["pr_number"]]
    from_pr = np.array([g is not None for g in gained], dtype=bool)
    for k, (column, prefix) in enumerate(
        (("ai_tools", ""), ("ai_modes", ""), ("ai_evidence", "pr:"))
    ):
        out[column] = [
            sorted({*mark, *(prefix + e for e in got[k])}) if got is not None else list(mark)
            for mark, got in zip(out[column], gained, strict=True)
        ]
    source = [
        ("both" if mine_ else "pr") if pr else ("commit" if mine_ else None)
        for mine_, pr in zip(own, from_pr, strict=True)
    ]
    out["ai_source"] = pd.Series(source, index=out.index, dtype="str")
    out["ai_assisted"] = pd.array(own | from_pr, dtype="boolean")
    attributed = max(1, sum(s is not None for s in source))
    counts = {
        "linked": int(out["pr_number"].notna().sum()),
        "via": {v: int(n) for v, n in links["via"].value_counts().items()},
        **{s: source.count(s) for s in ("commit", "pr", "both")},
        **{f"share_{s}": source.count(s) / attributed for s in ("commit", "pr", "both")},
    }
    return out, counts
