"""Bad input: one line naming the problem, never a traceback from deep inside, no data lost."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings

import pandas as pd
import pytest
from conftest import git, git_log_stats, mirror_without

import aiimpact as ai
from aiimpact.errors import (
    EmptyRepositoryWarning,
    InputError,
    MissingObjectsWarning,
    NotARepositoryError,
    RevisionError,
    TruncatedHistoryWarning,
)
from aiimpact.mining import COMMIT_COLUMNS


def _cli(*args: str, env: dict | None = None, user: list[str] | None = None):
    cmd = [*(user or []), sys.executable, "-m", "aiimpact.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def _linear(build, name="r", n=12):
    b = build(name)
    for i in range(n):
        b.commit(f"c{i}", {f"f{i % 3}.txt": "x\n" * (i + 1), "big.dat": f"v{i // 4}\n" * 50})
    b.close()
    return b


def test_missing_path(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        ai.Repo(tmp_path / "nope")
    done = _cli("mine", str(tmp_path / "nope"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"aiimpact: error: {tmp_path / 'nope'} does not exist"
    ]


def test_not_a_repository(tmp_path, build):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(NotARepositoryError, match="is not a git repository"):
        ai.Repo(plain)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(NotARepositoryError, match="it is a file"):
        ai.Repo(a_file)
    b = _linear(build)
    inside = b.path / "subdir"
    inside.mkdir()
    with pytest.raises(NotARepositoryError):  # not silently the enclosing repository
        ai.Repo(inside)
    assert _cli("mine", str(plain)).returncode == 2


def test_missing_revision(build):
    b = _linear(build)
    with pytest.raises(RevisionError, match="'no-such-branch' does not exist"):
        ai.Repo(b.path).commits(rev="no-such-branch")
    done = _cli("mine", str(b.path), "--rev", "v9.9")
    assert done.returncode == 2 and "revision 'v9.9' does not exist" in done.stderr


def test_bad_dates_and_output_suffix(build, tmp_path):
    b = _linear(build)
    with pytest.raises(InputError, match="since='yesterday-ish' is not a date"):
        ai.Repo(b.path).commits(since="yesterday-ish")
    done = _cli("mine", str(b.path), "-o", str(tmp_path / "out.xlsx"))
    assert done.returncode == 2 and "must end in .parquet, .csv or .json" in done.stderr


def test_empty_repository(tmp_path):
    git(tmp_path, "init", "-q", "empty")
    with pytest.warns(EmptyRepositoryWarning, match="has no commits"):
        df = ai.Repo(tmp_path / "empty").commits()
    assert df.empty and list(df.columns) == COMMIT_COLUMNS
    with pytest.warns(EmptyRepositoryWarning):
        assert ai.Repo(tmp_path / "empty").file_changes().empty
    done = _cli("mine", str(tmp_path / "empty"), "-o", str(tmp_path / "e.parquet"))
    assert done.returncode == 0 and "warning: empty has no commits" in done.stderr
    assert pd.read_parquet(tmp_path / "e.parquet").empty


def test_shallow_clone_is_mined_with_a_warning(build, tmp_path):
    b = _linear(build, n=20)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "5", f"file://{b.path}", str(shallow))
    with pytest.warns(TruncatedHistoryWarning, match="shallow clone: history is truncated"):
        df = ai.Repo(shallow).commits()
    assert len(df) == 5
    expected = git_log_stats(shallow)  # git also diffs the boundary against the empty tree
    assert {r.sha: (r.files_changed, r.insertions, r.deletions) for r in df.itertuples()} == (
        expected
    )


def test_missing_blobs_are_skipped_counted_and_reported(build, tmp_path):
    b = _linear(build, n=12)
    # big.dat changes every 4 commits; drop its second version (commits 4..7 hold it)
    blob = git(b.path, "rev-parse", f"{b.shas[4]}:big.dat").strip()
    mirror = tmp_path / "mirror.git"
    mirror_without(b.path, mirror, {blob})
    assert (
        subprocess.run(
            ["git", "-C", str(mirror), "log", "--numstat"], capture_output=True
        ).returncode
        != 0
    ), "git itself cannot diff this mirror"
    repo = ai.Repo(mirror)
    with pytest.warns(MissingObjectsWarning, match="2 commit\\(s\\) have 2 file\\(s\\)") as seen:
        df = repo.commits().set_index("sha")
    assert len(df) == 12
    assert {w.filename.rsplit("/", 1)[-1] for w in seen} == {"repo.py"}  # the Repo method
    assert (repo.last_report.missing_object_commits, repo.last_report.missing_object_files) == (
        2,
        2,
    )
    fc = repo.file_changes()
    unknown = fc[fc.insertions.isna()]
    assert set(unknown.sha) == {b.shas[4], b.shas[8]} and set(unknown.path) == {"big.dat"}
    truth = git_log_stats(b.path)
    for sha in b.shas:
        files, ins, dels = truth[sha]
        if sha in (b.shas[4], b.shas[8]):
            big = fc[(fc.sha == sha) & (fc.path == "big.dat")]
            assert len(big) == 1 and df.loc[sha, "files_changed"] == files
            assert df.loc[sha, "insertions"] == ins - 50 and df.loc[sha, "deletions"] == dels - 50
        else:
            assert tuple(df.loc[sha, ["files_changed", "insertions", "deletions"]]) == (
                files,
                ins,
                dels,
            )


def test_partial_clone_never_fetches_and_reports(build, tmp_path):
    b = _linear(build, n=10)
    git(b.path, "config", "uploadpack.allowFilter", "true")
    partial = tmp_path / "partial.git"
    git(tmp_path, "clone", "-q", "--bare", "--filter=blob:none", f"file://{b.path}", str(partial))
    packs = sorted(p.name for p in (partial / "objects" / "pack").iterdir())
    repo = ai.Repo(partial)
    with pytest.warns(MissingObjectsWarning):
        df = repo.commits()
    assert len(df) == 10 and repo.last_report.missing_object_commits == 10
    assert sorted(p.name for p in (partial / "objects" / "pack").iterdir()) == packs
    assert ai.Repo(partial).file_changes().insertions.isna().all()


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX only")
def test_unreadable_path(build, tmp_path):
    b = _linear(build)
    locked = tmp_path / "locked"
    shutil.copytree(b.path, locked)
    if os.geteuid() == 0:  # root reads anything: run the CLI as nobody instead
        if not shutil.which("setpriv"):
            pytest.skip("needs setpriv to drop root")
        tmp_path.chmod(0o755)
        for p in [tmp_path, *tmp_path.parents]:
            p.chmod(p.stat().st_mode | 0o005)
        locked.chmod(0o700)
        cache = tmp_path / "nobody-cache"
        cache.mkdir(mode=0o777)
        cache.chmod(0o777)
        env = {**os.environ, "AIIMPACT_CACHE_DIR": str(cache), "HOME": str(cache)}
        user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        done = _cli("mine", str(locked), env=env, user=user)
    else:
        locked.chmod(0o000)
        done = _cli("mine", str(locked))
        locked.chmod(0o700)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"aiimpact: error: {locked} is not readable (permission denied)"
    ]


def test_warnings_do_not_lose_rows(build):
    b = _linear(build)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(ai.Repo(b.path).commits()) == 12


def test_linked_worktree_opens_its_repository(build, tmp_path):
    b = _linear(build)
    git(b.path, "worktree", "add", "-q", "-b", "wt", str(tmp_path / "wt"), b.shas[5])
    df = ai.Repo(tmp_path / "wt").commits()
    assert set(df.sha) == set(b.shas[:6])  # HEAD of the worktree, not of the main checkout


def test_unsupported_object_format_is_named(tmp_path):
    git(tmp_path, "init", "-q", "--object-format=sha256", "s256")
    done = _cli("mine", str(tmp_path / "s256"))
    assert done.returncode == 2
    assert "unknown object format 'sha256'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
