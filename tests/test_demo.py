"""The demo and the report: built from a planted repository, checked as text and in Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import aiimpact as ai
from aiimpact.cli import main

SECTIONS = [
    "summary",
    "ai-share",
    "tools",
    "outcomes",
    "models",
    "sensitivity",
    "adoption",
    "pull-requests",
    "truth",
    "caveats",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "out"
    done = subprocess.run(
        [sys.executable, "-m", "aiimpact", "demo", "-o", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return out, done.stderr


def test_demo_writes_report_and_tables(demo):
    out, stderr = demo
    text = (out / "report.html").read_text()
    commits = pd.read_parquet(out / "commits.parquet")
    prs = pd.read_parquet(out / "prs.parquet")
    assert len(commits) == 800 and len(prs) == 800
    n_ai = int(commits.ai_assisted.sum())
    assert f"{n_ai} ({n_ai / len(commits):.1%})" in text
    for section in SECTIONS:
        assert f'<section id="{section}">' in text, section
    for tool in set(commits.ai_tools.explode().dropna()):
        assert f"<td>{tool}</td>" in text
    # the planted truth stands beside the estimates, in the models table and its own section
    cell = r"<td>reverted_within_90d</td>\s*<td>logit</td>\s*<td>odds ratio</td>\s*<td>2</td>"
    assert re.search(cell, text)
    assert "Borusyak" in text and "lower bound" in text
    assert "<h3>reverted_within_90d</h3>" in text  # the misclassification sensitivity ran
    assert "AI-assisted" in stderr and str(out / "report.html") in stderr


def test_report_is_self_contained(demo):
    text = (demo[0] / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "no network loads"
    assert "<script" not in text and text.count("<svg") >= 6


def test_report_renders_in_headless_chromium(demo, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip(
            "Chromium is not installed (Debian: apt-get install chromium); "
            "the report was checked as text only"
        )
    page = (demo[0] / "report.html").as_uri()
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    dom = subprocess.run([*flags, "--dump-dom", page], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for section in SECTIONS:
        assert f'id="{section}"' in dom.stdout, f"section {section} missing in the rendered DOM"
    assert dom.stdout.count("<svg") >= 6
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1200,4000", page],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and shot.stat().st_size > 50_000, done.stderr[-2000:]


def test_report_command_on_a_repository_with_prs(tmp_path, capsys):
    planted = ai.synth.make_repo(tmp_path / "r", n_commits=300, seed=8)
    planted.prs.to_parquet(tmp_path / "prs.parquet")
    out = tmp_path / "report.html"
    assert (
        main(
            [
                "report",
                str(planted.path),
                "--prs",
                str(tmp_path / "prs.parquet"),
                "-o",
                str(out),
                "--cache-dir",
                str(tmp_path / "c"),
            ]
        )
        == 0
    )
    text = out.read_text()
    for section in [s for s in SECTIONS if s != "truth"]:
        assert f'<section id="{section}">' in text, section
    assert "time_to_merge" in text and "hazard ratio" in text
    assert (
        main(
            [
                "report",
                str(planted.path),
                "--prs",
                str(tmp_path / "nope.parquet"),
                "-o",
                str(out),
                "--cache-dir",
                str(tmp_path / "c"),
            ]
        )
        == 2
    )
    assert "nope.parquet: no such file" in capsys.readouterr().err
