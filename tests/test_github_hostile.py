"""The GitHub client against a hostile or broken server (issue 11), on a real local server:
waits beyond the caps, trickling and huge bodies, corrupted stores, answers of the wrong
shape, redirect loops, credentials in the API URL and repository names that are paths."""

from __future__ import annotations

import base64
import json
import re
import time
import warnings

import duckdb
import pytest
from github_server import GitHubServer, Reply
from test_github_client import REPO, T0, TOKEN, Sleeps, client, serve_fake_repo

import aiimpact as ai
from aiimpact.cli import main
from aiimpact.errors import CacheRebuiltWarning, InputError
from aiimpact.platforms.github import GitHubAPIError, GitHubClient, fetch_pull_requests

LISTING = "state=all&sort=updated&direction=desc&per_page=100"


def _prs_cli(repo: str, server, tmp_path) -> int:
    """``aiimpact prs REPO`` against the local server, output and cache under *tmp_path*."""
    out, cache = str(tmp_path / "out"), str(tmp_path / "c")
    return main(["prs", repo, "--api-url", server.url, "-o", out, "--cache-dir", cache])


def store_file(cache_dir, name: str):
    (found,) = cache_dir.glob(f"*/{name}")
    return found


def corrupt(path, how: str, table: str) -> None:
    """Damage a real DuckDB file: its header, or bytes inside the block holding *table*'s
    rows (DuckDB still opens such a file, and fails only when it reads those rows)."""
    data = bytearray(path.read_bytes())
    if how == "header":
        data[:4096] = b"\xff" * 4096
    else:
        con = duckdb.connect(str(path), read_only=True)
        block = con.execute(
            f"SELECT max(block_id) FROM pragma_storage_info('{table}') WHERE block_id >= 0"
        ).fetchone()[0]
        con.close()
        start = 3 * 4096 + block * 256 * 1024 + 8  # file headers, then 256 KiB blocks
        for i in range(start, start + 4096):
            data[i] ^= 0x5A
    path.write_bytes(bytes(data))


# -- item 12: a corrupted pulls.duckdb is moved aside like the ETag cache -----------------
@pytest.mark.parametrize("how", ["header", "rows"])
@pytest.mark.parametrize(
    "name, table, what",
    [("pulls.duckdb", "pulls", "pull-request store"), ("github.duckdb", "etags", "GitHub cache")],
)
def test_corrupt_store_is_moved_aside(server, recorded, tmp_path, how, name, table, what):
    """pulls.duckdb (the PR store) and github.duckdb (the ETag cache), damaged for real, are
    moved aside on opening and rebuilt; the run succeeds, and so does the next one."""
    serve_fake_repo(server, recorded)
    kw = {"token": TOKEN, "api_url": server.url, "cache_dir": tmp_path / "c", "progress": False}
    first = ai.github.pull_requests(REPO, **kw)
    store = store_file(tmp_path / "c", name)
    corrupt(store, how, table)
    with pytest.warns(CacheRebuiltWarning, match=what):
        again = ai.github.pull_requests(REPO, **kw)
    assert list(store.parent.glob(f"{name}.corrupt-*"))
    assert sorted(again.prs.number) == sorted(first.prs.number) == [3114, 5046, 7458]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt file is trusted from now on
        assert sorted(ai.github.pull_requests(REPO, **kw).prs.number) == [3114, 5046, 7458]


def test_corrupt_pr_store_cli_recovers(server, recorded, tmp_path, capsys):
    serve_fake_repo(server, recorded)
    assert _prs_cli(REPO, server, tmp_path) == 0
    corrupt(store_file(tmp_path / "c", "pulls.duckdb"), "header", "pulls")
    capsys.readouterr()
    assert _prs_cli(REPO, server, tmp_path) == 0
    assert "pull-request store" in capsys.readouterr().err  # the one-line warning
    assert _prs_cli(REPO, server, tmp_path) == 0


