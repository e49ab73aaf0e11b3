"""``ai.mine_many``: the same mining over many repositories, on any executor.

Each repository is mined by :func:`mine_one`, a plain top-level function with no shared
state, so it runs in a local process pool, on a Dask cluster (``client.get_executor()``), or
anywhere a ``concurrent.futures.Executor`` runs functions. Each writes its tables as one
partition of a Parquet dataset::

    out/<table>/repo=<id>/part-0.parquet     (the files omit the repo column: it is the
                                              partition value, read back as ``repo``)
    out/_done/<id>.json                      (written last: the repository is complete;
                                              it records the repository's identity)
    out/_failures.parquet                    (id, source, reason, seconds, failed_at)

A repository's identity (``aiimpact.git.identity``) is its resolved git directory, or its
normalised URL; its id is a readable name plus a short hash of the identity (``repo_id``),
so it is the same in every run and list order, and two repositories with the same
directory name never share one. A partition is written to a temporary directory and
renamed into place, and the marker comes after every table, so a killed run leaves no
half-written repository behind: the next run skips what is complete (a marker counts only
if its identity matches) and retries the rest (failures included). The workers of
mine_many's own pool, and the child processes of ``timeout=``, exit as soon as the process
that started them is gone.
"""

from __future__ import annotations

import ctypes
import io
import json
import math
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from aiimpact.errors import InputError
from aiimpact.git.identity import identify
from aiimpact.schema import SCHEMAS, to_arrow
from aiimpact.workers import main_script_hidden

if TYPE_CHECKING:
    from distributed import Client

TABLES = ("commits", "file_changes", "outcomes", "reverts", "szz")
DONE, FAILURES = "_done", "_failures.parquet"


_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_PARENT: int | None = None  # in a pool worker or timeout child: the process it must not outlive


def mine_one(
    source: str,
    out: str,
    tables: Sequence[str] = ("commits", "outcomes"),
    cache_dir: str | None = None,
    timeout: float | None = None,
    rid: str | None = None,
    identity: str | None = None,
) -> dict:
    """Mine one repository into *out* and return a summary dict (never raises).

    With *timeout*, the work runs in a child process that is killed when the time is up.
    The result has ``id, source, status ("done" or "failed"), reason, rows, seconds``; the
    ``_done`` marker adds ``identity`` (default: :func:`repo_identity` of *source*) and
    ``finished_at``.
    """
    if rid is None or identity is None:
        found_identity, found_rid = identify(source)
        rid, identity = rid or found_rid, identity or found_identity
    started = time.perf_counter()
    if timeout is None:
        return _mine_here(source, out, tuple(tables), cache_dir, rid, identity, started)
    args = json.dumps([source, out, list(tables), cache_dir, rid, identity, os.getpid()])
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiimpact.parallel", args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return _failed(source, rid, f"timed out after {timeout:g} s", started)
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        return _failed(source, rid, f"worker exited with {proc.returncode}: {tail}", started)
    return json.loads(lines[-1])


def _mine_here(source, out, tables, cache_dir, rid, identity, started) -> dict:
    from aiimpact.repo import Repo

    try:
        # one git process per repository: the parallelism is across repositories
        repo = Repo(source, cache_dir=cache_dir, progress=False, name=rid, workers=1)
        rows = {}
        target = Target(out)
        for table in tables:
            df = _table(repo, table)
            target.write_partition(table, rid, df)
            rows[table] = len(df)
    except Exception as exc:  # a failed repository is recorded, it never stops the others
        return _failed(source, rid, f"{type(exc).__name__}: {exc}", started)
    if _orphaned():  # the run was killed: no marker, its rerun mines this repository again
        return _failed(source, rid, "the process that started this worker is gone", started)
    result = {
        "id": rid,
        "source": source,
        "status": "done",
        "reason": None,
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 3),
    }
    marker = {**result, "identity": identity, "finished_at": _now()}
    if _orphaned():  # the run was killed while this worker finished: it publishes nothing
        _exit_orphaned()  # (its watcher polls every 0.2 s; this closes most of that gap)
    target.write_bytes(f"{DONE}/{rid}.json", json.dumps(marker).encode())
    return result


