"""How the comparison changes if some "unassisted" changes were in fact AI-assisted.

Detection sees only AI use that left a mark (a trailer, a bot author, a note), so the
unassisted group is contaminated by unmarked AI use, which pulls every estimate toward no
difference. For an assumed share ``s`` of hidden AI use among the unassisted rows, this is
a bias analysis of treatment misclassification (Fox, MacLehose and Lash, *Applying
Quantitative Bias Analysis to Epidemiologic Data*, 2nd ed., 2021, ch. 6; Lash, Fox and Fink,
1st ed., 2009), computed from the likelihood of what is observed instead of by simulation:

- a marked row is AI-assisted; an unassisted row is AI-assisted with probability ``s``, so
  its expected outcome is ``s * mu1 + (1 - s) * mu0``, with ``mu1`` and ``mu0`` the outcome
  model's means for that row with the treatment set to 1 and to 0. The comparison's own
  model (same family, link, controls and weights) is fitted to the observed outcomes with
  these means, by maximum (quasi-)likelihood. For a binary outcome this is exactly the
  likelihood of the observed data (a mixture of two Bernoulli outcomes is Bernoulli); for
  a linear model it is regression calibration (the coefficient and its standard error are
  the comparison's divided by ``1 - s``). A Cox model has no mean to mix, so there every
  unassisted row's likelihood is the mixture ``s * L1 + (1 - s) * L0`` of its likelihoods
  under both treatments, with the Breslow baseline, maximised by Newton steps with the
  observed information (Louis 1982) and EM steps for the baseline;
- the standard error is the (quasi-)likelihood's, with a sandwich by cluster (or HC0 with
  weights) exactly when the comparison has one. It is reported relative to the comparison's
  own standard error (the ratio of this computation at ``s`` to the same computation at
  ``s = 0``), so the comparison's conventions (small-sample factors, t or z) carry over and
  ``s -> 0`` tends continuously to the original fit; the interval and p-value use the
  comparison's reference distribution;
- the standard error is widened, where needed, so that the corrected estimate is never more
  standard errors away from no difference than the original one: the score test of no
  effect is exactly the same at every share (at no effect the treatment's column enters
  every mean as ``s + (1 - s) * marked``, so the score and its variance both scale by
  ``1 - s``), so a larger Wald statistic would come from the curvature of the correction
  (it bends protective effects and Cox models outward), not from information. The p-value
  thus never falls below the original, and the interval excludes no difference only when
  the p-value says so.

In large samples this is what a record-level probabilistic bias analysis (reclassify each
unassisted row with its predictive value, refit, add the refit's random error, take
percentiles) converges to when its reclassification is *proper* (the model behind the
predictive values drawn from its own sampling distribution) and its draws many; with the
share fixed there is no bias parameter left to draw, and sampling error and the unknown
identity of the misclassified rows are both in the observed-data information. A simulation
that reclassifies with a point fit's predictive values manufactures precision: each refit's
standard error is that of a completed data set in which hundreds of rows have become
treated, and the spread between draws holds only the coin flips. When the outcome is rare,
an unassisted row without the event says almost nothing about its true treatment, most
information about the effect is missing, and no modest number of draws recovers it.

Assumptions: marked changes are truly AI-assisted (no false positives: the signatures are
specific), hidden AI use is as common whatever the controls, and it has the same outcome
distribution, given the controls, as marked AI use (detection is non-differential). If
hidden use were better or worse than marked use, the truth lies further out in that
direction. Under these assumptions, when AI use has no effect the observed data do not
depend on the share at all, so no assumed share can turn a weak comparison into a strong
one: the estimate moves away from no difference and its standard error grows with it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.special import expit, xlogy

from aiimpact.errors import InputError
from aiimpact.stats.compare import StatsWarning
from aiimpact.stats.fitting import ModelError

MAX_ITER = 200
DIVERGED = 25.0  # |log ratio| beyond this: the fit runs to an infinite effect
METHOD = (
    "likelihood-based bias analysis of treatment misclassification: the comparison's model "
    "refitted to the observed outcomes with each unassisted row AI-assisted with the assumed "
    "probability (maximum likelihood; a mixture likelihood for Cox); standard error from the "
    "observed-data information, clustered or robust as the comparison's, widened if needed so "
    "that the estimate is never more standard errors from no difference than the original; "
    "Wald interval and test"
)


def misclassification(
    comparison,
    unlabeled_share=(0.0, 0.1, 0.2, 0.4),
    draws: int = 20,
    burn_in: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Re-estimate a comparison under assumed shares of hidden AI use among the controls.

    Parameters
    ----------
    comparison : Comparison
        The result of ``ai.compare``.
    unlabeled_share : sequence of float
        Assumed shares (0 <= s < 1) of truly AI-assisted rows among the unassisted ones.
    draws, burn_in, seed : int
        Accepted for compatibility with the earlier simulation; the analysis is now exact
        and deterministic, and does not use them.

    Returns
    -------
    DataFrame
        One row per share: ``unlabeled_share, estimate, ci_low, ci_high, p_value,
        reclassified`` (the number of unassisted rows that were AI-assisted, ``s`` times
        their count), ``scale``, ``se`` (standard error of the coefficient: log ratio, or
        difference) and ``width`` (``log(ci_high / ci_low)`` for ratios, ``ci_high -
        ci_low`` for differences). The share-0 row is the original fit. ``attrs["method"]``
        names the method. A share the data cannot support (the fit runs to an infinite
        effect) gives a row of NaN and a ``StatsWarning``.

    Examples
    --------
    >>> r = ai.compare(t, "reverted", controls=["log_size"])  # doctest: +SKIP
    >>> r.sensitivity([0, 0.1, 0.2, 0.4])  # doctest: +SKIP
    """
    shares = [float(s) for s in np.atleast_1d(unlabeled_share)]
    if any(not 0 <= s < 1 for s in shares):
        raise InputError("unlabeled_share values must be at least 0 and below 1")
    model = _CoxMixture(comparison) if comparison.kind == "cox" else _MeanModel(comparison)
    reference = _reference(comparison.model)
    unassisted = int(np.sum(~model.marked))
    rows: dict[float, dict] = {}
    se_zero = None
    z_zero = abs(comparison.coef / comparison.se) if comparison.se > 0 else 0.0
    beta, done = model.start.copy(), 0.0
    for s in sorted(set(shares)):
        if s == 0:  # the original fit, with its own interval (t or z, clustered or not)
            lo, hi = comparison.ci
            rows[s] = _result(
                s, comparison.estimate, lo, hi, comparison.p_value, 0.0, comparison.se, comparison
            )
            continue
        if se_zero is None:  # this computation at s = 0, for the ratio
            at_zero = model.solve(0.0, model.start.copy())
            if at_zero is None:
                raise ModelError("the sensitivity analysis could not refit the comparison's model")
            se_zero = at_zero[1]
        start = beta.copy()
        start[model.j] *= (1 - done) / (1 - s)  # warm start from the previous share, rescaled
        found = model.solve(s, start)
        if found is None:
            warnings.warn(
                f"sensitivity({comparison.outcome!r}): unlabeled_share={s:g} is not "
                "compatible with the data: no finite effect gives that many hidden AI-assisted "
                "rows among the unassisted ones (the fit runs to an infinite effect); its row "
                "is left empty",
                StatsWarning,
                stacklevel=3,
            )
            rows[s] = _result(s, np.nan, np.nan, np.nan, np.nan, s * unassisted, np.nan, comparison)
            continue
        beta, se_s = found
        done = s
        coef = float(beta[model.j])
        se = comparison.se * se_s / se_zero
        if z_zero > 0:  # never further from no difference, in standard errors, than at s = 0
            se = max(se, abs(coef) / z_zero)
        rows[s] = _row(s, coef, se, s * unassisted, reference, comparison)
    out = pd.DataFrame([rows[s] for s in shares])
    out.attrs["method"] = METHOD
    return out


