"""The outcome store: line histories and outcome tables, kept beside the mined tables.

Replaying a history line by line costs minutes on a large repository; its results are
stored in ``<cache_dir>/<repo-key>/outcomes.duckdb`` so a new process reads them instead:

* a **line history** (:class:`~aiimpact.outcomes.lines.LineHistory`: every line's birth
  and death, the per-commit deletions SZZ reads, the reverts, and the tip's live line
  state) is stored per (tip, revert window, files left out). A later tip that descends from
  a stored one is replayed **incrementally**: only the new commits, from the stored tip's
  live state. That needs every new commit's parents to be new too or the stored tip; a
  new commit that branches from an older commit (whose line state is not stored) makes
  the replay a full one, and :attr:`~aiimpact.mining.MiningReport.line_history` says why.
  An extended history is stored as what its new commits changed (their rows, the new
  lines, the old lines whose death they set, the files whose state they changed), on top
  of the stored one it extends; a read follows that chain, and after :data:`MAX_DEPTH`
  extensions in a row the next is stored in full. Stored histories beyond the newest few
  are dropped unless a kept one extends them;
* an **outcomes table** is stored per (tip, mining options, detector, git-ai notes refs,
  aiimpact version), with the report of the run that made it.

Everything here is derived data. A file DuckDB cannot read, or one of another format, is
replaced (nothing is lost but the time to recompute it). A table is written in one
transaction, a history in several (one per stored table or batch of rows, each in its own
connection), each with its key row last: a run killed mid-replay or mid-write leaves no
result that is read, and the previous ones stay. The file is opened only to read or write,
never during a replay, so other processes can use it meanwhile.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import sys
import warnings
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager
from functools import partial
from itertools import repeat
from pathlib import Path
from typing import NamedTuple

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from aiimpact import schema
from aiimpact.errors import CacheRebuiltWarning, MissingObjectsWarning
from aiimpact.git.notes import notes_state
from aiimpact.git.patches import (
    changed_paths,
    has_commit,
    pending_forks,
    range_parents,
    recent_commits,
    stream_patches,
)
from aiimpact.mining import PROGRESS_MIN, MiningReport
from aiimpact.outcomes.churn import window_seconds
from aiimpact.outcomes.lines import LineHistory, UnknownState, alive_counts, state_changes
from aiimpact.outcomes.linking import unfollowed
from aiimpact.outcomes.origins import OriginTable
from aiimpact.outcomes.szz import szz
from aiimpact.outcomes.szz_blame import szz_by_blame
from aiimpact.store import opened, transaction

FORMAT = "8"
"""The stored layout; a file of another format is emptied and refilled."""
_ROWS_PER_TRANSACTION = 200_000  # h_origins rows made and written at a time
_KEEP = 4  # stored line histories (and outcome tables) kept per file, newest first
_CHUNK = 1 << 20  # line rows (h_lines, h_lists) written per transaction
_ROWS_PER_BLOB = 20_000  # outcomes table rows per stored blob
KEPT_STATES = 128
"""The line states of this many first-parent commits before the tip, and of this many newest
commits by commit time, are stored with it, so that new commits branching from one of them
extend the stored history."""
PENDING_FORKS = 128
"""And those of at most this many fork points of other branches (:func:`pending_forks`)."""
MAX_DEPTH = 8
"""A history extended from a stored one is stored as what the new commits changed; the
extension after this many such steps in a row is stored in full, so that a read never
follows a long chain."""

_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    # one row per complete line history, written last in its transaction
    "CREATE TABLE IF NOT EXISTS histories (key VARCHAR PRIMARY KEY, tip VARCHAR, "
    "options VARCHAR, n_commits BIGINT, n_lines BIGINT, revert_window BIGINT, "
    "saved_at TIMESTAMPTZ, base VARCHAR, base_commits BIGINT, base_lines BIGINT, "
    "depth INTEGER)",
    "CREATE TABLE IF NOT EXISTS h_commits (key VARCHAR, ci INTEGER, sha VARCHAR, "
    "time BIGINT, added INTEGER, moved INTEGER)",
    # born and died of every line id, in id order (rows are read back in the order they
    # were inserted: DuckDB's preserve_insertion_order, on by default), _CHUNK per chunk.
    # Rows, not blobs: a checkpoint rewrites a row group's blobs in full, so appending an
    # 8 MiB blob to 20 others cost 300 MiB of memory on git/git
    "CREATE TABLE IF NOT EXISTS h_lines (key VARCHAR, chunk INTEGER, born INTEGER, died BIGINT)",
    # of a history stored as an extension of its base: the lines of the base whose death
    # the new commits set (or made earlier)
    "CREATE TABLE IF NOT EXISTS h_deaths (key VARCHAR, id BIGINT, died BIGINT)",
    # the line states of the tip and of the kept recent commits: each distinct file state
    # once (h_lists: its line ids and line hashes, one row per line in order); the tip's
    # files, and where a kept commit's differ (-1: absent) or, with a NULL path, that it is
    # kept (h_states). No state holds a list of no lines: an emptied file leaves it
    "CREATE TABLE IF NOT EXISTS h_lists (key VARCHAR, list_id INTEGER, id BIGINT, text UINTEGER)",
    # (an extension's rows may name a list of a history it extends: list_key, else NULL)
    "CREATE TABLE IF NOT EXISTS h_states (key VARCHAR, sha VARCHAR, path VARCHAR, "
    "list_id INTEGER, list_key VARCHAR)",
    "CREATE TABLE IF NOT EXISTS h_origins (key VARCHAR, kind VARCHAR, ci INTEGER, "
    "origin INTEGER, n INTEGER, path VARCHAR)",
    "CREATE TABLE IF NOT EXISTS h_reverts (key VARCHAR, kind VARCHAR, pos INTEGER, "
    "revert INTEGER, reverted INTEGER, fraction DOUBLE)",
    "CREATE TABLE IF NOT EXISTS h_inverse (key VARCHAR, a BIGINT, b BIGINT, pos INTEGER, "
    "ci INTEGER)",
    "CREATE TABLE IF NOT EXISTS h_removed (key VARCHAR, ci INTEGER, path VARCHAR, "
    "line BIGINT, n INTEGER)",
    # one row per complete outcomes table, written last in its transaction
    "CREATE TABLE IF NOT EXISTS outcome_keys (key VARCHAR PRIMARY KEY, tip VARCHAR, "
    "report VARCHAR, coverage BLOB, saved_at TIMESTAMPTZ)",
    "CREATE TABLE IF NOT EXISTS outcome_rows (key VARCHAR, row_index BIGINT, data BLOB)",
)
_HISTORY_TABLES = (
    "h_commits h_lines h_deaths h_lists h_states h_origins h_reverts h_inverse h_removed histories"
)


def _prepare(con: duckdb.DuckDBPyConnection) -> None:
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "meta" in tables:
        found = con.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if found is None or found[0] != FORMAT:  # derived data of another layout: refill
            for table in tables:
                con.execute(f"DROP TABLE {table}")
    for ddl in _DDL:
        con.execute(ddl)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", [FORMAT])
    con.execute("SELECT count(*) FROM histories").fetchall()  # readable, or quarantined


def _open(path: Path) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    return opened(path, "outcome store", _prepare)


def _line_chunks(h: LineHistory, since: int = 0) -> Iterator[pa.Table]:
    """*h*'s born and died of the line ids from *since* on as ``h_lines`` rows,
    :data:`_CHUNK` at a time (NumPy views of the arrays: nothing is copied before DuckDB
    reads it)."""
    born, died = _view(h.born)[since:], _view(h.died)[since:]
    for chunk, start in enumerate(range(0, len(born), _CHUNK)):
        end = start + _CHUNK
        yield pa.table(
            {
                "chunk": pa.array(np.full(min(_CHUNK, len(born) - start), chunk, np.int32)),
                "born": pa.array(born[start:end], pa.int32()),
                "died": pa.array(died[start:end], pa.int64()),
            }
        )


def _view(values: array) -> np.ndarray:
    """*values* as a NumPy array sharing their memory."""
    return np.frombuffer(values, values.typecode)


def _tuples(table: pa.Table) -> Iterator[tuple]:
    """The rows of *table* as tuples."""
    return zip(*(table[c].to_pylist() for c in table.column_names), strict=True)


def _origin_frame(kind: str, table: OriginTable, since: int = 0) -> pa.Table:
    """The ``h_origins`` rows of *table* (of *kind*) of the commits from index *since* on,
    made from its arrays."""
    ci, origin, n, path, paths = table.arrays()
    if since:
        new = ci >= since
        ci, origin, n, path = ci[new], origin[new], n[new], path[new]
    names = pa.DictionaryArray.from_arrays(
        pa.array(path, mask=path < 0), pa.array(paths, pa.string())
    )
    return pa.table(
        {
            "kind": pa.array(np.full(len(ci), kind, dtype=object), pa.string()),
            "ci": pa.array(ci, pa.int32()),
            "origin": pa.array(origin, pa.int32()),
            "n": pa.array(n, pa.int32()),
            "path": names.cast(pa.string()),
        }
    )


def _origin_table(rows: pa.Table, kind: str) -> OriginTable:
    """The :class:`OriginTable` of *kind* from ``h_origins`` *rows* (written commit by commit;
    a stable sort by commit puts each commit's rows together in their order either way)."""
    rows = rows.filter(pc.equal(rows["kind"], kind)).sort_by("ci")
    names = pc.dictionary_encode(rows["path"]).combine_chunks()
    path = pc.fill_null(names.indices, -1).to_numpy()
    paths = [sys.intern(p) for p in names.dictionary.to_pylist()]
    column = rows.column
    return OriginTable.from_arrays(
        column("ci").to_numpy(), column("origin").to_numpy(), column("n").to_numpy(), path, paths
    )


def _ints(kind: str, data: np.ndarray) -> array:
    """An array of *kind* holding a copy of *data*'s items (of the same width)."""
    values = array(kind)
    values.frombytes(data.view(np.uint8).data)
    return values


# -- line histories ------------------------------------------------------------------------


@dataclasses.dataclass
class Base:
    """The stored history a replay extended: its key, its commits and lines, its tip's
    files (the dicts, copied when read: their lists are never changed in place, so a file
    the new commits left alone holds the very same list), how many extensions it is
    stored as (0: in full), and where each line list read from the store is stored (with
    the list itself, so that no other list takes its id()): a kept state that still holds
    it names it there instead of storing it again."""

    key: str
    commits: int
    lines: int
    tip_state: dict[str, array]
    tip_text: dict[str, array]
    depth: int
    lists: dict[int, tuple[str, int, array]]  # id() of a list read -> where it is stored


def save_history(path: Path, h: LineHistory, options: str, base: Base | None = None) -> None:
    """Store *h* (replayed to ``h.tip``) under *options*; keep the newest few.

    With *base* (the stored history *h* extended, whose new commits' deletions *h* recorded),
    only what the new commits changed is stored: their ``h_commits``, ``h_origins``,
    ``h_reverts`` and ``h_inverse`` rows, the new lines, the base lines whose death changed
    (``h_deaths``), and the tip's files that differ from the base tip's. The window-bound
    ``h_removed`` and the kept states are stored whole, but a line list read from the store
    that a state still holds is named where it is stored (on git/git, the kept states'
    lists are 6.3M rows, nearly all unchanged by 96 new commits). A read follows the chain of bases
    (:func:`load_history`); after :data:`MAX_DEPTH` extensions in a row, one is stored in full.

    Each table is made just before it is written, in its own transaction; a connection is
    closed once it has written :data:`_CHUNK` rows: DuckDB keeps the blocks a connection
    wrote cached until it closes, and one transaction for everything held all of it at once
    (git/git: 0.64 GiB at the peak), while a connection per table cost a small history
    most of its save (opening checks the file; closing writes a checkpoint). The histories
    row, written last, marks the rows of the key complete: a save killed before it leaves
    rows no reader looks at, and the next save removes them.
    """
    if base is not None and (base.depth >= MAX_DEPTH or h._deletions is None):
        base = None
    with _Reopening(path) as held:
        _save_history(held, h, f"{h.tip}/{options}", options, base)


class _Reopening:
    """One connection to the store for consecutive writes, opened when first needed and
    closed after :data:`_CHUNK` rows (the next write opens a new one)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._opened: AbstractContextManager[duckdb.DuckDBPyConnection] | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._rows = 0

    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._opened = _open(self.path)
            self._con, self._rows = self._opened.__enter__(), 0
        return self._con

    def wrote(self, rows: int) -> None:
        self._rows += rows
        if self._rows >= _CHUNK:
            self.close()

    def close(self) -> None:
        if self._opened is not None:
            opened, self._opened, self._con = self._opened, None, None
            opened.__exit__(None, None, None)

    def __enter__(self) -> _Reopening:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _save_history(
    held: _Reopening, h: LineHistory, key: str, options: str, base: Base | None
) -> None:
    def write(table: str, frame: pa.Table) -> None:
        con = held.connection()
        with transaction(con):
            con.register("frame", frame)
            names = ", ".join(frame.column_names)
            con.execute(f"INSERT INTO {table} (key, {names}) SELECT ?, {names} FROM frame", [key])
            con.unregister("frame")
        held.wrote(len(frame))

    con = held.connection()
    with transaction(con):
        _forget(con, [key, *_unfinished(con), *_dependents(con, key)])
    since, since_line = (base.commits, base.lines) if base else (0, 0)
    write(
        "h_commits",
        pa.table(
            {
                "ci": pa.array(range(since, len(h.commits)), pa.int32()),
                "sha": h.commits[since:],
                "time": pa.array(h.time[since:], pa.int64()),
                "added": pa.array(h.added[since:], pa.int32()),
                "moved": pa.array(h.moved[since:], pa.int32()),
            }
        ),
    )
    lists, states = _states(h, base)
    write("h_states", states)
    for frame in _list_batches(lists):
        write("h_lists", frame)
    for kind, table in (("deleted", h.deleted), ("context", h.context)):
        frame = _origin_frame(kind, table, since)
        for start in range(0, len(frame), _ROWS_PER_TRANSACTION):
            write("h_origins", frame.slice(start, _ROWS_PER_TRANSACTION))
    reverts = [("content", i, r, c, 1.0) for i, (r, c) in enumerate(h.content_reverts)]
    reverts += [("partial", i, *rcf) for i, rcf in enumerate(h.partial_reverts)]
    reverts = [row for row in reverts if row[2] >= since]  # a revert is of a new commit
    write("h_reverts", _rows(reverts, ("kind", "pos", "revert", "reverted", "fraction")))
    inverse = [
        (a, b, i, ci)
        for (a, b), cis in h._inverse.items()
        for i, ci in enumerate(cis)
        if ci >= since
    ]
    write("h_inverse", _rows(inverse, ("a", "b", "pos", "ci")))
    if base is not None:
        write("h_deaths", _deaths(h, base.lines))
    removed = [
        (ci, p, line, n)
        for ci, by in h._recent_removed.items()
        for p, lines in by.items()
        for line, n in Counter(lines).items()
    ]
    write("h_removed", _rows(removed, ("ci", "path", "line", "n")))
    for frame in _line_chunks(h, since_line):
        write("h_lines", frame)
    con = held.connection()
    with transaction(con):
        con.execute(
            "INSERT INTO histories VALUES (?, ?, ?, ?, ?, ?, now(), ?, ?, ?, ?)",
            [key, h.tip, options, len(h.commits), len(h.born), h.revert_window]
            + ([base.key, since, since_line, base.depth + 1] if base else [None, 0, 0, 0]),
        )
        _forget(con, _unneeded(con))


def _deaths(h: LineHistory, lines: int) -> pa.Table:
    """``h_deaths`` rows: the lines below id *lines* (the base's) that the new commits
    deleted (``h._deletions``), with their death now."""
    deleted = [_view(ids) for ids in h._deletions or () if ids]
    ids = np.unique(np.concatenate(deleted)) if deleted else np.zeros(0, np.int64)
    ids = ids[ids < lines]
    return pa.table({"id": pa.array(ids, pa.int64()), "died": pa.array(_view(h.died)[ids])})


def _bases(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """Each stored history's key -> the key of the history it extends (None: in full)."""
    return dict(con.execute("SELECT key, base FROM histories").fetchall())


def _chain_of(key: str | None, bases: dict[str, str | None]) -> list[str]:
    """*key* and the keys it extends, newest first (as far as they are stored)."""
    chain: list[str] = []
    while key is not None and key in bases and key not in chain:
        chain.append(key)
        key = bases[key]
    return chain


def _dependents(con: duckdb.DuckDBPyConnection, key: str) -> list[str]:
    """The stored histories that extend *key*, directly or not (stored again, *key* gets
    new line ids, which theirs would not match)."""
    bases = _bases(con)
    return [k for k in bases if k != key and key in _chain_of(k, bases)]


def _unneeded(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Histories beyond the newest :data:`_KEEP` that none of those extends."""
    query = "SELECT key FROM histories ORDER BY saved_at DESC LIMIT ?"
    newest = [k for (k,) in con.execute(query, [_KEEP]).fetchall()]
    bases = _bases(con)
    needed = {k for key in newest for k in _chain_of(key, bases)}
    return [k for k in bases if k not in needed]


def _unfinished(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Keys of line-history rows whose save never reached its histories row."""
    found = con.execute(
        "SELECT DISTINCT key FROM h_commits WHERE key NOT IN (SELECT key FROM histories) "
        "UNION SELECT DISTINCT key FROM h_lines WHERE key NOT IN (SELECT key FROM histories)"
    )
    return [k for (k,) in found.fetchall()]


def _states(h: LineHistory, base: Base | None) -> tuple[list[tuple[array, array]], pa.Table]:
    """The line lists of *h*'s tip and kept states (``h_lists`` rows, by list_id: their
    index here) and the ``h_states`` rows that name them. With *base*, the tip's rows are
    only its files that differ from the base tip's (-1: absent at the tip)."""
    ids_of: dict[int, tuple[int, str | None]] = {}  # id() of an ids list -> list_id, key
    lists: list[tuple[array, array]] = []
    stored = base.lists if base else {}

    def list_id(ids: array | None, text: array | None) -> tuple[int, str | None]:
        if ids is None or text is None:  # absent there (both are, or neither)
            return -1, None
        if id(ids) in stored:
            key, at, _ = stored[id(ids)]
            return at, key
        if id(ids) not in ids_of:
            ids_of[id(ids)] = len(lists), None
            lists.append((ids, text))
        return ids_of[id(ids)]

    tip = h.tip_state
    rows: list[tuple[str | None, str | None, int, str | None]] = []
    if base is None:
        rows += [(h.tip, path, *list_id(ids, h.tip_text[path])) for path, ids in tip.items()]
    else:
        changed = state_changes(tip, base.tip_state).keys()
        for path in sorted(changed | state_changes(h.tip_text, base.tip_text).keys()):
            rows.append((h.tip, path, *list_id(tip.get(path), h.tip_text.get(path))))
    for sha, (state, text) in h.kept.items():  # only where each differs from the tip's
        rows.append((sha, None, -2, None))
        for path in sorted(state):
            rows.append((sha, path, *list_id(state[path], text[path])))
    return lists, _rows(rows, ("sha", "path", "list_id", "list_key"))


def _list_batches(lists: list[tuple[array, array]]) -> Iterator[pa.Table]:
    """``h_lists`` rows of *lists* (``(ids, texts)`` by list_id), whole lists of about
    :data:`_CHUNK` lines in all per table: a few lists are copied at a time."""
    start = 0
    while start < len(lists):
        end, size = start, 0
        while end < len(lists) and (end == start or size < _CHUNK):
            size += len(lists[end][0])
            end += 1
        batch = range(start, end)
        yield pa.table(
            {
                "list_id": pa.array(
                    np.repeat(
                        np.arange(start, end, dtype=np.int32), [len(lists[i][0]) for i in batch]
                    )
                ),
                "id": pa.array(np.concatenate([_view(lists[i][0]) for i in batch]), pa.int64()),
                "text": pa.array(np.concatenate([_view(lists[i][1]) for i in batch]), pa.uint32()),
            }
        )
        start = end


def _load_states(
    h: LineHistory,
    key: str,
    lists: pa.Table,
    states: pa.Table,
    known: dict[tuple[str, int], tuple[array, array]],
) -> None:
    """Fill *h*'s tip and kept states from the ``h_lists`` and ``h_states`` rows of *key*
    (of an extension: the tip's files that changed since its base's tip, read before).
    *known* holds the lists read so far, by (key, list_id); this key's are added to it."""
    if lists.num_rows:
        list_ids = lists["list_id"].to_numpy()
        ids, texts = (lists[c].to_numpy() for c in ("id", "text"))
        starts = [0, *(np.flatnonzero(list_ids[1:] != list_ids[:-1]) + 1).tolist()]
        for start, end in zip(starts, [*starts[1:], len(list_ids)], strict=True):
            known[key, int(list_ids[start])] = (
                _ints("q", ids[start:end]), _ints("I", texts[start:end])
            )  # fmt: skip
    h.kept = {}  # a history's kept states are its own
    for sha, path, i, where in _tuples(states):
        if sha == h.tip:
            if i == -1:  # of an extension: a file gone since its base's tip
                del h.tip_state[path], h.tip_text[path]
            else:
                h.tip_state[path], h.tip_text[path] = known[where or key, i]
            continue
        state, text = h.kept.setdefault(sha, ({}, {}))
        if i == -1:  # absent at the kept commit
            state[path] = text[path] = None
        elif i >= 0:
            state[path], text[path] = known[where or key, i]


_TYPES = {
    **dict.fromkeys(["kind", "path", "sha", "list_key"], pa.string()),
    **dict.fromkeys(["ids", "texts"], pa.binary()),
    "fraction": pa.float64(),
}


def _rows(rows: list[tuple], names: tuple[str, ...]) -> pa.Table:
    """*rows* as an Arrow table with columns *names* (integers unless :data:`_TYPES` says)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table(
        {
            n: pa.array(list(col), _TYPES.get(n, pa.int64()))
            for n, col in zip(names, columns, strict=True)
        }
    )


def _forget(con: duckdb.DuckDBPyConnection, keys: list[str]) -> None:
    for key in keys:
        for table in _HISTORY_TABLES.split():
            con.execute(f"DELETE FROM {table} WHERE key = ?", [key])


def stored_tips(path: Path, options: str) -> list[str]:
    """Tips with a stored line history under *options*, newest first."""
    if not path.exists():
        return []
    with _open(path) as con:
        rows = con.execute(
            "SELECT tip FROM histories WHERE options = ? ORDER BY saved_at DESC", [options]
        ).fetchall()
    return [tip for (tip,) in rows]


def load_history(path: Path, tip: str, options: str) -> LineHistory | None:
    """The stored line history of *tip* under *options*, or None."""
    found = _load(path, tip, options)
    return None if found is None else found.history


class _Link(NamedTuple):
    key: str
    tip: str
    lines: int  # the history's lines in all
    base_lines: int  # of those, its base's (0: stored in full)


class _Loaded(NamedTuple):
    history: LineHistory
    depth: int  # extensions it is stored as
    lists: dict[int, tuple[str, int, array]]  # as Base.lists


def _load(path: Path, tip: str, options: str) -> _Loaded | None:
    """The stored line history of *tip* under *options* (the chain of extensions read,
    base first), or None (none stored, or one that is short)."""
    if not path.exists():
        return None
    with _open(path) as con:
        rows = con.execute(
            "SELECT key, tip, n_lines, base_lines, revert_window, base FROM histories"
        ).fetchall()
        found = {row[0]: row for row in rows}
        bases = {key: row[5] for key, row in found.items()}
        chain = _chain_of(f"{tip}/{options}", bases)
        if not chain or bases[chain[-1]] is not None:  # none, or its full base is gone
            return None
        links = [_Link(*found[key][:4]) for key in reversed(chain)]
        h = LineHistory(revert_window=found[chain[0]][4])
        parts = []
        for link in links:
            parts.append(_read_link(con, h, link))
            if len(h.born) != link.lines:  # never trusted short: replayed again instead
                warnings.warn(
                    f"{path}: the stored line history of {link.tip[:12]} holds "
                    f"{len(h.born)} of its {link.lines} lines; it is replayed again",
                    CacheRebuiltWarning,
                    stacklevel=3,
                )
                return None
        removed = con.sql(
            "SELECT ci, path, line, n FROM h_removed WHERE key = ? ORDER BY ci", params=[chain[0]]
        ).to_arrow_table()
    known: dict[tuple[str, int], tuple[array, array]] = {}
    for link, (commits, lists, states, _, reverts, inverse) in zip(links, parts, strict=True):
        h.commits += commits["sha"].to_pylist()
        h.time += commits["time"].to_pylist()
        h.added += commits["added"].to_pylist()
        h.moved += commits["moved"].to_pylist()
        h.tip = link.tip
        _load_states(h, link.key, lists, states, known)
        for kind, r, c, fraction in _tuples(reverts):
            if kind == "content":
                h.content_reverts.append((r, c))
            else:
                h.partial_reverts.append((r, c, fraction))
        for a, b, ci in _tuples(inverse):
            h._inverse.setdefault((a, b), []).append(ci)
    h.alive_at_tip = alive_counts(h.born, h.tip_state)
    origins = pa.concat_tables(part[3] for part in parts)
    h.deleted, h.context = (_origin_table(origins, kind) for kind in ("deleted", "context"))
    for ci, p, line, n in _tuples(removed):
        h._recent_removed.setdefault(ci, {}).setdefault(p, array("I")).extend(repeat(line, n))
    stored = {id(ids): (key, at, ids) for (key, at), (ids, _) in known.items()}
    return _Loaded(h, len(chain) - 1, stored)


def _read_link(con: duckdb.DuckDBPyConnection, h: LineHistory, link: _Link) -> tuple[pa.Table, ...]:
    """Read the rows stored under *link*: its lines (appended to *h*'s born and died, and
    the deaths it changed in its base's lines set there) and its other tables, returned."""

    def read(sql: str) -> pa.Table:
        return con.sql(sql, params=[link.key]).to_arrow_table()

    for chunk in range(-(-(link.lines - link.base_lines) // _CHUNK)):  # 16 MiB more, not all
        got = con.sql(
            "SELECT born, died FROM h_lines WHERE key = ? AND chunk = ?", params=[link.key, chunk]
        ).to_arrow_table()
        for values, stored in ((h.born, got["born"]), (h.died, got["died"])):
            wide = stored.to_numpy().astype(values.typecode, copy=False)
            values.frombytes(wide.view(np.uint8).data)
    if link.base_lines:
        deaths = read("SELECT id, died FROM h_deaths WHERE key = ?")
        _view(h.died)[deaths["id"].to_numpy()] = deaths["died"].to_numpy()
    return (
        read("SELECT sha, time, added, moved FROM h_commits WHERE key = ? ORDER BY ci"),
        read("SELECT list_id, id, text FROM h_lists WHERE key = ?"),
        read("SELECT sha, path, list_id, list_key FROM h_states WHERE key = ?"),
        read("SELECT kind, ci, origin, n, path FROM h_origins WHERE key = ?"),
        read("SELECT kind, revert, reverted, fraction FROM h_reverts WHERE key = ? ORDER BY pos"),
        read("SELECT a, b, ci FROM h_inverse WHERE key = ? ORDER BY a, b, pos"),
    )


class Histories:
    """The line histories of one repository: each (tip, revert window) replayed once, stored
    in the outcome store, and extended from a stored ancestor tip when that is possible.

    Files some of whose blobs are absent are left out of the replay (warned about once) and
    counted in the report of every call.
    """

    def __init__(self, git_dir: str, name: str, path: Path) -> None:
        self.git_dir, self.name, self.path = git_dir, name, path
        self._made: dict[tuple[str, int, str], LineHistory] = {}

    def get(
        self,
        tip: str,
        revert_window: int,
        files: pd.DataFrame,
        mined_parents: Callable[[], pa.ChunkedArray],
        progress: bool | None,
        report: MiningReport,
    ) -> LineHistory:
        """The history of *tip*; *files* is its ``file_changes`` table and
        ``mined_parents()`` reads the parents of its commits from the mined store (only
        for a full replay: each commit's children are counted from them, while git starts
        the stream)."""
        skip = unfollowed(files)
        # counted from the table, so a run that reads the cache says it too
        report.missing_object_files = max(report.missing_object_files, skip.missing_files)
        report.missing_object_commits = max(report.missing_object_commits, skip.missing_commits)
        report.unfollowed_files, report.unfollowed_commits = len(skip.paths), skip.commits
        options = _options(revert_window, skip.paths)
        key = (tip, revert_window, options)
        if key in self._made:
            report.line_history = report.line_history or "kept in memory"
            return self._made[key]
        history = load_history(self.path, tip, options)
        if history is not None:
            report.line_history = "read from the outcome store"
        else:
            if skip.paths:
                warnings.warn(
                    f"{self.name}: {len(skip.paths)} file(s) with absent blobs are not "
                    f"followed by the line history ({skip.commits} commit(s) touch them): "
                    "churn, content reverts and SZZ leave their lines out",
                    MissingObjectsWarning,
                    stacklevel=4,  # the caller of Repo.lines
                )
            history, base = self._replay(
                tip, revert_window, options, skip.paths, mined_parents, progress, report
            )
            save_history(self.path, history, options, base)
            history._deletions = None  # only the save reads them
        self._made[key] = history
        return history

    def outcomes(
        self,
        tip: str | None,
        options: tuple,
        report: MiningReport,
        compute: Callable[[], pd.DataFrame],
    ) -> pd.DataFrame:
        """The outcomes table of *tip*: stored under *tip*, *options* (mining options and
        detector) and the git-ai notes refs, or ``compute()``-d and stored."""
        if tip is None:  # an empty repository
            return compute()
        key = outcome_key(tip, *options, notes_state(self.git_dir))
        return cached_outcomes(self.path, key, report, compute)

    def szz_blamer(
        self,
        tip: str | None,
        commits: pd.DataFrame,
        files: pd.DataFrame,
        fixes: list[str] | None,
        workers: int | None,
        lines: Callable[[], LineHistory],
        report: MiningReport,
    ) -> Callable[..., tuple[pd.DataFrame, list[str]]]:
        """How SZZ links *fixes* (None: every fix) at *tip*: by the line history (*lines*)
        when one is in memory or stored, or when the fixes are many; by per-fix blame when
        at most ``max(10, commits / 200)`` fixes would otherwise need a replay. The choice
        and its reason go to ``report.szz_method``. *files* is the ``file_changes`` table."""
        window, skip = window_seconds("30D"), unfollowed(files).paths  # as lines() replays
        options, n = _options(window, skip), len(commits)
        if fixes is None or tip is None:
            how, why = "line history", "every fix"
        elif (tip, window, options) in self._made:
            how, why = "line history", "kept in memory"
        elif tip in stored_tips(self.path, options):
            how, why = "line history", "stored"
        elif len(fixes) <= max(10, n // 200):
            how, why = "blame", f"{len(fixes)} fix(es) cost less to blame than {n} to replay"
        else:
            how, why = "line history", f"{len(fixes)} fixes cost more to blame than a replay"
        report.szz_method = f"{how} ({why})"
        if how == "blame":
            return partial(
                szz_by_blame, self.git_dir, commits=commits, exclude=skip, workers=workers
            )
        return partial(szz, lines())

    def _replay(
        self, tip, revert_window, options, exclude, mined_parents, progress, report
    ) -> tuple[LineHistory, Base | None]:
        """Extend the newest stored ancestor's history by the new commits, from its tip's
        line state (a new commit that branches from an older commit *F* finds there the
        state of every file no commit changed between *F* and the tip); else replay the
        whole history. The report says which, and why; the stored history extended is
        returned beside it (None: a full replay)."""
        why = "no line history of an ancestor is stored"
        for base in stored_tips(self.path, options):
            if not has_commit(self.git_dir, base):  # the history was rewritten since
                continue
            parents = range_parents(self.git_dir, f"{base}..{tip}")
            children = Counter(q for ps in parents.values() for q in ps)
            if base not in children:  # not an ancestor of tip (or tip itself)
                continue
            loaded = _load(self.path, base, options)
            if loaded is None:
                continue
            history = loaded.history
            start = Base(
                f"{base}/{options}", len(history.commits), len(history.born),
                dict(history.tip_state), dict(history.tip_text), loaded.depth, loaded.lists,
            )  # fmt: skip
            history._deletions = []
            outside = {q for q in children if q not in parents} - {base}
            forks = {
                f: changed_paths(self.git_dir, f"{f}..{base}")
                for f in sorted(outside - history.kept.keys())
            }
            patches = stream_patches(self.git_dir, f"{base}..{tip}", exclude)
            keep = self._keep(tip)
            try:
                history = _run(history, patches, children, len(parents), progress, forks, keep)
            except UnknownState as exc:
                why = f"the commits after the stored tip {base[:12]} need older line states: {exc}"
                break
            branched = f", {len(outside)} of them branching from older commits" if outside else ""
            report.line_history = f"extended from {base[:12]} by {len(parents)} commit(s){branched}"
            return history, start
        patches = stream_patches(self.git_dir, tip, exclude)  # git starts now
        children, total = child_counts(mined_parents())
        report.line_history = f"replayed all {total} commit(s) ({why})"
        history = LineHistory(revert_window=revert_window)
        return _run(history, patches, children, total, progress, None, self._keep(tip)), None

    def _keep(self, tip: str) -> list[str]:
        """The commits whose line states a replay to *tip* keeps for the next one to branch
        from: recent ones (:func:`recent_commits`) and those that other branches
        fork from (:func:`pending_forks`, which will come in when merged)."""
        recent = recent_commits(self.git_dir, tip, KEPT_STATES)
        return list(dict.fromkeys([*recent, *pending_forks(self.git_dir, tip, PENDING_FORKS)]))


def _run(history, patches, children, total, progress, forks, keep) -> LineHistory:
    show = progress if progress is not None else total > PROGRESS_MIN
    with tqdm(total=total, unit="commit", desc="replaying history", disable=not show) as bar:
        return history.replay(patches, children, bar.update if show else None, forks, keep)


def child_counts(parents: pa.ChunkedArray) -> tuple[Counter, int]:
    """How many children each commit has among the commits whose *parents* (the mined
    ``commits`` table's column: lists of shas) are given, and how many commits there are:
    what ``git rev-list --parents`` tells (:func:`aiimpact.git.patches.child_counts`),
    counted with Arrow from the store instead of by a git process the replay waits for."""
    counted = pc.value_counts(pc.list_flatten(parents))
    shas, counts = counted.field("values").to_pylist(), counted.field("counts").to_pylist()
    return Counter(dict(zip(shas, counts, strict=True))), len(parents)


def _options(revert_window: int, exclude: Collection[str]) -> str:
    """The key part of a line history's options: its revert window and the files left out."""
    left_out = hashlib.sha256("\0".join(sorted(exclude)).encode("utf-8", "surrogateescape"))
    return f"w{revert_window}-x{left_out.hexdigest()[:16]}"


# -- outcome tables --------------------------------------------------------------------------


def outcome_key(tip: str, *parts: object) -> str:
    """The key of an outcomes table: its tip, *parts* (options that change it), the table's
    schema and this version of aiimpact."""
    version = importlib.metadata.version("aiimpact")
    fields = [FORMAT, version, schema.OUTCOMES.to_string(), *map(str, parts)]
    digest = hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:24]
    return f"{tip}/{digest}"


def cached_outcomes(
    path: Path, key: str, report: MiningReport, compute: Callable[[], pd.DataFrame]
) -> pd.DataFrame:
    """The outcomes table stored under *key* (and its run's report into *report*); else
    ``compute()``, stored, with the report it filled."""
    found = _load_outcomes(path, key, report) if path.exists() else None
    if found is not None:
        return found
    df = compute()
    _save_outcomes(path, key, df, report)
    return df


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")  # a quarter of the bytes to read
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


def _save_outcomes(path: Path, key: str, df: pd.DataFrame, report: MiningReport) -> None:
    fields = {
        f.name: getattr(report, f.name) for f in dataclasses.fields(report) if f.name != "coverage"
    }
    coverage = None if report.coverage is None else _ipc(pa.Table.from_pandas(report.coverage))
    table = schema.to_arrow(df, schema.OUTCOMES)
    with _open(path) as con, transaction(con):
        for name in ("outcome_rows", "outcome_keys"):
            con.execute(f"DELETE FROM {name} WHERE key = ?", [key])
        for i, start in enumerate(range(0, max(len(table), 1), _ROWS_PER_BLOB)):
            data = _ipc(table.slice(start, _ROWS_PER_BLOB))  # DuckDB reads big blobs slowly
            con.execute("INSERT INTO outcome_rows VALUES (?, ?, ?)", [key, i, data])
        con.execute(
            "INSERT INTO outcome_keys VALUES (?, ?, ?, ?, now())",
            [key, key.split("/")[0], json.dumps(fields), coverage],
        )
        old = con.execute(
            "SELECT key FROM outcome_keys ORDER BY saved_at DESC OFFSET ?", [_KEEP]
        ).fetchall()
        for (k,) in old:
            for table in ("outcome_rows", "outcome_keys"):
                con.execute(f"DELETE FROM {table} WHERE key = ?", [k])


def _load_outcomes(path: Path, key: str, report: MiningReport) -> pd.DataFrame | None:
    with _open(path) as con:
        row = con.execute(
            "SELECT report, coverage FROM outcome_keys WHERE key = ?", [key]
        ).fetchone()
        if row is None:
            return None
        data = con.execute(
            "SELECT data FROM outcome_rows WHERE key = ? ORDER BY row_index", [key]
        ).fetchall()
    for name, value in json.loads(row[0]).items():
        setattr(report, name, value)
    report.coverage = None if row[1] is None else _from_ipc(row[1]).to_pandas()
    report.line_history = "outcomes table read from the outcome store"
    table = pa.concat_tables([_from_ipc(blob) for (blob,) in data])
    return schema.to_pandas(table, schema.OUTCOMES)
