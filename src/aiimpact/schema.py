"""The tables' schemas: one Arrow schema per table, and everything derived from it.

Every table of DESIGN.md (``commits``, ``file_changes``, ``reverts``, ``szz``,
``outcomes``, ``prs``, ``reviews``, ``pr_commits``) is one :class:`pyarrow.Schema` here:
names, Arrow types, nullability and a one-line ``doc`` per column (field metadata). The
cache's DuckDB tables (:func:`ddl`), the cache's batch writer (:func:`arrow_table`), the
column lists (:func:`columns`), the empty tables (:func:`empty`), the pandas dtypes
(:func:`dtypes`, :func:`conform`) and the Parquet partitions of a dataset
(:func:`to_arrow`) all come from these schemas, so an empty table and a full one, and every
repository's partition, have the same types.

pandas dtypes follow from the Arrow type: text is pandas' default string dtype, times are
``datetime64[us, UTC]``, lists and structs are ``object`` (NumPy arrays, as pandas receives
Arrow lists), and integers, booleans and floats are the nullable ``Int64``, ``boolean`` and
``Float64`` (NA, not NaN or None) unless a column's ``pandas`` metadata names a NumPy dtype
(columns that have always been plain NumPy, such as ``log_size``).

The cache stores two tables, ``commits`` and ``file_changes``, without the ``repo`` column
(a cache holds one repository); its ``commits`` table keeps ``missing_files`` (files whose
line counts are unknown) and leaves out ``ai_lines`` (read from git-ai notes on each call):
:data:`STORED_COMMITS`, :data:`STORED_FILE_CHANGES`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa

TIME = pa.timestamp("us", tz="UTC")
"""Times: tz-aware UTC, microseconds (what DuckDB's ``TIMESTAMPTZ`` holds)."""
TEXT = pa.string()
TEXTS = pa.list_(pa.string())
TRAILERS = pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())]))
COUNT = pa.int32()  # line and file counts of the cache's tables
INT = pa.int64()
FLOAT = pa.float64()
BOOL = pa.bool_()

_PUBLIC, _STORED = b"public", b"stored"


def _col(
    name: str,
    type_: pa.DataType,
    doc: str,
    *,
    nullable: bool = True,
    pandas: str | None = None,
    public: bool = True,
    stored: bool = True,
) -> pa.Field:
    """One column: *pandas* names a NumPy dtype to use instead of the nullable one;
    *public* / *stored*: whether it is in the table users get / in the cache's table."""
    meta = {b"doc": doc.encode()}
    if pandas:
        meta[b"pandas"] = pandas.encode()
    if not public:
        meta[_PUBLIC] = b"0"
    if not stored:
        meta[_STORED] = b"0"
    return pa.field(name, type_, nullable=nullable, metadata=meta)


def _has(field: pa.Field, key: bytes) -> bool:
    return (field.metadata or {}).get(key) != b"0"


_REPO = _col(
    "repo",
    TEXT,
    "repository id (Repo.name; the partition value in a dataset)",
    nullable=False,
    stored=False,
)

_AI = [
    _col("ai_assisted", BOOL, "at least one AI signature fired"),
    _col("ai_tools", TEXTS, "canonical ids of the tools detected, sorted"),
    _col("ai_modes", TEXTS, "subset of agent, co-author, suggestion, declared"),
    _col("ai_evidence", TEXTS, "the kinds of signal that fired, e.g. trailer:co-authored-by"),
    _col("ai_signals", TEXTS, "ids of the signatures that fired"),
]