def test_corrupt_cache_in_a_folder_named_like_a_lock_is_moved_aside(server, tmp_path, monkeypatch):
    """DuckDB's error names the file: a "lock" in its path is no lock conflict."""
    monkeypatch.setenv("AIIMPACT_LOCK_TIMEOUT", "0.5")
    cache = tmp_path / "unlocked" / "etags.duckdb"
    cache.parent.mkdir()
    cache.write_bytes(b"not a duckdb file" * 300)
    server.add("/repos/o/r", {"id": 1})
    with pytest.warns(CacheRebuiltWarning), client(server, cache_path=cache) as gh:
        assert gh.get_json("/repos/o/r")[0] == {"id": 1}


# -- item 8: every wait is capped ---------------------------------------------------------
def far_reset(now: float) -> dict[str, str]:
    return {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(now) + 1_000_000_000)}


def test_primary_reset_far_away_stops_instead_of_sleeping(server):
    server.add("/repos/o/r", Reply(403, {"message": "API rate limit exceeded"}, far_reset(T0)))
    sleeps = Sleeps()
    with client(server, sleeps) as gh, pytest.raises(GitHubAPIError) as err:
        gh.get_json("/repos/o/r")
    msg = str(err.value)
    assert "1000000001 s" in msg and "max_wait=3900 s" in msg and "next run continues" in msg
    assert "\n" not in msg
    assert sleeps == [] and server.statuses() == [403]


def test_spent_budget_with_far_reset_stops_before_the_next_request(server):
    server.add("/a", Reply(200, [1], far_reset(T0)))
    server.add("/b", [2])
    sleeps = Sleeps()
    with client(server, sleeps, max_wait=600) as gh:
        gh.get_json("/a")
        with pytest.raises(GitHubAPIError, match="max_wait=600 s"):
            gh.get_json("/b")
    assert sleeps == [] and [r.path for r in server.requests] == ["/a"]


@pytest.mark.parametrize("retry_after", ["86400", "1e12", "inf"])
def test_retry_after_beyond_max_wait_stops(server, retry_after):
    limited = Reply(429, {"message": "secondary rate limit"}, {"Retry-After": retry_after})
    server.add("/repos/o/r", limited, {"id": 1})
    sleeps = Sleeps()
    with client(server, sleeps) as gh:
        if retry_after == "inf":  # no usable number: the capped backoff, then success
            assert gh.get_json("/repos/o/r")[0] == {"id": 1}
            assert sleeps == [60.0]
            return
        with pytest.raises(GitHubAPIError, match="max_wait"):
            gh.get_json("/repos/o/r")
    assert sleeps == []


def test_wait_within_max_wait_is_waited(server):
    spent = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(T0) + 99)}
    server.add("/repos/o/r", Reply(403, {"message": "API rate limit exceeded"}, spent), {"id": 1})
    sleeps = Sleeps()
    with client(server, sleeps, max_wait=100) as gh:
        assert gh.get_json("/repos/o/r")[0] == {"id": 1}
    assert sleeps == [100.0]


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_backoff_without_retry_after_is_capped(server, status):
    limited = Reply(status, {"message": "You have exceeded a secondary rate limit"})
    server.add("/repos/o/r", *[limited] * 6, {"id": 1})
    sleeps = Sleeps()
    with client(server, sleeps) as gh:  # defaults: at most 300 s a step, not up to 1800
        assert gh.get_json("/repos/o/r")[0] == {"id": 1}
    assert sleeps == [60.0, 120.0, 240.0, 300.0, 300.0, 300.0]
    server.add("/repos/o/r", limited, limited, {"id": 1})
    fast = Sleeps()
    with client(server, fast, max_backoff=0.5) as gh:  # every wait is configurable
        assert gh.get_json("/repos/o/r")[0] == {"id": 1}
    assert fast == [0.5, 0.5]


def test_graphql_rate_limit_with_far_reset_stops(server):
    error = {"data": None, "errors": [{"type": "RATE_LIMITED", "message": "rate limited"}]}
    server.queue_post(Reply(200, error, far_reset(T0)))
    sleeps = Sleeps()
    with client(server, sleeps) as gh, pytest.raises(GitHubAPIError, match="max_wait"):
        gh.graphql("query PullRequests { }")
    assert sleeps == []


