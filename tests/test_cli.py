"""The ``aiimpact`` command: outputs by suffix, filters, progress on stderr, exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pandas as pd
from conftest import git_log_stats

CLAUDE = "Co-Authored-By: Claude Sonnet 4.5 <noreply@anthropic.com>"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aiimpact", *args], capture_output=True, text=True)


def _repo(build, n=30):
    b = build("cli", start=datetime(2025, 3, 1, tzinfo=UTC), step=timedelta(days=1))
    for i in range(n):
        msg = f"change {i}" + (f"\n\n{CLAUDE}" if i % 3 == 0 else "")
        b.commit(msg, {f"f{i % 4}.txt": "line\n" * (i + 1)}, author=f"Dev{i % 2} <d{i % 2}@x.org>")
    b.close()
    return b


def test_mine_parquet_csv_json_agree(build, tmp_path):
    b = _repo(build)
    for suffix in ("parquet", "csv", "json"):
        done = run("mine", str(b.path), "-o", str(tmp_path / f"c.{suffix}"))
        assert done.returncode == 0, done.stderr
        assert done.stdout == ""
        assert "cli: 30 commits" in done.stderr and "10 AI-assisted" in done.stderr
        assert re.search(r"claude-code/co-author +claude-code +co-author +10\n", done.stderr)
        assert "not evidence of human authorship" in done.stderr
    pq = pd.read_parquet(tmp_path / "c.parquet")
    csv = pd.read_csv(tmp_path / "c.csv")
    js = json.loads((tmp_path / "c.json").read_text())
    assert len(pq) == len(csv) == len(js) == 30
    truth = git_log_stats(b.path)
    assert {r.sha: (r.files_changed, r.insertions, r.deletions) for r in pq.itertuples()} == truth
    assert list(csv.sha) == list(pq.sha) == [r["sha"] for r in js]
    first_ai = next(r for r in js if r["ai_assisted"])
    assert first_ai["ai_tools"] == ["claude-code"]
    assert first_ai["trailers"] == [
        {"key": "Co-Authored-By", "value": "Claude Sonnet 4.5 <noreply@anthropic.com>"}
    ]
    assert json.loads(csv.loc[csv.ai_assisted, "ai_tools"].iloc[0]) == ["claude-code"]
    assert datetime.fromisoformat(js[0]["commit_time"]) == pq.commit_time.iloc[0]


def test_since_until_rev_filters(build, tmp_path):
    b = _repo(build)
    out = tmp_path / "w.parquet"
    done = run(
        "mine",
        str(b.path),
        "--since",
        "2025-03-10",
        "--until",
        "2025-03-19T23:59:59",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    df = pd.read_parquet(out)
    assert len(df) == 10
    assert df.commit_time.min() >= pd.Timestamp("2025-03-10", tz="UTC")
    done = run("mine", str(b.path), "--rev", b.shas[4], "-o", str(out))
    assert set(pd.read_parquet(out).sha) == set(b.shas[:5])


def test_preview_on_stdout_without_output(build):
    b = _repo(build, n=5)
    done = run("mine", str(b.path))
    assert done.returncode == 0
    assert b.shas[-1] in done.stdout and "change 4" in done.stdout


def test_progress_bar_on_stderr_for_long_runs(build, tmp_path):
    b = build("long")
    for i in range(2100):
        b.commit(f"c{i}", {f"d/f{i % 50}.txt": f"{i}\n"})
    b.close()
    done = run("mine", str(b.path), "-o", str(tmp_path / "l.parquet"))
    assert done.returncode == 0
    assert "mining long" in done.stderr and "2100/2100" in done.stderr
    quiet = run("mine", str(b.path), "--no-progress", "-o", str(tmp_path / "l.parquet"))
    assert "mining long" not in quiet.stderr


def test_usage_errors_exit_2():
    done = run("mine")
    assert done.returncode == 2 and "required: repo" in done.stderr
    assert run("no-such-command").returncode == 2


def test_signatures_file_and_disable(build, tmp_path):
    b = build("sig")
    b.commit("one", {"a": "1\n"}, author="Acme Bot <bot@acme.dev>")
    b.commit(f"two\n\n{CLAUDE}", {"a": "2\n"})
    b.close()
    extra = tmp_path / "acme.toml"
    extra.write_text(
        '[[signature]]\nid = "acme/bot"\ntool = "other"\nkind = "author"\n'
        'email = "bot@acme.dev"\nmode = "agent"\nsource = "our CI bot"\n'
    )
    out = tmp_path / "s.parquet"
    done = run(
        "mine",
        str(b.path),
        "--signatures",
        str(extra),
        "--disable-signature",
        "claude-code/co-author",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    df = pd.read_parquet(out)
    assert [list(t) for t in df.ai_tools] == [[], ["other"]]
    assert re.search(r"acme/bot +other +agent +1\n", done.stderr)
    bad = run("mine", str(b.path), "--disable-signature", "no/such")
    assert bad.returncode == 2 and "unknown signature(s): no/such" in bad.stderr