_COMMIT_FIELDS = [
    _REPO,
    _col("sha", TEXT, "commit id", nullable=False),
    _col("parents", TEXTS, "parent commit ids, first parent first"),
    _col("is_merge", BOOL, "more than one parent"),
    _col("author_name", TEXT, "author name, decoded with the commit's encoding"),
    _col("author_email", TEXT, "author e-mail"),
    _col("author_time", TIME, "author time (NaT when pandas cannot hold it)"),
    _col("committer_name", TEXT, "committer name"),
    _col("committer_email", TEXT, "committer e-mail"),
    _col("commit_time", TIME, "committer time (NaT when pandas cannot hold it)"),
    _col("subject", TEXT, "first line of the message"),
    _col("message", TEXT, "full message"),
    _col("trailers", TRAILERS, "trailers as git interpret-trailers --parse reads them"),
    _col("files_changed", COUNT, "files changed against the first parent"),
    _col("insertions", COUNT, "lines inserted against the first parent (binary files: 0)"),
    _col("deletions", COUNT, "lines deleted against the first parent (binary files: 0)"),
    _col(
        "missing_files",
        COUNT,
        "files with unknown counts (absent blobs); -1: tree absent",
        public=False,
    ),
    *_AI,
    _col(
        "ai_carried_from",
        TEXT,
        "for a revert or cherry-pick whose marks were all copied from the original: its sha",
    ),
    _col("ai_lines", COUNT, "lines git-ai's note attributes to AI (NA: no note)", stored=False),
]

_FILE_FIELDS = [
    _REPO,
    _col("sha", TEXT, "commit id", nullable=False),
    _col("path", TEXT, "path after the change", nullable=False),
    _col("old_path", TEXT, "path before a rename or copy (renames=True only)"),
    _col("change_type", TEXT, "git's status letter: A, M, D, T, R, C"),
    _col("insertions", COUNT, "lines inserted (binary: 0; NA: blob absent)"),
    _col("deletions", COUNT, "lines deleted (binary: 0; NA: blob absent)"),
    _col("is_binary", BOOL, "git counts the file as binary"),
]


def _public(fields: Iterable[pa.Field]) -> pa.Schema:
    return pa.schema([f for f in fields if _has(f, _PUBLIC)])


def _stored(fields: Iterable[pa.Field]) -> pa.Schema:
    return pa.schema([f for f in fields if _has(f, _STORED)])


COMMITS = _public(_COMMIT_FIELDS)
"""``Repo.commits()``: one row per commit."""
FILE_CHANGES = _public(_FILE_FIELDS)
"""``Repo.file_changes()``: one row per (commit, file)."""
STORED_COMMITS = _stored(_COMMIT_FIELDS)
"""The cache's ``commits`` table."""
STORED_FILE_CHANGES = _stored(_FILE_FIELDS)
"""The cache's ``file_changes`` table."""
AI_COLUMNS = [f.name for f in STORED_COMMITS if f.name.startswith("ai_")]
"""The detector's columns, stored in the cache and re-tagged there (``Store.retag``)."""

REVERTS = pa.schema(
    [
        _REPO,
        _col("revert_sha", TEXT, "the reverting commit", nullable=False),
        _col("reverted_sha", TEXT, "the commit it reverts", nullable=False),
        _col("kind", TEXT, "message, content or partial", nullable=False),
        _col("revert_time", TIME, "commit time of the revert"),
        _col("reverted_time", TIME, "commit time of the reverted commit"),
        _col(
            "time_to_revert",
            FLOAT,
            "hours from the reverted commit to the revert",
            pandas="float64",
        ),
        _col(
            "is_reland",
            BOOL,
            "the reverted commit is itself a revert",
            nullable=False,
            pandas="bool",
        ),
        _col(
            "fraction",
            FLOAT,
            "share of the reverted commit's added lines deleted",
            pandas="float64",
        ),
        _col("evidence", TEXT, "what found it: sha, subject, conventional, lines ..."),
    ]
)
"""``Repo.reverts()``: one row per (revert, reverted) pair."""

SZZ = pa.schema(
    [
        _REPO,
        _col("fix_sha", TEXT, "the fix", nullable=False),
        _col(
            "inducing_sha",
            TEXT,
            "a commit that introduced the lines the fix changed",
            nullable=False,
        ),
        _col("path", TEXT, "the fix's file that held most of those lines (NA: trailer link)"),
        _col("lines", INT, "lines of the fix blamed on the inducing commit (NA: trailer link)"),
        _col("variant", TEXT, "the SZZ variant that linked them, or trailer", nullable=False),
    ]
)
"""``Repo.szz()``: one row per (fix, inducing commit)."""

