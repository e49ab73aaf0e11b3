"""The cache: reused, incremental, resumable after a kill, never trusted when corrupt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import warnings

import duckdb
import pandas as pd
import pytest
from conftest import git_log_stats

import aiimpact as ai
from aiimpact.errors import CacheRebuiltWarning


def _linear(build, name="lin", n=40):
    b = build(name)
    for i in range(n):
        b.commit(f"commit {i}", {f"f{i % 7}.txt": f"v{i}\n" * (i % 5 + 1)})
    b.close()
    return b


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    cols = ["sha", "files_changed", "insertions", "deletions", "message", "author_time"]
    pd.testing.assert_frame_equal(
        a[cols].sort_values("sha").reset_index(drop=True),
        b[cols].sort_values("sha").reset_index(drop=True),
    )


def test_cache_dir_from_argument_env_and_second_call_reads_cache(build, tmp_path):
    b = _linear(build)
    repo = ai.Repo(b.path)
    assert str(repo.cache_path).startswith(os.environ["AIIMPACT_CACHE_DIR"])
    first = repo.commits()
    assert repo.last_report.mined == 40
    again = ai.Repo(b.path)
    second = again.commits()
    assert again.last_report.mined == 0
    _same(first, second)
    explicit = ai.Repo(b.path, cache_dir=tmp_path / "elsewhere")
    assert str(explicit.cache_path).startswith(str(tmp_path / "elsewhere"))
    explicit.commits()
    assert explicit.last_report.mined == 40


def test_incremental_mines_only_new_commits(build):
    b = _linear(build)
    ai.Repo(b.path).commits()
    b2 = build("lin")  # append to the same repository
    for i in range(5):
        b2.commit(f"later {i}", {"later.txt": f"{i}\n"})
    b2.branch("side", at=b.shas[10])
    side = b2.commit("side work", {"side.txt": "s\n"}, branch="side")
    b2.close()
    repo = ai.Repo(b.path)
    df = repo.commits()
    assert repo.last_report.mined == 5 and len(df) == 45
    assert {k: v for k, v in git_log_stats(b.path).items()} == {
        r.sha: (r.files_changed, r.insertions, r.deletions) for r in df.itertuples()
    }
    side_df = repo.commits(rev="side")
    assert repo.last_report.mined == 1 and len(side_df) == 12 and side_df.sha.iloc[0] == side


_CHILD = textwrap.dedent(
    """
    import sys
    import time
    import aiimpact as ai
    import aiimpact.store as store

    original = store.Store.write_batch

    def write_and_tell(self, *args):
        original(self, *args)
        print("batch", flush=True)
        time.sleep(0.5)  # slow enough for the test to interrupt it between batches

    store.Store.write_batch = write_and_tell
    ai.Repo(sys.argv[1], batch_size=40, workers=1, progress=False).commits()
    print("finished", flush=True)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_run_keeps_batches_and_resumes(build, tmp_path, sig):
    b = _linear(build, n=600)
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(b.path)], stdout=subprocess.PIPE, text=True
    )
    seen = 0
    for line in child.stdout:
        seen += line.startswith("batch")
        if seen == 3:
            child.send_signal(sig)
            break
    child.wait(timeout=60)
    assert child.returncode != 0, "the run was meant to be interrupted"
    repo = ai.Repo(b.path)
    con = duckdb.connect(str(repo.cache_path))
    kept = con.execute("SELECT count(*) FROM commits").fetchone()[0]
    tips = con.execute("SELECT count(*) FROM tips").fetchone()[0]
    con.close()
    assert 120 <= kept < 600 and tips == 0
    resumed = repo.commits()
    assert repo.last_report.mined == 600 - kept
    fresh = ai.Repo(b.path, cache_dir=tmp_path / "fresh").commits()
    _same(resumed, fresh)


def _rebuilt(repo_path, expect_frame):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        repo = ai.Repo(repo_path)
        df = repo.commits()
    assert any(issubclass(w.category, CacheRebuiltWarning) for w in caught), caught
    _same(df, expect_frame)
    assert list(repo.cache_path.parent.glob("*.corrupt-*"))
    return repo


def test_garbage_cache_is_rebuilt(build):
    b = _linear(build)
    repo = ai.Repo(b.path)
    good = repo.commits()
    repo.cache_path.write_bytes(b"this is not a database\n" * 500)
    _rebuilt(b.path, good)