def test_trickling_body_fails_at_the_deadline(server):
    body = json.dumps([{"id": i} for i in range(40)]).encode()  # ~400 bytes, 20 ms each: 8 s
    server.add("/repos/o/r/pulls", Reply(200, body, trickle=0.02))
    sleeps = Sleeps()
    started = time.monotonic()
    gh = client(server, sleeps, deadline=0.3, max_retries=1)
    with gh, pytest.raises(GitHubAPIError) as err:
        gh.get_json("/repos/o/r/pulls")
    assert time.monotonic() - started < 3
    assert "0.3 s deadline" in str(err.value) and "after 1 retries" in str(err.value)
    assert server.statuses() == [200, 200] and len(sleeps) == 1
    server.add("/quick", Reply(200, b'{"id": 1}', trickle=0.005))  # slow but in time: fine
    with client(server, deadline=5) as gh:
        assert gh.get_json("/quick")[0] == {"id": 1}


def test_huge_announced_body_is_refused_unread(server):
    server.add("/repos/o/r/pulls", Reply(200, filler=300 * 2**20))  # Content-Length: 300 MB
    started = time.monotonic()
    with client(server) as gh, pytest.raises(InputError) as err:
        gh.get_json("/repos/o/r/pulls")
    assert time.monotonic() - started < 5
    assert f"max_body={50 * 2**20} bytes" in str(err.value) and "/repos/o/r/pulls" in str(err.value)
    assert "314572800 bytes" in str(err.value)
    assert server.bytes_sent < 50 * 2**20


def test_huge_unannounced_body_is_cut_at_max_body(server):
    server.add("/repos/o/r/pulls", Reply(200, filler=300 * 2**20, length=False))
    with client(server, max_body=2**20) as gh, pytest.raises(InputError, match="max_body"):
        gh.get_json("/repos/o/r/pulls")
    assert server.bytes_sent < 64 * 2**20  # stopped reading at 1 MiB, not at 300 MB


def test_run_stopped_by_a_far_reset_is_resumable(server, recorded, tmp_path, capsys):
    """The CLI stops with one line (exit 1, no traceback); the PRs already fetched stay in
    the store, and the next run completes, those PRs costing only 304s."""
    expected = serve_fake_repo(server, recorded)
    spent = Reply(403, {"message": "API rate limit exceeded"}, far_reset(time.time()))
    server.add(f"/repos/{REPO}/pulls/5046", spent)
    assert _prs_cli(REPO, server, tmp_path) == 1
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("aiimpact: error: GitHub primary rate limit") and "max_wait" in last
    assert "Traceback" not in err and "internal error" not in err
    con = duckdb.connect(str(store_file(tmp_path / "c", "pulls.duckdb")), read_only=True)
    assert con.execute("SELECT number FROM pulls").fetchall() == [(7458,)]
    con.close()
    server.add(f"/repos/{REPO}/pulls/5046", expected[5046]["pull"])  # the limit has reset
    server.clear_log()
    assert _prs_cli(REPO, server, tmp_path) == 0
    by_path = {r.path: r.status for r in server.requests}
    assert {s for p, s in by_path.items() if "/7458" in p} == {304}
    assert by_path[f"/repos/{REPO}/pulls/5046"] == 200


# -- low items: wrong shapes, redirect loops, credentials, repository names ----------------
def serve_one_pr(server, **override) -> None:
    """PR 1 of o/r with empty lists; *override* replaces a route's body (by list name)."""
    base = "/repos/o/r"
    listed = [{"number": 1, "updated_at": "2024-05-01T00:00:00Z"}]
    routes = {
        "listing": (f"{base}/pulls?{LISTING}", listed),
        "pull": (f"{base}/pulls/1", {"number": 1, "user": {"login": "a"}, "head": {"ref": "x"}}),
        "reviews": (f"{base}/pulls/1/reviews?per_page=100", []),
        "review_comments": (f"{base}/pulls/1/comments?per_page=100", []),
        "issue_comments": (f"{base}/issues/1/comments?per_page=100", []),
        "timeline": (f"{base}/issues/1/timeline?per_page=100", []),
        "commits": (f"{base}/pulls/1/commits?per_page=100", []),
    }
    for name, (path, body) in routes.items():
        body = override.get(name, body)
        server.add(path, body if isinstance(body, Reply) else Reply(200, body))


