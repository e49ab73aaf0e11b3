"""``git blame`` and the text files of a revision, for the authorship share.

One process per file (the caller bounds how many run at once); every invocation goes
through :func:`~aiimpact.git.safety.run_git`, its exit status checked.
"""

from __future__ import annotations

from aiimpact.errors import GitCommandError
from aiimpact.git.safety import is_missing_object_error, run_git

BLAME_FLAGS = ("-M100", "-C100")


def blame_file(git_dir: str, rev_range: str, path: str | bytes) -> list[tuple[int, str]] | None:
    """``(final line number, commit sha)`` of every non-boundary line of *path*.

    *path* may be bytes: a file name that is not UTF-8 is passed to git as it is stored.
    None when objects the blame needs are absent (a partial clone); other failures raise.
    """
    args = ["blame", "--porcelain", *BLAME_FLAGS, rev_range, "--", path]
    out = run_git(git_dir, args, check=False)
    if out.returncode != 0:
        if is_missing_object_error(out.stderr.decode(errors="replace")):
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
