"""``Repo``: open a repository, mine it once into the cache, return tidy tables.

A facade over :mod:`aiimpact.git.clone`, :mod:`aiimpact.mining` and :mod:`aiimpact.outcomes`.
"""

from __future__ import annotations

import os
from functools import partial

import pandas as pd

from aiimpact import schema
from aiimpact.detect.detector import Detector, default_detector
from aiimpact.git import clone, identity, revisions
from aiimpact.mining import Miner, MiningReport, one_report, read_once
from aiimpact.outcome_store import Histories
from aiimpact.outcomes.authorship import Authorship
from aiimpact.outcomes.churn import churn_table, window_seconds
from aiimpact.outcomes.lines import LineHistory
from aiimpact.outcomes.linking import revert_pairs, szz_links
from aiimpact.outcomes.szz import find_fixes
from aiimpact.outcomes.table import outcomes_table
from aiimpact.platforms.link import with_prs
from aiimpact.platforms.pr_outcomes import pr_outcomes_table
from aiimpact.quality import quality_table
from aiimpact.store import default_cache_dir


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
        Detect renames (``-M``); off, counts equal ``git log --numstat --no-renames``.
    workers : int, optional
        Parallel git processes for line statistics (default: number of CPUs).
    progress : bool, optional
        Show a progress bar on stderr; default: only when more than 2,000 commits are mined.
    detector : Detector, optional
        The AI-assistance detector used for the ``ai_*`` columns (default: built-in).
    update : bool, default False
        For a URL, fetch new commits into the existing clone before mining.
    batch_size : int, default 5000
        Commits per cache transaction: an interrupted run keeps every finished batch.
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
        self, path_or_url: str | os.PathLike, cache_dir: str | os.PathLike | None = None, *,
        renames: bool = False, workers: int | None = None, progress: bool | None = None,
        detector: Detector | None = None, update: bool = False, batch_size: int = 5000,
        name: str | None = None,
    ) -> None:  # fmt: skip
        self.cache_root = default_cache_dir(cache_dir)
        self.renames, self.workers, self.progress = renames, workers, progress
        self.detector, self.batch_size = detector, batch_size
        self.last_report, self._in_call = MiningReport(), False  # _read_once: one_report
        where = clone.locate(os.fspath(path_or_url), self.cache_root, identity.repo_key, update)
        self.url, self.name, self.identity = where.url, name or where.name, where.identity
        self.git_dir = where.git_dir
        self._repo = clone.open_repo(self.git_dir)
        key = identity.repo_key(self.name, self.identity)
        self.cache_path = self.cache_root / key / f"mine-renames{int(renames)}.duckdb"
        self.outcome_store = self.cache_root / key / "outcomes.duckdb"
        self._histories = Histories(self.git_dir, self.name, self.outcome_store)

    def __repr__(self) -> str:
        return f"Repo({self.url or self.git_dir!r}, name={self.name!r})"

    def _miner(self) -> Miner:
        options = (self.renames, self.workers, self.progress, self.detector, self.batch_size)
        return Miner(self._repo, self.git_dir, self.name, self.identity, self.cache_path, *options)

    @one_report
    def commits(self, rev: str = "HEAD", since=None, until=None, prs=None) -> pd.DataFrame:
        """One row per commit reachable from *rev*, newest first.

        Parameters
        ----------
        rev : str, default "HEAD"
            Any revision git understands that names a commit (branch, tag, sha, ``HEAD~3``).
        since, until : str, datetime or pandas.Timestamp, optional
            Keep commits whose committer time is within ``[since, until]`` (naive = UTC).
        prs : PullRequestData, optional
            Commits inherit the AI evidence of the PR they landed through, with
            ``pr_number`` and ``ai_source`` (:func:`~aiimpact.platforms.link.with_prs`).

        Returns
        -------
        pandas.DataFrame
            The columns of :data:`aiimpact.schema.COMMITS`; statistics as ``git log --numstat
            --diff-merges=first-parent --no-renames`` counts: ``commits(since="2025-01-01")``.
        """
        commits = read_once(self, "commits", rev, since, until)
        return with_prs(commits, prs, self.name, self.last_report, self.git_dir)

    @one_report
    def file_changes(self, rev: str = "HEAD", since=None, until=None) -> pd.DataFrame:
        """One row per (commit, file) for the commits reachable from *rev*: ``repo, sha, path,
        old_path, change_type, insertions, deletions, is_binary``. ``change_type`` is git's
        status letter: A, M, D, T (type change), and R/C only with ``renames=True``. Binary
        files count 0 lines; files whose blobs are absent have NA counts (``last_report``)."""
        return read_once(self, "file_changes", rev, since, until)

    @one_report
    def lines(self, rev: str = "HEAD", revert_window: str = "30D") -> LineHistory:
        """The line-level history of *rev* (one ``git log -p`` replay, stored per revision);
        *revert_window* bounds how far back a partial revert may reach. Files with absent
        blobs are not followed (``last_report.unfollowed_files`` counts them)."""
        tip = self.resolve(rev)
        if tip is None:
            return LineHistory()
        window, files = window_seconds(revert_window), self.file_changes(rev)
        parents = partial(self._miner().parents, rev, self.last_report)  # for a full replay
        return self._histories.get(tip, window, files, parents, self.progress, self.last_report)

    @one_report
    def reverts(self, rev: str = "HEAD", window: str = "30D") -> pd.DataFrame:
        """One row per (revert, reverted) pair: ``kind`` ``message`` (declared), ``content``
        (the exact inverse diff) or ``partial`` (within *window*, half of the earlier commit's
        added lines deleted and half its removed lines restored; ``fraction``: the share
        deleted). ``is_reland`` marks a revert of a revert; ``time_to_revert`` is in hours:
        ``ai.Repo(".").reverts().query("kind == 'message'")``."""
        window_seconds(window)  # a bad window is refused before any mining
        return schema.conform(self._reverts(self.commits(rev), rev, window), schema.REVERTS)

    def _reverts(self, commits: pd.DataFrame, rev: str, window: str) -> pd.DataFrame:
        table, self.last_report.unresolved_reverts = revert_pairs(commits, self.lines(rev, window))
        return table

    @one_report
    def churn(self, window: str = "14D", rev: str = "HEAD") -> pd.DataFrame:
        """Per commit: lines added, lines churned within *window* (NA when the commit is
        younger than the window), the churn rate, and lines still alive at *rev*:
        ``ai.Repo(".").churn("30D")[["sha", "lines_added", "churn_30d"]]``."""
        window_seconds(window)  # a bad window is refused before the replay
        return churn_table(self.lines(rev), (window,))

    @one_report
    def fixes(self, rev: str = "HEAD") -> pd.DataFrame:
        """Fix commits with their evidence (keyword, issue reference, ``Fixes:`` trailer)."""
        return find_fixes(self.commits(rev))

    @one_report
    def szz(
        self, fixes=None, rev: str = "HEAD", variant: str = "l", use_trailers: bool = True,
        context: bool = True, issue_dates=None,
    ) -> pd.DataFrame:  # fmt: skip
        """Bug-inducing commits of *fixes* (default: :meth:`fixes`). *issue_dates* maps fix
        shas to the date their bug was reported: candidates committed later are dropped. A
        fix whose ``Fixes: <sha>`` trailer names its inducing commit is linked to it
        (``variant="trailer"``) when *use_trailers*; the others by line history
        (:mod:`aiimpact.outcomes.szz`; the default was the most accurate on iproute2's
        ``Fixes:`` oracle), or for a few fixes without one at hand by per-fix ``git blame``
        (``last_report.szz_method``). Fixes with nothing to blame: ``last_report.ghost_fixes``.
        """
        commits = self.commits(rev)
        links = self._szz(commits, fixes, rev, variant, use_trailers, context, issue_dates)
        return schema.conform(links, schema.SZZ)

    def _szz(self, commits, fixes, rev, variant, use_trailers, context, issue_dates=None,
             found=None):  # fmt: skip
        shas = None if fixes is None else [self.resolve(f) for f in fixes]
        blame = self._histories.szz_blamer(self.resolve(rev), commits, self.file_changes(rev),
            shas, self.workers, partial(self.lines, rev), self.last_report)  # fmt: skip
        links, self.last_report.ghost_fixes = szz_links(commits, blame, shas, self.name,
            variant, use_trailers, context, issue_dates, found)  # fmt: skip
        return links

    @one_report
    def authorship(self, rev_range: str, paths=None) -> Authorship:
        """Who wrote the lines of the files at the end of *rev_range* (``"A..B"``).

        Lines are attributed as ``git blame -M100 -C100 A..B`` does (files in parallel; lines
        from before ``A`` are not counted): an :class:`~aiimpact.outcomes.authorship.Authorship`
        (``total_lines``, ``ai_lines``, ``ai_share``, ``lines``, ``by_file/tool/author``).

        >>> ai.Repo(".").authorship("v1.0..v1.1").ai_share  # doctest: +SKIP
        """
        return self._miner().authorship([rev_range], paths, self.last_report)[0]

    @one_report
    def authorship_many(self, ranges, paths=None) -> list[Authorship]:
        """:meth:`authorship` of each range (releases, say): one blame pool, one tag read."""
        return self._miner().authorship(list(ranges), paths, self.last_report)

    @one_report
    def quality(self, rev: str = "HEAD", per: str = "commit") -> pd.DataFrame:
        """Code quality per commit (*per* ``"commit"``) or file change (``"file"``): complexity,
        functions changed, DMM, test and source lines added (:mod:`aiimpact.quality`)."""
        commits, cache = self.commits(rev), self.outcome_store.with_name("quality.duckdb")
        return quality_table(self.git_dir, self.resolve(rev), cache, commits,
            self.file_changes(rev), per, self.workers, self.progress)  # fmt: skip

    @one_report
    def outcomes(self, rev: str = "HEAD", prs=None, quality: bool = False) -> pd.DataFrame:
        """The commit-level analysis table: the commit columns plus their outcomes (reverts,
        churn, SZZ fixes, controls: each defined in :data:`aiimpact.schema.OUTCOMES`).

        Windowed columns (``churn_*``, ``*_within_*d``) are NA for every commit younger than
        their window, whether or not the event came; ``reverted`` and ``fix_inducing`` have
        no window, so recent commits look safer there. The table is stored in the outcome
        store (:mod:`aiimpact.outcome_store`): a new process reads it. *prs*: as for
        :meth:`commits` (applied to the stored table, not part of its key); *quality* adds
        :meth:`quality`'s columns.
        """
        fp, tip = (self.detector or default_detector()).fingerprint, self.resolve(rev)
        compute = partial(self._outcomes, rev)
        table = self._histories.outcomes(tip, (self.renames, fp), self.last_report, compute)
        quality_columns = self.quality(rev).drop(columns="repo") if quality else None
        table = table if quality_columns is None else table.merge(quality_columns, "left", "sha")
        return with_prs(table, prs, self.name, self.last_report, self.git_dir)

    @one_report
    def pr_outcomes(self, prs, rev: str = "HEAD", quality: bool = False) -> pd.DataFrame:
        """Per PR of this repository in *prs*: its review metrics beside what became of the
        commits it landed (:mod:`aiimpact.platforms.pr_outcomes`):
        ``ai.Repo(".", name="o/r").pr_outcomes(ai.load_aidev("AIDev"))``."""
        return pr_outcomes_table(prs, self.outcomes(rev, prs=prs, quality=quality), self.name)

    def _outcomes(self, rev: str) -> pd.DataFrame:
        churn = churn_table(self.lines(rev), ("14D", "30D", "90D"))
        commits = self.commits(rev)
        fixes, reverts = find_fixes(commits), self._reverts(commits, rev, "30D")
        links = self._szz(commits, None, rev, "l", True, True, found=fixes)
        return outcomes_table(commits, self.file_changes(rev), reverts, churn, fixes, links)

    def resolve(self, rev: str = "HEAD") -> str | None:
        """The commit sha *rev* names, or None for the unborn HEAD of an empty repository.

        Raises :class:`~aiimpact.errors.RevisionError` naming what is wrong (no such commit,
        a tree or blob, an unparsable commit, an orphan HEAD beside other branches).
        """
        return revisions.resolve(self._repo, self.git_dir, self.name, rev)
