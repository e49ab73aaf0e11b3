"""One commit's hunks, as the line replay (:mod:`aiimpact.outcomes.lines`) applies them.

For each file a commit changes, :func:`file_edit` finds the lines its hunks remove (the
ids the file's state holds there, which die unless a line added elsewhere takes them
back), the whitespace-only edits (a line that keeps its id) and where each hunk's added
lines go; :func:`splice` then writes the new file. A file with many hunks (translation
catalogues, generated files: in git/git, 64% of all hunks are in ``po/*.po``, a thousand
and more per change) is done with NumPy, a few operations per file instead of a dozen per
hunk; the result is the same, line for line.
"""

from __future__ import annotations

import zlib
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate, chain, compress, pairwise
from operator import eq, itemgetter, methodcaller

import numpy as np

from aiimpact.git.patches import Hunk, Patch

_WS = b" \t\r\n\x0b\x0c"
_WS_BUT_NEWLINE = _WS.replace(b"\n", b"")
_TEXT = itemgetter(slice(1, None))  # a hunk line without its sign
_HI = itemgetter(3)  # where a cut's added lines end
# the line without any whitespace (whitespace-only edits compare equal); a methodcaller,
# so that map() runs it without a Python call per line
_norm = methodcaller("translate", None, _WS)
_MANY_HUNKS = 24  # from this many hunks, a file's edit is worked out with NumPy


@dataclass(slots=True)
class CommitLines:
    """All the lines a commit's hunks show, in file and hunk order (git's), and their
    hashes: of the added lines as the state keeps them (``exact``: CRC-32 of sign, text
    and newline), and of both without sign and whitespace (``added_norm``,
    ``removed_norm``)."""

    added: list[bytes]
    removed: list[bytes]
    exact: array
    added_norm: array
    removed_norm: array


def commit_lines(p: Patch) -> CommitLines:
    """The lines of *p*'s hunks and their hashes (:class:`CommitLines`)."""
    hunks = list(chain.from_iterable(p.files.values()))
    added = list(chain.from_iterable(h.added for h in hunks))
    removed = list(chain.from_iterable(h.removed for h in hunks))
    exact = array("I", map(zlib.crc32, added))
    return CommitLines(
        added, removed, exact, _norm_hashes(added, b"+"), _norm_hashes(removed, b"-")
    )


def _norm_hashes(lines: list[bytes], sign: bytes) -> array:
    """``zlib.crc32(_norm(line[1:]))`` of each of *lines* (hunk lines, all starting with
    *sign*): whitespace is taken out of all of them at once, and the block split at each
    newline followed by the sign (one new object per line instead of three)."""
    block = b"".join(lines).translate(None, _WS_BUT_NEWLINE)
    texts = block[1:-1].split(b"\n" + sign) if block.endswith(b"\n") else []
    if len(texts) != len(lines):  # a line without its newline (the stream's last) or sign
        texts = list(map(_norm, map(_TEXT, lines)))
    return array("I", map(zlib.crc32, texts))


@dataclass(slots=True)
class Removed:
    """The lines a commit's hunks remove (except whitespace-only edits), in file and hunk
    order: their ids, hashes (no sign, no whitespace), lines as git shows them, paths."""

    ids: array = field(default_factory=lambda: array("q"))
    hashes: array = field(default_factory=lambda: array("I"))
    raw: list[bytes] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FileEdit:
    """What a commit's hunks do to one file.

    The lines the hunks add (``shown``, ``hashes``: no sign and no whitespace, ``exact``:
    as the state keeps them) are in the order of the hunks in the old file, the order in
    which they are given ids. ``pairs`` maps an added line to the id it keeps (a
    whitespace-only edit). Hunk by hunk in that order, ``cuts`` says which old lines give
    way to which added ones (``(start, end, lo, hi)``: old ``[start, end)``, added
    ``[lo, hi)``) and ``spans`` where its removed lines are in the commit's
    :class:`Removed`. ``rebuilt``: the new file's hashes, once computed.
    """

    shown: list[bytes]
    hashes: array
    exact: array
    pairs: dict[int, int]
    cuts: list[tuple[int, int, int, int]] | np.ndarray
    spans: list[tuple[int, int]]
    rebuilt: array | None = None

    def span_of(self, k: int) -> tuple[int, int]:
        """Where the removed lines of the hunk that adds line *k* are in :class:`Removed`."""
        return self.spans[bisect_right(self.cuts, k, key=_HI)]


