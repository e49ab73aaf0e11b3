"""Walk a repository's history and mine it into column batches.

The commit graph and metadata come from pygit2 (libgit2 reads tens of thousands of commits
per second in-process); line statistics come from a few ``git diff-tree --stdin`` streams
running in parallel over disjoint chunks of commits (see :mod:`aiimpact.git.diffstream`).
Nothing runs per commit, and only one batch of rows is held in memory at a time.

Crafted commits are mined, not refused:

* **Times** are kept as seconds since the epoch (UTC; the timezone offset is not used, so an
  absurd one such as ``+9999`` changes nothing). A time that pandas cannot hold as a
  nanosecond ``Timestamp`` (before 1677-09-21 or after 2262-04-11: the year 10000, git's
  ``99999999999999``, a large negative number) or that is not a number at all becomes
  ``None`` (``NaT`` in the tables), and :func:`mine_commits` warns with an
  :class:`UnrepresentableTimeWarning` that counts the commits it mined so (once per run; a
  later read from the cache does not repeat it).
* **Text** is decoded by the commit's ``encoding`` header (see :func:`decode_text` and
  :func:`decode_identity`).
* A commit that libgit2 refuses to parse (a timestamp beyond 64 bits, say) is read from its
  raw object, and the walk falls back to ``git rev-list``, which accepts it.
"""

from __future__ import annotations

import codecs
import os
import queue
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import pygit2

from aiimpact import schema
from aiimpact.errors import UnrepresentableTimeWarning, printable
from aiimpact.git.diffstream import CommitDiff, diff_commits
from aiimpact.git.safety import run_git
from aiimpact.git.trailers import parse_trailers

TIME_LIMIT = (2**63 - 1) // 10**9
"""Largest number of seconds from the epoch, either way, that a nanosecond pandas
``Timestamp`` holds (1677-09-21 to 2262-04-11); commit times beyond it are ``None``."""
_DIGITS = re.compile(rb"-?[0-9]+")
_ASCII = bytes(range(128))


COMMIT_FIELDS = tuple(
    n for n in schema.columns(schema.STORED_COMMITS) if n not in schema.AI_COLUMNS
)
"""The columns of a batch's commits: the cache's ``commits`` table but the detector's
``ai_*`` columns, which are added to the batch before it is stored."""
FILE_FIELDS = tuple(schema.columns(schema.STORED_FILE_CHANGES))
"""The columns of a batch's file changes: the cache's ``file_changes`` table."""


@dataclass
class Batch:
    """Rows of mined commits and their file changes, as columns."""

    commits: dict[str, list] = field(default_factory=lambda: {k: [] for k in COMMIT_FIELDS})
    files: dict[str, list] = field(default_factory=lambda: {k: [] for k in FILE_FIELDS})

    unrepresentable_times: int = 0

    def __len__(self) -> int:
        return len(self.commits["sha"])


@dataclass(frozen=True, slots=True)
class Signature:
    """An author or committer line: raw name and e-mail bytes, time (None if unusable)."""

    name: bytes
    email: bytes
    time: int | None


@dataclass(frozen=True, slots=True)
class CommitFields:
    """What a commit object says, undecoded."""

    parents: list[str]
    author: Signature
    committer: Signature
    encoding: str | None
    raw_message: bytes


@lru_cache(maxsize=64)
def _codec(encoding: str | None) -> tuple[str, bool]:
    """The Python text codec for an ``encoding`` header (UTF-8 when unknown or absent), and
    whether it reads ASCII as ASCII (so that the ASCII header of the object can be in it)."""
    try:
        name = codecs.lookup(encoding or "utf-8")
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        return "utf-8", True
    if not name._is_text_encoding:  # rot13, base64, zlib ...: not a way to write text
        return "utf-8", True
    try:
        ascii_ok = _ASCII.decode(name.name) == _ASCII.decode("ascii")
    except UnicodeError:
        ascii_ok = False
    return name.name, ascii_ok


def decode_text(raw: bytes, encoding: str | None) -> str:
    """Decode a commit message by the commit's ``encoding`` header.

    The bytes are read in the named encoding if they are valid in it, else as UTF-8 if they
    are valid UTF-8 (git shows the raw bytes when its conversion fails), else in the named
    encoding with invalid bytes replaced by U+FFFD. No header means UTF-8; a name Python does
    not know as a text encoding (``x-bogus``, ``rot13``) falls back to UTF-8 with
    replacement. Never raises.
    """
    codec, _ = _codec(encoding)
    for name, errors in ((codec, "strict"), ("utf-8", "strict"), (codec, "replace")):
        try:
            return raw.decode(name, errors)
        except UnicodeError:
            continue
    return raw.decode("utf-8", "replace")


def decode_identity(raw: bytes, encoding: str | None) -> str:
    """Decode an author or committer name or e-mail as ``git log --format=%an`` shows it.

    The header of a commit object is ASCII keywords (``author``, ``committer``), so its
    identities are only in the ``encoding`` of the header when that encoding reads ASCII as
    ASCII (ISO-8859-1, Shift_JIS ...): then they are decoded like :func:`decode_text`.
    Under an encoding that cannot (UTF-16, UTF-32, EBCDIC) they are read as UTF-8, invalid
    bytes replaced by U+FFFD: git converts the whole object, and when that fails (UTF-16,
    UTF-32) it shows the bytes as they are, which is the same; when it succeeds (EBCDIC) the
    header is garbled too and git shows empty names, which is not followed here.
    """
    _, ascii_ok = _codec(encoding)
    return decode_text(raw, encoding) if ascii_ok else raw.decode("utf-8", "replace")


