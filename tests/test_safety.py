"""An untrusted repository executes nothing it configures, whatever aiimpact runs on it.

The planted repository carries every code-running setting we know of: hooks (in
``.git/hooks`` and via ``core.hooksPath``), ``core.fsmonitor``, ``diff.external``, diff
drivers (command, textconv) and filter drivers (clean, smudge, process) selected from every
attributes source (committed ``.gitattributes``, ``info/attributes``, ``core.attributesFile``,
a config reached by ``include.path`` and ``includeIf``), merge and trailer commands, pagers
and editors, GPG and SSH signature programs with ``log.showSignature`` and signed commits,
``core.alternateRefsCommand``, credential, askpass and ssh helpers, and a promisor remote on
the ``ext::`` transport that a missing blob would make git run. Each payload appends to a
marker file. A positive control first shows that plain git runs them, so the negative
result means something.

The sweep runs every public operation and CLI command through a ``git`` on ``PATH`` that
logs each invocation, then checks that every git subcommand named anywhere in the source was
run on the planted repository with the whole safety configuration.
"""

from __future__ import annotations

import ast
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git

import aiimpact as ai
from aiimpact.cli import main as cli_main
from aiimpact.errors import MissingObjectsWarning, UnrepresentableTimeWarning
from aiimpact.git.patches import patch_ids
from aiimpact.git.safety import SAFE_CONFIG, SUBCOMMAND_FLAGS

SRC = Path(ai.__file__).parent

HOOKS = [
    "pre-commit",
    "post-commit",
    "post-checkout",
    "post-merge",
    "pre-push",
    "post-rewrite",
    "reference-transaction",
    "pre-auto-gc",
    "post-index-change",
    "fsmonitor-watchman",
    "pre-receive",
    "post-update",
    "push-to-checkout",
    "update",
    "commit-msg",
]
ATTRIBUTES = "* diff=evil filter=evil merge=evil\n*.txt diff=inc filter=inc\n"
PGP_SIG = "-----BEGIN PGP SIGNATURE-----\n\n iQEzBAABCAAdFiEE\n -----END PGP SIGNATURE-----"
SSH_SIG = "-----BEGIN SSH SIGNATURE-----\n U1NIU0lHAAAAAQ==\n -----END SSH SIGNATURE-----"


def _script(path: Path, marker: Path, name: str, body: str = "") -> Path:
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "{marker}"\n{body}\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC | stat.S_IXGRP | stat.S_IXOTH)
    return path


def _sign(repo: Path, signatures: dict[int, str]) -> None:
    """Rewrite main so that commit *i* (0 = oldest) carries ``gpgsig`` *signatures[i]*."""
    shas = git(repo, "rev-list", "--reverse", "main").split()
    new: dict[str, str] = {}
    for i, sha in enumerate(shas):
        head, _, body = git(repo, "cat-file", "commit", sha).partition("\n\n")
        lines = [
            f"parent {new[line.split()[1]]}" if line.startswith("parent ") else line
            for line in head.splitlines()
        ]
        if i in signatures:
            lines.append("gpgsig " + signatures[i].replace("\n", "\n "))
        text = "\n".join(lines) + "\n\n" + body
        new[sha] = git(
            repo, "hash-object", "-t", "commit", "-w", "--stdin", input=text.encode()
        ).strip()
    git(repo, "update-ref", "refs/heads/main", new[shas[-1]])


