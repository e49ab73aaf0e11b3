"""How the comparison changes if some "unassisted" changes were in fact AI-assisted.

Detection sees only AI use that left a mark (a trailer, a bot author, a note), so the
unassisted group is contaminated by unmarked AI use, which pulls every estimate toward no
difference. For an assumed share ``s`` of hidden AI use among the unassisted rows, this is
a record-level probabilistic bias analysis (Fox, MacLehose and Lash, *Applying Quantitative
Bias Analysis to Epidemiologic Data*, 2nd ed., 2021, ch. 6), with reclassification
probabilities that depend on each row's outcome and controls:

1. each unassisted row is AI-assisted with probability
   ``s * L1 / (s * L1 + (1 - s) * L0)``, where ``L1`` and ``L0`` are the likelihoods of
   its observed outcome under the current model with the treatment set to 1 and to 0;
2. a true treatment is drawn for each such row, the same model is refitted, and steps 1-2
   repeat (a stochastic EM: the first ``burn_in`` rounds are discarded);
3. the next ``draws`` rounds are combined with Rubin's rules, so the interval carries both
   the sampling error and the uncertainty of who was misclassified.

Assumptions: marked changes are truly AI-assisted (no false positives: the signatures are
specific), and hidden AI use has the same outcome distribution, given the controls, as
marked AI use (detection is non-differential). If hidden use were better or worse than
marked use, the truth lies further out in that direction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.special import expit

from aiimpact.errors import InputError
from aiimpact.stats.weights import propensity_weights


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
    draws, burn_in : int
        Imputation rounds kept and discarded per share.
    seed : int
        Seed of the random draws (the result is reproducible).

    Returns
    -------
    DataFrame
        One row per share: ``unlabeled_share, estimate, ci_low, ci_high, p_value,
        reclassified`` (mean rows moved to the treated group) and ``scale``; ``attrs
        ["method"]`` names the method.

    Examples
    --------
    >>> r = ai.compare(t, "reverted", controls=["log_size"])  # doctest: +SKIP
    >>> r.sensitivity([0, 0.1, 0.2, 0.4])  # doctest: +SKIP
    """
    shares = [float(s) for s in np.atleast_1d(unlabeled_share)]
    if any(not 0 <= s < 1 for s in shares):
        raise InputError("unlabeled_share values must be at least 0 and below 1")
    if draws < 2:
        raise InputError("draws must be at least 2 (Rubin's rules need a between-draw variance)")
    rng = np.random.default_rng(seed)
    rows = []
    for s in shares:
        if s == 0:  # the original fit, with its own interval (t or z, clustered or not)
            rows.append(_result(s, comparison.estimate, *comparison.ci, comparison.p_value,
                                0.0, comparison))  # fmt: skip
            continue
        rows.append(_impute(comparison, s, draws, burn_in, rng))
    out = pd.DataFrame(rows)
    out.attrs["method"] = (
        "record-level probabilistic bias analysis of treatment misclassification "
        f"(stochastic EM, {burn_in} rounds discarded, {draws} imputations, Rubin's rules)"
    )
    return out


def _impute(comparison, s: float, draws: int, burn_in: int, rng) -> dict:
    fitter, data = comparison._fitter, comparison._data
    candidates = (data["t"] == 0).to_numpy()
    prior = np.log(s) - np.log1p(-s)
    current = comparison.model
    coefs, variances, moved = [], [], []
    for round_ in range(burn_in + draws):
        logit = prior + fitter.loglik_rows(current, data, 1) - fitter.loglik_rows(current, data, 0)
        hidden = candidates & (rng.random(len(data)) < expit(logit))
        imputed = data.assign(t=np.where(hidden, 1.0, data["t"].to_numpy()))
        if comparison.weights:
            rhs = fitter.rhs
            imputed["w"], _ = propensity_weights(imputed, rhs, comparison.weights)
        current, coef, se = fitter.refit(comparison.model, imputed)
        if round_ >= burn_in:
            coefs.append(coef)
            variances.append(se**2)
            moved.append(int(hidden.sum()))
    m = len(coefs)
    qbar, within = float(np.mean(coefs)), float(np.mean(variances))
    between = float(np.var(coefs, ddof=1))
    total = within + (1 + 1 / m) * between
    r = (1 + 1 / m) * between / within if within > 0 else np.inf
    df = (m - 1) * (1 + 1 / r) ** 2 if r > 0 else np.inf
    return _row(s, qbar, total, float(np.mean(moved)), df, comparison)


def _row(s, coef, variance, moved, df, comparison) -> dict:
    se = float(np.sqrt(variance))
    crit = sps.t.ppf(0.975, df) if np.isfinite(df) else sps.norm.ppf(0.975)
    low, high = coef - crit * se, coef + crit * se
    dist = sps.t(df) if np.isfinite(df) else sps.norm
    p = float(2 * dist.sf(abs(coef / se))) if se > 0 else np.nan
    if comparison.is_ratio:
        coef, low, high = np.exp(coef), np.exp(low), np.exp(high)
    return _result(s, coef, low, high, p, moved, comparison)


def _result(s, estimate, low, high, p, moved, comparison) -> dict:
    return {"unlabeled_share": s, "estimate": float(estimate), "ci_low": float(low),
            "ci_high": float(high), "p_value": p, "reclassified": moved,
            "scale": comparison.scale}  # fmt: skip
