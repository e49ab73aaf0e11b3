"""Errors and warnings raised by aiimpact.

Every error a user can cause (a wrong path, a missing revision, a bad option) is an
:class:`InputError`: its message is one line that names the problem, and the CLI turns it
into exit code 2. Anything else is a bug and exits with 1.
"""

from __future__ import annotations


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


class CacheRebuiltWarning(AiimpactWarning):
    """The cache was unreadable or inconsistent and has been rebuilt from the repository."""
