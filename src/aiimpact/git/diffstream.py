"""Per-commit file statistics from one streamed ``git diff-tree --stdin`` per chunk of commits.

Semantics (the same as ``git log --numstat --diff-merges=first-parent --no-renames``):

* every commit is diffed against its **first parent**; a merge is diffed against its first
  parent only; a root commit (or a shallow boundary) against the empty tree;
* renames are **not** detected unless ``renames=True`` (``-M``): a renamed file is then one
  ``R`` row with ``old_path``, otherwise a ``D`` and an ``A`` row;
* binary files have ``is_binary=True`` and count 0 inserted and 0 deleted lines;
* a type change (file <-> symlink) is one ``T`` row; a submodule bump is one ``M`` row of
  1 insertion and 1 deletion, as git counts it.

Many commits go to one git process on stdin (``<sha> <first-parent>`` lines): never one
process per commit. When an object is absent (a partial clone, a mirror without its large
blobs), git stops; the commits it had not finished are then listed from their trees alone
(one more stream, no blob read), those with every object present are diffed by git as usual,
and in the others the files whose blobs are absent get unknown (``None``) line counts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pygit2

from aiimpact.errors import GitCommandError
from aiimpact.git.safety import GitStream, is_missing_object_error, open_repository

_DIFF_OPTS = ("-r", "--root", "-z")  # the safety flags come from git_argv


@dataclass(slots=True)
class FileChange:
    """One file touched by a commit, relative to the commit's first parent."""

    path: str
    old_path: str | None
    change_type: str
    insertions: int | None
    deletions: int | None
    is_binary: bool | None


@dataclass(slots=True)
class CommitDiff:
    """The files a commit changed, and how many of them could not be diffed."""

    sha: str
    files: list[FileChange] = field(default_factory=list)
    missing_files: int = 0
    tree_missing: bool = False
    objects: list[tuple[bytes, bytes, bytes, bytes]] | None = None  # listing mode only


