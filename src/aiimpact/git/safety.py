"""Run the git CLI on untrusted repositories without executing anything they configure.

A repository can name programs that git runs: hooks, ``core.fsmonitor``, ``diff.external``,
diff drivers (``command``, ``textconv``) and filter drivers (``clean``, ``smudge``,
``process``) selected by attributes, signature programs (``gpg.program`` with
``log.showSignature``), pagers, editors, credential, askpass and ssh helpers, transports and
remote helpers. Every git process aiimpact starts is built here, by :func:`git_argv`,
:func:`git_env` and :func:`git_cwd`, and started by :func:`run_git` or :class:`GitStream`:

* **Attributes come from git's built-in defaults only**, so no attribute can select a driver
  (and none can change the numbers, e.g. ``* -diff`` making every file binary): no system
  file (``GIT_ATTR_NOSYSTEM``), no user file (``core.attributesFile`` is ``/dev/null``), no
  ``attr.tree`` (the empty tree), no work-tree ``.gitattributes`` (the work tree and the
  current directory are an empty directory of ours, never the repository's or the
  caller's), and a repository whose ``info/attributes`` (or ``info/grafts``) is not empty
  is read through a *shadow* git directory that links everything but those files.
* **Every key that can name a program is overridden on the command line** (command-line
  config beats the repository's; see :data:`SAFE_CONFIG`): hooks point nowhere, fsmonitor
  is off, the external diff, filters and askpass are empty, signature programs are a path
  that does not exist, ``log.showSignature`` is off, the credential helper list is reset.
* **Every subcommand gets its own safety flags** (:data:`SUBCOMMAND_FLAGS`):
  ``--no-ext-diff --no-textconv`` for diffs and logs, ``--no-show-signature`` for logs,
  ``--no-textconv`` for blame and grep; ``--no-pager`` always.
* **No transport at all** outside cloning (``GIT_ALLOW_PROTOCOL`` allows none, every
  ``protocol.*.allow`` is ``never``, ``GIT_NO_LAZY_FETCH``): a partial clone never fetches
  a missing blob from its promisor remote, so absent objects stay absent and are counted.
* **The output is the repository's history in our format**, whatever its config says: the
  user's global config is not read (``GIT_CONFIG_GLOBAL`` is ``/dev/null``), and the keys
  that change diff output (prefixes, algorithm, root diffs, big-file threshold, colour,
  blame ignore lists, replace refs) are pinned.

:class:`GitStream` reads a streamed command: stderr is drained on a thread (a chatty git
never blocks), and a non-zero exit raises :class:`~aiimpact.errors.GitCommandError` in one
line instead of ending the stream early without a word.
"""

from __future__ import annotations

import atexit
import io
import multiprocessing.util
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path

import pygit2

from aiimpact.errors import GitCommandError
from aiimpact.git.ahead import ReadAhead

NO_PROGRAM = "/nonexistent/aiimpact-runs-no-program"
"""Where a key must name a program, this path (which cannot exist) is named instead."""

_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_PROTOCOLS = ("ext", "file", "git", "http", "https", "ssh", "fd")

SAFE_CONFIG: tuple[str, ...] = (
    # programs
    f"core.hooksPath={os.devnull}",
    "core.fsmonitor=false",
    "core.useBuiltinFSMonitor=false",
    "core.untrackedCache=false",
    "diff.external=",
    f"core.pager={NO_PROGRAM}",
    f"core.editor={NO_PROGRAM}",
    f"sequence.editor={NO_PROGRAM}",
    "core.askPass=",
    f"core.sshCommand={NO_PROGRAM}",
    f"core.gitProxy={NO_PROGRAM}",
    f"core.alternateRefsCommand={NO_PROGRAM}",
    "credential.helper=",
    f"gpg.program={NO_PROGRAM}",
    f"gpg.openpgp.program={NO_PROGRAM}",
    f"gpg.x509.program={NO_PROGRAM}",
    f"gpg.ssh.program={NO_PROGRAM}",
    f"gpg.ssh.defaultKeyCommand={NO_PROGRAM}",
    "gpg.ssh.allowedSignersFile=",
    "log.showSignature=false",
    # attributes (the drivers they could select then never apply)
    f"core.attributesFile={os.devnull}",
    f"attr.tree={_EMPTY_TREE}",
    # transports
    "protocol.allow=never",
    *(f"protocol.{name}.allow=never" for name in _PROTOCOLS),
    # output in our format, whatever the repository's config says
    "diff.noprefix=false",
    "diff.mnemonicPrefix=false",
    "diff.srcPrefix=a/",
    "diff.dstPrefix=b/",
    "diff.relative=false",
    "diff.algorithm=myers",
    "diff.indentHeuristic=true",
    "diff.interHunkContext=0",
    "diff.suppressBlankEmpty=false",
    "diff.submodule=short",
    f"diff.orderFile={os.devnull}",
    "log.showRoot=true",
    "log.follow=false",
    "core.bigFileThreshold=512m",
    "core.quotePath=false",
    "color.ui=false",
    "blame.ignoreRevsFile=",
    "blame.markUnblamableLines=false",
    "blame.markIgnoredLines=false",
    "grep.patternType=basic",
    "grep.fullName=true",
    # no writes, no maintenance
    "safe.directory=*",
    "gc.auto=0",
    "maintenance.auto=false",
)

