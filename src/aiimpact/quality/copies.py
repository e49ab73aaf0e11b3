"""Copy/pasted lines per commit (GitClear's "copy/paste" operation).

A commit's ``lines_copied`` are the lines it added in blocks of at least :data:`WINDOW`
consecutive normalised lines (whitespace collapsed; blank and comment-only lines left out,
as :func:`aiimpact.outcomes.lines.meaningful` tells them) that, once the commit is applied,
occur more than once in the tree: the block already existed elsewhere and still does (not
a move: a block removed in one place and added in another is ``lines_moved``), or the
commit adds it more than once. Only files lizard reads (source code) count, as for the
other quality columns.

How it is computed, and what that approximates:

* the non-merge commits are walked oldest first, and an index of every 5-line window of
  every source file is kept: each path with the windows of the version last written to
  it. A change replaces its path's windows (the version before the change is read when it
  is not the one in the index, as after a branch), a rename moves them, a deletion drops
  them. On a branching history the index is therefore the union of the latest versions
  of each file on any branch, not exactly the tree at the commit's parent;
* a window is *new* in a file version when the version holds it more often than the one
  before it (multisets); a new window counts as copied when, after the commit, the index
  holds it at least twice; the lines it covers (its 5 lines, each counted once) are the
  commit's copied lines;
* blobs are read in one ``git cat-file --batch`` stream, each at most once per change;
  files some of whose blobs the repository does not hold (a partial clone, a mirror
  without large files) are not in the index, so a copy of their code is not found there:
  on such a repository ``lines_copied`` is a lower bound.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np
from tqdm.auto import tqdm

from aiimpact.git.blobs import iter_blobs
from aiimpact.outcomes.lines import meaningful

WINDOW = 5
VERSION = "2"  # of this definition: stored results of another are recomputed
_MULTIPLIER = np.uint64(0x100000001B3)  # FNV-1's prime: the window hash is a polynomial
_NONE = np.zeros(0, dtype=np.uint64)

# One change of a commit, in walk order: (path, old_path, old_blob, new_blob); the blobs are
# None where the file is added or deleted.
Change = tuple[str, str | None, str | None, str | None]


def windows(content: bytes) -> np.ndarray:
    """The hashes of every :data:`WINDOW` consecutive normalised, meaningful lines of
    *content*, in order.

    Examples
    --------
    >>> len(windows(b"a = 1\\n\\nb = 2\\n# note\\nc = 3\\nd = 4\\ne = 5\\nf = 6\\n"))
    2
    """
    lines = (b" ".join(line.split()) for line in content.split(b"\n"))
    kept = [line for line in lines if line and meaningful(line)]
    if len(kept) < WINDOW:
        return _NONE
    hashes = np.fromiter(map(zlib.crc32, kept), dtype=np.uint64, count=len(kept))
    n = len(hashes) - WINDOW + 1
    out = np.zeros(n, dtype=np.uint64)
    for k in range(WINDOW):  # uint64 arithmetic wraps: a polynomial hash modulo 2**64
        out = out * _MULTIPLIER + hashes[k : k + n]
    return out


def copied_lines(
    git_dir: str, commits: Sequence[tuple[str, list[Change]]], progress: bool = False
) -> dict[str, tuple[int, int, int]]:
    """``{sha: (lines_copied, tree_windows, tree_duplicated_windows)}`` for *commits*
    (oldest first, each with its changes to source files): the lines it copied, and after
    it the index's windows and those of them that occur more than once (their share is the
    tree's duplicated-block density). A blob the repository does not hold counts as empty.
    *progress* shows a "finding copies" bar.

    Examples
    --------
    >>> copied_lines(".git", [("ab12...", [("a.py", None, None, "e69d...")])])  # doctest: +SKIP
    {'ab12...': (0, 0, 0)}
    """
    steps = _steps(commits)
    needed: list[str] = []  # in the order they are read below
    for _, changes in steps:
        for _, _, old_blob, new_blob, read_old in changes:
            needed += [b for b in (old_blob if read_old else None, new_blob) if b]
    contents = iter_blobs(git_dir, needed)
    index: dict[str, tuple[str | None, np.ndarray]] = {}  # path -> (blob, its windows)
    counts = _Counts()
    result: dict[str, tuple[int, int, int]] = {}
    for sha, changes in tqdm(steps, unit="commit", desc="finding copies", disable=not progress):
        new_versions = []
        for path, old_path, old_blob, new_blob, read_old in changes:
            held = index.pop(old_path or path, (None, _NONE))
            counts.remove(held[1])
            if old_blob is None:  # added (whatever another branch left at that path)
                before = _NONE
            else:
                before = _read(contents, old_blob) if read_old else held[1]
            after = _read(contents, new_blob)
            if new_blob is not None:
                index[path] = (new_blob, after)
                new_versions.append((before, after))
        for _, after in new_versions:
            counts.add(after)
        copied = sum(_copied(before, after, counts.of) for before, after in new_versions)
        result[sha] = (copied, counts.total, counts.duplicated)
    assert next(contents, None) is None  # every blob read; git's exit status is checked
    return result


class _Counts:
    """How many times the index holds each window (``of``; windows no longer held are
    dropped, so it stays the size of the tree), how many it holds in all (``total``), and
    how many of those occur more than once (``duplicated``)."""

    def __init__(self) -> None:
        self.of: dict[int, int] = {}
        self.total = self.duplicated = 0

    def add(self, found: np.ndarray) -> None:
        of, get, duplicated = self.of, self.of.get, 0
        for w in found.tolist():
            n = get(w, 0) + 1
            of[w] = n
            duplicated += 2 if n == 2 else n > 2
        self.total += len(found)
        self.duplicated += duplicated

    def remove(self, found: np.ndarray) -> None:
        of, duplicated = self.of, 0
        for w in found.tolist():
            n = of[w] - 1
            if n:
                of[w] = n
                duplicated += 2 if n == 1 else 1
            else:
                del of[w]
        self.total -= len(found)
        self.duplicated -= duplicated


def _steps(
    commits: Sequence[tuple[str, list[Change]]],
) -> list[tuple[str, list[tuple[str, str | None, str | None, str | None, bool]]]]:
    """*commits* with each change marked by whether its old blob must be read: it is not
    the version the index holds for that path (a change on another branch came between).
    The walk of the index by blob only, made first so that every blob to read is known
    before the one ``cat-file --batch`` starts."""
    held: dict[str, str] = {}
    steps = []
    for sha, changes in commits:
        marked = []
        for path, old_path, old_blob, new_blob in changes:
            was = held.pop(old_path or path, None)
            marked.append((path, old_path, old_blob, new_blob, bool(old_blob and was != old_blob)))
            if new_blob is not None:
                held[path] = new_blob
        steps.append((sha, marked))
    return steps


def _read(contents: Iterator[tuple[str, bytes | None]], blob: str | None) -> np.ndarray:
    if blob is None:
        return _NONE
    oid, content = next(contents)
    assert oid == blob, (oid, blob)  # the blobs were listed in this very order
    return _NONE if content is None else windows(content)


def _copied(before: np.ndarray, after: np.ndarray, counts: dict[int, int]) -> int:
    """Lines of *after* covered by its new windows (held more often than in *before*) that
    the index holds at least twice."""
    if not len(after):
        return 0
    extra = Counter(after.tolist())
    extra.subtract(before.tolist())
    wanted = {w for w, n in extra.items() if n > 0 and counts.get(w, 0) >= 2}
    if not wanted:
        return 0
    covered = np.zeros(len(after) + WINDOW - 1, dtype=bool)
    for start in np.flatnonzero(np.isin(after, np.fromiter(wanted, np.uint64, len(wanted)))):
        covered[start : start + WINDOW] = True
    return int(covered.sum())
