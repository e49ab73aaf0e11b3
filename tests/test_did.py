"""ai.panel and ai.did: panels checked by hand, estimators against planted adoption effects."""

from __future__ import annotations

import time

import matplotlib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sparse
import statsmodels.formula.api as smf
from scipy.sparse.linalg import lsqr
from scipy.sparse.linalg import norm as sparse_norm

import aiimpact as ai
from aiimpact.errors import InputError

matplotlib.use("Agg")


def commits(rows):
    """(unit, ISO time, ai, insertions, reverted) -> a commit table."""
    df = pd.DataFrame(
        rows, columns=["repo", "commit_time", "ai_assisted", "insertions", "reverted"]
    )
    df["commit_time"] = pd.to_datetime(df["commit_time"], utc=True)
    df["deletions"] = 1
    df["author_email"] = "a@x.org"
    return df


def test_panel_by_hand():
    t = commits(
        [
            ("alpha", "2025-01-05", False, 10, False),
            ("alpha", "2025-01-20", False, 5, True),
            ("alpha", "2025-03-02", True, 40, False),  # February is quiet: a row of zeros
            ("alpha", "2025-04-11", False, 1, False),
            ("beta", "2025-02-01", False, 7, False),  # never adopts
            ("beta", "2025-03-01", False, 3, False),
            ("gamma", "2025-01-31", True, 2, True),  # adopts at once
        ]
    )
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


def repo_months(seed, n_units, periods=24):
    """Repository-months shaped like He et al.'s Cursor panel, which the first ``ai.did``
    (dense dummies, ``pinv`` of the normal equations) got wrong: many units entering the panel
    in different months, most adopting late and few early, some adopting before their first
    month (no untreated cell: not imputable), 40% never; a lines-of-code control of 1e4 to
    1e7 (its square swamped the dummies' eigenvalues, which ``pinv``'s relative cutoff then
    dropped) and a standard-normal one. The effect grows with time since adoption."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, periods - 2, n_units)
    first = periods - 1 - rng.geometric(0.25, n_units).astype(float)
    first[rng.random(n_units) < 0.4] = np.nan
    unit = np.repeat(np.arange(n_units), periods - start)
    month = np.concatenate([np.arange(s, periods) for s in start])
    age = month - start[unit]
    ncloc = np.exp(rng.normal(11.5, 1.5, n_units))[unit] * (1 + 0.05 * age)
    ncloc *= rng.lognormal(0, 0.05, len(unit))
    since = month - first[unit]
    effect = np.where(since >= 0, 0.3 + 0.02 * since, 0.0)
    y = (
        rng.normal(0, 1, n_units)[unit]
        + np.cumsum(rng.normal(0, 0.2, periods))[month]
        + 2e-7 * ncloc
        + effect
        + rng.normal(0, 0.5, len(unit))
    )
    return pd.DataFrame(
        {
            "repo": [f"r{u}" for u in unit],
            "month": month,
            "y": y,
            "ncloc": ncloc,
            "stars": rng.normal(size=len(unit)),
            "first": first[unit],
        }
    )


def dummies(codes, n):
    return sparse.csr_matrix((np.ones(len(codes)), (np.arange(len(codes)), codes)), (len(codes), n))


def sparse_imputation(p, controls):
    """The imputation estimator written apart from ai.did: sparse unit and month dummies
    (first month dropped) and the raw controls, least squares on the untreated cells by
    ``lsqr`` on unit-norm columns, then each imputable treated cell's y minus its fit."""
    treated = (p["month"] >= p["first"]).to_numpy()
    p0, p1 = p[~treated], p[treated]
    units, months = pd.Index(p0["repo"].unique()), pd.Index(np.sort(p0["month"].unique()))

    def design(rows, ui, ti):
        return sparse.hstack(
            [
                dummies(ui, len(units)),
                dummies(ti, len(months))[:, 1:],
                sparse.csr_matrix(rows[controls].to_numpy()),
            ]
        ).tocsc()

    z0 = design(p0, units.get_indexer(p0["repo"]), months.get_indexer(p0["month"]))
    norm = sparse_norm(z0, axis=0)
    fit = lsqr(
        z0 @ sparse.diags(1 / norm), p0["y"].to_numpy(), atol=1e-15, btol=1e-15, iter_lim=50_000
    )
    ui, ti = units.get_indexer(p1["repo"]), months.get_indexer(p1["month"])
    ok = (ui >= 0) & (ti >= 0)
    p1 = p1[ok]
    tau = p1["y"].to_numpy() - design(p1, ui[ok], ti[ok]) @ (fit[0] / norm)
    return p1[["repo", "month"]].assign(tau=tau)


