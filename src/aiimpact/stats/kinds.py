"""Which model suits an outcome, how a duration outcome is censored, and which values no
model can take (text, all missing, infinite).

``model="auto"`` picks by the outcome's name when aiimpact made the column (so
``time_to_merge`` is known to be a censored duration, ``review_rounds`` a count), else by
its values: two values -> logistic; non-negative integers -> count; other non-negative
skewed values -> OLS on ``log1p``; anything else -> OLS.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aiimpact.errors import InputError

MODELS = ("logit", "count", "poisson", "negbin", "cox", "log-ols", "ols")

BINARY = {
    "reverted",
    "reverted_within_30d",
    "partially_reverted",
    "fix_inducing",
    "is_fix",
    "merged",
    "is_open",
    "ai_assisted",
}
COUNTS = {"n_fixes_induced", "review_rounds", "reviews", "comments", "files_changed"}
# pandas.api.types.infer_dtype answers a model can take (numbers and booleans)
NUMERIC = {"boolean", "integer", "floating", "mixed-integer-float", "decimal", "empty"}
# duration -> (event flag, or the time column whose presence is the event; clock start)
DURATIONS = {
    "time_to_revert": ("reverted", None),
    "days_to_first_fix": ("fix_inducing", None),
    "time_to_merge": ("merged_at", "created_at"),
    "time_to_close": ("closed_at", "created_at"),
    "review_time_to_merge": ("merged_at", "ready_at"),
    "review_time_to_close": ("closed_at", "ready_at"),
    "time_to_first_review": ("first_review_at", "ready_at"),
}


def infer_model(name: str, values: pd.Series) -> str:
    """The model ``model="auto"`` uses for outcome *name* with *values*.

    Examples
    --------
    >>> import pandas as pd
    >>> infer_model("time_to_merge", pd.Series([1.0, 2.0]))
    'cox'
    >>> infer_model("anything", pd.Series([0, 1, 1]))
    'logit'
    """
    if name in DURATIONS:
        return "cox"
    if name in BINARY:
        return "logit"
    if name in COUNTS:
        return "count"
    v = pd.to_numeric(values.dropna().astype("float64"), errors="coerce").dropna()
    if v.empty:
        raise InputError(f"outcome {name!r} has no numeric values to model")
    if set(np.unique(v)) <= {0.0, 1.0}:
        return "logit"
    if (v >= 0).all() and np.allclose(v, np.round(v)):
        return "count"
    if (v >= 0).all() and v.skew() > 1:
        return "log-ols"
    return "ols"


def survival(table: pd.DataFrame, outcome: str) -> tuple[pd.Series, pd.Series]:
    """``(duration, event)`` of a duration outcome, censored where the event is unseen.

    Commit outcomes (``time_to_revert`` in hours, ``days_to_first_fix`` in days) are
    censored at the age of the commit relative to the newest commit in the table. PR
    outcomes are censored at closing, else at ``observed_at`` (when the PR was fetched),
    measured from where the duration starts (``created_at`` for ``time_to_merge`` and
    ``time_to_close``, ``ready_at`` for the ``review_time_to_*`` and
    ``time_to_first_review``). A user-made duration needs ``<outcome>_event`` (bool) beside
    it; rows without a duration are then dropped.

    Examples
    --------
    >>> duration, event = survival(prs, "time_to_merge")  # doctest: +SKIP
    """
    values = pd.to_numeric(table[outcome], errors="coerce").astype("float64")
    flag_col = f"{outcome}_event"
    if outcome not in DURATIONS:
        if flag_col not in table:
            raise InputError(
                f"outcome {outcome!r} as a duration needs a boolean column {flag_col!r} "
                "(True where the event was observed) to know which rows are censored"
            )
        return values, table[flag_col].astype("boolean").fillna(False).astype(bool)
    marker, start = DURATIONS[outcome]
    if marker not in table:
        raise InputError(
            f"outcome {outcome!r} needs column {marker!r} to tell events from censored rows"
        )
    if start is None:  # commit outcomes: censored at the commit's age
        event = table[marker].astype("boolean").fillna(False).astype(bool)
        if "commit_time" not in table:
            raise InputError(f"outcome {outcome!r} needs commit_time to censor unseen events")
        age = (table["commit_time"].max() - table["commit_time"]).dt.total_seconds()
        age = age / (86400 if outcome.startswith("days") else 3600)
        return values.where(event, age), event
    event = table[marker].notna()
    end = table["closed_at"] if marker != "closed_at" else pd.Series(pd.NaT, index=table.index)
    if "observed_at" in table:
        end = end.fillna(table["observed_at"])
    censored_at = (end - table[start]).dt.total_seconds() / 3600
    return values.where(event, censored_at), event


def require_numeric(table: pd.DataFrame, name: str, what: str) -> None:
    """Refuse column *name* (the *what*: outcome, control) unless its values are numbers or
    booleans: text, categories or timestamps get an :class:`InputError` that says which.

    Examples
    --------
    >>> require_numeric(pd.DataFrame({"y": ["a", "b"]}), "y", "outcome")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    aiimpact.errors.InputError: outcome 'y' is text (e.g. 'a'), not numeric or boolean: ...
    """
    col = table[name]
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        return
    found = pd.api.types.infer_dtype(col, skipna=True)
    if found in NUMERIC:
        return
    example = col.dropna().iloc[0]
    words = {"string": "text", "categorical": "categorical"}.get(found, f"{found} values")
    raise InputError(
        f"{what} {name!r} is {words} (e.g. {example!r}), not numeric or boolean: convert it "
        "to numbers (or True/False)"
    )


def check_values(data: pd.DataFrame, names: dict[str, str]) -> dict[str, int]:
    """Refuse a column of *data* missing in every row or holding infinite values, naming it
    by *names* (column -> words, e.g. ``"control 'size'"``); return the number of missing
    values of each column that has some (the caller leaves those rows out).

    Examples
    --------
    >>> check_values(pd.DataFrame({"x0": [1.0, None]}), {"x0": "control 'size'"})
    {'x0': 1}
    """
    missing = {}
    for col in data.columns:
        values = data[col]
        if len(values) and values.isna().all():
            raise InputError(f"{names[col]} is missing in every row: there is nothing to model")
        if pd.api.types.is_numeric_dtype(values):
            inf = int(np.isinf(values.dropna().to_numpy(dtype=float)).sum())
            if inf:
                raise InputError(
                    f"{names[col]} has {inf} infinite values (inf or -inf): replace them, "
                    "e.g. with NaN to leave those rows out"
                )
        if values.isna().any():
            missing[col] = int(values.isna().sum())
    return missing
