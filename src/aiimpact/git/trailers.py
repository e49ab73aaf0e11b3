"""Parse commit-message trailers exactly like ``git interpret-trailers --parse``.

This is a line-based port of the trailer detection in git 2.39's ``trailer.c``
(``find_patch_start``, ``find_trailer_start``, ``find_separator``,
``trailer_info_get``, ``unfold_value``) and ``commit.c`` (``ignore_non_trailer``),
assuming git's default configuration: separator ``:``, comment character ``#``
and no ``trailer.*`` settings.
"""

from __future__ import annotations

import re

__all__ = ["parse_trailers"]

# git's isspace() is ASCII-only and excludes \v and \f.
_WS = " \t\n\r"
_GIT_PREFIXES = ("Signed-off-by: ", "(cherry picked from commit ")
_SCISSORS = "# ------------------------ >8 ------------------------\n"
# find_separator(): [alnum-]+, optional blanks, then the separator.
_KEY = re.compile(r"([A-Za-z0-9-]+)[ \t]*:")
_FOLD = re.compile(r"\n[ \t\n\r]*")


def _log_end(lines: list[str], cutoff: int, closed: int) -> int:
    """Return the line index where the log message ends (``ignore_non_trailer``).

    Trailing comment lines, empty lines and an old-style ``Conflicts:`` block
    before line ``cutoff`` are dropped; the first ``closed`` lines end in a newline.
    """
    last = lines[cutoff - 1] if cutoff else ""
    if last and last[0] not in "#\t" and last != "Conflicts:":
        return cutoff  # fast path: the last line is ordinary text
    boc = 0  # like git, 0 doubles as "unset", so a leading run is never cut
    in_conflicts = False
    for i in range(cutoff):
        line = lines[i]
        if not line or line[0] == "#":
            if not boc:
                boc = i
        elif line == "Conflicts:" and i < closed:
            in_conflicts = True
            if not boc:
                boc = i
        elif in_conflicts and line[0] == "\t":
            pass
        elif boc:
            boc = 0
            in_conflicts = False
    return boc or cutoff


def _block_start(lines: list[str], end: int) -> int:
    """Return the index of the first trailer line before ``end`` (``end`` if none)."""
    title_end = 0  # the first paragraph is the title and is never trailers
    while title_end < end and lines[title_end].strip(_WS):
        title_end += 1

    only_spaces = True
    recognized = False
    n_trailer = n_other = n_cont = 0
    for i in range(end - 1, title_end - 1, -1):
        line = lines[i]
        if line[:1] == "#":
            n_other += n_cont
            n_cont = 0
        elif not line.strip(_WS):
            if only_spaces:
                continue
            n_other += n_cont
            if (recognized and n_trailer * 3 >= n_other) or (n_trailer and not n_other):
                return i + 1
            return end
        else:
            only_spaces = False
            if line.startswith(_GIT_PREFIXES):
                n_trailer += 1
                n_cont = 0
                recognized = True
            elif _KEY.match(line):
                n_trailer += 1
                n_cont = 0
            elif line[0] in _WS:
                n_cont += 1
            else:
                n_other += n_cont + 1
                n_cont = 0
    return end


def _pair(key: str, parts: list[str]) -> tuple[str, str]:
    value = "\n".join(parts).strip(_WS)
    if "\n" in value:
        value = _FOLD.sub(" ", value).strip(_WS)
    return key, value


def parse_trailers(message: str) -> list[tuple[str, str]]:
    """Return the trailers of a commit message as ``git interpret-trailers --parse`` does.

    The patch part (from the first line starting with ``---`` and a whitespace
    character), everything from a scissors line on, and trailing comment or
    empty lines are ignored. The trailer block is the last paragraph after the
    title; it counts only if all its lines are trailers, or if at least 25% are
    and one starts with ``Signed-off-by: `` or ``(cherry picked from commit ``.
    Lines starting with whitespace continue the previous trailer. Lines that
    are not ``<key><blanks>:<value>`` (key of ASCII letters, digits and ``-``)
    and ``#`` comment lines are dropped.

    Parameters
    ----------
    message : str
        The raw commit message. Lines end with ``\\n``; a ``\\r`` before it is
        kept as part of the line, as git does. Text after a NUL is ignored.

    Returns
    -------
    list of tuple of (str, str)
        ``(key, value)`` pairs in message order. Keys are printed as written
        (trailing blanks removed, case kept); values are unfolded onto one line
        and trimmed of ASCII whitespace.

    Notes
    -----
    git 2.39 hangs when a scissors line follows a ``---`` divider; here the
    earlier of the two ends the message, as in later git versions.

    Examples
    --------
    >>> parse_trailers("Fix typo\\n\\nBody.\\n\\nCo-authored-by: Bot <b@x.org>\\n"
    ...                "Signed-off-by: Ann\\n  Smith <a@x.org>\\n")
    [('Co-authored-by', 'Bot <b@x.org>'), ('Signed-off-by', 'Ann Smith <a@x.org>')]
    """
    nul = message.find("\0")
    if nul >= 0:
        message = message[:nul]
    if ":" not in message:
        return []
    lines = message.split("\n")
    unterminated = lines[-1] != ""
    if not unterminated:
        lines.pop()
    cutoff = len(lines)

    if "---" in message:
        last = cutoff - 1
        for i, line in enumerate(lines):
            if line.startswith("---") and (
                line[3:4] in (" ", "\t", "\r") if len(line) > 3 else i < last or not unterminated
            ):
                cutoff = i
                break
    if _SCISSORS in message:
        if message.startswith(_SCISSORS):
            cutoff = 0
        else:
            pos = message.find("\n" + _SCISSORS)
            if pos >= 0:
                cutoff = min(cutoff, message.count("\n", 0, pos) + 1)

    end = _log_end(lines, cutoff, len(lines) - unterminated)
    start = _block_start(lines, end)

    result: list[tuple[str, str]] = []
    key: str | None = None
    parts: list[str] = []
    for line in lines[start:end]:
        if not line or line[0] in _WS:
            if key is not None:
                parts.append(line)
            continue
        if key is not None:
            result.append(_pair(key, parts))
        m = _KEY.match(line)
        if m:
            key, parts = m.group(1), [line[m.end() :]]
        else:
            key = None
    if key is not None:
        result.append(_pair(key, parts))
    return result
