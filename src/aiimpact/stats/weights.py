"""Propensity-score weights and the covariate balance they achieve.

The propensity score is the probability of treatment given the controls, from a logistic
regression on the same terms as the outcome model. Weights: ``ipw`` (inverse probability,
the effect in the whole population), ``att`` (the effect among the treated) and ``overlap``
(Li, Morgan and Zaslavsky 2018: rows weighted by the probability of the *other* group,
bounded, and exactly balancing the controls' means under a logistic score). Balance is the
standardised mean difference of each control term, before and after weighting; below 0.1
is the usual threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

EXTREME = 0.01  # scores below this or above 1 - this signal poor overlap


def propensity_weights(data: pd.DataFrame, rhs: list[str], kind: str) -> tuple[np.ndarray, str]:
    """``(weights, overlap warning or "")`` for *kind* in ``ipw``, ``att``, ``overlap``."""
    model = smf.glm("t ~ " + " + ".join(rhs), data, family=sm.families.Binomial())
    e = np.clip(np.asarray(model.fit().fittedvalues, dtype=float), 1e-6, 1 - 1e-6)
    t = data["t"].to_numpy()
    if kind == "ipw":
        w = t / e + (1 - t) / (1 - e)
    elif kind == "att":
        w = t + (1 - t) * e / (1 - e)
    else:
        w = t * (1 - e) + (1 - t) * e
    extreme = float(np.mean((e < EXTREME) | (e > 1 - EXTREME)))
    warning = ""
    if extreme > 0.01 and kind != "overlap":
        warning = (
            f"poor overlap: {extreme:.1%} of rows have a propensity score below {EXTREME} or "
            f"above {1 - EXTREME}; their weights dominate (consider weights='overlap')"
        )
    return w / w.mean(), warning


def balance_table(data: pd.DataFrame, labels: dict[str, str], limit: int = 30) -> pd.DataFrame:
    """Standardised mean differences of each control term before and after weighting.

    Categorical controls are expanded to one row per level. The *limit* terms with the
    largest imbalance before weighting are kept.
    """
    rows = []
    t = data["t"].to_numpy() == 1
    w = data["w"].to_numpy()
    for key, name in labels.items():
        col = data[key]
        if col.dtype == object or isinstance(col.dtype, pd.StringDtype):
            parts = {f"{name}={v}": (col == v).astype(float) for v in pd.unique(col)}
        else:
            parts = {name: col.astype(float)}
        for term, x in parts.items():
            x = x.to_numpy()
            pooled = np.sqrt((x[t].var() + x[~t].var()) / 2) or 1.0
            before = (x[t].mean() - x[~t].mean()) / pooled
            after = (np.average(x[t], weights=w[t]) - np.average(x[~t], weights=w[~t])) / pooled
            rows.append((term, before, after))
    out = pd.DataFrame(rows, columns=["term", "smd_before", "smd_after"])
    order = out["smd_before"].abs().sort_values(ascending=False).index[:limit]
    return out.loc[order].reset_index(drop=True)
