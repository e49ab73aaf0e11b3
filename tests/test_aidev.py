"""The AIDev loader reproduces per-agent merge rates and hours to merge from the sample."""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest

import aiimpact as ai

SAMPLE = Path(__file__).parent / "data" / "aidev"
TOOL = {
    "Claude_Code": "claude-code",
    "Copilot": "copilot",
    "Cursor": "cursor",
    "OpenAI_Codex": "codex",
    "Devin": "devin",
}


def _by_hand() -> dict[str, tuple[float, float]]:
    """Per agent, straight from prs.csv: merged / all, and median hours created -> merged."""
    rows = defaultdict(list)
    with open(SAMPLE / "prs.csv", newline="") as f:
        for r in csv.DictReader(f):
            rows[r["agent"]].append(r)
    out = {}
    for agent, prs in rows.items():
        merged = [r for r in prs if r["merged_at"]]
        hours = [
            (
                datetime.fromisoformat(r["merged_at"]) - datetime.fromisoformat(r["created_at"])
            ).total_seconds()
            / 3600
            for r in merged
        ]
        out[TOOL[agent]] = (len(merged) / len(prs), statistics.median(hours))
    return out


def test_merge_rates_and_hours_to_merge_per_agent():
    data = ai.load_aidev(SAMPLE)
    prs = data.prs
    assert len(prs) == 20 and prs.ai_assisted.all()
    agent = prs.ai_tools.map(lambda t: next(x for x in t if x in TOOL.values()))
    expected = _by_hand()
    for tool, (rate, median_hours) in expected.items():
        mine = prs[agent == tool]
        assert (mine.state == "merged").mean() == pytest.approx(rate), tool
        hours = (mine.merged_at - mine.created_at).dt.total_seconds() / 3600
        assert hours.dropna().median() == pytest.approx(median_hours), tool
        # time_to_merge counts from ready_at: Copilot's drafts become ready later
        assert (mine.time_to_merge.dropna() <= hours.dropna() + 1e-9).all(), tool
    assert "dataset:aidev" in prs.ai_evidence.iloc[0]
    assert len(data.reviews) == 105 and len(data.pr_commits) == 102
    assert set(data.reviews.repo.dropna()) <= set(prs.repo)


def test_partial_copies_say_what_is_missing(tmp_path):
    for name in ("prs.csv", "pr_reviews.csv"):
        (tmp_path / name).write_bytes((SAMPLE / name).read_bytes())
    data = ai.load_aidev(tmp_path)
    assert len(data.prs) == 20 and len(data.pr_commits) == 0
    assert set(data.missing) == {"commits", "comments", "timeline"}
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ai.InputError, match="no pull-request table"):
        ai.load_aidev(empty)