def file_edit(
    path: str,
    hunks: list[Hunk],
    ids: array,
    at: tuple[int, int],
    lines: CommitLines,
    removed: Removed,
    removed_text: dict[str, array],
    anchors: list[int],
) -> FileEdit:
    """The :class:`FileEdit` of *path* (whose state is *ids*), whose hunks' lines start at
    *at* (added, removed) in *lines*. Its removed lines are appended to *removed*, their
    hashes (whitespace-only edits too) set in *removed_text*, and the ids just above and
    below each insertion (where an add-only fix is anchored) to *anchors*."""
    if len(hunks) >= _MANY_HUNKS:
        edit = _many_hunks(path, hunks, ids, at, lines, removed, removed_text, anchors)
        if edit is not None:
            return edit
    return _few_hunks(path, hunks, ids, at, lines, removed, removed_text, anchors)


def _few_hunks(path, hunks, ids, at, lines, removed, removed_text, anchors) -> FileEdit:
    """:func:`file_edit` hunk by hunk (any hunks, in any order)."""
    a, r = at
    n_added = [len(h.added) for h in hunks]
    offsets = list(accumulate(n_added, initial=0))  # where each hunk's added lines start
    order: list[int] | range = range(len(hunks))  # git writes them in order; else sort
    if any(x.old_start > y.old_start for x, y in pairwise(hunks)):
        order = sorted(order, key=lambda i: hunks[i].old_start)
        lo = [0] * len(hunks)
        start = 0
        shown = list(chain.from_iterable(hunks[i].added for i in order))
        hashes, exact = array("I"), array("I")
        for i in order:
            lo[i], start = start, start + n_added[i]
            hashes += lines.added_norm[a + offsets[i] : a + offsets[i + 1]]
            exact += lines.exact[a + offsets[i] : a + offsets[i + 1]]
    else:
        lo = offsets
        shown = lines.added[a : a + offsets[-1]]
        hashes = lines.added_norm[a : a + offsets[-1]]
        exact = lines.exact[a : a + offsets[-1]]
    pairs: dict[int, int] = {}
    cuts: list[tuple[int, int, int, int]] = []
    spans: list[tuple[int, int]] = []
    text = array("I")
    add_norm, rem_norm = lines.added_norm, lines.removed_norm
    for i, h in enumerate(hunks):
        n_add, n_rem = n_added[i], len(h.removed)
        start = h.old_start - 1 if h.old_len else h.old_start
        cuts.append((start, start + h.old_len, lo[i], lo[i] + n_add))
        if not h.old_len:  # an insertion
            anchors += (pos for pos in (start - 1, start) if 0 <= pos < len(ids))
            spans.append((0, 0))
            r += n_rem
            continue
        gone = ids[start : start + h.old_len]
        old = rem_norm[r : r + min(n_rem, len(gone))]
        r += n_rem
        raw = h.removed[: len(gone)]
        if len(gone) > n_rem:  # git showed fewer lines than the state has
            raw += [b"-"] * (len(gone) - n_rem)
            old += array("I", bytes(4 * (len(gone) - n_rem)))  # crc32(b"") = 0
        text += old
        new = add_norm[a + offsets[i] : a + offsets[i] + n_add]
        if new and any(map(eq, old, new)):  # then the texts, not the hashes
            kept = {
                k: gone[k]
                for k, same in enumerate(map(eq, old, new))
                if same and _norm(raw[k][1:]) == _norm(h.added[k][1:])
            }
            pairs.update((lo[i] + k, lid) for k, lid in kept.items())
            rest = [k for k in range(len(gone)) if k not in kept]
            gone = array("q", [gone[k] for k in rest])
            old = array("I", [old[k] for k in rest])
            raw = [raw[k] for k in rest]
        spans.append((len(removed.ids), len(removed.ids) + len(gone)))
        removed.ids += gone
        removed.hashes += old
        removed.raw += raw
        removed.paths += [path] * len(gone)
    if text:
        removed_text[path] = text
    if isinstance(order, list):
        cuts = [cuts[i] for i in order]
        spans = [spans[i] for i in order]
    return FileEdit(shown, hashes, exact, pairs, cuts, spans)


