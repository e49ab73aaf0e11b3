"""``ai.mine_many``: the same mining over many repositories, on any executor.

Each repository is mined by :func:`mine_one`, a plain top-level function with no shared
state, so it runs in a local process pool, on a Dask cluster (``client.get_executor()``), or
anywhere a ``concurrent.futures.Executor`` runs functions. Each writes its tables as one
partition of a Parquet dataset::

    out/<table>/repo=<id>/part-0.parquet     (the files omit the repo column: it is the
                                              partition value, read back as ``repo``)
    out/_done/<id>.json                      (written last: the repository is complete)
    out/_failures.parquet                    (id, source, reason, seconds, failed_at)

A partition is written to a temporary directory and renamed into place, and the marker
comes after every table, so a killed run leaves no half-written repository behind: the
next run skips what is complete and retries the rest (failures included).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from aiimpact.errors import InputError

TABLES = ("commits", "file_changes", "outcomes", "reverts", "szz")
DONE, FAILURES = "_done", "_failures.parquet"


def repo_id(source: str) -> str:
    """A partition-safe id for a path or URL: ``owner__name`` for a URL, the directory name
    for a path (characters other than letters, digits, ``._-`` become ``_``).

    Examples
    --------
    >>> repo_id("https://github.com/aider-ai/aider.git")
    'aider-ai__aider'
    >>> repo_id("/data/repos/linux/")
    'linux'
    """
    text = source.strip().rstrip("/")
    if re.match(r"^[a-z+]+://|^[\w.-]+@[\w.-]+:", text):
        text = re.sub(r"\.git$", "", text)
        parts = re.split(r"[/:]", text)
        text = "__".join(p for p in parts[-2:] if p)
    else:
        text = Path(text).name
        text = re.sub(r"\.git$", "", text) or text
    return re.sub(r"[^A-Za-z0-9._-]", "_", text) or "repo"


def mine_one(
    source: str,
    out: str,
    tables: Sequence[str] = ("commits", "outcomes"),
    cache_dir: str | None = None,
    timeout: float | None = None,
    rid: str | None = None,
) -> dict:
    """Mine one repository into *out* and return a summary dict (never raises).

    With *timeout*, the work runs in a child process that is killed when the time is up.
    The result has ``id, source, status ("done" or "failed"), reason, rows, seconds``.
    """
    rid = rid or repo_id(source)
    started = time.perf_counter()
    if timeout is None:
        return _mine_here(source, out, tuple(tables), cache_dir, rid, started)
    args = json.dumps([source, out, list(tables), cache_dir, rid])
    proc = subprocess.Popen([sys.executable, "-m", "aiimpact.parallel", args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
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


def _mine_here(source, out, tables, cache_dir, rid, started) -> dict:
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
    result = {"id": rid, "source": source, "status": "done", "reason": None, "rows": rows,
              "seconds": round(time.perf_counter() - started, 3)}  # fmt: skip
    target.write_bytes(f"{DONE}/{rid}.json", json.dumps({**result, "finished_at": _now()}).encode())
    return result


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
        import pyarrow as pa
        import pyarrow.parquet as pq

        data = pa.Table.from_pandas(df.drop(columns=["repo"], errors="ignore"),
                                    preserve_index=False)  # fmt: skip
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
    return {"id": rid, "source": source, "status": "failed", "reason": reason, "rows": {},
            "seconds": round(time.perf_counter() - started, 3)}  # fmt: skip


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
    """

    out: Path | str
    mined: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def __repr__(self) -> str:
        return (f"ManyResult({self.out}: {len(self.mined)} mined, {len(self.skipped)} already "
                f"complete, {len(self.failures)} failed, rows {self.rows}, "
                f"{self.seconds:.1f} s)")  # fmt: skip


