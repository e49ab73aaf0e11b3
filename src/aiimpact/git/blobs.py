"""Blob contents from one streamed ``git cat-file --batch``, never a process per blob."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from aiimpact.git.safety import GitStream


def iter_blobs(git_dir: str, oids: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
    """``(oid, content)`` for each of *oids*, in order; content None for an object the
    repository does not hold (a partial clone, a mirror without its large files).

    Examples
    --------
    >>> dict(iter_blobs(".git", ["e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"]))  # doctest: +SKIP
    {'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391': b''}
    """
    wanted = list(oids)
    if not wanted:
        return
    query = "".join(f"{oid}\n" for oid in wanted).encode()
    with GitStream(git_dir, ["cat-file", "--batch"], input=query) as git:
        out = git.stdout
        for oid in wanted:
            header = out.readline().split()
            if len(header) < 3 or header[1] == b"missing":
                yield oid, None
                continue
            yield oid, out.read(int(header[2]))
            out.read(1)  # the newline after each object
