"""Errors and warnings raised by aiimpact.

Every error a user can cause (a wrong path, a missing revision, a bad option) is an
:class:`InputError`: its message is one line that names the problem, and the CLI turns it
into exit code 2. Anything else is a bug and exits with 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike


class AiimpactError(Exception):
    """Base class of every error aiimpact raises on purpose."""


class InputError(AiimpactError):
    """The input is unusable (path, revision, option); the message says why in one line."""


class NotARepositoryError(InputError):
    """The path exists but holds no git repository."""


class RevisionError(InputError):
    """A revision (ref, sha, range) does not exist in the repository."""


class CacheLockedError(AiimpactError):
    """Another process holds the repository's cache open for writing."""


class AiimpactWarning(UserWarning):
    """Base class of aiimpact's warnings: data is usable, but the reader should know."""


class TruncatedHistoryWarning(AiimpactWarning):
    """The repository is a shallow clone: history before the boundary is absent."""


class MissingObjectsWarning(AiimpactWarning):
    """Some objects (blobs or trees) are absent: affected diffs were skipped and counted."""


class EmptyRepositoryWarning(AiimpactWarning):
    """The repository has no commits: the tables are empty."""


class HistoryRewrittenWarning(AiimpactWarning):
    """Cached tips left the repository (rewritten history): what is unreachable was dropped."""


class UnrepresentableTimeWarning(AiimpactWarning):
    """Some commits carry times pandas cannot hold (e.g. the year 10000): those are NaT."""


class CacheRebuiltWarning(AiimpactWarning):
    """The cache was unreadable or inconsistent and has been rebuilt from the repository."""


class QualityWarning(AiimpactWarning):
    """lizard failed on some file versions: their changes' quality figures are NA."""


class GitCommandError(AiimpactError):
    """A git command failed; the message is one line: the command, where, and git's words."""

    @classmethod
    def of(
        cls,
        args: Iterable[object],
        git_dir: str | PathLike[str] | None,
        returncode: int,
        stderr: bytes,
    ) -> GitCommandError:
        """The error for ``git *args`` on *git_dir* that exited *returncode*."""
        lines = [s for s in stderr.decode(errors="replace").splitlines() if s.strip()]
        fatal = [s for s in lines if s.startswith(("fatal:", "error:"))]
        said = (fatal or lines or ["no message"])[-1].strip()
        where = f" in {git_dir}" if git_dir is not None else ""
        command = " ".join(str(a) for a in list(args)[:1])
        return cls(printable(f"git {command} failed{where} (exit {returncode}): {said}"))


def printable(text: str) -> str:
    """*text* with control characters (terminal escapes, newlines) shown as ``\\xNN``."""
    return "".join(c if c.isprintable() or c == " " else ascii(c)[1:-1] for c in text)
