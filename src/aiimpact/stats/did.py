"""``ai.did``: the effect of adopting AI tools, from a staggered-adoption panel.

Units (repositories, authors) start using AI at different times. Two estimators:

* the **imputation estimator** of Borusyak, Jaravel and Spiess (2024, *Review of Economic
  Studies*), the default: fit unit and period fixed effects (and the controls) on the
  untreated cells only, impute each treated cell's untreated outcome, and average the
  differences. Unlike two-way fixed effects it stays unbiased when the effect differs
  between cohorts or grows over time. Its variance is BJS's conservative, cluster-robust
  formula (Theorem 3), with treated residuals taken within cohort x period groups;
* **two-way fixed effects** (TWFE), ``y = a_unit + b_period + d * treated + controls``,
  OLS with errors clustered by unit; reported beside it for comparison (``.twfe``).

The event study averages the imputed effects by periods since adoption (lags ``k >= 0``);
leads (``k < 0``) come from BJS's pre-trend test: the untreated cells of units that adopt
later, regressed on the fixed effects plus one dummy per lead, whose joint Wald test is
the pre-trend test.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats as sps

from aiimpact.errors import InputError
from aiimpact.stats.kinds import check_values, require_numeric

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
        return pd.DataFrame([{
            "outcome": self.outcome, "method": self.method, "estimate": self.estimate,
            "ci_low": self.ci[0], "ci_high": self.ci[1], "p_value": self.p_value,
            "test": self.test, "twfe": self.twfe["estimate"],
            "pretrend_p": self.pretrend.get("p_value"), "units": self.n_units,
            "treated_units": self.n_treated_units, "treated_cells": self.n_treated_obs,
        }])  # fmt: skip

    def plot(self, ax=None):
        """Event-study plot: effect by periods since adoption, with 95% CIs."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        es = self.event_study
        lead = es["rel_period"] < 0
        for mask, colour, label in ((lead, "#7f7f7f", "pre-adoption (leads)"),
                                    (~lead, "#1f77b4", "after adoption")):  # fmt: skip
            part = es[mask]
            yerr = [part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]]
            ax.errorbar(part["rel_period"], part["estimate"], yerr=yerr, fmt="o",
                        color=colour, capsize=3, label=label)  # fmt: skip
        ax.axhline(0, color="#999", lw=1)
        ax.axvline(-0.5, color="#999", ls="--", lw=1)
        ax.set_xlabel("periods since adoption")
        ax.set_ylabel(f"effect on {self.outcome}")
        ax.legend(fontsize=8)
        return ax

    def describe(self) -> str:
        return (
            f"{self.outcome}: average effect on the treated {self.estimate:.4g} (95% CI "
            f"{self.ci[0]:.4g} to {self.ci[1]:.4g}), p {_p(self.p_value)} ({self.test}); "
            f"TWFE {self.twfe['estimate']:.4g}; {self.n_treated_units} adopting and "
            f"{self.n_never_treated} never-treated units, {self.n_treated_obs} treated cells"
        )

    def __repr__(self) -> str:
        lines = [f"Adoption effect on {self.outcome!r} ({self.method})", "  " + self.describe()]
        if self.pretrend:
            pt = self.pretrend
            lines.append(f"  pre-trend: {pt['test']}: statistic {pt['statistic']:.3g}, "
                         f"df {pt['df']}, p {_p(pt['p_value'])}")  # fmt: skip
        lines += [f"  note: {m}" for m in self.notes]
        lines += [f"  warning: {m}" for m in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(m)}</li>" for m in self.warnings + self.notes)
        return (f"<div>{html.escape(self.describe())}"
                f"{self.event_study.to_html(index=False, float_format='{:.4g}'.format)}"
                f"<ul>{items}</ul></div>")  # fmt: skip


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
    if pre.get("p_value", 1.0) < 0.05:
        warnings_.append(
            f"pre-trends: the outcome already moved before adoption ({pre['test']}, p = "
            f"{pre['p_value']:.3g}); parallel trends are doubtful"
        )
    if method == "imputation":
        est, se = imp["estimate"], imp["se"]
        ci = (est - Z95 * se, est + Z95 * se)
        p = float(2 * sps.norm.sf(abs(est / se))) if se > 0 else float("nan")
        test = (f"Wald z-test, imputation estimator (Borusyak, Jaravel and Spiess 2024), "
                f"conservative variance clustered by unit ({n_units} clusters)")  # fmt: skip
    else:
        est, se, ci, p = twfe["estimate"], twfe["se"], twfe["ci"], twfe["p_value"]
        test = f"t-test, two-way fixed effects OLS, errors clustered by unit ({n_units} clusters)"
    tau_frame = d.loc[tau.index, ["unit", "period", "rel"]].assign(tau=tau.to_numpy())
    return DidResult(
        outcome=outcome, method=method, estimate=float(est), ci=(float(ci[0]), float(ci[1])),
        se=float(se), p_value=p, test=test, event_study=es, pretrend=pre, twfe=twfe,
        n_units=n_units, n_treated_units=int(treated_units), n_never_treated=int(never),
        n_obs=len(d), n_treated_obs=len(tau), warnings=warnings_, notes=notes,
        tau=tau_frame.rename(columns={"unit": unit, "period": time}),
    )  # fmt: skip


