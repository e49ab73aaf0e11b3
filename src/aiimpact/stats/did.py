"""``ai.did``: the effect of adopting AI tools, from a staggered-adoption panel.

Units (repositories, authors) start using AI at different times. Two estimators:

* the **imputation estimator** of Borusyak, Jaravel and Spiess (2024, *Review of Economic
  Studies*), the default: fit unit and period fixed effects (and the controls) on the
  untreated cells only, impute each treated cell's untreated outcome, and average the
  differences. Unlike two-way fixed effects it stays unbiased when the effect differs
  between cohorts or grows over time. Its variance is BJS's conservative, cluster-robust
  formula (Theorem 3), with treated residuals taken against the other units' mean at the
  same period since adoption;
* **two-way fixed effects** (TWFE), ``y = a_unit + b_period + d * treated + controls``,
  OLS with errors clustered by unit; reported beside it for comparison (``.twfe``).

The event study averages the imputed effects by periods since adoption (lags ``k >= 0``);
leads (``k < 0``) come from BJS's pre-trend test: the untreated cells of units that adopt
later, regressed on the fixed effects plus one dummy per lead, whose joint Wald test is
the pre-trend test.

Every fit absorbs the fixed effects (``_FixedEffectsLS``): the factor with more levels
(usually units) by the within transformation, the other as dummies, the controls partialled
out with them (Frisch-Waugh-Lovell), solved by the SVD of that small design with columns
scaled to unit norm. It is exact (no iteration) and takes seconds on thousands of units.
The first version built every dummy densely and took ``pinv`` of the normal equations: a
control such as lines of code (1e5-1e7) made the largest eigenvalue ~1e14, ``pinv``'s
relative cutoff (1e-15 of it) then discarded hundreds of fixed-effect directions, and the
imputed outcomes were not the least-squares ones (He et al.'s Cursor panel: +25.4% instead
of +29.7%), in minutes per outcome.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats as sps

from aiimpact.errors import InputError
from aiimpact.stats.kinds import check_values, require_numeric
from aiimpact.stats.results import fmt, p_text

Z95 = sps.norm.ppf(0.975)
MIN_CLUSTERS = 10


@dataclass(repr=False)
class DidResult:
    """An adoption effect: the average effect on the treated cells and its event study.

    Attributes
    ----------
    estimate : float
        Average effect on the treated cells, in the outcome's units.
    ci : tuple of float
        95% confidence interval.
    p_value : float
        Of ``test``.
    event_study : DataFrame
        ``rel_period, estimate, ci_low, ci_high, n`` (leads ``k < 0`` are pre-trend
        coefficients, lags ``k >= 0`` imputed effects).
    pretrend : dict
        ``statistic, df, p_value, test`` of the joint test that all leads are zero.
    twfe : dict
        The two-way fixed effects estimate, CI and p-value, for comparison.
    """

    outcome: str
    method: str
    estimate: float
    ci: tuple[float, float]
    se: float
    p_value: float
    test: str
    event_study: pd.DataFrame
    pretrend: dict
    twfe: dict
    n_units: int
    n_treated_units: int
    n_never_treated: int
    n_obs: int
    n_treated_obs: int
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tau: pd.DataFrame | None = None

    def table(self) -> pd.DataFrame:
        """One tidy row with both estimators."""
        return pd.DataFrame(
            [
                {
                    "outcome": self.outcome,
                    "method": self.method,
                    "estimate": self.estimate,
                    "ci_low": self.ci[0],
                    "ci_high": self.ci[1],
                    "p_value": self.p_value,
                    "test": self.test,
                    "twfe": self.twfe["estimate"],
                    "pretrend_p": self.pretrend.get("p_value"),
                    "units": self.n_units,
                    "treated_units": self.n_treated_units,
                    "treated_cells": self.n_treated_obs,
                }
            ]
        )

    def plot(self, ax=None):
        """Event-study plot: effect by periods since adoption, with 95% CIs."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        es = self.event_study
        lead = es["rel_period"] < 0
        for mask, colour, label in (
            (lead, "#7f7f7f", "pre-adoption (leads)"),
            (~lead, "#1f77b4", "after adoption"),
        ):
            part = es[mask]
            yerr = [part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]]
            ax.errorbar(
                part["rel_period"],
                part["estimate"],
                yerr=yerr,
                fmt="o",
                color=colour,
                capsize=3,
                label=label,
            )
        ax.axhline(0, color="#999", lw=1)
        ax.axvline(-0.5, color="#999", ls="--", lw=1)
        ax.set_xlabel("periods since adoption")
        ax.set_ylabel(f"effect on {self.outcome}")
        ax.legend(fontsize=8)
        return ax

    def describe(self) -> str:
        return (
            f"{self.outcome}: average effect on the treated {fmt(self.estimate)} (95% CI "
            f"{fmt(self.ci[0])} to {fmt(self.ci[1])}), p {p_text(self.p_value)} ({self.test}); "
            f"TWFE {fmt(self.twfe['estimate'])}; {self.n_treated_units} adopting and "
            f"{self.n_never_treated} never-treated units, {self.n_treated_obs} treated cells"
        )

    def __repr__(self) -> str:
        lines = [f"Adoption effect on {self.outcome!r} ({self.method})", "  " + self.describe()]
        if self.pretrend:
            pt = self.pretrend
            lines.append(
                f"  pre-trend: {pt['test']}: statistic {pt['statistic']:.3g}, "
                f"df {pt['df']}, p {p_text(pt['p_value'])}"
            )
        lines += [f"  note: {m}" for m in self.notes]
        lines += [f"  warning: {m}" for m in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(m)}</li>" for m in self.warnings + self.notes)
        return (
            f"<div>{html.escape(self.describe())}"
            f"{self.event_study.to_html(index=False, float_format='{:.4g}'.format)}"
            f"<ul>{items}</ul></div>"
        )


