"""Checks on the shape of what GitHub answers: each wrong shape is an :class:`InputError`
that says what was expected and where (URL or GraphQL field)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiimpact.errors import InputError
from aiimpact.times import iso_time

_NESTED = ("user", "head", "commit", "author", "committer")  # objects (or null) in answers


def kind_of(value: Any) -> str:
    """How a decoded JSON value reads in an error message.

    Examples
    --------
    >>> kind_of(None), kind_of([]), kind_of(3)
    ('null', 'a list', 'a number')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    names: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}
    return names.get(type(value), "a number")


def expect(value: Any, kind: type, what: str, where: str) -> Any:
    """*value* when it is a *kind* (``dict`` or ``list``), else an :class:`InputError` saying
    GitHub answered something else where *what* was expected, and *where* (URL, field)."""
    if not isinstance(value, kind):
        raise InputError(f"GitHub answered {kind_of(value)} where {what} was expected ({where})")
    return value


def expect_objects(values: list, what: str, where: str) -> list[dict]:
    """*values* when each is an object whose nested ``user``, ``head``, ``commit``,
    ``author`` and ``committer`` fields (and those of its ``commit``) are objects or null."""
    for value in values:
        expect(value, dict, what, where)
        for inner in (value, value.get("commit") or {}):
            for key in _NESTED:
                if not isinstance(inner.get(key), dict | None):
                    raise InputError(
                        f"GitHub answered {kind_of(inner.get(key))} as the {key!r} of {what} "
                        f"where an object was expected ({where})"
                    )
    return values


def parse_json(content: bytes, where: str) -> Any:
    """The JSON of a body, or :class:`InputError` naming *where* it came from."""
    try:
        return json.loads(content)
    except ValueError as exc:
        problem = getattr(exc, "msg", None) or f"{type(exc).__name__}: {exc}"[:200]
    except RecursionError:
        problem = "nested too deeply"
    raise InputError(f"GitHub returned malformed JSON for {where}: {problem}")


def pull_number(pull: dict, where: str) -> int:
    """The ``number`` of a pull-request object, or :class:`InputError` naming *where*."""
    number = pull.get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        raise InputError(
            f"GitHub answered a pull request whose number is {kind_of(number)} ({where})"
        )
    return number


def api_time(value: Any, where: str) -> datetime:
    """A time GitHub sent, as an aware datetime, or :class:`InputError` naming *where*."""
    try:
        return iso_time(value, "since")
    except InputError:
        raise InputError(f"GitHub answered {value!r}, not an ISO 8601 time ({where})") from None
