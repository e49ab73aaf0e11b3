"""Code-quality outcomes per file change and per commit, from lizard's figures per blob.

Per file (:func:`quality_files`): the complexity before and after, the functions changed,
and the DMM risk-profile deltas; per commit (:func:`quality_commits`): their sums over the
files lizard can read, PyDriller's three DMM proportions, and the lines added to test and
to other source files. Blob figures are kept in a DuckDB file beside the other caches
(``quality.duckdb``), keyed by blob, language and lizard version: a blob is analysed once,
whatever the commits and revisions that hold it.
"""

from __future__ import annotations

import posixpath
import re
import warnings
from collections.abc import Collection, Iterable
from contextlib import AbstractContextManager
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from aiimpact.errors import QualityWarning
from aiimpact.git.blobs import iter_blobs
from aiimpact.outcomes.linking import unfollowed
from aiimpact.quality.analysis import (
    EMPTY,
    LIZARD_VERSION,
    BlobQuality,
    analyze_many,
    changed_functions,
    language,
)
from aiimpact.quality.changes import FileChange, stream_changes
from aiimpact.quality.copies import VERSION as COPIES_VERSION
from aiimpact.quality.copies import copied_lines
from aiimpact.store import opened, transaction

_FIGURES = list(BlobQuality._fields)
_SAVE_EVERY = 2000  # blobs analysed per cache transaction
PROFILE = _FIGURES[3:9]
"""The DMM risk-profile deltas: ``size_low, size_high, complexity_low, ...``."""
PROPERTIES = ("size", "complexity", "interfacing")
_TEST_DIR = re.compile(r"(^|/)(tests?|__tests__|spec|specs|testing|test_?data)/", re.I)
_TEST_NAME = re.compile(
    r"(^test_.*|.*_tests?\.\w+$|.*\.(test|spec)\.\w+$|.*Tests?\.(java|kt|cs|scala|swift)$)"
)


def is_test(path: str) -> bool:
    """A test file by the usual conventions: under ``test/``, ``tests/``, ``__tests__/``,
    ``spec/``...; or named ``test_*``, ``*_test.*``, ``*.test.*``, ``*.spec.*``,
    ``*Test.java`` (and ``Tests``, Kotlin, C#, Scala, Swift)."""
    return bool(_TEST_DIR.search(path) or _TEST_NAME.match(posixpath.basename(path)))