WRONG_SHAPES = {
    "listing is an object": ({"listing": {"message": "hi"}}, "an object where a list", "/pulls"),
    "listing is null": ({"listing": Reply(200, b"")}, "null where a list", "/pulls"),
    "listing of strings": ({"listing": ["1"]}, "a string where a pull request", "/pulls"),
    "no number": ({"listing": [{"title": "x"}]}, "number is null", "/pulls"),
    "number is text": ({"listing": [{"number": "1"}]}, "number is a string", "/pulls"),
    "bad updated_at": (
        {"listing": [{"number": 1, "updated_at": "yesterday"}]},
        "'yesterday', not an ISO 8601 time",
        "/pulls",
    ),
    "pull is a list": ({"pull": [1]}, "a list where a pull request", "/pulls/1"),
    "user is text": (
        {"pull": {"number": 1, "user": "octocat"}},
        "'user' of a pull request",
        "/pulls/1",
    ),
    "reviews is an object": ({"reviews": {"id": 1}}, "an object where a list", "/reviews"),
    "review is a number": ({"reviews": [7]}, "a number where a review", "/reviews"),
    "commit author is a list": (
        {"commits": [{"sha": "a", "commit": {"author": []}}]},
        "'author' of a commit",
        "/pulls/1/commits",
    ),
    "not JSON": ({"pull": Reply(200, b"<html>Sign in</html>")}, "malformed JSON", "/pulls/1"),
    "nested too deep": (
        {"timeline": Reply(200, b"[" * 100_000 + b"]" * 100_000)},
        "nested too deeply",
        "/timeline",
    ),
}


@pytest.mark.parametrize("case", WRONG_SHAPES, ids=list(WRONG_SHAPES))
def test_wrong_shape_answers_are_input_errors(server, case):
    override, message, where = WRONG_SHAPES[case]
    serve_one_pr(server, **override)
    since = "2024-01-01" if case == "bad updated_at" else None
    with pytest.raises(InputError) as err:
        list(fetch_pull_requests("o/r", token=TOKEN, api_url=server.url, since=since))
    assert message in str(err.value) and server.url + "/repos/o/r" in str(err.value)
    assert where in str(err.value) and "\n" not in str(err.value)


def test_well_shaped_minimal_pr_passes(server):
    serve_one_pr(server)
    (got,) = fetch_pull_requests("o/r", token=TOKEN, api_url=server.url)
    assert got["pull"]["number"] == 1


GRAPHQL_SHAPES = {
    "answer is a list": ([1, 2], "a list where a GraphQL answer"),
    "data is a list": ({"data": []}, "a list where the GraphQL data"),
    "errors is text": ({"data": {}, "errors": "boom"}, "a string where a list of errors"),
    "repository is a list": ({"data": {"repository": []}}, "GraphQL field repository"),
    "nodes is an object": (
        {"data": {"repository": {"pullRequests": {"nodes": {}}}}},
        "GraphQL field repository.pullRequests.nodes",
    ),
    "author is text": (
        {
            "data": {
                "repository": {
                    "pullRequests": {"nodes": [{"id": "P", "number": 1, "author": "octocat"}]}
                }
            }
        },
        "GraphQL field author",
    ),
    "timeline is a list": (
        {
            "data": {
                "repository": {
                    "pullRequests": {"nodes": [{"id": "P", "number": 1, "timelineItems": []}]}
                }
            }
        },
        "GraphQL field timelineItems",
    ),
    "cursor never moves": (
        {
            "data": {
                "repository": {
                    "pullRequests": {
                        "nodes": [],
                        "pageInfo": {"hasNextPage": True, "endCursor": None},
                    }
                }
            }
        },
        "does not advance",
    ),
    "not JSON": (b"<html>", "malformed JSON"),
}


