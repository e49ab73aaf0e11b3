"""Walk a repository's history and mine it into column batches.

The commit graph and metadata come from pygit2 (libgit2 reads tens of thousands of commits
per second in-process); line statistics come from a few ``git diff-tree --stdin`` streams
running in parallel over disjoint chunks of commits (see :mod:`aiimpact.git.diffstream`).
Nothing runs per commit, and only one batch of rows is held in memory at a time.
"""

from __future__ import annotations

import codecs
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import pygit2

from aiimpact.git.diffstream import CommitDiff, diff_commits
from aiimpact.git.trailers import parse_trailers

COMMIT_FIELDS = (
    "sha",
    "parents",
    "is_merge",
    "author_name",
    "author_email",
    "author_time",
    "committer_name",
    "committer_email",
    "commit_time",
    "subject",
    "message",
    "trailers",
    "files_changed",
    "insertions",
    "deletions",
    "missing_files",
)
FILE_FIELDS = ("sha", "path", "old_path", "change_type", "insertions", "deletions", "is_binary")


@dataclass
class Batch:
    """Rows of mined commits and their file changes, as columns."""

    commits: dict[str, list] = field(default_factory=lambda: {k: [] for k in COMMIT_FIELDS})
    files: dict[str, list] = field(default_factory=lambda: {k: [] for k in FILE_FIELDS})

    def __len__(self) -> int:
        return len(self.commits["sha"])


def decode_text(raw: bytes, encoding: str | None) -> str:
    """Decode commit text by its ``encoding`` header (UTF-8 if none), replacing bad bytes."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            encoding = None
    try:
        return raw.decode(encoding or "utf-8")
    except UnicodeDecodeError:
        return raw.decode(encoding or "utf-8", "replace")


def subject_of(message: str) -> str:
    """The subject as git's ``%s`` shows it: the first paragraph, lines joined by spaces."""
    lines = message.lstrip("\n").split("\n")
    out = []
    for line in lines:
        if not line.strip():
            break
        out.append(line.strip())
    return " ".join(out)


def add_commit(batch: Batch, commit: pygit2.Commit, diff: CommitDiff) -> None:
    """Append one commit (metadata from pygit2, stats from its diff) to *batch*."""
    enc = commit.message_encoding
    message = decode_text(commit.raw_message, enc)
    author, committer = commit.author, commit.committer
    parents = [str(p) for p in commit.parent_ids]
    files = diff.files
    c = batch.commits
    c["sha"].append(diff.sha)
    c["parents"].append(parents)
    c["is_merge"].append(len(parents) > 1)
    c["author_name"].append(decode_text(author.raw_name, enc))
    c["author_email"].append(decode_text(author.raw_email, enc))
    c["author_time"].append(author.time)
    c["committer_name"].append(decode_text(committer.raw_name, enc))
    c["committer_email"].append(decode_text(committer.raw_email, enc))
    c["commit_time"].append(committer.time)
    c["subject"].append(subject_of(message))
    c["message"].append(message)
    c["trailers"].append([{"key": k, "value": v} for k, v in parse_trailers(message)])
    c["files_changed"].append(len(files))
    c["insertions"].append(sum(f.insertions or 0 for f in files))
    c["deletions"].append(sum(f.deletions or 0 for f in files))
    c["missing_files"].append(-1 if diff.tree_missing else diff.missing_files)
    f = batch.files
    for fc in files:
        f["sha"].append(diff.sha)
        f["path"].append(fc.path)
        f["old_path"].append(fc.old_path)
        f["change_type"].append(fc.change_type)
        f["insertions"].append(fc.insertions)
        f["deletions"].append(fc.deletions)
        f["is_binary"].append(fc.is_binary)


def _chunks(items: list, workers: int) -> list[list]:
    """Contiguous chunks, several per worker so that uneven chunks still balance."""
    if not items:
        return []
    n = max(1, min(len(items) // 500, workers * 4))
    size = -(-len(items) // n)
    return [items[i : i + size] for i in range(0, len(items), size)]


def mine_commits(
    repo: pygit2.Repository,
    git_dir: str,
    commits: list[tuple[str, str | None]],
    *,
    renames: bool = False,
    workers: int | None = None,
    batch_size: int = 5000,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[Batch]:
    """Mine ``(sha, first_parent)`` pairs into batches of at most *batch_size* commits.

    Line statistics are computed by *workers* parallel git streams (default: the number of
    CPUs); metadata is read here, in the calling thread, from *repo*.
    """
    workers = max(1, workers or os.cpu_count() or 1)
    chunks = _chunks(commits, workers)
    results: queue.Queue = queue.Queue(maxsize=64)
    work: queue.Queue = queue.Queue()
    for ch in chunks:
        work.put(ch)
    stop = threading.Event()
    done_marker = object()

    def worker() -> None:
        try:
            while not stop.is_set():
                try:
                    chunk = work.get_nowait()
                except queue.Empty:
                    break
                for diffs in diff_commits(git_dir, chunk, renames=renames):
                    results.put(diffs)
                    if stop.is_set():
                        return
        except BaseException as exc:  # surfaced in the consumer
            results.put(exc)
        finally:
            results.put(done_marker)

    threads = [
        threading.Thread(target=worker, daemon=True) for _ in range(min(workers, len(chunks)))
    ]
    for th in threads:
        th.start()
    live = len(threads)
    batch = Batch()
    try:
        while live:
            item = results.get()
            if item is done_marker:
                live -= 1
                continue
            if isinstance(item, BaseException):
                raise item
            for diff in item:
                add_commit(batch, repo[diff.sha], diff)
                if len(batch) >= batch_size:
                    yield batch
                    batch = Batch()
            if on_progress:
                on_progress(len(item))
        if len(batch):
            yield batch
    finally:
        stop.set()
        while live:  # let workers blocked on a full queue finish
            try:
                if results.get(timeout=0.1) is done_marker:
                    live -= 1
            except queue.Empty:
                if not any(th.is_alive() for th in threads):
                    break


def walk_pairs(
    repo: pygit2.Repository, tip: pygit2.Oid, hide: Iterable[pygit2.Oid] = ()
) -> list[tuple[str, str | None]]:
    """``(sha, first_parent)`` of every commit reachable from *tip* and not from *hide*."""
    walker = repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
    for h in hide:
        walker.hide(h)
    out = []
    for c in walker:
        ids = c.parent_ids
        out.append((str(c.id), str(ids[0]) if ids else None))
    return out