def _reference(res):
    """The distribution behind the comparison's interval: t(df) when statsmodels used it."""
    if getattr(res, "use_t", False):
        return sps.t(getattr(res, "df_resid_inference", None) or res.df_resid)
    return sps.norm


def _row(s, coef, se, moved, reference, comparison) -> dict:
    crit = float(reference.ppf(0.975))
    low, high = coef - crit * se, coef + crit * se
    p = float(2 * reference.sf(abs(coef / se))) if se > 0 else np.nan
    if comparison.is_ratio:
        coef, low, high = np.exp(coef), np.exp(low), np.exp(high)
    return _result(s, coef, low, high, p, moved, se, comparison)


def _result(s, estimate, low, high, p, moved, se, comparison) -> dict:
    if comparison.is_ratio:
        width = float(np.log(high) - np.log(low)) if low > 0 else np.nan
    else:
        width = float(high - low)
    return {
        "unlabeled_share": s,
        "estimate": float(estimate),
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": float(p),
        "reclassified": float(moved),
        "scale": comparison.scale,
        "se": float(se),
        "width": width,
    }


class _Model:
    """The comparison's design with the treatment column set to 1 and to 0 for every row,
    and the maximisation shared by both forms (Newton or Fisher scoring, step halving)."""

    def __init__(self, comparison):
        res, data, fitter = comparison.model, comparison._data, comparison._fitter
        self.kind = fitter.kind
        X = np.array(res.model.exog, dtype=float)
        self.j = list(res.model.exog_names).index("t")
        self.X1, self.X0 = X.copy(), X.copy()
        self.X1[:, self.j], self.X0[:, self.j] = 1.0, 0.0
        self.marked = data["t"].to_numpy() == 1
        self.start = np.asarray(res.params, dtype=float)[: X.shape[1]].copy()
        self.y = np.asarray(res.model.endog, dtype=float)  # log1p(y) for log-ols; durations
        self.w = data["w"].to_numpy(dtype=float) if fitter.weighted else np.ones(len(X))
        self.groups = data["g"].to_numpy() if fitter.cluster else None
        self.robust = fitter.cluster or fitter.weighted
        self.log_scale = comparison.is_ratio
        self.limit = max(DIVERGED, 2 * abs(self.start[self.j]) + 5)  # beyond: diverging

    def state(self, beta, s, previous=None) -> dict:  # objective and what derives from it
        raise NotImplementedError

    def derivatives(self, st) -> tuple[np.ndarray, np.ndarray]:
        """Per-row score contributions (n x p) and the information matrix (p x p)."""
        raise NotImplementedError

    def nuisance(self, beta, s) -> None:
        """Update what is not in *beta* (variance, baseline hazard) at *beta*."""

    def scale(self, st) -> float:
        return 1.0

    def se(self, st) -> float:
        rows, info = self.derivatives(st)
        bread = np.linalg.pinv(info)
        if self.robust:
            if self.groups is not None:
                rows = pd.DataFrame(rows).groupby(self.groups).sum().to_numpy()
            cov = bread @ (rows.T @ rows) @ bread
        else:
            cov = bread * self.scale(st)
        return float(np.sqrt(max(cov[self.j, self.j], 0.0)))

    def solve(self, s: float, beta):
        """``(coefficients, standard error)`` at share *s*, or None when the fit runs to an
        infinite effect (or does not converge)."""
        beta = np.asarray(beta, dtype=float).copy()
        self.nuisance(beta, s)
        st = self.state(beta, s)
        for _ in range(MAX_ITER):
            rows, info = self.derivatives(st)
            step = _solve(info, rows.sum(axis=0))
            lam, q = 1.0, st["q"]
            while True:
                trial = beta + lam * step
                new = self.state(trial, s, previous=st)
                if np.isfinite(new["q"]) and new["q"] >= q - 1e-10 * (1 + abs(q)):
                    break
                lam /= 2
                if lam < 1e-10:
                    trial = beta
                    break
            moved = float(np.max(np.abs(trial - beta)))
            beta = trial
            if not np.all(np.isfinite(beta)) or (self.log_scale and abs(beta[self.j]) > self.limit):
                return None
            self.nuisance(beta, s)
            st = self.state(beta, s)
            if moved < 1e-10 or (moved < 1e-8 and abs(st["q"] - q) < 1e-13 * (1 + abs(q))):
                return beta, self.se(st)
        return None