def _many_hunks(path, hunks, ids, at, lines, removed, removed_text, anchors) -> FileEdit | None:
    """:func:`file_edit` with NumPy, for hunks git wrote in order, apart, within the file
    and showing every line they replace (else None: then hunk by hunk)."""
    a, r = at
    meta = np.fromiter(
        chain.from_iterable((h.old_start, h.old_len, len(h.removed), len(h.added)) for h in hunks),
        np.int64,
        4 * len(hunks),
    ).reshape(-1, 4)
    old_start, old_len, n_rem, n_add = meta.T
    starts = np.where(old_len > 0, old_start - 1, old_start)
    ends = starts + old_len
    if (
        (n_rem != old_len).any()
        or starts[0] < 0
        or ends[-1] > len(ids)
        or (starts[1:] < ends[:-1]).any()
    ):
        return None
    n_r, n_a = int(old_len.sum()), int(n_add.sum())
    r_at = np.cumsum(old_len) - old_len  # where each hunk's removed lines start
    a_at = np.cumsum(n_add) - n_add
    old = lines.removed_norm[r : r + n_r]
    new = lines.added_norm[a : a + n_a]
    gone = np.frombuffer(ids, dtype=np.int64)[_ranges(starts, old_len)]
    pairs: dict[int, int] = {}
    paired: list[int] = []
    both = np.minimum(old_len, n_add)  # a hunk's k-th removed and k-th added lines
    if n_r and n_a and both.any():
        at_r, at_a = _ranges(r_at, both), _ranges(a_at, both)
        same = np.flatnonzero(_u32(old)[at_r] == _u32(new)[at_a])
        for i, k in zip(at_r[same].tolist(), at_a[same].tolist(), strict=True):
            if _norm(lines.removed[r + i][1:]) == _norm(lines.added[a + k][1:]):
                pairs[k] = int(gone[i])
                paired.append(i)
    kept = old_len
    raw = lines.removed[r : r + n_r]
    hashes = old
    if paired:
        keep = np.ones(n_r, dtype=bool)
        keep[paired] = False
        kept = old_len - np.bincount(
            np.searchsorted(r_at, paired, side="right") - 1, minlength=len(hunks)
        )
        gone = gone[keep]
        hashes = array("I", _u32(old)[keep].tobytes())
        raw = list(compress(raw, keep.tolist()))
    base = len(removed.ids)
    removed.ids.frombytes(gone.tobytes())
    removed.hashes += hashes
    removed.raw += raw
    removed.paths += [path] * len(raw)
    if n_r:
        removed_text[path] = old
    span_lo = np.where(old_len > 0, base + np.cumsum(kept) - kept, 0)
    span_hi = np.where(old_len > 0, span_lo + kept, 0)
    for start in starts[old_len == 0].tolist():  # insertions
        anchors += (pos for pos in (start - 1, start) if 0 <= pos < len(ids))
    cuts = np.stack((starts, ends, a_at, a_at + n_add), axis=1)
    return FileEdit(
        lines.added[a : a + n_a],
        new,
        lines.exact[a : a + n_a],
        pairs,
        cuts,
        list(zip(span_lo.tolist(), span_hi.tolist(), strict=True)),
    )


def splice(old: array, new: array, edit: FileEdit) -> array:
    """*old* (a file's line ids or hashes) with the lines each hunk of *edit* removes
    replaced by the ones it adds (in *new*, which is in the order of :class:`FileEdit`)."""
    if isinstance(edit.cuts, np.ndarray):
        return _splice_many(old, new, edit.cuts)
    out = array(old.typecode)
    at = 0
    for start, end, lo, hi in edit.cuts:
        out += old[at:start]
        out += new[lo:hi]
        at = end
    out += old[at:]
    return out


def _splice_many(old: array, new: array, cuts: np.ndarray) -> array:
    """:func:`splice` with NumPy: one gather of the kept runs of *old* and the added runs of
    *new* (*cuts*: rows of start, end, lo, hi; in order and apart)."""
    dtype = np.int64 if old.typecode == "q" else np.uint32
    source = np.concatenate((np.frombuffer(old, dtype), np.frombuffer(new, dtype)))
    starts, ends, lo, hi = cuts.T
    runs = np.empty(2 * len(cuts) + 1, dtype=np.int64)
    sizes = np.empty_like(runs)
    runs[0::2] = np.concatenate(([0], ends))  # the old lines kept before each hunk, after
    sizes[0::2] = np.concatenate((starts, [len(old)])) - runs[0::2]
    runs[1::2] = lo + len(old)  # each hunk's added lines
    sizes[1::2] = hi - lo
    return array(old.typecode, source[_ranges(runs, sizes)].tobytes())


def _ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The positions ``starts[i], ..., starts[i] + sizes[i] - 1`` of every run, in order."""
    total = int(sizes.sum())
    return np.repeat(starts - (np.cumsum(sizes) - sizes), sizes) + np.arange(total)


def _u32(hashes: array) -> np.ndarray:
    """A NumPy view of an array of CRC-32s (it must go before the array grows)."""
    return np.frombuffer(hashes, dtype=np.uint32)