_DIFF_FLAGS = ("--no-ext-diff", "--no-textconv", "--no-color")
SUBCOMMAND_FLAGS: dict[str, tuple[str, ...]] = {
    "log": (*_DIFF_FLAGS, "--no-show-signature", "--no-notes"),
    "show": (*_DIFF_FLAGS, "--no-show-signature", "--no-notes"),
    "diff-tree": _DIFF_FLAGS,
    "diff": _DIFF_FLAGS,
    "blame": ("--no-textconv",),
    "grep": ("--no-textconv", "--no-color"),
}
"""Flags each subcommand gets right after its name (before the caller's arguments)."""

# Config the clone of a URL may not override: the user's own helpers, proxies and protocols.
_NETWORK_KEYS = ("protocol.", "core.sshCommand", "core.gitProxy", "credential.", "core.askPass")


def git_env(*, network: bool = False) -> dict[str, str]:
    """Environment for a git subprocess.

    No ``GIT_*`` variable of the caller's (they can redirect the repository, its config or
    its attributes), no prompts, no pager, no optional locks, the C locale, no system or
    global config and no system attributes. With *network* (cloning a URL) the user's global
    config (credentials, ``url.*.insteadOf``) is read and transports are allowed.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GIT_NO_REPLACE_OBJECTS="1",
        GIT_PAGER="cat",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_ATTR_NOSYSTEM="1",
        LC_ALL="C",
        LANG="C",
    )
    if not network:
        env.update(
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_ALLOW_PROTOCOL="none",
            GIT_NO_LAZY_FETCH="1",
            GIT_ASKPASS=NO_PROGRAM,
        )
        env.pop("SSH_ASKPASS", None)
    return env


def git_argv(
    git_dir: str | Path | None,
    *args: str | bytes,
    network: bool = False,
    literal_pathspecs: bool = True,
) -> list[str | bytes]:
    """Argument vector for ``git`` with every code-running key disabled.

    *git_dir* is the repository (addressed with ``--git-dir``, through a shadow directory when
    it carries its own attributes); None for ``clone``. ``args[0]`` is the subcommand; its
    safety flags (:data:`SUBCOMMAND_FLAGS`) follow it. With *network* the keys that name the
    user's own transport helpers are left to the user's config. Pathspecs are literal unless
    *literal_pathspecs* is False (for a caller that writes ``:(exclude,literal)`` magic).
    """
    argv: list[str | bytes] = ["git", "--no-pager"]
    if literal_pathspecs:
        argv.append("--literal-pathspecs")
    if git_dir is not None:
        argv += ["--git-dir", attribute_free_git_dir(git_dir), "--work-tree", git_cwd()]
    for item in SAFE_CONFIG:
        if not (network and item.startswith(_NETWORK_KEYS)):
            argv += ["-c", item]
    if args:
        command = args[0]
        flags = SUBCOMMAND_FLAGS.get(command, ()) if isinstance(command, str) else ()
        argv += [command, *flags, *args[1:]]
    return argv


def run_git(
    git_dir: str | Path,
    args: Sequence[str | bytes],
    *,
    input: bytes | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run one git command safely and return its completed process (stdout/stderr bytes).

    *args* may hold bytes (a path that is not UTF-8, passed to git as it is stored).

    Raises :class:`~aiimpact.errors.GitCommandError` (one line, git's last message) when
    *check* and git exits non-zero.
    """
    done = subprocess.run(
        git_argv(git_dir, *args), input=input, capture_output=True, env=git_env(), cwd=git_cwd()
    )
    if check and done.returncode != 0:
        raise GitCommandError.of(args, git_dir, done.returncode, done.stderr)
    return done


def run_network_git(args: Sequence[str], git_dir: str | Path | None = None) -> None:
    """Run ``clone`` or ``fetch`` (the only commands that may use the network); raise on failure.

    The repository's programs stay disabled; the user's global config (credentials, ssh)
    applies, as it would to a plain ``git clone``.
    """
    argv = git_argv(None, network=True)
    if git_dir is not None:
        argv += ["--git-dir", str(git_dir)]
    done = subprocess.run(
        [*argv, *args], capture_output=True, env=git_env(network=True), cwd=git_cwd()
    )
    if done.returncode != 0:
        raise GitCommandError.of(args, git_dir, done.returncode, done.stderr)