def plant(build, tmp_path) -> tuple[Path, Path]:
    """A repository whose config would run a payload on almost any git command."""
    marker = tmp_path / "PAYLOAD-RAN"
    b = build("evil")
    b.commit("Add attributes", {".gitattributes": ATTRIBUTES, "a.txt": "1\n"})
    b.commit("Change a\n\nFixes: nothing", {"a.txt": "1\n2\n", "b.bin": "x\n"})
    b.commit(
        "Fix a bug in a\n\nCo-authored-by: Claude <noreply@anthropic.com>",
        {"a.txt": "1\n2b\n3\n", "c.txt": "c\n"},
    )
    b.commit('Revert "Fix a bug in a"', {"a.txt": "1\n2\n", "c.txt": None})
    b.close()
    repo = b.path
    _sign(repo, {2: PGP_SIG, 3: SSH_SIG})
    git(repo, "checkout", "-q", "-f", "main")  # a real work tree and index, before planting
    tree = git(repo, "rev-parse", "main^{tree}").strip()
    crafted = f"tree {tree}\nauthor A <a@x> 1 +0000\ncommitter B <b@x> nan +0000\n\nm\n"
    sha = git(
        repo, "hash-object", "-t", "commit", "-w", "--stdin", "--literally", input=crafted.encode()
    )
    git(repo, "update-ref", "refs/heads/crafted", sha.strip())  # libgit2 refuses its time
    git(
        repo,
        "-c",
        "user.name=A",
        "-c",
        "user.email=a@x",
        "notes",
        "--ref=ai",
        "add",
        "-m",
        "a.txt\n  claude 1-2\n---\n{}",
        "HEAD",
    )
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
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text(ATTRIBUTES)
    (tmp_path / "user-attributes").write_text(ATTRIBUTES)
    included = tmp_path / "included.gitconfig"
    included.write_text(
        f'[diff "inc"]\n\ttextconv = {_script(bin_ / "inc-tc", marker, "include:textconv", cat)}\n'
        f'[filter "inc"]\n\tprocess = {_script(bin_ / "inc-proc", marker, "include:process")}\n'
        f"[core]\n\tfsmonitor = {_script(bin_ / 'inc-fsm', marker, 'include:fsmonitor')}\n"
    )
    conditional = tmp_path / "conditional.gitconfig"
    conditional.write_text(
        f"[core]\n\tpager = {_script(bin_ / 'if-pager', marker, 'includeIf:pager', 'cat')}\n"
        f"[diff]\n\texternal = {_script(bin_ / 'if-ext', marker, 'includeIf:external')}\n"
    )
    settings = {
        "core.hooksPath": str(alt_hooks),
        "core.fsmonitor": str(_script(bin_ / "fsmonitor", marker, "fsmonitor")),
        "diff.external": str(_script(bin_ / "extdiff", marker, "diff.external")),
        "diff.evil.command": str(_script(bin_ / "drvdiff", marker, "diff.command")),
        "diff.evil.textconv": str(_script(bin_ / "textconv", marker, "textconv", cat)),
        "filter.evil.clean": str(_script(bin_ / "clean", marker, "filter.clean", "cat")),
        "filter.evil.smudge": str(_script(bin_ / "smudge", marker, "filter.smudge", "cat")),
        "filter.evil.process": str(_script(bin_ / "process", marker, "filter.process")),
        "filter.evil.required": "true",
        "merge.evil.driver": str(_script(bin_ / "merge", marker, "merge.driver")),
        "trailer.evil.key": "Evil",
        "trailer.evil.command": str(_script(bin_ / "trailer", marker, "trailer.command")),
        "core.pager": str(_script(bin_ / "pager", marker, "pager", "cat")),
        "pager.log": str(_script(bin_ / "pagerlog", marker, "pager.log", "cat")),
        "pager.blame": str(_script(bin_ / "pagerblame", marker, "pager.blame", "cat")),
        "core.editor": str(_script(bin_ / "editor", marker, "editor")),
        "sequence.editor": str(_script(bin_ / "seqeditor", marker, "sequence.editor")),
        "gpg.program": str(_script(bin_ / "gpg", marker, "gpg")),
        "gpg.openpgp.program": str(_script(bin_ / "gpg2", marker, "gpg.openpgp")),
        "gpg.ssh.program": str(_script(bin_ / "ssh-keygen", marker, "gpg.ssh")),
        "gpg.ssh.allowedSignersFile": str(tmp_path / "allowed"),
        "log.showSignature": "true",
        "core.attributesFile": str(tmp_path / "user-attributes"),
        "include.path": str(included),
        f"includeIf.gitdir:{repo}/.path": str(conditional),
        "core.alternateRefsCommand": str(_script(bin_ / "altrefs", marker, "alternateRefs")),
        "credential.helper": str(_script(bin_ / "cred", marker, "credential")),
        "core.askPass": str(_script(bin_ / "askpass", marker, "askpass")),
        "core.sshCommand": str(_script(bin_ / "ssh", marker, "ssh")),
        "uploadpack.packObjectsHook": str(_script(bin_ / "pack", marker, "packObjectsHook")),
        # output-changing settings: the numbers must not move
        "diff.noprefix": "true",
        "log.showRoot": "false",
        "core.bigFileThreshold": "1",
        "blame.ignoreRevsFile": str(tmp_path / "ignore-revs"),
    }
    (tmp_path / "ignore-revs").write_text(git(repo, "rev-parse", "main~1"))
    for key, value in settings.items():
        git(repo, "config", key, value)
    return repo, marker