def _frame(panel, outcome, unit, time, first_treated, controls):
    """The estimation frame (complete rows only) and the missing values of each column,
    by name; a column missing everywhere or holding infinite values is refused."""
    d = pd.DataFrame({
        "unit": panel[unit].to_numpy(),
        "period": panel[time].to_numpy(),
        "y": pd.to_numeric(panel[outcome], errors="coerce").astype(float).to_numpy(),
        "first": panel[first_treated].to_numpy(),
    })  # fmt: skip
    for i, c in enumerate(controls):
        d[f"x{i}"] = pd.to_numeric(panel[c], errors="coerce").astype(float).to_numpy()
    names = {"unit": f"unit {unit!r}", "period": f"time {time!r}", "y": f"outcome {outcome!r}",
             **{f"x{i}": f"control {c!r}" for i, c in enumerate(controls)}}  # fmt: skip
    missing = check_values(d[list(names)], names)
    d = d.dropna(subset=list(names))
    periods = np.sort(pd.unique(d["period"]))
    index = {p: k for k, p in enumerate(periods)}
    d["t"] = d["period"].map(index).astype(int)
    first = pd.Series(d["first"])
    cohort = first.map(lambda v: index.get(v, np.nan) if pd.notna(v) else np.nan)
    if first.notna().any() and cohort[first.notna()].isna().any():
        # a first period outside the panel's periods: place it by order
        cohort = first.map(lambda v: np.searchsorted(periods, v) if pd.notna(v) else np.nan)
    d["cohort"] = cohort.astype(float)
    d["u"] = pd.factorize(d["unit"])[0]
    d["D"] = (d["cohort"].notna() & (d["t"] >= d["cohort"])).astype(int)
    d["rel"] = (d["t"] - d["cohort"]).astype("Float64")
    return d.reset_index(drop=True), {names[c]: k for c, k in missing.items()}


def _design(d: pd.DataFrame, controls) -> np.ndarray:
    """Unit and period dummies (first period dropped) and the controls."""
    units = np.eye(d["u"].max() + 1)[d["u"]]
    periods = np.eye(d["t"].max() + 1)[d["t"]][:, 1:]
    xs = [d[f"x{i}"].to_numpy()[:, None] for i in range(len(controls))]
    return np.hstack([units, periods, *xs])


def _imputation(d: pd.DataFrame, controls) -> dict:
    z = _design(d, controls)
    untreated = (d["D"] == 0).to_numpy()
    z0, y0 = z[untreated], d.loc[untreated, "y"].to_numpy()
    # a treated cell is imputable if its unit and its period have untreated cells
    ok_unit = d["u"].isin(d.loc[untreated, "u"])
    ok_period = d["t"].isin(d.loc[untreated, "t"])
    treated = (d["D"] == 1) & ok_unit & ok_period
    dropped = int(((d["D"] == 1) & ~(ok_unit & ok_period)).sum())
    z1, y1 = z[treated.to_numpy()], d.loc[treated, "y"].to_numpy()
    pinv = np.linalg.pinv(z0.T @ z0)
    gamma = pinv @ z0.T @ y0
    tau = pd.Series(y1 - z1 @ gamma, index=d.index[treated])
    # residuals of the untreated fit, scaled up by their leverage (as HC2): a unit with few
    # untreated periods has its fixed effect fitted to them, shrinking their residuals
    leverage = np.einsum("ij,jk,ik->i", z0, pinv, z0)
    scale = 1 / np.sqrt(np.clip(1 - leverage, 1e-3, None))
    resid0 = pd.Series((y0 - z0 @ gamma) * scale, index=d.index[untreated])
    state = {"z0": z0, "z1": z1, "pinv": pinv, "resid0": resid0, "treated": treated,
             "untreated": untreated}  # fmt: skip
    w = np.full(len(tau), 1 / len(tau)) if len(tau) else np.array([])
    est, se = _weighted(d, tau, state, w)
    return {"estimate": est, "se": se, "tau": tau, "dropped": dropped, **state}