def _decode(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def _rename_opt(renames: bool) -> str:
    return "-M" if renames else "--no-renames"


class _Parser:
    """Incremental parser of ``diff-tree --stdin --raw --numstat -z`` output.

    Feed it byte chunks; it yields each commit once the next commit's header (or the end of
    a clean stream) shows that the commit is complete.
    """

    def __init__(self, listing: bool = False) -> None:
        self._listing = listing  # --raw only (no numstat): keep modes and object ids
        self._objects: list[tuple[bytes, bytes, bytes, bytes]] = []
        self._tail = b""
        self._pending: list[bytes] = []
        self._current: str | None = None
        self._raw: list[tuple[str, str, str | None]] = []  # path, status letter, old path
        self._num: list[tuple[int, int, bool]] = []

    def feed(self, data: bytes) -> Iterator[CommitDiff]:
        toks = (self._tail + data).split(b"\0")
        self._tail = toks.pop()
        if self._pending:
            toks = self._pending + toks
            self._pending = []
        i, n = 0, len(toks)
        raw, num = self._raw, self._num
        while i < n:
            t = toks[i]
            if t[:1] == b":":
                # ":<omode> <nmode> <osha> <nsha> <status>" then 1 path (2 for R/C)
                status = t[t.rfind(b" ") + 1 :]
                kind = chr(status[0])
                npaths = 2 if kind in "RC" else 1
                if i + npaths >= n:
                    break
                if self._listing:
                    omode, nmode, osha, nsha = t[1:].split(b" ")[:4]
                    self._objects.append((omode, nmode, osha, nsha))
                if npaths == 2:
                    raw.append((_decode(toks[i + 2]), kind, _decode(toks[i + 1])))
                else:
                    raw.append((_decode(toks[i + 1]), kind, None))
                i += npaths + 1
            elif b"\t" in t:
                a, d, rest = t.split(b"\t", 2)
                if not rest:  # rename form: "a\td\t" NUL old NUL new
                    if i + 2 >= n:
                        break
                    i += 2
                i += 1
                if a == b"-":
                    num.append((0, 0, True))
                else:
                    num.append((int(a), int(d), False))
            else:
                done = self._finish()
                if done is not None:
                    yield done
                self._current = t.decode("ascii")
                i += 1
        if i < n:
            self._pending = toks[i:]

    def _finish(self) -> CommitDiff | None:
        if self._current is None:
            return None
        if self._listing:
            files = [FileChange(p, old, kind, None, None, None) for p, kind, old in self._raw]
            diff = CommitDiff(self._current, files, objects=list(self._objects))
            self._raw.clear()
            self._objects.clear()
            self._current = None
            return diff
        files = [
            FileChange(path, old, kind, ins, dels, binary)
            for (path, kind, old), (ins, dels, binary) in zip(self._raw, self._num, strict=True)
        ]
        self._raw.clear()
        self._num.clear()
        sha, self._current = self._current, None
        return CommitDiff(sha, files)

    def close(self) -> CommitDiff | None:
        """End of a clean stream: return the last commit."""
        return self._finish()


class _Stream:
    """One ``git diff-tree --stdin`` process: feed it pairs, iterate over parsed commits."""

    def __init__(self, git_dir: str, args: list[str], feed: str, listing: bool = False) -> None:
        self.listing = listing
        self.git = GitStream(git_dir, args, input=feed.encode())
        self.proc = self.git.proc

    def batches(self) -> Iterator[list[CommitDiff]]:
        """Complete commits, a list per read; only commits git finished are yielded."""
        parser = _Parser(self.listing)
        out = self.git.stdout
        while data := out.read1(1 << 18):
            done = list(parser.feed(data))
            if done:
                yield done
        if self.git.wait() == 0:
            last = parser.close()
            if last is not None:
                yield [last]

    def kill(self) -> None:
        """Stop git if it still runs, and release the pipes."""
        self.git.kill()

    @property
    def stderr(self) -> str:
        return self.git.stderr


def _feed(pairs: Sequence[tuple[str, str | None]]) -> str:
    return "".join(f"{sha} {parent or ''}\n" for sha, parent in pairs)


def diff_commits(
    git_dir: str,
    pairs: Sequence[tuple[str, str | None]],
    *,
    renames: bool = False,
    tolerate_missing: bool = True,
) -> Iterator[list[CommitDiff]]:
    """Diff each ``(sha, first_parent)`` pair; yield lists of results as they complete.

    One git process diffs the whole sequence. If git stops on an absent object, the
    commits it has not finished go through :func:`_diff_tolerant` instead.
    """
    args = ["diff-tree", "--stdin", "--always", "--raw", "--numstat", _rename_opt(renames)]
    stream = _Stream(git_dir, [*args, *_DIFF_OPTS], _feed(pairs))
    start = 0
    try:
        for done in stream.batches():
            start += len(done)
            yield done
    finally:
        stream.kill()
    if stream.proc.returncode == 0:
        return
    if not tolerate_missing or not is_missing_object_error(stream.stderr):
        raise GitCommandError.of(args, git_dir, stream.proc.returncode, stream.stderr.encode())
    yield from _diff_tolerant(git_dir, pairs[start:], renames=renames)


def _diff_tolerant(
    git_dir: str, pairs: Sequence[tuple[str, str | None]], *, renames: bool
) -> Iterator[list[CommitDiff]]:
    """Diff commits some of whose objects are absent, still without a process per commit.

    1. One ``diff-tree --raw`` stream lists every commit's changed files with their object
       ids; listing reads trees only, never blobs. A commit whose *trees* are absent gets no
       files and ``tree_missing=True`` (the listing restarts after it).
    2. Commits whose objects are all present go back to one normal stream (exact git counts).
    3. In the others, files whose blobs are present are counted by libgit2 (blob-to-blob
       patch, the same Myers diff); files with an absent blob get ``None`` counts. Renames are
       not detected in such commits.
    """
    repo = open_repository(git_dir)
    listing = ["diff-tree", "--stdin", "--always", "--raw", "--no-renames", *_DIFF_OPTS]
    complete: list[tuple[str, str | None]] = []
    parents = dict(pairs)
    start = 0
    while start < len(pairs):
        stream = _Stream(git_dir, listing, _feed(pairs[start:]), listing=True)
        try:
            for done in stream.batches():
                start += len(done)
                partial = []
                for diff in done:
                    assert diff.objects is not None  # a listing stream lists them
                    if all(_present(repo, o) for o in diff.objects):
                        complete.append((diff.sha, parents[diff.sha]))
                    else:
                        partial.append(_count_present(repo, diff))
                if partial:
                    yield partial
        finally:
            stream.kill()
        if stream.proc.returncode == 0:
            break
        yield [CommitDiff(pairs[start][0], [], tree_missing=True)]
        start += 1
    if complete:
        yield from diff_commits(git_dir, complete, renames=renames, tolerate_missing=False)


_GITLINK = b"160000"


def _present(repo: pygit2.Repository, obj: tuple[bytes, bytes, bytes, bytes]) -> bool:
    omode, nmode, osha, nsha = obj
    return all(
        mode == _GITLINK or oid.strip(b"0") == b"" or oid.decode() in repo
        for mode, oid in ((omode, osha), (nmode, nsha))
    )


def _count_present(repo: pygit2.Repository, diff: CommitDiff) -> CommitDiff:
    """Fill line counts of the files whose objects are present (libgit2); count the rest."""
    assert diff.objects is not None  # a listing stream lists them
    for fc, (omode, nmode, osha, nsha) in zip(diff.files, diff.objects, strict=True):
        if not _present(repo, (omode, nmode, osha, nsha)):
            diff.missing_files += 1
            continue

        def blob(mode: bytes, oid: bytes):
            return None if mode == _GITLINK or oid.strip(b"0") == b"" else repo[oid.decode()]

        patch = pygit2.Patch.create_from(blob(omode, osha), blob(nmode, nsha))
        if patch.delta.is_binary:
            fc.insertions, fc.deletions, fc.is_binary = 0, 0, True
            continue
        _ctx, ins, dels = patch.line_stats
        # a gitlink counts as one line "Subproject commit <sha>", as git counts it
        ins += nmode == _GITLINK and nsha.strip(b"0") != b""
        dels += omode == _GITLINK and osha.strip(b"0") != b""
        fc.insertions, fc.deletions, fc.is_binary = int(ins), int(dels), False
    diff.objects = None
    return diff
