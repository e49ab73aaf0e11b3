"""mine_many on a local process pool and on a real Dask LocalCluster; open_dataset on top."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
import pytest

import aiimpact as ai
from aiimpact.errors import InputError
from aiimpact.git.identity import repo_id


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """20 repositories: 18 generated with planted effects, one corrupt, one hanging URL."""
    root = tmp_path_factory.mktemp("many")
    paths = []
    for i in range(18):
        planted = ai.synth.make_repo(root / f"repo{i:02d}", n_commits=40 + 5 * i, seed=i)
        paths.append(str(planted.path))
    corrupt = root / "corrupt"
    corrupt.mkdir()
    (corrupt / ".git").mkdir()
    (corrupt / ".git" / "HEAD").write_text("garbage\n")
    paths.append(str(corrupt))
    # a remote that accepts the connection and never answers: the clone hangs
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(8)
    threading.Thread(target=_hold_connections, args=(hang,), daemon=True).start()
    paths.append(f"http://127.0.0.1:{hang.getsockname()[1]}/stuck/never.git")
    yield paths
    hang.close()


def _hold_connections(server: socket.socket) -> None:
    """Accept connections and never answer them (kept open), until *server* is closed."""
    held = []
    with contextlib.suppress(OSError):  # closed at the fixture's end
        while True:
            held.append(server.accept())


def expected_commits(path: str) -> int:
    out = subprocess.run(
        ["git", "-C", path, "rev-list", "--count", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout)


def test_repo_ids():
    assert repo_id("https://github.com/Aider-AI/aider.git").startswith("Aider-AI__aider-")
    assert repo_id("git@github.com:owner/name.git") == repo_id("https://github.com/owner/name")
    assert re.fullmatch(r"linux-[0-9a-f]{8}", repo_id("/srv/repos/linux.git/"))
    with pytest.raises(InputError, match="single string"):
        ai.mine_many("one/repo")
    with pytest.raises(InputError, match="tables must be among"):
        ai.mine_many(["x"], tables=["nope"])


def test_local_pool_and_dask_cluster_agree_and_resume(sources, tmp_path):
    distributed = pytest.importorskip("distributed")
    local = tmp_path / "local"
    with ProcessPoolExecutor(2) as pool:
        first = ai.mine_many(
            sources, executor=pool, out=local, cache_dir=tmp_path / "c1", timeout=8, progress=False
        )
    assert len(first.mined) == 18 and len(first.failures) == 2, first.failures.to_string()
    reasons = first.failures.set_index("id")["reason"]
    assert "timed out after 8 s" in reasons[repo_id(sources[19])]
    assert "timed out" not in reasons[repo_id(sources[18])]
    assert (local / "_failures.parquet").exists()

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = ai.mine_many(
            sources,
            executor=client,
            out=tmp_path / "dask",
            cache_dir=tmp_path / "c2",
            timeout=8,
            progress=False,
        )
    assert sorted(on_dask.mined) == sorted(first.mined)
    assert sorted(on_dask.failures.id) == sorted(first.failures.id)
    a = pd.read_parquet(local / "commits").sort_values(["repo", "sha"], ignore_index=True)
    b = pd.read_parquet(tmp_path / "dask" / "commits").sort_values(
        ["repo", "sha"], ignore_index=True
    )
    pd.testing.assert_frame_equal(a.drop(columns="repo"), b.drop(columns="repo"))
    assert list(a.repo.astype(str)) == list(b.repo.astype(str))
    counts = a.groupby(a.repo.astype(str)).size()
    for path in sources[:18]:
        assert counts[repo_id(path)] == expected_commits(path)

    # a rerun skips every complete repository and retries only the failures
    again = ai.mine_many(
        sources[:18] + sources[18:19], out=local, cache_dir=tmp_path / "c1", progress=False
    )
    assert len(again.skipped) == 18 and again.mined == []
    assert list(again.failures.id) == [repo_id(sources[18])]


def test_killed_run_resumes_without_remining(sources, tmp_path):
    out = tmp_path / "out"
    listing = tmp_path / "repos.txt"
    listing.write_text("\n".join(["# ten repositories", *sources[:10]]))
    code = (
        "import sys, aiimpact as ai; from concurrent.futures import ProcessPoolExecutor;"
        "ai.mine_many(open(sys.argv[1]).read().split(chr(10)), out=sys.argv[2],"
        " executor=ProcessPoolExecutor(1), cache_dir=sys.argv[3], progress=False)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(listing), str(out), str(tmp_path / "c")]
    )
    done = out / "_done"
    import time

    deadline = time.time() + 120
    while time.time() < deadline and len(list(done.glob("*.json"))) < 3:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    finished = {p.stem for p in done.glob("*.json")}
    assert 3 <= len(finished) < 10, finished
    from aiimpact.cli import main

    assert (
        main(
            [
                "mine-many",
                str(listing),
                "-o",
                str(out),
                "--workers",
                "2",
                "--cache-dir",
                str(tmp_path / "c"),
                "--no-progress",
            ]
        )
        == 0
    )
    result_done = {p.stem for p in done.glob("*.json")}
    assert len(result_done) == 10
    ds = ai.open_dataset(out)
    assert sorted(ds.repos) == sorted(result_done)
    per_repo = ds.sql("SELECT repo, count(*) AS n FROM commits GROUP BY repo").df()
    assert len(per_repo) == 10, "each repository's partition was written exactly once"
    assert per_repo.set_index("repo")["n"].to_dict() == {
        repo_id(p): expected_commits(p) for p in sources[:10]
    }


def test_open_dataset_feeds_compare_panel_and_did(sources, tmp_path):
    out = tmp_path / "ds"
    ai.mine_many(sources[:12], out=out, cache_dir=tmp_path / "c", progress=False)
    ds = ai.open_dataset(out)
    assert ds.tables == ["commits", "outcomes"] and len(ds.repos) == 12
    some = ds.to_pandas("commits", columns=["repo", "sha"], where="NOT is_merge", sample=0.5)
    total = ds.sql("SELECT count(*) FROM commits").fetchall()[0][0]
    assert 0 < len(some) < total and set(some.columns) == {"repo", "sha"}
    r = ai.compare(ds, "reverted", controls=["log_size", "repo"], cluster="repo")
    assert r.n_clusters == 12 and "clustered by repo (12 clusters)" in r.test
    assert sum(r.n.values()) + r.dropped <= total
    p = ai.panel(ds.to_pandas("outcomes"), unit="repo")
    assert set(p.unit) == set(ds.repos)
    assert "12 repositories" in repr(ds)
    assert ds.sql("SELECT count(*) FROM outcomes").fetchall()[0][0] > 0, "usable after repr"
    with pytest.raises(InputError, match="not in the dataset"):
        ds.to_pandas("nope")
    with pytest.raises(InputError, match="does not exist"):
        ai.open_dataset(tmp_path / "missing")


def test_dataset_on_an_fsspec_url(sources):
    """Object storage has no rename: files are written in place, the marker last. fsspec's
    in-memory file system stands in for s3:// (threads share it; processes would not)."""
    from concurrent.futures import ThreadPoolExecutor

    url = "memory://aiimpact-test/dataset"
    with ThreadPoolExecutor(2) as pool:
        result = ai.mine_many(
            sources[:3] + sources[18:19],
            executor=pool,
            out=url,
            tables=("commits",),
            progress=False,
        )
    assert len(result.mined) == 3 and list(result.failures.id) == [repo_id(sources[18])]
    ds = ai.open_dataset(url)
    assert ds.tables == ["commits"] and len(ds.repos) == 3
    assert list(ds.failures.id) == [repo_id(sources[18])]
    n = ds.sql("SELECT count(*) FROM commits").fetchall()[0][0]
    assert n == sum(expected_commits(p) for p in sources[:3])
    again = ai.mine_many(sources[:3], out=url, progress=False)
    assert len(again.skipped) == 3 and again.mined == []


def test_worker_processes_leave_no_temporary_directories(sources, tmp_path):
    """Every process (pool workers too, which skip atexit) removes its git directory."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    listing = tmp_path / "repos.txt"
    listing.write_text("\n".join(sources[:3]))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "aiimpact",
            "mine-many",
            str(listing),
            "-o",
            str(tmp_path / "o"),
            "--workers",
            "2",
            "--cache-dir",
            str(tmp_path / "c"),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "o" / "_done").glob("*.json"))) == 3
    assert sorted(p.name for p in scratch.iterdir()) == []
