"""Mining an untrusted repository executes nothing it configures.

The planted repository sets every code-running hook we know of: hooks (in ``.git/hooks``
and via ``core.hooksPath``), ``core.fsmonitor``, ``diff.external``, a diff driver command,
textconv, clean/smudge/process filters, a pager, a GPG program with ``log.showSignature``,
``core.alternateRefsCommand``, credential and askpass helpers. Each payload appends to a
marker file. A positive control first shows that plain git commands do run the payloads,
so the negative result means something.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import git

import aiimpact as ai
from aiimpact.cli import main as cli_main

HOOKS = [
    "pre-commit", "post-commit", "post-checkout", "post-merge", "pre-push", "post-rewrite",
    "reference-transaction", "pre-auto-gc", "post-index-change", "fsmonitor-watchman",
    "pre-receive", "post-update", "push-to-checkout", "update", "commit-msg",
]  # fmt: skip


def _script(path: Path, marker: Path, name: str, body: str = "") -> Path:
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "{marker}"\n{body}\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC | stat.S_IXGRP | stat.S_IXOTH)
    return path


def plant(build, tmp_path) -> tuple[Path, Path]:
    """A repository whose config would run a payload on almost any git command."""
    marker = tmp_path / "PAYLOAD-RAN"
    b = build("evil")
    b.commit("Add attributes", {".gitattributes": "* diff=evil filter=evil\n", "a.txt": "1\n"})
    b.commit("Change a", {"a.txt": "1\n2\n", "b.bin": "x\n"})
    b.commit("Change more", {"a.txt": "1\n2\n3\n"})
    b.close()
    repo = b.path
    git(repo, "checkout", "-q", "-f", "main")  # a real work tree and index, before planting
    bin_ = tmp_path / "payloads"
    bin_.mkdir()
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    alt_hooks = tmp_path / "alt-hooks"
    alt_hooks.mkdir()
    for name in HOOKS:
        _script(hooks / name, marker, f"hook:{name}")
        _script(alt_hooks / name, marker, f"hookspath:{name}")
    cat = 'cat "$1" 2>/dev/null || cat'
    settings = {
        "core.hooksPath": str(alt_hooks),
        "core.fsmonitor": str(_script(bin_ / "fsmonitor", marker, "fsmonitor")),
        "diff.external": str(_script(bin_ / "extdiff", marker, "diff.external")),
        "diff.evil.command": str(_script(bin_ / "drvdiff", marker, "diff.command")),
        "diff.evil.textconv": str(_script(bin_ / "textconv", marker, "textconv", cat)),
        "filter.evil.clean": str(_script(bin_ / "clean", marker, "filter.clean", "cat")),
        "filter.evil.smudge": str(_script(bin_ / "smudge", marker, "filter.smudge", "cat")),
        "filter.evil.required": "true",
        "core.pager": str(_script(bin_ / "pager", marker, "pager", "cat")),
        "pager.log": str(_script(bin_ / "pagerlog", marker, "pager.log", "cat")),
        "gpg.program": str(_script(bin_ / "gpg", marker, "gpg")),
        "log.showSignature": "true",
        "core.alternateRefsCommand": str(_script(bin_ / "altrefs", marker, "alternateRefs")),
        "credential.helper": str(_script(bin_ / "cred", marker, "credential")),
        "core.askPass": str(_script(bin_ / "askpass", marker, "askpass")),
        "core.sshCommand": str(_script(bin_ / "ssh", marker, "ssh")),
        "uploadpack.packObjectsHook": str(_script(bin_ / "pack", marker, "packObjectsHook")),
    }
    for key, value in settings.items():
        git(repo, "config", key, value)
    return repo, marker


def test_positive_control_plain_git_runs_the_payloads(build, tmp_path):
    repo, marker = plant(build, tmp_path)
    copy = tmp_path / "control"
    shutil.copytree(repo, copy, symlinks=True)
    subprocess.run(["git", "-C", str(copy), "status"], capture_output=True)
    subprocess.run(["git", "-C", str(copy), "diff", "HEAD~1", "HEAD"], capture_output=True)
    subprocess.run(["git", "-C", str(copy), "log", "-p", "-1"], capture_output=True)
    ran = marker.read_text()
    # (the attribute's diff driver command wins over diff.external, so that one fires)
    for payload in ("fsmonitor", "filter.clean", "diff.command", "textconv", "hookspath:"):
        assert payload in ran, payload


def test_mining_an_untrusted_repository_runs_nothing(build, tmp_path, capsys):
    repo, marker = plant(build, tmp_path)
    for renames in (False, True):
        r = ai.Repo(repo, renames=renames)
        assert len(r.commits()) == 3
        assert len(r.file_changes()) > 0
    assert cli_main(["mine", str(repo), "-o", str(tmp_path / "out.parquet")]) == 0
    clone = ai.Repo(f"file://{repo}", cache_dir=tmp_path / "clone-cache")
    assert len(clone.commits()) == 3
    assert not marker.exists(), marker.read_text()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_bare_repo_with_hooks_dir_runs_nothing(build, tmp_path):
    repo, marker = plant(build, tmp_path)
    bare = tmp_path / "bare.git"
    shutil.copytree(repo / ".git", bare, symlinks=True)
    git(bare, "config", "core.bare", "true")
    assert len(ai.Repo(bare).commits()) == 3
    assert not marker.exists(), marker.read_text()
