"""``ai.compare``: AI-assisted versus unassisted changes on one outcome, adjusted.

The steps are plain: pick the model from the outcome (:mod:`aiimpact.stats.kinds`), build
the controls (categorical fixed effects, log sizes, months), drop incomplete rows and say
how many, check that each group has enough rows and events, optionally weight by a
propensity score, fit with statsmodels, and return a :class:`~aiimpact.stats.results.Comparison`
holding the effect on an interpretable scale with its 95% CI, the test behind the p-value,
the raw group figures, and every warning in words.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from aiimpact.errors import AiimpactWarning, InputError
from aiimpact.stats.fitting import Fitter, ModelError, overdispersed
from aiimpact.stats.kinds import (
    DURATIONS,
    MODELS,
    check_values,
    infer_model,
    require_numeric,
    survival,
)
from aiimpact.stats.results import Comparison, group_summary
from aiimpact.stats.weights import balance_table, propensity_weights

MIN_GROUP = 2
MIN_EVENTS = 10
MIN_CLUSTERS = 10
TIME_COLUMNS = ("commit_time", "author_time", "created_at")
SCALES = {
    "logit": "odds ratio",
    "poisson": "rate ratio",
    "negbin": "rate ratio",
    "cox": "hazard ratio",
    "log-ols": "ratio of geometric means of 1 + outcome",
    "ols": "difference in means",
}


class StatsWarning(AiimpactWarning):
    """The comparison ran, but its figures need a caveat (small groups, few clusters, ...)."""


def compare(
    table: pd.DataFrame,
    outcome: str,
    treatment: str = "ai_assisted",
    controls: Sequence[str] = (),
    cluster: str | None = None,
    model: str = "auto",
    weights: str | None = None,
) -> Comparison:
    """Compare *outcome* between treated (e.g. AI-assisted) and other rows, adjusted.

    Parameters
    ----------
    table : DataFrame
        One row per unit (commit, PR), e.g. ``repo.outcomes()`` or ``data.prs``.
    outcome : str
        Column to compare. Binary outcomes (``reverted``, ``fix_inducing``, ``merged``)
        get a logistic GLM (odds ratio); counts (``n_fixes_induced``, ``review_rounds``) a
        negative binomial model, or Poisson when a Cameron-Trivedi test finds no
        overdispersion (rate ratio); censored durations (``time_to_revert``,
        ``time_to_merge``, ``time_to_first_review``) a Cox model with right-censoring
        (hazard ratio: above 1 means the event comes sooner); other skewed non-negative
        values OLS on ``log1p`` (ratio of geometric means); the rest OLS (difference).
    treatment : str
        Boolean column; True is the treated group.
    controls : sequence of str
        Columns to adjust for. Text, category and boolean columns enter as fixed effects;
        numbers linearly. ``"month"`` (fixed effects of the calendar month) and
        ``"log_size"`` (``log1p`` of lines added + deleted) are derived when absent.
    cluster : str, optional
        Column whose values group dependent rows (``"author_email"``, ``"repo"``): standard
        errors are cluster-robust. Fewer than 10 clusters gives a warning.
    model : {"auto", "logit", "count", "poisson", "negbin", "cox", "log-ols", "ols"}
        Override the automatic choice.
    weights : {None, "ipw", "att", "overlap"}
        Weight rows by a propensity score of the treatment given the controls (inverse
        probability, treated-population, or overlap weights), fitted by logistic
        regression; the result carries a balance table. Errors are then robust (or
        clustered).

    Returns
    -------
    Comparison
        ``.estimate``, ``.ci``, ``.p_value``, ``.test``, ``.n``, ``.groups``, ``.model``,
        ``.table()``, ``.plot()``, ``.sensitivity()``.

    Raises
    ------
    InputError
        A missing column, a treatment without two groups, a group with fewer than two rows,
        or data that cannot support the model (separation, no events).

    Examples
    --------
    >>> t = ai.Repo("path/to/repo").outcomes()  # doctest: +SKIP
    >>> r = ai.compare(t, "reverted", controls=["log_size", "month"], cluster="author_email")
    >>> r.estimate, r.ci  # doctest: +SKIP
    (1.84, (1.21, 2.80))
    """
    if not isinstance(table, pd.DataFrame):
        if not hasattr(table, "to_pandas"):
            raise InputError(f"compare needs a pandas DataFrame, not {type(table).__name__}")
        table = _materialise(table, {outcome, treatment, cluster, *controls})
    _column(table, outcome, "outcome")
    check_design(table, treatment, controls, cluster)
    if model not in ("auto", *MODELS):
        raise InputError(f"model={model!r} is not one of auto, {', '.join(MODELS)}")
    if weights not in (None, "ipw", "att", "overlap"):
        raise InputError(f"weights={weights!r} is not one of None, 'ipw', 'att', 'overlap'")

    require_numeric(table, outcome, "outcome")
    kind = infer_model(outcome, table[outcome]) if model == "auto" else model
    data, rhs, labels, missing = _prepare(table, outcome, treatment, controls, cluster, kind)
    dropped = len(table) - len(data)
    found: list[str] = []
    notes: list[str] = []
    if dropped:
        why = ", ".join(f"{k} without {name}" for name, k in missing.items())
        notes.append(f"{dropped} rows with missing values were left out ({why})")

    _group_sizes(data, treatment, outcome)
    column = "dur" if kind == "cox" else "y"
    if data[column].nunique() < 2:
        raise InputError(
            f"outcome {outcome!r} has the same value ({data[column].iloc[0]:g}) in every "
            "row: there is nothing to compare"
        )
    if kind == "cox" and not data["event"].any():
        raise InputError(
            f"outcome {outcome!r}: no row had the event (all {len(data)} are censored): "
            "there is nothing to compare"
        )
    before = len(data)
    data = _drop_uninformative(data, rhs, labels, kind, notes)
    left_out = before - len(data)
    after = (
        (f" after leaving out {left_out} rows of fixed-effect levels whose outcome never varies")
        if left_out
        else ""
    )
    n = _group_sizes(data, treatment, outcome, after)
    events = _check_events(data, kind, outcome, found)
    n_clusters = None
    if cluster is not None:
        n_clusters = int(data["g"].nunique())
        if n_clusters < 2:
            raise InputError(f"cluster={cluster!r} has a single value: nothing to cluster")
        if n_clusters < MIN_CLUSTERS:
            found.append(
                f"only {n_clusters} clusters of {cluster!r}: cluster-robust errors are "
                "unreliable below about 10 (the interval is likely too narrow)"
            )
        else:
            found += _unequal_clusters(data["g"], cluster)

    balance = None
    if weights is not None:
        if not rhs:
            raise InputError("weights= needs controls: the propensity score is fitted on them")
        if kind in ("cox", "negbin"):
            raise InputError(
                f"weights={weights!r} is not available for the {kind} model in statsmodels; "
                "use model='count' (Poisson with robust errors) or a binary outcome"
            )
        data["w"], overlap = propensity_weights(data, rhs, weights)
        if overlap:
            found.append(overlap)
        balance = balance_table(data, labels)

    if kind == "count":
        kind = _count_model(data, rhs, cluster is not None, weights is not None, notes)
    fitter = Fitter(kind, rhs, cluster is not None, weights is not None)
    res, coef, se = fitter.fit(data)
    found += fitter.notes
    if kind == "cox":
        found += _ph_check(res)
    if kind == "logit" and abs(coef) > 10:
        found.append("the treatment coefficient is extreme (|log OR| > 10): quasi-separation")

    for message in found:
        warnings.warn(f"compare({outcome!r}): {message}", StatsWarning, stacklevel=2)
    return Comparison.build(
        outcome=outcome,
        treatment=treatment,
        kind=kind,
        scale=SCALES[kind],
        fitter=fitter,
        data=data,
        res=res,
        coef=coef,
        se=se,
        n=n,
        events=events,
        groups=group_summary(data, kind),
        controls=tuple(controls),
        cluster=cluster,
        n_clusters=n_clusters,
        weights=weights,
        balance=balance,
        warnings=found,
        notes=notes,
        dropped=dropped,
    )


def check_design(
    table: pd.DataFrame,
    treatment: str = "ai_assisted",
    controls: Sequence[str] = (),
    cluster: str | None = None,
) -> None:
    """Refuse a treatment, control or cluster that *table* cannot supply, before any fit.

    Parameters
    ----------
    table : DataFrame
        The table to be compared.
    treatment, controls, cluster
        As for :func:`compare`.

    Raises
    ------
    InputError
        Naming the unknown column and listing the table's columns.

    Examples
    --------
    >>> check_design(outcomes, controls=["log_size", "team"])  # doctest: +SKIP
    Traceback (most recent call last):
    InputError: control 'team' is not a column of the table (...); columns: repo, sha, ...
    """
    _column(table, treatment, "treatment")
    if cluster is not None:
        _column(table, cluster, "cluster")
    for name in controls:
        _control(table, name)


def raw_groups(
    table: pd.DataFrame, outcome: str, treatment: str = "ai_assisted", model: str = "auto"
) -> pd.DataFrame:
    """Raw (unadjusted) figures of *outcome* for each group that has rows, without a model.

    For tables where no comparison is possible (no AI-assisted rows, or nothing else), so
    that the outcomes can still be described. The figures are those of
    :func:`~aiimpact.stats.results.group_summary`, on the rows with the outcome.

    Examples
    --------
    >>> raw_groups(outcomes, "reverted")  # doctest: +SKIP
      group    n  events statistic  value    low   high
    0 control  120       3     share  0.025  0.008  0.071
    """
    _column(table, outcome, "outcome")
    check_design(table, treatment)
    require_numeric(table, outcome, "outcome")
    kind = infer_model(outcome, table[outcome]) if model == "auto" else model
    return group_summary(_prepare(table, outcome, treatment, (), None, kind)[0], kind)


def _column(table: pd.DataFrame, name: str, what: str) -> None:
    if name not in table.columns:
        raise InputError(
            f"{what} column {name!r} is not in the table; columns: {', '.join(map(str, table))}"
        )


def _materialise(source, names: set) -> pd.DataFrame:
    """Load from a lazy dataset (``ai.open_dataset``) only the columns the model can use."""
    if not hasattr(source, "columns_of"):
        return source.to_pandas()
    needed = (
        names
        | set(TIME_COLUMNS)
        | {
            "insertions",
            "deletions",
            "additions",
            "is_merge",
            "observed_at",
            "closed_at",
            "ready_at",
        }
    )
    for outcome in names:
        if outcome in DURATIONS:
            needed |= {m for m in DURATIONS[outcome] if m}
        needed.add(f"{outcome}_event")
    return source.to_pandas(columns=[c for c in source.columns_of() if c in needed])


def _prepare(table, outcome, treatment, controls, cluster, kind):
    """The modelling frame with safe column names, and the formula terms of the controls."""
    data = pd.DataFrame(index=table.index)
    t = table[treatment]
    if t.dropna().nunique() > 2 or not set(pd.unique(t.dropna())) <= {0, 1}:
        raise InputError(f"treatment column {treatment!r} must be boolean (or 0/1)")
    data["t"] = t.astype("Float64")
    if kind == "cox":
        dur, event = survival(table, outcome)
        data["dur"], data["event"] = dur, event.astype(int)
        data.loc[data["dur"] < 0, "dur"] = np.nan
    else:
        y = pd.to_numeric(table[outcome].astype("Float64"), errors="coerce")
        if kind == "logit" and not set(y.dropna().unique()) <= {0, 1}:
            raise InputError(f"outcome {outcome!r} is not binary: use model='auto' or 'ols'")
        if kind in ("log-ols", "count", "poisson", "negbin") and (y.dropna() < 0).any():
            raise InputError(f"outcome {outcome!r} has negative values: {kind} needs y >= 0")
        data["y"] = y
    rhs, labels = [], {}
    for i, name in enumerate(dict.fromkeys(controls)):
        col, categorical = _control(table, name)
        key = f"x{i}"
        data[key] = col
        term = f"C({key})" if categorical else key
        rhs.append(term)
        labels[key] = name
    if cluster is not None:
        data["g"] = pd.factorize(table[cluster].astype("string"), use_na_sentinel=True)[0]
        data.loc[data["g"] < 0, "g"] = np.nan
    names = {
        "t": f"treatment {treatment!r}",
        "y": f"outcome {outcome!r}",
        "dur": f"outcome {outcome!r}",
        "event": f"outcome {outcome!r}",
        "g": f"cluster {cluster!r}",
        **{key: f"control {name!r}" for key, name in labels.items()},
    }
    missing = check_values(data, names)
    data = data.dropna().reset_index(drop=True)
    if data.empty and not missing:
        raise InputError("the table has no rows: there is nothing to compare")
    if data.empty:
        raise InputError(
            f"no row has all of {', '.join(dict.fromkeys(names[c] for c in missing))} "
            "present: every row lacks at least one of them"
        )
    for col in data.columns:
        if col in ("t", "y", "dur") or (col.startswith("x") and f"C({col})" not in rhs):
            data[col] = data[col].astype(float)
    if "g" in data:
        data["g"] = data["g"].astype(int)
    return data, rhs, labels, {names[c]: k for c, k in missing.items()}


def _group_sizes(data: pd.DataFrame, treatment: str, outcome: str, after: str = "") -> dict:
    """Rows per group; fewer than :data:`MIN_GROUP` in either is refused."""
    n = {"treated": int((data["t"] == 1).sum()), "control": int((data["t"] == 0).sum())}
    if min(n.values()) < MIN_GROUP:
        raise InputError(
            f"{treatment!r} needs at least {MIN_GROUP} rows in each group to compare "
            f"{outcome!r}; found {n['treated']} treated and {n['control']} others{after}"
        )
    return n


def _drop_uninformative(data, rhs, labels, kind, notes) -> pd.DataFrame:
    """Leave out the rows of fixed-effect levels whose outcome never varies (no event at
    all, or only events): their fixed effect is infinite and they carry no information on
    the treatment, as Stata's ``logit`` and R's ``fixest`` also do. Repeated until stable."""
    if kind == "cox":
        flag = data["event"]
    elif kind in ("logit", "count", "poisson", "negbin"):
        flag = data["y"]
    else:
        return data
    keys = [term[2:-1] for term in rhs if term.startswith("C(")]
    gone: dict[str, list] = {key: [] for key in keys}  # levels left out, per fixed effect
    rows: dict[str, int] = dict.fromkeys(keys, 0)
    while keys:
        drop = pd.Series(False, index=data.index)
        for key in keys:
            by = flag.groupby(data[key])
            lo, hi = by.transform("min"), by.transform("max")
            dead = (lo == hi) if kind == "logit" else (hi == 0)
            gone[key] += list(pd.unique(data.loc[dead, key]))
            rows[key] += int(dead.sum())
            drop |= dead
        if not drop.any():
            break
        data = data[~drop].reset_index(drop=True)
        flag = flag[~drop].reset_index(drop=True)
    for key, levels in gone.items():  # one line per fixed effect, however many levels
        if levels:
            shown = ", ".join(str(v) for v in levels[:3]) + (", ..." if len(levels) > 3 else "")
            notes.append(
                f"{rows[key]} rows in {len(levels)} level(s) of {labels[key]} left "
                f"out ({shown}): the outcome never varies within them, so they "
                "carry no information"
            )
    return data


def _control(table: pd.DataFrame, name: str) -> tuple[pd.Series, bool]:
    if name in table.columns:
        col = table[name]
        if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(col):
            return col.dt.strftime("%Y-%m"), True
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            return col.astype("string"), True
        return pd.to_numeric(col, errors="coerce").astype("Float64"), False
    if name == "month":
        for c in TIME_COLUMNS:
            if c in table.columns:
                return table[c].dt.strftime("%Y-%m"), True
    if name == "log_size":
        for a, d in (("insertions", "deletions"), ("additions", "deletions")):
            if a in table.columns and d in table.columns:
                size = table[a].astype("Float64") + table[d].astype("Float64")
                return np.log1p(size.astype(float)), False
    raise InputError(
        f"control {name!r} is not a column of the table (derived controls: 'month' needs "
        f"one of {', '.join(TIME_COLUMNS)}; 'log_size' needs insertions/additions and "
        f"deletions); columns: {', '.join(map(str, table))}"
    )


def _check_events(data: pd.DataFrame, kind: str, outcome: str, found: list[str]) -> dict | None:
    if kind not in ("logit", "cox"):
        return None
    flag = data["y"] if kind == "logit" else data["event"]
    events = {
        "treated": int(flag[data["t"] == 1].sum()),
        "control": int(flag[data["t"] == 0].sum()),
    }
    nonevents = {
        "treated": int((data["t"] == 1).sum()) - events["treated"],
        "control": int((data["t"] == 0).sum()) - events["control"],
    }
    for group in ("treated", "control"):
        if events[group] == 0 or (kind == "logit" and nonevents[group] == 0):
            what = "had it" if events[group] == 0 else "lacked it"
            raise ModelError(
                f"no {group} row {what} ({outcome!r}: {events[group]} events among "
                f"{events[group] + nonevents[group]}): the effect is not estimable (separation)"
            )

    def rare(g: str) -> int:
        return min(events[g], nonevents[g]) if kind == "logit" else events[g]

    low = {g: e for g, e in events.items() if rare(g) < MIN_EVENTS}
    if low:
        found.append(
            "too few events for a stable estimate: "
            + ", ".join(f"{e} in the {g} group" for g, e in low.items())
            + f" (fewer than {MIN_EVENTS})"
        )
    return events


def _count_model(data, rhs, clustered: bool, weighted: bool, notes: list[str]) -> str:
    if weighted:
        notes.append("counts with weights: Poisson quasi-likelihood with robust errors")
        return "poisson"
    poisson = Fitter("poisson", rhs, clustered, False)
    res, _, _ = poisson.fit(data)
    over, p = overdispersed(res, data)
    if over:
        notes.append(f"overdispersion (Cameron-Trivedi test, p = {p:.3g}): negative binomial")
        return "negbin"
    notes.append(f"no overdispersion (Cameron-Trivedi test, p = {p:.3g}): Poisson")
    return "poisson"


def _ph_check(res) -> list[str]:
    """Proportional hazards of the treatment: correlation of its Schoenfeld residuals with
    the rank of event times (Grambsch and Therneau 1994, identity transform)."""
    from scipy import stats as sps

    resid = np.asarray(res.schoenfeld_residuals)
    col = list(res.model.exog_names).index("t")
    times = np.asarray(res.model.endog)
    ok = ~np.isnan(resid[:, col])
    if ok.sum() < 10 or np.std(resid[ok, col]) == 0:
        return []
    r, p = sps.pearsonr(sps.rankdata(times[ok]), resid[ok, col])
    if p < 0.05:
        return [
            f"the hazard ratio changes over time (Schoenfeld residual test, r = {r:.2f}, "
            f"p = {p:.3g}): read it as an average over the follow-up"
        ]
    return []


def _unequal_clusters(groups: pd.Series, cluster: str) -> list[str]:
    """A warning when the clusters are so unequal that they count as fewer than
    :data:`MIN_CLUSTERS` equal ones: the inverse Herfindahl index of their sizes, ``(sum
    n_g)^2 / sum n_g^2`` (one author with most of the commits, say). Cluster-robust errors
    then rest on few effective clusters, as with few clusters (Carter, Schnepel and
    Steigerwald 2017; MacKinnon and Webb 2017)."""
    sizes = groups.value_counts().to_numpy(dtype=float)
    effective = sizes.sum() ** 2 / (sizes**2).sum()
    if effective >= MIN_CLUSTERS:
        return []
    return [
        f"the {len(sizes)} clusters of {cluster!r} are very unequal (the largest holds "
        f"{sizes.max() / sizes.sum():.0%} of the rows): they count as about {effective:.1f} "
        "equal clusters, and cluster-robust errors are unreliable below about 10 (the "
        "interval is likely too narrow)"
    ]
