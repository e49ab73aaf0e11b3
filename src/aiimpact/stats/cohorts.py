"""Adoption cohorts: how much of an author's month was AI-assisted, and outcomes by level.

The binary comparison (AI-assisted commits against the others) says nothing about dose.
DX's usage levels do: each author's volume is ranked among the users with any, and cut at
its 25th, 50th and 75th percentiles (``minimal`` below the 25th, ``light``, ``moderate``,
``heavy`` from the 75th; ``none`` without any; DX, "AI usage attributes",
docs.getdx.com). Here the volume is the AI-assisted share of an author's commits in a
calendar month (an author-month), and the cut points are computed once over every
author-month with a share above 0. Each commit carries its author-month's level.

:func:`dose_response` compares each level with ``none`` on one outcome through
:func:`~aiimpact.stats.compare`: the same models, controls, clusters and warnings as the
binary comparison, one estimate per level, so a rising (or flat) dose is visible beside it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from aiimpact.errors import InputError
from aiimpact.stats.compare import StatsWarning, compare

LEVELS = ("none", "minimal", "light", "moderate", "heavy")
"""Adoption levels, lowest first."""


def adoption_cohorts(
    table: pd.DataFrame, author: str = "author_email", time: str = "commit_time"
) -> pd.DataFrame:
    """*table* (``repo.commits()`` or ``repo.outcomes()``) with each commit's author-month
    AI share (``author_month_ai_share``) and adoption level (``adoption``, ordered
    :data:`LEVELS`); ``attrs["adoption_cut_points"]`` holds the 25th/50th/75th percentiles.

    Examples
    --------
    >>> t = ai.adoption_cohorts(repo.outcomes())                      # doctest: +SKIP
    >>> t.groupby("adoption", observed=True).reverted.mean()          # doctest: +SKIP
    """
    missing = [c for c in (author, time, "ai_assisted") if c not in table]
    if missing:
        raise InputError(f"adoption cohorts need column(s) {', '.join(missing)}")
    month = _months(table[time])
    ai = table["ai_assisted"].astype("boolean").fillna(False).astype(float)
    share = ai.groupby([table[author], month], dropna=False).transform("mean")
    per_month = pd.DataFrame({"a": table[author], "m": month, "s": share}).drop_duplicates(
        ["a", "m"]
    )
    used = per_month["s"][per_month["s"] > 0]
    cuts = tuple(float(x) for x in np.quantile(used, [0.25, 0.5, 0.75])) if len(used) else ()
    out = table.copy()
    out["author_month_ai_share"] = share.to_numpy()
    level = np.zeros(len(out), dtype=int)
    if cuts:
        level = np.where(share > 0, 1 + np.searchsorted(cuts, share, side="right"), 0)
    out["adoption"] = pd.Categorical.from_codes(level, categories=list(LEVELS), ordered=True)
    out.attrs["adoption_cut_points"] = cuts
    empty = [LEVELS[i + 2] for i in range(len(cuts) - 1) if cuts[i] == cuts[i + 1]]
    if empty:  # ties, e.g. many author-months at a share of 1 (agents' own accounts)
        warnings.warn(
            f"adoption level(s) {', '.join(empty)} are empty: the cut points "
            f"{', '.join(f'{c:.3g}' for c in cuts)} tie ({(used >= cuts[-1]).mean():.0%} of "
            "the author-months with AI are at the top share)",
            StatsWarning,
            stacklevel=2,
        )
    return out


def dose_response(
    table: pd.DataFrame,
    outcome: str,
    controls: Sequence[str] = (),
    cluster: str | None = "author_email",
    author: str = "author_email",
    **options,
) -> pd.DataFrame:
    """Each adoption level against ``none`` on *outcome*, one
    :func:`~aiimpact.stats.compare` per level (rows of that level and of ``none``).

    *table* is :func:`adoption_cohorts`'s (made here from a commit or outcomes table if it
    has no ``adoption``). Returns one row per level: its commits and author-months, then
    the comparison's ``estimate``, ``ci_low``, ``ci_high``, ``p_value`` with the ``test``
    that gives it and the model's ``scale``, or, for a level the data cannot support
    (too few rows, no events), NA and the reason in ``note``.

    Examples
    --------
    >>> ai.dose_response(repo.outcomes(), "reverted", controls=["log_size"])  # doctest: +SKIP
    """
    if "adoption" not in table:
        table = adoption_cohorts(table, author)
    rows = []
    month = _months(table["commit_time"])
    for level in LEVELS:
        mine = table["adoption"] == level
        row = {
            "level": level,
            "commits": int(mine.sum()),
            "author_months": table[mine].groupby([table[author][mine], month[mine]]).ngroups,
        }
        if level != "none":
            subset = table[mine | (table["adoption"] == "none")].copy()
            subset[f"at_{level}"] = subset["adoption"] == level
            try:
                r = compare(subset, outcome, f"at_{level}", controls, cluster, **options)
            except InputError as exc:
                row["note"] = str(exc)
            else:
                row.update(
                    estimate=r.estimate, ci_low=r.ci[0], ci_high=r.ci[1], p_value=r.p_value,
                    test=r.test, scale=r.scale, note="; ".join(r.warnings) or None,
                )  # fmt: skip
        rows.append(row)
    columns = ["level", "commits", "author_months", "estimate", "ci_low", "ci_high",
               "p_value", "test", "scale", "note"]  # fmt: skip
    return pd.DataFrame(rows).reindex(columns=columns)


def _months(times: pd.Series) -> pd.Series:
    """Calendar months (UTC) of *times*."""
    return times.dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M")
