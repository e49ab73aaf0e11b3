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
        out[agent] = (len(merged) / len(prs), statistics.median(hours))
    return out


def test_merge_rates_and_hours_to_merge_per_agent():
    """Grouped by the dataset's own label (``agent``), as the AIDev paper groups them:
    hours to merge count from creation; the review clock from ready-for-review."""
    data = ai.load_aidev(SAMPLE)
    prs = data.prs
    assert len(prs) == 20 and prs.ai_assisted.all()
    expected = _by_hand()
    assert set(prs.agent) == set(expected)
    for agent, (rate, median_hours) in expected.items():
        mine = prs[prs.agent == agent]
        assert (mine.state == "merged").mean() == pytest.approx(rate), agent
        assert mine.time_to_merge.dropna().median() == pytest.approx(median_hours), agent
        review = mine.review_time_to_merge.astype("float64")
        assert (review <= mine.time_to_merge.astype("float64") + 1e-9)[review.notna()].all()
        assert mine.ai_tools.map(lambda t, a=agent: TOOL[a] in t).all(), agent  # also a tool
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
