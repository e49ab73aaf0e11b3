"""Revisions: the commit a name points at, ranges, and whether one commit descends from
another."""

from __future__ import annotations

import pygit2

from aiimpact.errors import InputError, RevisionError
from aiimpact.git.safety import run_git


def split_range(rev_range: str) -> tuple[str, str]:
    """The ends ``A`` and ``B`` of the range ``"A..B"``; anything else is an input error."""
    start, sep, end = rev_range.partition("..")
    if not sep or not end:
        raise InputError(f"range {rev_range!r} must be of the form A..B")
    return start, end


def resolve(repo: pygit2.Repository, git_dir: str, name: str, rev: str = "HEAD") -> str | None:
    """The commit sha *rev* names in *repo*, or None for the unborn HEAD of an empty one.

    Raises :class:`~aiimpact.errors.RevisionError` naming what is wrong (*name* is the
    repository's display name): no such revision, one that names a tree, blob or tag of no
    commit, a commit libgit2 cannot parse, or an unborn HEAD (an orphan branch) in a
    repository with other branches.
    """
    if rev == "HEAD" and repo.head_is_unborn:
        branches = sorted(repo.branches.local)
        if not branches:
            return None
        head = repo.references["HEAD"].target
        raise RevisionError(
            f"HEAD of {name} is {head}, a branch with no commits yet; the "
            f"repository has {len(branches)} other branch(es), e.g. {branches[0]!r}: "
            "name one as the revision"
        )
    obj = None
    try:
        obj = repo.revparse_single(rev)
        commit = obj.peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError) as exc:
        if "parse" in str(exc):  # libgit2 refuses the commit (a malformed time, say): git
            return _git_resolve(git_dir, rev, exc)  # accepts it, and so does the walk
        if obj is not None:
            raise RevisionError(
                f"revision {rev!r} names a {obj.type_str} ({obj.id}), not a commit"
            ) from None
        raise RevisionError(f"revision {rev!r} does not exist in {name} ({git_dir})") from None
    return str(commit.id)


def _git_resolve(git_dir: str, rev: str, refused: Exception) -> str:
    done = run_git(git_dir, ["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], check=False)
    if done.returncode != 0:
        raise RevisionError(f"revision {rev!r} cannot be read: {refused}") from None
    return done.stdout.decode().strip()


def descends(repo: pygit2.Repository, tip: str, ancestor: str) -> bool:
    """Whether *tip* is *ancestor* or descends from it (False when libgit2 cannot tell)."""
    try:
        return ancestor == tip or repo.descendant_of(tip, ancestor)
    except (pygit2.GitError, ValueError):  # a commit libgit2 refuses: walk it again
        return False