def representable(seconds: int | None) -> int | None:
    """*seconds* if a nanosecond pandas ``Timestamp`` can hold it, else None."""
    return seconds if seconds is not None and -TIME_LIMIT <= seconds <= TIME_LIMIT else None


def _parse_signature(value: bytes) -> Signature:
    """An identity line after its keyword, split as libgit2 splits it (the last ``<`` and
    ``>`` delimit the e-mail); the time is None unless it is a decimal number."""
    lt, gt = value.rfind(b"<"), value.rfind(b">")
    if lt < 0 or gt < lt:
        return Signature(value.strip(), b"", None)
    rest = value[gt + 1 :].split()
    when = int(rest[0]) if rest and _DIGITS.fullmatch(rest[0]) else None
    return Signature(value[:lt].strip(), value[lt + 1 : gt].strip(), when)


def parse_commit(data: bytes) -> CommitFields:
    """The fields of a raw commit object (for the commits libgit2 refuses to parse)."""
    head, _, message = data.partition(b"\n\n")
    parents: list[str] = []
    found: dict[bytes, Signature] = {}
    encoding = None
    for line in head.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key == b"parent":
            parents.append(value.strip().decode("ascii", "replace"))
        elif key in (b"author", b"committer") and key not in found:
            found[key] = _parse_signature(value)
        elif key == b"encoding" and encoding is None:
            encoding = value.decode("utf-8", "replace")
    nobody = Signature(b"", b"", None)
    return CommitFields(
        parents, found.get(b"author", nobody), found.get(b"committer", nobody), encoding, message
    )


def read_commit(repo: pygit2.Repository, sha: str) -> CommitFields:
    """The fields of commit *sha*: parsed by libgit2, or from the raw object when libgit2
    refuses it (:func:`parse_commit`)."""
    try:
        commit = repo[sha]
        assert isinstance(commit, pygit2.Commit)  # *sha* names a commit
        author, committer = commit.author, commit.committer
    except pygit2.InvalidError:
        return parse_commit(repo.odb.read(sha)[1])
    try:
        encoding = commit.message_encoding
    except UnicodeDecodeError:  # a header that is not even UTF-8 names no known encoding
        encoding = None
    message = commit.raw_message
    if not _codec(encoding)[1]:  # UTF-16 text is full of NULs; libgit2's stops at the first
        message = repo.odb.read(sha)[1].partition(b"\n\n")[2]
    return CommitFields(
        [str(p) for p in commit.parent_ids],
        Signature(author.raw_name, author.raw_email, author.time),
        Signature(committer.raw_name, committer.raw_email, committer.time),
        encoding,
        message,
    )


def subject_of(message: str) -> str:
    """The subject as git's ``%s`` shows it: the first paragraph, lines joined by spaces."""
    lines = message.lstrip("\n").split("\n")
    out = []
    for line in lines:
        if not line.strip():
            break
        out.append(line.strip())
    return " ".join(out)


def add_commit(batch: Batch, commit: CommitFields, diff: CommitDiff) -> None:
    """Append one commit (metadata from :func:`read_commit`, stats from its diff) to
    *batch*; times pandas cannot hold are None and counted in the batch."""
    enc = commit.encoding
    message = decode_text(commit.raw_message, enc)
    author, committer = commit.author, commit.committer
    author_time, commit_time = representable(author.time), representable(committer.time)
    batch.unrepresentable_times += author_time is None or commit_time is None
    parents = commit.parents
    files = diff.files
    c = batch.commits
    c["sha"].append(diff.sha)
    c["parents"].append(parents)
    c["is_merge"].append(len(parents) > 1)
    c["author_name"].append(decode_identity(author.name, enc))
    c["author_email"].append(decode_identity(author.email, enc))
    c["author_time"].append(author_time)
    c["committer_name"].append(decode_identity(committer.name, enc))
    c["committer_email"].append(decode_identity(committer.email, enc))
    c["commit_time"].append(commit_time)
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
    CPUs); metadata is read here, in the calling thread, from *repo*. When some commits
    have times pandas cannot hold (None in the batches), one
    :class:`UnrepresentableTimeWarning` counts them after the last batch.
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
    unrepresentable = 0
    try:
        while live:
            item = results.get()
            if item is done_marker:
                live -= 1
                continue
            if isinstance(item, BaseException):
                raise item
            for diff in item:
                add_commit(batch, read_commit(repo, diff.sha), diff)
                if len(batch) >= batch_size:
                    unrepresentable += batch.unrepresentable_times
                    yield batch
                    batch = Batch()
            if on_progress:
                on_progress(len(item))
        unrepresentable += batch.unrepresentable_times
        if len(batch):
            yield batch
        if unrepresentable:
            warnings.warn(
                f"{unrepresentable} commit(s) in {printable(git_dir)} have an author or "
                "committer time that pandas cannot hold (before 1677-09-21, after "
                "2262-04-11 or not a number); those times are NaT",
                UnrepresentableTimeWarning,
                stacklevel=2,
            )
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
    """``(sha, first_parent)`` of every commit reachable from *tip* and not from *hide*,
    children before parents.

    libgit2 walks the graph; when it refuses to parse a commit on the way (a timestamp
    beyond 64 bits, say), ``git rev-list``, which accepts such commits, walks it instead.
    """
    try:
        walker = repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
        for h in hide:
            walker.hide(h)
        out = []
        for c in walker:
            ids = c.parent_ids
            out.append((str(c.id), str(ids[0]) if ids else None))
        return out
    except pygit2.InvalidError:
        pass
    args = ["rev-list", "--topo-order", "--parents", str(tip), "--not", *map(str, hide)]
    listed = run_git(repo.path, args).stdout.decode("ascii").split("\n")
    return [(s[0], s[1] if len(s) > 1 else None) for s in map(str.split, listed) if s]
