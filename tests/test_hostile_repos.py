"""Repositories and caches built to break the miner: each case failed before its fix."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import duckdb
import pandas as pd
import pytest
from conftest import git, git_log_stats, mirror_without

import aiimpact as ai
from aiimpact.errors import (
    CacheRebuiltWarning,
    HistoryRewrittenWarning,
    InputError,
    MissingObjectsWarning,
    RevisionError,
    UnrepresentableTimeWarning,
)


def test_git_writing_megabytes_of_warnings_never_blocks_the_line_history(build, tmp_path):
    """Paths longer than PATH_MAX make git warn on every attribute lookup (> 1 MB of stderr
    here); a reader that does not drain stderr deadlocks with git."""
    b = build("long")
    for i in range(40):
        deep = "/".join([f"d{i:03d}" + "x" * 200] * 25) + "/f.txt"
        b.commit(f"c{i}", {deep: f"{i}\n", "a.txt": f"{i}\n"})
    b.close()
    script = textwrap.dedent(f"""
        import aiimpact as ai
        r = ai.Repo({str(b.path)!r}, cache_dir={str(tmp_path / "c")!r})
        out = r.outcomes()
        print(len(out), int(r.churn()["lines_added"].sum()))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["40", "80"]


def test_a_rewritten_history_is_detected_and_the_cache_goes_on(build, tmp_path):
    b = build("rw")
    for i in range(6):
        b.commit(f"c{i}", {"a.txt": f"{i}\n", f"f{i}.txt": "x\n"})
    b.close()
    cache = tmp_path / "cache"
    assert len(ai.Repo(b.path, cache_dir=cache).outcomes()) == 6
    git(b.path, "checkout", "-q", "-f", "main")
    git(b.path, "reset", "-q", "--hard", "HEAD~2")
    ident = ["-c", "user.name=A", "-c", "user.email=a@x"]
    git(b.path, *ident, "commit", "-q", "--amend", "-m", "c3 rewritten")
    git(b.path, "reflog", "expire", "--expire=now", "--all")
    git(b.path, "gc", "-q", "--prune=now")
    gone = subprocess.run(["git", "-C", str(b.path), "cat-file", "-t", b.shas[-1]])
    assert gone.returncode != 0  # really gone

    repo = ai.Repo(b.path, cache_dir=cache)
    with pytest.warns(HistoryRewrittenWarning, match=r"3 cached commit\(s\)"):
        commits = repo.commits()
    assert repo.last_report.mined == 1  # only the amended commit; c0..c2 come from the cache
    assert set(commits["sha"]) == set(git(b.path, "rev-list", "HEAD").split())
    truth = git_log_stats(b.path)
    got = commits.set_index("sha")
    for sha, (files, ins, dels) in truth.items():
        assert tuple(got.loc[sha, ["files_changed", "insertions", "deletions"]]) == (
            files,
            ins,
            dels,
        )
    assert len(repo.outcomes()) == 4
    assert len(ai.Repo(b.path, cache_dir=cache).commits()) == 4  # and the next run is quiet


def test_the_callers_attributes_never_change_the_numbers(build, tmp_path, monkeypatch):
    b = build("plain")
    b.commit("one", {"a.txt": "1\n2\n", "b.py": "x = 1\n"})
    b.commit("two", {"a.txt": "1\n3\n4\n", "b.py": "x = 2\n"})
    b.close()
    caller = tmp_path / "caller"
    caller.mkdir()
    (caller / ".gitattributes").write_text("* -diff\n")
    git(caller, "init", "-q")  # a repository of the caller's, with attributes of its own
    monkeypatch.chdir(caller)
    repo = ai.Repo(b.path, cache_dir=tmp_path / "cache")
    assert repo.file_changes()["insertions"].tolist() == [2, 1, 2, 1]
    assert not repo.file_changes()["is_binary"].any()
    assert repo.churn()["lines_added"].sum() == 6


