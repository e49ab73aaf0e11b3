"""Review under AI volume: per PR (inline comments, reviewers, rubber stamps) and per month
(PRs awaiting review, reviewer load), with the expected figures written beside the data."""

from __future__ import annotations

import pandas as pd
import pytest

import aiimpact as ai
from aiimpact.platforms.tables import PullRequestData, tables_from_raw

ANN, BOB, CAT = ({"login": x, "id": i, "type": "User"} for i, x in enumerate(["ann", "bob", "cat"]))
DEVIN = {"login": "devin-ai-integration[bot]", "id": 158243242, "type": "Bot"}


def _pr(number, user, created, merged=None, reviews=(), inline=(), size=(40, 10)):
    return {
        "pull": {
            "number": number,
            "title": f"PR {number}",
            "body": "",
            "user": user,
            "state": "closed" if merged else "open",
            "created_at": created,
            "merged_at": merged,
            "closed_at": merged,
            "additions": size[0],
            "deletions": size[1],
        },
        "reviews": [
            {"id": i, "user": who, "state": state, "submitted_at": at, "body": body}
            for i, (who, state, at, body) in enumerate(reviews)
        ],
        "review_comments": [{"user": who, "created_at": at} for who, at in inline],
        "fetched_at": "2025-08-01T00:00:00Z",
    }


@pytest.fixture
def data():
    items = [
        # May: an AI PR approved without a word (rubber stamp), merged in May
        _pr(1, DEVIN, "2025-05-02T10:00Z", "2025-05-03T10:00Z",
            [(BOB, "APPROVED", "2025-05-03T09:00Z", "")]),
        # May: a human PR with two reviewers and 2 inline comments (4 per 100 lines)
        _pr(2, ANN, "2025-05-05T10:00Z", "2025-06-02T10:00Z",
            [(BOB, "COMMENTED", "2025-05-20T09:00Z", "see inline"),
             (CAT, "APPROVED", "2025-06-01T09:00Z", "LGTM")],
            [(BOB, "2025-05-20T09:00Z"), (BOB, "2025-05-20T09:01Z")]),
        # May: an AI PR nobody reviews: awaiting review at the end of May and June
        _pr(3, DEVIN, "2025-05-30T10:00Z"),
        # June: an AI PR approved by its only reviewer, who commented inline: no stamp
        _pr(4, DEVIN, "2025-06-03T10:00Z", "2025-06-04T10:00Z",
            [(CAT, "APPROVED", "2025-06-04T09:00Z", "")], [(CAT, "2025-06-04T08:00Z")]),
        # June: the author's own review does not count
        _pr(5, ANN, "2025-06-10T10:00Z", None, [(ANN, "COMMENTED", "2025-06-11T09:00Z", "x")]),
    ]  # fmt: skip
    prs, reviews, commits = tables_from_raw("o/r", items)
    return PullRequestData(prs, reviews, commits)


def test_per_pr_review_depth(data):
    prs = data.prs.set_index("number")
    assert prs.loc[1, "rubber_stamp"] and not prs.loc[2, "rubber_stamp"]
    assert not prs.loc[4, "rubber_stamp"]  # the approver commented inline
    assert not prs.loc[3, "rubber_stamp"]  # never approved
    assert prs.loc[2, "review_comments"] == 2 and prs.loc[2, "reviewers"] == 2
    assert prs.loc[2, "review_comments_per_100_lines"] == pytest.approx(4.0)
    assert prs.loc[5, "reviewers"] == 0  # the author's own review
    no_body = _pr(6, ANN, "2025-06-10T10:00Z", reviews=[(BOB, "APPROVED", "2025-06-11Z", "")])
    del no_body["reviews"][0]["body"]  # GraphQL gives no review bodies: unknown, not a stamp
    assert pd.isna(tables_from_raw("o/r", [no_body])[0].rubber_stamp.iloc[0])
    silent = _pr(7, ANN, "2025-06-10T10:00Z", reviews=[(BOB, "APPROVED", "2025-06-11Z", "")])
    del silent["review_comments"]  # a source without inline comments (AIDev's CSVs)
    row = tables_from_raw("o/r", [silent])[0].iloc[0]
    assert pd.isna(row.review_comments) and pd.isna(row.review_comments_per_100_lines)
    assert pd.isna(row.rubber_stamp) and row.reviewers == 1  # unknown, not 0 and not a stamp


def test_monthly_review_load(data):
    load = ai.review_load(data).set_index("month")
    may, june, july = (pd.Period(m, "M") for m in ("2025-05", "2025-06", "2025-07"))
    assert list(load.index) == [may, june, july, pd.Period("2025-08", "M")]
    assert load.loc[may, "opened"] == 3 and load.loc[may, "ai_share"] == pytest.approx(2 / 3)
    assert load.loc[may, "awaiting_review"] == 1  # PR 3 (PR 2 was reviewed on the 20th)
    assert load.loc[june, "awaiting_review"] == 2  # PR 3 and PR 5 (its author's review)
    # May: bob reviewed PRs 1 and 2; June: cat approved PRs 2 and 4 (ann's own review of 5
    # does not count)
    assert (load.loc[may, "reviewers"], load.loc[may, "reviews"]) == (1, 2)
    assert (load.loc[june, "reviewers"], load.loc[june, "reviews_per_reviewer"]) == (1, 2.0)
    assert load.loc[may, "merged"] == 1 and load.loc[may, "rubber_stamp_share"] == 1.0
    assert load.loc[june, "merged"] == 2 and load.loc[june, "rubber_stamp_share"] == 0.0
    assert load.loc[june, "review_comments_per_100_lines"] == pytest.approx(3.0)  # 4 and 2
