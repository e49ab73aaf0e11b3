"""The two DuckDB files kept per repository: the ETag cache of REST answers
(``github.duckdb``) and the raw data of every pull request between runs (``pulls.duckdb``).

Each is opened through :func:`aiimpact.store.open_checked`: a file DuckDB cannot open, or
whose rows it cannot read back, is moved aside and started afresh.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from aiimpact.store import open_checked, read_every_block

_ETAGS_DDL = """
CREATE TABLE IF NOT EXISTS etags (
    url VARCHAR PRIMARY KEY,
    etag VARCHAR NOT NULL,
    body JSON,
    link VARCHAR,
    fetched_at TIMESTAMP
)
"""


@dataclass
class Cached:
    """One stored answer: its ETag, decoded body and ``Link`` header."""

    etag: str
    body: Any
    link: str | None


class EtagCache:
    """ETag + body per URL in a DuckDB file (table ``etags``); every write is committed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con = open_checked(path, "GitHub cache", self._check)

    @staticmethod
    def _check(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(_ETAGS_DDL)
        every = "length(url) + length(etag) + length(body) + length(link) + epoch(fetched_at)"
        read_every_block(con, "etags", "url", every)

    def get(self, url: str) -> Cached | None:
        row = self.con.execute("SELECT etag, body, link FROM etags WHERE url = ?", [url]).fetchone()
        if row is None:
            return None
        try:
            body = json.loads(row[1]) if row[1] is not None else None
        except ValueError:
            return None  # unreadable row: fetch again (it is overwritten on success)
        return Cached(etag=row[0], body=body, link=row[2])

    def put(self, url: str, etag: str, body: Any, link: str | None) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO etags VALUES (?, ?, ?, ?, ?)",
            [url, etag, json.dumps(body), link, datetime.now(UTC).replace(tzinfo=None)],
        )

    def close(self) -> None:
        self.con.close()


class RawStore:
    """The raw per-PR data of a repository, kept between runs (DuckDB, one row per PR).

    A file DuckDB cannot open, or whose rows it cannot read back, is moved aside and
    started afresh (its PRs are fetched again: through the ETag cache, mostly 304s).
    """

    def __init__(self, path: Path) -> None:
        self.con = open_checked(path, "pull-request store", self._check)

    @staticmethod
    def _check(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE IF NOT EXISTS pulls (number BIGINT PRIMARY KEY, item VARCHAR)")
        con.execute("CREATE TABLE IF NOT EXISTS runs (complete_since TIMESTAMPTZ)")
        read_every_block(con, "pulls", "number", "number + length(item)")
        con.execute("SELECT sum(epoch(complete_since)) FROM runs").fetchall()

    def put(self, item: dict) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO pulls VALUES (?, ?)",
            [item["pull"]["number"], json.dumps(item)],
        )

    def items(self) -> list[dict]:
        rows = self.con.execute("SELECT item FROM pulls ORDER BY number").fetchall()
        return [json.loads(r[0]) for r in rows]

    def watermark(self) -> datetime | None:
        row = self.con.execute("SELECT max(complete_since) FROM runs").fetchone()
        return row[0] if row and row[0] is not None else None

    def set_watermark(self, when: datetime) -> None:
        # a PR updated while this run was listing is caught by the next one
        self.con.execute("INSERT INTO runs VALUES (?)", [when - timedelta(minutes=5)])

    def close(self) -> None:
        self.con.close()
