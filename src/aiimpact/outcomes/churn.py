"""Churn and survival: how many of a commit's lines were rewritten soon, and how many live.

GitClear's definition: *churn* is the share of a change's lines that were reverted or
updated within two weeks of being written. Here every line is followed through later diffs
(:mod:`aiimpact.outcomes.lines`): a line churns when it is deleted or modified within the
window after its commit. Whitespace-only edits do not count. A commit younger than the
window (relative to the newest commit of the history) has NA: it has not been observed for
the whole window, and 0 would be a lie. So does a commit whose time pandas cannot hold (a
crafted date, see :mod:`aiimpact.git.walk`), or one a line of which died in such a commit:
when its window ends is unknown.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from aiimpact.errors import InputError
from aiimpact.git.walk import TIME_LIMIT
from aiimpact.outcomes.lines import LineHistory


def window_seconds(window: str) -> int:
    """``"14D"``, ``"2W"``, ``"90D"`` ... as seconds (pandas offset aliases of fixed length).

    Raises :class:`~aiimpact.errors.InputError` for text that is not a duration, and for a
    window that is not positive (nothing can be rewritten within no time).
    """
    try:
        seconds = int(pd.Timedelta(window).total_seconds())
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"window {window!r} is not a duration such as '14D'") from None
    if seconds <= 0:
        raise InputError(f"window {window!r} must be a positive duration such as '14D'")
    return seconds


def _seconds(values: Sequence[int] | np.ndarray) -> np.ndarray:
    """Times in seconds as floats, NaN where a nanosecond pandas ``Timestamp`` cannot hold
    them (crafted dates; git prints times beyond 64 bits as they are written)."""
    try:
        out = np.asarray(values, dtype=np.int64).astype(float)
    except OverflowError:
        out = np.array([v if abs(v) <= TIME_LIMIT else np.nan for v in values], dtype=float)
    out[np.abs(out) > TIME_LIMIT] = np.nan
    return out


def churn_table(history: LineHistory, windows: tuple[str, ...] = ("14D",)) -> pd.DataFrame:
    """Per commit: lines added and moved, lines churned within each window, lines alive at
    the tip.

    Returns
    -------
    pandas.DataFrame
        ``sha, lines_added, lines_moved`` (:attr:`LineHistory.moved`),
        ``churn_<window>...`` (nullable integers: NA when censored),
        ``churn_rate_<window>`` (churned / added, NA when censored or nothing was added),
        ``lines_alive``.
    """
    n = len(history.commits)
    died = np.asarray(history.died)  # -1: alive (a view of the array, as born's: no copy)
    dead = np.flatnonzero(died != -1)
    origin = np.asarray(history.born)[dead]  # only the deleted lines: git/git has 10M lines
    died_at = _seconds(died[dead])
    del dead
    time = _seconds(history.time)
    life = died_at - time[origin]  # how long each deleted line lived (NaN: unknown)
    added = np.asarray(history.added, dtype=np.int64)
    moved = np.asarray(history.moved, dtype=np.int64)
    out = pd.DataFrame({"sha": history.commits, "lines_added": added, "lines_moved": moved})
    newest = np.nanmax(time) if np.isfinite(time).any() else np.nan
    died_unknown = np.bincount(origin[np.isnan(died_at)], minlength=n) > 0
    del died_at
    for window in windows:
        w = window_seconds(window)
        counts = np.bincount(origin[life <= w], minlength=n)
        observed = (time + w <= newest) & ~died_unknown
        name = f"churn_{window.lower()}"
        out[name] = pd.array(np.where(observed, counts, 0), dtype="Int64")
        out.loc[~observed, name] = pd.NA
        rate = out[name].astype("Float64") / out["lines_added"].where(out["lines_added"] > 0)
        out[f"churn_rate_{window.lower()}"] = rate.astype("Float64")
    out["lines_alive"] = pd.array([history.alive_at_tip.get(i, 0) for i in range(n)], dtype="Int64")
    return out
