"""ai.study on histories shaped like real ones: long pre-AI years, AI only at the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

import aiimpact as ai
from aiimpact.errors import InputError
from aiimpact.stats.study import COMMIT_OUTCOMES

START = datetime(2016, 1, 4, tzinfo=UTC)
AI_FROM = datetime(2025, 1, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def long_history(tmp_path_factory):
    """Nine pre-AI years (a commit a week, 30 authors), then a year with AI marks on every
    third commit (two a week). Expected: the default window opens 183 days before the first
    AI-marked commit, so the pre-AI years are left out and counted."""
    root = tmp_path_factory.mktemp("long")
    b = ai.synth.RepoBuilder(root / "r", start=START, step=timedelta(days=7))
    for i in range(470):
        b.commit(
            f"work {i}",
            {f"m{i % 7}.py": f"v{i}\n" * (1 + i % 5)},
            author=f"Dev {i % 30} <dev{i % 30}@x.org>",
        )
    when = AI_FROM
    for i in range(104):
        trailer = "\n\nCo-authored-by: Claude <noreply@anthropic.com>" if i % 3 == 0 else ""
        b.commit(
            f"feature {i}{trailer}",
            {f"m{i % 7}.py": f"w{i}\n" * (2 + i % 4)},
            author=f"Dev {i % 30} <dev{i % 30}@x.org>",
            date=when,
        )
        when += timedelta(days=3, hours=12)
    b.close()
    return ai.Repo(b.path, cache_dir=root / "c", progress=False).outcomes()


def test_the_default_window_is_the_ai_era(long_history):
    s = ai.study(long_history)
    first_ai = long_history.loc[long_history["ai_assisted"], "commit_time"].min()
    assert s.design.since == first_ai - pd.Timedelta(days=183)
    assert s.commits["commit_time"].min() >= s.design.since
    assert s.left_out["before the window"] == (long_history["commit_time"] < s.design.since).sum()
    assert s.left_out["before the window"] > 400
    assert "AI era" in s.design.window_rule and "AI era" in s.describe()
    whole = ai.study(long_history, since="all")
    assert len(whole.commits) == len(long_history) and whole.left_out["before the window"] == 0


def test_every_outcome_tried_has_an_estimate_or_a_reason(long_history):
    s = ai.study(long_history, commit_outcomes={**COMMIT_OUTCOMES, "not_a_column": "auto"})
    t = s.table()
    assert list(t["outcome"]) == [*COMMIT_OUTCOMES, "not_a_column"]
    estimated = t["reason"].isna()
    assert t.loc[estimated, ["estimate", "ci_low", "ci_high", "p_value"]].notna().all().all()
    assert (t.loc[~estimated, "estimate"].isna()).all()
    assert t.set_index("outcome").loc["not_a_column", "reason"] == (
        "the table has no column 'not_a_column'"
    )
    # nothing here is ever reverted or fixed: churn is estimated, the others say why not
    assert estimated.tolist() == [o == "churn_rate_14d" for o in t["outcome"]]
    assert t.loc[~estimated, "reason"].str.len().gt(20).all()
    # the raw figures by group describe every outcome there is a column for, estimated or
    # not (0 events among the AI-assisted commits is itself a finding)
    assert list(s.raw) == list(COMMIT_OUTCOMES)
    reverted = s.raw["reverted_within_90d"].set_index("group")
    assert reverted.loc["treated", "events"] == 0 and reverted.loc["treated", "n"] > 20


def test_time_is_a_smooth_trend_not_hundreds_of_strata(long_history):
    s = ai.study(long_history, since="all")
    trend = [c for c in s.design.controls if c.startswith("time_trend_")]
    assert len(trend) == 3 and "month" not in s.design.controls  # nine years: degree 3
    assert all(abs(s.commits[c].mean()) < 1e-9 for c in trend)  # orthogonal, centred
    # 30 authors: fixed effects; any levels left out are said in one line per effect
    for r in s.results.results:
        assert sum("left out (" in n for n in r.notes) <= 1


def test_windowed_outcomes_never_keep_young_commits_that_had_the_event(build):
    b = build("young")
    first = b.commit("Add a", {"a.txt": "1\n"}, date=datetime(2025, 1, 1, tzinfo=UTC))
    old = b.commit("Add b", {"b.txt": "1\n"}, date=datetime(2025, 1, 2, tzinfo=UTC))
    young = b.commit("Add c", {"c.txt": "1\n"}, date=datetime(2025, 6, 1, tzinfo=UTC))
    b.commit(
        f'Revert "Add c"\n\nThis reverts commit {young}.',
        {"c.txt": None},
        date=datetime(2025, 6, 2, tzinfo=UTC),
    )
    b.commit(
        f'Revert "Add b"\n\nThis reverts commit {old}.',
        {"b.txt": None},
        date=datetime(2025, 6, 3, tzinfo=UTC),
    )
    b.close()
    t = ai.Repo(b.path).outcomes().set_index("sha")
    assert t.loc[young, "reverted"]  # reverted, but 2 days before the newest commit:
    assert pd.isna(t.loc[young, "reverted_within_30d"])  # too young to be counted either way
    assert t.loc[old, "reverted_within_90d"] == False  # noqa: E712 (reverted after 152 days)
    assert t.loc[first, "reverted_within_90d"] == False  # noqa: E712


def test_a_window_without_commits_is_refused(long_history):
    with pytest.raises(InputError, match="no commit falls in the study window"):
        ai.study(long_history, since="2030-01-01")
    with pytest.raises(InputError, match="since='soon' is not a date"):
        ai.study(long_history, since="soon")


def test_each_model_names_what_it_adjusted_for(long_history):
    t = ai.study(long_history).table().set_index("outcome")
    assert "time_trend_1" in t.loc["churn_rate_14d", "adjusted_for"]
    assert "log_size" in t.loc["churn_rate_14d", "adjusted_for"]


def test_an_outcome_the_author_effects_cannot_fit_is_refitted_and_says_so():
    """Within every author whose outcome varies, the AI mark separates it: the fixed-effects
    model has no finite estimate, so the outcome is refitted with the author's prior commits
    and the result says why (not dropped, not silently changed)."""
    import numpy as np

    rng = np.random.default_rng(1)
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    rows = []
    for a in range(30):
        for k in range(40):
            marked = bool(rng.random() < 0.4)
            rows.append(
                {
                    "sha": f"{a:02d}{k:04d}",
                    "author_email": f"d{a}@x.org",
                    "ai_assisted": marked,
                    "commit_time": t0 + pd.Timedelta(hours=7 * (a * 40 + k)),
                    "log_size": float(rng.normal(3, 1)),
                    "log_author_experience": np.log1p(k),
                    "is_merge": False,
                    # authors 0-11: the outcome is the mark; the others all or none (they vary not)
                    "fix_inducing_within_90d": marked if a < 12 else a % 2 == 0,
                }
            )
    s = ai.study(
        pd.DataFrame(rows), commit_outcomes={"fix_inducing_within_90d": "logit"}, since="all"
    )
    row = s.table().iloc[0]
    assert pd.isna(row["reason"]) and np.isfinite(row["estimate"])
    assert "log_author_experience" in row["adjusted_for"]
    assert "author_email" not in row["adjusted_for"]
    (result,) = s.results.results
    assert any("with author fixed effects" in n and "separation" in n for n in result.notes)


def _planted_pr_outcomes(n: int = 800, seed: int = 5) -> pd.DataFrame:
    """A ``Repo.pr_outcomes()``-shaped table with planted effects. Larger PRs are more often
    AI-assisted and more often reverted (confounding by size); on top of that, AI-assisted
    PRs have log-odds +0.9 of a revert within 90 days and 0.06 more of their lines churned
    within 14 days. A tenth are not in the history (their code columns NA), and the newest
    are censored for the 90-day windows."""
    import numpy as np

    rng = np.random.default_rng(seed)
    size = rng.lognormal(4, 1, n).round()
    log_size = np.log1p(size)
    ai_ = rng.random(n) < 1 / (1 + np.exp(-(log_size - 4.5)))
    z = (log_size - log_size.mean()) / log_size.std()
    reverted = rng.random(n) < 1 / (1 + np.exp(-(-1.5 + 0.9 * ai_ + 0.6 * z)))
    churn = 0.2 + 0.06 * ai_ + 0.05 * z + rng.normal(0, 0.1, n)
    created = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.uniform(0, 300, n)), unit="D"
    )
    found = rng.random(n) < 0.9
    young = created > created.max() - pd.Timedelta(days=90)
    return pd.DataFrame(
        {
            "number": np.arange(1, n + 1),
            "state": "merged",
            "created_at": created,
            "author_login": [f"dev{i % 40}" for i in range(n)],
            "ai_assisted": ai_,
            "additions": (size * 0.7).round().astype(int),
            "deletions": (size * 0.3).round().astype(int),
            "author_prs_before": np.arange(n) // 40,
            "in_history": found,
            "reverted_within_90d": pd.Series(reverted, dtype="boolean").where(found & ~young),
            "fix_inducing_within_90d": pd.Series(rng.random(n) < 0.2, dtype="boolean").where(
                found & ~young
            ),
            "churn_rate_14d": pd.Series(churn, dtype="Float64").where(found),
        }
    )


def test_pr_code_outcomes_are_compared_with_size_and_author_adjusted(long_history):
    """The code half of the PR comparison recovers the planted effects (naive figures are
    inflated by size), over the PRs found in the history and observed long enough."""
    import numpy as np

    from aiimpact.stats.study import PR_CODE_OUTCOMES, PR_OUTCOMES

    prs = _planted_pr_outcomes()
    s = ai.study(long_history, prs=prs)
    t = s.table().set_index(["level", "outcome"]).loc["pr"]
    assert list(t.index) == [*PR_OUTCOMES, *PR_CODE_OUTCOMES]
    assert t.loc["merged", "reason"] != "" and pd.isna(t.loc["merged", "estimate"])  # all merged
    assert "no column 'time_to_merge'" in t.loc["time_to_merge", "reason"]
    revert = t.loc["reverted_within_90d"]
    assert revert["ci_low"] < np.exp(0.9) < revert["ci_high"], revert
    found, young = prs["in_history"], prs["reverted_within_90d"].isna() & prs["in_history"]
    assert revert["n_ai"] + revert["n_other"] == (found & ~young).sum()
    churn = t.loc["churn_rate_14d"]
    assert churn["ci_low"] < 0.06 < churn["ci_high"], churn
    assert "log_size" in churn["adjusted_for"] and "author_login" in churn["adjusted_for"]
    naive = prs.groupby("ai_assisted")["churn_rate_14d"].mean()
    assert naive[True] - naive[False] > 0.09  # size confounds the raw difference


def test_a_prs_table_alone_gets_the_review_half_only(long_history):
    from aiimpact.stats.study import PR_OUTCOMES

    prs = _planted_pr_outcomes().drop(columns=["in_history"])
    t = ai.study(long_history, prs=prs).table()
    assert list(t.loc[t["level"] == "pr", "outcome"]) == list(PR_OUTCOMES)
