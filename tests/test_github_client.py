"""GitHub REST client against a real local HTTP server replaying recorded GitHub responses."""

from __future__ import annotations

import json
import traceback
from datetime import UTC, datetime

import duckdb
import pytest
from github_model import serve_pull
from github_server import DROP, GitHubServer, Reply

from aiimpact.errors import InputError
from aiimpact.platforms.github import (
    GitHubAPIError,
    GitHubClient,
    fetch_pull_requests,
    parse_link_header,
)

TOKEN = "ghp_TEST0SECRET0TOKEN0123456789abcdef"
T0 = 1_700_000_000.0


class Sleeps(list):
    """Injected sleep: records durations, advances the fake clock, never really sleeps."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def client(server, sleeps=None, **kw) -> GitHubClient:
    sleeps = sleeps if sleeps is not None else Sleeps()
    kw.setdefault("token", TOKEN)
    return GitHubClient(api_url=server.url, sleep=sleeps, clock=sleeps.clock, **kw)


def next_link(url: str) -> dict[str, str]:
    return {"Link": f'<{url}>; rel="next", <{url}&page=99>; rel="last"'}


# -- pagination ---------------------------------------------------------------------------
def test_link_pagination_follows_repositories_id_switch(server, recorded):
    """The recorded Link header (real /repositories/{id} form) is followed verbatim."""
    _, headers, page1 = recorded("github3py/decoded/repo-issue-events-page1-link.json", 1)
    link = headers["Link"].replace("https://api.github.com", server.url)
    assert "/repositories/3710711/issues/events?per_page=50&page=2" in link
    page2 = recorded("github3py/decoded/issue-218-events.json", 2)[2]
    server.add(
        "/repos/sigmavirus24/github3.py/issues/events?per_page=50", page1, headers={"Link": link}
    )
    server.add("/repositories/3710711/issues/events?per_page=50&page=2", page2)
    with client(server) as gh:
        pages = list(gh.paginate("/repos/sigmavirus24/github3.py/issues/events", {"per_page": 50}))
    assert [len(p) for p in pages] == [50, len(page2)]
    assert pages[0] == page1 and pages[1] == page2
    assert [(r.path, r.query) for r in server.requests] == [
        ("/repos/sigmavirus24/github3.py/issues/events", {"per_page": "50"}),
        ("/repositories/3710711/issues/events", {"per_page": "50", "page": "2"}),
    ]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests)
    assert all(r.headers["x-github-api-version"] for r in server.requests)


def test_multi_page_timeline(server, recorded):
    p1 = recorded("github-stats/timeline-jellyfin-2733-page1.json")
    p2 = recorded("github-stats/timeline-jellyfin-2733-page2.json")
    nxt = f"{server.url}/repositories/31029024/issues/2733/timeline?per_page=100&after=Y3Vy"
    server.add(
        "/repos/jellyfin/jellyfin/issues/2733/timeline?per_page=100", p1, headers=next_link(nxt)
    )
    server.add("/repositories/31029024/issues/2733/timeline?per_page=100&after=Y3Vy", p2)
    with client(server) as gh:
        events = [
            e
            for page in gh.paginate(
                "/repos/jellyfin/jellyfin/issues/2733/timeline", {"per_page": 100}
            )
            for e in page
        ]
    assert len(events) == 195 == len(p1) + len(p2)
    assert events == p1 + p2
    assert server.statuses() == [200, 200]


def test_parse_link_header():
    h = '<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last"'
    assert parse_link_header(h) == {"next": "https://a/x?page=2", "last": "https://a/x?page=9"}
    assert parse_link_header(None) == {}


# -- ETag cache ---------------------------------------------------------------------------
def test_second_run_costs_only_304s(server, recorded, tmp_path):
    p1 = recorded("github-stats/timeline-jellyfin-2733-page1.json")
    p2 = recorded("github-stats/timeline-jellyfin-2733-page2.json")
    nxt = f"{server.url}/repositories/31029024/issues/2733/timeline?per_page=100&page=2"
    server.add(
        "/repos/jellyfin/jellyfin/issues/2733/timeline?per_page=100", p1, headers=next_link(nxt)
    )
    server.add("/repositories/31029024/issues/2733/timeline?per_page=100&page=2", p2)
    cache = tmp_path / "gh" / "etags.duckdb"
    path = "/repos/jellyfin/jellyfin/issues/2733/timeline"
    with client(server, cache_path=cache) as gh:
        first = list(gh.paginate(path, {"per_page": 100}))
    assert server.statuses() == [200, 200]
    server.clear_log()
    with client(server, cache_path=cache) as gh:  # a new process: only the file is shared
        second = list(gh.paginate(path, {"per_page": 100}))
    assert second == first == [p1, p2]
    # the server's 304 carries no Link: the stored one led to page 2
    assert server.statuses() == [304, 304]
    assert all(r.headers["if-none-match"].startswith('"') for r in server.requests)
    con = duckdb.connect(str(cache), read_only=True)
    rows = con.execute("SELECT url, etag, body, fetched_at FROM etags").fetchall()
    con.close()
    bodies = {url.removeprefix(server.url): json.loads(body) for url, _, body, _ in rows}
    assert bodies == {
        "/repos/jellyfin/jellyfin/issues/2733/timeline?per_page=100": p1,
        "/repositories/31029024/issues/2733/timeline?per_page=100&page=2": p2,
    }
    assert TOKEN.encode() not in cache.read_bytes()


def test_changed_resource_is_refetched_and_cache_kept_on_errors(server, tmp_path):
    cache = tmp_path / "etags.duckdb"
    server.add("/repos/o/r/pulls/1", {"number": 1, "title": "old"})
    with client(server, cache_path=cache) as gh:
        assert gh.get_json("/repos/o/r/pulls/1")[0]["title"] == "old"
    server.add("/repos/o/r/pulls/1", Reply(200, b"{not json", {"ETag": '"new"'}))
    with client(server, cache_path=cache) as gh, pytest.raises(InputError) as err:
        gh.get_json("/repos/o/r/pulls/1")
    assert "malformed JSON" in str(err.value)
    assert f"{server.url}/repos/o/r/pulls/1" in str(err.value)
    server.add("/repos/o/r/pulls/1", {"number": 1, "title": "old"})
    server.clear_log()
    with client(server, cache_path=cache) as gh:  # the good body survived the bad answer
        assert gh.get_json("/repos/o/r/pulls/1")[0]["title"] == "old"
    assert server.statuses() == [304]
    server.add("/repos/o/r/pulls/1", {"number": 1, "title": "new"})
    with client(server, cache_path=cache) as gh:
        assert gh.get_json("/repos/o/r/pulls/1")[0]["title"] == "new"
        assert gh.get_json("/repos/o/r/pulls/1")[0]["title"] == "new"
    assert server.statuses()[-2:] == [200, 304]


def test_unreadable_cache_is_moved_aside(server, tmp_path):
    from aiimpact.errors import CacheRebuiltWarning

    cache = tmp_path / "etags.duckdb"
    cache.write_bytes(b"this is not a duckdb file" * 100)
    server.add("/repos/o/r", {"id": 1})
    with pytest.warns(CacheRebuiltWarning), client(server, cache_path=cache) as gh:
        assert gh.get_json("/repos/o/r")[0] == {"id": 1}
    assert list(tmp_path.glob("etags.duckdb.corrupt-*"))


# -- rate limits and retries ------------------------------------------------------------------
@pytest.mark.parametrize("status", [429, 403])
def test_secondary_limit_with_retry_after(server, status):
    limited = Reply(
        status,
        {"message": "You have exceeded a secondary rate limit."},
        {"Retry-After": "7", "X-RateLimit-Remaining": "4000"},
    )
    server.add("/repos/o/r", limited, limited, {"id": 1})
    sleeps = Sleeps()
    with client(server, sleeps) as gh:
        assert gh.get_json("/repos/o/r")[0] == {"id": 1}
    assert sleeps == [7.0, 7.0]
    assert server.statuses() == [status, status, 200]


@pytest.mark.parametrize("status", [429, 403])
def test_secondary_limit_without_retry_after_backs_off(server, status):
    limited = Reply(status, {"message": "You have exceeded a secondary rate limit. Please wait"})
    server.add("/repos/o/r", limited, limited, limited, {"id": 1})
    sleeps = Sleeps()
    with client(server, sleeps) as gh:
        assert gh.get_json("/repos/o/r")[0] == {"id": 1}
    assert len(sleeps) == 3 and all(s >= 60 for s in sleeps)
    assert sleeps[0] < sleeps[1] < sleeps[2]  # exponential
    assert server.statuses() == [status] * 3 + [200]


def test_primary_limit_waits_until_reset(server):
    reset = int(T0) + 900
    spent = Reply(
        403,
        {"message": "API rate limit exceeded for user ID 1."},
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    server.add("/repos/o/r", spent, Reply(200, {"id": 1}, {"X-RateLimit-Remaining": "4999"}))
    sleeps = Sleeps()
    with client(server, sleeps) as gh:
        assert gh.get_json("/repos/o/r")[0] == {"id": 1}
    assert len(sleeps) == 1 and 900 <= sleeps[0] <= 902
    assert server.statuses() == [403, 200]


def test_primary_limit_429_without_reset_header(server):
    spent = Reply(429, {"message": "API rate limit exceeded"}, {"X-RateLimit-Remaining": "0"})
    server.add("/repos/o/r", spent, {"id": 1})
    sleeps = Sleeps()
    with client(server, sleeps) as gh:
        assert gh.get_json("/repos/o/r")[0] == {"id": 1}
    assert sleeps == [60.0]


def test_exhausted_budget_waits_before_next_request(server):
    """A 200 announcing Remaining: 0 makes the client wait for the reset before asking again."""
    server.add(
        "/a",
        Reply(200, [1], {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(T0) + 30)}),
    )
    server.add("/b", [2])
    sleeps = Sleeps()
    with client(server, sleeps) as gh:
        gh.get_json("/a")
        assert sleeps == []
        gh.get_json("/b")
    assert sleeps == [31.0]
    assert server.statuses() == [200, 200]


def test_5xx_burst_then_success(server):
    server.add(
        "/repos/o/r",
        Reply(502, b"<html>bad gateway</html>"),
        Reply(503, {"message": "unavailable"}),
        Reply(500, b""),
        {"id": 1},
    )
    sleeps = Sleeps()
    with client(server, sleeps) as gh:
        assert gh.get_json("/repos/o/r")[0] == {"id": 1}
    assert sleeps == [1.0, 2.0, 4.0]
    assert server.statuses() == [502, 503, 500, 200]


def test_dropped_connection_then_success(server):
    server.add("/repos/o/r", DROP, DROP, {"id": 1})
    sleeps = Sleeps()
    with client(server, sleeps) as gh:
        assert gh.get_json("/repos/o/r")[0] == {"id": 1}
    assert len(sleeps) == 2
    assert server.statuses() == [0, 0, 200]


def test_gives_up_after_max_retries(server):
    server.add("/repos/o/r", Reply(500, {"message": "boom"}))
    sleeps = Sleeps()
    with client(server, sleeps, max_retries=3) as gh, pytest.raises(GitHubAPIError) as err:
        gh.get_json("/repos/o/r")
    assert "after 3 retries" in str(err.value) and "500" in str(err.value)
    assert server.statuses() == [500] * 4 and len(sleeps) == 3
    server.add("/x", DROP)
    with client(server, sleeps, max_retries=1) as gh, pytest.raises(GitHubAPIError) as err:
        gh.get_json("/x")
    assert "connection failed" in str(err.value)


# -- errors ---------------------------------------------------------------------------------
def _all_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc)


def test_401_names_the_problem_not_the_token(server):
    server.add("/repos/o/r/pulls?per_page=100", Reply(401, {"message": "Bad credentials"}))
    with client(server) as gh:
        assert TOKEN not in repr(gh)
        with pytest.raises(InputError) as err:
            list(gh.paginate("/repos/o/r/pulls", {"per_page": 100}))
    assert str(err.value).startswith("GitHub rejected the token (401)")
    assert TOKEN not in _all_text(err.value)
    assert server.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert server.statuses() == [401]


def test_404_names_the_repository(server):
    with client(server) as gh, pytest.raises(InputError) as err:
        gh.get_json("/repos/nobody/private-thing/pulls/3")
    msg = str(err.value)
    assert "nobody/private-thing" in msg and "not found" in msg and "private" in msg
    assert TOKEN not in _all_text(err.value)


def test_plain_403_is_an_input_error(server):
    server.add("/repos/o/r", Reply(403, {"message": "Resource not accessible by integration"}))
    with client(server) as gh, pytest.raises(InputError, match="not accessible"):
        gh.get_json("/repos/o/r")
    assert server.statuses() == [403]


def test_malformed_json_names_the_url(server):
    server.add("/repos/o/r/pulls?state=all", Reply(200, b'[{"number": 1,'))
    with client(server) as gh, pytest.raises(InputError) as err:
        list(gh.paginate("/repos/o/r/pulls", {"state": "all"}))
    assert f"{server.url}/repos/o/r/pulls?state=all" in str(err.value)


def test_environment_and_anonymous(server, monkeypatch):
    server.add("/repos/o/r", {"id": 1})
    monkeypatch.setenv("GITHUB_API_URL", server.url)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with GitHubClient() as gh:
        gh.get_json("/repos/o/r")
    monkeypatch.delenv("GITHUB_TOKEN")
    with GitHubClient() as gh:
        gh.get_json("/repos/o/r")
        assert "authenticated=False" in repr(gh)
    assert server.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in server.requests[1].headers


def test_token_not_sent_to_another_origin(server):
    other = GitHubServer()
    try:
        other.add("/elsewhere", [1])
        server.add("/repos/o/r/pulls", [0], headers=next_link(f"{other.url}/elsewhere"))
        with client(server) as gh:
            assert list(gh.paginate("/repos/o/r/pulls")) == [[0], [1]]
        assert "authorization" not in other.requests[0].headers
    finally:
        other.close()


# -- fetch_pull_requests end to end ---------------------------------------------------------
REPO = "octo/demo"


def serve_fake_repo(server, recorded) -> dict[int, dict]:
    """Three recorded PRs under octo/demo; the list and one timeline span two pages."""
    pulls = {
        n: recorded(f"github-stats/pulls-{name}.json")
        for n, name in [(7458, "okhttp-7458"), (5046, "jquery-5046"), (3114, "retrofit-3114")]
    }
    p1 = recorded("github-stats/timeline-jellyfin-2733-page1.json")
    p2 = recorded("github-stats/timeline-jellyfin-2733-page2.json")
    reviews = recorded("github3py/decoded/pr-671-reviews.json", 1)[2]
    commits = recorded("github3py/decoded/pr-235-commits.json", 1)[2]
    review_comments = recorded("github3py/decoded/pr-235-review-comments.json", 1)[2]
    issue_comments = recorded("github3py/decoded/pr-235-issue-comments.json", 1)[2]
    expected = {
        7458: {
            "pull": pulls[7458],
            "reviews": reviews,
            "review_comments": review_comments,
            "issue_comments": issue_comments,
            "timeline": p1 + p2,
            "commits": commits,
        },
        5046: {
            "pull": pulls[5046],
            "reviews": [],
            "review_comments": [],
            "issue_comments": [],
            "timeline": recorded("github-stats/timeline-jquery-5046.json"),
            "commits": [],
        },
        3114: {
            "pull": pulls[3114],
            "reviews": [],
            "review_comments": [],
            "issue_comments": [],
            "timeline": recorded("github-stats/timeline-retrofit-3114.json"),
            "commits": [],
        },
    }
    base = f"/repos/{REPO}"
    listing = "state=all&sort=updated&direction=desc&per_page=100"
    page2 = f"/repositories/4242/pulls?{listing}&page=2"
    server.add(
        f"{base}/pulls?{listing}", [pulls[7458], pulls[5046]], headers=next_link(server.url + page2)
    )
    server.add(page2, [pulls[3114]])
    for n, raw in expected.items():
        serve_pull(server, base, n, raw, timeline=n != 7458)  # 7458's timeline: two pages
    nxt = "/repositories/4242/issues/7458/timeline?per_page=100&page=2"
    server.add(f"{base}/issues/7458/timeline?per_page=100", p1, headers=next_link(server.url + nxt))
    server.add(nxt, p2)
    return expected


def test_fetch_pull_requests_end_to_end(server, recorded, tmp_path):
    expected = serve_fake_repo(server, recorded)
    sleeps = Sleeps()
    kw = {
        "token": TOKEN,
        "api_url": server.url,
        "cache_path": tmp_path / "gh.duckdb",
        "sleep": sleeps,
        "clock": sleeps.clock,
    }
    got = list(fetch_pull_requests(REPO, **kw))
    assert [g["pull"]["number"] for g in got] == [7458, 5046, 3114]
    for g in got:
        assert set(g) == {
            "pull",
            "reviews",
            "review_comments",
            "issue_comments",
            "timeline",
            "commits",
            "fetched_at",
        }
        fetched = datetime.fromisoformat(g.pop("fetched_at"))
        assert abs((datetime.now(UTC) - fetched).total_seconds()) < 60
        assert g == expected[g["pull"]["number"]]
    assert len(got[0]["timeline"]) == 195 and len(got[0]["reviews"]) == 5
    first = server.statuses()
    assert set(first) == {200} and len(first) == 2 + 3 * 6 + 1 and sleeps == []

    server.clear_log()
    again = [
        {k: v for k, v in g.items() if k != "fetched_at"} for g in fetch_pull_requests(REPO, **kw)
    ]
    assert again == got
    assert server.statuses() == [304] * len(first)  # unchanged server: only 304s


def test_fetch_pull_requests_since_stops_listing(server, recorded):
    serve_fake_repo(server, recorded)
    got = list(
        fetch_pull_requests(REPO, token=TOKEN, api_url=server.url, since="2022-08-01T00:00:00Z")
    )
    assert [g["pull"]["number"] for g in got] == [7458]
    paths = [r.path for r in server.requests]
    assert "/repositories/4242/pulls" not in paths  # stopped on page 1
    assert not any("/5046" in p or "/3114" in p for p in paths)


def test_fetch_pull_requests_bad_input():
    with pytest.raises(InputError, match="owner/name"):
        list(fetch_pull_requests("not a repo"))
    with pytest.raises(InputError, match="state"):
        list(fetch_pull_requests("o/r", state="merged"))
    with pytest.raises(InputError, match="ISO 8601"):
        list(fetch_pull_requests("o/r", since="last tuesday"))


def test_fetch_pull_requests_missing_repo(server):
    with pytest.raises(InputError, match="octo/gone"):
        list(fetch_pull_requests("octo/gone", token=TOKEN, api_url=server.url))


def test_pull_requests_tables_and_cli(server, recorded, tmp_path, monkeypatch, capsys):
    import pandas as pd

    import aiimpact as ai
    from aiimpact.cli import main

    serve_fake_repo(server, recorded)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    data = ai.github.pull_requests(REPO, api_url=server.url, cache_dir=tmp_path / "c")
    prs = data.prs.set_index("number")
    assert sorted(prs.index) == [3114, 5046, 7458]
    assert prs.loc[5046, "time_to_merge"] == pytest.approx(858.6081, abs=1e-3)  # by hand
    assert prs.loc[7458, "reviews"] == 5 and len(data.reviews) == 5
    assert set(data.pr_commits.number) <= {7458, 5046, 3114}
    server.clear_log()
    out = tmp_path / "out"
    assert (
        main(
            [
                "prs",
                REPO,
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
    assert set(server.statuses()) == {304}, "the second run is served from the ETag cache"
    written = pd.read_parquet(out / "prs.parquet")
    assert sorted(written.number) == [3114, 5046, 7458]
    assert (out / "reviews.parquet").exists() and (out / "pr_commits.parquet").exists()
    assert TOKEN not in capsys.readouterr().err


def test_pull_requests_is_incremental(server, recorded, tmp_path):
    import aiimpact as ai

    expected = serve_fake_repo(server, recorded)
    kw = {"api_url": server.url, "cache_dir": tmp_path / "c", "token": TOKEN}
    first = ai.github.pull_requests(REPO, **kw)
    assert len(first.prs) == 3
    # one PR is updated upstream: only it is fetched again, the others come from the store
    changed = {**expected[5046]["pull"], "title": "Renamed", "updated_at": "2099-01-01T00:00:00Z"}
    listing = "state=all&sort=updated&direction=desc&per_page=100"
    server.add(f"/repos/{REPO}/pulls?{listing}", [changed, expected[7458]["pull"]])
    server.add(f"/repos/{REPO}/pulls/5046", changed)
    server.clear_log()
    second = ai.github.pull_requests(REPO, **kw)
    fetched = [r.path for r in server.requests]
    assert len(second.prs) == 3
    assert second.prs.set_index("number").loc[5046, "title"] == "Renamed"
    assert (
        second.prs.set_index("number").loc[7458, "title"]
        == first.prs.set_index("number").loc[7458, "title"]
    )
    assert any("/pulls/5046" in p for p in fetched)
    assert all("/7458" not in p and "/3114" not in p for p in fetched), fetched
