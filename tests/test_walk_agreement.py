"""commits() and file_changes() agree with the git CLI on every commit.

The contract: per-commit ``files_changed``, ``insertions`` and ``deletions`` equal
``git log --numstat --diff-merges=first-parent --no-renames`` for every commit reachable
from the revision; metadata equals what ``git log`` prints.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pandas as pd
from conftest import git, git_log_stats
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiimpact as ai
from aiimpact.synth import Binary, Submodule, Symlink

SUB_SHA = "1234567890abcdef1234567890abcdef12345678"
HEXNAME = "0123456789abcdef0123456789abcdef01234567"


def build_zoo(build):
    """Every shape of history the miner must count like git does."""
    b = build("zoo")
    root = b.commit(
        "Root: text, binary, symlink, executable, empty file",
        {
            "a.txt": "one\ntwo\nthree\n",
            "img.bin": Binary(b"\x00\x01\x02binary\x00"),
            "link": Symlink("a.txt"),
            "run.sh": Binary(b"#!/bin/sh\necho hi\n", executable=True),
            "empty.txt": "",
            "dir/with space.txt": "spaced\n",
            "ünïcode.txt": "unicode name\n",
            HEXNAME: "a file whose name looks like a sha\n",
        },
        expect={"stats": (8, 9, 0)},
    )
    b.commit(
        "Modify, delete, add",
        {"a.txt": "one\n2\nthree\nfour\n", "empty.txt": None, "new.txt": "no newline at end"},
    )
    b.commit("Pure rename", {"a.txt": None, "b.txt": "one\n2\nthree\nfour\n"})
    b.commit("Rename with edit", {"b.txt": None, "c.txt": "one\n2\nthree\nfour\nfive\n"})
    b.commit("Empty commit")
    b.commit("Type change: file to symlink", {"new.txt": Symlink("c.txt")})
    b.commit("Binary change", {"img.bin": Binary(b"\x00\x09changed\x00")})
    b.commit("CRLF content", {"crlf.txt": "a\r\nb\r\nc\r\n"})
    b.commit("Add submodule", {"vendor/lib": Submodule(SUB_SHA)})
    b.commit("Bump submodule", {"vendor/lib": Submodule("ab" * 20)})
    b.branch("feature")
    b.commit("Feature work", {"feature.txt": "f1\nf2\n"}, branch="feature")
    b.commit("Main work", {"c.txt": "zero\none\n2\nthree\nfour\nfive\n"})
    b.commit("Merge feature", merge=["feature"], expect={"merge": True})
    b.branch("x")
    b.branch("y")
    b.branch("z")
    b.commit("x work", {"x.txt": "x\n"}, branch="x")
    b.commit("y work", {"y.txt": "y\n" * 5}, branch="y")
    b.commit("z work", {"z.txt": "z\n" * 3}, branch="z")
    b.commit("Octopus merge", merge=["x", "y", "z"])
    b.branch("evil", at=root)
    b.commit("Evil-merge base", {"evil.txt": "e\n"}, branch="evil")
    b.commit("Merge with its own edit", {"c.txt": "resolved\n"}, merge=["evil"])
    b.commit(
        "Orphan root",
        {"other/readme": "unrelated history\n"},
        branch="orphan",
        replace_tree=True,
    )
    b.commit("Merge unrelated history", merge=["orphan"])
    b.commit("Remove submodule and binary", {"vendor/lib": None, "img.bin": None})
    b.commit(
        "Caf\xe9 latin-1 message\n\nCorps du message: d\xe9j\xe0 vu.\n",
        {"latin.txt": "x\n"},
        encoding="iso-8859-1",
        author="Ren\xe9e Fran\xe7ois <renee@example.fr>",
    )
    b.commit(b"Invalid \xff\xfe utf-8 bytes\n\nno encoding header\n", {"bad.txt": "y\n"})
    b.close()
    return b


def _ours(path, **kw) -> pd.DataFrame:
    return ai.Repo(path, **kw).commits()


def test_zoo_counts_equal_git_log(build):
    b = build_zoo(build)
    df = _ours(b.path).set_index("sha")
    expected = git_log_stats(b.path)
    assert set(df.index) == set(expected) == set(b.shas)
    for sha, (files, ins, dels) in expected.items():
        row = df.loc[sha]
        assert (row.files_changed, row.insertions, row.deletions) == (files, ins, dels), sha
    # the root: 8 files; a.txt 3 + symlink target 1 + run.sh 2 + three one-line files = 9
    # lines (the binary and the empty file add 0)
    assert tuple(df.loc[b.shas[0], ["files_changed", "insertions", "deletions"]]) == (8, 9, 0)


def test_zoo_counts_equal_git_log_with_renames(build):
    b = build_zoo(build)
    df = _ours(b.path, renames=True).set_index("sha")
    expected = git_log_stats(b.path, "--diff-merges=first-parent", "-M")
    for sha, stats in expected.items():
        assert tuple(df.loc[sha, ["files_changed", "insertions", "deletions"]]) == stats, sha
    fc = ai.Repo(b.path, renames=True).file_changes()
    renamed = fc[fc.change_type == "R"]
    assert set(zip(renamed.old_path, renamed.path, strict=True)) == {
        ("a.txt", "b.txt"),
        ("b.txt", "c.txt"),
    }


def test_zoo_metadata_equals_git_log(build):
    b = build_zoo(build)
    df = _ours(b.path).set_index("sha")
    fmt = "%H%x00%P%x00%an%x00%ae%x00%at%x00%cn%x00%ce%x00%ct%x00%s%x01"
    for rec in git(b.path, "log", f"--format={fmt}").split("\x01")[:-1]:
        sha, parents, an, ae, at, cn, ce, ct, subject = rec.strip("\n").split("\x00")
        row = df.loc[sha]
        assert list(row.parents) == parents.split()
        assert row.is_merge == (len(parents.split()) > 1)
        assert (row.author_name, row.author_email) == (an, ae)
        assert (row.committer_name, row.committer_email) == (cn, ce)
        assert row.author_time == pd.Timestamp(int(at), unit="s", tz="UTC")
        assert row.commit_time == pd.Timestamp(int(ct), unit="s", tz="UTC")
        if "\ufffd" not in row.subject:  # git prints undecodable bytes raw
            assert row.subject == subject
    assert str(df["author_time"].dtype).startswith("datetime64") and df["author_time"].dt.tz


def test_non_utf8_messages_are_decoded(build):
    b = build_zoo(build)
    df = _ours(b.path).set_index("sha")
    latin, invalid = b.shas[-2], b.shas[-1]
    assert df.loc[latin, "subject"] == "Café latin-1 message"
    assert "déjà vu" in df.loc[latin, "message"]
    assert df.loc[latin, "author_name"] == "Renée François"
    assert df.loc[invalid, "subject"] == "Invalid \ufffd\ufffd utf-8 bytes"


def test_file_changes_equal_git_raw(build):
    b = build_zoo(build)
    fc = ai.Repo(b.path).file_changes()
    ours = {(r.sha, r.path): (r.change_type, r.is_binary) for r in fc.itertuples()}
    theirs = {}
    for sha in b.shas:
        parent = (
            git(b.path, "rev-parse", f"{sha}^1").strip()
            if len(git(b.path, "rev-list", "--parents", "-n1", sha).split()) > 1
            else None
        )
        args = ["diff-tree", "-r", "--no-renames", "-z", "--raw", "--numstat"]
        args += [parent, sha] if parent else ["--root", sha]
        toks = git(b.path, *args).split("\0")
        raw = [(toks[i][-1], toks[i + 1]) for i in range(len(toks) - 1) if toks[i][:1] == ":"]
        nums = [t.split("\t") for t in toks if t.count("\t") == 2]
        for (status, path), (a, _d, _p) in zip(raw, nums, strict=True):
            theirs[(sha, path)] = (status, a == "-")
    assert ours == theirs
    kinds = set(fc.change_type)
    assert {"A", "M", "D", "T"} <= kinds
    assert fc.loc[fc.path == "img.bin", "is_binary"].all()
    assert (fc.loc[fc.path == "img.bin", ["insertions", "deletions"]] == 0).all().all()


def test_bare_repository_and_rev_since_until(build, tmp_path):
    b = build_zoo(build)
    bare = tmp_path / "zoo-bare.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(b.path), str(bare))
    df = _ours(bare)
    assert len(df) == len(b.shas)
    older = ai.Repo(bare).commits(rev="HEAD~3")
    assert set(older.sha) == set(git(bare, "rev-list", "HEAD~3").split())
    t = df.commit_time.sort_values()
    mid = t.iloc[len(t) // 2]
    since = ai.Repo(bare).commits(since=mid)
    assert len(since) and (since.commit_time >= mid).all()
    assert len(since) == (df.commit_time >= mid).sum()
    until = ai.Repo(bare).commits(until=mid.to_pydatetime().replace(tzinfo=None))
    assert len(until) == (df.commit_time <= mid).sum()


def _random_history(build, seed: int):
    rng = random.Random(seed)
    b = build(f"rand{seed}", start=datetime(2024, 3, 1, tzinfo=UTC), step=timedelta(minutes=7))
    names = [f"f{i}.txt" for i in range(6)] + ["d/g.txt", "d/e/h.bin"]
    b.commit("root", {"f0.txt": "seed\n"})
    branches = ["main"]
    for i in range(rng.randint(5, 40)):
        branch = rng.choice(branches)
        roll = rng.random()
        if roll < 0.12:
            new = f"b{i}"
            b.branch(new, at=branch)
            branches.append(new)
            continue
        if roll < 0.25 and len(branches) > 1:
            others = rng.sample(
                [x for x in branches if x != branch], k=min(rng.randint(1, 3), len(branches) - 1)
            )
            b.commit(f"merge {i}", merge=others, branch=branch)
            continue
        files = {}
        for _ in range(rng.randint(0, 4)):
            name = rng.choice(names)
            op = rng.random()
            if op < 0.2:
                files[name] = None
            elif name.endswith(".bin"):
                files[name] = Binary(bytes(rng.randrange(256) for _ in range(20)) + b"\x00")
            elif op < 0.3:
                files[name] = Symlink(rng.choice(names))
            else:
                lines = [f"line {rng.randint(0, 9)}\n" for _ in range(rng.randint(0, 12))]
                files[name] = "".join(lines)
        b.commit(f"change {i}", files, branch=branch)
    if branches[1:]:
        b.commit("final merge", merge=branches[1:])
    b.close()
    return b


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 10**6))
def test_random_histories_equal_git_log(build, seed):
    b = _random_history(build, seed)
    df = ai.Repo(b.path, workers=2).commits().set_index("sha")
    expected = git_log_stats(b.path)
    assert set(df.index) == set(expected)
    for sha, stats in expected.items():
        assert tuple(df.loc[sha, ["files_changed", "insertions", "deletions"]]) == stats


def test_the_benchmarks_realistic_history_counts_like_git_log(tmp_path):
    """make_realistic_repo (what benchmarks/mine.py times): hunks, moves, binaries, merges
    of side branches, a repacked bare repository; every commit counted as git counts it."""
    made = ai.synth.make_realistic_repo(tmp_path / "big.git", 400, seed=3)
    df = _ours(tmp_path / "big.git").set_index("sha")
    expected = git_log_stats(tmp_path / "big.git")
    assert len(df) == len(expected) == made["commits"] == 400 and made["merges"] > 5
    got = {s: (r.files_changed, r.insertions, r.deletions) for s, r in df.iterrows()}
    assert got == expected
