"""Build real git repositories from declarations: for tests, the demo and validation.

:class:`RepoBuilder` drives one ``git fast-import`` process: each :meth:`RepoBuilder.commit`
writes a commit and returns its sha at once (so a later message can say
``This reverts commit <sha>.``), without a process per commit. Expected answers can be
written beside each commit (``expect=``) and read back from :attr:`RepoBuilder.expected`.

Examples
--------
>>> from aiimpact.synth import RepoBuilder
>>> with RepoBuilder(tmp_path / "r") as b:                                # doctest: +SKIP
...     first = b.commit("Add parser", {"parser.py": "def parse():\\n    pass\\n"})
...     b.commit("Fix parser\\n\\nCo-authored-by: Cursor <cursoragent@cursor.com>",
...              {"parser.py": "def parse():\\n    return 1\\n"}, expect={"ai": True})
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiimpact.git.safety import git_env

__all__ = ["Binary", "RepoBuilder", "Submodule", "Symlink"]


@dataclass(frozen=True)
class Symlink:
    """A symbolic link pointing to *target*."""

    target: str


@dataclass(frozen=True)
class Binary:
    """File content given as bytes (a NUL byte makes git treat it as binary)."""

    data: bytes
    executable: bool = False


@dataclass(frozen=True)
class Submodule:
    """A gitlink (submodule entry) at commit *sha*."""

    sha: str


Content = str | bytes | Binary | Symlink | Submodule | None


def _signature(ident: str, when: datetime) -> str:
    offset = when.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    tz = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return f"{ident} {int(when.timestamp())} {tz}"


class RepoBuilder:
    """Declare commits, branches and merges; get a real git repository.

    Parameters
    ----------
    path : str or Path
        Where to create the repository (must not exist yet, or be empty).
    bare : bool, default False
        Create a bare repository.
    start : datetime, optional
        Date of the first commit when a commit gives none (default 2025-01-06 09:00 UTC);
        each later commit without a date comes *step* after the previous one.
    step : timedelta, default 1 hour
    """

    def __init__(
        self,
        path: str | Path,
        *,
        bare: bool = False,
        start: datetime | None = None,
        step: timedelta = timedelta(hours=1),
        default_branch: str = "main",
    ) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.git_dir = self.path if bare else self.path / ".git"
        if not (self.git_dir / "HEAD").exists():
            init = ["git", "init", "--quiet", f"--initial-branch={default_branch}"]
            subprocess.run([*init, *(["--bare"] if bare else []), str(self.path)], check=True)
        self.clock = start or datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
        self.step = step
        self.default_branch = default_branch
        self.expected: dict[str, dict] = {}
        self.shas: list[str] = []
        self.trees: dict[str, dict[str, Content]] = {}
        self._tips: dict[str, str] = {}
        self._mark = 0
        self._marks: dict[str, int] = {}
        # Appending to an existing repository: continue its branches.
        refs = subprocess.run(
            [
                "git",
                "--git-dir",
                str(self.git_dir),
                "for-each-ref",
                "--format=%(refname:short) %(objectname)",
                "refs/heads",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        self._tips.update(zip(refs[::2], refs[1::2], strict=True))
        if refs and start is None:
            last = subprocess.run(
                ["git", "--git-dir", str(self.git_dir), "log", "-1", "--all", "--format=%ct"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            self.clock = datetime.fromtimestamp(int(last), UTC) + step
        self._proc = subprocess.Popen(
            ["git", "--git-dir", str(self.git_dir), "fast-import", "--quiet", "--done"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=git_env(),
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None  # both PIPEs
        self._stdin, self._stdout = self._proc.stdin, self._proc.stdout

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> RepoBuilder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Finish the import (refs are written) and update HEAD's work tree if not bare."""
        if self._proc.poll() is None:
            self._write(b"done\n")
            self._stdin.close()
            failed = self._proc.wait() != 0
            self._stdout.close()
            if failed:
                raise RuntimeError("git fast-import failed")

    # -- declarations ----------------------------------------------------------------------
    def branch(self, name: str, at: str | None = None) -> None:
        """Start branch *name* at the tip of branch or commit *at* (default branch)."""
        base = self._tips.get(at or self.default_branch, at)
        if base is None:
            raise ValueError(f"cannot branch from {at!r}: no such branch or commit")
        self._tips[name] = base
        self.trees[name] = dict(self.trees.get(at or self.default_branch, {}))

    def commit(
        self,
        message: str | bytes,
        files: Mapping[str, Content] | None = None,
        *,
        author: str = "Alice Example <alice@example.com>",
        committer: str | None = None,
        date: datetime | None = None,
        commit_date: datetime | None = None,
        branch: str | None = None,
        merge: list[str] | tuple[str, ...] = (),
        encoding: str | None = None,
        replace_tree: bool = False,
        expect: dict | None = None,
    ) -> str:
        """Write one commit on *branch* and return its sha.

        *files* maps paths to new content (``str``, ``bytes``, :class:`Binary`,
        :class:`Symlink`, :class:`Submodule`) or ``None`` to delete the path. *merge* lists
        branches or shas to merge (two or more make an octopus). With *replace_tree* the
        commit's tree is exactly *files*.
        """
        branch = branch or self.default_branch
        when = date or self._tick()
        cdate = commit_date or when
        self._mark += 1
        mark = self._mark
        body = message.encode(encoding or "utf-8") if isinstance(message, str) else message
        out = [f"commit refs/heads/{branch}\nmark :{mark}\n".encode()]
        # git writes the whole commit, identities included, in the commit's encoding
        enc = encoding or "utf-8"
        out.append(f"author {_signature(author, when)}\n".encode(enc))
        out.append(f"committer {_signature(committer or author, cdate)}\n".encode(enc))
        if encoding:
            out.append(f"encoding {encoding}\n".encode())
        out.append(b"data %d\n%s\n" % (len(body), body))
        parent = self._tips.get(branch)
        if parent:
            out.append(f"from {self._ref(parent)}\n".encode())
        tree = {} if replace_tree else dict(self.trees.get(branch, {}))
        if replace_tree:
            out.append(b"deleteall\n")
        ops = []
        for other in merge:
            sha = self._tips.get(other, other)
            out.append(f"merge {self._ref(sha)}\n".encode())
            if not replace_tree:
                for path, content in self.trees.get(other, {}).items():
                    if tree.get(path) != content and path not in (files or {}):
                        tree[path] = content
                        ops.append(_file_op(path, content))
        out += ops
        for path, content in (files or {}).items():
            out.append(_file_op(path, content))
            if content is None:
                tree.pop(path, None)
            else:
                tree[path] = content
        out.append(b"\n")
        self._write(b"".join(out))
        sha = self._get_mark(mark)
        self._tips[branch] = sha
        self.trees[branch] = tree
        self.shas.append(sha)
        self._marks[sha] = mark
        if expect is not None:
            self.expected[sha] = expect
        return sha

    def tip(self, branch: str | None = None) -> str:
        """Current sha of *branch* (default branch)."""
        return self._tips[branch or self.default_branch]

    # -- internals -------------------------------------------------------------------------
    def _tick(self) -> datetime:
        when = self.clock
        self.clock = when + self.step
        return when

    def _ref(self, sha: str) -> str:
        """fast-import only knows its own new commits by mark, not by sha."""
        return f":{self._marks[sha]}" if sha in self._marks else sha

    def _write(self, data: bytes) -> None:
        self._stdin.write(data)

    def _get_mark(self, mark: int) -> str:
        self._write(f"get-mark :{mark}\n".encode())
        self._stdin.flush()
        line = self._stdout.readline().decode().strip()
        if len(line) < 40:
            raise RuntimeError(f"git fast-import did not return a sha for commit :{mark}")
        return line


def _file_op(path: str, content: Content) -> bytes:
    """One fast-import file command. *path* may hold any byte but NUL: a name that is not
    UTF-8 is given with ``surrogateescape`` (``os.fsdecode(b"caf\\xe9")``)."""
    p = path.encode("utf-8", "surrogateescape")
    if b"\0" in p:
        raise ValueError(f"path {path!r} holds a NUL byte, which git cannot store")
    if b"\n" in p or p.startswith(b'"'):  # fast-import's C-style quoting
        escaped = p.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"\n", b"\\n")
        p = b'"' + escaped + b'"'
    if content is None:
        return b"D " + p + b"\n"
    if isinstance(content, Submodule):
        return b"M 160000 %s %s\n" % (content.sha.encode(), p)
    if isinstance(content, Symlink):
        mode, data = b"120000", content.target.encode()
    elif isinstance(content, Binary):
        mode, data = (b"100755" if content.executable else b"100644"), content.data
    elif isinstance(content, bytes):
        mode, data = b"100644", content
    else:
        mode, data = b"100644", content.encode()
    return b"M %s inline %s\ndata %d\n%s\n" % (mode, p, len(data), data)
