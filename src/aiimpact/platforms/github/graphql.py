"""Pull-request histories through GitHub's GraphQL API, in the REST client's raw shape.

One query lists a page of pull requests (most recently updated first) with, for each, its
fields, its author and its timeline (commits, reviews with their inline comments,
conversation comments, ready/draft/force-push/merge/close events). Connections longer than
one page are completed by follow-up queries on the node id, so nothing is cut at 100.
Each pull request is then rewritten into the dict the REST walk yields::

    {"pull": {...}, "reviews": [...], "review_comments": [...],
     "issue_comments": [...], "timeline": [...], "commits": [...]}

with REST field names (``user``, ``submitted_at``, ``event``, ...), so every table and
metric is computed by the same code whichever API fetched the data. A page of 25 pull
requests costs one request instead of about 150 REST requests; a page that keeps timing out
(GitHub answers 502 to heavy queries) is asked again with half as many pull requests.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from aiimpact.errors import InputError
from aiimpact.platforms.github.answers import api_time, expect, kind_of
from aiimpact.platforms.github.client import GitHubAPIError, GitHubClient

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 25
_STATES = {"all": None, "open": ["OPEN"], "closed": ["CLOSED", "MERGED"]}

ITEM_TYPES = [
    "PULL_REQUEST_COMMIT",
    "PULL_REQUEST_REVIEW",
    "ISSUE_COMMENT",
    "READY_FOR_REVIEW_EVENT",
    "CONVERT_TO_DRAFT_EVENT",
    "HEAD_REF_FORCE_PUSHED_EVENT",
    "MERGED_EVENT",
    "CLOSED_EVENT",
    "REOPENED_EVENT",
    "REVIEW_REQUESTED_EVENT",
]

_FRAGMENTS = """
fragment who on Actor {
  __typename login
  ... on User { databaseId }
  ... on Bot { databaseId }
  ... on Mannequin { databaseId }
}
fragment comments on PullRequestReviewCommentConnection {
  totalCount pageInfo { hasNextPage endCursor }
  nodes { author { ...who } createdAt }
}
fragment timeline on PullRequestTimelineItemsConnection {
  pageInfo { hasNextPage endCursor }
  nodes {
    __typename
    ... on PullRequestCommit { commit { oid message
        author { name email date } committer { name email date } } }
    ... on PullRequestReview { id state body submittedAt author { ...who } commit { oid }
        comments(first: 100) { ...comments } }
    ... on IssueComment { author { ...who } createdAt }
    ... on ReadyForReviewEvent { createdAt }
    ... on ConvertToDraftEvent { createdAt }
    ... on HeadRefForcePushedEvent { createdAt }
    ... on MergedEvent { createdAt }
    ... on ClosedEvent { createdAt }
    ... on ReopenedEvent { createdAt }
    ... on ReviewRequestedEvent { createdAt }
  }
}
"""

PULL_REQUESTS_QUERY = (
    """
query PullRequests($owner: String!, $name: String!, $first: Int!, $after: String,
                   $states: [PullRequestState!], $types: [PullRequestTimelineItemsItemType!]) {
  rateLimit { cost remaining resetAt }
  repository(owner: $owner, name: $name) {
    pullRequests(first: $first, after: $after, states: $states,
                 orderBy: {field: UPDATED_AT, direction: DESC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id number title body createdAt updatedAt closedAt mergedAt isDraft state
        additions deletions changedFiles headRefName mergeCommit { oid }
        author { ...who }
        timelineItems(first: 100, itemTypes: $types) { ...timeline }
      }
    }
  }
}
"""
    + _FRAGMENTS
)

MORE_TIMELINE_QUERY = (
    """
query MoreTimeline($id: ID!, $after: String, $types: [PullRequestTimelineItemsItemType!]) {
  node(id: $id) {
    ... on PullRequest { timelineItems(first: 100, after: $after, itemTypes: $types) {
      ...timeline } }
  }
}
"""
    + _FRAGMENTS
)

MORE_COMMENTS_QUERY = (
    """
