"""GraphQL mode of the GitHub client against a real local server (a fake GraphQL endpoint
serving recorded pull requests); REST and GraphQL must give the same tables."""

from __future__ import annotations

import pandas as pd
import pytest
from github_model import REPO, GraphQLModel, build, serve_rest
from github_server import DROP, Reply
from test_github_client import TOKEN, Sleeps, client

import aiimpact as ai
from aiimpact.errors import InputError
from aiimpact.platforms.github import GitHubAPIError, GitHubClient, fetch_pull_requests


@pytest.fixture
def model(server, recorded):
    items = build(recorded)
    serve_rest(server, items)
    fake = GraphQLModel(items)
    server.on_post = fake
    return fake


def tables(server, tmp_path, api: str) -> ai.platforms.tables.PullRequestData:
    return ai.github.pull_requests(
        REPO, token=TOKEN, api_url=server.url, cache_dir=tmp_path / api, api=api, progress=False
    )


def test_graphql_and_rest_give_the_same_tables(server, model, tmp_path):
    started = pd.Timestamp.now(tz="UTC").floor("s")
    rest = tables(server, tmp_path, "rest")
    rest_requests = len(server.requests)
    server.clear_log()
    graphql = tables(server, tmp_path, "graphql")
    graphql_requests = len(server.requests)

    assert sorted(rest.prs.number) == [2733, 3114, 5046, 7458, 47550, 48543]
    # same history, fetched at different instants: observed_at is each fetch's time
    pd.testing.assert_frame_equal(
        rest.prs.drop(columns="observed_at"), graphql.prs.drop(columns="observed_at")
    )
    assert (graphql.prs.observed_at >= rest.prs.observed_at).all()
    assert (rest.prs.observed_at >= started).all()
    pd.testing.assert_frame_equal(
        rest.reviews.drop(columns="state"), graphql.reviews.drop(columns="state")
    )
    assert list(rest.reviews.state) == list(graphql.reviews.state)
    pd.testing.assert_frame_equal(rest.pr_commits, graphql.pr_commits)
    # one page of PRs + one follow-up for the 108-item timeline + one for 120 comments
    assert model.operations == ["PullRequests", "MoreTimeline", "MoreReviewComments"]
    assert graphql_requests == 3 and rest_requests == 1 + 6 * 6
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests)

    prs = graphql.prs.set_index("number")
    assert (
        prs.loc[2733, "comments"] == 57 + 120
    )  # conversation (58, one by sonarcloud[bot]) + inline
    assert prs.loc[2733, "reviews"] == 14
    assert prs.loc[3114, "author_login"] is pd.NA or pd.isna(prs.loc[3114, "author_login"])
    assert bool(prs.loc[48543, "is_open"]) and pd.isna(prs.loc[48543, "time_to_merge"])
    assert prs.loc[5046, "time_to_merge"] == pytest.approx(858.6081, abs=1e-3)  # by hand


def test_graphql_incremental_second_run_is_one_request(server, model, tmp_path):
    first = tables(server, tmp_path, "graphql")
    server.clear_log()
    second = tables(server, tmp_path, "graphql")
    assert len(server.requests) == 1, "listing stops at the first PR older than the last run"
    pd.testing.assert_frame_equal(first.prs, second.prs)


def test_graphql_state_filter_and_page_size(server, model):
    got = list(
        fetch_pull_requests(REPO, token=TOKEN, api_url=server.url, api="graphql", state="open")
    )
    assert [g["pull"]["number"] for g in got] == [48543]
    asked = [r.body["variables"] for r in server.requests]
    assert asked[0]["states"] == ["OPEN"] and asked[0]["first"] == 25


def test_graphql_rate_limited_waits_for_reset(server, model):
    sleeps = Sleeps()
    error = {"type": "RATE_LIMITED", "message": "API rate limit exceeded"}
    reset = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(sleeps.now) + 120)}
    limited = Reply(200, {"data": None, "errors": [error]}, reset)
    server.queue_post(limited)
    gh = client(server, sleeps)
    data = gh.graphql(
        "query PullRequests { }", {"owner": "octo", "name": "model", "first": 1, "after": None}
    )
    assert data["repository"]["pullRequests"]["nodes"][0]["number"] == 48543
    assert sleeps == [pytest.approx(121)]  # until the reset, not a fixed guess