def _copy(repo: Path, tmp_path: Path, name: str) -> Path:
    copy = tmp_path / name
    shutil.copytree(repo, copy, symlinks=True)
    return copy


def test_positive_control_plain_git_runs_the_payloads(build, tmp_path):
    repo, marker = plant(build, tmp_path)
    copy = _copy(repo, tmp_path, "control")
    plain = ["git", "-C", str(copy)]
    ident = ["-c", "user.name=A", "-c", "user.email=a@x"]

    def run_plain() -> str:
        subprocess.run([*plain, "status"], capture_output=True)
        subprocess.run([*plain, "log", "-p", "-6"], capture_output=True)
        subprocess.run([*plain, "blame", "HEAD", "--", "a.txt"], capture_output=True)
        subprocess.run([*plain, "diff", "HEAD~3", "HEAD~2", "--", "b.bin"], capture_output=True)
        subprocess.run(
            [*plain, "show", "--no-ext-diff", "HEAD~2", "--", "b.bin"], capture_output=True
        )
        subprocess.run([*plain, *ident, "commit", "--allow-empty", "-qm", "x"], capture_output=True)
        return marker.read_text()

    ran = run_plain()
    for payload in ("include:fsmonitor", "filter.process", "include:process", "gpg.ssh"):
        assert payload in ran, payload
    # filters that fail stop git early: without them, the rest fires too
    for key in ("filter.evil.process", "filter.evil.required", "filter.inc.process"):
        subprocess.run([*plain, "config", "--unset", key], capture_output=True)
    (tmp_path / "included.gitconfig").write_text("")
    ran = run_plain()
    for payload in ("textconv", "diff.command", "hookspath:", "gpg", "filter.clean"):
        assert payload in ran, payload


@pytest.fixture
def logged_git(tmp_path, monkeypatch):
    """A ``git`` first on PATH that logs each invocation's argv, then runs the real git."""
    real = shutil.which("git")
    shim = tmp_path / "shim"
    shim.mkdir()
    log = tmp_path / "git-invocations"
    log.mkdir()
    (shim / "git").write_text(  # one file per invocation: concurrent gits do not interleave
        f'#!/bin/sh\nf=$(mktemp "{log}/$(date +%s%N).XXXXXX")\n'
        f'for a in "$@"; do printf "%s\\037" "$a"; done > "$f"\nexec "{real}" "$@"\n'
    )
    (shim / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim}{os.pathsep}{os.environ['PATH']}")

    def invocations() -> list[list[str]]:
        files = sorted(log.iterdir())
        return [f.read_text().split("\x1f")[:-1] for f in files]

    return invocations


def _subcommand(argv: list[str]) -> str:
    """The subcommand of a logged argv (after the global options)."""
    i = 0
    while i < len(argv):
        if argv[i] in ("-c", "--git-dir", "--work-tree", "-C"):
            i += 2
        elif argv[i].startswith("-"):
            i += 1
        else:
            return argv[i]
    return ""


