"""Line-level history: every line's birth and death, from one streamed ``git log -p -U0``.

This is the shared intermediate of the outcome analyses (computed once, in one pass, like
hercules' plumbing): churn and survival, partial and exact content reverts, and the
commits whose lines a later commit deleted (what blame at the fix's parent would say, the
input of SZZ).

How lines are followed:

* commits are replayed parents-first (``--topo-order --reverse``); every commit's diff is
  against its first parent (``--diff-merges=first-parent``), so a file is a list of line
  ids, and each hunk replaces a run of ids by new ones;
* renames are detected (``-M``, git's default 50% similarity): a renamed file keeps its
  lines and their births, as ``git blame`` follows it, and only the lines its diff changes
  are new;
* a line keeps its id through a change that only alters whitespace (like ``blame -w``);
* the lines a merge adds (relative to its first parent) keep the birth they had on the
  merged branch when a line with the same content is found there; only the rest are the
  merge's own ("evil merge" lines);
* within one commit, a line removed in one place and added (with the same text, at least
  10 non-blank characters) in another is a move and keeps its birth; of identical removed
  lines, one from the same file is taken first, and then the first removed;
* a line dies the first time it is deleted or modified on any branch; that is when it
  counts as churn of the commit that wrote it;
* binary files have no lines; a commit's state is dropped once its last child is replayed,
  so memory follows the live branches, not the history.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from array import array
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, pairwise, repeat

from tqdm.auto import tqdm

from aiimpact.errors import GitCommandError
from aiimpact.git.patches import Patch, child_counts, stream_patches

_MOVE_MIN = 10  # a line moves with its birth only if it has this many non-blank characters
_COMMENT = re.compile(rb"^\s*(#|//|/\*|\*|--|;|%|'''|\"\"\"|<!--)")


def _fingerprint(by_path: dict[str, Counter]) -> int:
    """An order-free fingerprint of per-path line multisets, the same in every process
    (a stored history's fingerprints are compared with those of commits replayed later)."""
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(p for p, c in by_path.items() if c):
        digest.update(path.encode("utf-8", "surrogateescape") + b"\0\0")
        digest.update(b"\0".join(sorted(by_path[path].elements())) + b"\0\0")
    return int.from_bytes(digest.digest(), "big", signed=True)


_WS = b" \t\r\n\x0b\x0c"
# a file's state: its lines' ids (array "q") and their texts' CRC-32s (array "I", 4 bytes)
_NO_IDS, _NO_TEXT = array("q"), array("I")


def _norm(line: bytes) -> bytes:
    """The line without any whitespace (whitespace-only edits compare equal)."""
    return line.translate(None, _WS)


def meaningful(line: bytes) -> bool:
    """Not blank and not a comment-only line (the usual SZZ filter)."""
    return bool(line.strip()) and not _COMMENT.match(line)


@dataclass
class LineHistory:
    """What happened to every line: filled by :meth:`replay`.

    Attributes
    ----------
    commits : list of str
        Commit shas in replay order; indexes below refer to this list.
    time : list of int
        Commit times (seconds).
    added : list of int
        Lines each commit added (merges: only lines not found on the merged branch).
    born : array of int
        For every line id, the commit index that wrote it.
    died : array of int
        For every line id, the earliest commit time it was deleted or modified on any
        branch (-1: alive).
    alive_at_tip : Counter
        Lines of each commit still present at the replayed revision.
    deleted_from : dict
        ``{commit index: Counter({origin commit index: meaningful lines deleted})}``:
        which earlier commits' lines each commit deleted or modified.
    deleted_where : dict
        ``{commit index: {origin commit index: path}}``: the file (as the deleting commit
        names it) that held most of those lines (ties: the first path in sort order).
    context_of : dict
        For commits that insert lines without deleting any there: the births of the lines
        just above and below each insertion (where an add-only fix is anchored).
    context_where : dict
        Like ``deleted_where``, for ``context_of``: the file of the insertion.
    content_reverts : list of (int, int)
        ``(revert, reverted)`` commit indexes where the revert's diff is the exact inverse
        of the earlier commit's (same files, lines removed and added swapped; whitespace
        ignored).
    partial_reverts : list of (int, int, float)
        ``(revert, reverted, fraction)``: within ``revert_window`` seconds, the later commit
        deleted at least half of the lines the earlier one added (``fraction``) and restored
        at least half of the lines it removed; if it removed none, the later commit must
        delete them rather than rewrite them (write fewer new lines than half of those).
    tip : str or None
        The last commit replayed; ``tip_state`` and ``tip_text`` are its files' line ids and
        their texts' CRC-32s, from which a later :meth:`replay` goes on; ``kept`` holds the
        same for some recent commits (``{sha: (state, text)}``), which new commits may
        branch from.
    """

    commits: list[str] = field(default_factory=list)
    time: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)
    born: array = field(default_factory=lambda: array("q"))  # compact: one slot per line
    died: array = field(default_factory=lambda: array("q"))
    alive_at_tip: Counter = field(default_factory=Counter)
    deleted_from: dict[int, Counter] = field(default_factory=dict)
    deleted_where: dict[int, dict[int, str]] = field(default_factory=dict)
    context_of: dict[int, Counter] = field(default_factory=dict)
    context_where: dict[int, dict[int, str]] = field(default_factory=dict)
    content_reverts: list[tuple[int, int]] = field(default_factory=list)
    partial_reverts: list[tuple[int, int, float]] = field(default_factory=list)
    revert_window: int = 30 * 86400
    _inverse: dict[tuple[int, int], list[int]] = field(default_factory=dict, repr=False)
    # commit -> path -> normalised lines it removed
    _recent_removed: dict[int, dict[str, Counter]] = field(default_factory=dict, repr=False)
    tip: str | None = None
    tip_state: dict[str, array] = field(default_factory=dict, repr=False)
    tip_text: dict[str, array] = field(default_factory=dict, repr=False)
    kept: dict[str, tuple[dict, dict]] = field(default_factory=dict, repr=False)

    def replay(
        self,
        patches: Iterator[Patch],
        children: Counter,
        on_progress: Callable[[int], object] | None = None,
        forks: Mapping[str, Collection[str]] | None = None,
        keep: Collection[str] = (),
    ) -> LineHistory:
        """Replay *patches* (parents first) and return self.

        *children* counts each commit's children among the replayed commits: a commit's line
        state is kept only until its last child has been replayed. *on_progress*, if given,
        is called with 1 after each commit (a tqdm bar's ``update``, say).

        A history replayed before goes on from its :attr:`tip`: *patches* are then the
        commits after it, and *children* counts the tip's children among them too. A new
        commit may also branch from an older commit *F* of *forks*, which maps each such
        commit to the files changed between it and the tip: its other files have the
        tip's line state. A commit that changes (or merges) one of those files, or a
        replay that would end on such a state, raises :class:`UnknownState` (the history
        is then only good to be dropped). The states of the commits in *keep* (recent
        commits later commits may branch from) are kept in :attr:`kept`, and a later replay
        starts from them too.
        """
        states: dict[str, dict[str, array]] = {}
        texts: dict[str, dict[str, array]] = {}
        unknown: dict[str, frozenset[str]] = {}  # commit -> files whose state is not known
        keep = set(keep)
        if self.tip is not None:
            states[self.tip], texts[self.tip] = self.tip_state, self.tip_text
            for commit, (state, text) in self.kept.items():
                states[commit], texts[commit] = state, text
            for fork, changed in (forks or {}).items():
                if fork in states:
                    continue
                states[fork] = {k: v for k, v in self.tip_state.items() if k not in changed}
                texts[fork] = {k: v for k, v in self.tip_text.items() if k not in changed}
                unknown[fork] = frozenset(changed)
        children = Counter(children)
        last: str | None = None
        for p in patches:
            ci = len(self.commits)
            self.commits.append(p.sha)
            self.time.append(p.time)
            first = p.parents[0] if p.parents else None
            if unknown:
                _check_known(p, unknown)
            state, text = self._inherit(first, states, texts, children, keep)
            other = [(states.get(q), texts.get(q)) for q in p.parents[1:]]
            self._apply(ci, p, state, text, other)
            states[p.sha], texts[p.sha] = state, text
            if first in unknown:
                unknown[p.sha] = unknown[first]
            for q in p.parents:
                children[q] -= 1
                if children[q] <= 0 and q not in keep:
                    states.pop(q, None)
                    texts.pop(q, None)
                    unknown.pop(q, None)
            last = p.sha
            if on_progress is not None:
                on_progress(1)
        if last in unknown:
            raise UnknownState(f"the replay ends on {last}, whose line state is not known")
        if last is not None:
            self.tip, self.tip_state, self.tip_text = last, states[last], texts[last]
            self.kept = {c: (states[c], texts[c]) for c in keep if c in states and c != last}
            born = self.born
            self.alive_at_tip = Counter(born[i] for ids in self.tip_state.values() for i in ids)
        return self

    @staticmethod
    def _inherit(first, states, texts, children, keep):
        if first is None:
            return {}, {}
        if first not in states:  # git listed a parent it never showed: never a shorter history
            raise GitCommandError(f"git log: parent {first} of a commit was never listed")
        if children[first] <= 1 and first not in keep:  # the last child takes the state over
            return states.pop(first), texts.pop(first)
        return dict(states[first]), dict(texts[first])

    def _apply(self, ci, p: Patch, state, text, other) -> None:
        if p.renames:  # a renamed file keeps its lines; its hunks are against the old file
            moved = {
                new: (state.pop(old, None), text.pop(old, None)) for new, old in p.renames.items()
            }
            for new, (ids, lines) in moved.items():
                if ids is not None:
                    state[new], text[new] = ids, lines
        added = 0
        deleted_from: Counter = Counter()
        deleted_all: Counter = Counter()
        removed_text: dict[str, Counter] = {}  # per path: normalised lines removed / added
        added_text: dict[str, Counter] = {}
        # 1. the lines each hunk removes; whitespace-only edits keep their line; the rest go
        #    to a pool from which lines added elsewhere in this commit can take them back
        #    (a moved or renamed line keeps its birth, as with blame -M -C within a commit)
        pool: dict[bytes, dict[str, deque[int]]] = {}  # text -> path -> ids, oldest first
        added_norm: dict[tuple[str, int], list[bytes]] = {}
        context: Counter = Counter()
        kept: dict[tuple[str, int], dict[int, int]] = {}
        removed_line: dict[int, tuple[bytes, str]] = {}  # id -> text (meaningful?), path
        tr = bytes.translate
        for path, hunks in p.files.items():
            ids = state.get(path, _NO_IDS)
            for hi, h in enumerate(hunks):
                start = h.old_start - 1 if h.old_len else h.old_start
                gone = ids[start : start + h.old_len]
                if not h.old_len:  # an insertion: remember where it is anchored
                    for pos in (start - 1, start):
                        if 0 <= pos < len(ids):
                            context[(self.born[ids[pos]], path)] += 1
                pairs = kept[(path, hi)] = {}
                added_norm[(path, hi)] = norms = [tr(x, None, _WS) for x in h.added]
                keys = [tr(x, None, _WS) for x in h.removed[: len(gone)]]
                keys += [b""] * (len(gone) - len(keys))
                if keys:
                    if path not in removed_text:
                        removed_text[path] = Counter()
                    removed_text[path].update(keys)
                for k, lid in enumerate(gone):
                    key = keys[k]
                    if k < len(norms) and norms[k] == key:
                        pairs[k] = lid
                        continue
                    key = key if len(key) >= _MOVE_MIN else b""
                    by_path = pool.get(key)
                    if by_path is None:
                        by_path = pool[key] = {}
                    if path in by_path:
                        by_path[path].append(lid)
                    else:
                        by_path[path] = deque((lid,))
                    removed_line[lid] = (h.removed[k] if k < len(h.removed) else b"", path)
        short = [lid for ids in pool.pop(b"", {}).values() for lid in ids]
        born, died = self.born, self.died
        # 2. the lines each hunk adds; each file is rebuilt in one pass (hunks in order)
        for path, hunks in p.files.items():
            ids = state.get(path, _NO_IDS)
            lines = text.get(path, _NO_TEXT)
            wanted = {zlib.crc32(x) for h in hunks for x in h.added} if other else None
            donors = self._donors(path, other, ids, wanted) if wanted else None
            new_file_ids = array("q")
            new_file_lines = array("I")
            at = 0  # position in the old file
            order: Sequence[int] = range(len(hunks))  # git writes them in order; else sort
            if any(a.old_start > b.old_start for a, b in pairwise(hunks)):
                order = sorted(order, key=lambda i: hunks[i].old_start)
            for hi in order:
                h = hunks[hi]
                start = h.old_start - 1 if h.old_len else h.old_start
                new_file_ids += ids[at:start]
                new_file_lines += lines[at:start]
                at = start + h.old_len
                pairs = kept[(path, hi)]
                norms = added_norm[(path, hi)]
                if norms:
                    if path not in added_text:
                        added_text[path] = Counter()
                    added_text[path].update(norms)
                new_file_lines.extend(map(zlib.crc32, h.added))
                if not pairs and not donors and (not pool or pool.keys().isdisjoint(norms)):
                    first_id, n = len(born), len(norms)  # all new lines: in bulk
                    new_file_ids.extend(range(first_id, first_id + n))
                    born.extend(repeat(ci, n))
                    died.extend(repeat(-1, n))
                    added += n
                    continue
                for k, norm in enumerate(norms):
                    if k in pairs:
                        new_file_ids.append(pairs[k])
                        continue
                    taken = _take(pool[norm], path) if norm in pool else None
                    if taken is not None:
                        new_file_ids.append(taken)
                        continue
                    same = donors.get(zlib.crc32(h.added[k])) if donors else None
                    # a line the merged branch wrote keeps its birth (as a new id: the
                    # branch's own copy may live on elsewhere in the first parent's tree)
                    new_file_ids.append(len(born))
                    born.append(same.pop() if same else ci)
                    died.append(-1)
                    added += not same
            new_file_ids += ids[at:]
            new_file_lines += lines[at:]
            if new_file_ids:
                state[path], text[path] = new_file_ids, new_file_lines
            else:
                state.pop(path, None)
                text.pop(path, None)
        # 3. removed lines nobody took back died here
        gone_ids = [*short, *(lid for by in pool.values() for ids in by.values() for lid in ids)]
        when, comment = p.time, _COMMENT.match
        for lid in gone_ids:
            if died[lid] < 0 or when < died[lid]:  # the earliest deletion on any branch
                died[lid] = when
            line, path = removed_line.get(lid, (b"", ""))
            if line.strip() and not comment(line):  # meaningful()
                deleted_from[(born[lid], path)] += 1
        deleted_all.update([born[lid] for lid in gone_ids])
        self.added.append(added)
        if deleted_from:
            self.deleted_from[ci], self.deleted_where[ci] = _by_origin(deleted_from)
        if context:
            self.context_of[ci], self.context_where[ci] = _by_origin(context)
        self._find_reverts(ci, p.time, removed_text, added_text, deleted_all, added)

    def _find_reverts(self, ci, when, removed_text, added_text, deleted_all, new_lines) -> None:
        """Exact inverse diffs (by fingerprint) and partial reverts (by line ids)."""
        if removed_text or added_text:
            added_fp, removed_fp = _fingerprint(added_text), _fingerprint(removed_text)
            forward, inverse = (added_fp, removed_fp), (removed_fp, added_fp)
            exact = [c for c in self._inverse.get(forward, ()) if when - self.time[c] >= 0]
            self.content_reverts += [(ci, c) for c in exact[-1:]]
            self._inverse.setdefault(inverse, []).append(ci)
        else:
            exact = []
        for c, n in deleted_all.items():
            if (
                c in exact
                or c == ci
                or not self.added[c]
                or when - self.time[c] > self.revert_window
            ):
                continue
            fraction = n / self.added[c]
            if fraction < 0.5:
                continue
            removed = self._recent_removed.get(c)
            if removed:  # half of what it removed must come back ...
                back = sum(
                    sum((lost & added_text.get(path, Counter())).values())
                    for path, lost in removed.items()
                )
                restored = back / sum(sum(lost.values()) for lost in removed.values())
                if restored < 0.5:
                    continue
            elif new_lines > n / 2:  # ... or, for a pure addition, be deleted, not rewritten
                continue
            self.partial_reverts.append((ci, c, round(fraction, 4)))
        if removed_text:
            self._recent_removed[ci] = removed_text
        while self._recent_removed:  # keep only what a later revert could still restore
            oldest = next(iter(self._recent_removed))
            if when - self.time[oldest] <= self.revert_window:
                break
            del self._recent_removed[oldest]

    def _donors(self, path, other, first: array, wanted: set[int]) -> dict[int, list[int]]:
        """Line content hash (CRC-32) -> births of the lines with that content on the merged
        branches, for the contents in *wanted* (the lines the merge adds); lines the first
        parent (*first*: its ids of *path*) already has are not offered."""
        donors: dict[int, list[int]] = {}
        born, present = self.born, None
        for state, text in other:
            ids = state.get(path) if state else None
            if ids is None or ids is first:
                continue
            # file order reversed: pop() hands out the first line of each content
            hashes = text[path]
            pairs = zip(reversed(hashes), reversed(ids), strict=True)
            for h, lid in compress(pairs, map(wanted.__contains__, reversed(hashes))):
                if present is None:
                    present = set(first)
                if lid not in present:
                    donors.setdefault(h, []).append(born[lid])
        return donors


