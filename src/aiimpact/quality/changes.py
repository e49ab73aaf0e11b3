"""The files each commit changed, with their blob ids: one streamed ``git log --raw``.

Merges are left out (``--no-merges``): what a merge brings in is measured on the commits of
the merged branch, as PyDriller does (its merges have no modified files). Renames are
detected (``-M``, git's default 50% similarity), so a renamed and edited file is measured
before and after under its new name. Submodules (gitlinks) and symbolic links have no
source and are left out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass

from aiimpact.git.safety import GitStream

_SKIPPED_MODES = {b"160000", b"120000"}  # gitlink, symlink
_READ = 1 << 20


@dataclass(frozen=True, slots=True)
class FileChange:
    """One changed file of a commit.

    Attributes
    ----------
    path : str
        The path after the commit (before it, for a deletion).
    old_path : str or None
        The path before a rename or copy, else None.
    old_blob, new_blob : str or None
        The blob before and after (None: the file is added, or deleted).
    status : str
        git's status letter (A, M, D, T, R, C).
    """

    path: str
    old_path: str | None
    old_blob: str | None
    new_blob: str | None
    status: str


def stream_changes(
    git_dir: str, rev: str, exclude: Collection[str] = ()
) -> Iterator[tuple[str, list[FileChange]]]:
    """Each non-merge commit reachable from *rev* (newest first) with the files it changed,
    the paths in *exclude* left out (files some of whose blobs are absent: rename detection
    reads blobs, and git fails on one it cannot read).

    Examples
    --------
    >>> for sha, files in stream_changes(".git", "HEAD"):  # doctest: +SKIP
    ...     print(sha, [f.path for f in files])
    """
    args = ["log", "--raw", "-z", "-M", "--no-abbrev", "--no-merges", "--root", "--format=%x01%H"]
    # with a pathspec, git would drop the commits that touch only excluded files: kept
    walk = ["--full-history", "--sparse", rev] if exclude else [rev]
    paths = [f":(exclude,literal){path}" for path in sorted(exclude)]
    with GitStream(git_dir, [*args, *walk, "--", *paths], literal_pathspecs=not exclude) as git:
        yield from parse_raw(_tokens(git.stdout))


def _tokens(stream) -> Iterator[bytes]:
    """The NUL-separated fields of *stream*, read a MiB at a time."""
    rest = b""
    while chunk := stream.read(_READ):
        parts = (rest + chunk).split(b"\0")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def parse_raw(tokens: Iterator[bytes]) -> Iterator[tuple[str, list[FileChange]]]:
    """Commits and their file changes from the fields of ``git log --raw -z
    --format=%x01%H`` output."""
    sha: str | None = None
    files: list[FileChange] = []
    it = iter(tokens)
    for token in it:
        token = token.lstrip(b"\n")
        if token.startswith(b"\x01"):
            if sha is not None:
                yield sha, files
            sha, files = token[1:].decode(), []
            continue
        if not token.startswith(b":"):
            continue
        old_mode, new_mode, old, new, status = token[1:].split(b" ")
        path = next(it)
        letter = status[:1].decode()
        old_path = None
        if letter in "RC":
            old_path, path = path, next(it)
        if old_mode in _SKIPPED_MODES or new_mode in _SKIPPED_MODES:
            continue
        files.append(
            FileChange(
                _text(path),
                _text(old_path) if old_path is not None else None,
                None if not old.strip(b"0") else old.decode(),  # all zeros: no blob
                None if not new.strip(b"0") else new.decode(),
                letter,
            )
        )
    if sha is not None:
        yield sha, files


def _text(path: bytes) -> str:
    return path.decode("utf-8", "replace")