def quality_files(
    git_dir: str,
    rev: str | None,
    cache: Path,
    workers: int | None = None,
    progress: bool = False,
    file_changes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per file a non-merge commit of *rev* changed: ``sha, path, old_path,
    status, language`` (lizard's reader, NA when it has none), ``ccn_before, ccn_after,
    complexity_delta, nloc_delta, functions_changed`` and the DMM deltas ``size_low`` ...
    ``interfacing_high`` (lines of code of low-risk and other functions, after minus
    before). Figures are NA for files lizard cannot read and for blobs the repository does
    not hold (``missing_blob``). *rev* None (an unborn HEAD): no rows. With *file_changes*
    (``Repo.file_changes``), files some of whose blobs are absent (NA counts there) are left
    out of git's stream, which could not detect renames among them, and their changes are
    rows of NA figures with ``missing_blob`` (and no rename).

    Examples
    --------
    >>> files = quality_files(".git", "HEAD", Path("quality.duckdb"))  # doctest: +SKIP
    """
    rows: list[tuple[str, FileChange, str | None]] = []
    absent = unfollowed(file_changes).paths if file_changes is not None else frozenset()
    streamed: set[str] = set()  # the non-merge commits
    for sha, files in stream_changes(git_dir, rev, absent) if rev is not None else ():
        streamed.add(sha)
        rows += [(sha, f, language(posixpath.basename(f.path))) for f in files]
    unknown = None
    if file_changes is not None and absent:
        unknown = file_changes[file_changes["path"].isin(absent)]
    wanted = {
        (blob, lang) for _, f, lang in rows if lang for blob in (f.old_blob, f.new_blob) if blob
    }
    figures = _figures(git_dir, wanted, rows, cache, workers, progress)
    out = []
    failed_paths: list[tuple[str, str]] = []  # (path, blob) of each failed side
    for sha, f, lang in rows:
        # EMPTY: the side where the file does not exist; _ABSENT: a blob the repository
        # does not hold; None: a blob lizard failed on
        before = figures.get((f.old_blob, lang), _ABSENT) if f.old_blob else EMPTY
        after = figures.get((f.new_blob, lang), _ABSENT) if f.new_blob else EMPTY
        known = lang is not None and isinstance(before, tuple) and isinstance(after, tuple)
        failed = lang is not None and (before is None or after is None)
        if failed:
            failed_paths += [
                (f.path, blob)
                for blob, side in ((f.old_blob, before), (f.new_blob, after))
                if side is None and blob
            ]
        values: list[int | None]
        if known:
            assert isinstance(before, BlobQuality) and isinstance(after, BlobQuality)
            delta = [a - b for a, b in zip(after[3:9], before[3:9], strict=True)]
            values = [before.ccn, after.ccn, after.ccn - before.ccn, after.nloc - before.nloc]
            values += [changed_functions(before.signatures, after.signatures), *delta]
        else:
            values = [None] * 11
        missing = lang is not None and not known and not failed
        out.append(
            (
                sha,
                f.path,
                f.old_path,
                f.status,
                lang,
                *values,
                missing,
                failed,
                f.old_blob,
                f.new_blob,
            )
        )
    if unknown is not None:
        for sha, path, status in zip(
            unknown["sha"], unknown["path"], unknown["change_type"], strict=True
        ):
            if sha in streamed:
                lang = language(posixpath.basename(path))
                row = (sha, path, None, status, lang, *[None] * 11, lang is not None, False)
                out.append((*row, None, None))
    table = pd.DataFrame(out, columns=FILE_COLUMNS)
    for c in _FILE_FIGURES:
        table[c] = table[c].astype("Int64")
    table["missing_blob"] = table["missing_blob"].astype(bool)
    table["analysis_failed"] = table["analysis_failed"].astype(bool)
    if failed_paths:
        versions = dict.fromkeys(failed_paths)
        warnings.warn(
            f"lizard failed on {len(versions)} file version{'s' * (len(versions) > 1)} "
            f"({failed_paths[0][0]}, {failed_paths[0][1][:12]}"
            f"{', ...' * (len(versions) > 1)}): the {int(table['analysis_failed'].sum())} "
            "changes that read them have NA figures (analysis_failed), and so do their commits",
            QualityWarning,
            stacklevel=4,
        )
    return table


_FILE_FIGURES = ["ccn_before", "ccn_after", "complexity_delta", "nloc_delta"]
_FILE_FIGURES += ["functions_changed", *PROFILE]
FILE_COLUMNS = ["sha", "path", "old_path", "status", "language", *_FILE_FIGURES]
FILE_COLUMNS += ["missing_blob", "analysis_failed", "old_blob", "new_blob"]
_ABSENT = object()  # a blob the repository does not hold (no figures at all)


def _figures(git_dir, wanted, rows, cache: Path, workers, progress) -> dict:
    """lizard's figures of each ``(blob, language)`` of *wanted*: from the cache, else
    analysed (blobs read in one ``cat-file --batch``) and stored. Blobs the repository does
    not hold are absent from the result."""
    with _open(cache) as con:
        found = _read(con, wanted)
    todo = sorted(wanted - found.keys())
    if todo:
        name: dict[str, str] = {}
        for _, f, lang in rows:  # a file name of each language, for lizard's reader
            name.setdefault(lang, posixpath.basename(f.path))
        blobs = iter_blobs(git_dir, [blob for blob, _ in todo])
        items = (
            (f"{blob}:{lang}", name[lang], content)
            for (blob, lang), (_, content) in zip(todo, blobs, strict=True)
            if content is not None
        )
        bar = tqdm(total=len(todo), unit="blob", desc="analysing code", disable=not progress)
        new: dict = {}
        with bar:
            for key, q in analyze_many(items, workers):
                blob, lang = key.split(":", 1)
                new[(blob, lang)] = q
                bar.update(1)
                if len(new) >= _SAVE_EVERY:  # an interrupted run keeps what it analysed
                    _save(cache, new, found)
            _save(cache, new, found)
    return found


def _save(cache: Path, new: dict, found: dict) -> None:
    """Store *new* figures (one transaction), move them into *found*, empty *new*."""
    with _open(cache) as con, transaction(con):
        _write(con, new)
    found.update(new)
    new.clear()


def _prepare(con: duckdb.DuckDBPyConnection) -> None:
    figures = ", ".join(f"{c} BIGINT" for c in _FIGURES[:-1])
    con.execute(
        "CREATE TABLE IF NOT EXISTS q_blobs (blob VARCHAR, language VARCHAR, lizard VARCHAR, "
        f"{figures}, signatures BLOB)"
    )
    copies = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'q_copies'"
        ).fetchall()
    }
    if copies and not copies >= {"sha", *COPY_COLUMNS}:  # an older layout: made anew
        con.execute("DROP TABLE q_copies")
    con.execute(
        "CREATE TABLE IF NOT EXISTS q_copies (tip VARCHAR, version VARCHAR, sha VARCHAR, "
        "lines_copied BIGINT, tree_windows BIGINT, tree_duplicated_windows BIGINT)"
    )
    con.execute("SELECT count(*) FROM q_blobs").fetchall()
    con.execute("SELECT count(*) FROM q_copies").fetchall()


def _open(path: Path) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    """The quality cache, opened for one read or write (moved aside if DuckDB cannot use
    it, as every cache of this project)."""
    return opened(path, "quality cache", _prepare)


def _read(con, wanted: Iterable[tuple[str, str]]) -> dict:
    keys = list(wanted)
    if not keys:
        return {}
    asked = pa.table({"blob": [b for b, _ in keys], "language": [lang for _, lang in keys]})
    con.register("asked", asked)
    got = con.execute(
        f"SELECT q.blob, q.language, {', '.join(_FIGURES)} FROM q_blobs q "
        "SEMI JOIN asked USING (blob, language) WHERE q.lizard = ?",
        [LIZARD_VERSION],
    ).fetchall()
    con.unregister("asked")
    # a row without figures: lizard failed on that blob (None, not analysed again)
    return {
        (r[0], r[1]): None if r[2] is None else BlobQuality._make([*r[2:-1], bytes(r[-1])])
        for r in got
    }


def _write(con, figures: dict) -> None:
    if not figures:
        return
    columns: dict[str, list] = {"blob": [], "language": [], "lizard": []}
    columns |= {c: [] for c in _FIGURES}
    for (blob, lang), q in figures.items():
        columns["blob"].append(blob)
        columns["language"].append(lang)
        columns["lizard"].append(LIZARD_VERSION)
        for c, v in zip(_FIGURES, q or [None] * len(_FIGURES), strict=True):
            columns[c].append(v)
    types = {c: pa.int64() for c in _FIGURES[:-1]} | {_FIGURES[-1]: pa.binary()}
    frame = pa.table(  # noqa: F841 (read by DuckDB below)
        {c: pa.array(v, types.get(c, pa.string())) for c, v in columns.items()}
    )
    con.execute(
        f"INSERT INTO q_blobs SELECT blob, language, lizard, {', '.join(_FIGURES)} FROM frame"
    )


COPY_COLUMNS = ["lines_copied", "tree_windows", "tree_duplicated_windows"]


def copies_table(
    git_dir: str, tip: str | None, cache: Path, files: pd.DataFrame, progress: bool = False
) -> pd.DataFrame:
    """:data:`COPY_COLUMNS` (:func:`aiimpact.quality.copies.copied_lines`) of each commit
    of *files* (the :func:`quality_files` table, newest first, as git lists them) that
    changed a source file, indexed by sha; stored in the quality cache for *tip* (one tip
    at a time)."""
    columns = ", ".join(COPY_COLUMNS)
    with _open(cache) as con:
        stored = con.execute(
            f"SELECT sha, {columns} FROM q_copies WHERE tip = ? AND version = ?",
            [tip, COPIES_VERSION],
        ).df()
    if len(stored):
        return stored.set_index("sha").astype("Int64")
    source = files[files["language"].notna()]
    changes: dict[str, list] = {}
    for row in source[::-1].itertuples(index=False):  # oldest first
        old_path = row.old_path if isinstance(row.old_path, str) else None
        blobs = [b if isinstance(b, str) else None for b in (row.old_blob, row.new_blob)]
        changes.setdefault(row.sha, []).append((row.path, old_path, *blobs))
    found = copied_lines(git_dir, list(changes.items()), progress)
    table = pd.DataFrame.from_dict(found, orient="index", columns=COPY_COLUMNS)
    table = table.rename_axis("sha").astype("Int64")
    with _open(cache) as con, transaction(con):
        con.execute("DELETE FROM q_copies")
        frame = pa.table(  # noqa: F841 (read by DuckDB below)
            {"sha": list(found), **{c: pa.array(table[c], pa.int64()) for c in COPY_COLUMNS}}
        )
        con.execute(
            f"INSERT INTO q_copies SELECT ?, ?, sha, {columns} FROM frame", [tip, COPIES_VERSION]
        )
    return table


def quality_commits(
    files: pd.DataFrame,
    file_changes: pd.DataFrame,
    merges: Collection[str] = (),
    copies: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per commit (one row per sha of *file_changes*, the ``Repo.file_changes`` table):
    ``complexity_delta``, ``nloc_delta`` (lizard's lines of code, after minus before) and
    ``functions_changed`` summed over its files lizard reads,
    ``dmm_unit_size``, ``dmm_unit_complexity`` and ``dmm_unit_interfacing`` (PyDriller's
    proportion of good change: lines of code moving into low-risk functions, or out of the
    others, over all that moved; NA when none moved, for a merge, and when no file lizard
    reads was changed) with the summed deltas they are made of (:data:`PROFILE`, so that a
    PR's DMM can be made from its commits' sums), and ``test_lines_added``,
    ``source_lines_added`` (:func:`is_test`; source: a file lizard reads that is not a
    test). A commit with a missing blob among its source files has NA figures and
    ``missing_blob`` (a commit that changed no file lizard reads has NA figures too, and
    not ``missing_blob``: nothing to measure); *merges* have NA throughout (what they bring
    in is counted on the merged branch's commits)."""
    shas = pd.Index(file_changes["sha"].unique(), name="sha")
    measured = files[files["language"].notna()]
    g = measured.groupby("sha")
    out = pd.DataFrame(index=shas)
    unknown = g["missing_blob"].any() | g["analysis_failed"].any()
    for c in ("complexity_delta", "nloc_delta", "functions_changed", *PROFILE):
        total = g[c].sum(min_count=1).where(~unknown)
        out[c] = total.reindex(shas).astype("Int64")
    for p in PROPERTIES:
        out[f"dmm_unit_{p}"] = good_share(out[f"{p}_low"], out[f"{p}_high"])
    paths = file_changes["path"].tolist()
    fc = file_changes.assign(
        test=np.array([is_test(p) for p in paths], dtype=bool),
        source=np.array([language(posixpath.basename(p)) is not None for p in paths], dtype=bool),
    )
    added = fc["insertions"].astype("Float64")
    for c, kind in (
        ("test_lines_added", fc["test"]),
        ("source_lines_added", fc["source"] & ~fc["test"]),
    ):
        lines = added.where(kind, 0)  # NA only where a file of that kind has unknown counts
        total = (
            lines.fillna(0).groupby(fc["sha"]).sum().where(~lines.isna().groupby(fc["sha"]).any())
        )
        out[c] = total.reindex(shas).round().astype("Int64")
    for c in ("missing_blob", "analysis_failed"):
        out[c] = g[c].any().reindex(shas, fill_value=False).astype("boolean")
    if copies is not None:
        known = ~out["missing_blob"].astype(bool)
        for c in COPY_COLUMNS:
            out[c] = copies[c].reindex(shas).astype("Int64").where(known)
    out.loc[out.index.isin(list(merges))] = pd.NA
    return out.reset_index()


def good_share(low: pd.Series, high: pd.Series) -> pd.Series:
    """PyDriller's ``_good_change_proportion`` of the deltas *low* and *high* (lines of code
    of low-risk and of other functions, after minus before): the good change over all
    change; NA where nothing moved."""
    lo, hi = low.astype("Float64"), high.astype("Float64")
    good = lo.clip(lower=0) + (-hi).clip(lower=0)
    bad = (-lo).clip(lower=0) + hi.clip(lower=0)
    total = good + bad
    return (good / total.where(total > 0)).astype("Float64")
