"""Pull-request histories through GitHub's REST API.

The listing (``state=STATE&sort=updated&direction=desc&per_page=100``) is read most
recently updated first and stops at the first pull request not updated since the cutoff;
for each pull request, its pull, reviews, review comments, issue comments, issue timeline
and commits are fetched (every page): six requests or more, each cached with its ETag.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from aiimpact.platforms.github.answers import api_time, expect_objects, pull_number
from aiimpact.platforms.github.client import GitHubClient


def walk_rest(
    client: GitHubClient, repo: str, state: str, cutoff: datetime | None
) -> Iterator[dict]:
    """Yield the raw dict of each pull request of *repo*, most recently updated first.

    Listing stops at the first pull request updated before *cutoff*; a pull request listed
    again (it was updated during the walk) is yielded once.

    Examples
    --------
    >>> with GitHubClient() as gh:  # doctest: +SKIP
    ...     for raw in walk_rest(gh, "octocat/hello-world", "all", None):
    ...         print(raw["pull"]["number"], len(raw["reviews"]))
    """
    base = f"/repos/{repo}"
    listing = {"state": state, "sort": "updated", "direction": "desc", "per_page": 100}
    where = f"{client.api_url}{base}/pulls"
    seen: set[int] = set()
    for page in client.paginate(f"{base}/pulls", listing):
        for item in expect_objects(page, "a pull request", where):
            number = pull_number(item, where)
            updated = item.get("updated_at")
            if cutoff is not None and updated and api_time(updated, where) < cutoff:
                return
            if number in seen:  # re-listed because it was updated during the walk
                continue
            seen.add(number)
            yield fetch_one(client, base, number)


def fetch_one(client: GitHubClient, base: str, number: int) -> dict:
    """The raw dict of pull request *number* of the repository at *base* (``/repos/o/n``)."""

    def every(path: str, what: str) -> list:
        where = f"{client.api_url}{path}"
        pages = client.paginate(path, {"per_page": 100})
        return expect_objects([x for page in pages for x in page], what, where)

    path = f"{base}/pulls/{number}"
    pull, _ = client.get_json(path)
    (pull,) = expect_objects([pull], "a pull request", f"{client.api_url}{path}")
    pull_number(pull, f"{client.api_url}{path}")
    return {
        "pull": pull,
        "reviews": every(f"{base}/pulls/{number}/reviews", "a review"),
        "review_comments": every(f"{base}/pulls/{number}/comments", "a review comment"),
        "issue_comments": every(f"{base}/issues/{number}/comments", "an issue comment"),
        "timeline": every(f"{base}/issues/{number}/timeline", "a timeline event"),
        "commits": every(f"{base}/pulls/{number}/commits", "a commit"),
    }
