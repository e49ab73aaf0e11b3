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
blobs), git stops; the commit that stopped it is diffed again tolerating the absence (files
whose blobs are missing get unknown line counts), and a new stream resumes after it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pygit2

from aiimpact.git.safety import popen_git, run_git

_DIFF_OPTS = ("-r", "--root", "--no-ext-diff", "--no-textconv", "-z")


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


def _decode(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def _rename_opt(renames: bool) -> str:
    return "-M" if renames else "--no-renames"


class _Parser:
    """Incremental parser of ``diff-tree --stdin --raw --numstat -z`` output.

    Feed it byte chunks; it yields each commit once the next commit's header (or the end of
    a clean stream) shows that the commit is complete.
    """

    def __init__(self) -> None:
        self._tail = b""
        self._pending: list[bytes] = []
        self._current: str | None = None
        self._raw: list[tuple[str, str, str | None, bool]] = []
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
                submodule = t[1:7] == b"160000" or t[8:14] == b"160000"
                if npaths == 2:
                    raw.append((_decode(toks[i + 2]), kind, _decode(toks[i + 1]), submodule))
                else:
                    raw.append((_decode(toks[i + 1]), kind, None, submodule))
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
        files = [
            FileChange(path, old, kind, ins, dels, binary)
            for (path, kind, old, _sub), (ins, dels, binary) in zip(
                self._raw, self._num, strict=True
            )
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

    def __init__(self, git_dir: str, args: list[str], feed: str) -> None:
        self.proc = popen_git(git_dir, args)
        self._err: list[bytes] = []
        self._threads = [
            threading.Thread(target=self._write, args=(feed,), daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for th in self._threads:
            th.start()

    def _write(self, feed: str) -> None:
        try:
            self.proc.stdin.write(feed.encode())
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    def _read_err(self) -> None:
        self._err.append(self.proc.stderr.read())

    def batches(self) -> Iterator[list[CommitDiff]]:
        """Complete commits, a list per read; only commits git finished are yielded."""
        parser = _Parser()
        out = self.proc.stdout
        while data := out.read1(1 << 18):
            done = list(parser.feed(data))
            if done:
                yield done
        if self.wait() == 0:
            last = parser.close()
            if last is not None:
                yield [last]

    def wait(self) -> int:
        rc = self.proc.wait()
        for th in self._threads:
            th.join()
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()

    @property
    def stderr(self) -> str:
        return b"".join(self._err).decode(errors="replace").strip()


def diff_commits(
    git_dir: str,
    pairs: Sequence[tuple[str, str | None]],
    *,
    renames: bool = False,
) -> Iterator[list[CommitDiff]]:
    """Diff each ``(sha, first_parent)`` pair; yield lists of results as they complete.

    Runs one git process for the whole sequence, plus one extra process per commit whose
    objects are missing (those are rare; see the module docstring). Only commits that git
    finished are yielded, so a commit git stopped on is redone by the tolerant path.
    """
    args = ["diff-tree", "--stdin", "--always", "--raw", "--numstat", _rename_opt(renames)]
    args += _DIFF_OPTS
    start = 0
    while start < len(pairs):
        feed = "".join(f"{sha} {parent or ''}\n" for sha, parent in pairs[start:])
        stream = _Stream(git_dir, args, feed)
        try:
            for done in stream.batches():
                start += len(done)
                yield done
        finally:
            stream.kill()
        if stream.proc.returncode == 0:
            return
        if not _is_missing_object_error(stream.stderr):
            raise RuntimeError(f"git diff-tree failed in {git_dir}: {stream.stderr}")
        sha, parent = pairs[start]
        yield [diff_one_tolerant(git_dir, sha, parent, renames=renames)]
        start += 1


def _is_missing_object_error(err: str) -> bool:
    text = err.lower()
    return any(
        s in text
        for s in ("unable to read", "bad object", "missing", "could not read", "not a valid")
    )


def diff_one_tolerant(
    git_dir: str, sha: str, parent: str | None, *, renames: bool = False
) -> CommitDiff:
    """Diff one commit whose objects may be absent: count what can be counted.

    Lists the changed paths from the trees (no blob is read), then computes line counts for
    the files whose blobs are all present. Files with an absent blob get ``None`` counts; a
    commit whose trees are absent gets no files and ``tree_missing=True``.
    """
    base = [parent] if parent else ["--root"]
    listing = run_git(
        git_dir,
        ["diff-tree", "--raw", "--no-renames", *_DIFF_OPTS, *base, sha],
        check=False,
    )
    if listing.returncode != 0:
        return CommitDiff(sha, [], tree_missing=True)
    repo = pygit2.Repository(git_dir)
    toks = listing.stdout.split(b"\0")
    raw: list[tuple[str, str, bool]] = []  # path, kind, all objects present
    i = 0
    while i < len(toks) - 1:
        t = toks[i]
        if t[:1] != b":":
            i += 1  # the commit header
            continue
        omode, nmode, osha, nsha, status = t[1:].split(b" ")
        present = all(
            mode == b"160000" or set(oid) == {ord("0")} or oid.decode() in repo
            for mode, oid in ((omode, osha), (nmode, nsha))
        )
        raw.append((_decode(toks[i + 1]), chr(status[0]), present))
        i += 2
    readable = [path for path, _k, ok in raw if ok]
    counts: dict[str, tuple[int, int, bool]] = {}
    if readable:
        out = run_git(
            git_dir,
            ["diff-tree", "--numstat", "--no-renames", *_DIFF_OPTS, *base, sha, "--", *readable],
            check=False,
        )
        for entry in out.stdout.split(b"\0"):
            if b"\t" not in entry:
                continue
            a, d, path = entry.split(b"\t", 2)
            counts[_decode(path)] = (0, 0, True) if a == b"-" else (int(a), int(d), False)
    files, missing = [], 0
    for path, kind, _ok in raw:
        if path in counts:
            ins, dels, binary = counts[path]
            files.append(FileChange(path, None, kind, ins, dels, binary))
        else:
            missing += 1
            files.append(FileChange(path, None, kind, None, None, None))
    return CommitDiff(sha, files, missing_files=missing)
