"""ai.compare and friends: model choice, estimates against planted truths, warnings in words.

Tables are drawn from known models with numpy (fixed seeds), so each estimate has a true
value it must be near; the planted-repository tests run the whole pipeline on real git.
"""

from __future__ import annotations

import math
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

import aiimpact as ai
from aiimpact.errors import InputError
from aiimpact.stats import StatsWarning, compare, compare_many
from aiimpact.stats.kinds import infer_model, survival

matplotlib.use("Agg")
T0 = pd.Timestamp("2025-01-01", tz="UTC")


def commits_table(
    n=4000, seed=0, odds_ratio=2.0, rate_ratio=1.5, hazard_ratio=0.7, confounded=True, n_authors=20
):
    """Commits with planted effects; AI use and size rise with the author's baseline risk."""
    rng = np.random.default_rng(seed)
    u = rng.normal(0, 0.7, n_authors)
    author = rng.integers(0, n_authors, n)
    lean = 1 / (1 + np.exp(-2 * u[author])) if confounded else 0.5
    ai_ = rng.random(n) < 0.2 + 0.5 * lean
    lines = np.maximum(1, rng.lognormal(3, 1, n) * (2.0 if confounded else 1.0) ** ai_).round()
    log_size = np.log1p(lines)
    risk = u[author] if confounded else 0.0
    lp = -2.5 + math.log(odds_ratio) * ai_ + 0.4 * (log_size - 3) + risk
    reverted = rng.random(n) < 1 / (1 + np.exp(-lp))
    mu = np.exp(-0.5 + math.log(rate_ratio) * ai_ + 0.3 * (log_size - 3) + risk)
    fixes = rng.negative_binomial(2, 2 / (2 + mu))
    time = T0 + pd.to_timedelta(rng.integers(0, 300 * 24, n), unit="h")
    t_event = rng.exponential(500 / (hazard_ratio**ai_ * np.exp(0.3 * risk)))
    return pd.DataFrame(
        {
            "sha": [f"{i:040x}" for i in range(n)],
            "ai_assisted": ai_,
            "author_email": [f"dev{a}@x.org" for a in author],
            "insertions": lines.astype(int),
            "deletions": 0,
            "commit_time": time,
            "reverted": reverted,
            "n_fixes_induced": fixes,
            "time_to_revert": np.where(reverted, t_event, np.nan),
            "churn_rate_14d": np.exp(rng.normal(-2, 1, n) + 0.3 * ai_),
        }
    )


@pytest.fixture(scope="module")
def table():
    return commits_table()


def test_logit_recovers_planted_odds_ratio_and_naive_is_biased(table):
    adjusted = compare(table, "reverted", controls=["log_size", "author_email"])
    naive = compare(table, "reverted")
    assert adjusted.kind == "logit" and adjusted.scale == "odds ratio"
    assert adjusted.ci[0] < 2.0 < adjusted.ci[1], adjusted  # the planted odds ratio
    assert naive.estimate > adjusted.ci[1], "confounding must bias the naive estimate up"
    assert adjusted.n == {
        "treated": int(table.ai_assisted.sum()),
        "control": int((~table.ai_assisted).sum()),
    }
    raw = adjusted.groups.set_index("group")
    assert raw.loc["treated", "events"] == int(table.reverted[table.ai_assisted].sum())
    assert raw.loc["treated", "low"] < raw.loc["treated", "value"] < raw.loc["treated", "high"]


def test_counts_use_negative_binomial_when_overdispersed(table):
    r = compare(table, "n_fixes_induced", controls=["log_size", "author_email"])
    assert r.kind == "negbin" and r.scale == "rate ratio"
    assert r.ci[0] < 1.5 < r.ci[1]
    assert any("overdispersion" in n for n in r.notes)
    rng = np.random.default_rng(1)
    poisson = table.assign(n_fixes_induced=rng.poisson(np.where(table.ai_assisted, 1.2, 1.0)))
    p = compare(poisson, "n_fixes_induced")
    assert p.kind == "poisson" and any("no overdispersion" in n for n in p.notes)
    assert p.ci[0] < 1.2 < p.ci[1]


def test_cox_with_censoring_recovers_hazard_ratio(table):
    with warnings.catch_warnings():  # revert odds and timing both differ: not quite PH
        warnings.simplefilter("ignore", StatsWarning)
        r = compare(
            table, "time_to_revert", controls=["log_size", "author_email"], cluster="author_email"
        )
    assert r.kind == "cox" and r.scale == "hazard ratio"
    # hazard of the revert: odds and timing effects combine, but the reverted ones are
    # those whose clock we see; the censoring columns must come out as the commit's age
    duration, event = survival(table, "time_to_revert")
    age = (table.commit_time.max() - table.commit_time).dt.total_seconds() / 3600
    assert (event == table.reverted).all()
    assert np.allclose(duration[~event], age[~event])
    assert np.allclose(duration[event], table.time_to_revert[event])
    assert np.isfinite(r.ci).all() and "clustered by author_email (20 clusters)" in r.test
    medians = r.groups.set_index("group")["statistic"]
    assert set(medians) == {"median (Kaplan-Meier)"}


