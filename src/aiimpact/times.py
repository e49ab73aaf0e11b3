"""One parser of user-given times: the ``since=`` and ``until=`` of every call."""

from __future__ import annotations

import pandas as pd

from aiimpact.errors import InputError


def utc_time(value, what: str) -> pd.Timestamp | None:
    """*value* (text, datetime, Timestamp; naive = UTC) as a UTC Timestamp, or None.

    Raises :class:`~aiimpact.errors.InputError` naming *what* for anything that is not a
    time.

    Examples
    --------
    >>> utc_time("2025-01-02", "since")
    Timestamp('2025-01-02 00:00:00+0000', tz='UTC')
    """
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"{what}={value!r} is not a date or time") from None
    if pd.isna(ts):
        raise InputError(f"{what}={value!r} is not a date or time")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def day(ts) -> str:
    """*ts* as ``YYYY-MM-DD``, or ``?`` when it is missing (for sentences about windows)."""
    return "?" if ts is None or pd.isna(ts) else f"{ts:%Y-%m-%d}"
