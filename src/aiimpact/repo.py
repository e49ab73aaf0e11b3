"""``Repo``: open a repository, mine it once into the cache, return tidy tables."""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pandas as pd
import pygit2
from tqdm.auto import tqdm

from aiimpact import schema
from aiimpact.detect.coverage import apply_notes, coverage
from aiimpact.detect.detector import IDENTITY_FIELDS, Detector, default_detector
from aiimpact.errors import (
    EmptyRepositoryWarning,
    GitCommandError,
    HistoryRewrittenWarning,
    InputError,
    MissingObjectsWarning,
    NotARepositoryError,
    RevisionError,
    TruncatedHistoryWarning,
)
from aiimpact.git.notes import read_notes
from aiimpact.git.safety import open_repository, run_git, run_network_git
from aiimpact.git.walk import mine_commits, walk_pairs
from aiimpact.outcomes.authorship import Authorship, authorship
from aiimpact.outcomes.churn import churn_table, window_seconds
from aiimpact.outcomes.lines import LineHistory, line_history
from aiimpact.outcomes.reverts import CommitIndex, message_reverts, reverts_table
from aiimpact.outcomes.szz import find_fixes, szz
from aiimpact.outcomes.table import outcomes_table
from aiimpact.store import Store, default_cache_dir, repo_key
from aiimpact.times import utc_time