def test_graphql_secondary_limit_5xx_and_drop_are_retried(server, model):
    sleeps = Sleeps()
    server.queue_post(
        Reply(403, {"message": "You have exceeded a secondary rate limit"}, {"Retry-After": "7"}),
        Reply(502, {"message": "Server Error"}),
        DROP,
    )
    gh = client(server, sleeps)
    data = gh.graphql(
        "query PullRequests { }", {"owner": "octo", "name": "model", "first": 2, "after": None}
    )
    assert len(data["repository"]["pullRequests"]["nodes"]) == 2
    assert sleeps[0] == 7 and len(sleeps) == 3 and server.statuses() == [403, 502, 0, 200]


def test_graphql_page_that_times_out_is_asked_smaller(server, model):
    server.queue_post(*[Reply(502, {"message": "Server Error"})] * 3)
    got = list(
        fetch_pull_requests(
            REPO,
            token=TOKEN,
            api_url=server.url,
            api="graphql",
            max_retries=2,
            sleep=lambda s: None,
        )
    )
    assert len(got) == 6
    firsts = [r.body["variables"].get("first") for r in server.requests if r.status == 200]
    assert firsts[0] == 12, firsts  # 25 failed three times (two retries), then half


def test_graphql_not_found_and_errors(server, model):
    with pytest.raises(InputError, match="octo/gone"):
        list(fetch_pull_requests("octo/gone", token=TOKEN, api_url=server.url, api="graphql"))
    server.queue_post(Reply(200, {"errors": [{"message": "Field 'x' doesn't exist"}]}))
    with pytest.raises(GitHubAPIError, match="Field 'x' doesn't exist"):
        client(server).graphql("query PullRequests { x }")
    server.queue_post(Reply(200, b"{not json"))
    with pytest.raises(InputError, match="malformed JSON"):
        client(server).graphql("query PullRequests { }")
    server.queue_post(Reply(401, {"message": "Bad credentials"}))
    with pytest.raises(InputError, match="401") as err:
        client(server).graphql("query PullRequests { }")
    assert TOKEN not in str(err.value)
    with pytest.raises(InputError, match="api="):
        list(fetch_pull_requests(REPO, api="soap"))


def test_graphql_partial_errors_are_counted_and_skipped(server, model):
    node = model.nodes[7458]
    partial = {
        "data": {
            "repository": {
                "pullRequests": {
                    "pageInfo": {"hasNextPage": False, "endCursor": "2"},
                    "nodes": [
                        None,
                        {
                            **{k: v for k, v in node.items() if k != "timeline"},
                            "timelineItems": model._timeline(node, None),
                        },
                    ],
                }
            }
        },
        "errors": [
            {
                "type": "FORBIDDEN",
                "path": ["repository", "pullRequests", "nodes", 0],
                "message": "Resource not accessible",
            }
        ],
    }
    server.queue_post(Reply(200, partial))
    gh = client(server)
    from aiimpact.platforms.github.graphql import walk_graphql

    got = list(walk_graphql(gh, REPO, "all", None))
    assert [g["pull"]["number"] for g in got] == [7458] and gh.graphql_errors == 1


def test_graphql_url_of_enterprise_roots():
    assert GitHubClient(api_url="https://ghe.example/api/v3").graphql_url == (
        "https://ghe.example/api/graphql"
    )
    assert GitHubClient(api_url="https://api.github.com").graphql_url == (
        "https://api.github.com/graphql"
    )


def test_cli_graphql_flag(server, model, tmp_path, monkeypatch):
    from aiimpact.cli import main

    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    out = tmp_path / "out"
    assert (
        main(
            [
                "prs",
                REPO,
                "--graphql",
                "--api-url",
                server.url,
                "-o",
                str(out),
                "--cache-dir",
                str(tmp_path / "c"),
            ]
        )
        == 0
    )
    assert {r.method for r in server.requests} == {"POST"}
    assert sorted(pd.read_parquet(out / "prs.parquet").number) == [
        2733,
        3114,
        5046,
        7458,
        47550,
        48543,
    ]