def did(
    panel: pd.DataFrame,
    outcome: str,
    unit: str = "unit",
    time: str = "period",
    first_treated: str = "first_treated",
    controls: tuple[str, ...] | list[str] = (),
    method: str = "imputation",
    leads: int = 4,
    max_lag: int | None = None,
) -> DidResult:
    """Estimate the effect of adoption on *outcome* from a unit x period panel.

    Parameters
    ----------
    panel : DataFrame
        One row per (unit, period), e.g. from :func:`aiimpact.stats.panel.panel`.
    outcome : str
        Numeric column (``commits``, ``lines``, ``reverted``...).
    unit, time : str
        Columns of the unit and of the period (a datetime or an integer).
    first_treated : str
        Column with each unit's first treated period (NaT/NaN for never-treated units);
        a cell is treated from that period on.
    controls : sequence of str
        Numeric time-varying controls, fitted with the fixed effects.
    method : {"imputation", "twfe"}
        The headline estimator; the other is reported too.
    leads : int
        Pre-adoption periods in the event study and the pre-trend test.
    max_lag : int, optional
        Last post-adoption period shown in the event study (default: all).

    Returns
    -------
    DidResult

    Examples
    --------
    >>> p = ai.panel(outcomes, unit="author_email")  # doctest: +SKIP
    >>> r = ai.did(p, "lines", unit="unit", time="period", first_treated="first_treated")
    >>> r.estimate, r.ci, r.event_study.head()  # doctest: +SKIP
    """
    if method not in ("imputation", "twfe"):
        raise InputError(f"method={method!r} is not 'imputation' or 'twfe'")
    missing = [c for c in (outcome, unit, time, first_treated, *controls) if c not in panel]
    if missing:
        raise InputError(f"did: column(s) {', '.join(map(repr, missing))} not in the panel")
    for name, what in ((outcome, "outcome"), *((c, "control") for c in controls)):
        require_numeric(panel, name, what)
    d, incomplete = _frame(panel, outcome, unit, time, first_treated, controls)
    warnings_: list[str] = []
    notes: list[str] = []
    if incomplete:
        why = ", ".join(f"{k} without {name}" for name, k in incomplete.items())
        notes.append(f"{len(panel) - len(d)} rows with missing values were left out ({why})")
    treated_units = d.loc[d["cohort"].notna(), "u"].nunique()
    never = d.loc[d["cohort"].isna(), "u"].nunique()
    n_units = d["u"].nunique()
    if treated_units == 0:
        raise InputError(
            f"did: no unit is ever treated ({first_treated!r} is empty: no unit adopted, e.g. "
            "no AI-assisted change in the panel): there is no adoption effect to estimate"
        )
    if not (d["D"] == 0).any():
        raise InputError(
            "did: every cell is treated (no unit has a period before adopting, e.g. every "
            "change was AI-assisted): there is nothing to impute the untreated outcome from"
        )
    if n_units < MIN_CLUSTERS:
        warnings_.append(
            f"only {n_units} units: cluster-robust errors are unreliable below about 10"
        )
    if never == 0:
        notes.append(
            "no never-treated unit: the late adopters' pre-adoption periods are the controls"
        )

    imp = _imputation(d, controls)
    dropped = int(imp.pop("dropped"))
    if dropped:
        notes.append(
            f"{dropped} treated cells could not be imputed (their unit or period has no "
            "untreated cell) and were left out"
        )
    tau = imp.pop("tau")
    lags = _lags(d, tau, imp, max_lag)
    pre = _pretrend(d, controls, leads)
    twfe = _twfe(d, controls)
    es = pd.concat([pre.pop("leads"), lags], ignore_index=True)
    if "not_estimable" in pre:
        notes.append(pre.pop("not_estimable"))
    if np.isnan(twfe["estimate"]):
        notes.append(
            "TWFE is not identified: treatment is collinear with the unit and period "
            "effects (e.g. every unit adopts in the same period)"
        )
    if pre.get("p_value", 1.0) < 0.05:
        warnings_.append(
            f"pre-trends: the outcome already moved before adoption ({pre['test']}, p = "
            f"{pre['p_value']:.3g}); parallel trends are doubtful"
        )
    if method == "imputation":
        est, se = imp["estimate"], imp["se"]
        ci = (est - Z95 * se, est + Z95 * se)
        p = float(2 * sps.norm.sf(abs(est / se))) if se > 0 else float("nan")
        test = (
            f"Wald z-test, imputation estimator (Borusyak, Jaravel and Spiess 2024), "
            f"conservative variance clustered by unit ({n_units} clusters)"
        )
    else:
        est, se, ci, p = twfe["estimate"], twfe["se"], twfe["ci"], twfe["p_value"]
        test = f"t-test, two-way fixed effects OLS, errors clustered by unit ({n_units} clusters)"
    tau_frame = d.loc[tau.index, ["unit", "period", "rel"]].assign(tau=tau.to_numpy())
    return DidResult(
        outcome=outcome,
        method=method,
        estimate=float(est),
        ci=(float(ci[0]), float(ci[1])),
        se=float(se),
        p_value=p,
        test=test,
        event_study=es,
        pretrend=pre,
        twfe=twfe,
        n_units=n_units,
        n_treated_units=int(treated_units),
        n_never_treated=int(never),
        n_obs=len(d),
        n_treated_obs=len(tau),
        warnings=warnings_,
        notes=notes,
        tau=tau_frame.rename(columns={"unit": unit, "period": time}),
    )