def mine_many(
    repos: Iterable[str],
    executor: Executor | None = None,
    out: str | os.PathLike = "aiimpact-dataset",
    tables: Sequence[str] = ("commits", "outcomes"),
    cache_dir: str | os.PathLike | None = None,
    timeout: float | None = None,
    progress: bool | None = None,
) -> ManyResult:
    """Mine many repositories into a Parquet dataset partitioned by repository.

    Parameters
    ----------
    repos : iterable of str
        Paths or URLs (URLs are cloned into the cache). Ids come from :func:`repo_id`;
        duplicates get ``-2``, ``-3``...
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Where to run; default a local process pool with one process per CPU. A Dask
        ``Client`` is used through ``client.get_executor()``.
    out : path or URL
        Dataset directory (see the module docstring for the layout), or an fsspec URL
        (``s3://bucket/dataset``) that every worker can write to.
    tables : sequence of str
        Any of ``commits, file_changes, outcomes, reverts, szz``.
    cache_dir : path, optional
        Mining cache of every repository (must be shared storage on a cluster).
    timeout : float, optional
        Seconds per repository; a repository still running is killed and recorded as failed.
    progress : bool, optional
        A bar on stderr (repositories done, commits mined, failures); default: on a terminal.

    Returns
    -------
    ManyResult

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
    entries = _entries(repos)
    target = Target(out)
    target.mkdir()
    out = target.location
    done = target.done()
    todo = [(rid, src) for rid, src in entries if rid not in done]
    result = ManyResult(out, skipped=[rid for rid, _ in entries if rid in done])
    started = time.perf_counter()
    failures = []
    own = executor is None
    if own:
        executor = ProcessPoolExecutor(max_workers=os.cpu_count() or 1)
    elif hasattr(executor, "get_executor"):  # a dask.distributed.Client
        executor = executor.get_executor()
    cache = str(cache_dir) if cache_dir is not None else None
    bar = tqdm(total=len(todo), unit="repo", desc="repositories", disable=progress is False
               or (progress is None and not sys.stderr.isatty()))  # fmt: skip
    try:
        futures = {executor.submit(mine_one, src, str(out), tuple(tables), cache, timeout, rid):
                   (rid, src) for rid, src in todo}  # fmt: skip
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
                failures.append({"id": rid, "source": src, "reason": r["reason"],
                                 "seconds": r["seconds"], "failed_at": _now()})  # fmt: skip
                _write_failures(target, failures)
            bar.update(1)
            bar.set_postfix(commits=result.rows.get("commits", 0), failed=len(failures))
    finally:
        bar.close()
        if own:
            executor.shutdown(cancel_futures=True)
    _write_failures(target, failures)
    result.failures = pd.DataFrame(failures, columns=["id", "source", "reason", "seconds",
                                                      "failed_at"])  # fmt: skip
    result.seconds = time.perf_counter() - started
    return result


def _entries(repos: Iterable[str]) -> list[tuple[str, str]]:
    if isinstance(repos, str | os.PathLike):
        raise InputError("repos must be a list of paths or URLs, not a single string")
    seen: dict[str, int] = {}
    out = []
    for source in repos:
        source = str(source).strip()
        if not source or source.startswith("#"):
            continue
        rid = repo_id(source)
        seen[rid] = seen.get(rid, 0) + 1
        out.append((rid if seen[rid] == 1 else f"{rid}-{seen[rid]}", source))
    if not out:
        raise InputError("no repositories given")
    return out


def _write_failures(target: Target, failures: list[dict]) -> None:
    if not failures:
        target.remove(FAILURES)
        return
    buf = io.BytesIO()
    pd.DataFrame(failures).to_parquet(buf, index=False)
    target.write_bytes(FAILURES, buf.getvalue())


if __name__ == "__main__":  # the child process of mine_one(..., timeout=...)
    source, out, tables, cache_dir, rid = json.loads(sys.argv[1])
    print(json.dumps(_mine_here(source, out, tuple(tables), cache_dir, rid, time.perf_counter())))
