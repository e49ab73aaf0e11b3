"""Mining: walk a repository's history into its cache store, then read the tables back.

:class:`Miner` does what :class:`~aiimpact.Repo`'s ``commits`` and ``file_changes`` need:
it resolves the revision, reuses every commit the store already has (incremental from the
cached tips), drops cached commits a rewritten history no longer reaches, mines the rest
in batches (an interrupted run resumes after the last finished one), tags them with the
detector, reads git-ai notes, and fills a :class:`MiningReport` with what it found
(shallow boundary, absent objects, notes, signature coverage), warning once for each.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pygit2
from tqdm.auto import tqdm

from aiimpact import schema
from aiimpact.detect.coverage import apply_notes, coverage
from aiimpact.detect.detector import IDENTITY_FIELDS, Detector, default_detector
from aiimpact.errors import (
    EmptyRepositoryWarning,
    HistoryRewrittenWarning,
    InputError,
    MissingObjectsWarning,
    TruncatedHistoryWarning,
)
from aiimpact.git.notes import read_notes
from aiimpact.git.revisions import descends, resolve, split_range
from aiimpact.git.walk import mine_commits, walk_pairs
from aiimpact.outcomes.authorship import Authorship, attribute, blame_ranges
from aiimpact.store import Store
from aiimpact.times import utc_time

COMMIT_COLUMNS = schema.columns(schema.COMMITS)
FILE_COLUMNS = schema.columns(schema.FILE_CHANGES)
TAG_COLUMNS = ["sha", *IDENTITY_FIELDS, *schema.AI_COLUMNS]
"""The stored columns a commit's AI tags are made from (a detector, git-ai notes)."""
PROGRESS_MIN = 2000
"""More commits to mine (or replay) than this shows a progress bar by default."""

# Warnings name the line of the Repo method the user called
# (Repo method -> read_once -> Miner method -> _read -> _read_from -> _mine).
_STACK = 6


@dataclass
class MiningReport:
    """What the last mining call did.

    Attributes
    ----------
    reachable : int
        Commits reachable from the revision.
    mined : int
        Commits mined by this call (the rest came from the cache).
    missing_object_commits : int
        Commits whose diff was incomplete because objects are absent from the repository.
    missing_object_files : int
        Files in those commits whose line counts are unknown (``NA`` in ``file_changes``).
    shallow : bool
        The repository is a shallow clone: history before its boundary is absent.
    notes : int
        Commits (in the table) with a git-ai note; 0 when the repository has none (their
        ``ai_lines`` is then NA: unknown, not zero).
    coverage : pandas.DataFrame or None
        How many commits each AI signature matched (see :func:`aiimpact.coverage`).
    unresolved_reverts : int
        Reverted commits named in messages but absent from the history.
    ghost_fixes : list of str
        Fixes with nothing to blame (they only add lines).
    unfollowed_files : int
        Files the line history (churn, content reverts, SZZ) does not follow because some of
        their blobs are absent (a partial clone or an incomplete mirror): their lines count
        nowhere, in every commit.
    unfollowed_commits : int
        Commits that touch those files (their other files are followed).
    line_history : str
        Where the line history (and the outcomes table) came from: replayed in full (and
        why), extended from a stored tip by the new commits, read from the outcome store,
        or kept in memory; empty when none was needed.
    szz_method : str
        How the last SZZ call linked fixes to inducing commits, and why: ``line history``
        (one at hand, or many fixes) or ``blame`` (per-fix ``git blame`` at each fix's
        parent, for a few fixes without a line history).
    prs : dict
        With PR data (``commits(prs=...)``, ``outcomes(prs=...)``): commits ``linked`` to a
        pull request, by how (``via``), and the AI-attributed commits by the source of their
        attribution (``commit``, ``pr``, ``both``) with their shares (``share_*``).
    """

    reachable: int = 0
    mined: int = 0
    missing_object_commits: int = 0
    missing_object_files: int = 0
    shallow: bool = False
    notes: int = 0
    coverage: pd.DataFrame | None = None
    unresolved_reverts: int = 0
    ghost_fixes: list = field(default_factory=list)
    unfollowed_files: int = 0
    unfollowed_commits: int = 0
    line_history: str = ""
    szz_method: str = ""
    prs: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        """One line: lists and tables are shown by their size (a repository can have
        thousands of ghost fixes), the rest as they are."""
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, pd.DataFrame):
                text = f"<{len(value)} rows>"
            elif isinstance(value, list) and len(value) > 3:
                text = f"<{len(value)} items: {', '.join(map(str, value[:3]))}, ...>"
            else:
                text = repr(value)
            shown.append(f"{f.name}={text}")
        return f"MiningReport({', '.join(shown)})"