def test_imputation_with_lines_of_code_control_matches_sparse_least_squares():
    p = repo_months(seed=1, n_units=2000)
    controls = ["ncloc", "stars"]
    start = time.perf_counter()
    r = ai.did(p, "y", unit="repo", time="month", first_treated="first", controls=controls)
    seconds = time.perf_counter() - start
    ref = sparse_imputation(p, controls)
    assert r.n_units == 2000 and r.n_treated_obs == len(ref) > 3000
    assert any("could not be imputed" in n for n in r.notes), "adopters from their first month"
    both = r.tau.merge(ref, on=["repo", "month"], suffixes=("", "_ref"), validate="1:1")
    assert len(both) == len(ref)
    assert np.abs(both["tau"] - both["tau_ref"]).max() < 1e-6
    assert abs(r.estimate - ref["tau"].mean()) < 1e-6
    # the dense design took minutes on 2,000 units; absorbing the fixed effects takes seconds
    # (bound generous for a loaded 2-core machine; about 2 s when idle)
    assert seconds < 20, f"{seconds:.1f} s"
    assert r.pretrend["df"] == 4 and np.isfinite(r.pretrend["statistic"])
    assert np.isfinite(r.twfe["se"]) and np.isfinite(r.event_study["ci_low"]).all()


def dense_reference(p, controls):
    """BJS's conservative variance as ``ai.did`` defines it (docs/statistics.md), written
    with a dense design and ``pinv`` of the design itself (never of its normal equations):
    weights v0 = -Z0 (Z0'Z0)^-1 Z1'w on the untreated cells, their residuals scaled by
    1/sqrt(1 - leverage), treated residuals against the other units' mean at the same
    period since adoption, summed by unit."""
    treated = (p["month"] >= p["first"]).to_numpy()
    units, months = np.unique(p["repo"], return_inverse=True), np.unique(p["month"])
    ui, ti = units[1], np.searchsorted(months, p["month"])
    z = np.hstack(
        [np.eye(len(units[0]))[ui], np.eye(len(months))[ti][:, 1:], p[controls].to_numpy()]
    )
    z = z / np.linalg.norm(z[~treated], axis=0)
    z0, z1, y = z[~treated], z[treated], p["y"].to_numpy()
    inv = np.linalg.pinv(z0)
    tau = y[treated] - z1 @ (inv @ y[~treated])
    resid0 = (y[~treated] - z0 @ (inv @ y[~treated])) / np.sqrt(
        np.clip(1 - (z0 * inv.T).sum(1), 1e-3, None)
    )
    rel = (p["month"] - p["first"]).to_numpy()[treated]
    u1 = ui[treated]

    def se(w):
        v0 = -inv.T @ (z1.T @ w)
        means = np.zeros(len(tau))
        for j in range(len(tau)):
            other = (rel == rel[j]) & (u1 != u1[j]) & (w > 0)
            means[j] = (w[other] @ tau[other]) / w[other].sum() if other.any() else 0.0
        by_unit = np.bincount(ui[~treated], v0 * resid0, len(units[0]))
        by_unit += np.bincount(u1, w * (tau - means), len(units[0]))
        return np.sqrt((by_unit**2).sum())

    lag0 = (rel == 0) / (rel == 0).sum()
    return tau.mean(), se(np.full(len(tau), 1 / len(tau))), tau[rel == 0].mean(), se(lag0)


@pytest.mark.parametrize("n_units, periods", [(150, 16), (12, 40)])
def test_variance_event_study_pretrend_and_twfe_match_direct_computations(n_units, periods):
    """Against dense references: the imputation's SE (whichever of units and periods has
    more levels is absorbed), and statsmodels' clustered OLS for TWFE and the pre-trend
    regression, with ncloc left unscaled."""
    p = repo_months(seed=3, n_units=n_units, periods=periods)
    p = p[p.groupby("repo")["month"].transform("min") < p["first"].fillna(np.inf)]
    controls = ["ncloc", "stars"]
    r = ai.did(p, "y", unit="repo", time="month", first_treated="first", controls=controls)
    est, se, lag0, lag0_se = dense_reference(p, controls)
    assert r.estimate == pytest.approx(est, abs=1e-9) and r.se == pytest.approx(se, rel=1e-7)
    k0 = r.event_study.set_index("rel_period").loc[0]
    assert k0["estimate"] == pytest.approx(lag0, abs=1e-9)
    assert (k0["ci_high"] - k0["ci_low"]) / 2 / 1.959963984540054 == pytest.approx(
        lag0_se, rel=1e-7
    )
    q = p.assign(D=(p["month"] >= p["first"]).astype(float))
    twfe = smf.ols("y ~ D + C(repo) + C(month) + ncloc + stars", q).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(q["repo"])[0]}
    )
    assert r.twfe["estimate"] == pytest.approx(twfe.params["D"], abs=1e-9)
    assert r.twfe["se"] == pytest.approx(twfe.bse["D"], rel=1e-7)
    u = q[q["D"] == 0].copy()
    leads = []
    for k in range(1, 5):
        u[f"lead{k}"] = (u["month"] - u["first"] == -k).astype(float)
        leads += [f"lead{k}"]
    pre = smf.ols("y ~ C(repo) + C(month) + ncloc + stars + " + " + ".join(leads), u).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(u["repo"])[0]}
    )
    wald = pre.wald_test(", ".join(f"{n} = 0" for n in leads), scalar=True, use_f=False)
    assert r.pretrend["statistic"] == pytest.approx(float(wald.statistic), rel=1e-7)
    lead1 = r.event_study.set_index("rel_period").loc[-1]
    assert lead1["estimate"] == pytest.approx(pre.params["lead1"], abs=1e-9)
