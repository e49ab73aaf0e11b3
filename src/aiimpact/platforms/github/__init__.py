"""GitHub pull-request histories: ``ai.github.pull_requests("owner/name")``.

The package, one job per module (no module imports another's private names, and none
imports this ``__init__``):

* :mod:`~aiimpact.platforms.github.client`: :class:`GitHubClient`, every request (token,
  pagination, rate limits and backoff, bounds, the ETag cache) and :class:`GitHubAPIError`;
* :mod:`~aiimpact.platforms.github.cache`: the DuckDB files (ETag cache, raw per-PR store);
* :mod:`~aiimpact.platforms.github.answers`: checks on the shape of GitHub's answers;
* :mod:`~aiimpact.platforms.github.rest`: the REST walk of pulls, reviews, comments,
  timeline and commits;
* :mod:`~aiimpact.platforms.github.graphql`: the same through GraphQL, in the REST shape;
* :mod:`~aiimpact.platforms.github.fetch`: :func:`fetch_pull_requests` (raw dicts) and
  :func:`pull_requests` (incremental, into the ``prs``, ``reviews`` and ``pr_commits``
  tables of ``aiimpact.platforms.tables``).

The token (and credentials written into the API URL) is sent only to the API root's origin
and never appears in logs, exceptions, reprs or the cache.
"""

from __future__ import annotations

from aiimpact.platforms.github.client import (
    API_VERSION,
    DEFAULT_API_URL,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_WAIT,
    SECONDARY_MIN_WAIT,
    GitHubAPIError,
    GitHubClient,
    parse_link_header,
)
from aiimpact.platforms.github.fetch import APIS, PR_STATES, fetch_pull_requests, pull_requests

__all__ = [
    "APIS",
    "API_VERSION",
    "DEFAULT_API_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_BACKOFF",
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_WAIT",
    "PR_STATES",
    "SECONDARY_MIN_WAIT",
    "GitHubAPIError",
    "GitHubClient",
    "fetch_pull_requests",
    "parse_link_header",
    "pull_requests",
]