def one_report(method):
    """Decorate a method of an object with ``last_report``: a public call and the calls it
    makes fill one :class:`MiningReport` (a nested call does not start a new one)."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        if self._in_call:
            return method(self, *args, **kwargs)
        self.last_report, self._in_call, self._read_once = MiningReport(), True, {}
        try:
            return method(self, *args, **kwargs)
        finally:
            self._in_call, self._read_once = False, {}

    return call


def read_once(owner, table: str, *args) -> pd.DataFrame:
    """``owner._miner().<table>(*args, owner.last_report)``, read once per public call
    (:func:`one_report`): ``Repo.outcomes`` reads ``file_changes`` three times, and each
    read opens and checks the store; the reads after the first get a copy of it."""
    memo = owner._read_once
    key = (table, *args)
    if key not in memo:
        memo[key] = getattr(owner._miner(), table)(*args, owner.last_report)
    return memo[key].copy()


@dataclass
class Miner:
    """Mines one repository into the store at *cache_path* and reads its tables.

    *name* fills the ``repo`` column; *identity* (the URL or the real path of the git
    directory) guards the store against being read for another repository. The other
    fields are :class:`~aiimpact.Repo`'s options of the same names.
    """

    repo: pygit2.Repository
    git_dir: str
    name: str
    identity: str
    cache_path: Path
    renames: bool = False
    workers: int | None = None
    progress: bool | None = None
    detector: Detector | None = None
    batch_size: int = 5000

    def commits(self, rev: str, since, until, report: MiningReport) -> pd.DataFrame:
        """The ``commits`` table of *rev* (see :meth:`aiimpact.Repo.commits`)."""
        df = self._read(rev, "commits", since, until, report, also=self._notes)
        if df is None:
            return schema.empty(schema.COMMITS)
        df, notes = df
        df.insert(0, "repo", self.name)
        return schema.conform(self._tagged(df, notes, report)[COMMIT_COLUMNS], schema.COMMITS)

    def tags(self, shas, ends: list[str], report: MiningReport) -> pd.DataFrame:
        """The AI tags of the commits *shas*, equal to their rows of :meth:`commits`.

        Columns ``sha, message, author_name, author_email, committer_name,
        committer_email, ai_*`` and ``ai_lines``, one row per sha, by sha. Only those rows
        are read from the store; when some are not stored, the revisions *ends* (which
        must reach them) are mined in turn until they are. git-ai notes and the detector
        are applied as in :meth:`commits`; ``report.notes`` and ``report.coverage`` are
        those of these commits.
        """
        df, notes = self._read(ends, "commits", None, None, report, self._notes, sorted(set(shas)))
        return schema.conform(self._tagged(df, notes, report), schema.COMMITS)

    def authorship(self, ranges: list[str], paths, report: MiningReport) -> list[Authorship]:
        """The authorship share of each of *ranges* (see :meth:`aiimpact.Repo.authorship`).

        Every (range, file) blame runs in one pool; then one store read gives the tags of
        the commits the blames name (:meth:`tags`, mining the ranges' ends, newest range
        first, only if some of those commits are not stored).
        """
        ends = []
        for rev_range in ranges:
            start, end = split_range(rev_range)
            for rev in (start, end):  # a clear error for a revision that does not exist
                resolve(self.repo, self.git_dir, self.name, rev)
            ends.append(end)
        blamed = blame_ranges(self.git_dir, list(ranges), paths, self.workers)
        shas = sorted(set().union(*(b.shas() for b in blamed)))
        # tags(), inline: the mining's warnings then name the line of the Repo method
        df, notes = self._read(ends[::-1], "commits", None, None, report, self._notes, shas)
        tags = self._tagged(df, notes, report)
        return [attribute(b, tags, stacklevel=2) for b in blamed]

    def _tagged(self, df: pd.DataFrame, notes: dict, report: MiningReport) -> pd.DataFrame:
        """*df* (stored commit rows) tagged by the detector, with git-ai *notes* applied."""
        detector = self.detector or default_detector()
        if detector.fingerprint != default_detector().fingerprint:
            detector.tag(df)
        report.notes = apply_notes(df, notes, detector)
        report.coverage = coverage(df, detector)
        return df

    def file_changes(self, rev: str, since, until, report: MiningReport) -> pd.DataFrame:
        """The ``file_changes`` table of *rev* (see :meth:`aiimpact.Repo.file_changes`)."""
        df = self._read(rev, "file_changes", since, until, report)
        if df is None:
            return schema.empty(schema.FILE_CHANGES)
        df.insert(0, "repo", self.name)
        return schema.conform(df[FILE_COLUMNS], schema.FILE_CHANGES)

    def parents(self, rev: str, report: MiningReport) -> pa.ChunkedArray:
        """The ``parents`` column of the commits reachable from *rev* (:meth:`Store.parents`):
        what a full line replay counts each commit's children from, without holding the
        whole commits table (messages and all: 50 MB on git/git) while it runs."""
        found = self._read(rev, "parents", None, None, report)
        return pa.chunked_array([], schema.TEXTS) if found is None else found

    def _notes(self, store: Store, commits: pd.DataFrame) -> dict:
        """git-ai notes of *commits*, parsing only note blobs the cache has not seen."""
        notes, new = read_notes(self.git_dir, store.cached_notes(), set(commits["sha"].tolist()))
        store.save_notes(new)
        return notes

    def _read(
        self,
        rev: str | list[str],
        table: str,
        since,
        until,
        report: MiningReport,
        also: Callable[[Store, pd.DataFrame], dict] | None = None,
        shas: list[str] | None = None,
    ):
        """Mine what is missing, then read *table*; a cache that fails to read is rebuilt.

        The cache file is opened for the call only, so other processes (a notebook and the
        CLI, say) can use the same cache between calls. *also(store)*, if given, runs in the
        same session and the result is ``(table, also(store, table))``. With *shas*, only
        their ``commits`` rows (:data:`TAG_COLUMNS`) are read, and *rev* is a list of
        revisions mined in turn only while some of them are not stored.
        """
        since, until = utc_time(since, "since"), utc_time(until, "until")
        try:  # opening the store runs queries too (creating it, checking it)
            with Store(self.cache_path, self.identity, f"renames={self.renames}") as store:
                return self._read_from(store, rev, table, since, until, report, also, shas)
        except (duckdb.InterruptException, RuntimeError) as exc:
            if "interrupt" in str(exc).lower() or isinstance(exc, duckdb.Error):
                raise KeyboardInterrupt from None  # Ctrl-C inside a DuckDB query
            raise

    def _read_from(self, store: Store, rev, table, since, until, report, also, shas=None):
        for attempt in (1, 2):
            try:
                store.retag(default_detector())
                if shas is None:
                    tip = self._mine(rev, store, report)
                    if tip is None:
                        return None
                    df = getattr(store, table)(tip, since, until)
                else:
                    df, mined = store.commit_rows(shas, TAG_COLUMNS), False
                    for end in rev:
                        if len(df) == len(shas):
                            break
                        self._mine(end, store, report)
                        df, mined = store.commit_rows(shas, TAG_COLUMNS), True
                    if not mined:
                        self._check_shallow(report, _STACK)
                return df if also is None else (df, also(store, df))
            except duckdb.InterruptException:
                raise
            except duckdb.Error as exc:
                if _is_disk_full(exc):
                    raise InputError(
                        f"cannot write the cache {self.cache_path}: no space left on "
                        "device; the finished batches are kept and a rerun resumes"
                    ) from None
                if attempt == 2 or not _is_corruption(exc):
                    raise
                store.rebuild(f"reading it failed: {type(exc).__name__}: {exc}")
        raise AssertionError("unreachable")

    def _mine(self, rev: str, store: Store, report: MiningReport) -> str | None:
        tip = resolve(self.repo, self.git_dir, self.name, rev)
        if tip is None:
            warnings.warn(
                f"{self.name} has no commits (HEAD is unborn); the table is empty",
                EmptyRepositoryWarning,
                stacklevel=_STACK,
            )
            return None
        self._check_shallow(report, _STACK + 1)
        if store.has_tip(tip):
            return tip
        stored = store.tips()
        gone = [t for t in stored if t not in self.repo]
        ancestors = [t for t in stored if t not in gone and descends(self.repo, tip, t)]
        try:
            pairs = walk_pairs(
                self.repo, pygit2.Oid(hex=tip), [pygit2.Oid(hex=t) for t in ancestors]
            )
        except (KeyError, pygit2.GitError) as exc:
            raise InputError(f"cannot walk the history of {self.name}: {exc}") from None
        if gone:
            dropped = store.forget_tips(gone, keep=[p[0] for p in pairs])
            warnings.warn(
                f"{self.name}: the history was rewritten since it was cached ({len(gone)} "
                f"cached tip(s) no longer exist); {dropped} cached commit(s) that are no "
                "longer reachable were dropped, the rest is reused",
                HistoryRewrittenWarning,
                stacklevel=_STACK,
            )
        known = store.known_shas()
        todo = [p for p in pairs if p[0] not in known]
        report.reachable, report.mined = len(pairs), len(todo)
        show = self.progress if self.progress is not None else len(todo) > PROGRESS_MIN
        with tqdm(
            total=len(todo), unit="commit", desc=f"mining {self.name}", disable=not show
        ) as bar:
            for batch in mine_commits(
                self.repo,
                self.git_dir,
                todo,
                renames=self.renames,
                workers=self.workers,
                batch_size=self.batch_size,
                on_progress=bar.update,
            ):
                c = batch.commits
                c.update(default_detector().columns(*(c[f] for f in IDENTITY_FIELDS)))
                missing = [m for m in c["missing_files"] if m]
                report.missing_object_commits += len(missing)
                report.missing_object_files += sum(m for m in missing if m > 0)
                store.write_batch(batch.commits, batch.files)
        store.record_tip(tip, [p[0] for p in pairs], [t for t in ancestors if t != tip])
        self.repo.free()  # the walk's object cache and pack windows (git/git: 0.4 GiB)
        if report.missing_object_commits:
            warnings.warn(
                f"{self.name}: objects are missing from the repository (partial clone or "
                f"incomplete mirror): {report.missing_object_commits} commit(s) have "
                f"{report.missing_object_files} file(s) with unknown line counts (NA in "
                "file_changes); their commit totals exclude those files",
                MissingObjectsWarning,
                stacklevel=_STACK,
            )
        return tip

    def _check_shallow(self, report: MiningReport, stacklevel: int) -> None:
        report.shallow = self.repo.is_shallow
        if report.shallow:
            warnings.warn(
                f"{self.name} is a shallow clone: history is truncated at "
                f"{_count_lines(Path(self.git_dir) / 'shallow')} boundary commit(s), which are "
                "diffed against the empty tree",
                TruncatedHistoryWarning,
                stacklevel=stacklevel,
            )


def _is_disk_full(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "no space left" in text or "disk full" in text or "disk is full" in text


def _is_corruption(exc: duckdb.Error) -> bool:
    """DuckDB errors that mean the file's content cannot be trusted (not: disk full, lock)."""
    if isinstance(exc, duckdb.SerializationException | duckdb.InternalException):
        return True
    text = str(exc).lower()
    return any(s in text for s in ("corrupt", "checksum", "not a valid duckdb", "invalid"))


def _count_lines(path: Path) -> int:
    try:
        return sum(1 for line in path.read_text().splitlines() if line.strip())
    except OSError:
        return 0