class UnknownState(Exception):
    """A commit needs the line state of a file at an older commit, which is not known."""


def _check_known(p: Patch, unknown: dict[str, frozenset[str]]) -> None:
    """Raise :class:`UnknownState` if *p* changes a file whose state at its first parent, or
    merges one whose state at another parent, is not known."""
    touched = {*p.files, *p.renames, *p.renames.values()}
    for q in p.parents:
        bad = unknown.get(q, frozenset()) & touched
        if bad:
            raise UnknownState(f"{p.sha} changes {min(bad)!r}, whose line state is not known")


def _by_origin(counts: Counter) -> tuple[Counter, dict[int, str]]:
    """``{(origin, path): n}`` as ``{origin: n}`` and ``{origin: the path with most}``."""
    total: Counter = Counter()
    where: dict[int, tuple[int, str]] = {}
    for (origin, path), n in sorted(counts.items(), key=lambda kv: kv[0][1]):
        total[origin] += n
        if n > where.get(origin, (0, ""))[0]:
            where[origin] = (n, path)
    return total, {origin: path for origin, (_, path) in where.items()}


def _take(by_path: dict[str, deque[int]] | None, path: str) -> int | None:
    """A removed line with this text: from *path* if it lost one, else the first removed."""
    if not by_path:
        return None
    ids = by_path.get(path)
    if not ids:
        ids = next((ids for ids in by_path.values() if ids), None)
        if ids is None:
            return None
    return ids.popleft()


def line_history(
    git_dir: str,
    rev: str,
    revert_window: int = 30 * 86400,
    exclude: Collection[str] = (),
    progress: bool | None = False,
    progress_min: int = 2000,
) -> LineHistory:
    """Replay the history of *rev* line by line (one ``git log -p`` and one ``rev-list``).

    *revert_window* (seconds) bounds how far back a partial revert may reach. Paths in
    *exclude* are not followed at all (files some of whose blobs are absent: their lines
    cannot be followed past the missing version). A git failure raises
    :class:`~aiimpact.errors.GitCommandError`; the history is never silently shorter.

    *progress* shows a "replaying history" bar on stderr (one step per commit): True
    always, False never, None only for more than *progress_min* commits (as
    :class:`~aiimpact.Repo`'s ``progress=``).
    """
    children, total = child_counts(git_dir, rev)
    show = progress if progress is not None else total > progress_min
    history = LineHistory(revert_window=revert_window)
    with tqdm(total=total, unit="commit", desc="replaying history", disable=not show) as bar:
        return history.replay(
            stream_patches(git_dir, rev, exclude), children, bar.update if show else None
        )
