"""Review under AI volume: per month, the pull requests waiting for review, the reviewers'
load, and how reviews look, beside the AI share of the PRs opened.

When AI output outgrows review, review gets thinner: more PRs wait, each reviewer carries
more, approvals come without a word. Per calendar month (UTC):

* ``opened``, ``ai_share``: PRs opened, and the share of them AI-assisted;
* ``awaiting_review``: PRs ready for review before the month's end, not yet reviewed (by
  another human) nor closed at its end;
* ``reviewers``, ``reviews``, ``reviews_per_reviewer``: the other humans who submitted
  reviews in the month, their reviews, and the reviews per reviewer;
* ``merged``, ``rubber_stamp_share``: PRs merged in the month, and the share of those with a
  known answer that were approved without a comment (``rubber_stamp``);
* ``review_comments_per_100_lines``: the median over the PRs merged in the month.
"""

from __future__ import annotations

import pandas as pd

from aiimpact.errors import InputError


def review_load(data) -> pd.DataFrame:
    """One row per month of *data* (PR data: ``.prs``, ``.reviews``), from the first PR
    opened to the last time the data shows.

    Examples
    --------
    >>> load = ai.review_load(ai.load_aidev("AIDev-pop"))  # doctest: +SKIP
    >>> load[["ai_share", "awaiting_review"]]              # doctest: +SKIP
    """
    prs, reviews = data.prs, data.reviews
    if prs.empty:
        raise InputError("review_load needs at least one pull request")
    times = [prs[c] for c in ("created_at", "merged_at", "closed_at", "observed_at")]
    start = prs["created_at"].min().tz_convert("UTC").tz_localize(None).to_period("M")
    end = max(t.max() for t in times if t.notna().any()).tz_convert("UTC")
    authors = dict(
        zip(zip(prs["repo"], prs["number"], strict=True), prs["author_login"], strict=True)
    )
    human = reviews[~reviews["reviewer_is_bot"].astype(bool)]
    human = human[
        [
            r != authors.get((repo, n))
            for repo, n, r in zip(human["repo"], human["number"], human["reviewer"], strict=True)
        ]
    ]
    rows = []
    for month in pd.period_range(start, end.tz_localize(None).to_period("M"), freq="M"):
        lo = month.start_time.tz_localize("UTC")
        hi = (month + 1).start_time.tz_localize("UTC")
        opened = prs[(prs["created_at"] >= lo) & (prs["created_at"] < hi)]
        waiting = (
            (prs["ready_at"] < hi)
            & ~(prs["first_review_at"] < hi).fillna(False)
            & ~(prs["closed_at"] < hi).fillna(False)
        )
        done = human[(human["submitted_at"] >= lo) & (human["submitted_at"] < hi)]
        merged = prs[(prs["merged_at"] >= lo) & (prs["merged_at"] < hi)]
        stamped = merged["rubber_stamp"].dropna().astype(bool)
        n_reviewers = done["reviewer"].nunique()
        rows.append(
            {
                "month": month,
                "opened": len(opened),
                "ai_share": opened["ai_assisted"].mean() if len(opened) else float("nan"),
                "awaiting_review": int(waiting.fillna(False).sum()),
                "reviewers": n_reviewers,
                "reviews": len(done),
                "reviews_per_reviewer": len(done) / n_reviewers if n_reviewers else float("nan"),
                "merged": len(merged),
                "rubber_stamp_share": stamped.mean() if len(stamped) else float("nan"),
                "review_comments_per_100_lines": merged["review_comments_per_100_lines"]
                .astype("Float64")
                .median(),
            }
        )
    return pd.DataFrame(rows)