def _pool_worker(parent: int | None) -> None:
    """Initializer of mine_many's own pool: the worker dies with *parent* (default: the
    process that forked it, e.g. the forkserver, which itself exits with the parent)."""
    _watch_parent(parent or os.getppid(), signal.SIGKILL)


def _task(parent: int, *args) -> dict:
    """:func:`mine_one` as mine_many submits it. In a worker of a process pool that the
    caller made (a child of mine_many's process, *parent*), a thread watches the parent."""
    if _PARENT is None and os.getpid() != parent and os.getppid() == parent:
        _watch_parent(parent)
    return mine_one(*args)


def _watch_parent(parent: int, signum: int | None = None) -> None:
    """Exit as soon as *parent* is gone: a thread polls ``os.getppid()``, and with *signum*
    on Linux the kernel sends it when the parent dies (PR_SET_PDEATHSIG: only for a process
    whose creating thread outlives it)."""
    global _PARENT
    _PARENT = parent
    if signum is not None and sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signum)
    if _orphaned():  # gone before the signal was armed
        _exit_orphaned()
    threading.Thread(target=_poll_parent, name="aiimpact-parent", daemon=True).start()


def _poll_parent() -> None:
    while not _orphaned():
        time.sleep(0.2)
    _exit_orphaned()


def _orphaned() -> bool:
    return _PARENT is not None and os.getppid() != _PARENT


def _exit_orphaned(*_) -> None:
    if os.getpgrp() == os.getpid():  # a timeout child leads its group: take its git along
        os.killpg(os.getpid(), signal.SIGKILL)
    os._exit(1)


def _table(repo, table: str) -> pd.DataFrame:
    if table == "commits":
        return repo.commits()
    if table == "file_changes":
        return repo.file_changes()
    if table == "outcomes":
        return repo.outcomes()
    if table == "reverts":
        return repo.reverts()
    if table == "szz":
        return repo.szz()
    raise InputError(f"table {table!r} is not one of {', '.join(TABLES)}")


class Target:
    """Where a dataset lives: a local directory, or an fsspec URL (``s3://``, ``gs://``...).

    Locally every file is written under a temporary name and renamed into place. On object
    storage, which has no rename, files are written in place; the ``_done`` marker, written
    last, is what makes a repository complete.
    """

    def __init__(self, out: str | os.PathLike) -> None:
        self.url = str(out)
        if "://" in self.url and not self.url.startswith("file://"):
            import fsspec

            self.fs, self.root = fsspec.core.url_to_fs(self.url)
            self.local = None
        else:
            self.fs, self.root = None, self.url.removeprefix("file://")
            self.local = Path(self.root)

    @property
    def location(self) -> Path | str:
        """The local directory, or the URL."""
        return self.local if self.local is not None else self.url

    def mkdir(self) -> None:
        if self.local is not None:
            self.local.mkdir(parents=True, exist_ok=True)
        else:
            self.fs.makedirs(self.root, exist_ok=True)

    def done(self) -> set[str]:
        """Ids of the complete repositories."""
        if self.local is not None:
            return {p.stem for p in (self.local / DONE).glob("*.json")}
        found = self.fs.glob(f"{self.root}/{DONE}/*.json")
        return {Path(p).stem for p in found}

    def marker(self, rid: str) -> dict | None:
        """The ``_done`` marker of *rid*, or None when it is absent or unreadable."""
        name = f"{DONE}/{rid}.json"
        try:
            if self.local is not None:
                data = (self.local / name).read_bytes()
            else:
                with self.fs.open(f"{self.root}/{name}", "rb") as f:
                    data = f.read()
            found = json.loads(data)
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def write_bytes(self, name: str, data: bytes) -> None:
        if self.local is None:
            with self.fs.open(f"{self.root}/{name}", "wb") as f:
                f.write(data)
            return
        path = self.local / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def remove(self, name: str) -> None:
        if self.local is not None:
            (self.local / name).unlink(missing_ok=True)
        elif self.fs.exists(f"{self.root}/{name}"):
            self.fs.rm(f"{self.root}/{name}")

    def write_partition(self, table: str, rid: str, df: pd.DataFrame) -> None:
        """Write *df* as the partition ``<table>/repo=<rid>``, with the table's full schema
        (every partition has the same types, all-null columns included)."""
        import pyarrow.parquet as pq

        data = to_arrow(df, SCHEMAS[table], drop=["repo"])
        if self.local is None:
            folder = f"{self.root}/{table}/repo={rid}"
            self.fs.makedirs(folder, exist_ok=True)
            with self.fs.open(f"{folder}/part-0.parquet", "wb") as f:
                pq.write_table(data, f)
            return
        final = self.local / table / f"repo={rid}"
        tmp = self.local / table / f".repo={rid}.tmp{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        pq.write_table(data, tmp / "part-0.parquet")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)

    def __str__(self) -> str:
        return self.url