def test_truncated_cache_is_rebuilt(build):
    b = _linear(build, n=300)
    repo = ai.Repo(b.path)
    good = repo.commits()
    data = repo.cache_path.read_bytes()
    repo.cache_path.write_bytes(data[: len(data) // 3])
    _rebuilt(b.path, good)


def test_inconsistent_cache_is_rebuilt(build):
    b = _linear(build)
    repo = ai.Repo(b.path)
    good = repo.commits()
    con = duckdb.connect(str(repo.cache_path))
    con.execute("DELETE FROM commits WHERE sha IN (SELECT sha FROM commits LIMIT 3)")
    con.close()
    _rebuilt(b.path, good)


def test_cache_of_another_repository_is_not_trusted(build):
    b = _linear(build)
    repo = ai.Repo(b.path)
    good = repo.commits()
    con = duckdb.connect(str(repo.cache_path))
    con.execute("UPDATE meta SET value = '/somewhere/else' WHERE key = 'identity'")
    con.close()
    _rebuilt(b.path, good)


def test_cache_is_free_between_calls_for_other_processes(build):
    b = _linear(build)
    repo = ai.Repo(b.path)
    repo.commits()
    code = "import sys, aiimpact as ai; print(len(ai.Repo(sys.argv[1]).commits()))"
    done = subprocess.run([sys.executable, "-c", code, str(b.path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "40"
    assert len(repo.commits()) == 40  # the first object still works afterwards


def test_url_is_cloned_into_the_cache_and_updated_on_request(build, tmp_path):
    b = _linear(build)
    url = f"file://{b.path}"
    repo = ai.Repo(url)
    assert repo.git_dir.startswith(os.environ["AIIMPACT_CACHE_DIR"])
    assert len(repo.commits()) == 40 and repo.name == "lin"
    more = build("lin")
    more.commit("new upstream commit", {"n.txt": "n\n"})
    more.close()
    assert len(ai.Repo(url).commits()) == 40  # the clone is reused as it is
    assert len(ai.Repo(url, update=True).commits()) == 41
    with pytest.raises(ai.InputError, match="cannot clone file:///no/such/repo"):
        ai.Repo("file:///no/such/repo")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/Aider-AI/aider.git", "Aider-AI/aider"),
        ("git@github.com:owner/name.git", "owner/name"),
        ("ssh://git@host:22/group/sub/proj", "sub/proj"),
        ("https://host/proj", "proj"),
        ("/srv/git/service.git", "service"),
    ],
)
def test_repository_ids(url, expected):
    from aiimpact.git.clone import name_from

    assert name_from(url) == expected


def test_name_override_goes_to_the_repo_column(build):
    b = _linear(build, n=3)
    df = ai.Repo(b.path, name="acme/service").commits()
    assert set(df.repo) == {"acme/service"}
    assert set(ai.Repo(b.path, name="acme/service").file_changes().repo) == {"acme/service"}


def test_stored_tags_follow_the_signatures(build):
    b = build("tags")
    b.commit("one\n\nCo-authored-by: Cursor <cursoragent@cursor.com>", {"a": "1\n"})
    b.commit("two", {"a": "2\n"})
    b.close()
    repo = ai.Repo(b.path)
    assert [list(t) for t in repo.commits().ai_tools] == [[], ["cursor"]]
    # as if the cache had been written under an older signature set
    con = duckdb.connect(str(repo.cache_path))
    con.execute("UPDATE commits SET ai_assisted = NOT ai_assisted, ai_tools = ['x']")
    con.execute("UPDATE meta SET value = 'older-signatures' WHERE key = 'detector'")
    con.close()
    df = repo.commits()
    assert repo.last_report.mined == 0
    assert [list(t) for t in df.ai_tools] == [[], ["cursor"]]
    assert list(df.ai_assisted) == [False, True]


def test_a_store_this_process_left_unchanged_is_not_checked_again(build, monkeypatch):
    from aiimpact import store

    checks = []
    real = store.Store._check

    def counted(self, con):
        checks.append(1)
        return real(self, con)

    monkeypatch.setattr(store.Store, "_check", counted)
    b = _linear(build)
    good = ai.Repo(b.path).commits()
    checks.clear()
    repo = ai.Repo(b.path)
    repo.commits()
    repo.file_changes()
    assert checks == []  # both reads open the file this process closed, unchanged
    # another process edits it: the next open checks it, and distrusts it
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
        "con.execute('DELETE FROM commits WHERE sha IN (SELECT sha FROM commits LIMIT 3)')"
    )
    done = subprocess.run([sys.executable, "-c", code, str(repo.cache_path)], capture_output=True)
    assert done.returncode == 0, done.stderr
    _rebuilt(b.path, good)
    assert checks
