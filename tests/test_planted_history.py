"""Planted repositories shaped like real ones (``make_repo(history="real")``) and the
validation of ``ai.study`` on them (``simulate(..., history="real")``)."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

import aiimpact as ai
from aiimpact.synth.planted import RealHistory, make_repo
from aiimpact.validation import history_mismatches, simulate, summarize

SHAPE = RealHistory(years=3.0)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real")
    planted = make_repo(tmp / "r", n_commits=900, seed=4, history=SHAPE, pull_requests=False)
    outcomes = ai.Repo(planted.path, cache_dir=tmp / "c", progress=False).outcomes()
    return planted, outcomes


def test_long_pre_ai_history_and_ai_only_at_the_end(real):
    planted, _ = real
    t = planted.truth
    assert len(t) == 900 and t["author_email"].nunique() > 30
    span = t["time"].max() - t["time"].min()
    assert span > timedelta(days=365 * 2.9)
    first_ai = t.loc[t["ai"], "time"].min()
    assert first_ai >= t["time"].min() + SHAPE.adoption[0] * span - timedelta(days=2)
    assert (t["time"] < first_ai).mean() >= 0.74, "three quarters of the history is pre-AI"
    late = t[t["time"] >= t["time"].min() + SHAPE.adoption[1] * span]
    assert late["ai"].mean() > 0.25, "the adopters use AI in the last part"


def test_secular_trend_and_rare_events_in_the_truth(real):
    planted, _ = real
    t = planted.truth
    assert t["trend"].is_monotonic_increasing
    assert t["trend"].iloc[-1] - t["trend"].iloc[0] == pytest.approx(SHAPE.trend)
    # the base rate rises: unassisted commits late in the history are riskier than early
    other = t[~t["ai"]]
    quarter = len(t) // 4
    early, late = other[other.index < quarter], other[other.index >= 3 * quarter]
    assert late["p_revert"].mean() > 1.3 * early["p_revert"].mean()
    assert late["p_fix"].mean() > 1.3 * early["p_fix"].mean()
    assert 0.01 < t["p_revert"].mean() < 0.05, "reverts are rare"
    assert 0.04 < t["p_fix"].mean() < 0.13
    assert 0.005 < t["reverted"].mean() < 0.06 and 0.03 < t["fix_inducing"].mean() < 0.15


def test_recent_commits_are_censored(real):
    planted, outcomes = real
    t = planted.truth
    assert t["age_days"].min() == 0, "the history ends at its last feature commit"
    young = t["age_days"] < 90
    assert 20 < young.sum() < 0.15 * len(t)
    for flag in ("reverted_within_90d", "fix_inducing_within_90d"):
        assert t.loc[young, flag].isna().all() and t.loc[~young, flag].notna().all()
        # every planted revert and fix comes within 38 days: observed 90-day flags are them
        base = flag.removesuffix("_within_90d")
        assert (t.loc[~young, flag].astype(bool) == t.loc[~young, base]).all()
    assert t.loc[t["age_days"] < 14, "churn_rate_14d"].isna().all()
    assert t.loc[t["age_days"] >= 14, "churn_rate_14d"].notna().all()
    # the newest commit of the repository is the last feature commit
    assert outcomes["commit_time"].max() == pd.Timestamp(t["time"].max()).floor("s")


def test_mined_outcomes_equal_the_planted_ones(real):
    planted, outcomes = real
    features = planted.features(outcomes)
    m = features.merge(planted.truth, on="sha", suffixes=("", "_planted"))
    assert len(m) == 900
    assert history_mismatches(features, planted.truth) == 0
    mined = m["reverted_within_90d"].astype("boolean")
    assert (mined.isna() == m["reverted_within_90d_planted"].isna()).all()
    assert mined.sum() == m["reverted_within_90d_planted"].sum() > 0
    assert (m["fix_inducing"].astype(bool) == m["fix_inducing_planted"]).all()
    assert (m["ai_assisted"] == m["ai_marked"]).all() and m["ai_assisted"].sum() > 50
    churn = m["churn_rate_14d"].astype(float)
    assert np.allclose(churn.dropna(), m.loc[churn.notna(), "churn_rate_14d_planted"])
    # a broken miner would be caught: one flag flipped is one mismatch
    wrong = features.copy()
    wrong.loc[wrong.index[0], "fix_inducing"] = not bool(wrong.loc[wrong.index[0], "fix_inducing"])
    assert history_mismatches(wrong, planted.truth) == 1


def test_default_shape_unchanged_by_the_new_options(tmp_path):
    a = make_repo(tmp_path / "a", n_commits=120, seed=9)
    b = make_repo(tmp_path / "b", n_commits=120, seed=9, pull_requests=False)
    heads = [
        subprocess.run(
            ["git", "-C", str(p.path), "rev-parse", "HEAD"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for p in (a, b)
    ]
    assert heads[0] == heads[1]
    assert len(a.prs) == 120 and b.prs.empty
    same = a.truth.drop(columns=["merged", "merge_hours"])
    pd.testing.assert_frame_equal(same, b.truth.drop(columns=["merged", "merge_hours"]))
    assert "trend" not in a.truth and a.truth["time"].min().year == 2025
    with pytest.raises(ValueError, match="history"):
        make_repo(tmp_path / "c", n_commits=10, history="realistic")


def test_one_history_simulation_end_to_end():
    shape = RealHistory(years=3.0, revert_intercept=-2.6, fix_intercept=-2.0)
    results = simulate(1, n_commits=1000, seed=3, history=shape)
    assert (results["mismatches"] == 0).all()
    assert set(results["outcome"]) == {
        "reverted_within_90d",
        "fix_inducing_within_90d",
        "churn_rate_14d",
    }
    for outcome, rows in results.groupby("outcome"):
        assert {"study", "naive"} <= set(rows["estimator"]), outcome
    ok = results[results["error"].isna()]
    assert {"study", "naive"} <= set(ok["estimator"])
    study = ok[ok["estimator"] == "study"].set_index("outcome")
    assert "time_trend_1" in study["adjusted_for"].iloc[0]
    assert (ok["ci_low"] < ok["estimate"]).all() and (ok["estimate"] < ok["ci_high"]).all()
    truth = results.set_index(["outcome", "estimator"])["truth"]
    assert truth["reverted_within_90d", "study"] == 1.5 and truth["churn_rate_14d", "naive"] == 0.05
    summary = summarize(results)
    assert set(summary["estimator"]) >= {"study", "naive"}
    assert (summary["sims"] + summary["failed"] == 1).all()
