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
* a file a merge takes whole from another parent (its lines are that parent's, in
  order) takes that parent's line ids, as ``git blame`` passes such a file on to that
  parent: a line written on a branch is then one line on both, and dies once (the first
  time either deletes it). In a file the merge changes otherwise, the lines it adds
  (relative to its first parent) keep the birth they had on the merged branch when a
  line with the same content is found there; only the rest are the merge's own ("evil
  merge" lines);
* within one commit, a line removed in one place and added (with the same text, at least
  10 non-blank characters) in another is a move and keeps its birth; of identical removed
  lines, one from the same file is taken first, and then the first removed;
* a line dies the first time it is deleted or modified on any branch; that is when it
  counts as churn of the commit that wrote it;
* binary files have no lines; a commit's state is dropped once its last child is replayed,
  so memory follows the live branches, not the history.
"""

from __future__ import annotations

import gc
import hashlib
import re
from array import array
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, compress, repeat
from operator import attrgetter, not_

import numpy as np
from tqdm.auto import tqdm

from aiimpact.errors import GitCommandError
from aiimpact.git.patches import Patch, child_counts, stream_patches
from aiimpact.outcomes.edits import FileEdit, Removed, _norm, commit_lines, file_edit, splice
from aiimpact.outcomes.origins import OriginTable, counts_view, where_view

_MOVE_MIN = 10  # a line moves with its birth only if it has this many non-blank characters
# blank, or a comment only (what the usual SZZ filter leaves out)
_BLANK_OR_COMMENT = rb"\s*(?:\Z|#|//|/\*|\*|--|;|%|'''|\"\"\"|<!--)"
_MEANINGLESS = re.compile(_BLANK_OR_COMMENT)
_SIGNED_MEANINGLESS = re.compile(rb"[-+]" + _BLANK_OR_COMMENT)  # a hunk line, as git writes it


def _fingerprint(by_path: dict[str, array]) -> int:
    """An order-free fingerprint of per-path multisets of line hashes, the same in every
    process (a stored history's fingerprints are compared with those of commits replayed
    later)."""
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(by_path):
        digest.update(path.encode("utf-8", "surrogateescape") + b"\0\0")
        hashes = by_path[path]
        if len(hashes) < _VECTOR_MIN:
            digest.update(array("I", sorted(hashes)).tobytes() + b"\0\0")
        else:  # the same bytes
            digest.update(np.sort(np.frombuffer(hashes, dtype=np.uint32)).tobytes() + b"\0\0")
    return int.from_bytes(digest.digest(), "big", signed=True)


_REMOVED = attrgetter("removed")
# a file's state: its lines' ids (array "q") and their hashes (array "I", 4 bytes): the
# CRC-32 of the line as a hunk adds it ("+", the text, the newline); the revert analyses
# and the moves compare lines by the CRC-32 of their text without whitespace instead
_NO_IDS, _NO_TEXT = array("q"), array("I")


class _IdMarks:
    """A mask over every line id, reused by the merges: which of a file's ids are among a
    few others, at one table read per id (a binary search per id costs several). Ids are
    marked, read and unmarked within one call, so the table is all False between calls."""

    def __init__(self) -> None:
        self._table = np.zeros(1 << 16, dtype=bool)

    def cover(self, n: int) -> None:
        """Make room for the ids below *n*."""
        if n > len(self._table):
            self._table = np.zeros(max(n, 2 * len(self._table)), dtype=bool)

    def among(self, values: np.ndarray, marked: np.ndarray) -> np.ndarray:
        """Which of *values* are in *marked* (a mask over *values*)."""
        table = self._table
        table[marked] = True
        try:
            return table[values]
        finally:
            table[marked] = False


def meaningful(line: bytes) -> bool:
    """Not blank and not a comment-only line (the usual SZZ filter)."""
    return _MEANINGLESS.match(line) is None


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
    moved : list of int
        Lines each commit removed in one hunk and added in another (of another file, or
        elsewhere in the same one) with the same text (whitespace ignored, at least 10
        non-blank characters): they keep their birth, and count in neither its added nor
        its deleted lines. A line taken back within its own hunk is an edit in place
        (re-indented, say), not a move. Merges have 0: the moves their diff shows were
        made, and are counted, on the merged branch.
    born : array of int
        For every line id, the commit index that wrote it.
    died : array of int
        For every line id, the earliest commit time it was deleted or modified on any
        branch (-1: alive).
    alive_at_tip : Counter
        Lines of each commit still present at the replayed revision.
    deleted : OriginTable
        Which earlier commits' lines each commit deleted or modified (meaningful lines
        only), and the file (as the deleting commit names it) that held most of them (ties:
        the first path in sort order); read through :attr:`deleted_from` and
        :attr:`deleted_where`.
    context : OriginTable
        For commits that insert lines without deleting any there: the births of the lines
        just above and below each insertion (where an add-only fix is anchored), and the
        file of the insertion; read through :attr:`context_of` and :attr:`context_where`.
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
        their lines' hashes (CRC-32s of the lines as git's hunks add them), from which a
        later :meth:`replay` goes on; ``kept`` holds the same for some other commits, which
        new commits may branch from (``{sha: (state, text)}``, each only where it differs
        from the tip's: a path's list, or None for a file absent there).
    """

    commits: list[str] = field(default_factory=list)
    time: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)
    moved: list[int] = field(default_factory=list)
    born: array = field(default_factory=lambda: array("i"))  # compact: 4 bytes per line
    died: array = field(default_factory=lambda: array("q"))
    alive_at_tip: Counter = field(default_factory=Counter)
    deleted: OriginTable = field(default_factory=OriginTable, repr=False)
    context: OriginTable = field(default_factory=OriginTable, repr=False)
    content_reverts: list[tuple[int, int]] = field(default_factory=list)
    partial_reverts: list[tuple[int, int, float]] = field(default_factory=list)
    revert_window: int = 30 * 86400
    _inverse: dict[tuple[int, int], list[int]] = field(default_factory=dict, repr=False)
    # commit -> path -> hashes of the lines it removed
    _recent_removed: dict[int, dict[str, array]] = field(default_factory=dict, repr=False)
    tip: str | None = None
    tip_state: dict[str, array] = field(default_factory=dict, repr=False)
    tip_text: dict[str, array] = field(default_factory=dict, repr=False)
    kept: dict[str, tuple[dict, dict]] = field(default_factory=dict, repr=False)  # vs the tip
    # when a list (a stored history being extended): the ids each replayed commit deleted,
    # so that only the deaths that may have changed are stored again
    _deletions: list[array] | None = field(default=None, repr=False)
    _marks: _IdMarks = field(default_factory=_IdMarks, repr=False, compare=False)

    @property
    def deleted_from(self) -> Mapping[int, Counter]:
        """``{commit index: Counter({origin commit index: meaningful lines deleted})}``."""
        return counts_view(self.deleted)

    @property
    def deleted_where(self) -> Mapping[int, dict[int, str]]:
        """``{commit index: {origin commit index: path}}``: the file with most of them."""
        return where_view(self.deleted)

    @property
    def context_of(self) -> Mapping[int, Counter]:
        """``{commit index: Counter({origin commit index: lines beside insertions})}``."""
        return counts_view(self.context)

    @property
    def context_where(self) -> Mapping[int, dict[int, str]]:
        """``{commit index: {origin commit index: path}}`` of :attr:`context_of`."""
        return where_view(self.context)

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
        with _no_cycle_collection():
            return self._replay(patches, children, on_progress, forks, keep)

    def _replay(self, patches, children, on_progress, forks, keep) -> LineHistory:
        states: dict[str, dict[str, array]] = {}
        texts: dict[str, dict[str, array]] = {}
        unknown: dict[str, frozenset[str]] = {}  # commit -> files whose state is not known
        keep = set(keep)
        if self.tip is not None:
            states[self.tip], texts[self.tip] = self.tip_state, self.tip_text
            for commit, (state, text) in self.kept.items():
                states[commit] = _patched(self.tip_state, state)
                texts[commit] = _patched(self.tip_text, text)
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
            self.kept = {
                c: (
                    state_changes(states[c], self.tip_state),
                    state_changes(texts[c], self.tip_text),
                )
                for c in keep
                if c in states and c != last
            }
            self.alive_at_tip = alive_counts(self.born, self.tip_state)
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
        born, died = self.born, self.died
        # per path: the hashes of the lines removed and added (for the revert analyses)
        removed_text: dict[str, array] = {}
        added_text: dict[str, array] = {}
        context: Counter = Counter()
        # 1. the lines each hunk removes, in file and hunk order (their hashes are the
        #    state's); a whitespace-only edit keeps its line, the others are gone unless a
        #    line added elsewhere in this commit takes them back (a move keeps its birth, as
        #    with blame -M -C within a commit). Per-line work is left to C (map, array
        #    slices, Counter) and, for files with many hunks, to NumPy.
        lines = commit_lines(p)
        gone = Removed()
        edits: dict[str, FileEdit] = {}
        a = r = 0  # where the file's lines start in the commit's lines
        for path, hunks in p.files.items():
            ids = state.get(path, _NO_IDS)
            anchors: list[int] = []
            edit = edits[path] = file_edit(
                path, hunks, ids, (a, r), lines, gone, removed_text, anchors
            )
            a += len(edit.shown)
            r += sum(map(len, map(_REMOVED, hunks)))
            if edit.hashes:
                added_text[path] = edit.hashes
            for pos in anchors:  # an insertion: remember where it is anchored
                context[(born[ids[pos]], path)] += 1
        taken: set[int] = set()  # removed lines that live on
        adopted = _adopted(text, edits, other) if other else {}
        if other:
            self._marks.cover(len(born))
        if adopted and gone.ids:  # a file taken whole from a merged branch keeps its lines
            kept = _present(
                np.frombuffer(gone.ids, dtype=np.int64),
                [ids for ids, _ in adopted.values()],
                self._marks,
            )
            taken.update(compress(range(len(gone.ids)), map(kept.__contains__, gone.ids)))
        own = {k: v for k, v in edits.items() if k not in adopted} if adopted else edits
        pool = {}
        if gone.hashes and added_text and own:
            pool = _pool(own, gone, taken)
        # 2. the lines each file gains; each file is rebuilt in one pass (hunks in order)
        added_here = moved_here = 0
        for path, edit in edits.items():
            if path in adopted:
                state[path], text[path] = adopted[path]
                continue
            ids = state.get(path, _NO_IDS)
            donors = None
            if other and edit.exact:  # a merge: its lines may come from a branch
                donors = self._donors(path, other, ids, set(edit.exact))
            new, n_added, n_moved = self._new_ids(ci, path, edit, pool, donors, gone, taken)
            added_here += n_added
            moved_here += n_moved
            new_file_ids = splice(ids, new, edit)
            if new_file_ids:
                state[path] = new_file_ids
                if edit.rebuilt is None:
                    edit.rebuilt = splice(text.get(path, _NO_TEXT), edit.exact, edit)
                text[path] = edit.rebuilt
            else:
                state.pop(path, None)
                text.pop(path, None)
        # 3. removed lines nobody took back died here
        gone_ids, gone_raw, gone_path = gone.ids, gone.raw, gone.paths
        if taken:
            alive = list(map(not_, map(taken.__contains__, range(len(gone_ids)))))
            gone_ids = array("q", compress(gone_ids, alive))
            gone_raw = list(compress(gone_raw, alive))
            gone_path = list(compress(gone_path, alive))
        when = p.time
        for lid in gone_ids:
            if died[lid] < 0 or when < died[lid]:  # the earliest deletion on any branch
                died[lid] = when
        if self._deletions is not None:
            self._deletions.append(gone_ids)
        origins = list(map(born.__getitem__, gone_ids))
        worth = map(not_, map(_SIGNED_MEANINGLESS.match, gone_raw))  # meaningful()
        deleted_from = Counter(compress(zip(origins, gone_path, strict=True), worth))
        self.added.append(added_here)
        self.moved.append(0 if other else moved_here)  # a merge's are its branch's
        if deleted_from:
            self.deleted.add(ci, *_by_origin(deleted_from))
        if context:
            self.context.add(ci, *_by_origin(context))
        self._find_reverts(ci, p.time, removed_text, added_text, _counts(origins), added_here)

    def _new_ids(self, ci, path, edit: FileEdit, pool, donors, gone: Removed, taken):
        """The ids of the lines *edit* adds (in its order), and how many of them are new and
        how many moved here. A whitespace-only edit keeps its line; a line with the text
        (whitespace ignored) of one this commit removes (*pool*) takes it back; the others
        are new, born here unless a merged branch wrote them (*donors*). New ids are handed
        out in order, runs of plain new lines at once."""
        born, died = self.born, self.died
        hashes, exact = edit.hashes, edit.exact
        special = sorted(
            {*edit.pairs, *_positions(hashes, pool.keys())}
            if pool and not pool.keys().isdisjoint(hashes)
            else edit.pairs
        )
        new = array("q")
        added = moved = at = 0
        for k in chain(special, (len(hashes),)):
            if k > at:  # lines at..k-1 are all new (or their merged branch's)
                first, n = len(born), k - at
                new.extend(range(first, first + n))
                died.extend(repeat(-1, n))
                run = exact[at:k]
                if donors and not donors.keys().isdisjoint(run):
                    births = [d.pop() if (d := donors.get(c)) else ci for c in run]
                    born.extend(births)
                    added += births.count(ci)
                else:
                    born.extend(repeat(ci, n))
                    added += n
            if k == len(hashes):
                break
            at = k + 1
            if k in edit.pairs:
                new.append(edit.pairs[k])
                continue
            norm = _norm(edit.shown[k][1:])
            i = _take(pool[hashes[k]].get(norm), path) if hashes[k] in pool else None
            if i is not None:
                new.append(gone.ids[i])
                taken.add(i)
                lo, end = edit.span_of(k)
                moved += not lo <= i < end  # from its own hunk: edited in place
                continue
            same = donors.get(exact[k]) if donors else None
            # a line the merged branch wrote keeps its birth (as a new id: the branch's
            # own copy may live on elsewhere in the first parent's tree)
            new.append(len(born))
            died.append(-1)
            if same:
                born.append(same.pop())
            else:
                born.append(ci)
                added += 1
        return new, added, moved

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
                    (Counter(lost) & Counter(added_text.get(path, ()))).total()
                    for path, lost in removed.items()
                )
                restored = back / sum(map(len, removed.values()))
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
        born = self.born
        sorted_wanted: np.ndarray | None = None
        for state, text in other:
            ids = state.get(path) if state else None
            if ids is None or ids is first:
                continue
            hashes = text[path]
            if len(hashes) < _VECTOR_MIN:
                hits = _positions(hashes, wanted)
                offered = _absent(ids, hits, first, self._marks) if hits else hits
            else:
                if sorted_wanted is None:
                    sorted_wanted = np.sort(np.fromiter(wanted, np.uint32, len(wanted)))
                offered = _offered(hashes, ids, first, sorted_wanted, self._marks)
            # file order reversed: pop() hands out the first line of each content
            for i in reversed(offered):
                donors.setdefault(hashes[i], []).append(born[ids[i]])
        return donors