def subcommands_in_source() -> set[str]:
    """Every git subcommand that a list literal in src/ names as its first element."""
    known = set(
        subprocess.run(["git", "--list-cmds=main"], capture_output=True, text=True).stdout.split()
    )
    found = set()
    for path in SRC.rglob("*.py"):
        if "synth" in path.parts:  # writes the repositories it generates itself
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.List) and node.elts:
                first = node.elts[0]
                if isinstance(first, ast.Constant) and first.value in known:
                    found.add(first.value)
    return found


def test_subprocesses_are_started_only_by_the_safe_builder():
    """No module but git/safety.py starts git (synth writes its own repositories; parallel
    starts Python children)."""
    allowed = {SRC / "git" / "safety.py", SRC / "parallel.py"}
    for path in SRC.rglob("*.py"):
        if "synth" in path.parts or path in allowed:
            continue
        assert "import subprocess" not in path.read_text(), path


def test_every_git_subcommand_runs_nothing_on_a_planted_repository(
    build, tmp_path, logged_git, capsys, monkeypatch
):
    repo, marker = plant(build, tmp_path)
    caller = tmp_path / "caller"  # a current directory whose attributes make all binary
    caller.mkdir()
    (caller / ".gitattributes").write_text("* -diff\n")
    monkeypatch.chdir(caller)
    planting = len(logged_git())  # the test's own git calls so far

    for renames in (False, True):
        r = ai.Repo(repo, renames=renames, cache_dir=tmp_path / f"c{renames}")
        commits = r.commits()
        assert len(commits) == 4
        files = r.file_changes()
        # counts are git's own, not the attributes' (binary) or big-file threshold's
        assert files["insertions"].sum() == 3 + 2 + 3 + 1
        assert files["deletions"].sum() == 0 + 0 + 1 + 3
        r.szz(fixes=[r.resolve()])  # per-fix blame: no line history yet
        assert r.last_report.szz_method.startswith("blame")
        r.outcomes("HEAD~1")  # stored, then extended by the next outcomes()
        r.reverts()
        assert r.last_report.line_history.startswith("extended from")
        r.churn(), r.fixes(), r.szz(), r.outcomes()
        r.authorship(f"{r.resolve('HEAD~3')}..HEAD")
        assert len(r.quality(per="file")) == len(r.file_changes())  # log --raw, cat-file --batch
        assert len(patch_ids(r.git_dir, commits["sha"])) == 4  # diff-tree, patch-id
        with pytest.warns(UnrepresentableTimeWarning):
            assert len(r.commits("crafted")) == 1  # read through git where libgit2 refuses
    clone = ai.Repo(f"file://{repo}", cache_dir=tmp_path / "clone-cache")
    assert len(clone.commits()) == 4
    ai.Repo(f"file://{repo}", cache_dir=tmp_path / "clone-cache", update=True).commits()
    for argv in (
        ["mine", str(repo), "-o", str(tmp_path / "out.parquet")],
        ["reverts", str(repo), "--json"],
        ["szz", str(repo), "--json"],
        ["authorship", str(repo), "--range", "HEAD~2..HEAD", "--json"],
        ["report", str(repo), "-o", str(tmp_path / "report.html")],
    ):
        assert cli_main(argv) == 0, argv
    listing = tmp_path / "repos.txt"
    listing.write_text(f"{repo}\n")
    assert cli_main(["mine-many", str(listing), "-o", str(tmp_path / "ds"), "--workers", "1"]) == 0
    capsys.readouterr()

    assert not marker.exists(), marker.read_text()
    runs = logged_git()[planting:]
    ran = {_subcommand(argv) for argv in runs}
    missing = subcommands_in_source() - ran
    assert not missing, f"git subcommands in src/ that the sweep did not run: {missing}"
    for argv in runs:
        sub = _subcommand(argv)
        network = sub in ("clone", "fetch")
        settings = {argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "-c"}
        needed = {s for s in SAFE_CONFIG if not network or s.startswith("core.hooksPath")}
        assert needed <= settings, (sub, needed - settings)
        assert "--no-pager" in argv
        flags = argv[argv.index(sub) + 1 :]
        assert set(SUBCOMMAND_FLAGS.get(sub, ())) <= set(flags), sub
        if not network:
            assert "--work-tree" in argv and "--git-dir" in argv, argv