def _frame(panel, outcome, unit, time, first_treated, controls):
    """The estimation frame (complete rows only) and the missing values of each column,
    by name; a column missing everywhere or holding infinite values is refused."""
    d = pd.DataFrame(
        {
            "unit": panel[unit].to_numpy(),
            "period": panel[time].to_numpy(),
            "y": pd.to_numeric(panel[outcome], errors="coerce").astype(float).to_numpy(),
            "first": panel[first_treated].to_numpy(),
        }
    )
    for i, c in enumerate(controls):
        d[f"x{i}"] = pd.to_numeric(panel[c], errors="coerce").astype(float).to_numpy()
    names = {
        "unit": f"unit {unit!r}",
        "period": f"time {time!r}",
        "y": f"outcome {outcome!r}",
        **{f"x{i}": f"control {c!r}" for i, c in enumerate(controls)},
    }
    missing = check_values(d[list(names)], names)
    d = d.dropna(subset=list(names))
    periods = np.sort(pd.unique(d["period"]))
    index = pd.Index(periods)
    d["t"] = index.get_indexer(d["period"])
    first = pd.Series(d["first"])
    known = first.notna().to_numpy()
    cohort = np.full(len(d), np.nan)
    if known.any():
        at = index.get_indexer(first[known])
        if (at < 0).any():  # a first period outside the panel's periods: place it by order
            at = np.searchsorted(periods, first[known].to_numpy())
        cohort[known] = at
    d["cohort"] = cohort
    d["u"] = pd.factorize(d["unit"])[0]
    d["D"] = (d["cohort"].notna() & (d["t"] >= d["cohort"])).astype(int)
    d["rel"] = (d["t"] - d["cohort"]).astype("Float64")
    return d.reset_index(drop=True), {names[c]: k for c, k in missing.items()}


