"""The per-repository cache: one DuckDB file per (repository, mining options).

Layout: ``<cache_dir>/<repo-key>/mine-renames<0|1>.duckdb`` where ``<repo-key>`` is a
readable name plus a hash of the repository's identity (its resolved git directory, or the
URL it was cloned from). The cache dir is the ``cache_dir=`` argument, else
``$AIIMPACT_CACHE_DIR``, else the platformdirs user cache dir.

Durability: every batch of mined commits is written in one transaction together with its
file changes, so an interrupted run (Ctrl-C, crash, ``kill -9``) keeps every batch it
committed and the next run mines only what is missing. A tip (resolved revision) is recorded
as complete, with its reachable commits, only after all of them are stored.

Trust: the file carries its schema version and the repository identity; a file that DuckDB
cannot open, whose schema or identity differs, or whose counts disagree is moved aside to
``*.corrupt-<time>`` and rebuilt, with a :class:`~aiimpact.errors.CacheRebuiltWarning`.
"""

from __future__ import annotations

import functools
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import pandas as pd
import platformdirs
import pyarrow as pa

from aiimpact import schema
from aiimpact.detect.detector import IDENTITY_FIELDS
from aiimpact.errors import CacheLockedError, CacheRebuiltWarning
from aiimpact.files import writable_dir

SCHEMA_VERSION = "4"

_SCHEMAS = {"commits": schema.STORED_COMMITS, "file_changes": schema.STORED_FILE_CHANGES}
_OTHER_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE TABLE IF NOT EXISTS tips (tip VARCHAR PRIMARY KEY, n_commits BIGINT, "
    "recorded_at TIMESTAMPTZ)",
    "CREATE TABLE IF NOT EXISTS tip_members (tip VARCHAR, sha VARCHAR)",
    "CREATE TABLE IF NOT EXISTS note_cache (blob VARCHAR PRIMARY KEY, ai_lines INTEGER, "
    "human_lines INTEGER, tools VARCHAR[], schema VARCHAR)",
)
_KEEP_TIPS = 16
_TABLES = {*_SCHEMAS, "meta", "tips", "tip_members", "note_cache"}


def default_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache root: *cache_dir*, else ``$AIIMPACT_CACHE_DIR``, else the user cache dir.

    A root that cannot be created or written is an :class:`~aiimpact.errors.InputError` now,
    not after the mining.
    """
    if cache_dir is not None:
        return writable_dir(cache_dir, "cache dir")
    env = os.environ.get("AIIMPACT_CACHE_DIR")
    if env:
        return writable_dir(env, "cache dir ($AIIMPACT_CACHE_DIR)")
    return writable_dir(platformdirs.user_cache_dir("aiimpact"), "user cache dir")


def connect(path: Path, what: str) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file *path*, waiting (``$AIIMPACT_LOCK_TIMEOUT`` s, default 30) while
    another process holds it; *what* names it in the error."""
    deadline = time.monotonic() + float(os.environ.get("AIIMPACT_LOCK_TIMEOUT", "30"))
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).replace(str(path), "").lower():  # not a "lock" in the path
                raise
            if time.monotonic() > deadline:
                raise CacheLockedError(
                    f"{what} {path} is in use by another process (DuckDB lock); "
                    "wait for it to finish or use another cache_dir"
                ) from None
            time.sleep(0.2)