def test_cox_cluster_errors_with_rows_censored_before_any_event():
    rng = np.random.default_rng(3)
    n = 400
    d = pd.DataFrame({"ai_assisted": rng.random(n) < 0.5, "g": rng.integers(0, 12, n)})
    d["t"] = rng.exponential(10, n) + 1
    d.loc[:4, "t"] = 0.01  # censored before the first event
    d["t_event"] = True
    d.loc[:4, "t_event"] = False
    r = compare(d, "t", model="cox", cluster="g")
    assert np.isfinite(r.se) and r.se > 0


def test_pr_durations_are_censored_at_close_or_observation():
    prs = pd.DataFrame(
        {
            "ai_assisted": [True, False, True, False],
            "created_at": pd.to_datetime(["2024-12-31T22:00Z"] * 4),  # drafts for 2 hours
            "ready_at": pd.to_datetime(["2025-01-01T00:00Z"] * 4),
            "merged_at": pd.to_datetime(["2025-01-01T05:00Z", None, None, "2025-01-02T00:00Z"]),
            "closed_at": pd.to_datetime(
                ["2025-01-01T05:00Z", "2025-01-01T10:00Z", None, "2025-01-02T00:00Z"]
            ),
            "observed_at": pd.to_datetime(["2025-02-01T00:00Z"] * 4),
            "time_to_merge": [7.0, None, None, 26.0],
            "review_time_to_merge": [5.0, None, None, 24.0],
        }
    )
    duration, event = survival(prs, "time_to_merge")  # from creation
    assert list(event) == [True, False, False, True]
    assert list(duration) == [7.0, 12.0, 31 * 24.0 + 2, 26.0]  # closed unmerged; still open
    duration, event = survival(prs, "review_time_to_merge")  # from ready_at
    assert list(event) == [True, False, False, True]
    assert list(duration) == [5.0, 10.0, 31 * 24.0, 24.0]


def test_log_ols_for_skewed_values_and_model_choice(table):
    r = compare(table, "churn_rate_14d", controls=["log_size"])
    assert r.kind == "log-ols" and r.estimate > 1
    assert infer_model("reverted", table.reverted) == "logit"
    assert infer_model("time_to_merge", pd.Series([1.0])) == "cox"
    assert infer_model("x", pd.Series([0.5, -1.0, 2.0])) == "ols"
    assert infer_model("x", pd.Series([0, 3, 7])) == "count"


def test_overlap_weights_balance_the_controls(table):
    r = compare(table, "reverted", controls=["log_size", "author_email"], weights="overlap")
    assert r.balance is not None
    assert r.balance["smd_before"].abs().max() > 0.3  # confounded by size and author
    assert r.balance["smd_after"].abs().max() < 0.01  # overlap weights balance exactly
    assert r.ci[0] < 2.0 < r.ci[1] and "overlap weights" in r.test


