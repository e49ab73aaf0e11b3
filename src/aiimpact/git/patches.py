"""The patch stream of the line history: one ``git log -p -U0 -M``, parents first, parsed.

Every commit reachable from a revision, in ``--topo-order --reverse``, each diffed against
its first parent (``--diff-merges=first-parent``) with zero lines of context and rename
detection (git's default 50% similarity). The parser (:func:`parse_patches`) works on any
iterable of ``git log`` output lines, so it is tested on recorded text; the stream drains
stderr and raises :class:`~aiimpact.errors.GitCommandError` when git fails, so the history
is never silently shorter.
"""

from __future__ import annotations

import re
import sys
import weakref
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from aiimpact.errors import GitCommandError
from aiimpact.git.safety import GitStream, run_git
from aiimpact.git.walk import TIME_LIMIT

_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(slots=True)
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    # the hunk's lines as git writes them: sign ("-" or "+"), text and newline
    removed: list[bytes] = field(default_factory=list)
    added: list[bytes] = field(default_factory=list)


@dataclass(slots=True)
class Patch:
    sha: str
    parents: list[str]
    time: int
    files: dict[str, list[Hunk]]  # path (new path; old path for deletions) -> hunks
    renames: dict[str, str] = field(default_factory=dict)  # new path -> old path


def log_args(walk: list[str], exclude: Collection[str] = ()) -> list[str]:
    """The ``git log -p -U0 -M`` argv of the line history, with *walk* (the commits and
    their order) and the paths in *exclude* left out of every diff (git then never reads
    their blobs)."""
    return [
        "log",
        "-p",
        "-U0",
        "-M",
        "--diff-merges=first-parent",
        "--format=%x00%H %P%x00%ct",
        # with a pathspec, git would drop the commits that touch only excluded files (and
        # rewrite their children's parents): every commit is kept, with its real parents
        *(["--full-history", "--sparse"] if exclude else []),
        *walk,
        "--",
        *(f":(exclude,literal){path}" for path in sorted(exclude)),
    ]


def stream_args(rev: str, exclude: Collection[str] = ()) -> list[str]:
    """The argv of :func:`stream_patches`: every commit of *rev*, parents first."""
    return log_args(["--topo-order", "--reverse", rev], exclude)


READ_AHEAD = 16 << 20  # bytes git may write ahead of the replay (GitStream.ahead)


def stream_patches(git_dir: str, rev: str, exclude: Collection[str] = ()) -> Iterator[Patch]:
    """Every commit reachable from *rev*, parents first, with its ``-U0`` hunks.

    Paths in *exclude* are left out of every diff (git then never reads their blobs). git
    starts at once, and writes up to :data:`READ_AHEAD` bytes before the first patch is
    asked for (the caller's own set-up runs meanwhile); git is stopped if the patches are
    dropped unread.
    """
    stream = GitStream(git_dir, stream_args(rev, exclude), literal_pathspecs=not exclude)
    patches = _patches(stream, stream.ahead(READ_AHEAD))
    weakref.finalize(patches, stream.kill)
    return patches


def _patches(stream: GitStream, lines: Iterator[bytes]) -> Iterator[Patch]:
    with stream:  # git's exit status is checked at the end of the stream
        yield from parse_patches(lines)