def test_authorship_keeps_files_whose_names_git_quotes(build):
    names = ["tab\there.txt", "new\nline.txt", 'quote".txt', "back\\slash.txt", "ütf.txt"]
    b = build("names")
    b.commit("base", {"keep.txt": "k\n"})
    b.commit("add odd names", {n: f"{i}\n" for i, n in enumerate(names)})
    b.commit("latin-1", {os.fsdecode(b"caf\xe9.txt"): "x\n"})  # not UTF-8
    b.close()
    repo = ai.Repo(b.path)
    result = repo.authorship(f"{b.shas[0]}..HEAD")
    assert set(result.by_file["path"]) == {*names, "caf\ufffd.txt"}
    assert result.total_lines == len(names) + 1


@pytest.mark.parametrize(
    "edit, problem",
    [
        ("INSERT INTO commits SELECT * FROM commits LIMIT 1", "commits table holds a repeated row"),
        ("INSERT INTO file_changes SELECT * FROM file_changes LIMIT 1", "file_changes table holds"),
        ("DROP TABLE file_changes", "no file_changes table"),
    ],
)
def test_an_edited_cache_is_not_trusted(build, tmp_path, edit, problem):
    b = build("e")
    for i in range(3):
        b.commit(f"c{i}", {"a.txt": f"{i}\n"})
    b.close()
    cache = tmp_path / "cache"
    repo = ai.Repo(b.path, cache_dir=cache)
    expected = repo.file_changes()
    con = duckdb.connect(str(repo.cache_path))
    con.execute(edit)
    con.close()
    with pytest.warns(CacheRebuiltWarning, match=problem):
        again = ai.Repo(b.path, cache_dir=cache).file_changes()
    assert again.equals(expected)


def test_revisions_that_name_no_commit_say_what_they_name(build):
    b = build("objs")
    b.commit("one", {"a.txt": "x\n"})
    b.close()
    blob = git(b.path, "rev-parse", "HEAD:a.txt").strip()
    tree = git(b.path, "rev-parse", "HEAD^{tree}").strip()
    bad = git(
        b.path,
        "hash-object",
        "-t",
        "commit",
        "-w",
        "--stdin",
        "--literally",
        input=f"tree {tree}\nauthor <x> 1 +0000\ncommitter y <z> nan\n\nm\n".encode(),
    )
    git(b.path, "update-ref", "refs/heads/bad", bad.strip())
    repo = ai.Repo(b.path)
    with pytest.raises(RevisionError, match=f"names a blob \\({blob}\\), not a commit"):
        repo.commits(blob)
    with pytest.raises(RevisionError, match="names a tree"):
        repo.commits(tree)
    with pytest.warns(UnrepresentableTimeWarning):
        refused = repo.commits("bad")  # libgit2 refuses its time; git, and so we, read it
    assert refused["sha"].tolist() == [bad.strip()] and refused["commit_time"].isna().all()
    with pytest.raises(RevisionError, match="'nope' does not exist"):
        repo.commits("nope")


def test_an_orphan_branch_is_not_called_an_empty_repository(build):
    b = build("orphan")
    b.commit("one", {"a.txt": "x\n"})
    b.close()
    git(b.path, "checkout", "-q", "--orphan", "fresh")
    with pytest.raises(
        RevisionError, match=r"refs/heads/fresh, a branch with no commits yet.*'main'"
    ):
        ai.Repo(b.path).commits()
    assert len(ai.Repo(b.path).commits("main")) == 1


def test_a_failed_clone_gives_gits_fatal_line(tmp_path):
    with pytest.raises(InputError) as err:
        ai.Repo("git@host.invalid:owner/name.git", cache_dir=tmp_path)
    message = str(err.value)
    assert message.startswith("cannot clone git@host.invalid:owner/name.git: fatal: ")
    assert "repository exists" not in message and "\n" not in message


def _history(build, name: str, with_big: bool):
    """One declared history; *with_big* adds big.dat, whose middle version goes missing.

    Expected: with big.dat's blobs partly absent, the line history equals that of the same
    history without big.dat (its lines are followed nowhere), over the whole history.
    """
    b = build(name)
    for i in range(12):
        files = {"a.txt": "".join(f"line {j} v{i if j == i % 4 else 0}\n" for j in range(6))}
        if i == 9:
            files["a.txt"] = "line 0 v0\n"  # deletes most lines: churn after the gap
        if with_big:
            files["big.dat"] = f"v{i // 4}\n" * 30
        b.commit(f"c{i}" + ("\n\nFixes: earlier" if i == 10 else ""), files)
        if with_big and i == 5:  # a commit that touches only the unfollowed file
            b.commit("big only", {"big.dat": "other\n" * 30})
    b.close()
    return b