def quarantine(path: Path, what: str, problem: str) -> None:
    """Move an untrusted DuckDB file (and its WAL) aside to ``*.corrupt-<time>``, warning."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for suffix in ("", ".wal"):
        p = Path(str(path) + suffix)
        if p.exists():
            p.rename(p.with_name(f"{p.name}.corrupt-{stamp}"))
    warnings.warn(
        f"{what} {path} was not trusted ({problem}); moved aside and rebuilding",
        CacheRebuiltWarning,
        stacklevel=5,
    )


def read_every_block(con: duckdb.DuckDBPyConnection, table: str, key: str, every: str) -> None:
    """Read every stored block of *table* (*every*: an expression of all its columns) and
    look its largest *key* up through the key's index. DuckDB checks a block's checksum
    only when it reads the block (statistics answer ``max`` unread): a damaged block fails
    here, when the file is opened, not in the middle of a run."""
    row = con.execute(f"SELECT max({key}), sum({every}) FROM {table}").fetchone()
    assert row is not None  # an aggregate without GROUP BY has exactly one row
    top = row[0]
    con.execute(f"SELECT count(*) FROM {table} WHERE {key} = ?", [top]).fetchall()


def open_checked(
    path: Path, what: str, prepare: Callable[[duckdb.DuckDBPyConnection], None]
) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file *path* with :func:`connect` and run *prepare* on it (create the
    tables, read what must be readable); when DuckDB cannot open it or *prepare* fails on
    it, the file is moved aside with :func:`quarantine` and a fresh one is prepared.

    Parameters
    ----------
    path : Path
        The DuckDB file (created if absent).
    what : str
        What the file is, for the lock error and the :class:`CacheRebuiltWarning`.
    prepare : callable
        ``prepare(con)``; any :class:`duckdb.Error` it raises marks the file untrusted.

    Returns
    -------
    duckdb.DuckDBPyConnection
        The open connection to the prepared file.
    """
    con = None
    try:
        con = connect(path, what)
        prepare(con)
        return con
    except duckdb.Error as exc:
        if con is not None:
            con.close()
        quarantine(path, what, f"DuckDB cannot use it ({type(exc).__name__}: {exc})")
    con = connect(path, what)
    prepare(con)
    return con


