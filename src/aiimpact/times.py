"""The parsers of times: the ``since=`` and ``until=`` of every call, ISO 8601 text from
GitHub, times read from data; and one formatter of days."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from aiimpact.errors import InputError


def utc_time(value: object, what: str) -> pd.Timestamp | None:
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


def day(ts: object) -> str:
    """*ts* as ``YYYY-MM-DD``, or ``?`` when it is missing (for sentences about windows)."""
    return "?" if ts is None or pd.isna(ts) else f"{ts:%Y-%m-%d}"


def iso_time(value: object, what: str) -> datetime:
    """*value* (a datetime or ISO 8601 text, ``Z`` allowed; naive = UTC) as an aware datetime.

    Stricter than :func:`utc_time` (no free-form dates, no numbers): the parser of GitHub's
    times and of the ``since=`` of the GitHub calls. An offset is kept, not converted.
    Raises :class:`~aiimpact.errors.InputError` naming *what* for anything else.

    Examples
    --------
    >>> iso_time("2024-01-02T03:04:05Z", "since")
    datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"{what}={value!r} is not an ISO 8601 date or time") from None
    if not isinstance(value, datetime):
        raise InputError(f"{what}={value!r} is not an ISO 8601 date or time")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def utc_time_or_none(value: object) -> pd.Timestamp | None:
    """A time read from data (ISO 8601 text of an API answer or a dataset) as a UTC
    Timestamp; ``None`` when it is absent or does not parse (never raises).

    Examples
    --------
    >>> utc_time_or_none("2024-01-02T03:04:05+02:00"), utc_time_or_none("soon")
    (Timestamp('2024-01-02 01:04:05+0000', tz='UTC'), None)
    """
    if not value:
        return None
    try:
        return pd.to_datetime(value, utc=True)
    except (ValueError, TypeError):
        return None
