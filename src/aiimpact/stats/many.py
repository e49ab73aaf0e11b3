"""``ai.compare_many``: several outcomes, one table, one forest plot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from tqdm.auto import tqdm

from aiimpact.errors import InputError
from aiimpact.stats.compare import check_design, compare
from aiimpact.stats.results import ComparisonSet

FITS_MIN = 5  # more fits than this show a progress bar unless progress=False


def compare_many(
    table: pd.DataFrame,
    outcomes: Sequence[str] | Mapping[str, str],
    *,
    progress: bool | None = None,
    **kwargs,
) -> ComparisonSet:
    """Run :func:`~aiimpact.stats.compare.compare` for each outcome with the same options.

    *outcomes* is a list of columns, or a mapping of column to ``model=`` for outcomes that
    need their own model (``{"reverted": "auto", "churn_rate_14d": "ols"}``).

    An outcome the data cannot support (no events, separation, a missing column) is
    recorded in ``.failed`` with the reason instead of stopping the others; a treatment,
    control or cluster the table lacks concerns every outcome and is an ``InputError``
    before anything is fitted. ``.table()`` adds Holm-adjusted p-values and
    Benjamini-Hochberg q-values; ``.plot()`` draws one forest plot.

    *progress* shows a "fitting models" bar on stderr, one step per outcome: True always,
    False never, None (default) only for more than five outcomes.

    Examples
    --------
    >>> many = ai.compare_many(t, ["reverted", "fix_inducing", "time_to_revert"],
    ...                        controls=["log_size"], cluster="author_email")  # doctest: +SKIP
    >>> many.table()[["outcome", "estimate", "ci_low", "ci_high", "p_holm"]]  # doctest: +SKIP
    """
    if isinstance(outcomes, str) or not outcomes:
        raise InputError("outcomes= must be a non-empty list of column names")
    if isinstance(table, pd.DataFrame):
        check_design(
            table,
            kwargs.get("treatment", "ai_assisted"),
            kwargs.get("controls", ()),
            kwargs.get("cluster"),
        )
    results, failed = [], {}
    models = outcomes if isinstance(outcomes, Mapping) else {}
    show = progress if progress is not None else len(outcomes) > FITS_MIN
    for outcome in tqdm(outcomes, unit="fit", desc="fitting models", disable=not show):
        try:
            options = {**kwargs, "model": models[outcome]} if outcome in models else kwargs
            results.append(compare(table, outcome, **options))
        except InputError as exc:
            failed[outcome] = str(exc)
    return ComparisonSet(results, failed)