_PIPE_SIZE = 1 << 20


def _widen(pipe: io.BufferedReader) -> None:
    """Let git write up to 1 MiB ahead of its reader (Linux; elsewhere the default 64 KiB
    stays): git and the Python that parses its output then stall each other less, one
    waiting on a big diff, the other on a big commit (z3's replay: 7 s of 60)."""
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass  # another system, or a lower pipe-max-size: the default size stays


class GitStream:
    """One streamed git command: read :attr:`stdout`; stderr is drained; the exit is checked.

    Use it as a context manager. Leaving the block normally waits for git and raises
    :class:`~aiimpact.errors.GitCommandError` if it failed (a stream is never silently
    shorter than the history); leaving it by an exception (or a consumer that stopped
    early) kills git. *input* is written to git's stdin on a thread; *literal_pathspecs* as
    in :func:`git_argv`.

    Examples
    --------
    >>> with GitStream(git_dir, ["rev-list", "HEAD"]) as git:   # doctest: +SKIP
    ...     shas = [line.strip() for line in git.stdout]
    """

    _KEEP = 1 << 16  # bytes of stderr kept for the error message

    def __init__(
        self,
        git_dir: str | Path,
        args: Sequence[str],
        input: bytes | None = None,
        literal_pathspecs: bool = True,
    ):
        self.args, self.git_dir = list(args), git_dir
        self.proc = subprocess.Popen(
            git_argv(git_dir, *args, literal_pathspecs=literal_pathspecs),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=git_env(),
            cwd=git_cwd(),
        )
        # Three pipes with the default buffering: Popen wraps them in buffered files.
        assert isinstance(self.proc.stdin, io.BufferedWriter)
        assert isinstance(self.proc.stdout, io.BufferedReader)
        assert isinstance(self.proc.stderr, io.BufferedReader)
        self._stdin, self._stderr = self.proc.stdin, self.proc.stderr
        self.stdout: io.BufferedReader = self.proc.stdout
        _widen(self.stdout)
        self._err = bytearray()
        self.stderr_bytes = 0
        self._ahead: ReadAhead | None = None
        self._threads = [threading.Thread(target=self._drain, daemon=True)]
        if input is None:
            self._stdin.close()
        else:
            self._threads.append(threading.Thread(target=self._feed, args=(input,), daemon=True))
        for thread in self._threads:
            thread.start()

    def _feed(self, data: bytes) -> None:
        try:
            self._stdin.write(data)
            self._stdin.close()
        except (BrokenPipeError, OSError):
            pass  # git stopped reading: its exit status says why

    def _drain(self) -> None:
        for chunk in iter(lambda: self._stderr.read1(1 << 16), b""):
            self.stderr_bytes += len(chunk)
            self._err += chunk
            if len(self._err) > 2 * self._KEEP:
                del self._err[: -self._KEEP]

    @property
    def stderr(self) -> str:
        """The end of git's stderr, decoded."""
        return bytes(self._err[-self._KEEP :]).decode(errors="replace").strip()

    def __enter__(self) -> GitStream:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.kill()
            return
        rc = self.wait()
        if rc != 0:
            raise GitCommandError.of(self.args, self.git_dir, rc, bytes(self._err))

    def lines(self) -> Iterator[bytes]:
        """stdout line by line; at its end git's exit status is checked (raises on failure)."""
        with self:
            yield from self.stdout

    def ahead(self, limit: int) -> Iterator[bytes]:
        """stdout line by line, read by a thread up to *limit* bytes ahead of the consumer
        (:class:`~aiimpact.git.ahead.ReadAhead`): git need not wait while it is busy. Read
        it inside ``with stream``, which checks git's exit and stops the thread."""
        self._ahead = ReadAhead(self.stdout, limit)
        self._threads.append(self._ahead.thread)
        self._ahead.start()
        return self._ahead.lines()

    def wait(self) -> int:
        """Wait for git to exit and both pipes to be drained; return its exit status."""
        rc = self.proc.wait()
        for thread in self._threads:
            thread.join()
        self._stdin.close()
        self.stdout.close()
        self._stderr.close()
        return rc

    def kill(self) -> None:
        """Stop git if it still runs, and release the pipes."""
        if self._ahead is not None:
            self._ahead.stop()
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()


# -- where git runs: an empty directory of ours ------------------------------------------
_state: dict[int, Path] = {}  # process id -> its directory (a forked child makes its own)


