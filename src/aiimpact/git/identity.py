"""Who a repository is: the one place for the URL test, the display name, the identity,
the partition id of a dataset and the cache key.

* :func:`is_url`: a URL to clone (a scheme, or scp-like ``user@host:path``), not a path;
* :func:`name_from` / :func:`local_name`: the name shown in tables (``owner/name``);
* :func:`repo_identity` / :func:`repo_id`: what makes two entries of a list of
  repositories the same one, and the id of its partition in a dataset;
* :func:`repo_key`: the directory of a repository in the cache.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pygit2

URL = re.compile(r"^([a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.I)
"""A source that is a URL (a scheme, or scp-like ``user@host:path``), not a local path."""


def is_url(source: str) -> bool:
    """Whether *source* is a URL to clone rather than a local path."""
    return bool(URL.match(source))


def name_from(s: str) -> str:
    """``owner/name`` for a URL whose path has two or more parts, else the last part."""
    if URL.match(s) and not s.startswith("file:"):
        path = urlsplit(s).path if "://" in s else s.split(":", 1)[1]
    else:
        path = s
    parts = [p for p in path.rstrip("/").split("/") if p]
    if not parts:
        return "repo"
    parts[-1] = parts[-1].removesuffix(".git") or parts[-1]
    return "/".join(parts[-2:]) if path is not s and len(parts) >= 2 else parts[-1]


def local_name(git_dir: str) -> str:
    """The directory name of a local repository (the work tree's, for a ``.git`` dir)."""
    path = Path(git_dir)
    return name_from(str(path.parent) if path.name == ".git" else git_dir)


def repo_identity(source: str) -> str:
    """What makes two entries of a list the same repository.

    A local path resolves to its git directory (symlinks followed; ``repo``, ``repo/`` and
    ``repo/.git`` agree), and so does a ``file://`` URL. Another URL becomes ``host/path``
    without scheme, user, trailing ``/`` or ``.git``, so the https and ssh spellings of one
    repository agree and no credentials are kept. A path that holds no repository is its
    resolved self.

    Examples
    --------
    >>> repo_identity("https://user@GitHub.com/owner/name.git/")
    'github.com/owner/name'
    >>> repo_identity("git@github.com:owner/name.git")
    'github.com/owner/name'
    """
    return identify(source)[0]


def repo_id(source: str) -> str:
    """The partition id of a path or URL: a readable name, ``-``, and 8 hex digits of a hash
    of its :func:`repo_identity`.

    The name is ``owner__name`` for a URL and the directory name for a path (of the work
    tree, or of a bare repository without ``.git``); characters other than letters, digits
    and ``._-`` become ``_``. The hash keeps repositories with the same name apart and
    depends on nothing else, so an id is the same in every run, list order and dataset.

    Examples
    --------
    >>> repo_id("https://github.com/aider-ai/aider.git")
    'aider-ai__aider-f456e4b3'
    >>> repo_id("git@github.com:aider-ai/aider")
    'aider-ai__aider-f456e4b3'
    """
    return identify(source)[1]


def identify(source: str) -> tuple[str, str]:
    """``(repo_identity, repo_id)`` of *source*, computed once."""
    text = source.strip()
    if text.lower().startswith("file://") or not URL.match(text):
        path = unquote(urlsplit(text).path) if URL.match(text) else text
        identity = _local_identity(path)
        last = os.path.basename(identity)
        name = os.path.basename(os.path.dirname(identity)) if last == ".git" else last
        name = name.removesuffix(".git") or name
    else:
        if "://" in text:
            parts = urlsplit(text)
            host, path = parts.netloc.rsplit("@", 1)[-1], parts.path
        else:  # scp-like user@host:path
            host, path = text.split("@", 1)[1].split(":", 1)
        path = path.strip("/").removesuffix(".git").strip("/")
        identity = f"{host.lower()}/{path}"
        name = "__".join(p for p in path.split("/")[-2:] if p)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "repo"
    return identity, f"{name}-{hashlib.sha1(identity.encode()).hexdigest()[:8]}"


def _local_identity(path: str) -> str:
    # found as Repo finds it: discovery stops at *path*, so a plain directory inside
    # another repository is not that repository
    real = os.path.realpath(path)
    found = None
    if os.path.isdir(real):
        found = pygit2.discover_repository(real, False, os.path.dirname(real))
    return os.path.realpath(found) if found else real


def repo_key(name: str, identity: str) -> str:
    """Directory name for a repository: readable name + hash of its identity."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:60] or "repo"
    return f"{slug}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"
