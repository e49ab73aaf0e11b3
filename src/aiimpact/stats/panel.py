"""``ai.panel``: a unit x period table (repository-month, author-month) for adoption studies.

Each row is one unit in one period between its first and last active period (a quiet
period inside that span is a row of zeros, not a missing row). Columns: ``unit, period,
commits, ai_commits, ai_share, insertions, deletions, lines, authors``, the mean of every
binary outcome present (``reverted``, ``fix_inducing``, ...), ``first_treated`` (the first
period in which the unit made at least ``min_ai_commits`` AI-assisted commits; NaT for a
unit that never did), ``treated`` and ``rel_period`` (periods since ``first_treated``).
A table without any AI-assisted change gives the panel with ``first_treated`` empty
everywhere, and a :class:`~aiimpact.stats.compare.StatsWarning` saying so.

With ``quality=True`` (a ``Repo.outcomes(quality=True)`` table) each row also has the code
quality of the period, from the commits' deltas (no snapshot is re-analysed):
``complexity_added`` and ``nloc_added`` (cyclomatic complexity and lizard's lines of code,
after minus before, summed over the period's commits) and ``quality_unknown`` (its commits
whose figures are unknown: ``missing_blob``, a source file's blob is absent, or
``analysis_failed``, lizard failed on it). For repository units (``unit="repo"``), the tree
at the end of each period: ``complexity_total`` and ``nloc_total`` (the deltas summed from
the table's first commit, which adds every file: pass the whole history, not a window of it)
and ``complexity_per_kloc`` (complexity per 1,000 lines of code; He et al. measure cognitive
complexity so) and ``duplicated_density`` (the share of the tree's 5-line windows of
normalised code lines that occur more than once, after the period's last commit with a
source change: :mod:`aiimpact.quality.copies`). A merge's tree is taken as the sum of both
sides' changes (what a clean merge gives); unknown figures count 0, so ``quality_unknown``
says how far to trust them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from aiimpact.errors import InputError
from aiimpact.stats.compare import StatsWarning

_DELTAS = {"complexity_delta": "complexity_added", "nloc_delta": "nloc_added"}  # -> summed
_QUALITY = (*_DELTAS, "missing_blob", "analysis_failed")
_TREE = ("tree_windows", "tree_duplicated_windows")  # the copy index after each commit
RATES = ("reverted", "reverted_within_30d", "fix_inducing", "partially_reverted", "is_fix")
FREQS = {"MS": "M", "W": "W", "QS": "Q", "YS": "Y", "D": "D"}


def panel(
    table: pd.DataFrame,
    unit: str = "repo",
    freq: str = "MS",
    time: str | None = None,
    treatment: str = "ai_assisted",
    min_ai_commits: int = 1,
    quality: bool = False,
) -> pd.DataFrame:
    """Build the unit x period panel of a commit (or PR) table.

    Parameters
    ----------
    table : DataFrame
        ``repo.outcomes()``, ``repo.commits()``, or PRs; one row per change.
    unit : str
        Column naming the unit: ``"repo"``, ``"author_email"``, ...
    freq : {"MS", "W", "QS", "YS", "D"}
        Period length (month, week, quarter, year, day).
    time : str, optional
        Time column; default ``commit_time``, else ``created_at``.
    treatment : str
        Boolean column marking AI-assisted changes.
    min_ai_commits : int
        AI-assisted changes a unit needs in one period to count as treated from then on.
    quality : bool
        Add the code-quality columns (see the module docstring); the table needs
        ``complexity_delta`` and ``nloc_delta`` (``Repo.outcomes(quality=True)``).

    Returns
    -------
    DataFrame
        One row per (unit, period); see the module docstring.

    Warns
    -----
    StatsWarning
        No unit reaches ``min_ai_commits`` in any period (e.g. no AI-marked commit at all).

    Examples
    --------
    >>> p = ai.panel(repo.outcomes(), unit="author_email")  # doctest: +SKIP
    >>> p[["unit", "period", "commits", "ai_share", "first_treated"]].head()  # doctest: +SKIP
    """
    if isinstance(table, pd.DataFrame) is False and hasattr(table, "to_pandas"):
        table = table.to_pandas()
    time = time or next((c for c in ("commit_time", "created_at") if c in table.columns), None)
    for name, what in ((unit, "unit"), (time, "time"), (treatment, "treatment")):
        if name is None or name not in table.columns:
            raise InputError(f"panel needs a {what} column; {name!r} is not in the table")
    if freq not in FREQS:
        raise InputError(f"freq={freq!r} is not one of {', '.join(FREQS)}")
    when = pd.to_datetime(table[time], utc=True).dt.tz_localize(None)
    df = pd.DataFrame(
        {
            "unit": table[unit].astype("string"),
            "period": when.dt.to_period(FREQS[freq]).dt.start_time,
            "ai": table[treatment].astype("boolean").fillna(False).astype(int),
        }
    )
    size_cols = [c for c in ("insertions", "deletions", "additions") if c in table.columns]
    for c in size_cols:
        df[c] = pd.to_numeric(table[c], errors="coerce").fillna(0)
    rates = [c for c in RATES if c in table.columns]
    for c in rates:
        df[c] = table[c].astype("Float64")
    if quality:
        for c in _QUALITY:
            if c not in table.columns:
                raise InputError(
                    f"panel(quality=True) needs a {c!r} column: pass Repo.outcomes(quality=True)"
                )
        for c in _DELTAS:
            df[c] = pd.to_numeric(table[c], errors="coerce").astype("Float64")
        unknown = table["missing_blob"].astype("boolean") | table["analysis_failed"].astype(
            "boolean"
        )
        df["quality_unknown"] = unknown.fillna(False).astype(int)
        tree = [c for c in _TREE if c in table.columns]
        for c in tree:
            df[c] = pd.to_numeric(table[c], errors="coerce").astype("Float64")
        df["when"] = when
    author = next((c for c in ("author_email", "author_login") if c in table.columns), None)
    if author:
        df["author"] = table[author].astype("string").str.lower()
    df = df.dropna(subset=["unit", "period"])
    if df.empty:
        raise InputError("panel: the table has no rows with a unit and a time")
    g = df.groupby(["unit", "period"])
    out = g.agg(commits=("ai", "size"), ai_commits=("ai", "sum"))
    for c in size_cols:
        out[c] = g[c].sum()
    if "additions" in out and "insertions" not in out:
        out = out.rename(columns={"additions": "insertions"})
    if "insertions" in out and "deletions" in out:
        out["lines"] = out["insertions"] + out["deletions"]
    if author:
        out["authors"] = g["author"].nunique()
    for c in rates:
        out[c] = g[c].mean()
    if quality:
        for c, name in _DELTAS.items():  # NA counts 0 (quality_unknown says how many)
            out[name] = g[c].sum().astype(float)
        out["quality_unknown"] = g["quality_unknown"].sum()
        if unit == "repo" and len(tree) == 2:  # the tree after each period's last commit
            last = df.sort_values("when").groupby(["unit", "period"])[tree].last()
            windows = last[_TREE[0]].where(last[_TREE[0]] > 0)
            out["duplicated_density"] = last[_TREE[1]] / windows
    out = _fill(out.reset_index(), freq)
    if quality:
        added = list(_DELTAS.values())
        out[added] = out[added].fillna(0)
        if unit == "repo":
            by_unit = out.groupby("unit", sort=False)
            out["complexity_total"] = by_unit["complexity_added"].cumsum()
            out["nloc_total"] = by_unit["nloc_added"].cumsum()
            kloc = out["nloc_total"].where(out["nloc_total"] > 0) / 1000
            out["complexity_per_kloc"] = out["complexity_total"] / kloc
            if "duplicated_density" in out:  # a period without source changes keeps its value
                dense = out.groupby("unit", sort=False)["duplicated_density"].ffill()
                out["duplicated_density"] = dense.astype(float)
    out["ai_share"] = out["ai_commits"] / out["commits"].where(out["commits"] > 0)
    first = out[out["ai_commits"] >= min_ai_commits].groupby("unit")["period"].min()
    if first.empty:
        warnings.warn(
            f"panel: no unit has a period with at least {min_ai_commits} {treatment!r} "
            f"change(s) ({int(df['ai'].sum())} in the whole table): first_treated is empty "
            "(NaT) for every unit, so there is no adoption to study",
            StatsWarning,
            stacklevel=2,
        )
    out["first_treated"] = first.reindex(out["unit"]).to_numpy()
    out["treated"] = out["first_treated"].notna() & (out["period"] >= out["first_treated"])
    out["rel_period"] = _periods_between(out["first_treated"], out["period"], freq)
    return out


def _fill(out: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Insert the quiet periods between each unit's first and last active period."""
    pieces = []
    for unit, rows in out.groupby("unit", sort=True):
        span = pd.period_range(rows["period"].min(), rows["period"].max(), freq=FREQS[freq])
        full = pd.DataFrame({"period": span.start_time})
        full = full.merge(rows, on="period", how="left")
        full["unit"] = unit
        pieces.append(full)
    out = pd.concat(pieces, ignore_index=True)
    counts = [
        c
        for c in (
            "commits",
            "ai_commits",
            "insertions",
            "deletions",
            "lines",
            "authors",
            "quality_unknown",
        )
        if c in out
    ]
    out[counts] = out[counts].fillna(0).astype(int)
    return out[["unit", "period", *[c for c in out.columns if c not in ("unit", "period")]]]


def _periods_between(start: pd.Series, end: pd.Series, freq: str) -> pd.Series:
    code = FREQS[freq]
    valid = start.notna()
    rel = pd.Series(np.nan, index=start.index, dtype="float64")
    if valid.any():
        a = start[valid].dt.to_period(code)
        b = end[valid].dt.to_period(code)
        rel[valid] = [(y - x).n for x, y in zip(a, b, strict=True)]
    return rel.astype("Int64")