def test_the_line_history_goes_past_missing_blobs(build, tmp_path):
    full = _history(build, "full", with_big=True)
    plain = _history(build, "plain", with_big=False)
    blob = git(full.path, "rev-parse", f"{full.shas[4]}:big.dat").strip()  # commits 4, 5 hold it
    mirror = tmp_path / "mirror.git"
    mirror_without(full.path, mirror, {blob})
    broken = subprocess.run(["git", "-C", str(mirror), "log", "-p"], capture_output=True)
    assert broken.returncode != 0, "git log -p itself stops at the missing blob"

    repo = ai.Repo(mirror)
    with pytest.warns(MissingObjectsWarning):
        churn = repo.churn("30D")
    missing = repo.last_report.missing_object_files
    assert missing == 4  # c4's and c5's own versions, the "big only" commit's and c6's bases
    assert (repo.last_report.unfollowed_files, repo.last_report.unfollowed_commits) == (1, 5)
    expected = ai.Repo(plain.path).churn("30D")
    shas = [sha for sha in full.shas if sha != full.shas[6]]  # without "big only"
    by_order = {sha: i for i, sha in enumerate(shas)}
    plain_order = {sha: i for i, sha in enumerate(plain.shas)}
    assert full.shas[6] in set(churn["sha"])  # replayed, though it adds no followed line
    churn = churn[churn["sha"] != full.shas[6]]
    got = churn.assign(i=churn["sha"].map(by_order)).set_index("i").sort_index()
    want = expected.assign(i=expected["sha"].map(plain_order)).set_index("i").sort_index()
    cols = ["lines_added", "churn_30d", "lines_alive"]
    assert len(got) == 12 and got[cols].equals(want[cols])
    assert got.loc[11, "lines_alive"] == want.loc[11, "lines_alive"] > 0  # the end is reached
    outcomes = repo.outcomes()
    assert outcomes["churn_30d"].notna().sum() == want["churn_30d"].notna().sum()
    assert repo.last_report.unfollowed_files == 1  # one report for the whole call
    cached = ai.Repo(mirror)  # a new process would read the cache: the counts stay
    cached.churn("30D")
    assert cached.last_report.mined == 0 and cached.last_report.missing_object_files == missing


@pytest.mark.parametrize("window", ["-5D", "0D", "soon"])
def test_windows_that_are_not_positive_durations_are_refused_first(build, window):
    b = build("w")
    b.commit("one", {"a.txt": "x\n"})
    b.close()
    repo = ai.Repo(b.path)
    with pytest.raises(InputError, match=f"window {window!r}"):
        repo.churn(window)
    with pytest.raises(InputError, match=f"window {window!r}"):
        repo.reverts(window=window)
    assert repo.last_report.reachable == 0  # refused before any mining


def test_a_note_whose_blob_is_absent_is_counted_not_dropped_silently(build, tmp_path):
    b = build("noted")
    b.commit("one", {"a.txt": "x\n"})
    b.commit("two", {"a.txt": "y\n"})
    b.close()
    ident = ["-c", "user.name=A", "-c", "user.email=a@x"]
    for rev in ("HEAD", "HEAD~1"):
        git(
            b.path,
            *ident,
            "notes",
            "--ref=ai",
            "add",
            "-m",
            f"a.txt\n  claude 1\n---\n{{}}{rev}",
            rev,
        )
    lost = git(b.path, "rev-parse", "refs/notes/ai:" + b.shas[0]).strip()
    mirror = tmp_path / "mirror.git"
    mirror_without(b.path, mirror, {lost})
    git(mirror, "update-ref", "refs/notes/ai", git(b.path, "rev-parse", "refs/notes/ai").strip())
    with pytest.warns(MissingObjectsWarning, match=r"1 git-ai note\(s\) .* could not be read"):
        commits = ai.Repo(mirror).commits().set_index("sha")
    assert pd.isna(commits.loc[b.shas[0], "ai_lines"])  # unknown, not 0
    assert commits.loc[b.shas[1], "ai_lines"] >= 0
