"""One set of recorded pull requests served consistently by REST routes and a fake GraphQL.

Each pull request is a recorded ``GET pulls/{n}`` body with its recorded issue timeline; the
other REST lists (reviews, issue comments, commits) are derived from that timeline, and
review comments are attached to a review, so REST and GraphQL describe the same history
and must give the same tables. The GraphQL side answers the three operations the client
sends (``PullRequests``, ``MoreTimeline``, ``MoreReviewComments``) with cursor pagination
honouring the page sizes the client asks for (connections inside a page: 100).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

from github_server import GitHubServer, Reply

REPO = "octo/model"
GRAPHQL_EVENTS = {  # REST timeline event -> GraphQL timeline item type
    "ready_for_review": "ReadyForReviewEvent",
    "convert_to_draft": "ConvertToDraftEvent",
    "head_ref_force_pushed": "HeadRefForcePushedEvent",
    "merged": "MergedEvent",
    "closed": "ClosedEvent",
    "reopened": "ReopenedEvent",
    "review_requested": "ReviewRequestedEvent",
}


def pull_request(pull: dict, timeline: list[dict], review_comments: list[dict] = ()) -> dict:
    """A raw REST item whose lists are derived from *timeline*."""
    reviewed = [e for e in timeline if e["event"] == "reviewed"]
    return {
        "pull": pull,
        "reviews": [
            {
                "id": e["id"],
                "user": e["user"],
                "state": e["state"].upper(),
                "submitted_at": e["submitted_at"],
                "commit_id": e["commit_id"],
                "body": e.get("body") or "",
            }
            for e in reviewed
        ],
        "review_comments": list(review_comments),
        "issue_comments": [
            {"id": e["id"], "user": e["user"], "created_at": e["created_at"], "body": e["body"]}
            for e in timeline
            if e["event"] == "commented"
        ],
        "timeline": timeline,
        "commits": [
            {"sha": e["sha"], "commit": {k: e[k] for k in ("message", "author", "committer")}}
            for e in timeline
            if e["event"] == "committed"
        ],
    }


def build(recorded: Callable) -> dict[int, dict]:
    """Five pull requests: merged with/without reviews, a 108-item timeline with a review of
    120 inline comments, a deleted author, and an open one."""
    items = {}
    for n, name in [(7458, "okhttp-7458"), (5046, "jquery-5046"), (47550, "freeCodeCamp-47550")]:
        pull = recorded(f"github-stats/pulls-{name}.json")
        items[n] = pull_request(pull, recorded(f"github-stats/timeline-{name}.json"))
    retrofit = recorded("github-stats/pulls-retrofit-3114.json")
    retrofit["user"] = None  # a deleted account
    items[3114] = pull_request(retrofit, recorded("github-stats/timeline-retrofit-3114.json"))

    timeline = recorded("github-stats/timeline-jellyfin-2733-page1.json") + recorded(
        "github-stats/timeline-jellyfin-2733-page2.json"
    )
    pull = copy.deepcopy(items[7458]["pull"])
    merged = next(e["created_at"] for e in timeline if e["event"] == "merged")
    pull.update(
        number=2733,
        title="Jellyfin #2733",
        draft=False,
        created_at="2020-04-01T16:00:00Z",
        merged_at=merged,
        closed_at=merged,
        updated_at="2020-05-01T00:00:00Z",
        merge_commit_sha="c" * 40,
    )
    pull["user"] = {"login": "gion", "id": 4242, "type": "User"}
    first_review = next(e for e in timeline if e["event"] == "reviewed")
    recorded_comments = recorded("github3py/decoded/pr-235-review-comments.json", 1)[2]
    comments = []
    for i in range(120):
        c = copy.deepcopy(recorded_comments[i % len(recorded_comments)])
        c.update(
            pull_request_review_id=first_review["id"],
            user=first_review["user"],
            created_at=f"2020-04-20T22:{i // 60:02d}:{i % 60:02d}Z",
        )
        comments.append(c)
    items[2733] = pull_request(pull, timeline, comments)

    open_pr = recorded("github-stats/pulls-freeCodeCamp-48543-not-merged.json")
    items[48543] = pull_request(open_pr, [])
    return items


def by_updated(items: dict[int, dict]) -> list[dict]:
    return sorted(items.values(), key=lambda r: r["pull"]["updated_at"], reverse=True)


def serve_rest(server: GitHubServer, items: dict[int, dict], repo: str = REPO) -> None:
    """The REST routes of *items* (the list in one page; every other list in one page)."""
    base = f"/repos/{repo}"
    listing = "state=all&sort=updated&direction=desc&per_page=100"
    server.add(f"{base}/pulls?{listing}", [r["pull"] for r in by_updated(items)])
    for n, raw in items.items():
        serve_pull(server, base, n, raw)


def serve_pull(server: GitHubServer, base: str, n: int, raw: dict, timeline: bool = True) -> None:
    """The single-pull route and, in one page each, the lists of pull request *n*."""
    server.add(f"{base}/pulls/{n}", raw["pull"])
    paths = {
        "reviews": f"pulls/{n}/reviews",
        "commits": f"pulls/{n}/commits",
        "review_comments": f"pulls/{n}/comments",
        "issue_comments": f"issues/{n}/comments",
    }
    if timeline:
        paths["timeline"] = f"issues/{n}/timeline"
    for key, path in paths.items():
        server.add(f"{base}/{path}?per_page=100", raw[key])


def _actor(user: dict | None) -> dict | None:
    if user is None:
        return None
    kind = "Bot" if user.get("type") == "Bot" else "User"
    return {"__typename": kind, "login": user["login"], "databaseId": user.get("id")}


def _page(nodes: list, first: int, after: str | None) -> dict:
    start = int(after) if after else 0
    chunk = nodes[start : start + first]
    end = start + len(chunk)
    return {"pageInfo": {"hasNextPage": end < len(nodes), "endCursor": str(end)}, "nodes": chunk}


class GraphQLModel:
    """The fake ``POST /graphql`` of *items*; counts the operations it answered."""

    def __init__(self, items: dict[int, dict], repo: str = REPO) -> None:
        self.repo = repo
        self.items = items
        self.operations: list[str] = []
        self.nodes = {n: self._node(raw) for n, raw in items.items()}
        self.reviews = {
            item["id"]: item
            for node in self.nodes.values()
            for item in node["timeline"]
            if item["__typename"] == "PullRequestReview"
        }

    def _node(self, raw: dict) -> dict:
        pull = raw["pull"]
        comments_of: dict[int, list] = {}
        for c in raw["review_comments"]:
            comments_of.setdefault(c["pull_request_review_id"], []).append(
                {"author": _actor(c["user"]), "createdAt": c["created_at"]}
            )
        timeline = []
        for e in raw["timeline"]:
            kind = e["event"]
            if kind == "committed":
                commit = {k: e[k] for k in ("message", "author", "committer")}
                timeline.append(
                    {"__typename": "PullRequestCommit", "commit": {"oid": e["sha"], **commit}}
                )
            elif kind == "reviewed":
                timeline.append(
                    {
                        "__typename": "PullRequestReview",
                        "id": f"PRR_{e['id']}",
                        "state": e["state"].upper(),
                        "submittedAt": e["submitted_at"],
                        "author": _actor(e["user"]),
                        "commit": {"oid": e["commit_id"]},
                        "body": e.get("body") or "",
                        "all_comments": comments_of.get(e["id"], []),
                    }
                )
            elif kind == "commented":
                timeline.append(
                    {
                        "__typename": "IssueComment",
                        "author": _actor(e["user"]),
                        "createdAt": e["created_at"],
                    }
                )
            elif kind in GRAPHQL_EVENTS:
                timeline.append({"__typename": GRAPHQL_EVENTS[kind], "createdAt": e["created_at"]})
        state = "MERGED" if pull.get("merged_at") else pull["state"].upper()
        return {
            "id": f"PR_{pull['number']}",
            "number": pull["number"],
            "title": pull["title"],
            "body": pull.get("body"),
            "createdAt": pull["created_at"],
            "updatedAt": pull["updated_at"],
            "closedAt": pull.get("closed_at"),
            "mergedAt": pull.get("merged_at"),
            "isDraft": bool(pull.get("draft")),
            "state": state,
            "additions": pull.get("additions"),
            "deletions": pull.get("deletions"),
            "changedFiles": pull.get("changed_files"),
            "headRefName": (pull.get("head") or {}).get("ref"),
            "mergeCommit": {"oid": pull["merge_commit_sha"]} if pull.get("merged_at") else None,
            "author": _actor(pull.get("user")),
            "timeline": timeline,
        }

    def _timeline(self, node: dict, after: str | None) -> dict:
        page = _page(node["timeline"], 100, after)
        page["nodes"] = [self._review(i) for i in page["nodes"]]
        return page

    @staticmethod
    def _review(item: dict) -> dict:
        if item["__typename"] != "PullRequestReview":
            return item
        out = {k: v for k, v in item.items() if k != "all_comments"}
        out["comments"] = {
            "totalCount": len(item["all_comments"]),
            **_page(item["all_comments"], 100, None),
        }
        return out

    def __call__(self, path: str, body: dict) -> Reply:
        query, variables = body["query"], body.get("variables") or {}
        operation = re.match(r"\s*query\s+(\w+)", query).group(1)
        self.operations.append(operation)
        if operation == "PullRequests":
            if f"{variables['owner']}/{variables['name']}" != self.repo:
                return Reply(
                    200,
                    {
                        "data": {"repository": None},
                        "errors": [
                            {
                                "type": "NOT_FOUND",
                                "path": ["repository"],
                                "message": "Could not resolve to a Repository with the name "
                                f"'{variables['owner']}/{variables['name']}'.",
                            }
                        ],
                    },
                )
            states = variables.get("states")
            nodes = [self.nodes[r["pull"]["number"]] for r in by_updated(self.items)]
            nodes = [n for n in nodes if states is None or n["state"] in states]
            page = _page(nodes, variables["first"], variables.get("after"))
            page["nodes"] = [
                {
                    **{k: v for k, v in n.items() if k != "timeline"},
                    "timelineItems": self._timeline(n, None),
                }
                for n in page["nodes"]
            ]
            data = {
                "rateLimit": {"cost": 1, "remaining": 4999, "resetAt": "2030-01-01T00:00:00Z"},
                "repository": {"pullRequests": page},
            }
        elif operation == "MoreTimeline":
            node = next(n for n in self.nodes.values() if n["id"] == variables["id"])
            data = {"node": {"timelineItems": self._timeline(node, variables["after"])}}
        elif operation == "MoreReviewComments":
            review = self.reviews[variables["id"]]
            page = _page(review["all_comments"], 100, variables["after"])
            data = {"node": {"comments": {"totalCount": len(review["all_comments"]), **page}}}
        else:
            return Reply(200, {"errors": [{"message": f"unknown operation {operation}"}]})
        return Reply(
            200,
            {"data": data},
            {"X-RateLimit-Remaining": "4999", "X-RateLimit-Resource": "graphql"},
        )
