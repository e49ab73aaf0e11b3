"""``git blame`` and the text files of a revision, for the authorship share and SZZ.

One process per file (the caller bounds how many run at once); every invocation goes
through :func:`~aiimpact.git.safety.run_git`, its exit status checked.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiimpact.errors import GitCommandError
from aiimpact.git.safety import is_missing_object_error, run_git

BLAME_FLAGS = ("-M100", "-C100")
SZZ_BLAME_FLAGS = ("-w", "-M", "-C")
"""Blame for SZZ: whitespace ignored, lines moved or copied within a commit followed."""


def blame_file(git_dir: str, rev_range: str, path: str | bytes) -> list[tuple[int, str]] | None:
    """``(final line number, commit sha)`` of every non-boundary line of *path*.

    *path* may be bytes: a file name that is not UTF-8 is passed to git as it is stored.
    None when objects the blame needs are absent (a partial clone); other failures raise.
    """
    args = ["blame", "--porcelain", *BLAME_FLAGS, rev_range, "--", path]
    out = run_git(git_dir, args, check=False)
    if out.returncode != 0:
        if _missing(out.stderr):
            return None
        raise GitCommandError.of(args, git_dir, out.returncode, out.stderr)
    result, boundary, current = [], set(), None
    for line in out.stdout.split(b"\n"):
        if line[:1] == b"\t" or not line:
            continue
        parts = line.split(b" ")
        if len(parts[0]) in (40, 64) and len(parts) >= 3 and parts[1].isdigit():
            current = (parts[0].decode(), int(parts[2]))
            result.append(current)
        elif line == b"boundary" and current is not None:
            boundary.add(current[0])
    return [(n, sha) for sha, n in result if sha not in boundary]


def blame_lines(
    git_dir: str, rev: str, path: str | bytes, lines: Iterable[int]
) -> dict[int, str] | None:
    """``{line number: sha of the commit that wrote it}`` for *lines* of *path* at *rev*.

    One ``git blame -w -M -C --porcelain -L a,b [-L c,d ...] rev -- path`` (line numbers
    from 1, consecutive ones in one range). A line past the end of the file is not in the
    answer (git clamps a range's end; a range that starts past the end is an error). Root
    commits are named like any other. None when objects the blame needs are absent (a
    partial clone, an incomplete mirror); other failures (a path that is not at *rev*)
    raise :class:`~aiimpact.errors.GitCommandError`.
    """
    wanted = sorted(set(lines))
    if not wanted:
        return {}
    ranges: list[str] = []
    first = last = wanted[0]
    for n in [*wanted[1:], None]:
        if n is not None and n == last + 1:
            last = n
            continue
        ranges += ["-L", f"{first},{last}"]
        if n is not None:
            first = last = n
    args = ["blame", *SZZ_BLAME_FLAGS, "--porcelain", *ranges, rev, "--", path]
    out = run_git(git_dir, args, check=False)
    if out.returncode != 0:
        if _missing(out.stderr):
            return None
        raise GitCommandError.of(args, git_dir, out.returncode, out.stderr)
    keep = set(wanted)
    return {n: sha for n, sha in _porcelain(out.stdout) if n in keep}


def _porcelain(out: bytes) -> list[tuple[int, str]]:
    """``(final line number, sha)`` of each line of ``git blame --porcelain`` output.

    A header opens the output and follows every line of content (the tab-led line); the
    lines between are the commit's details, never read as a header, whatever they say.
    """
    result: list[tuple[int, str]] = []
    header = True
    for line in out.split(b"\n"):
        if header and line:
            sha, final = line.split(b" ")[:3:2]
            result.append((int(final), sha.decode()))
            header = False
        elif line[:1] == b"\t":
            header = True
    return result


def _missing(stderr: bytes) -> bool:
    """Whether blame failed for an absent object (blame says "Cannot read blob")."""
    err = stderr.decode(errors="replace")
    return is_missing_object_error(err) or "cannot read blob" in err.lower()


def text_files(git_dir: str, rev: str, paths: list[str] | None) -> list[bytes]:
    """Files at *rev* with at least one line of text (binaries and empty files excluded).

    Names are the bytes git stores (``grep -z``: tabs, newlines, quotes and non-UTF-8 bytes
    survive). ``git grep`` exits 1 when no file matches; any other failure raises.
    """
    out = run_git(
        git_dir, ["grep", "-z", "-I", "-l", "-e", "", rev, "--", *(paths or [])], check=False
    )
    if out.returncode not in (0, 1):
        raise GitCommandError.of(["grep"], git_dir, out.returncode, out.stderr)
    prefix = f"{rev}:".encode()
    return sorted(name.removeprefix(prefix) for name in out.stdout.split(b"\0") if name)