def _offered(
    hashes: array, ids: array, first: array, sorted_wanted: np.ndarray, marks: _IdMarks
) -> list[int]:
    """The positions of a file's lines (*hashes*, *ids*) whose content is wanted (in
    *sorted_wanted*) and whose id is not in *first*, found with NumPy (a long file)."""
    hits = np.flatnonzero(_members(np.frombuffer(hashes, dtype=np.uint32), sorted_wanted))
    if not hits.size:
        return []
    return hits[_not_in(np.frombuffer(ids, dtype=np.int64)[hits], first, marks)].tolist()


def _not_in(chosen: np.ndarray, first: array, marks: _IdMarks) -> np.ndarray:
    """Which of the line ids *chosen* the ids *first* (a whole file) do not hold: a mask."""
    return ~marks.among(chosen, np.frombuffer(first, dtype=np.int64))


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector paused: the replay makes millions of objects and no
    reference cycles, which the collector would only walk again and again (4% of a replay)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def state_changes(state: dict[str, array], tip: dict[str, array]) -> dict[str, array | None]:
    """Where *state* differs from *tip*: its list of each such path (None: absent). Lists
    are never changed in place, so an unchanged file holds the very same list."""
    return {p: state.get(p) for p in state.keys() | tip.keys() if state.get(p) is not tip.get(p)}