class _FixedEffectsLS:
    """Least squares of ``y`` on the fixed effects of ``a`` and of ``b`` plus dense columns ``x``.

    The fixed effects of ``a`` (the factor with more levels) are absorbed by the within
    transformation: by Frisch-Waugh-Lovell, regressing the ``a``-demeaned ``y`` on the
    ``a``-demeaned ``[b dummies (first level dropped), x]`` gives the same coefficients and
    residuals as the full dummy regression, and the ``a`` effects are the group means of what
    is left. That small dense design is scaled to unit-norm columns and solved by SVD, so a
    control in the millions (lines of code) cannot swamp the dummies, and the rank cutoff
    (numpy's ``lstsq`` default) only drops directions that are collinear, not merely small.
    """

    def __init__(self, a, b, x, y):
        self.a_levels, ai = np.unique(a, return_inverse=True)
        self.b_levels, bi = np.unique(b, return_inverse=True)
        self.ai, self.n = ai, np.bincount(ai).astype(float)
        self.k_params = len(self.a_levels) + len(self.b_levels) - 1 + x.shape[1]
        big = self._columns(bi, x)
        self.means = self._group_means(big)
        within = big - self.means[ai]
        scale = np.linalg.norm(within, axis=0)
        self.scale = np.where(scale > 0, scale, 1.0)
        u, s, vt = np.linalg.svd(within / self.scale, full_matrices=False)
        keep = s > (s.max() if s.size else 0) * max(within.shape) * np.finfo(float).eps
        self.u, self.s, self.vt = u[:, keep], s[keep], vt[keep]
        y_within = y - self._group_means(y[:, None])[ai, 0]
        self.coef = self.vt.T @ ((self.u.T @ y_within) / self.s) / self.scale
        self.alpha = self._group_means((y - big @ self.coef)[:, None])[:, 0]
        self.resid = y - self.alpha[ai] - big @ self.coef
        self.leverage = 1 / self.n[ai] + (self.u**2).sum(axis=1)

    def _columns(self, bi, x):
        dummies = np.zeros((len(bi), len(self.b_levels)))
        dummies[np.arange(len(bi)), bi] = 1.0
        return np.hstack([dummies[:, 1:], x])

    def _group_means(self, m):
        return _sums(self.ai, m, len(self.n)) / self.n[:, None]

    def rows(self, a, b, x):
        """For new rows: which have both levels fitted, their ``a`` index and dense columns."""
        ai = np.searchsorted(self.a_levels, a).clip(max=len(self.a_levels) - 1)
        bi = np.searchsorted(self.b_levels, b).clip(max=len(self.b_levels) - 1)
        ok = (self.a_levels[ai] == a) & (self.b_levels[bi] == b)
        return ok, ai, self._columns(bi, x)

    def influence(self, ai1, big1, w):
        """The weight of each fitted ``y`` in ``w @ (fitted values at the rows ai1, big1)``."""
        share = np.bincount(ai1, weights=w, minlength=len(self.n))
        q = big1.T @ w - self.means.T @ share
        return share[self.ai] / self.n[self.ai] + self.u @ ((self.vt @ (q / self.scale)) / self.s)

    def cluster_cov(self, clusters, columns):
        """Cluster-robust covariance of the coefficients of ``x[:, columns]``, with
        statsmodels' small-sample factor (every dummy counted as a parameter), and whether
        each of them is identified (not collinear with the fixed effects and the rest)."""
        j = len(self.b_levels) - 1 + np.asarray(columns)
        codes, groups = np.unique(clusters, return_inverse=True)
        scores = _sums(groups, self.u * self.resid[:, None], len(codes))
        phi = (scores / self.s) @ self.vt[:, j] / self.scale[j]
        nobs, g = len(self.resid), len(codes)
        # no residual degrees of freedom (a saturated fit) or one cluster: no variance
        enough = g > 1 and nobs > self.k_params
        factor = g / (g - 1) * (nobs - 1) / (nobs - self.k_params) if enough else np.nan
        identified = (self.vt[:, j] ** 2).sum(axis=0) > 1 - 1e-8
        return phi.T @ phi * factor, identified