@contextmanager
def opened(
    path: Path, what: str, prepare: Callable[[duckdb.DuckDBPyConnection], None]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """:func:`open_checked` for one block (its directory made first), closed at the end: a
    cache opened for one read or write, so other processes can use it between calls. A
    file this process prepared and closed, unchanged since (:func:`_left_unchanged`), is
    not prepared again: the outcome store is opened several times in one ``outcomes()``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = (str(path), what, "prepared")
    unchanged = _left_unchanged(key, path)
    con = connect(path, what) if unchanged else open_checked(path, what, prepare)
    try:
        yield con
    except BaseException:
        con.close()
        _CLOSED.pop(key, None)  # a failed block: the next open prepares (and checks) again
        raise
    con.close()
    _closed(key, path)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One DuckDB transaction: committed at the end of the block, else rolled back.

    The error that ended the block is the one raised: a failed ``COMMIT`` (disk full, say)
    leaves no transaction to roll back, and that second error must not hide the first.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        with suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


class Store:
    """A repository's mined tables in one DuckDB file.

    Parameters
    ----------
    path : Path
        The DuckDB file (created if absent).
    identity : str
        The repository's identity; a file recorded for another identity is not trusted.
    options : str
        The mining options the file holds (e.g. ``"renames=False"``).
    """

    def __init__(self, path: Path, identity: str, options: str) -> None:
        self.path = path
        self.identity = identity
        self.options = options
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con = self._open_checked()

    # -- opening and trust -------------------------------------------------------------
    def _connect(self) -> duckdb.DuckDBPyConnection:
        return connect(self.path, "cache")

    def _open_checked(self) -> duckdb.DuckDBPyConnection:
        con: duckdb.DuckDBPyConnection | None = None
        unchanged = _left_unchanged(self._key, self.path)
        try:
            con = self._connect()
            problem = None if unchanged else self._check(con)
            if problem is None:
                return con
        except CacheLockedError:
            raise
        except duckdb.Error as exc:
            problem = f"DuckDB cannot read it ({type(exc).__name__}: {exc})"
        if con is not None:
            con.close()
        self._quarantine(problem)
        con = self._connect()
        self._create(con)
        return con

    def rebuild(self, problem: str) -> None:
        """Distrust the file: move it aside (with a warning) and start an empty one."""
        self.con.close()
        self._quarantine(problem)
        self.con = self._connect()
        self._create(self.con)

    def _check(self, con: duckdb.DuckDBPyConnection) -> str | None:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if not tables:
            self._create(con)
            return None
        missing = sorted(_TABLES - tables)
        if missing:
            return f"it has no {', '.join(missing)} table"
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        expected = {
            "schema_version": SCHEMA_VERSION,
            "identity": self.identity,
            "options": self.options,
        }
        for key, value in expected.items():
            if meta.get(key) != value:
                return f"its {key} is {meta.get(key)!r}, expected {value!r}"
        schema_columns = _expected_columns()
        for table, cols in _columns(con).items():
            if cols != schema_columns[table]:
                diff = _diff(cols, schema_columns[table])
                return f"its {table} columns differ from this version's schema ({diff})"
        # Every recorded tip must be fully present: members all mined, counts consistent.
        bad = con.execute(
            """
            SELECT t.tip FROM tips t
            LEFT JOIN (SELECT tip, count(*) AS n FROM tip_members GROUP BY tip) m USING (tip)
            WHERE coalesce(m.n, 0) <> t.n_commits
            UNION ALL
            SELECT DISTINCT m.tip FROM tip_members m ANTI JOIN commits c USING (sha)
            LIMIT 1
            """
        ).fetchall()
        if bad:
            return f"tip {bad[0][0]} is recorded as mined but its commits are incomplete"
        # Rows are written once (tip_members repeats show in the counts above): a repeated
        # commit or file row means the file was edited.
        repeated = con.execute(
            """SELECT 'commits' FROM commits GROUP BY sha HAVING count(*) > 1
               UNION ALL SELECT 'file_changes' FROM file_changes GROUP BY sha, path
               HAVING count(*) > 1 LIMIT 1"""
        ).fetchall()
        if repeated:
            return f"its {repeated[0][0]} table holds a repeated row"
        return None

    def _quarantine(self, problem: str) -> None:
        quarantine(self.path, "cache", problem)

    def _create(self, con: duckdb.DuckDBPyConnection) -> None:
        for ddl in (*(schema.ddl(s, t) for t, s in _SCHEMAS.items()), *_OTHER_DDL):
            con.execute(ddl)
        con.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [
                ("schema_version", SCHEMA_VERSION),
                ("identity", self.identity),
                ("options", self.options),
            ],
        )

    @property
    def _key(self) -> tuple[str, str, str]:
        return (str(self.path), self.identity, self.options)

    def close(self) -> None:
        """Close the DuckDB connection (and remember the file as this process left it)."""
        self.con.close()
        _closed(self._key, self.path)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------
    def known_shas(self) -> set[str]:
        """Every commit sha already stored."""
        return {r[0] for r in self.con.execute("SELECT sha FROM commits").fetchall()}

    def write_batch(self, commits: dict[str, list], files: dict[str, list]) -> None:
        """Store one batch of commits and their file changes atomically."""
        ctab = schema.arrow_table(commits, schema.STORED_COMMITS)  # noqa: F841 (used by SQL)
        ftab = schema.arrow_table(files, schema.STORED_FILE_CHANGES)  # noqa: F841
        con = self.con
        with transaction(con):
            con.execute("INSERT INTO commits SELECT * FROM ctab")
            con.execute("INSERT INTO file_changes SELECT * FROM ftab")

    def retag(self, detector) -> int:
        """Make the stored ``ai_*`` columns those of *detector*; return commits re-tagged.

        Tags are computed while mining, with the built-in signatures; when the signatures
        change (a new release, say), the stored tags are recomputed here, without git.
        """
        key = "detector"
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        if row and row[0] == detector.fingerprint:
            return 0
        fields = ", ".join(("sha", *IDENTITY_FIELDS))
        stored = self.con.execute(f"SELECT {fields} FROM commits").fetchall()
        if stored:
            shas, *cols = zip(*stored, strict=True)
            tags = schema.arrow_table(
                {"sha": shas, **detector.columns(*cols)},
                schema.select(schema.STORED_COMMITS, ["sha", *schema.AI_COLUMNS]),
            )
            self.con.register("new_tags", tags)
            sets = ", ".join(f"{c} = t.{c}" for c in schema.AI_COLUMNS)
            self.con.execute(f"UPDATE commits SET {sets} FROM new_tags t WHERE commits.sha = t.sha")
            self.con.unregister("new_tags")
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, detector.fingerprint])
        return len(stored)

    def cached_notes(self) -> dict:
        """git-ai note attributions parsed before, by note blob id."""
        from aiimpact.git.notes import NoteAttribution

        rows = self.con.execute("SELECT * FROM note_cache").fetchall()
        return {b: NoteAttribution(a, h, tuple(t), s) for b, a, h, t, s in rows}

    def save_notes(self, parsed: dict) -> None:
        """Remember parsed note attributions by blob id (a blob id names its content)."""
        if parsed:
            self.con.executemany(
                "INSERT OR REPLACE INTO note_cache VALUES (?, ?, ?, ?, ?)",
                [
                    (b, n.ai_lines, n.human_lines, list(n.tools), n.schema)
                    for b, n in parsed.items()
                ],
            )

    def has_tip(self, tip: str) -> bool:
        """Whether every commit reachable from *tip* is stored."""
        return bool(self.con.execute("SELECT 1 FROM tips WHERE tip = ?", [tip]).fetchall())

    def tips(self) -> list[str]:
        """Complete tips, newest first."""
        rows = self.con.execute("SELECT tip FROM tips ORDER BY recorded_at DESC").fetchall()
        return [r[0] for r in rows]

    def forget_tips(self, gone: list[str], keep: list[str]) -> int:
        """Forget tips that left the repository (history rewritten, repository re-created),
        and the commits that neither a remaining tip nor *keep* (the shas reachable now)
        holds; return how many commits were dropped."""
        con = self.con
        kept = pa.table({"sha": pa.array(keep, pa.string())})  # noqa: F841 (used by SQL)
        with transaction(con):
            con.execute("DELETE FROM tips WHERE list_contains(?, tip)", [gone])
            con.execute("DELETE FROM tip_members WHERE list_contains(?, tip)", [gone])
            orphans = "sha NOT IN (SELECT sha FROM tip_members UNION ALL SELECT sha FROM kept)"
            row = con.execute(f"SELECT count(*) FROM commits WHERE {orphans}").fetchone()
            assert row is not None  # an aggregate without GROUP BY has exactly one row
            dropped = row[0]
            con.execute(f"DELETE FROM file_changes WHERE {orphans}")
            con.execute(f"DELETE FROM commits WHERE {orphans}")
        return dropped

    def record_tip(self, tip: str, new_shas: list[str], ancestor_tips: list[str]) -> None:
        """Record *tip* as complete: its members are *new_shas* plus the ancestors' members."""
        con = self.con
        shas = pa.table({"sha": pa.array(new_shas, pa.string())})  # noqa: F841
        with transaction(con):
            con.execute("DELETE FROM tip_members WHERE tip = ?", [tip])
            con.execute("INSERT INTO tip_members SELECT ?, sha FROM shas", [tip])
            if ancestor_tips:
                con.execute(
                    """INSERT INTO tip_members SELECT DISTINCT ?, sha FROM tip_members
                       WHERE list_contains(?, tip) AND sha NOT IN (SELECT sha FROM shas)""",
                    [tip, ancestor_tips],
                )
            row = con.execute("SELECT count(*) FROM tip_members WHERE tip = ?", [tip]).fetchone()
            assert row is not None  # an aggregate without GROUP BY has exactly one row
            n = row[0]
            con.execute(
                "INSERT OR REPLACE INTO tips VALUES (?, ?, now())",
                [tip, n],
            )
            old = [t for t in self.tips()[_KEEP_TIPS:] if t != tip]
            if old:
                con.execute("DELETE FROM tips WHERE list_contains(?, tip)", [old])
                con.execute("DELETE FROM tip_members WHERE list_contains(?, tip)", [old])

    # -- reading -------------------------------------------------------------------------
    def _where(self, since, until, alias: str) -> tuple[str, list]:
        clauses, params = [], []
        if since is not None:
            clauses.append(f"{alias}.commit_time >= ?")
            params.append(since)
        if until is not None:
            clauses.append(f"{alias}.commit_time <= ?")
            params.append(until)
        return "".join(f" AND {c}" for c in clauses), params

    def commits(self, tip: str, since=None, until=None) -> pd.DataFrame:
        """Commits reachable from *tip* (newest first), optionally within a time window."""
        where, params = self._where(since, until, "c")
        sql = f"""SELECT c.* FROM commits c SEMI JOIN
                  (SELECT sha FROM tip_members WHERE tip = ?) m USING (sha)
                  WHERE TRUE{where} ORDER BY c.commit_time DESC, c.sha"""
        return _to_pandas(self.con.sql(sql, params=[tip, *params]), "commits")

    def parents(self, tip: str, since=None, until=None) -> pa.ChunkedArray:
        """The ``parents`` column (lists of shas) of the commits reachable from *tip*, in
        no particular order: all a line replay needs of them before it starts."""
        where, params = self._where(since, until, "c")
        sql = f"""SELECT c.parents FROM commits c SEMI JOIN
                  (SELECT sha FROM tip_members WHERE tip = ?) m USING (sha) WHERE TRUE{where}"""
        return self.con.sql(sql, params=[tip, *params]).to_arrow_table()["parents"]

    def file_changes(self, tip: str, since=None, until=None) -> pd.DataFrame:
        """File changes of the commits reachable from *tip*."""
        where, params = self._where(since, until, "c")
        sql = f"""SELECT f.* FROM file_changes f
                  JOIN commits c USING (sha)
                  SEMI JOIN (SELECT sha FROM tip_members WHERE tip = ?) m USING (sha)
                  WHERE TRUE{where} ORDER BY c.commit_time DESC, f.sha, f.path"""
        return _to_pandas(self.con.sql(sql, params=[tip, *params]), "file_changes")

    def commit_rows(self, shas: Iterable[str], columns: Sequence[str]) -> pd.DataFrame:
        """The stored *columns* of the commits *shas*, by sha; commits not stored are absent.

        Reads those rows only (no tip, no other commit): what the authorship share needs.
        """
        unknown = set(columns) - set(schema.STORED_COMMITS.names)
        if unknown:
            raise ValueError(f"not a commits column: {', '.join(sorted(unknown))}")
        wanted = pa.table({"sha": pa.array(sorted(set(shas)), pa.string())})  # noqa: F841
        picked = ", ".join(f"c.{c}" for c in columns)
        sql = f"SELECT {picked} FROM commits c SEMI JOIN wanted USING (sha) ORDER BY c.sha"
        with self.con.cursor() as cur:  # its own result, whatever the connection has open
            return _to_pandas(cur.sql(sql), "commits")


# A DuckDB file this process closed and that nothing has changed since is not checked (a
# mined store: key (path, identity, options)) or prepared (a cache opened per block: key
# (path, what, "prepared")) again when it reopens it: key -> the file's state when it was
# closed. A write by another process changes the file's size or modification time
# (nanoseconds; as coarse as the kernel's clock tick), or its inode if it was replaced.
_CLOSED: dict[tuple[str, str, str], tuple[int, ...] | None] = {}


def _closed(key: tuple[str, str, str], path: Path) -> None:
    """Remember the DuckDB file *path* as this process just closed it, under *key*."""
    _CLOSED[key] = _file_state(path)


def _left_unchanged(key: tuple[str, str, str], path: Path) -> bool:
    """Whether the file *path* is as this process last closed it under *key*."""
    state = _file_state(path)
    return state is not None and _CLOSED.get(key) == state


def _file_state(path: Path) -> tuple[int, ...] | None:
    """Device, inode, size, modification and status-change times of the DuckDB file and of
    its WAL (None: no file): any write, replacement or copy over it changes one of them."""
    state: list[int] = []
    for p in (path, Path(f"{path}.wal")):
        try:
            st = p.stat()
        except OSError:
            if p == path:
                return None
            continue
        state += [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
    return tuple(state)


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    """(name, DuckDB type) of the columns of each schema table in *con*."""
    rows = con.execute(
        """SELECT table_name, column_name, data_type FROM duckdb_columns()
           WHERE list_contains(?, table_name) ORDER BY table_name, column_index""",
        [list(_SCHEMAS)],
    ).fetchall()
    found: dict[str, list[tuple[str, str]]] = {t: [] for t in _SCHEMAS}
    for table, name, kind in rows:
        found[table].append((name, kind))
    return found


@functools.cache
def _expected_columns() -> dict[str, list[tuple[str, str]]]:
    """The columns the schema's DDL makes, as DuckDB spells their types."""
    con = duckdb.connect()
    try:
        for table, s in _SCHEMAS.items():
            con.execute(schema.ddl(s, table))
        return _columns(con)
    finally:
        con.close()


def _diff(found: list[tuple[str, str]], expected: list[tuple[str, str]]) -> str:
    extra = [f"{n} {t}" for n, t in found if (n, t) not in expected]
    absent = [f"{n} {t}" for n, t in expected if (n, t) not in found]
    parts = []
    if extra:
        parts.append(f"unexpected {', '.join(extra)}")
    if absent:
        parts.append(f"missing {', '.join(absent)}")
    return "; ".join(parts) or "in another order"


def _to_pandas(result: duckdb.DuckDBPyRelation, table: str) -> pd.DataFrame:
    """Fetch a query result of *table* through Arrow into pandas with the schema's dtypes
    (nullable integers and booleans, UTC times whatever DuckDB's time zone)."""
    fetch = getattr(result, "to_arrow_table", None) or result.arrow
    return schema.to_pandas(fetch(), _SCHEMAS[table])