def _patched(tip: dict[str, array], changed: Mapping[str, array | None]) -> dict[str, array]:
    """*tip* with the differences *changed* (:func:`state_changes`) applied."""
    state = dict(tip)
    for path, ids in changed.items():
        if ids is None:
            state.pop(path, None)
        else:
            state[path] = ids
    return state


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


_VECTOR_MIN = 256  # from this many lines, a file is searched with NumPy


def _positions(hashes: array, wanted: set[int]) -> list[int]:
    """The positions of *hashes* (line CRC-32s, in order) whose value is in *wanted*."""
    if len(hashes) < _VECTOR_MIN:
        return list(compress(range(len(hashes)), map(wanted.__contains__, hashes)))
    values = np.frombuffer(hashes, dtype=np.uint32)
    of = np.sort(np.fromiter(wanted, np.uint32, len(wanted)))
    return np.flatnonzero(_members(values, of)).tolist()


def _absent(ids: array, positions: list[int], first: array, marks: _IdMarks) -> list[int]:
    """The *positions* of *ids* whose line id is not in *first*."""
    chosen = [ids[i] for i in positions]
    if len(first) >= _VECTOR_MIN:
        mask = _not_in(np.array(chosen, np.int64), first, marks)
        return list(compress(positions, mask.tolist()))
    present = set(chosen).intersection(first)
    if not present:
        return positions
    return [i for i, lid in zip(positions, chosen, strict=True) if lid not in present]


