"""Pull-request histories of a GitHub repository: the walk and its incremental store.

:func:`fetch_pull_requests` yields, per pull request, the raw dict::

    {"pull": {...}, "reviews": [...], "review_comments": [...],
     "issue_comments": [...], "timeline": [...], "commits": [...]}

through the REST walk (:mod:`aiimpact.platforms.github.rest`) or the GraphQL walk
(:mod:`aiimpact.platforms.github.graphql`), one :class:`GitHubClient` doing every request.
:func:`pull_requests` keeps those raw dicts between runs
(:class:`~aiimpact.platforms.github.cache.RawStore`) and turns them into tables.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiimpact.errors import InputError
from aiimpact.platforms.github.cache import RawStore
from aiimpact.platforms.github.client import (
    DEFAULT_API_URL,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_WAIT,
    GitHubClient,
    without_userinfo,
)
from aiimpact.platforms.github.graphql import walk_graphql
from aiimpact.platforms.github.rest import walk_rest
from aiimpact.times import iso_time

if TYPE_CHECKING:
    from aiimpact.detect.detector import Detector
    from aiimpact.platforms.tables import PullRequestData

PR_STATES = ("all", "open", "closed")
APIS = ("rest", "graphql")


_OWNER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,38}")  # GitHub (and EMU "_short") logins
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def _check_repo(repo: object) -> str:
    """*repo* (stripped) when it is a GitHub ``owner/name``; else :class:`InputError`."""
    text = repo.strip() if isinstance(repo, str) else ""
    owner, slash, name = text.partition("/")
    valid = slash and _OWNER_RE.fullmatch(owner) and _NAME_RE.fullmatch(name)
    if not valid or name in (".", ".."):
        raise InputError(
            f"repository {repo!r} is not of the form owner/name (owner: letters, digits, "
            "'-' or '_', at most 39; name: letters, digits, '.', '-' or '_', not '.' or '..')"
        )
    return text


def fetch_pull_requests(
    repo: str,
    *,
    token: str | None = None,
    api_url: str | None = None,
    cache_path: str | os.PathLike | None = None,
    state: str = "all",
    since: datetime | str | None = None,
    sleep: Callable[[float], Any] = time.sleep,
    clock: Callable[[], float] = time.time,
    max_retries: int = 6,
    api: str = "rest",
    timeout: float = 30.0,
    deadline: float = DEFAULT_DEADLINE,
    max_wait: float = DEFAULT_MAX_WAIT,
    max_backoff: float = DEFAULT_MAX_BACKOFF,
    max_body: int = DEFAULT_MAX_BODY,
) -> Iterator[dict]:
    """Yield the raw data of each pull request of a GitHub repository.

    Pull requests are listed most recently updated first
    (``state=STATE&sort=updated&direction=desc&per_page=100``); listing stops at the first
    one not updated since ``since``. With ``api="rest"``, for each, the pull, its reviews,
    review comments, issue comments, issue timeline and commits are fetched (every page):
    six requests or more per pull request, each cached with its ETag. With
    ``api="graphql"`` one query fetches the same for a page of 25 pull requests
    (:mod:`aiimpact.platforms.github.graphql`), rewritten into the same shape; GraphQL has no
    ETags, so repeated runs rely on ``since`` (as :func:`pull_requests` does).

    Parameters
    ----------
    repo : str
        ``"owner/name"``, as GitHub spells them (``.`` and ``..`` are no names).
    token, api_url, cache_path, sleep, clock, max_retries
        As for :class:`GitHubClient`.
    state : {"all", "open", "closed"}
        Which pull requests to list.
    since : datetime or ISO 8601 str, optional
        Only pull requests updated at or after this instant (naive means UTC).
    api : {"rest", "graphql"}
        Which GitHub API to use.
    timeout, deadline, max_wait, max_backoff, max_body
        The bounds of every request, as for :class:`GitHubClient`.

    Yields
    ------
    dict
        ``{"pull": dict, "reviews": list, "review_comments": list,
        "issue_comments": list, "timeline": list, "commits": list}``; each list is the
        concatenation of all its pages.

    Raises
    ------
    InputError
        Bad ``repo``/``state``/``since``, token rejected, repository missing or private,
        an answer of the wrong shape.
    GitHubAPIError
        GitHub kept failing after the retries, or a rate limit asks for more than
        ``max_wait``.

    Examples
    --------
    >>> for raw in fetch_pull_requests("octocat/hello-world", since="2024-01-01"):
    ...     print(raw["pull"]["number"], len(raw["reviews"]))  # doctest: +SKIP
    """
    repo = _check_repo(repo)
    if state not in PR_STATES:
        raise InputError(f"state={state!r} is not one of {', '.join(PR_STATES)}")
    if api not in APIS:
        raise InputError(f"api={api!r} is not one of {', '.join(APIS)}")
    cutoff = iso_time(since, "since") if since is not None else None
    settings = {
        "token": token,
        "api_url": api_url,
        "cache_path": cache_path,
        "sleep": sleep,
        "clock": clock,
        "max_retries": max_retries,
        "timeout": timeout,
        "deadline": deadline,
        "max_wait": max_wait,
        "max_backoff": max_backoff,
        "max_body": max_body,
    }
    return _walk(repo, state, cutoff, settings, api)


def _walk(
    repo: str, state: str, cutoff: datetime | None, settings: dict, api: str
) -> Iterator[dict]:
    client = GitHubClient(**settings)
    walk = walk_graphql if api == "graphql" else walk_rest
    try:
        for item in walk(client, repo, state, cutoff):
            yield {**item, "fetched_at": _now()}
    finally:
        client.close()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def pull_requests(
    repo: str,
    token: str | None = None,
    api_url: str | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    since: datetime | str | None = None,
    progress: bool | None = None,
    detector: Detector | None = None,
    api: str = "rest",
    **client_options: Any,
) -> PullRequestData:
    """All pull requests of a GitHub repository as ``prs``, ``reviews``, ``pr_commits``.

    The raw data of every pull request is kept in the cache dir, and a later run fetches
    only the pull requests updated since the last complete one. REST responses are also
    cached with their ETags, so a second run over an unchanged repository costs only 304s.
    ``api="graphql"`` fetches the same data in about 1/150 of the requests (no ETags). The
    token comes from *token* or ``$GITHUB_TOKEN``; the API root from *api_url*,
    ``$GITHUB_API_URL`` or the public API. A run stopped by an error (a rate limit asking
    for more than ``max_wait``, say) keeps what it fetched, and the next run continues.
    A store DuckDB cannot use is moved aside and rebuilt, with a ``CacheRebuiltWarning``.

    Parameters
    ----------
    client_options
        Further keyword arguments of :func:`fetch_pull_requests` (``timeout``,
        ``deadline``, ``max_wait``, ``max_backoff``, ``max_body``, ``max_retries``, ...).

    Returns
    -------
    PullRequestData
        ``.prs``, ``.reviews``, ``.pr_commits`` (see ``aiimpact.platforms.tables``).

    Examples
    --------
    >>> data = ai.github.pull_requests("square/okhttp")    # doctest: +SKIP
    >>> data.prs.groupby("ai_assisted").time_to_merge.median()  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    from aiimpact.git.identity import repo_key
    from aiimpact.platforms.tables import PullRequestData, tables_from_raw
    from aiimpact.store import default_cache_dir

    repo = _check_repo(repo)
    root = without_userinfo(api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL)
    folder = default_cache_dir(cache_dir) / repo_key(repo, f"{root}/{repo}")
    folder.mkdir(parents=True, exist_ok=True)
    raw = RawStore(folder / "pulls.duckdb")
    # Incremental: PRs updated since the last *complete* run are fetched again (a run that
    # was interrupted leaves the watermark where it was, so the next one redoes its span:
    # what it had fetched costs only 304s); every other PR comes from the stored raw data.
    started = datetime.now(UTC)
    try:
        cutoff = since if since is not None else raw.watermark()
        items = fetch_pull_requests(
            repo,
            token=token,
            api_url=api_url,
            api=api,
            cache_path=folder / "github.duckdb",
            since=cutoff,
            **client_options,
        )
        bar = tqdm(items, unit="PR", desc=f"pull requests of {repo}", disable=progress is False)
        for item in bar:
            raw.put(item)
        if since is None:
            raw.set_watermark(started)
        stored = raw.items()
    finally:
        raw.close()
    prs, reviews, commits = tables_from_raw(repo, stored, detector)
    return PullRequestData(prs, reviews, commits)
