"""Where a repository comes from: a local path found on disk, or a URL mirrored locally.

A URL (``https://``, ``ssh://``, ``file://``, ``git@host:path``) is cloned with
``git clone --mirror`` and refreshed with ``git fetch --prune``, both started by
:func:`aiimpact.git.safety.run_network_git` (the one place that lets git use the network;
the repository's programs stay disabled). A local path is discovered with libgit2 and
opened by :func:`aiimpact.git.safety.open_repository`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pygit2

from aiimpact.errors import GitCommandError, InputError, NotARepositoryError
from aiimpact.git.identity import is_url, local_name, name_from
from aiimpact.git.safety import open_repository, run_network_git


@dataclass(frozen=True)
class Source:
    """A located repository: *url* (None for a local path), its display *name*, its
    *identity* (the URL, or the real path of the git directory) and its *git_dir*."""

    url: str | None
    name: str
    identity: str
    git_dir: str


def locate(source: str, clone_root: Path, key: Callable[[str, str], str], update: bool) -> Source:
    """Find the repository *source* names: a local path, or a URL mirrored (see
    :func:`mirror`) into ``clone_root / key(name, identity)``, fetched again if *update*."""
    if is_url(source):
        identity = source.rstrip("/")
        name = name_from(identity)
        return Source(
            source, name, identity, str(mirror(source, clone_root / key(name, identity), update))
        )
    git_dir = find_git_dir(Path(source))
    identity = os.path.realpath(git_dir)
    return Source(None, local_name(identity), identity, str(git_dir))


def mirror(url: str, dest_root: Path, update: bool) -> Path:
    """The mirror clone of *url* under *dest_root*, cloned now if absent (fetched if *update*).

    The clone is made in a temporary directory and renamed into place, so an interrupted
    clone leaves nothing that looks like a repository.
    """
    dest = dest_root / "repo.git"
    if dest.exists():
        if update:
            _network(["fetch", "--prune", "--quiet"], url, dest)
        return dest
    dest_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="clone-", dir=dest_root))
    try:
        _network(["clone", "--mirror", "--quiet", "--", url, str(tmp / "r")], url)
        (tmp / "r").rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def find_git_dir(path: Path) -> str:
    """The git directory of the repository at *path* (never one of a parent directory)."""
    if not path.exists():
        raise InputError(f"{path} does not exist")
    if not path.is_dir():
        raise NotARepositoryError(f"{path} is not a git repository (it is a file)")
    if not os.access(path, os.R_OK | os.X_OK):
        raise InputError(f"{path} is not readable (permission denied)")
    # The ceiling stops discovery at *path*: a plain directory inside another repository is
    # not that repository.
    found = pygit2.discover_repository(str(path), False, str(path.resolve().parent))
    if not found:
        raise NotARepositoryError(f"{path} is not a git repository")
    return str(Path(found).resolve())


def open_repo(git_dir: str) -> pygit2.Repository:
    """Open *git_dir* safely; an unreadable or broken repository is a clear input error."""
    try:
        return open_repository(git_dir)
    except pygit2.GitError as exc:
        text = str(exc)
        if "permission" in text.lower():
            raise InputError(f"{git_dir} is not readable: {text}") from None
        raise NotARepositoryError(f"cannot open {git_dir} as a git repository: {text}") from None


def _network(args: list[str], url: str, git_dir: Path | None = None) -> None:
    try:
        run_network_git(args, git_dir)
    except GitCommandError as exc:
        said = str(exc).split("): ", 1)[-1]
        raise InputError(f"cannot {args[0]} {url}: {said}") from None