def _members(values: np.ndarray, of: np.ndarray) -> np.ndarray:
    """Which *values* are in *of* (sorted; a mask): a binary search of each value in *of*,
    which is much faster than ``np.isin`` when *of* is far shorter than *values*."""
    at = np.minimum(np.searchsorted(of, values), len(of) - 1)
    return of[at] == values


def _pool(edits: Mapping[str, FileEdit], gone: Removed, taken: set[int]):
    """The removed lines that lines added in the same commit (by *edits*) may take back:
    hash -> text without whitespace -> path -> indexes into the commit's removed lines
    (*gone*), oldest first; only lines of at least ``_MOVE_MIN`` non-blank characters that
    those files gain (found by their hashes, then compared by text: a hash may collide),
    and not already *taken* (indexes of removed lines that live on)."""
    added = chain.from_iterable(edit.hashes for edit in edits.values())
    both = set(gone.hashes).intersection(added)
    if not both:
        return {}
    long: set[bytes] = set()
    for edit in edits.values():
        for k in _positions(edit.hashes, both):
            norm = _norm(edit.shown[k][1:])
            if len(norm) >= _MOVE_MIN:
                long.add(norm)
    pool: dict[int, dict[bytes, dict[str, deque[int]]]] = {}
    for i in _positions(gone.hashes, both):
        key = _norm(gone.raw[i][1:])
        if key not in long or i in taken:
            continue
        by_path = pool.setdefault(gone.hashes[i], {}).setdefault(key, {})
        if gone.paths[i] in by_path:
            by_path[gone.paths[i]].append(i)
        else:
            by_path[gone.paths[i]] = deque((i,))
    return pool


