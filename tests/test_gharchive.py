"""GH Archive event files, streamed into the pull-request tables."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

import aiimpact as ai


def _pull(number, state="open", draft=False, merged_at=None, user="dana", **kw):
    return {
        "number": number,
        "state": state,
        "draft": draft,
        "title": f"PR {number}",
        "user": {"login": user, "id": 7, "type": "User"},
        "created_at": "2025-06-01T10:00:00Z",
        "merged_at": merged_at,
        "closed_at": merged_at,
        "head": {"ref": "topic"},
        "additions": 3,
        "deletions": 1,
        "changed_files": 1,
        "body": "",
        **kw,
    }


def _event(kind, when, repo="octo/demo", **payload):
    return {"type": kind, "created_at": when, "repo": {"name": repo}, "payload": payload}


def test_events_become_prs_with_review_metrics(tmp_path):
    hour1 = [
        _event(
            "PullRequestEvent",
            "2025-06-01T10:00:00Z",
            action="opened",
            pull_request=_pull(5, draft=True),
        ),
        _event(
            "PullRequestEvent",
            "2025-06-01T12:00:00Z",
            action="ready_for_review",
            pull_request=_pull(5),
        ),
        _event(
            "PullRequestEvent",
            "2025-06-01T10:05:00Z",
            action="opened",
            pull_request=_pull(9),
            repo="other/repo",
        ),
        {"type": "PushEvent"},
    ]
    review = {
        "id": 1,
        "user": {"login": "rev", "type": "User"},
        "state": "APPROVED",
        "submitted_at": "2025-06-01T15:00:00Z",
        "commit_id": "c" * 40,
    }
    bot = {
        "id": 2,
        "user": {"login": "ci[bot]", "type": "Bot"},
        "state": "COMMENTED",
        "submitted_at": "2025-06-01T13:00:00Z",
    }
    hour2 = [
        _event(
            "PullRequestReviewEvent",
            "2025-06-01T13:00:00Z",
            action="created",
            review=bot,
            pull_request=_pull(5),
        ),
        _event(
            "PullRequestReviewEvent",
            "2025-06-01T15:00:00Z",
            action="created",
            review=review,
            pull_request=_pull(5),
        ),
        _event(
            "PullRequestEvent",
            "2025-06-01T18:00:00Z",
            action="closed",
            pull_request=_pull(5, state="closed", merged_at="2025-06-01T18:00:00Z"),
        ),
    ]
    with gzip.open(tmp_path / "2025-06-01-10.json.gz", "wt") as f:
        f.write("\n".join(json.dumps(e) for e in hour1) + "\nnot json PullRequestEvent\n")
    (tmp_path / "2025-06-01-13.json").write_text("\n".join(json.dumps(e) for e in hour2))
    data = ai.load_gharchive(tmp_path, repos=["octo/demo"])
    assert len(data.prs) == 1 and data.skipped == 1
    pr = data.prs.iloc[0]
    assert pr.repo == "octo/demo" and pr.state == "merged"
    assert pr.ready_at == pd.Timestamp("2025-06-01T12:00:00Z")
    assert pr.time_to_first_review == 3.0  # the bot's review does not count
    assert pr.time_to_merge == 8.0 and pr.review_time_to_merge == 6.0  # opened 10:00 as a draft
    assert (pr.reviews, pr.review_rounds) == (1, 1)
    assert (pr.cycle_pickup, pr.cycle_review, pr.cycle_merge) == (3.0, 0.0, 3.0)
    assert list(data.reviews.reviewer) == ["ci[bot]", "rev"]
    everything = ai.load_gharchive([tmp_path / "2025-06-01-10.json.gz"])
    assert sorted(everything.prs.repo) == ["octo/demo", "other/repo"]
    with pytest.raises(ai.InputError, match="does not exist"):
        ai.load_gharchive(tmp_path / "missing.json.gz")