FIXES = pa.schema(
    [
        _REPO,
        _col("sha", TEXT, "the fix", nullable=False),
        _col(
            "evidence",
            TEXTS,
            "keyword, fix-closing, fixes-trailer; beside one of those: closing, issue",
        ),
        _col("fixes_trailer", TEXTS, "the shas its Fixes: lines name"),
    ]
)
"""``Repo.fixes()``: one row per fix commit (not a dataset table: not in :data:`SCHEMAS`)."""

OUTCOMES = pa.schema(
    [
        *COMMITS,
        _col("reverted", BOOL, "a message or content revert that still stands"),
        _col("time_to_revert", FLOAT, "hours to the first such revert"),
        _col("partially_reverted", BOOL, "a partial revert"),
        _col("reverted_within_30d", BOOL, "reverted within 30 days (NA: younger than 30 days)"),
        _col("reverted_within_90d", BOOL, "reverted within 90 days (NA: younger than 90 days)"),
        _col("lines_added", INT, "lines the commit added (line history)", pandas="int64"),
        _col(
            "lines_moved",
            INT,
            "lines it removed in one place and added in another (not in lines_added)",
            pandas="int64",
        ),
        *[
            c
            for days in (14, 30, 90)
            for c in (
                _col(
                    f"churn_{days}d", INT, f"added lines deleted within {days} days (NA: censored)"
                ),
                _col(f"churn_rate_{days}d", FLOAT, f"churn_{days}d / lines_added"),
            )
        ],
        _col("lines_alive", INT, "added lines still alive at the revision"),
        _col("is_fix", BOOL, "a fix commit (see Repo.fixes)"),
        _col("n_fixes_induced", INT, "fixes that SZZ links to this commit"),
        _col("fix_inducing", BOOL, "at least one fix links to it"),
        _col("days_to_first_fix", FLOAT, "days to the first such fix"),
        _col("fix_inducing_within_90d", BOOL, "a fix within 90 days (NA: younger than 90 days)"),
        _col("author_experience", INT, "earlier commits by the same author"),
        _col("file_ownership", FLOAT, "the author's share of earlier commits to the files"),
        _col("log_size", FLOAT, "log1p(insertions + deletions)", pandas="float64"),
    ]
)
"""``Repo.outcomes()``: the commit columns and what became of each commit."""

PRS = pa.schema(
    [
        _col("repo", TEXT, "owner/name"),
        _col("number", INT, "PR number"),
        _col("author_login", TEXT, "author's login (NA: deleted account)"),
        _col("author_is_bot", BOOL, "the author is a bot account", nullable=False, pandas="bool"),
        _col("title", TEXT, "title"),
        _col("created_at", TIME, "opened"),
        _col("ready_at", TIME, "opened, or last marked ready for review (NA: still a draft)"),
        _col("first_review_at", TIME, "first review or review comment by another human"),
        _col("first_approval_at", TIME, "first approval by another human"),
        _col("merged_at", TIME, "merged"),
        _col("closed_at", TIME, "closed"),
        _col("state", TEXT, "open, closed or merged"),
        _col("head_ref", TEXT, "head branch"),
        _col(
            "reverts_pr",
            INT,
            "the PR of this repository it reverts: GitHub's revert (body 'Reverts owner/repo#N', "
            "branch revert-N-...)",
        ),
        _col("additions", INT, "lines added"),
        _col("deletions", INT, "lines deleted"),
        _col("changed_files", INT, "files changed"),
        _col("reviews", INT, "reviews by other humans"),
        _col("review_rounds", INT, "groups of reviews not separated by a push"),
        _col("comments", INT, "comments by humans"),
        _col("review_comments", INT, "inline review comments by other humans"),
        _col("review_comments_per_100_lines", FLOAT, "review_comments per 100 changed lines"),
        _col("reviewers", INT, "other humans who reviewed or commented inline"),
        _col("rubber_stamp", BOOL, "approved with no comment (NA: review bodies unknown)"),
        _col("merge_commit_sha", TEXT, "the merge commit (merged PRs only)"),
        _col("time_to_first_review", FLOAT, "hours from ready_at to the first review"),
        _col("time_to_merge", FLOAT, "hours from created_at to the merge"),
        _col("time_to_close", FLOAT, "hours from created_at to the close"),
        _col("review_time_to_merge", FLOAT, "hours from ready_at to the merge"),
        _col("review_time_to_close", FLOAT, "hours from ready_at to the close"),
        _col("cycle_coding", FLOAT, "hours from the first commit's author date to created_at"),
        _col("cycle_pickup", FLOAT, "hours from ready_at to the first review"),
        _col("cycle_review", FLOAT, "hours from the first review to the first approval"),
        _col("cycle_merge", FLOAT, "hours from the first approval to the merge"),
        _col(
            "ai_assisted",
            BOOL,
            "at least one AI signature fired on the PR or its commits",
            nullable=False,
            pandas="bool",
        ),
        *_AI[1:],
        _col(
            "agent",
            TEXT,
            "the source dataset's own label (AIDev: Claude_Code, Copilot, Cursor, Devin, "
            "OpenAI_Codex or Human), apart from the detected ai_tools; NA for other sources",
        ),
        _col("is_open", BOOL, "still open when observed", nullable=False, pandas="bool"),
        _col("observed_at", TIME, "when the data was fetched (open PRs are censored there)"),
    ]
)
"""``prs``: one row per pull request."""

