"""Shared fixtures: real git repositories built by the tests, a private cache per test."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from github_server import GitHubServer

from aiimpact.synth import RepoBuilder

os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own cache dir through $AIIMPACT_CACHE_DIR."""
    monkeypatch.setenv("AIIMPACT_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def build(tmp_path):
    """Factory: ``build("name")`` returns a RepoBuilder for a fresh repository."""
    made: list[RepoBuilder] = []

    def make(name: str = "repo", **kw) -> RepoBuilder:
        b = RepoBuilder(tmp_path / name, **kw)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


def git(cwd: Path | str, *args: str, input: bytes | None = None) -> str:
    """Run plain git (as a user would) and return stdout as text."""
    out = subprocess.run(
        ["git", "-C", str(cwd), *args], input=input, capture_output=True, check=True
    )
    return out.stdout.decode("utf-8", "replace")


def git_log_stats(repo: Path | str, *flags: str) -> dict[str, tuple[int, int, int]]:
    """Per-commit (files, insertions, deletions) exactly as ``git log --numstat`` reports.

    Default flags are the contract's: ``--diff-merges=first-parent --no-renames``.
    """
    flags = flags or ("--diff-merges=first-parent", "--no-renames")
    text = git(repo, "log", "--numstat", *flags, "--format=%x01%H", "HEAD")
    stats: dict[str, list[int]] = {}
    sha = None
    for line in text.splitlines():
        if line.startswith("\x01"):
            sha = line[1:]
            stats[sha] = [0, 0, 0]
        elif "\t" in line:
            a, d, _ = line.split("\t", 2)
            s = stats[sha]
            s[0] += 1
            s[1] += 0 if a == "-" else int(a)
            s[2] += 0 if d == "-" else int(d)
    return {k: tuple(v) for k, v in stats.items()}


def mirror_without(src: Path, dest: Path, drop: set[str]) -> None:
    """A bare copy of *src* whose objects lack *drop* (like a mirror without large blobs)."""
    objects = git(src, "rev-list", "--objects", "--all").split("\n")
    keep = "\n".join(line.split(" ")[0] for line in objects if line and line[:40] not in drop)
    pack = subprocess.run(
        ["git", "-C", str(src), "pack-objects", "--stdout"],
        input=keep.encode(),
        capture_output=True,
        check=True,
    ).stdout
    git(dest.parent, "init", "-q", "--bare", dest.name)
    git(dest, "index-pack", "--stdin", input=pack)
    git(dest, "update-ref", "refs/heads/main", git(src, "rev-parse", "main").strip())
    git(dest, "symbolic-ref", "HEAD", "refs/heads/main")


RECORDED = Path(__file__).parent / "data" / "github-recorded"  # copies of ../shared fixtures


@pytest.fixture
def server():
    s = GitHubServer()
    yield s
    s.close()


@pytest.fixture
def recorded():
    """Load a recorded body: ``recorded("github-stats/pulls-x.json")`` or a decoded cassette
    interaction ``recorded("github3py/decoded/f.json", index)`` -> (status, headers, body)."""
    if not RECORDED.is_dir():
        pytest.skip(f"recorded GitHub fixtures not found at {RECORDED} (../shared is absent)")

    def load(name: str, index: int | None = None):
        data = json.loads((RECORDED / name).read_text(encoding="utf-8"))
        if index is None:
            return data
        r = data[index]["response"]
        return r["status"], r["headers"], r["body"]

    return load
