"""Fit one outcome model on prepared data, and score rows under it.

The data frame has fixed, safe column names: ``y`` (outcome), ``t`` (treatment, 0/1),
``dur``/``event`` (durations), ``x0, x1, ...`` (controls), ``g`` (cluster codes) and ``w``
(weights). Keeping names out of formulas means any column name works.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats as sps
from scipy.special import expit
from statsmodels.duration.hazard_regression import PHReg

from aiimpact.errors import InputError


class ModelError(InputError):
    """The data cannot support the requested model; the message says why in words."""


class _PHReg(PHReg):
    """statsmodels' Cox model, with the score residual of a row censored before the first
    event set to its true value, 0 (statsmodels 0.15 gives NaN, which turns every
    cluster-robust standard error into NaN)."""

    def score_residuals(self, params):
        return np.nan_to_num(super().score_residuals(params))


@dataclass
class Fitter:
    """A model family, its right-hand side, and how its errors are computed."""

    kind: str  # logit, poisson, negbin, cox, log-ols, ols
    rhs: list[str]
    cluster: bool
    weighted: bool
    notes: list[str] = field(default_factory=list)

    @property
    def formula(self) -> str:
        left = "dur" if self.kind == "cox" else ("np.log1p(y)" if self.kind == "log-ols" else "y")
        return f"{left} ~ " + " + ".join(["t", *self.rhs])

    def _cov(self, data: pd.DataFrame) -> dict:
        if self.cluster:
            return {"cov_type": "cluster", "cov_kwds": {"groups": data["g"].to_numpy()}}
        if self.weighted:
            return {"cov_type": "HC0"}
        return {}

    def fit(self, data: pd.DataFrame):
        """Fit and return ``(results, coef of t, standard error of t)``."""
        return self._checked(lambda: self._estimate(*self._design(data), data))

    def refit(self, base, data: pd.DataFrame):
        """Fit *base*'s model again with ``t`` (and ``w``) from *data*, reusing its design
        matrix instead of the formula (the sensitivity analysis refits many times)."""
        exog = pd.DataFrame(
            np.array(base.model.exog, dtype=float), columns=list(base.model.exog_names)
        )
        exog["t"] = data["t"].to_numpy()
        endog = np.asarray(base.model.endog, dtype=float)
        return self._checked(lambda: self._estimate(endog, exog, data))

    def _design(self, data: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """The outcome and the named design matrix of :attr:`formula` on *data*."""
        model = smf.ols(self.formula, data)  # builds the matrices; nothing is fitted here
        exog = pd.DataFrame(model.exog, columns=model.exog_names)
        if self.kind == "cox":  # the baseline hazard takes the place of an intercept
            exog = exog.drop(columns="Intercept")
        return np.asarray(model.endog, dtype=float), exog

    def _estimate(self, endog: np.ndarray, exog: pd.DataFrame, data: pd.DataFrame):
        w = data["w"].to_numpy() if self.weighted else None
        cov = self._cov(data)
        if self.kind in ("logit", "poisson"):
            family = sm.families.Binomial() if self.kind == "logit" else sm.families.Poisson()
            return sm.GLM(endog, exog, family=family, var_weights=w).fit(**cov)
        if self.kind == "negbin":
            return sm.NegativeBinomial(endog, exog).fit(disp=0, maxiter=300, **cov)
        if self.kind == "cox":
            groups = data["g"].to_numpy() if self.cluster else None
            return _PHReg(endog, exog, status=data["event"].to_numpy()).fit(groups=groups)
        if self.kind in ("ols", "log-ols"):
            model = sm.WLS(endog, exog, weights=w) if w is not None else sm.OLS(endog, exog)
            return model.fit(**cov)
        raise InputError(f"model {self.kind!r} is not one of logit, count, cox, log-ols, ols")

    def _checked(self, fit):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res = fit()
            except (np.linalg.LinAlgError, ValueError) as exc:
                raise ModelError(f"the {self.kind} model could not be fitted: {exc}") from None
        for w in caught:
            name = type(w.message).__name__
            if "PerfectSeparation" in name:
                raise ModelError(
                    "the outcome is perfectly predicted by the treatment or the controls "
                    "(separation): the odds ratio is not estimable; drop the control that "
                    "separates, or compare rates"
                )
            if "Convergence" in name or "HessianInversion" in name:
                self.notes.append(f"the fit did not converge cleanly ({w.message})")
        coef, se = float(of_t(res, "params")), float(of_t(res, "bse"))
        if not np.isfinite(coef) or not np.isfinite(se):
            raise ModelError("the model gave no finite estimate for the treatment")
        return res, coef, se

    # -- for the sensitivity analysis -----------------------------------------------------
    def loglik_rows(self, res, data: pd.DataFrame, treated: int) -> np.ndarray:
        """Log-likelihood of each row's outcome under *res* with ``t`` set to *treated*."""
        exog = np.array(res.model.exog, dtype=float)
        exog[:, list(res.model.exog_names).index("t")] = treated
        eta = exog @ np.asarray(res.params, dtype=float)[: exog.shape[1]]
        if self.kind == "cox":
            times, cumhaz = _baseline(res)
            h0 = np.interp(data["dur"].to_numpy(), times, cumhaz, left=0.0)
            return data["event"].to_numpy() * eta - h0 * np.exp(eta)
        y = data["y"].to_numpy(dtype=float)
        if self.kind == "logit":
            mu = np.clip(expit(eta), 1e-12, 1 - 1e-12)
            return y * np.log(mu) + (1 - y) * np.log1p(-mu)
        if self.kind == "poisson":
            return sps.poisson.logpmf(y, np.exp(eta))
        if self.kind == "negbin":
            size = 1.0 / float(np.asarray(res.params)[-1])  # alpha comes last
            mu = np.exp(eta)
            return sps.nbinom.logpmf(y, size, size / (size + mu))
        target = np.log1p(y) if self.kind == "log-ols" else y
        return sps.norm.logpdf(target, eta, np.sqrt(res.scale))


def of_t(res, attr: str):
    """The treatment's entry of a results attribute (PHReg returns unnamed arrays)."""
    values = getattr(res, attr)
    if attr == "conf_int":
        values = values()
    if hasattr(values, "index"):
        return values.loc["t"]
    return np.asarray(values)[list(res.model.exog_names).index("t")]


def _baseline(res) -> tuple[np.ndarray, np.ndarray]:
    times, cumhaz, _ = res.baseline_cumulative_hazard[0]
    return np.asarray(times, dtype=float), np.asarray(cumhaz, dtype=float)


def overdispersed(res, data: pd.DataFrame) -> tuple[bool, float]:
    """Cameron and Trivedi's (1990) test of a Poisson fit: regress ((y-mu)^2-y)/mu on mu.

    Returns ``(overdispersed at 5%, one-sided p-value)``.
    """
    y = data["y"].to_numpy(dtype=float)
    mu = np.asarray(res.fittedvalues, dtype=float)
    aux = ((y - mu) ** 2 - y) / mu
    ols = sm.OLS(aux, mu).fit()
    t_stat = float(ols.tvalues[0])
    p = float(sps.t.sf(t_stat, df=ols.df_resid))
    return p < 0.05, p