def test_refusals_and_warnings_in_words(table):
    with pytest.raises(InputError, match="'nope' is not in the table"):
        compare(table, "nope")
    with pytest.raises(InputError, match="control 'team'"):
        compare(table, "reverted", controls=["team"])
    with pytest.raises(InputError, match="at least 2 rows in each group"):
        compare(table.assign(ai_assisted=False), "reverted")
    never = table.assign(reverted=table.reverted & ~table.ai_assisted)
    with pytest.raises(InputError, match=r"no treated row had it.*separation"):
        compare(never, "reverted")
    with pytest.raises(InputError, match="not available for the cox model"):
        compare(table, "time_to_revert", controls=["log_size"], weights="ipw")
    with pytest.raises(InputError, match="weights= needs controls"):
        compare(table, "reverted", weights="ipw")
    small = table.head(60)
    with pytest.warns(StatsWarning, match="too few events"):
        compare(small, "reverted")
    with pytest.warns(StatsWarning, match="only 3 clusters"):
        compare(table.assign(team=table.index % 3), "reverted", cluster="team")
    # 20 teams, but one holds 90% of the rows: about 1.2 equal clusters
    lopsided = np.where(table.index % 10 == 0, (table.index // 10) % 20 + 1, 0)
    with pytest.warns(StatsWarning, match=r"largest holds 90%.*about 1\.2 equal clusters"):
        compare(table.assign(team=lopsided), "reverted", cluster="team")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 20 equal teams: no warning about clusters
        r = compare(table.assign(team=table.index % 20), "reverted", cluster="team")
    assert not any("cluster" in w for w in r.warnings)


def test_rows_with_missing_values_are_counted(table):
    holes = table.astype({"reverted": "boolean"})
    holes.loc[:99, "reverted"] = pd.NA
    r = compare(holes, "reverted")
    assert r.dropped == 100 and sum(r.n.values()) == len(table) - 100
    assert any("100 rows" in n for n in r.notes)


def test_result_views(table):
    r = compare(table, "reverted", controls=["log_size"])
    text = repr(r)
    assert "odds ratio" in text and "95% CI" in text and "Wald z-test" in text
    assert "<b>reverted</b>" in r._repr_html_()
    row = r.table().iloc[0]
    assert row["estimate"] == r.estimate and row["ci_low"] == r.ci[0]
    ax = r.plot()
    assert ax.get_xscale() == "log" and len(ax.get_yticks()) == 1


def test_compare_many_reports_failures_and_adjusts_p_values(table):
    with pytest.warns(StatsWarning, match="hazard ratio changes over time"):  # not PH here
        many = compare_many(
            table, ["reverted", "n_fixes_induced", "time_to_revert", "gone"], controls=["log_size"]
        )
    out = many.table()
    assert list(out.outcome) == ["reverted", "n_fixes_induced", "time_to_revert"]
    assert (out.p_holm >= out.p_value).all() and (out.q_bh >= out.p_value).all()
    assert "gone" in many.failed and "not in the table" in many.failed["gone"]
    assert "3 outcomes were tested" in repr(many)
    assert len(many.plot().get_yticks()) == 3
    own = compare_many(table, {"reverted": "auto", "churn_rate_14d": "ols"})
    assert [r.kind for r in own.results] == ["logit", "ols"], "a model per outcome"


def test_sensitivity_recovers_effect_hidden_by_unmarked_ai_use():
    rng = np.random.default_rng(7)
    n = 20000
    truly = rng.random(n) < 0.4
    y = rng.random(n) < 1 / (1 + np.exp(-(-2 + math.log(2.0) * truly)))
    hidden = truly & (rng.random(n) < 0.4)  # 40% of AI use left no mark
    d = pd.DataFrame({"ai_assisted": truly & ~hidden, "reverted": y})
    share = hidden.sum() / (~d.ai_assisted).sum()
    perfect = compare(d.assign(ai_assisted=truly), "reverted").estimate  # detection of all
    r = compare(d, "reverted")
    s = r.sensitivity([0.0, share], draws=10, burn_in=8, seed=1)
    assert s.loc[0, "estimate"] == r.estimate and s.loc[0, "ci_low"] == r.ci[0]
    assert r.ci[1] < perfect, "the contaminated comparison is attenuated"
    assert s.loc[1, "ci_low"] < perfect < s.loc[1, "ci_high"]
    assert abs(math.log(s.loc[1, "estimate"] / perfect)) < abs(math.log(r.estimate / perfect)) / 3
    assert s.loc[1, "reclassified"] == pytest.approx(hidden.sum(), rel=0.15)
    again = r.sensitivity([share], draws=10, burn_in=8, seed=1)
    assert again.loc[0, "estimate"] == s.loc[1, "estimate"], "reproducible for a seed"
    with pytest.raises(InputError, match="below 1"):
        r.sensitivity([1.0])


def test_planted_repository_through_the_whole_pipeline(tmp_path):
    planted = ai.synth.make_repo(
        tmp_path / "r", n_commits=300, seed=5, effects={"revert_odds_ratio": 2.0}
    )
    out = ai.Repo(planted.path, cache_dir=tmp_path / "c", progress=False).outcomes()
    features = planted.features(out)
    m = features.merge(planted.truth, on="sha", suffixes=("", "_planted"))
    assert len(m) == 300
    # what the miner measured is exactly what was planted
    assert (m.reverted.astype(bool) == m.reverted_planted).all()
    assert (m.fix_inducing.astype(bool) == m.fix_inducing_planted).all()
    assert (m.ai_assisted == m.ai_marked).all() and m.ai_assisted.sum() > 30
    assert np.allclose(m.churn_rate_14d.astype(float), m.churn_rate)
    assert (m.insertions == m.lines_added).all()
    # AI-assisted commits were planted larger: the confounding is there to adjust for
    assert m[m.ai_assisted].insertions.median() > m[~m.ai_assisted].insertions.median()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatsWarning)
        r = compare(features, "reverted", controls=["log_size", "author_email"])
    assert r.n["treated"] == int(m.ai_assisted.sum()) and np.isfinite(r.ci).all()
    prs = planted.prs
    assert len(prs) == 300 and (prs.ai_assisted.to_numpy() == planted.truth.ai_marked).all()
    assert prs.time_to_merge.notna().sum() == planted.truth.merged.sum()


def test_validation_fast_version():
    from aiimpact.validation import simulate, summarize

    results = simulate(2, n_commits=250, seed=11)
    assert (results["mismatches"] == 0).all(), "mined outcomes differ from the planted ones"
    summary = summarize(results)
    assert set(summary.outcome) == {"reverted", "fix_inducing", "churn_rate_14d", "time_to_merge"}
    assert (summary.sims + summary.failed == 2).all()
    assert summary.coverage.between(0, 1).all()