def _adopted(text, edits: Mapping[str, FileEdit], other) -> dict[str, tuple[array, array]]:
    """The files a merge takes whole from another parent: its version of the file (the
    first parent's, *text*, with the *edits* applied) has that parent's lines, in order.
    Such a file takes that parent's line ids and hashes (``{path: (ids, hashes)}``), as
    ``git blame`` passes a file identical to a parent's on to that parent: a line of the
    branch stays one line on both branches, and dies once."""
    found: dict[str, tuple[array, array]] = {}
    for path, edit in edits.items():
        candidates = [(s[path], t[path]) for s, t in other if t is not None and path in t]
        if not candidates:
            continue
        rebuilt = edit.rebuilt = splice(text.get(path, _NO_TEXT), edit.exact, edit)
        match = next((c for c in candidates if c[1] == rebuilt), None) if rebuilt else None
        if match is not None:
            found[path] = match
    return found


def alive_counts(born: array, state: dict[str, array]) -> Counter:
    """How many lines of each commit (index) *state*'s files hold: counted with NumPy."""
    files = [np.frombuffer(ids, dtype=ids.typecode) for ids in state.values()]
    if not files:
        return Counter()
    return _tally(np.frombuffer(born, dtype=born.typecode)[np.concatenate(files)])


def _counts(values: list[int]) -> Counter:
    """``Counter(values)``; with NumPy for many values."""
    if len(values) < _VECTOR_MIN:
        return Counter(values)
    return _tally(np.array(values, dtype=np.int64))


def _tally(values: np.ndarray) -> Counter:
    """``Counter(values)`` of a NumPy array."""
    unique, counts = np.unique(values, return_counts=True)
    return Counter(dict(zip(unique.tolist(), counts.tolist(), strict=True)))


def _present(ids: np.ndarray, files: list[array], marks: _IdMarks) -> set[int]:
    """The line ids of *ids* that one of *files* (arrays of line ids) holds."""
    present: set[int] = set()
    for file in files:
        values = np.frombuffer(file, dtype=np.int64)
        present.update(values[marks.among(values, ids)].tolist())
    return present


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