REVIEWS = pa.schema(
    [
        _col("repo", TEXT, "owner/name"),
        _col("number", INT, "PR number", nullable=False, pandas="int64"),
        _col("reviewer", TEXT, "reviewer's login"),
        _col(
            "reviewer_is_bot", BOOL, "the reviewer is a bot account", nullable=False, pandas="bool"
        ),
        _col("state", TEXT, "APPROVED, CHANGES_REQUESTED, COMMENTED ..."),
        _col("submitted_at", TIME, "submitted"),
        _col("commit_id", TEXT, "the head commit reviewed"),
    ]
)
"""``reviews``: one row per review."""

PR_COMMITS = pa.schema(
    [
        _col("repo", TEXT, "owner/name"),
        _col("number", INT, "PR number", nullable=False, pandas="int64"),
        _col("sha", TEXT, "a commit of the PR", nullable=False),
        _col("subject", TEXT, "its message's first line (finds its rebased copy)"),
    ]
)
"""``pr_commits``: one row per (PR, commit)."""

SCHEMAS: dict[str, pa.Schema] = {
    "commits": COMMITS,
    "file_changes": FILE_CHANGES,
    "reverts": REVERTS,
    "szz": SZZ,
    "outcomes": OUTCOMES,
    "prs": PRS,
    "reviews": REVIEWS,
    "pr_commits": PR_COMMITS,
}
"""The schema of each table, by its name (the folder name in a dataset)."""


def columns(schema: pa.Schema) -> list[str]:
    """The column names of *schema*, in order."""
    return list(schema.names)


def doc(schema: pa.Schema) -> dict[str, str]:
    """The one-line description of each column."""
    return {f.name: (f.metadata or {}).get(b"doc", b"").decode() for f in schema}


def select(schema: pa.Schema, names: Iterable[str]) -> pa.Schema:
    """The fields of *schema* named *names*, in that order."""
    return pa.schema([schema.field(n) for n in names])


# -- DuckDB ------------------------------------------------------------------------------


def duckdb_type(t: pa.DataType) -> str:
    """The DuckDB type of an Arrow type (``VARCHAR[]``, ``TIMESTAMPTZ``, ...)."""
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"{duckdb_type(t.value_type)}[]"
    if pa.types.is_struct(t):
        return f"STRUCT({', '.join(f'{f.name} {duckdb_type(f.type)}' for f in t)})"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    simple = {
        pa.string(): "VARCHAR",
        pa.large_string(): "VARCHAR",
        pa.bool_(): "BOOLEAN",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.float64(): "DOUBLE",
    }
    if t not in simple:
        raise TypeError(f"no DuckDB type for Arrow {t}")
    return simple[t]


