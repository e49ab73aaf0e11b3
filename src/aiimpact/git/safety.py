"""Run the git CLI on untrusted repositories without executing anything they configure.

A repository's own config can name programs that git runs: hooks, ``core.fsmonitor``,
``diff.external``, textconv and filter drivers, pagers, credential helpers, transports. Every
git process aiimpact starts goes through :func:`git_argv` / :func:`git_env`, which

* address the repository with ``--git-dir`` only (no work tree, no index, so no fsmonitor,
  no clean/smudge filters, no untracked cache);
* override the dangerous keys on the command line (command-line config beats the
  repository's): hooks point to an empty directory, fsmonitor is off, external diff is empty;
* pass ``--no-ext-diff --no-textconv`` to every diff command (callers add them);
* forbid every transport (``protocol.allow=never``), so a partial clone never lazily fetches
  a missing blob from its promisor remote: absent objects stay absent and are reported;
* ignore replace refs and set a fixed locale, so output is the repository's own history in a
  parseable form.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

_EMPTY_HOOKS = Path(os.devnull)

SAFE_CONFIG: tuple[str, ...] = (
    f"core.hooksPath={_EMPTY_HOOKS}",
    "core.fsmonitor=false",
    "core.untrackedCache=false",
    "diff.external=",
    "core.pager=cat",
    "core.sshCommand=false",
    "credential.helper=",
    "protocol.allow=never",
    "safe.directory=*",
    "core.quotePath=false",
    "gc.auto=0",
    "maintenance.auto=false",
)


def git_env() -> dict[str, str]:
    """Environment for a git subprocess: no prompts, no pager, no optional locks, C locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GIT_NO_REPLACE_OBJECTS="1",
        GIT_PAGER="cat",
        GIT_ASKPASS="false",
        GIT_CONFIG_NOSYSTEM="1",
        LC_ALL="C",
        LANG="C",
    )
    return env


def git_argv(git_dir: str | Path, *args: str) -> list[str]:
    """Argument vector for ``git`` on *git_dir* with every code-running key disabled."""
    argv = ["git", "--git-dir", str(git_dir), "--literal-pathspecs"]
    for item in SAFE_CONFIG:
        argv += ["-c", item]
    argv += list(args)
    return argv


def run_git(
    git_dir: str | Path, args: Sequence[str], *, input: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run one git command safely and return its completed process (stdout/stderr bytes).

    Raises ``subprocess.CalledProcessError`` when *check* and git fails.
    """
    return subprocess.run(
        git_argv(git_dir, *args),
        input=input,
        capture_output=True,
        env=git_env(),
        check=check,
    )


def popen_git(git_dir: str | Path, args: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start a streaming git command with stdin, stdout and stderr pipes."""
    return subprocess.Popen(
        git_argv(git_dir, *args),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=git_env(),
    )