COMMIT_COLUMNS = schema.columns(schema.COMMITS)
FILE_COLUMNS = schema.columns(schema.FILE_CHANGES)
_URL = re.compile(r"^([a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.I)
_PROGRESS_MIN = 2000


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


def _one_report(method):
    """A public call and the calls it makes fill one :class:`MiningReport`."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        if self._in_call:
            return method(self, *args, **kwargs)
        self.last_report, self._in_call = MiningReport(), True
        try:
            return method(self, *args, **kwargs)
        finally:
            self._in_call = False

    return call


class Repo:
    """A git repository to mine, with its tables cached on disk.

    Parameters
    ----------
    path_or_url : str or os.PathLike
        A local repository (bare or with a work tree), or a URL (``https://``, ``ssh://``,
        ``file://``, ``git@host:path``) that is cloned (``--mirror``) into the cache dir.
    cache_dir : str or os.PathLike, optional
        Cache root; default ``$AIIMPACT_CACHE_DIR``, else the platformdirs user cache dir.
    renames : bool, default False
        Detect renames (``-M``). Off by default: counts then equal
        ``git log --numstat --diff-merges=first-parent --no-renames``.
    workers : int, optional
        Parallel git processes for line statistics (default: number of CPUs).
    progress : bool, optional
        Show a progress bar on stderr; default: only when more than 2,000 commits are mined.
    detector : Detector, optional
        The AI-assistance detector used for the ``ai_*`` columns (default: built-in).
    update : bool, default False
        For a URL, fetch new commits into the existing clone before mining.
    batch_size : int, default 5000
        Commits written to the cache per transaction: an interrupted run keeps every
        finished batch and the next run resumes after them.
    name : str, optional
        The repository id written to the ``repo`` column. Default: ``owner/name`` for a URL
        with both (``https://github.com/owner/name``), else the directory name.

    Examples
    --------
    >>> import aiimpact as ai
    >>> repo = ai.Repo(".")                                   # doctest: +SKIP
    >>> commits = repo.commits()                              # doctest: +SKIP
    >>> commits.groupby("ai_assisted")["insertions"].median()  # doctest: +SKIP
    """

    def __init__(
        self,
        path_or_url: str | os.PathLike,
        cache_dir: str | os.PathLike | None = None,
        *,
        renames: bool = False,
        workers: int | None = None,
        progress: bool | None = None,
        detector: Detector | None = None,
        update: bool = False,
        batch_size: int = 5000,
        name: str | None = None,
    ) -> None:
        self.cache_root = default_cache_dir(cache_dir)
        self.renames = renames
        self.workers = workers
        self.progress = progress
        self.detector = detector
        self.batch_size = batch_size
        self.last_report = MiningReport()
        self._in_call = False
        source = os.fspath(path_or_url)
        if _URL.match(source):
            self.url: str | None = source
            self.name = _name_from(source.rstrip("/"))
            identity = source.rstrip("/")
            git_dir = self._clone(source, self.cache_root / repo_key(self.name, identity), update)
        else:
            self.url = None
            git_dir = _find_git_dir(Path(source))
            identity = os.path.realpath(git_dir)
            self.name = _name_from(
                str(Path(identity).parent) if Path(identity).name == ".git" else identity
            )
        self.name = name or self.name
        self.git_dir = str(git_dir)
        self.identity = identity
        self._repo = _open(self.git_dir)
        self._histories: dict[tuple[str, int], LineHistory] = {}
        self.cache_path = (
            self.cache_root / repo_key(self.name, identity) / f"mine-renames{int(renames)}.duckdb"
        )

    def __repr__(self) -> str:
        return f"Repo({self.url or self.git_dir!r}, name={self.name!r})"

    # -- public tables -------------------------------------------------------------------
    @_one_report
    def commits(self, rev: str = "HEAD", since=None, until=None) -> pd.DataFrame:
        """One row per commit reachable from *rev*, newest first.

        Parameters
        ----------
        rev : str, default "HEAD"
            Any revision git understands that names a commit (branch, tag, sha, ``HEAD~3``).
        since, until : str, datetime or pandas.Timestamp, optional
            Keep commits whose committer time is within ``[since, until]`` (naive = UTC).

        Returns
        -------
        pandas.DataFrame
            Columns ``repo, sha, parents, is_merge, author_name, author_email, author_time,
            committer_name, committer_email, commit_time, subject, message, trailers,
            files_changed, insertions, deletions, ai_assisted, ai_tools, ai_modes,
            ai_evidence``. Statistics are against the first parent, as
            ``git log --numstat --diff-merges=first-parent --no-renames`` counts them.

        Examples
        --------
        >>> df = ai.Repo("path/to/repo").commits(since="2025-01-01")  # doctest: +SKIP
        """
        df = self._read(rev, "commits", since, until, also=self._notes)
        if df is None:
            return schema.empty(schema.COMMITS)
        df, notes = df
        df.insert(0, "repo", self.name)
        detector = self.detector or default_detector()
        if detector.fingerprint != default_detector().fingerprint:
            detector.tag(df)
        self.last_report.notes = apply_notes(df, notes, detector)
        self.last_report.coverage = coverage(df, detector)
        return schema.conform(df[COMMIT_COLUMNS], schema.COMMITS)

    def _notes(self, store: Store, commits: pd.DataFrame) -> dict:
        """git-ai notes of *commits*, parsing only note blobs the cache has not seen."""
        notes, new = read_notes(self.git_dir, store.cached_notes(), set(commits["sha"]))
        store.save_notes(new)
        return notes

    @_one_report
    def file_changes(self, rev: str = "HEAD", since=None, until=None) -> pd.DataFrame:
        """One row per (commit, file) for the commits reachable from *rev*.

        Columns ``repo, sha, path, old_path, change_type, insertions, deletions, is_binary``.
        ``change_type`` is git's status letter: A, M, D, T (type change), and R/C only with
        ``renames=True``. Binary files count 0 lines. Files whose blobs are absent from the
        repository have ``NA`` counts (see :attr:`last_report`).
        """
        df = self._read(rev, "file_changes", since, until)
        if df is None:
            return schema.empty(schema.FILE_CHANGES)
        df.insert(0, "repo", self.name)
        return schema.conform(df[FILE_COLUMNS], schema.FILE_CHANGES)

    # -- outcomes ------------------------------------------------------------------------
    @_one_report
    def lines(self, rev: str = "HEAD", revert_window: str = "30D") -> LineHistory:
        """The line-level history of *rev* (one ``git log -p`` replay, kept per revision).

        *revert_window* bounds how far back a partial revert may reach. Files some of whose
        blobs are absent (a partial clone, an incomplete mirror) are not followed at all;
        :attr:`last_report` counts them (``unfollowed_files``, ``unfollowed_commits``).
        """
        tip = self.resolve(rev)
        if tip is None:
            return LineHistory()
        key = (tip, window_seconds(revert_window))
        files = self.file_changes(rev)
        missing = files[files["insertions"].isna()]
        unfollowed = set(missing["path"]) | set(missing["old_path"].dropna())
        report = self.last_report
        # counted from the table, so a run that reads the cache says it too
        report.missing_object_files = max(report.missing_object_files, len(missing))
        report.missing_object_commits = max(report.missing_object_commits, missing["sha"].nunique())
        report.unfollowed_files = len(unfollowed)
        touching = files["path"].isin(unfollowed) | files["old_path"].isin(unfollowed)
        report.unfollowed_commits = files.loc[touching, "sha"].nunique()
        if key not in self._histories:
            if unfollowed:
                warnings.warn(
                    f"{self.name}: {len(unfollowed)} file(s) with absent blobs are not followed "
                    f"by the line history ({report.unfollowed_commits} commit(s) touch them): "
                    "churn, content reverts and SZZ leave their lines out",
                    MissingObjectsWarning,
                    stacklevel=3,
                )
            self._histories[key] = line_history(
                self.git_dir, tip, revert_window=key[1], exclude=unfollowed,
                progress=self.progress, progress_min=_PROGRESS_MIN,
            )  # fmt: skip
        return self._histories[key]

    @_one_report
    def reverts(self, rev: str = "HEAD", window: str = "30D") -> pd.DataFrame:
        """One row per (revert, reverted) pair: declared in messages, or found in content.

        ``kind`` is ``message`` (``evidence``: sha, subject or conventional), ``content``
        (the revert's diff is the exact inverse of the earlier commit's) or ``partial`` (within
        *window*, at least half of the earlier commit's added lines deleted and half of its
        removed lines restored; ``fraction`` is the share deleted). ``is_reland`` marks a
        revert of a revert. ``time_to_revert`` is in hours.

        Examples
        --------
        >>> ai.Repo(".").reverts().query("kind == 'message'")  # doctest: +SKIP
        """
        window_seconds(window)  # a bad window is refused before any mining
        return schema.conform(self._reverts(self.commits(rev), rev, window), schema.REVERTS)

    def _reverts(self, commits: pd.DataFrame, rev: str, window: str) -> pd.DataFrame:
        declared, unresolved = message_reverts(commits)
        self.last_report.unresolved_reverts = unresolved
        history = self.lines(rev, revert_window=window)
        seen = set(zip(declared["revert_sha"], declared["reverted_sha"], strict=True))
        rows = []
        for kind, pairs in (
            ("content", [(r, c, 1.0) for r, c in history.content_reverts]),
            ("partial", history.partial_reverts),
        ):
            for r, c, fraction in pairs:
                pair = (history.commits[r], history.commits[c])
                if pair not in seen:
                    seen.add(pair)
                    rows.append((*pair, kind, fraction, "lines"))
        found = reverts_table(commits, rows)
        return (
            pd.concat([declared, found], ignore_index=True)
            .sort_values(["revert_time", "revert_sha", "kind"])
            .reset_index(drop=True)
        )

    @_one_report
    def churn(self, window: str = "14D", rev: str = "HEAD") -> pd.DataFrame:
        """Per commit: lines added, lines churned within *window* (NA when the commit is
        younger than the window), the churn rate, and lines still alive at *rev*.

        Examples
        --------
        >>> ai.Repo(".").churn("30D")[["sha", "lines_added", "churn_30d"]]  # doctest: +SKIP
        """
        window_seconds(window)  # a bad window is refused before the replay
        return churn_table(self.lines(rev), (window,))

    @_one_report
    def fixes(self, rev: str = "HEAD") -> pd.DataFrame:
        """Fix commits with their evidence (keyword, issue reference, ``Fixes:`` trailer)."""
        return find_fixes(self.commits(rev))

    @_one_report
    def szz(
        self,
        fixes=None,
        rev: str = "HEAD",
        variant: str = "l",
        use_trailers: bool = True,
        context: bool = True,
        issue_dates=None,
    ) -> pd.DataFrame:
        """Bug-inducing commits of *fixes* (default: :meth:`fixes`).

        *issue_dates* maps fix shas to the date their bug was reported: candidates
        committed after it are dropped (they cannot have caused it).

        A fix whose ``Fixes: <sha>`` trailer names its inducing commit is linked to it
        (``variant="trailer"``) when *use_trailers*; the others by line history (see
        :mod:`aiimpact.outcomes.szz`). The default (``variant="l"``, ``context=True``) was
        the most accurate on the ``Fixes:`` oracle of iproute2 (``benchmarks/szz_eval.py``).
        Fixes with nothing to blame are listed in ``last_report.ghost_fixes``.
        """
        links = self._szz(
            self.commits(rev), fixes, rev, variant, use_trailers, context, issue_dates
        )
        return schema.conform(links, schema.SZZ)

    def _szz(
        self, commits, fixes, rev, variant, use_trailers, context, issue_dates=None
    ) -> pd.DataFrame:
        found = find_fixes(commits)
        shas = list(found["sha"]) if fixes is None else [self.resolve(f) for f in fixes]
        named: dict[str, list[str]] = {}
        if use_trailers:
            index = CommitIndex(commits)
            for sha, targets in zip(found["sha"], found["fixes_trailer"], strict=True):
                hits = [h for h in (index.sha(t) for t in targets) if h]
                if hits and sha in shas:
                    named[sha] = hits
        merges = set(commits.loc[commits["is_merge"].astype(bool), "sha"])
        rest = [s for s in shas if s not in named]
        links, ghosts = szz(
            self.lines(rev),
            rest,
            merges=merges,
            variant=variant,
            context=context,
            issue_dates=issue_dates,
        )
        trailer_rows = [(f, t, None, pd.NA, "trailer") for f, ts in named.items() for t in ts]
        if trailer_rows:
            extra = pd.DataFrame(trailer_rows, columns=links.columns[1:])
            links = pd.concat([links, extra.assign(repo=None)[links.columns]], ignore_index=True)
        links["repo"] = self.name
        self.last_report.ghost_fixes = ghosts
        return links

    @_one_report
    def authorship(self, rev_range: str, paths=None) -> Authorship:
        """Who wrote the lines of the files at the end of *rev_range* (``"A..B"``).

        Every line is attributed as ``git blame -M100 -C100 A..B`` does (files blamed in
        parallel); lines from before ``A`` are boundary lines and are not counted. Returns an
        :class:`~aiimpact.outcomes.authorship.Authorship` with ``total_lines``,
        ``ai_lines``, ``ai_share`` and DataFrames ``by_file``, ``by_tool``, ``by_author``.

        Examples
        --------
        >>> ai.Repo(".").authorship("v1.0..v1.1").ai_share  # doctest: +SKIP
        """
        start, sep, end = rev_range.partition("..")
        if not sep or not end:
            raise InputError(f"range {rev_range!r} must be of the form A..B")
        for rev in (start, end):
            self.resolve(rev)  # a clear error for a revision that does not exist
        return authorship(self.git_dir, rev_range, self.commits(end), paths, self.workers)

    @_one_report
    def outcomes(self, rev: str = "HEAD") -> pd.DataFrame:
        """The commit-level analysis table: the commit columns plus their outcomes.

        Added columns: ``reverted`` (a message or content revert that still stands),
        ``time_to_revert`` (hours), ``partially_reverted``, ``reverted_within_30d`` and
        ``reverted_within_90d``, ``churn_14d``, ``churn_30d``, ``churn_90d`` and their
        ``churn_rate_*``, ``lines_added``, ``lines_alive``, ``is_fix``, ``fix_inducing``,
        ``n_fixes_induced``, ``days_to_first_fix`` (censored at the newest commit in
        survival models), ``fix_inducing_within_90d``, ``author_experience`` (earlier
        commits by the author), ``file_ownership`` (share of earlier commits to the touched
        files by the author) and ``log_size``. Windowed columns are NA for every commit
        younger than their window, whether or not the event came: ``reverted`` and
        ``fix_inducing`` have no window, so recent commits look safer there.
        """
        commits = self.commits(rev)
        churn = churn_table(self.lines(rev), ("14D", "30D", "90D"))
        return outcomes_table(
            commits, self.file_changes(rev), self._reverts(commits, rev, "30D"), churn,
            find_fixes(commits), self._szz(commits, None, rev, "l", True, True),
        )  # fmt: skip

    # -- mining --------------------------------------------------------------------------
    def _read(self, rev: str, table: str, since, until, also=None):
        """Mine what is missing, then read *table*; a cache that fails to read is rebuilt.

        The cache file is opened for the call only, so other processes (a notebook and the
        CLI, say) can use the same cache between calls. *also(store)*, if given, runs in the
        same session and the result is ``(table, also(store, table))``.
        """
        since, until = utc_time(since, "since"), utc_time(until, "until")
        with Store(self.cache_path, self.identity, f"renames={self.renames}") as store:
            for attempt in (1, 2):
                try:
                    store.retag(default_detector())
                    tip = self._mine(rev, store)
                    if tip is None:
                        return None
                    df = getattr(store, table)(tip, since, until)
                    return df if also is None else (df, also(store, df))
                except (duckdb.InterruptException, RuntimeError) as exc:
                    if "interrupt" in str(exc).lower() or isinstance(exc, duckdb.Error):
                        raise KeyboardInterrupt from None  # Ctrl-C inside a DuckDB query
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

    def resolve(self, rev: str = "HEAD") -> str | None:
        """The commit sha *rev* names, or None for the unborn HEAD of an empty repository.

        Raises :class:`~aiimpact.errors.RevisionError` naming what is wrong: no such
        revision, one that names a tree, blob or tag of no commit, a commit libgit2 cannot
        parse, or an unborn HEAD (an orphan branch) in a repository with other branches.
        """
        repo = self._repo
        if rev == "HEAD" and repo.head_is_unborn:
            branches = sorted(repo.branches.local)
            if not branches:
                return None
            head = repo.references["HEAD"].target
            raise RevisionError(
                f"HEAD of {self.name} is {head}, a branch with no commits yet; the "
                f"repository has {len(branches)} other branch(es), e.g. {branches[0]!r}: "
                "name one as the revision"
            )
        obj = None
        try:
            obj = repo.revparse_single(rev)
            commit = obj.peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError) as exc:
            if "parse" in str(exc):  # libgit2 refuses the commit (a malformed time, say): git
                return self._git_resolve(rev, exc)  # accepts it, and so does the walk
            if obj is not None:
                raise RevisionError(
                    f"revision {rev!r} names a {obj.type_str} ({obj.id}), not a commit"
                ) from None
            raise RevisionError(
                f"revision {rev!r} does not exist in {self.name} ({self.git_dir})"
            ) from None
        return str(commit.id)

    def _git_resolve(self, rev: str, refused: Exception) -> str:
        done = run_git(self.git_dir, ["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                       check=False)  # fmt: skip
        if done.returncode != 0:
            raise RevisionError(f"revision {rev!r} cannot be read: {refused}") from None
        return done.stdout.decode().strip()

    def _descends(self, tip: str, ancestor: str) -> bool:
        try:
            return ancestor == tip or self._repo.descendant_of(tip, ancestor)
        except (pygit2.GitError, ValueError):  # a commit libgit2 refuses: walk it again
            return False

    def _mine(self, rev: str, store: Store) -> str | None:
        tip = self.resolve(rev)
        if tip is None:
            warnings.warn(
                f"{self.name} has no commits (HEAD is unborn); the table is empty",
                EmptyRepositoryWarning,
                stacklevel=3,
            )
            return None
        report = self.last_report
        report.shallow = self._repo.is_shallow
        if report.shallow:
            warnings.warn(
                f"{self.name} is a shallow clone: history is truncated at "
                f"{_count_lines(Path(self.git_dir) / 'shallow')} boundary commit(s), which are "
                "diffed against the empty tree",
                TruncatedHistoryWarning,
                stacklevel=3,
            )
        if store.has_tip(tip):
            return tip
        stored = store.tips()
        gone = [t for t in stored if t not in self._repo]
        ancestors = [t for t in stored if t not in gone and self._descends(tip, t)]
        try:
            pairs = walk_pairs(
                self._repo, pygit2.Oid(hex=tip), [pygit2.Oid(hex=t) for t in ancestors]
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
                stacklevel=3,
            )
        known = store.known_shas()
        todo = [p for p in pairs if p[0] not in known]
        report.reachable, report.mined = len(pairs), len(todo)
        show = self.progress if self.progress is not None else len(todo) > _PROGRESS_MIN
        with tqdm(
            total=len(todo), unit="commit", desc=f"mining {self.name}", disable=not show
        ) as bar:
            for batch in mine_commits(
                self._repo,
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
        if report.missing_object_commits:
            warnings.warn(
                f"{self.name}: objects are missing from the repository (partial clone or "
                f"incomplete mirror): {report.missing_object_commits} commit(s) have "
                f"{report.missing_object_files} file(s) with unknown line counts (NA in "
                "file_changes); their commit totals exclude those files",
                MissingObjectsWarning,
                stacklevel=3,
            )
        return tip

    def _clone(self, url: str, dest_root: Path, update: bool) -> Path:
        dest = dest_root / "repo.git"
        if dest.exists():
            if update:
                _network(["fetch", "--prune", "--quiet"], url, dest)
            return dest
        dest_root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="clone-", dir=dest_root))
        try:
            _network(["clone", "--mirror", "--quiet", "--", url, str(tmp / "r")], url)
            (tmp / "r").rename(dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dest


def _is_disk_full(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "no space left" in text or "disk full" in text or "disk is full" in text


def _is_corruption(exc: duckdb.Error) -> bool:
    """DuckDB errors that mean the file's content cannot be trusted (not: disk full, lock)."""
    if isinstance(exc, duckdb.SerializationException | duckdb.InternalException):
        return True
    text = str(exc).lower()
    return any(s in text for s in ("corrupt", "checksum", "not a valid duckdb", "invalid"))


def _network(args: list[str], url: str, git_dir: Path | None = None) -> None:
    try:
        run_network_git(args, git_dir)
    except GitCommandError as exc:
        said = str(exc).split("): ", 1)[-1]
        raise InputError(f"cannot {args[0]} {url}: {said}") from None


def _find_git_dir(path: Path) -> str:
    if not path.exists():
        raise InputError(f"{path} does not exist")
    if not path.is_dir():
        raise NotARepositoryError(f"{path} is not a git repository (it is a file)")
    if not os.access(path, os.R_OK | os.X_OK):
        raise InputError(f"{path} is not readable (permission denied)")
    # The ceiling stops discovery at *path*: a plain directory inside another repository is
    # not that repository.
    found = pygit2.discover_repository(str(path), False, str(path.resolve().parent))
    if not found:
        raise NotARepositoryError(f"{path} is not a git repository")
    return str(Path(found).resolve())


def _open(git_dir: str) -> pygit2.Repository:
    try:
        return open_repository(git_dir)
    except pygit2.GitError as exc:
        text = str(exc)
        if "permission" in text.lower():
            raise InputError(f"{git_dir} is not readable: {text}") from None
        raise NotARepositoryError(f"cannot open {git_dir} as a git repository: {text}") from None


def _name_from(s: str) -> str:
    """``owner/name`` for a URL whose path has two or more parts, else the last part."""
    if _URL.match(s) and not s.startswith("file:"):
        path = urlsplit(s).path if "://" in s else s.split(":", 1)[1]
    else:
        path = s
    parts = [p for p in path.rstrip("/").split("/") if p]
    if not parts:
        return "repo"
    parts[-1] = parts[-1].removesuffix(".git") or parts[-1]
    return "/".join(parts[-2:]) if path is not s and len(parts) >= 2 else parts[-1]


def _count_lines(path: Path) -> int:
    try:
        return sum(1 for line in path.read_text().splitlines() if line.strip())
    except OSError:
        return 0