query MoreReviewComments($id: ID!, $after: String) {
  node(id: $id) {
    ... on PullRequestReview { comments(first: 100, after: $after) { ...comments } }
  }
}
"""
    + _FRAGMENTS
)


def walk_graphql(
    client: GitHubClient,
    repo: str,
    state: str,
    cutoff: datetime | None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Iterator[dict]:
    """Yield the raw dict of each pull request of *repo*, most recently updated first.

    Listing stops at the first pull request updated before *cutoff*.

    Examples
    --------
    >>> with GitHubClient() as gh:  # doctest: +SKIP
    ...     for raw in walk_graphql(gh, "octocat/hello-world", "all", None):
    ...         print(raw["pull"]["number"], len(raw["timeline"]))
    """
    owner, name = repo.split("/", 1)
    after: str | None = None
    seen: set[int] = set()
    cursors: set[str] = set()
    first = max(1, int(page_size))
    while True:
        variables = {
            "owner": owner,
            "name": name,
            "first": first,
            "after": after,
            "states": _STATES[state],
            "types": ITEM_TYPES,
        }
        try:
            data = client.graphql(PULL_REQUESTS_QUERY, variables)
        except GitHubAPIError as exc:
            if exc.status not in (502, 504) or first == 1:
                raise
            first = max(1, first // 2)  # GitHub times out on heavy pages: ask for fewer
            log.warning("GitHub GraphQL timed out; asking for %d pull requests per page", first)
            continue
        listing = _field(_field(data, "repository", dict), "pullRequests", dict)
        if not listing:
            raise InputError(f"GitHub GraphQL returned no pull requests for {repo}")
        for node in _field(listing, "nodes", list, "repository.pullRequests"):
            if not isinstance(node, Mapping) or node.get("number") is None:
                continue  # a node GitHub could not resolve (counted in graphql_errors)
            number = node["number"]
            if not isinstance(number, int) or isinstance(number, bool):
                raise InputError(f"GitHub GraphQL answered {kind_of(number)} as a PR number")
            updated = node.get("updatedAt")
            if cutoff is not None and updated and api_time(updated, "GraphQL updatedAt") < cutoff:
                return
            if number in seen:
                continue
            seen.add(number)
            yield to_raw(_complete(client, node))
        after = _next_cursor(_field(listing, "pageInfo", dict), cursors, "pullRequests")
        if after is None:
            return


def _field(parent: Mapping, key: str, kind: type, where: str = "") -> Any:
    """``parent[key]`` when it is a *kind* (``dict`` or ``list``; null: an empty one), else
    an :class:`InputError` naming the GraphQL field (*where* is its parent's path)."""
    value = parent.get(key)
    if value is None:
        return kind()
    what = "an object" if kind is dict else "a list"
    return expect(value, kind, what, f"GraphQL field {where + '.' if where else ''}{key}")


def _next_cursor(page: Mapping, seen: set[str], field: str) -> str | None:
    """The cursor of a connection's next page (``None``: no more), which must be new."""
    if not page.get("hasNextPage"):
        return None
    cursor = page.get("endCursor")
    if not isinstance(cursor, str) or cursor in seen:
        raise InputError(
            f"GitHub GraphQL pagination of {field} does not advance (endCursor {cursor!r})"
        )
    seen.add(cursor)
    return cursor


def _complete(client: GitHubClient, node: Mapping) -> dict:
    """The pull-request node with every timeline item and review comment fetched."""
    more = {"id": node.get("id"), "types": ITEM_TYPES}
    items = _all_nodes(
        client, _field(node, "timelineItems", dict), MORE_TIMELINE_QUERY, more, "timelineItems"
    )
    for i, item in enumerate(items):
        if isinstance(item, Mapping) and item.get("__typename") == "PullRequestReview":
            comments = _all_nodes(
                client,
                _field(item, "comments", dict),
                MORE_COMMENTS_QUERY,
                {"id": item.get("id")},
                "comments",
            )
            items[i] = {**item, "comments": {"nodes": comments}}
    return {**node, "timelineItems": {"nodes": items}}


def _all_nodes(
    client: GitHubClient, conn: Mapping, query: str, variables: dict, field: str
) -> list:
    """The nodes of connection *conn*, with its later pages fetched by *query* on the node
    (``variables["id"]``) after each ``endCursor``."""
    nodes = list(_field(conn, "nodes", list, field))
    cursors: set[str] = set()
    while True:
        after = _next_cursor(_field(conn, "pageInfo", dict, field), cursors, field)
        if after is None:
            return nodes
        if not isinstance(variables.get("id"), str):
            raise InputError(f"GitHub GraphQL: {field} has more pages but its node has no id")
        more = client.graphql(query, {**variables, "after": after})
        conn = _field(_field(more, "node", dict), field, dict, "node")
        nodes += _field(conn, "nodes", list, field)


def _user(actor: Mapping | None) -> dict | None:
    """A GraphQL actor as a REST user object (``None`` for a deleted account)."""
    if not actor:
        return None
    expect(actor, dict, "an actor object", "GraphQL field author")
    kind = actor.get("__typename")
    return {
        "login": actor.get("login"),
        "id": actor.get("databaseId"),
        "type": kind if kind in ("Bot", "Organization") else "User",
    }


def _event_name(typename: str) -> str:
    """``HeadRefForcePushedEvent`` -> ``head_ref_force_pushed`` (the REST event name)."""
    stem = typename[: -len("Event")] if typename.endswith("Event") else typename
    return re.sub(r"(?<!^)(?=[A-Z])", "_", stem).lower()


def to_raw(node: Mapping) -> dict[str, Any]:
    """One completed GraphQL pull-request node as the REST walk's raw dict.

    Examples
    --------
    >>> raw = to_raw({"number": 1, "state": "MERGED", "author": None,
    ...               "timelineItems": {"nodes": []}})
    >>> raw["pull"]["state"], raw["pull"]["user"], raw["reviews"]
    ('closed', None, [])
    """
    pull = {
        "node_id": node.get("id"),
        "number": node.get("number"),
        "title": node.get("title"),
        "body": node.get("body"),
        "user": _user(node.get("author")),
        "state": "open" if node.get("state") == "OPEN" else "closed",
        "draft": bool(node.get("isDraft")),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "closed_at": node.get("closedAt"),
        "merged_at": node.get("mergedAt"),
        "head": {"ref": node.get("headRefName")},
        "additions": node.get("additions"),
        "deletions": node.get("deletions"),
        "changed_files": node.get("changedFiles"),
        "merge_commit_sha": _field(node, "mergeCommit", dict).get("oid"),
    }
    raw: dict[str, Any] = {
        "pull": pull,
        "reviews": [],
        "review_comments": [],
        "issue_comments": [],
        "timeline": [],
        "commits": [],
    }
    for item in _field(_field(node, "timelineItems", dict), "nodes", list, "timelineItems"):
        if not isinstance(item, Mapping):
            continue
        kind = item.get("__typename") or ""
        if kind == "PullRequestCommit":
            c = _field(item, "commit", dict, kind)
            for who in ("author", "committer"):
                _field(c, who, dict, f"{kind}.commit")  # objects or null
            meta = {k: c.get(k) for k in ("message", "author", "committer")}
            raw["timeline"].append({"event": "committed", "sha": c.get("oid"), **meta})
            raw["commits"].append({"sha": c.get("oid"), "commit": meta})
        elif kind == "PullRequestReview":
            review = {
                "user": _user(item.get("author")),
                "state": item.get("state"),
                "submitted_at": item.get("submittedAt"),
                "commit_id": _field(item, "commit", dict, kind).get("oid"),
                **({"body": item["body"]} if "body" in item else {}),
            }
            raw["reviews"].append(review)
            raw["timeline"].append({"event": "reviewed", **review})
            for c in _field(_field(item, "comments", dict, kind), "nodes", list, "comments"):
                if isinstance(c, Mapping):
                    raw["review_comments"].append(
                        {"user": _user(c.get("author")), "created_at": c.get("createdAt")}
                    )
        elif kind == "IssueComment":
            comment = {"user": _user(item.get("author")), "created_at": item.get("createdAt")}
            raw["issue_comments"].append(comment)
            raw["timeline"].append({"event": "commented", **comment})
        elif kind:
            raw["timeline"].append(
                {"event": _event_name(kind), "created_at": item.get("createdAt")}
            )
    return raw
