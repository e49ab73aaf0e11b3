"""``ai.open_dataset``: query a many-repository Parquet dataset lazily with DuckDB.

Each table directory of the dataset (``out/commits``, ``out/outcomes``, ...) becomes a
DuckDB view over its partitions, with ``repo`` read from the partition directory names.
Nothing is loaded until asked: filter, aggregate or sample in SQL, and materialise pandas
only for what a model needs.
"""

from __future__ import annotations

import os

import duckdb
import pandas as pd

from aiimpact.errors import InputError
from aiimpact.parallel import FAILURES, Target
from aiimpact.schema import SCHEMAS, to_pandas


class Dataset:
    """A lazy, DuckDB-backed view of a dataset written by :func:`aiimpact.mine_many`.

    Parameters
    ----------
    out : path
        The dataset directory.

    Examples
    --------
    >>> ds = ai.open_dataset("data")  # doctest: +SKIP
    >>> ds.sql("SELECT repo, avg(reverted::INT) FROM outcomes GROUP BY repo").df()  # doctest: +SKIP
    >>> t = ds.to_pandas("outcomes", columns=["repo", "reverted", "ai_assisted", "log_size"])
    """

    def __init__(self, out: str | os.PathLike) -> None:
        self.target = Target(out)
        self.out = self.target.location
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        if self.target.local is None:
            self.con.register_filesystem(self.target.fs)
        self.tables = []
        for name, pattern in self._table_patterns():
            pattern = pattern.replace("'", "''")
            self.con.execute(
                f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{pattern}', "
                "hive_partitioning = true, hive_types = {'repo': VARCHAR}, union_by_name = true)"
            )
            self.tables.append(name)
        if not self.tables:
            raise InputError(f"dataset {self.out} has no tables yet")

    def _table_patterns(self) -> list[tuple[str, str]]:
        t = self.target
        if t.local is not None:
            if not t.local.is_dir():
                raise InputError(f"dataset {t.local} does not exist (write it with mine_many)")
            folders = [f for f in sorted(t.local.iterdir()) if f.is_dir()]
            tables = [f for f in folders if not f.name.startswith(("_", "."))]
            return [
                (f.name, str(f / "repo=*" / "*.parquet"))
                for f in tables
                if any(f.glob("repo=*/*.parquet"))
            ]
        if not t.fs.exists(t.root):
            raise InputError(f"dataset {t.url} does not exist (write it with mine_many)")
        protocol = t.fs.protocol if isinstance(t.fs.protocol, str) else t.fs.protocol[0]
        out = []
        for entry in sorted(t.fs.ls(t.root, detail=False)):
            name = entry.rstrip("/").rsplit("/", 1)[-1]
            if not name.startswith(("_", ".")) and t.fs.glob(f"{entry}/repo=*/*.parquet"):
                out.append((name, f"{protocol}://{entry.lstrip('/')}/repo=*/*.parquet"))
        return out

    @property
    def repos(self) -> list[str]:
        """Ids of the complete repositories."""
        return sorted(self.target.done())

    @property
    def failures(self) -> pd.DataFrame:
        """The failures of the last run (empty when there were none)."""
        t = self.target
        if t.local is not None:
            path = t.local / FAILURES
            return pd.read_parquet(path) if path.exists() else pd.DataFrame()
        name = f"{t.root}/{FAILURES}"
        if not t.fs.exists(name):
            return pd.DataFrame()
        with t.fs.open(name, "rb") as f:
            return pd.read_parquet(f)

    def columns_of(self, table: str = "outcomes") -> list[str]:
        """The column names of a table (``repo`` included)."""
        self._known(table)
        return list(self.con.sql(f'SELECT * FROM "{table}" LIMIT 0').columns)

    def sql(self, query: str) -> duckdb.DuckDBPyRelation:
        """A lazy DuckDB relation; the tables are views named as their directories."""
        return self.con.sql(query)

    def to_pandas(
        self,
        table: str = "outcomes",
        columns: list[str] | None = None,
        where: str | None = None,
        sample: float | None = None,
        seed: int = 0,
    ) -> pd.DataFrame:
        """Materialise (part of) a table as pandas.

        Parameters
        ----------
        table : str
            A table of the dataset (default ``outcomes``).
        columns : list of str, optional
            Only these columns (``repo`` included when asked for).
        where : str, optional
            A SQL condition, e.g. ``"NOT is_merge AND commit_time >= '2025-01-01'"``.
        sample : float, optional
            Keep this fraction of the rows (0 < sample <= 1), reproducibly for a *seed*.

        Returns
        -------
        pandas.DataFrame
            With the dtypes of the table's schema (:mod:`aiimpact.schema`): those ``Repo``
            gives the same table.
        """
        self._known(table)
        cols = "*" if not columns else ", ".join(f'"{c}"' for c in columns)
        query = f'SELECT {cols} FROM "{table}"'
        if where:
            query += f" WHERE {where}"
        if sample is not None:
            if not 0 < sample <= 1:
                raise InputError("sample must be a fraction in (0, 1]")
            query += f" USING SAMPLE {sample * 100:.6f} PERCENT (bernoulli, {int(seed)})"
        try:
            data = self.con.sql(query).to_arrow_table()
        except duckdb.Error as exc:
            raise InputError(f"dataset query failed: {exc}") from None
        known = SCHEMAS.get(table)
        return to_pandas(data, known) if known is not None else data.to_pandas()

    def __repr__(self) -> str:
        counts = ", ".join(f"{t}: {self._count(t):,} rows" for t in self.tables)
        return f"Dataset({self.out}: {len(self.repos)} repositories; {counts})"

    def _known(self, table: str) -> None:
        if table not in self.tables:
            raise InputError(f"table {table!r} is not in the dataset ({', '.join(self.tables)})")

    def _count(self, table: str) -> int:
        return self.con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]

    def close(self) -> None:
        self.con.close()


def open_dataset(out: str | os.PathLike) -> Dataset:
    """Open a dataset written by :func:`aiimpact.mine_many` (see :class:`Dataset`).

    Examples
    --------
    >>> ds = ai.open_dataset("data")  # doctest: +SKIP
    >>> ai.compare(ds, "reverted", controls=["log_size", "repo"], cluster="repo")  # doctest: +SKIP
    """
    return Dataset(out)