@pytest.mark.parametrize("case", GRAPHQL_SHAPES, ids=list(GRAPHQL_SHAPES))
def test_wrong_shape_graphql_answers_are_input_errors(server, case):
    body, message = GRAPHQL_SHAPES[case]
    server.on_post = lambda path, body_: Reply(200, body)
    with pytest.raises(InputError, match=re.escape(message)):
        list(fetch_pull_requests("o/r", token=TOKEN, api_url=server.url, api="graphql"))


def test_graphql_cursor_loop_in_a_timeline_is_an_input_error(server):
    node = {
        "id": "P",
        "number": 1,
        "timelineItems": {"nodes": [], "pageInfo": {"hasNextPage": True, "endCursor": "c1"}},
    }
    listing = {"data": {"repository": {"pullRequests": {"nodes": [node]}}}}
    again = {"data": {"node": {"timelineItems": node["timelineItems"]}}}  # the same cursor
    server.queue_post(Reply(200, listing), Reply(200, again))
    with pytest.raises(InputError, match="timelineItems does not advance"):
        list(fetch_pull_requests("o/r", token=TOKEN, api_url=server.url, api="graphql"))
    assert len(server.requests) == 2


def test_wrong_shape_through_the_cli_is_exit_2(server, tmp_path, capsys):
    serve_one_pr(server, pull=[1])
    assert _prs_cli("o/r", server, tmp_path) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("aiimpact: error: GitHub answered a list where a pull request")


def test_body_that_cannot_be_decoded_is_an_input_error(server):
    server.add("/repos/o/r", Reply(200, b"not gzip at all", {"Content-Encoding": "gzip"}))
    with client(server) as gh, pytest.raises(InputError, match="cannot be decoded"):
        gh.get_json("/repos/o/r")


@pytest.mark.parametrize("loop", ["self", "ping-pong"])
def test_redirect_loop_is_a_clear_error(server, tmp_path, capsys, loop):
    target = f"/repos/o/r/pulls?{LISTING}" if loop == "self" else "/elsewhere"
    server.add(f"/repos/o/r/pulls?{LISTING}", Reply(301, None, {"Location": target}, etag=False))
    server.add("/elsewhere", Reply(302, None, {"Location": f"/repos/o/r/pulls?{LISTING}"}))
    with pytest.raises(InputError, match="redirect loop") as err:
        list(fetch_pull_requests("o/r", token=TOKEN, api_url=server.url))
    assert server.url + "/repos/o/r/pulls" in str(err.value)
    assert _prs_cli("o/r", server, tmp_path) == 2
    assert "redirect loop" in capsys.readouterr().err


def test_redirects_are_followed_without_reading_their_bodies(server):
    """A renamed repository answers 301 (followed, with the token); a redirect's body is
    not read (here 300 MB), and a redirect to another origin does not carry the token."""
    server.add(
        "/repos/old/name",
        Reply(301, None, {"Location": "/repositories/9"}, etag=False, filler=300 * 2**20),
    )
    server.add("/repositories/9", {"id": 9})
    with client(server) as gh:
        assert gh.get_json("/repos/old/name")[0] == {"id": 9}
    assert [r.headers.get("authorization") for r in server.requests] == [f"Bearer {TOKEN}"] * 2
    assert server.bytes_sent < 50 * 2**20
    other = GitHubServer()
    try:
        other.add("/moved", {"id": 10})
        server.add("/repos/o/moved", Reply(307, None, {"Location": f"{other.url}/moved"}))
        with client(server) as gh:
            assert gh.get_json("/repos/o/moved")[0] == {"id": 10}
        assert "authorization" not in other.requests[0].headers
    finally:
        other.close()


SECRET = "s3cr3t-Pa55"


