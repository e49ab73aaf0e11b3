"""Pull-request sources: the GitHub REST client, offline datasets, commit <-> PR links.

:func:`~aiimpact.platforms.github.fetch_pull_requests` yields one raw dict per pull request
(the REST bodies, pages concatenated); ``aiimpact.platforms.tables`` turns those into the
``prs``, ``reviews`` and ``pr_commits`` tables.

The GitHub names below are imported lazily, so ``import aiimpact`` does not import httpx.
"""

from __future__ import annotations

__all__ = ["GitHubAPIError", "GitHubClient", "fetch_pull_requests", "pull_requests"]


def __getattr__(name: str):
    if name in __all__:
        from aiimpact.platforms import github

        return getattr(github, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