class _MeanModel(_Model):
    """GLM and linear models: the observed outcome's mean is ``a * mu1 + b * mu0``, with
    ``a = 1, b = 0`` for marked rows and ``a = s, b = 1 - s`` for unassisted ones; fitted by
    Fisher scoring on the family's log-likelihood at that mean."""

    def __init__(self, comparison):
        super().__init__(comparison)
        if self.kind == "negbin":  # NB2 dispersion held at the comparison's estimate
            self.size = 1.0 / max(float(np.asarray(comparison.model.params)[-1]), 1e-8)

    def state(self, beta, s, previous=None) -> dict:
        a = np.where(self.marked, 1.0, s)
        mu1, d1 = self._mean(self.X1 @ beta)
        mu0, d0 = self._mean(self.X0 @ beta)
        p = a * mu1 + (1 - a) * mu0
        if self.kind == "logit":
            p = np.clip(p, 1e-12, 1 - 1e-12)
        ll, var = self._family(p)
        return {"a": a, "d": (d1, d0), "p": p, "var": var, "q": float(np.sum(self.w * ll))}

    def _mean(self, eta):
        """Mean and its derivative with respect to the linear predictor."""
        if self.kind == "logit":
            mu = expit(eta)
            return mu, mu * (1 - mu)
        if self.kind in ("poisson", "negbin"):
            mu = np.exp(np.minimum(eta, 700))
            return mu, mu
        return eta, np.ones_like(eta)  # ols, log-ols

    def _family(self, p):
        """Log-likelihood (up to terms free of the mean) and variance function at mean p."""
        y = self.y
        if self.kind == "logit":
            return y * np.log(p) + (1 - y) * np.log1p(-p), p * (1 - p)
        if self.kind == "poisson":
            return xlogy(y, p) - p, p
        if self.kind == "negbin":
            r = self.size
            return xlogy(y, p) - (y + r) * np.log(r + p), p + p**2 / r
        return -0.5 * (y - p) ** 2, np.ones_like(p)

    def derivatives(self, st):
        a, (d1, d0) = st["a"], st["d"]
        D = self.X1 * (a * d1)[:, None] + self.X0 * ((1 - a) * d0)[:, None]
        rows = D * (self.w * (self.y - st["p"]) / st["var"])[:, None]
        info = (D * (self.w / st["var"])[:, None]).T @ D
        return rows, info

    def scale(self, st) -> float:
        if self.kind in ("ols", "log-ols"):
            return float(np.sum(self.w * (self.y - st["p"]) ** 2) / len(self.y))
        return 1.0