def test_credentials_in_the_api_url_are_never_shown_or_stored(
    server, recorded, tmp_path, monkeypatch, capsys, caplog
):
    serve_fake_repo(server, recorded)
    server.add(
        f"/repos/{REPO}/pulls/3114",
        Reply(502, b"bad gateway"),
        server.routes[(f"/repos/{REPO}/pulls/3114", frozenset())][0],
    )
    with_creds = server.url.replace("http://", f"http://robot:{SECRET}@")
    monkeypatch.setenv("GITHUB_API_URL", with_creds)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    with caplog.at_level("DEBUG", logger="aiimpact"):
        data = ai.github.pull_requests(REPO, cache_dir=tmp_path / "c", progress=False)
    assert sorted(data.prs.number) == [3114, 5046, 7458]
    assert "retry 1" in caplog.text and SECRET not in caplog.text
    basic = "Basic " + base64.b64encode(f"robot:{SECRET}".encode()).decode()
    assert {r.headers.get("authorization") for r in server.requests} == {basic}
    files = [p for p in (tmp_path / "c").rglob("*") if p.is_file()]
    assert len(files) == 2 and all(SECRET.encode() not in p.read_bytes() for p in files)
    con = duckdb.connect(str(store_file(tmp_path / "c", "github.duckdb")), read_only=True)
    urls = [u for (u,) in con.execute("SELECT url FROM etags").fetchall()]
    con.close()
    assert urls and all(u.startswith(server.url + "/") for u in urls)  # no userinfo in keys
    # the cache folder does not depend on the credentials
    monkeypatch.setenv("GITHUB_API_URL", server.url.replace("http://", "http://robot:other@"))
    server.clear_log()
    ai.github.pull_requests(REPO, cache_dir=tmp_path / "c", progress=False)
    assert set(server.statuses()) == {304} and len(list((tmp_path / "c").iterdir())) == 1
    # errors name the URL without the credentials; the CLI prints none of them
    serve_one_pr(server, pull=[1])
    monkeypatch.setenv("GITHUB_API_URL", with_creds)
    args = ["prs", "o/r", "-o", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "c2")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{server.url}/repos/o/r/pulls/1" in err and SECRET not in err and "robot" not in err
    gh = GitHubClient(api_url=with_creds)
    assert SECRET not in repr(gh) and gh.api_url == server.url
    with pytest.raises(InputError) as bad:
        GitHubClient(api_url=f"ftp://robot:{SECRET}@host/api")
    assert "ftp://***@host/api" in str(bad.value) and SECRET not in str(bad.value)


def test_token_wins_over_credentials_in_the_url(server):
    server.add("/repos/o/r", {"id": 1})
    with GitHubClient(token=TOKEN, api_url=server.url.replace("//", f"//u:{SECRET}@")) as gh:
        gh.get_json("/repos/o/r")
    assert server.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


BAD_NAMES = [
    "../..",
    "..",
    ".",
    "o/..",
    "o/.",
    "../r",
    "/r",
    "o/",
    "o/r/x",
    "o r/x",
    "o/r x",
    "_o/r",
    "o~/r",
    "o/r?x",
    "o/r#x",
    "",
    " / ",
    "a" * 40 + "/r",
    "o/" + "r" * 101,
]


@pytest.mark.parametrize("name", [*BAD_NAMES, "-o/r", None, 7])
def test_api_rejects_repository_names_that_are_not_owner_name(server, tmp_path, name):
    with pytest.raises(InputError, match="owner/name"):
        ai.github.pull_requests(name, api_url=server.url, cache_dir=tmp_path / "c")
    assert server.requests == [] and not (tmp_path / "c").exists()


@pytest.mark.parametrize("name", BAD_NAMES)
def test_cli_rejects_repository_names_that_are_not_owner_name(server, tmp_path, capsys, name):
    assert _prs_cli(name, server, tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aiimpact: error: repository") and "owner/name" in err
    assert len(err.splitlines()) == 1
    assert server.requests == [] and not (tmp_path / "c").exists()


@pytest.mark.parametrize("name", ["octo/.github", "my-org/repo_name.js", "emu_user_acme/x-1"])
def test_real_repository_names_are_accepted(server, name):
    with pytest.raises(InputError, match="not found"):  # asked for, and the server had none
        list(fetch_pull_requests(name, token=TOKEN, api_url=server.url))
    assert server.requests[0].path == f"/repos/{name}/pulls"