def _weighted(d: pd.DataFrame, tau: pd.Series, s: dict, w1: np.ndarray) -> tuple[float, float]:
    """Estimate and BJS conservative clustered SE of ``sum(w1 * tau)``."""
    if len(tau) == 0 or w1.sum() == 0:
        return float("nan"), float("nan")
    est = float(w1 @ tau.to_numpy())
    v0 = -s["z0"] @ (s["pinv"] @ (s["z1"].T @ w1))
    # treated residuals: tau minus the weighted mean of the *other* units' tau at the same
    # period since adoption (BJS's leave-out correction; pooling cohorts is conservative)
    tr = d.loc[tau.index, ["u", "rel"]].assign(tau=tau.to_numpy(), w=w1)
    tr["wt"] = tr["w"] * tr["tau"]
    group = tr.groupby("rel")[["wt", "w"]].transform("sum")
    own = tr.groupby(["rel", "u"])[["wt", "w"]].transform("sum")
    rest_w = group["w"] - own["w"]
    means = ((group["wt"] - own["wt"]) / rest_w.where(rest_w > 0)).fillna(0.0)
    eps1 = tr["tau"] - means
    contrib = pd.concat([
        pd.Series(v0 * s["resid0"].to_numpy(), index=s["resid0"].index),
        pd.Series(w1 * eps1.to_numpy(), index=tau.index),
    ])  # fmt: skip
    by_unit = contrib.groupby(d.loc[contrib.index, "u"].to_numpy()).sum()
    return est, float(np.sqrt((by_unit**2).sum()))


def _lags(d: pd.DataFrame, tau: pd.Series, s: dict, max_lag) -> pd.DataFrame:
    rel = d.loc[tau.index, "rel"].astype(int)
    rows = []
    for k in sorted(rel.unique()):
        if max_lag is not None and k > max_lag:
            break
        w = (rel == k).to_numpy().astype(float)
        w /= w.sum()
        est, se = _weighted(d, tau, s, w)
        rows.append({"rel_period": int(k), "estimate": est, "ci_low": est - Z95 * se,
                     "ci_high": est + Z95 * se, "n": int((rel == k).sum())})  # fmt: skip
    return pd.DataFrame(rows)


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
    rhs = ["C(u)", "C(t)", *names, *[f"x{i}" for i in range(len(controls))]]
    model = smf.ols("y ~ " + " + ".join(rhs), u)
    if np.linalg.matrix_rank(model.exog) < model.exog.shape[1]:
        return {"leads": empty, "not_estimable": "the leads are collinear with the fixed "
                "effects (too few periods before adoption): no pre-trend test"}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": u["u"].to_numpy()})
    ci = fit.conf_int()
    rows = [{"rel_period": -int(n[4:]), "estimate": float(fit.params[n]),
             "ci_low": float(ci.loc[n, 0]), "ci_high": float(ci.loc[n, 1]),
             "n": int(u[n].sum())} for n in names]  # fmt: skip
    wald = fit.wald_test(", ".join(f"{n} = 0" for n in names), scalar=True, use_f=False)
    return {
        "leads": pd.DataFrame(rows).sort_values("rel_period", ignore_index=True),
        "statistic": float(wald.statistic),
        "df": len(names),
        "p_value": float(wald.pvalue),
        "test": f"joint Wald chi2 test of {len(names)} leads (BJS pre-trend test)",
    }


def _twfe(d: pd.DataFrame, controls) -> dict:
    rhs = ["D", "C(u)", "C(t)", *[f"x{i}" for i in range(len(controls))]]
    fit = smf.ols("y ~ " + " + ".join(rhs), d).fit(
        cov_type="cluster", cov_kwds={"groups": d["u"].to_numpy()}
    )
    low, high = fit.conf_int().loc["D"]
    return {"estimate": float(fit.params["D"]), "se": float(fit.bse["D"]),
            "ci": (float(low), float(high)), "p_value": float(fit.pvalues["D"])}  # fmt: skip


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"
