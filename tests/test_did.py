"""ai.panel and ai.did: panels checked by hand, estimators against planted adoption effects."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

import aiimpact as ai
from aiimpact.errors import InputError

matplotlib.use("Agg")


def commits(rows):
    """(unit, ISO time, ai, insertions, reverted) -> a commit table."""
    df = pd.DataFrame(rows, columns=["repo", "commit_time", "ai_assisted", "insertions",
                                     "reverted"])  # fmt: skip
    df["commit_time"] = pd.to_datetime(df["commit_time"], utc=True)
    df["deletions"] = 1
    df["author_email"] = "a@x.org"
    return df


def test_panel_by_hand():
    t = commits([
        ("alpha", "2025-01-05", False, 10, False),
        ("alpha", "2025-01-20", False, 5, True),
        ("alpha", "2025-03-02", True, 40, False),   # February is quiet: a row of zeros
        ("alpha", "2025-04-11", False, 1, False),
        ("beta", "2025-02-01", False, 7, False),    # never adopts
        ("beta", "2025-03-01", False, 3, False),
        ("gamma", "2025-01-31", True, 2, True),     # adopts at once
    ])  # fmt: skip
    p = ai.panel(t, unit="repo").set_index(["unit", "period"])
    jan, feb, mar, apr = (pd.Timestamp(f"2025-{m:02d}-01") for m in (1, 2, 3, 4))
    assert list(p.loc["alpha"].index) == [jan, feb, mar, apr]
    assert p.loc[("alpha", jan), "commits"] == 2 and p.loc[("alpha", jan), "lines"] == 17
    assert p.loc[("alpha", jan), "reverted"] == 0.5
    assert p.loc[("alpha", feb), "commits"] == 0 and pd.isna(p.loc[("alpha", feb), "ai_share"])
    assert p.loc[("alpha", mar), "ai_share"] == 1.0
    assert p.loc[("alpha", jan), "first_treated"] == mar
    assert list(p.loc["alpha", "rel_period"]) == [-2, -1, 0, 1]
    assert list(p.loc["alpha", "treated"]) == [False, False, True, True]
    assert p.loc["beta", "first_treated"].isna().all() and not p.loc["beta", "treated"].any()
    assert p.loc[("gamma", jan), "rel_period"] == 0
    with pytest.raises(InputError, match="'team' is not in the table"):
        ai.panel(t, unit="team")


def staggered(seed, n_units=60, periods=24, pre_trend=0.0):
    """Units adopt between periods 6 and 19 (a quarter never do); the effect grows with
    time since adoption and is larger for early adopters: TWFE is biased here."""
    rng = np.random.default_rng(seed)
    first = {u: int(rng.integers(6, 20)) if u % 4 else None for u in range(n_units)}
    unit_fe, period_fe = rng.normal(0, 2, n_units), np.cumsum(rng.normal(0, 0.5, periods))
    rows, effects = [], []
    for u in range(n_units):
        f = first[u]
        for t in range(periods):
            treated = f is not None and t >= f
            effect = 1.0 + 0.3 * (t - f) + (0.5 if f < 12 else 0.0) if treated else 0.0
            lead = pre_trend * (t - f + 5) if f is not None and f - 4 <= t < f else 0.0
            y = unit_fe[u] + period_fe[t] + effect + lead + rng.normal(0, 1)
            rows.append((u, t, y, f if f is not None else np.nan))
            if treated:
                effects.append((t - f, effect))
    return pd.DataFrame(rows, columns=["unit", "period", "y", "first_treated"]), effects


def test_imputation_recovers_heterogeneous_effect_where_twfe_fails():
    panel, effects = staggered(seed=4)
    truth = float(np.mean([e for _, e in effects]))
    r = ai.did(panel, "y")
    assert r.method == "imputation" and r.n_treated_obs == len(effects)
    assert r.ci[0] < truth < r.ci[1], r
    assert not (r.twfe["ci"][0] < truth < r.twfe["ci"][1]), "TWFE is biased under dynamics"
    lags = r.event_study[r.event_study.rel_period >= 0]
    # the average effect is the cell-weighted mean of the event-study lags
    assert np.isclose((lags.estimate * lags.n).sum() / lags.n.sum(), r.estimate)
    early = lags[lags.rel_period <= 8]
    slope = np.polyfit(early.rel_period, early.estimate, 1)[0]
    assert 0.15 < slope < 0.45, "the planted effect grows by 0.3 per period"
    assert r.event_study.rel_period.min() == -4 and r.pretrend["p_value"] > 0.05
    assert not r.warnings
    twfe = ai.did(panel, "y", method="twfe")
    assert twfe.estimate == r.twfe["estimate"] and "two-way fixed effects" in twfe.test
    assert r.plot().get_xlabel() == "periods since adoption"
    assert "Borusyak" in repr(r)


def test_pre_trend_is_detected_and_named():
    panel, _ = staggered(seed=5, pre_trend=0.6)
    r = ai.did(panel, "y")
    assert r.pretrend["p_value"] < 0.001
    assert any("pre-trends" in w for w in r.warnings)


def test_did_bad_input():
    panel, _ = staggered(seed=6, n_units=8)
    with pytest.raises(InputError, match="'nope'"):
        ai.did(panel, "nope")
    with pytest.raises(InputError, match="no unit is ever treated"):
        ai.did(panel.assign(first_treated=np.nan), "y")
    with pytest.raises(InputError, match="method="):
        ai.did(panel, "y", method="synthetic")
    small = ai.did(panel, "y")
    assert any("only 8 units" in w for w in small.warnings)


def test_panel_and_did_on_a_planted_repository(tmp_path):
    planted = ai.synth.make_repo(tmp_path / "r", n_commits=400, seed=2)
    out = ai.Repo(planted.path, cache_dir=tmp_path / "c", progress=False).outcomes()
    features = planted.features(out)
    p = ai.panel(features, unit="author_email", freq="W")
    adopters = planted.truth[planted.truth.ai_marked].author_email.nunique()
    firsts = p.groupby("unit")["first_treated"].first()
    assert firsts.notna().sum() == adopters
    assert p.groupby("unit")["commits"].sum().sum() == len(features)
    r = ai.did(p, "commits")
    assert r.n_treated_units == adopters and np.isfinite(r.ci).all()
