"""Whose lines each commit deleted: a line history's per-commit origin counts, in flat arrays.

A history of 80k commits records about 400k (commit, origin) pairs for the lines commits
deleted and 300k for the lines around their insertions. Held as one ``Counter`` and one dict
per commit they took about 200 MB on git/git; here they are five arrays (4 bytes per pair
and field) and an index, about 10 MB. Readers see the same mappings as before, built for
the one commit asked about (:meth:`OriginTable.counts`, :meth:`OriginTable.where`).
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence

import numpy as np


class OriginTable:
    """Per commit index: the origin commits of some of its lines, how many, and the file
    that held most of them.

    Examples
    --------
    >>> t = OriginTable()
    >>> t.add(5, Counter({1: 3, 2: 1}), {1: "a.c", 2: "b.c"})
    >>> t.counts(5)[1], t.where(5)[1], 7 in t
    (3, 'a.c', False)
    """

    def __init__(self) -> None:
        self._slot: dict[int, int] = {}  # commit index -> its slot in _start/_stop
        self._start = array("q")
        self._stop = array("q")
        self._origin = array("i")
        self._n = array("i")
        self._path = array("i")  # into _paths; -1: not recorded
        self._paths: list[str] = []
        self._path_id: dict[str, int] = {}

    def add(self, ci: int, counts: Mapping[int, int], where: Mapping[int, str]) -> None:
        """Record commit *ci*'s *counts* (``{origin: n}``) and *where* (``{origin: path}``);
        each commit is added once, and one with no counts is left out."""
        if not counts:
            return
        if ci in self._slot:
            raise ValueError(f"commit index {ci} is already in the table")
        self._slot[ci] = len(self._start)
        self._start.append(len(self._origin))
        ids = self._path_id
        for origin, n in counts.items():
            path = where.get(origin)
            pid = -1
            if path is not None:
                pid = ids.setdefault(path, len(self._paths))
                if pid == len(self._paths):  # a path not seen before
                    self._paths.append(path)
            self._origin.append(origin)
            self._n.append(n)
            self._path.append(pid)
        self._stop.append(len(self._origin))

    @classmethod
    def from_arrays(
        cls,
        ci: np.ndarray,
        origin: np.ndarray,
        n: np.ndarray,
        path: np.ndarray,
        paths: Sequence[str],
    ) -> OriginTable:
        """A table from its columns (what :meth:`arrays` gives): one row per pair, the rows
        of each commit together and in their order; *path* indexes *paths* (-1: none)."""
        table = cls()
        if not len(ci):
            return table
        ci = np.asarray(ci, dtype=np.int64)
        starts = np.concatenate(([0], np.flatnonzero(np.diff(ci)) + 1))
        table._slot = dict(zip(ci[starts].tolist(), range(len(starts)), strict=True))
        if len(table._slot) != len(starts):
            raise ValueError("the rows of a commit are not together")
        for values, column in (
            (table._start, starts),
            (table._stop, np.append(starts[1:], len(ci))),
            (table._origin, origin),
            (table._n, n),
            (table._path, path),
        ):
            values.frombytes(np.asarray(column, dtype=values.typecode).tobytes())
        table._paths = list(paths)
        table._path_id = {p: i for i, p in enumerate(table._paths)}
        return table

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """The columns ``ci, origin, n, path`` (one row per pair, by commit as added; *path*
        indexes the list returned last, -1 for none)."""
        # slots were given in turn, and each slot's rows follow the previous slot's
        lengths = np.frombuffer(self._stop, np.int64) - np.frombuffer(self._start, np.int64)
        ci = np.repeat(np.fromiter(self._slot, np.int64, len(self._slot)), lengths)
        origin, n, path = (np.array(a, dtype=np.int32) for a in (self._origin, self._n, self._path))
        return ci, origin, n, path, list(self._paths)

    def _span(self, ci: int) -> range:
        k = self._slot.get(ci)
        return range(0) if k is None else range(self._start[k], self._stop[k])

    def counts(self, ci: int) -> Counter:
        """``{origin: n}`` of commit *ci* (empty if it has none)."""
        span = self._span(ci)
        return Counter(
            dict(
                zip(
                    self._origin[span.start : span.stop],
                    self._n[span.start : span.stop],
                    strict=True,
                )
            )
        )

    def where(self, ci: int) -> dict[int, str]:
        """``{origin: path}`` of commit *ci* (origins with no path recorded left out)."""
        paths = self._paths
        return {self._origin[i]: paths[self._path[i]] for i in self._span(ci) if self._path[i] >= 0}

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, ci: object) -> bool:
        return ci in self._slot

    def __iter__(self) -> Iterator[int]:
        return iter(self._slot)


class _View(Mapping):
    """A read-only ``{commit index: mapping}`` view of an :class:`OriginTable`."""

    def __init__(self, table: OriginTable, get) -> None:
        self._table, self._get = table, get

    def __getitem__(self, ci: int):
        if ci not in self._table:
            raise KeyError(ci)
        return self._get(ci)

    def __iter__(self) -> Iterator[int]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)


def counts_view(table: OriginTable) -> Mapping[int, Counter]:
    """*table* as ``{commit index: Counter({origin: n})}``."""
    return _View(table, table.counts)


def where_view(table: OriginTable) -> Mapping[int, dict[int, str]]:
    """*table* as ``{commit index: {origin: path}}``."""
    return _View(table, table.where)