def test_a_promisor_remote_on_the_ext_transport_is_never_run(build, tmp_path):
    """A missing blob in a partial clone makes git fetch it from the promisor remote; with
    ``ext::`` allowed by the repository's config that runs any command. Mining counts the
    blob as missing instead."""
    marker = tmp_path / "PAYLOAD-RAN"
    b = build("promisor")
    b.commit("One", {"a.txt": "1\n"})
    b.close()
    repo = b.path
    git(repo, "checkout", "-q", "-f", "main")
    (repo / "big.txt").write_text("lost\n")
    git(repo, "add", "big.txt")
    git(repo, "-c", "user.name=A", "-c", "user.email=a@x", "commit", "-qm", "Two")
    blob = git(repo, "rev-parse", "HEAD:big.txt").strip()
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    payload = _script(tmp_path / "ext", marker, "ext-transport")
    for key, value in {
        "core.repositoryformatversion": "1",
        "extensions.partialClone": "origin",
        "remote.origin.url": f"ext::{payload} %S",
        "remote.origin.promisor": "true",
        "protocol.ext.allow": "always",
        "protocol.allow": "always",
    }.items():
        git(repo, "config", key, value)
    copy = _copy(repo, tmp_path, "control")
    subprocess.run(["git", "-C", str(copy), "show", "HEAD:big.txt"], capture_output=True)
    assert "ext-transport" in marker.read_text()  # the positive control
    marker.unlink()

    r = ai.Repo(repo)
    with pytest.warns(MissingObjectsWarning):
        assert len(r.commits()) == 2
    assert r.last_report.missing_object_files == 1
    assert not marker.exists(), marker.read_text()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_bare_repo_with_hooks_dir_runs_nothing(build, tmp_path):
    repo, marker = plant(build, tmp_path)
    bare = tmp_path / "bare.git"
    shutil.copytree(repo / ".git", bare, symlinks=True)
    git(bare, "config", "core.bare", "true")
    r = ai.Repo(bare)
    assert len(r.commits()) == 4
    r.outcomes()
    assert not marker.exists(), marker.read_text()


def test_a_killed_process_leaves_no_working_directory_behind(tmp_path):
    """git's empty directory of a process killed by a signal is swept by the next one."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    code = "import os, aiimpact.git.safety as s; print(s.git_cwd()); os.kill(os.getpid(), {})"
    killed = subprocess.run(
        [sys.executable, "-c", code.format(9)], env=env, capture_output=True, text=True
    )
    assert killed.returncode == -9
    left = Path(killed.stdout.strip()).parent
    assert left.is_dir() and left.parent == tmp_path  # SIGKILL ran no clean-up
    os.utime(left, (0, 0))  # long ago
    young = subprocess.run(
        [sys.executable, "-c", code.format(9)], env=env, capture_output=True, text=True
    )
    kept = Path(young.stdout.strip()).parent  # dead, but too young to be swept
    alive = tmp_path / f"aiimpact-git-{os.getpid()}-x"  # old, but its process runs
    alive.mkdir()
    os.utime(alive, (0, 0))
    other = tmp_path / "aiimpact-git-notours"
    other.mkdir()
    os.utime(other, (0, 0))
    done = subprocess.run(
        [sys.executable, "-c", "import aiimpact.git.safety as s; print(s.git_cwd())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert not left.exists()
    assert kept.is_dir() and alive.is_dir() and other.is_dir()
    assert not Path(done.stdout.strip()).exists()  # a normal exit removes its own