def parse_patches(lines: Iterable[bytes]) -> Iterator[Patch]:
    """Patches from the lines of ``git log -p -U0 -M --format=%x00%H %P%x00%ct`` output.

    A hunk's lines are taken by the counts of its header (``-U0``: its removed lines, then
    its added ones), so a line whose text starts like a header (``-- x`` removed is
    ``--- x``) stays a line of the hunk.
    """
    it = iter(lines)
    patch: Patch | None = None
    hunks: list[Hunk] | None = None
    minus_path = rename_from = b""
    for line in it:
        if line.startswith(b"@@ "):
            m = _HUNK.match(line)
            assert m is not None, line  # git writes every hunk header so
            old_len, new_len = int(m[2] or 1), int(m[4] or 1)
            hunk = Hunk(int(m[1]), old_len, int(m[3]), new_len)
            if old_len:
                hunk.removed = _body(it, old_len, b"-")
            if new_len:
                hunk.added = _body(it, new_len, b"+")
            if hunks is not None:
                hunks.append(hunk)
            continue
        c = line[:1]
        if c == b"\0":
            if patch is not None:
                yield patch
            head, _, when = line[1:].rstrip(b"\n").partition(b"\0")
            shas = head.decode().split()
            seconds = int(when or 0)  # crafted times are clamped to what array("q") holds
            patch = Patch(shas[0], shas[1:], max(-TIME_LIMIT, min(seconds, TIME_LIMIT)), {})
            hunks = None
        elif line.startswith(b"--- "):
            minus_path = line[4:].rstrip(b"\n")
        elif line.startswith(b"+++ ") and patch is not None:
            plus = line[4:].rstrip(b"\n")
            path = _unquote(minus_path if plus == b"/dev/null" else plus)[2:]
            hunks = patch.files.setdefault(_decode(path), [])
        elif c == b"d":  # "diff --git": a new file section; binaries have no hunks
            hunks = None
        elif line.startswith(b"rename from ") and patch is not None:
            rename_from = _unquote(line[12:].rstrip(b"\n"))
        elif line.startswith(b"rename to ") and patch is not None:
            new = _decode(_unquote(line[10:].rstrip(b"\n")))
            patch.renames[new] = _decode(rename_from)
        # "\ No newline at end of file" after a hunk's last line: nothing to keep
    if patch is not None:
        yield patch


def _body(it: Iterator[bytes], n: int, sign: bytes) -> list[bytes]:
    """The next *n* lines of a hunk, each starting with *sign* (kept, as is the newline; a
    "no newline" marker of the lines before them is skipped)."""
    block = list(islice(it, n))
    if block and block[0][:1] == b"\\":
        block = block[1:] + list(islice(it, 1))
    if len(block) < n or block[0][:1] != sign or block[-1][:1] != sign:
        raise GitCommandError(f"git log -p: a hunk has fewer {sign.decode()} lines than its header")
    return block


def _unquote(path: bytes) -> bytes:
    """git's C-style quoting of unusual paths (``"b/a\\tb"``), undone; the tab git puts
    after a ``---``/``+++`` path that contains a space is dropped (a path that really ends
    in a tab is quoted)."""
    path = path[:-1] if path.endswith(b"\t") else path
    if not path.startswith(b'"'):
        return path
    return path[1:-1].decode("unicode_escape").encode("latin-1")


def _decode(path: bytes) -> str:
    """The path as text, interned: every commit's copy of a path is then the same object (a
    line history holds a path per commit and origin; and dict lookups by it compare by
    identity first)."""
    return sys.intern(path.decode("utf-8", "replace"))


def child_counts(git_dir: str, rev: str) -> tuple[Counter, int]:
    """How many children each commit reachable from *rev* has among them, and how many
    commits there are (one ``git rev-list --parents``)."""
    listing = run_git(git_dir, ["rev-list", "--parents", rev, "--"]).stdout.decode()
    children: Counter = Counter()
    total = 0
    for line in listing.splitlines():
        total += 1
        for parent in line.split()[1:]:
            children[parent] += 1
    return children, total


def range_parents(git_dir: str, rev_range: str) -> dict[str, list[str]]:
    """Each commit of *rev_range* (``A..B``) with its parents (one ``git rev-list``)."""
    listing = run_git(git_dir, ["rev-list", "--parents", rev_range, "--"]).stdout.decode()
    return {shas[0]: shas[1:] for shas in map(str.split, listing.splitlines())}


def changed_paths(git_dir: str, rev_range: str) -> set[str]:
    """Every path a commit of *rev_range* changes, against each of its parents: old and new
    names apart (one ``git log --name-only --no-renames``)."""
    args = ["log", "-z", "--format=", "--name-only", "--no-renames", "--diff-merges=separate"]
    listing = run_git(git_dir, [*args, rev_range, "--"]).stdout
    return {_decode(p.lstrip(b"\n")) for p in listing.split(b"\0") if p.strip(b"\n")}


