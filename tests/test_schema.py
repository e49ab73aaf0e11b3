"""One schema per table: empty and full tables, the cache and every dataset partition agree.

The tables are checked against :mod:`aiimpact.schema` and against each other: an empty
repository's tables have the dtypes of a full one's, a mine-many dataset whose repositories
differ in which columns are all-null reads as one table in pandas and in DuckDB, and the
cache's DuckDB tables have the schema's columns and types.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import git

import aiimpact as ai
from aiimpact import schema
from aiimpact.errors import CacheRebuiltWarning, EmptyRepositoryWarning
from aiimpact.git.identity import repo_id
from aiimpact.git.walk import COMMIT_FIELDS, FILE_FIELDS

TABLES = ("commits", "file_changes", "reverts", "szz", "outcomes")
CURSOR = "Co-authored-by: Cursor <cursoragent@cursor.com>"


def full_repo(build, name="full"):
    """AI trailers, a declared revert, a fix linked by SZZ, a binary file and a merge."""
    b = build(name)
    b.commit("Add parser", {"parser.py": "def parse():\n    return 0\n" * 3})
    b.commit(f"Speed up parser\n\n{CURSOR}", {"parser.py": "def parse():\n    return 1\n" * 3})
    added = b.commit("Add logo", {"logo.png": ai.synth.Binary(b"\x89PNG\x00\x01")})
    b.commit(f'Revert "Add logo"\n\nThis reverts commit {added}.', {"logo.png": None})
    b.branch("side")
    b.commit("Side work", {"side.txt": "a\nb\n"}, branch="side")
    b.commit("Merge side", merge=["side"])
    b.commit("fix: parser returns the wrong value", {"parser.py": "def parse():\n    return 2\n"})
    b.close()
    return b.path


def plain_repo(build, name):
    """No trailers, no AI marks, no reverts, no fixes: those columns are all-null or empty."""
    b = build(name)
    b.commit("Add notes", {"notes.txt": "one\n"})
    b.commit("Extend notes", {"notes.txt": "one\ntwo\n"})
    b.close()
    return b.path


def tables_of(repo: ai.Repo) -> dict[str, pd.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyRepositoryWarning)
        return {t: getattr(repo, t)() for t in TABLES}


def test_empty_repository_tables_are_typed_as_full_ones(build, tmp_path):
    full = tables_of(ai.Repo(full_repo(build)))
    git(tmp_path, "init", "-q", "empty")
    empty = tables_of(ai.Repo(tmp_path / "empty"))
    for table in TABLES:
        f, e = full[table], empty[table]
        assert len(f) > 0 and len(e) == 0, table
        assert list(e.columns) == list(f.columns) == schema.columns(schema.SCHEMAS[table]), table
        assert dict(e.dtypes) == dict(f.dtypes) == schema.dtypes(schema.SCHEMAS[table]), table
    commits = full["commits"]
    # the dtypes the schema promises, spelled out for the columns the issue named
    assert commits["is_merge"].dtype == "boolean" and commits["is_merge"].any()
    assert commits["ai_assisted"].dtype == "boolean" and commits["ai_assisted"].sum() == 1
    assert commits["insertions"].dtype == "Int64"
    assert isinstance(commits["sha"].dtype, pd.StringDtype) or commits["sha"].dtype == object
    assert str(commits["commit_time"].dtype) == "datetime64[us, UTC]"
    assert full["file_changes"]["is_binary"].dtype == "boolean"
    assert full["file_changes"]["is_binary"].any()
    assert full["reverts"]["revert_time"].dtype == commits["commit_time"].dtype
    assert full["outcomes"]["reverted"].dtype == "boolean" and full["outcomes"]["reverted"].any()


def test_custom_detector_keeps_the_schema_dtypes(build):
    path = full_repo(build)
    detector = ai.Detector(disable=["cursor/co-author"])
    df = ai.Repo(path, detector=detector).commits()
    assert not df["ai_assisted"].any()
    assert dict(df.dtypes) == schema.dtypes(schema.COMMITS)
    assert all(isinstance(v, list) and not v for v in df["ai_tools"])


def test_mine_many_partitions_read_as_one_table(build, tmp_path):
    # "a-plain" sorts first: its partition, whose trailers, ai_* lists, reverts and szz are
    # empty, is the one pyarrow reads the dataset's schema from
    sources = [str(full_repo(build, "b-full")), str(plain_repo(build, "a-plain"))]
    out = tmp_path / "dataset"
    result = ai.mine_many(sources, out=out, tables=TABLES, workers=1, progress=False)
    assert sorted(result.mined) == sorted(repo_id(s) for s in sources)
    assert result.failures.empty
    ds = ai.open_dataset(out)
    for table in TABLES:
        want = schema.SCHEMAS[table]
        stored = [f for f in want if f.name != "repo"]
        df = pd.read_parquet(out / table)  # failed before: "Unsupported cast ... to null"
        assert len(df) == result.rows[table], table
        assert {c: df[c].dtype for c in df.columns if c != "repo"} == {
            f.name: schema.dtypes(want)[f.name] for f in stored
        }, table
        parts = sorted((out / table).glob("repo=*/part-0.parquet"))
        assert len(parts) == 2, table
        for part in parts:  # every partition carries the full schema, all-null columns typed
            found = pq.read_schema(part)
            assert found.names == [f.name for f in stored], (table, part)
            for f in stored:
                got = found.field(f.name)
                assert got.type.equals(f.type) and got.nullable == f.nullable, (table, f.name)
        pattern = str(out / table / "*" / "*.parquet")
        sql = (
            "SELECT count(DISTINCT repo), count(*) "
            f"FROM read_parquet('{pattern}', hive_partitioning = true)"
        )
        repos, n = duckdb.connect().execute(sql).fetchall()[0]
        assert n == result.rows[table] and repos == df["repo"].nunique(), table
        lazy = ds.to_pandas(table)  # DuckDB's view, as pandas with the schema's dtypes
        assert len(lazy) == result.rows[table]
        assert dict(lazy.dtypes) == schema.dtypes(want), table
        rel = ds.sql(f'SELECT * FROM "{table}"')
        described = {n: str(t) for n, t in zip(rel.columns, rel.types, strict=True)}
        expected = {f.name: str(duckdb.sqltype(schema.duckdb_type(f.type))) for f in want}
        assert described == expected, table
    commits = pd.read_parquet(out / "commits")
    plain = commits[commits["repo"].astype(str).str.startswith("a-plain")]
    full = commits[commits["repo"].astype(str).str.startswith("b-full")]
    assert plain["trailers"].map(len).eq(0).all() and full["trailers"].map(len).gt(0).any()
    assert full["ai_tools"].map(list).isin([["cursor"]]).sum() == 1
    assert pd.read_parquet(out / "reverts")["repo"].astype(str).str.startswith("b-full").all()


def test_mine_output_parquet_has_the_full_schema(build, tmp_path):
    # no trailers and no AI marks: pandas alone wrote those lists as Arrow's null, the
    # counts as int64 and the text as large_string
    out = tmp_path / "commits.parquet"
    cmd = [sys.executable, "-m", "aiimpact", "mine", str(plain_repo(build, "plain")), "-o"]
    done = subprocess.run([*cmd, str(out), "--no-progress"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found = pq.read_schema(out)
    assert found.names == schema.COMMITS.names
    for f in schema.COMMITS:
        got = found.field(f.name)
        assert got.type.equals(f.type) and got.nullable == f.nullable, f.name
    df = pd.read_parquet(out)
    assert len(df) == 2 and dict(df.dtypes) == schema.dtypes(schema.COMMITS)


def test_cache_tables_are_the_schemas(build):
    repo = ai.Repo(full_repo(build))
    repo.commits()
    con = duckdb.connect(str(repo.cache_path), read_only=True)
    try:
        for table, want in (
            ("commits", schema.STORED_COMMITS),
            ("file_changes", schema.STORED_FILE_CHANGES),
        ):
            rel = con.sql(f"SELECT * FROM {table}")
            assert rel.columns == want.names
            assert [str(t) for t in rel.types] == [
                str(duckdb.sqltype(schema.duckdb_type(f.type))) for f in want
            ]
        # spot checks that do not go through duckdb_type
        sql = "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'commits'"
        kinds = dict(con.execute(sql).fetchall())
        assert kinds["commit_time"] == "TIMESTAMP WITH TIME ZONE"
        assert kinds["ai_tools"] == "VARCHAR[]" and kinds["insertions"] == "INTEGER"
        assert kinds["trailers"] == 'STRUCT("key" VARCHAR, "value" VARCHAR)[]'
    finally:
        con.close()
    # the commit walk fills the stored columns the detector does not
    stored = set(schema.STORED_COMMITS.names)
    assert set(COMMIT_FIELDS) | set(schema.AI_COLUMNS) == stored
    assert not set(COMMIT_FIELDS) & set(schema.AI_COLUMNS)
    assert set(FILE_FIELDS) == set(schema.STORED_FILE_CHANGES.names)
    assert set(schema.COMMITS.names) - stored == {"repo", "ai_lines"}


def test_cache_with_other_columns_is_rebuilt(build):
    path = full_repo(build)
    expected = ai.Repo(path).commits()
    repo = ai.Repo(path)
    con = duckdb.connect(str(repo.cache_path))
    con.execute("ALTER TABLE commits DROP COLUMN ai_signals")
    con.close()
    with pytest.warns(CacheRebuiltWarning, match="commits columns differ from this version"):
        again = repo.commits()
    assert repo.last_report.mined == len(expected)
    pd.testing.assert_frame_equal(again, expected)


def test_times_are_utc_whatever_the_local_time_zone(build):
    path = full_repo(build)
    code = (
        "import aiimpact as ai, sys; t = ai.Repo(sys.argv[1]).commits()['commit_time']; "
        "print(t.dtype, t.iloc[-1].isoformat(), sep='|')"
    )
    env = {**os.environ, "TZ": "America/New_York"}  # DuckDB's session zone follows it
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True, check=True
    )
    dtype, first = done.stdout.strip().split("|")
    assert dtype == "datetime64[us, UTC]"
    assert first == "2025-01-06T09:00:00+00:00"  # RepoBuilder's first commit, in UTC