def ddl(schema: pa.Schema, table: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for *schema* (no constraints: nullability is checked
    where Arrow writes it)."""
    cols = ",\n".join(f"    {f.name} {duckdb_type(f.type)}" for f in schema)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n{cols}\n)"


# -- Arrow -------------------------------------------------------------------------------


def arrow_table(data: Mapping[str, Sequence], schema: pa.Schema) -> pa.Table:
    """An Arrow table of *schema* from parallel Python sequences, one per column.

    Times may be integer seconds since the epoch (as the commit walk gives them) or
    datetimes; list columns may hold tuples.
    """
    arrays = []
    for f in schema:
        values = data[f.name]
        if pa.types.is_timestamp(f.type):
            arrays.append(pa.array(values, pa.timestamp("s", tz=f.type.tz)).cast(f.type))
        else:
            arrays.append(pa.array(values, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def cast(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """*table* with each column that *schema* knows cast to its type (other columns and
    the order are kept): e.g. DuckDB's ``timestamp[us, tz=<local zone>]`` to UTC."""
    known = set(schema.names)
    fields = [
        schema.field(f.name).with_nullable(True) if f.name in known else f for f in table.schema
    ]
    target = pa.schema(fields)
    return table if table.schema.equals(target) else table.cast(target)


def _arrow_dtypes(t: pa.DataType) -> Any:
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    if pa.types.is_floating(t):
        return pd.Float64Dtype()
    return None


def to_pandas(table: pa.Table, schema: pa.Schema) -> pd.DataFrame:
    """An Arrow table (a DuckDB result, say) as pandas with the dtypes of *schema*."""
    df = cast(table, schema).to_pandas(types_mapper=_arrow_dtypes)
    return conform(df, schema)


# -- pandas ------------------------------------------------------------------------------

_DTYPES: dict[bytes, dict] = {}


def dtypes(schema: pa.Schema) -> dict:
    """The pandas dtype of each column of *schema* (as a full table has them)."""
    key = schema.serialize().to_pybytes()  # with the field metadata, which == ignores
    found = _DTYPES.get(key)
    if found is None:
        df = schema.empty_table().to_pandas(types_mapper=_arrow_dtypes)
        found = dict(df.dtypes.items())
        for f in schema:
            numpy = (f.metadata or {}).get(b"pandas")
            if numpy:
                found[f.name] = pd.api.types.pandas_dtype(numpy.decode())
        _DTYPES[key] = found
    return found


def empty(schema: pa.Schema) -> pd.DataFrame:
    """A table of *schema* with no rows, typed as a full one."""
    return pd.DataFrame({n: pd.Series(dtype=t) for n, t in dtypes(schema).items()})


_NULLABLE = {"int64": "Int64", "bool": "boolean"}


def conform(df: pd.DataFrame, schema: pa.Schema) -> pd.DataFrame:
    """*df* with every column *schema* knows in its dtype (a copy only if one differs).

    Other columns, and the order, are kept. A column the schema makes NumPy ``int64`` or
    ``bool`` that holds NA gets the nullable dtype instead: NA is never turned into a value.
    """
    want = dtypes(schema)
    change = {c: want[c] for c in df.columns if c in want and df[c].dtype != want[c]}
    if not change:
        return df
    df = df.copy(deep=False)
    for c, dtype in change.items():
        if str(dtype) in _NULLABLE and df[c].isna().any():
            dtype = _NULLABLE[str(dtype)]
        df[c] = df[c].astype(dtype)
    return df


def to_arrow(df: pd.DataFrame, schema: pa.Schema, drop: Sequence[str] = ()) -> pa.Table:
    """*df* as an Arrow table of *schema*, without the columns *drop*: a column that is
    all-null is typed as the schema says (not Arrow's ``null``), a schema column *df* lacks
    is written as nulls, and columns the schema does not know keep their inferred type."""
    df = conform(df.drop(columns=[c for c in drop if c in df.columns]), schema)
    fields = [f.remove_metadata() for f in schema if f.name not in drop]
    missing = [f.name for f in fields if f.name not in df.columns]
    if missing:
        df = df.assign(**{n: pd.Series(pd.NA, index=df.index, dtype=object) for n in missing})
    names = [f.name for f in fields]
    extra = [c for c in df.columns if c not in set(names)]
    if extra:
        fields += list(pa.Schema.from_pandas(df[extra], preserve_index=False))
    return pa.Table.from_pandas(df[names + extra], schema=pa.schema(fields), preserve_index=False)