def _failed(source, rid, reason, started) -> dict:
    return {
        "id": rid,
        "source": source,
        "status": "failed",
        "reason": reason,
        "rows": {},
        "seconds": round(time.perf_counter() - started, 3),
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class ManyResult:
    """What a :func:`mine_many` run did.

    Attributes
    ----------
    out : Path or str
        The dataset directory or URL (open it with ``ai.open_dataset(out)``).
    mined, skipped : list of str
        Repository ids mined now, and already complete before the run.
    failures : DataFrame
        ``id, source, reason, seconds, failed_at`` of the repositories that failed now.
    rows : dict
        Rows written now, per table.
    duplicates : list of (str, str)
        ``(source, same_as)``: entries left out because an earlier entry, *same_as*, is the
        same repository (see :func:`repo_identity`); each repository is mined once.
    """

    out: Path | str
    mined: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    duplicates: list[tuple[str, str]] = field(default_factory=list)

    def __repr__(self) -> str:
        twice = f", {len(self.duplicates)} duplicates left out" if self.duplicates else ""
        return (
            f"ManyResult({self.out}: {len(self.mined)} mined, {len(self.skipped)} already "
            f"complete, {len(self.failures)} failed{twice}, rows {self.rows}, "
            f"{self.seconds:.1f} s)"
        )


def mine_many(
    repos: Iterable[str],
    executor: Executor | Client | None = None,
    out: str | os.PathLike = "aiimpact-dataset",
    tables: Sequence[str] = ("commits", "outcomes"),
    cache_dir: str | os.PathLike | None = None,
    timeout: float | None = None,
    progress: bool | None = None,
    workers: int | None = None,
) -> ManyResult:
    """Mine many repositories into a Parquet dataset partitioned by repository.

    Parameters
    ----------
    repos : iterable of str
        Paths or URLs (URLs are cloned into the cache), read as the lines of a list file:
        blank lines and lines starting with ``#`` are skipped, and a ``#`` after whitespace
        starts a comment. Ids come from :func:`repo_id`; an entry that is the same
        repository as an earlier one (:func:`repo_identity`) is left out and reported in
        ``ManyResult.duplicates``.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Where to run; default a local process pool (see *workers*) whose workers exit when
        this process is gone. A Dask ``Client`` is used through ``client.get_executor()``.
    out : path or URL
        Dataset directory (see the module docstring for the layout), or an fsspec URL
        (``s3://bucket/dataset``) that every worker can write to.
    tables : sequence of str
        Any of ``commits, file_changes, outcomes, reverts, szz``.
    cache_dir : path, optional
        Mining cache of every repository (must be shared storage on a cluster).
    timeout : float, optional
        Seconds per repository (> 0); a repository still running is killed and recorded
        as failed.
    progress : bool, optional
        A bar on stderr (repositories done, commits mined, failures); default: on a terminal.
    workers : int, optional
        Processes of the default local pool (>= 1; default one per CPU). Not with
        *executor*.

    Returns
    -------
    ManyResult

    Raises
    ------
    InputError
        Unknown tables, a *timeout* or *workers* out of range, *workers* with *executor*,
        or no repositories.

    Examples
    --------
    >>> result = ai.mine_many(["repo1", "https://github.com/o/r"], out="data")  # doctest: +SKIP
    >>> ds = ai.open_dataset("data")  # doctest: +SKIP
    >>> ai.compare(ds, "reverted", controls=["log_size", "repo"], cluster="repo")  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    bad = [t for t in tables if t not in TABLES]
    if bad or not tables:
        raise InputError(f"tables must be among {', '.join(TABLES)}; got {list(tables)}")
    if timeout is not None and not (isinstance(timeout, int | float) and 0 < timeout < math.inf):
        raise InputError(f"timeout must be a positive number of seconds; got {timeout!r}")
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InputError(f"workers must be a whole number >= 1; got {workers!r}")
        if executor is not None:
            raise InputError("workers= sizes the default local pool; it cannot go with executor=")
    entries, duplicates = _entries(repos)
    target = Target(out)
    target.mkdir()
    out = target.location
    done = target.done()
    result = ManyResult(out, duplicates=duplicates)
    todo = []
    for rid, identity, src in entries:
        marker = target.marker(rid) if rid in done else None
        if marker is not None and marker.get("identity") == identity:
            result.skipped.append(rid)
            continue
        if rid in done:  # the marker of another repository, or unreadable: not complete
            target.remove(f"{DONE}/{rid}.json")
        todo.append((rid, identity, src))
    started = time.perf_counter()
    failures = []
    own = executor is None
    pool: Executor
    if executor is None:
        context = multiprocessing.get_context()
        parent = None if context.get_start_method() == "forkserver" else os.getpid()
        pool = ProcessPoolExecutor(
            max_workers=workers or os.cpu_count() or 1,
            mp_context=context,
            initializer=_pool_worker,
            initargs=(parent,),
        )
    elif hasattr(executor, "get_executor"):  # a dask.distributed.Client
        pool = executor.get_executor()
    else:
        pool = executor
    cache = str(cache_dir) if cache_dir is not None else None
    bar = tqdm(
        total=len(todo),
        unit="repo",
        desc="repositories",
        disable=progress is False or (progress is None and not sys.stderr.isatty()),
    )
    try:
        futures = {}
        for rid, identity, src in todo:
            args = (src, str(out), tuple(tables), cache, timeout, rid, identity)
            with main_script_hidden():  # a pool of ours starts its workers on demand
                futures[pool.submit(_task, os.getpid(), *args)] = rid, src
        for future in as_completed(futures):
            rid, src = futures[future]
            try:
                r = future.result()
            except Exception as exc:  # the worker itself died (killed, out of memory, ...)
                r = _failed(src, rid, f"worker lost: {type(exc).__name__}: {exc}", started)
            if r["status"] == "done":
                result.mined.append(rid)
                for table, n in r["rows"].items():
                    result.rows[table] = result.rows.get(table, 0) + n
            else:
                failures.append(
                    {
                        "id": rid,
                        "source": src,
                        "reason": r["reason"],
                        "seconds": r["seconds"],
                        "failed_at": _now(),
                    }
                )
                _write_failures(target, failures)
            bar.update(1)
            bar.set_postfix(commits=result.rows.get("commits", 0), failed=len(failures))
    finally:
        bar.close()
        if own:
            pool.shutdown(cancel_futures=True)
    _write_failures(target, failures)
    result.failures = pd.DataFrame(
        failures, columns=["id", "source", "reason", "seconds", "failed_at"]
    )
    result.seconds = time.perf_counter() - started
    return result


def _entries(
    repos: Iterable[str],
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """``(id, identity, source)`` of each repository once, and ``(source, same_as)`` of the
    entries left out as the same repository as an earlier one."""
    if isinstance(repos, str | os.PathLike):
        raise InputError("repos must be a list of paths or URLs, not a single string")
    first: dict[str, str] = {}
    out, duplicates = [], []
    for line in repos:
        source = re.sub(r"(^|\s)#.*", "", str(line)).strip()
        if not source:
            continue
        identity, rid = identify(source)
        if identity in first:
            duplicates.append((source, first[identity]))
            continue
        first[identity] = source
        out.append((rid, identity, source))
    if not out:
        raise InputError("no repositories given")
    return out, duplicates


def _write_failures(target: Target, failures: list[dict]) -> None:
    if not failures:
        target.remove(FAILURES)
        return
    buf = io.BytesIO()
    pd.DataFrame(failures).to_parquet(buf, index=False)
    target.write_bytes(FAILURES, buf.getvalue())


if __name__ == "__main__":  # the child process of mine_one(..., timeout=...)
    source, out, tables, cache_dir, rid, identity, parent = json.loads(sys.argv[1])
    signal.signal(signal.SIGTERM, _exit_orphaned)
    _watch_parent(parent, signal.SIGTERM)
    started = time.perf_counter()
    print(json.dumps(_mine_here(source, out, tuple(tables), cache_dir, rid, identity, started)))