def recent_commits(git_dir: str, rev: str, n: int) -> list[str]:
    """The last *n* commits of *rev*'s first-parent chain and the *n* newest reachable from
    it by commit time (where new commits of parallel lines, such as a maintenance branch,
    usually start): two ``git rev-list``."""
    found: dict[str, None] = {}
    for order in (["--first-parent"], []):
        listing = run_git(git_dir, ["rev-list", *order, "-n", str(n), rev, "--"])
        found.update(dict.fromkeys(listing.stdout.decode().split()))
    return list(found)


ACTIVE_DAYS = 180
"""A branch with no commit in this many days before the tip's is taken as abandoned."""


def pending_forks(git_dir: str, rev: str, n: int, active_days: int = ACTIVE_DAYS) -> list[str]:
    """Up to *n* commits of *rev*'s history that commits of other branches branch from:
    where those branches will come in when they are merged (an integration branch such as
    ``next``, a topic). The boundary of one ``git rev-list --boundary`` of the tips of the
    branches (``refs/heads``, ``refs/remotes``) not in *rev*, in git's order, for branches
    whose tip was committed at most *active_days* before *rev*: a stale branch's fork point
    is usually years old and its line state differs from the tip's in nearly every file
    (z3: 48 branches last changed in 2020-2025 held 6.2M of the 10.4M stored state lines).
    Merging such a branch later costs a full replay, which the report names. Tags and other
    refs are left out: a mirror of a GitHub repository holds thousands of ``refs/pull/*``,
    mostly of PRs long closed (git/git: 10,727 boundary commits, against 107 for its
    branches, which held every fork point of the next hundred commits)."""
    fields = "--format=%(objectname) %(committerdate:unix)"
    refs = run_git(git_dir, ["for-each-ref", fields, "refs/heads", "refs/remotes"])
    when = run_git(git_dir, ["log", "-1", "--format=%ct", rev, "--"]).stdout.strip()
    since = int(when or 0) - active_days * 86400
    tips: dict[str, None] = {}  # in the refs' order, as --branches --remotes would list them
    for sha, _, date in (line.partition(" ") for line in refs.stdout.decode().splitlines()):
        if date.lstrip("-").isdigit() and int(date) >= since:  # no date: not a commit
            tips[sha] = None
    if not tips:
        return []
    wanted = "".join(f"{tip}\n" for tip in tips) + f"^{rev}\n"
    listing = run_git(git_dir, ["rev-list", "--boundary", "--stdin", "--"], input=wanted.encode())
    return [line[1:] for line in listing.stdout.decode().splitlines() if line.startswith("-")][:n]


_FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def patch_ids(git_dir: str, shas: Iterable[str]) -> dict[str, str]:
    """The stable patch id (``git patch-id --stable``) of each commit of *shas* that the
    repository holds (others are left out; merges have none): equal for a commit and its
    rebased copy. Three processes whatever the number of commits: ``cat-file
    --batch-check``, ``diff-tree -p --root --stdin`` and ``patch-id``."""
    wanted = sorted({s for s in shas if isinstance(s, str) and _FULL_SHA.fullmatch(s)})
    if not wanted:
        return {}
    query = "".join(f"{s}^{{commit}}\n" for s in wanted).encode()
    checked = run_git(git_dir, ["cat-file", "--batch-check=%(objectname)"], input=query)
    held = [line for line in checked.stdout.decode().splitlines() if not line.endswith("missing")]
    if not held:
        return {}
    diffs = run_git(
        git_dir,
        ["diff-tree", "-p", "--root", "--stdin"],
        input="".join(f"{h}\n" for h in held).encode(),
    )
    ids = run_git(git_dir, ["patch-id", "--stable"], input=diffs.stdout).stdout.decode()
    return {commit: pid for pid, commit in (line.split() for line in ids.splitlines())}


def has_commit(git_dir: str, sha: str) -> bool:
    """Whether the repository still holds commit *sha* (a rewritten, pruned history may
    not): one ``git cat-file -e``, whose only failure is the answer no."""
    return run_git(git_dir, ["cat-file", "-e", f"{sha}^{{commit}}"], check=False).returncode == 0