class _CoxMixture(_Model):
    """Cox model: an unassisted row's likelihood is ``s * L1 + (1 - s) * L0`` with the
    Breslow baseline; Newton steps with the observed information (Louis 1982: that of the
    completed data less what is missing about the treatment), scores centred by the
    risk-set means as in the partial likelihood, and EM steps for the baseline."""

    def __init__(self, comparison):
        super().__init__(comparison)
        self.event = comparison._data["event"].to_numpy(dtype=float)
        order = np.argsort(-self.y, kind="stable")  # longest first: cumulative = risk set
        self.order = order
        self.utimes, self.d = np.unique(self.y[self.event == 1], return_counts=True)
        # rows at risk at event time u (T_j >= u) are the first at_risk rows of `order`
        self.at_risk = np.searchsorted(-self.y[order], -self.utimes, side="right")
        self.upto = np.searchsorted(self.utimes, self.y, side="right")  # events at u <= T_j
        self.own = np.clip(np.searchsorted(self.utimes, self.y), 0, len(self.utimes) - 1)
        eta = self.X1 @ self.start
        self._breslow(eta, eta - self.start[self.j], self.marked.astype(float))

    def _breslow(self, e1, e0, pi):
        """Breslow baseline from the fractional risk set (rows weighted by pi and 1 - pi),
        and the risk-set means the partial-likelihood scores are centred by."""
        r1, r0 = pi * np.exp(e1), (1 - pi) * np.exp(e0)
        S0 = np.cumsum((r1 + r0)[self.order])[self.at_risk - 1]
        S1 = np.cumsum((self.X1 * r1[:, None] + self.X0 * r0[:, None])[self.order], axis=0)
        self.dH = self.d / S0
        self.xbar = S1[self.at_risk - 1] / S0[:, None]
        H = np.concatenate([[0.0], np.cumsum(self.dH)])
        C = np.vstack([np.zeros(self.X1.shape[1]), np.cumsum(self.dH[:, None] * self.xbar, 0)])
        self.H0_row, self.C_row = H[self.upto], C[self.upto]
        self.xbar_row = self.xbar[self.own]  # risk-set mean at the row's own time (events)

    def state(self, beta, s, previous=None) -> dict:
        """At *beta*; with *previous*, the baseline is first re-estimated at *beta* with the
        previous posterior, so that a trial step is judged with the baseline it implies."""
        e1, e0 = self.X1 @ beta, self.X0 @ beta
        if previous is not None:
            self._breslow(e1, e0, previous["pi"])
        with np.errstate(divide="ignore", over="ignore"):
            prior = np.where(self.marked, 1.0, s)
            l1 = self.event * e1 - self.H0_row * np.exp(e1)
            l0 = self.event * e0 - self.H0_row * np.exp(e0)
            a1, a0 = np.log(prior) + l1, np.log1p(-prior) + l0
        ll = np.logaddexp(a1, a0)
        pi = np.exp(a1 - ll)
        q = float(np.sum(ll) + np.sum(self.d * np.log(self.dH)))
        return {"eta": (e1, e0), "pi": pi, "q": q}

    def nuisance(self, beta, s) -> None:
        for _ in range(2):
            st = self.state(beta, s)
            e1, e0 = st["eta"]
            self._breslow(e1, e0, st["pi"])

    def derivatives(self, st):
        (e1, e0), pi = st["eta"], st["pi"]
        x1, x0 = np.exp(e1), np.exp(e0)
        centre, C = self.event[:, None] * self.xbar_row, self.C_row
        psi1 = self.X1 * (self.event - self.H0_row * x1)[:, None] - centre + x1[:, None] * C
        psi0 = self.X0 * (self.event - self.H0_row * x0)[:, None] - centre + x0[:, None] * C
        rows = pi[:, None] * psi1 + (1 - pi)[:, None] * psi0
        info = (self.X1 * (pi * self.H0_row * x1)[:, None]).T @ self.X1
        info += (self.X0 * ((1 - pi) * self.H0_row * x0)[:, None]).T @ self.X0
        info -= (self.xbar * self.d[:, None]).T @ self.xbar  # the baseline, profiled out
        diff = psi1 - psi0
        missing = (diff * (pi * (1 - pi))[:, None]).T @ diff
        observed = info - missing
        try:  # Newton with the observed information while it is positive definite
            np.linalg.cholesky(observed)
            return rows, observed
        except np.linalg.LinAlgError:  # else the completed data's (an EM-gradient step)
            return rows, info


def _solve(info, grad):
    try:
        return np.linalg.solve(info, grad)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(info, grad, rcond=None)[0]
