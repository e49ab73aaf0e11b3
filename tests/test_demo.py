"""The demo: a realistic repository whose planted AI marks the miner finds, and its report."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
from conftest import git

import aiimpact as ai
from aiimpact.synth import make_demo_repo


def test_demo_repository_plants_what_the_miner_finds(tmp_path):
    b = make_demo_repo(tmp_path / "demo", n_commits=300, seed=3)
    df = ai.Repo(tmp_path / "demo").commits().set_index("sha")
    assert set(df.index) == set(b.expected)
    planted = {sha: e["tool"] for sha, e in b.expected.items()}
    found = {sha: (df.loc[sha, "ai_tools"][0] if len(df.loc[sha, "ai_tools"]) else None)
             for sha in df.index}  # fmt: skip
    assert found == planted
    assert len({t for t in planted.values() if t}) >= 4, "several tools appear"
    assert df.is_merge.sum() >= 2
    reverts = [sha for sha, e in b.expected.items() if e.get("reverted_by")]
    assert reverts, "some changes are reverted"
    for sha in reverts:
        revert = b.expected[sha]["reverted_by"]
        assert f"This reverts commit {sha}." in df.loc[revert, "message"]
    assert df.subject.str.startswith("Fix ").sum() >= 10
    assert git(tmp_path / "demo", "fsck", "--no-progress").strip() == ""


def test_demo_command_writes_report(tmp_path):
    out = tmp_path / "demo-out"
    done = subprocess.run(
        [sys.executable, "-m", "aiimpact", "demo", "-o", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    html = (out / "report.html").read_text()
    commits = pd.read_parquet(out / "commits.parquet")
    n_ai = int(commits.ai_assisted.sum())
    assert f"{n_ai} ({n_ai / len(commits):.1%})" in html
    for tool in set(commits.ai_tools.explode().dropna()):
        assert f"<td>{tool}</td>" in html
    assert "<svg" in html and "lower bound" in html and "<td>agent</td>" in html
    assert "AI-assisted" in done.stderr and str(out / "report.html") in done.stderr