def git_cwd() -> str:
    """An empty directory of this process: git's work tree and current directory.

    git reads ``.gitattributes`` from the work tree, and, when the current directory lies
    outside it, from the current directory: neither may be the caller's or the repository's.
    It is removed when the process exits, a multiprocessing worker included (those skip
    ``atexit``); the directories of processes that were killed are removed by the next
    process that makes one (see `_sweep_dead`).
    """
    root = _state.get(os.getpid())
    if root is None or not (root / "empty").is_dir():
        _sweep_dead(Path(tempfile.gettempdir()))
        root = Path(tempfile.mkdtemp(prefix=f"{_CWD_PREFIX}{os.getpid()}-"))
        (root / "empty").mkdir()
        _state.clear()
        _state[os.getpid()] = root
        atexit.register(shutil.rmtree, root, True)
        multiprocessing.util.Finalize(None, shutil.rmtree, (root, True), exitpriority=0)
    return str(root / "empty")


_CWD_PREFIX = "aiimpact-git-"
_STALE_AFTER = 600.0  # seconds: a directory younger than this is never swept


def _sweep_dead(tmp: Path) -> None:
    """Remove the directories of `git_cwd` left by processes that no longer exist.

    A process killed by a signal runs neither ``atexit`` nor its finalisers. Only our own
    directories are touched: named with the owning process id, owned by this user, older
    than ten minutes (so a process of another PID namespace sharing this temporary
    directory keeps a young one), and whose process id is not running.
    """
    now = time.time()
    uid = os.getuid()
    try:
        entries = list(os.scandir(tmp))
    except OSError:
        return
    for entry in entries:
        pid_text = entry.name[len(_CWD_PREFIX) :].partition("-")[0]
        if not entry.name.startswith(_CWD_PREFIX) or not pid_text.isdigit():
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if info.st_uid != uid or now - info.st_mtime < _STALE_AFTER or _alive(int(pid_text)):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but is not ours to signal
        return True
    return True


def attribute_free_git_dir(git_dir: str | Path) -> str:
    """*git_dir*, or a shadow of it without ``info/attributes`` and ``info/grafts``.

    git always reads ``$GIT_COMMON_DIR/info/attributes`` (no option turns it off), and
    ``info/grafts`` rewrites parents. When either has content, git is pointed at a directory
    of symbolic links to every other entry (``HEAD`` is copied: git does not accept a
    linked one), refreshed on each call so new refs and packs are seen.
    """
    git_dir = os.fspath(git_dir)
    common = _common_dir(git_dir)
    info = Path(common) / "info"
    if not any(_has_content(info / name) for name in ("attributes", "grafts")):
        return git_dir
    shadow = Path(git_cwd()).parent / f"shadow-{abs(hash(common)):x}"
    _sync_links(Path(common), shadow, skip={"info", "HEAD", "commondir", "gitdir"})
    _sync_links(info, shadow / "info", skip={"attributes", "grafts"})
    head = (Path(git_dir) / "HEAD").read_bytes()
    if not (shadow / "HEAD").exists() or (shadow / "HEAD").read_bytes() != head:
        (shadow / "HEAD").write_bytes(head)
    return str(shadow)


@lru_cache(maxsize=256)
def _common_dir(git_dir: str) -> str:
    try:
        text = (Path(git_dir) / "commondir").read_text().strip()
    except OSError:
        return git_dir
    return os.path.normpath(os.path.join(git_dir, text))


def _has_content(path: Path) -> bool:
    try:
        text = path.read_bytes()
    except OSError:
        return False
    return any(line.strip() and not line.lstrip().startswith(b"#") for line in text.splitlines())


def _sync_links(source: Path, target: Path, skip: set[str]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    names = {n for n in os.listdir(source) if n not in skip} if source.is_dir() else set()
    for entry in os.scandir(target):
        if entry.is_symlink() and entry.name not in names:
            os.unlink(entry.path)
    for name in names:
        link = target / name
        if not link.is_symlink():
            link.symlink_to(os.path.realpath(source / name))


def open_repository(git_dir: str | Path) -> pygit2.Repository:
    """Open *git_dir* with libgit2 (which runs no configured program).

    libgit2 refuses repositories whose config names an extension it does not know; a partial
    clone (``extensions.partialClone``) is safe to read, since libgit2 never fetches: absent
    objects stay absent and are counted where they are needed.
    """
    wanted = {"partialclone"}
    known = set(pygit2.option(pygit2.enums.Option.GET_EXTENSIONS))
    if not wanted <= known:
        pygit2.option(pygit2.enums.Option.SET_EXTENSIONS, sorted(wanted - known), 1)
    return pygit2.Repository(os.fspath(git_dir))


def is_missing_object_error(err: str) -> bool:
    """Whether git's message *err* says an object (blob, tree, commit) is absent."""
    text = err.lower()
    return any(
        s in text
        for s in (
            "unable to read",
            "bad object",
            "missing",
            "could not read",
            "not a valid",
            "promisor",
        )
    )