def _sums(codes: np.ndarray, m: np.ndarray, n_groups: int) -> np.ndarray:
    """Column sums of the rows of *m* by group (*codes* in ``0..n_groups - 1``)."""
    one = sp.csr_matrix(
        (np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(n_groups, len(codes))
    )
    return np.asarray(one @ m)


def _absorb(frame: pd.DataFrame) -> tuple[str, str]:
    """(absorbed, dummies): ``"u"`` (units) and ``"t"`` (periods), the one with more levels
    in *frame* first."""
    return ("u", "t") if frame["u"].nunique() >= frame["t"].nunique() else ("t", "u")


def _xs(frame: pd.DataFrame, names) -> np.ndarray:
    return frame[list(names)].to_numpy(float).reshape(len(frame), len(names))


def _imputation(d: pd.DataFrame, controls) -> dict:
    xs = [f"x{i}" for i in range(len(controls))]
    untreated = (d["D"] == 0).to_numpy()
    d0, d1 = d[untreated], d[~untreated]
    a, b = _absorb(d0)
    fit = _FixedEffectsLS(d0[a].to_numpy(), d0[b].to_numpy(), _xs(d0, xs), d0["y"].to_numpy())
    # a treated cell is imputable if its unit and its period have untreated cells
    ok, ai1, big1 = fit.rows(d1[a].to_numpy(), d1[b].to_numpy(), _xs(d1, xs))
    dropped = int((~ok).sum())
    ai1, big1 = ai1[ok], big1[ok]
    y1 = d1["y"].to_numpy()[ok]
    tau = pd.Series(y1 - fit.alpha[ai1] - big1 @ fit.coef, index=d1.index[ok])
    # residuals of the untreated fit, scaled up by their leverage (as HC2): a unit with few
    # untreated periods has its fixed effect fitted to them, shrinking their residuals
    scale = 1 / np.sqrt(np.clip(1 - fit.leverage, 1e-3, None))
    cells = d.loc[tau.index, ["u", "rel"]]
    state = {
        "fit": fit,
        "ai1": ai1,
        "big1": big1,
        "resid0": fit.resid * scale,
        "u0": d0["u"].to_numpy(),
        "u1": cells["u"].to_numpy(),
        "rel1": pd.factorize(cells["rel"])[0],
        "rel_u1": cells.groupby(["rel", "u"], sort=False).ngroup().to_numpy(),
        "n_units": int(d["u"].max()) + 1,
    }
    w = np.full(len(tau), 1 / len(tau)) if len(tau) else np.array([])
    est, se = _weighted(tau, state, w)
    return {"estimate": est, "se": se, "tau": tau, "dropped": dropped, **state}


def _weighted(tau: pd.Series, s: dict, w1: np.ndarray) -> tuple[float, float]:
    """Estimate and BJS conservative clustered SE of ``sum(w1 * tau)``."""
    if len(tau) == 0 or w1.sum() == 0:
        return float("nan"), float("nan")
    t = tau.to_numpy()
    est = float(w1 @ t)
    # the estimate is linear in the outcomes: w1 on the treated cells and v0 on the
    # untreated ones, v0 = -Z0 (Z0'Z0)^-1 Z1' w1 (BJS eq. 6), from the absorbed fit
    v0 = -s["fit"].influence(s["ai1"], s["big1"], w1)
    # treated residuals: tau minus the weighted mean of the *other* units' tau at the same
    # period since adoption (BJS's leave-out correction; pooling cohorts is conservative)
    rel, own = s["rel1"], s["rel_u1"]

    def total(codes, v):
        return np.bincount(codes, weights=v)[codes]

    weighted = (w1 > 0).astype(float)
    others = total(rel, weighted) - total(own, weighted) > 0
    rest_w = np.where(others, total(rel, w1) - total(own, w1), 1.0)
    means = np.where(others, (total(rel, w1 * t) - total(own, w1 * t)) / rest_w, 0.0)
    by_unit = np.bincount(s["u0"], weights=v0 * s["resid0"], minlength=s["n_units"])
    by_unit += np.bincount(s["u1"], weights=w1 * (t - means), minlength=s["n_units"])
    return est, float(np.sqrt((by_unit**2).sum()))


def _lags(d: pd.DataFrame, tau: pd.Series, s: dict, max_lag) -> pd.DataFrame:
    rel = d.loc[tau.index, "rel"].astype(int)
    rows = []
    for k in sorted(rel.unique()):
        if max_lag is not None and k > max_lag:
            break
        w = (rel == k).to_numpy().astype(float)
        w /= w.sum()
        est, se = _weighted(tau, s, w)
        rows.append(
            {
                "rel_period": int(k),
                "estimate": est,
                "ci_low": est - Z95 * se,
                "ci_high": est + Z95 * se,
                "n": int((rel == k).sum()),
            }
        )
    return pd.DataFrame(rows)


def _clustered(frame: pd.DataFrame, columns: list[str], tested: int) -> dict:
    """OLS of ``y`` on unit and period fixed effects and *columns*, errors clustered by unit
    (as statsmodels' ``cov_type="cluster"``); estimates of the first *tested* columns."""
    a, b = _absorb(frame)
    fit = _FixedEffectsLS(
        frame[a].to_numpy(), frame[b].to_numpy(), _xs(frame, columns), frame["y"].to_numpy()
    )
    cov, identified = fit.cluster_cov(frame["u"].to_numpy(), range(tested))
    j = len(fit.b_levels) - 1 + np.arange(tested)
    return {"params": fit.coef[j], "cov": cov, "identified": identified}


def _pretrend(d: pd.DataFrame, controls, leads: int) -> dict:
    """BJS test: untreated cells, fixed effects plus lead dummies; joint Wald test."""
    u = d[d["D"] == 0].copy()
    rel = u["rel"].astype("Float64")
    names = []
    for k in range(1, leads + 1):
        col = f"lead{k}"
        u[col] = (rel == -k).fillna(False).astype(float)
        if u[col].sum() > 0:
            names.append(col)
    empty = pd.DataFrame(columns=["rel_period", "estimate", "ci_low", "ci_high", "n"])
    if not names or u["u"].nunique() < 2:
        return {"leads": empty}
    fit = _clustered(u, [*names, *[f"x{i}" for i in range(len(controls))]], len(names))
    if not fit["identified"].all():
        return {
            "leads": empty,
            "not_estimable": "the leads are collinear with the fixed "
            "effects (too few periods before adoption): no pre-trend test",
        }
    b, cov = fit["params"], fit["cov"]
    se = np.sqrt(np.diag(cov))
    rows = [
        {
            "rel_period": -int(n[4:]),
            "estimate": float(b[i]),
            "ci_low": float(b[i] - Z95 * se[i]),
            "ci_high": float(b[i] + Z95 * se[i]),
            "n": int(u[n].sum()),
        }
        for i, n in enumerate(names)
    ]
    statistic = float(b @ np.linalg.pinv(cov) @ b)
    return {
        "leads": pd.DataFrame(rows).sort_values("rel_period", ignore_index=True),
        "statistic": statistic,
        "df": len(names),
        "p_value": float(sps.chi2.sf(statistic, len(names))),
        "test": f"joint Wald chi2 test of {len(names)} leads (BJS pre-trend test)",
    }


def _twfe(d: pd.DataFrame, controls) -> dict:
    fit = _clustered(d, ["D", *[f"x{i}" for i in range(len(controls))]], 1)
    if not fit["identified"][0]:
        nan = float("nan")
        return {"estimate": nan, "se": nan, "ci": (nan, nan), "p_value": nan}
    est, se = float(fit["params"][0]), float(np.sqrt(fit["cov"][0, 0]))
    p = float(2 * sps.norm.sf(abs(est / se))) if se > 0 else float("nan")
    return {
        "estimate": est,
        "se": se,
        "ci": (float(est - Z95 * se), float(est + Z95 * se)),
        "p_value": p,
    }
