"""mine_many against hostile lists and runs: duplicates, same-named repositories, foreign
markers, bad options, comments, URL outputs, and a parent killed with SIGKILL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import fsspec
import pandas as pd
import pytest

import aiimpact as ai
from aiimpact.cli import main
from aiimpact.errors import InputError
from aiimpact.git.identity import repo_id, repo_identity


def count(path) -> int:
    out = subprocess.run(
        ["git", "-C", str(path), "rev-list", "--count", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout)


def mine(sources, out, **kw) -> ai.parallel.ManyResult:
    with ThreadPoolExecutor(2) as pool:
        return ai.mine_many([str(s) for s in sources], executor=pool, out=out, progress=False, **kw)


def partitions(out: Path) -> dict[str, int]:
    commits = pd.read_parquet(out / "commits")
    return commits.groupby(commits.repo.astype(str)).size().to_dict()


@pytest.fixture(scope="module")
def same_name(tmp_path_factory):
    """Two different repositories that are both called ``proj``."""
    root = tmp_path_factory.mktemp("same-name")
    a = ai.synth.make_repo(root / "a" / "proj", n_commits=20, seed=1).path
    b = ai.synth.make_repo(root / "b" / "proj", n_commits=35, seed=2).path
    return Path(a), Path(b)


def test_ids_are_stable_readable_and_apart(same_name, tmp_path):
    a, b = same_name
    link = tmp_path / "link"
    link.symlink_to(a)
    spellings = [str(a), f"{a}/", f"{a}//", str(a / ".git"), str(link), f"file://{a}"]
    assert {repo_id(s) for s in spellings} == {repo_id(str(a))}
    assert repo_identity(f"{a}/") == os.path.realpath(a / ".git")
    assert repo_id(str(a)) != repo_id(str(b))
    assert repo_id(str(a)).startswith("proj-") and repo_id(str(b)).startswith("proj-")
    urls = [
        "https://github.com/o/r",
        "https://github.com/o/r.git/",
        "git@github.com:o/r.git",
        "ssh://git@GitHub.com/o/r",
        "https://user:secret@github.com/o/r",
    ]
    assert {repo_identity(u) for u in urls} == {"github.com/o/r"}
    assert {repo_id(u) for u in urls} == {repo_id(urls[0])}
    assert repo_id(urls[0]).startswith("o__r-")


def test_one_repository_listed_twice_is_mined_once(same_name, tmp_path):
    a, _ = same_name
    out = tmp_path / "out"
    result = mine([a, f"{a}/"], out)
    assert result.mined == [repo_id(str(a))] and result.failures.empty
    assert result.duplicates == [(f"{a}/", str(a))]
    assert "1 duplicates left out" in repr(result)
    assert partitions(out) == {repo_id(str(a)): count(a)}


def test_same_directory_name_is_two_repositories_in_any_order(same_name, tmp_path):
    a, b = same_name
    out = tmp_path / "out"
    first = mine([a], out)
    assert first.mined == [repo_id(str(a))]
    # the other "proj", listed first on the rerun, is mined; the first one is not rewritten
    written = (out / "commits" / f"repo={repo_id(str(a))}" / "part-0.parquet").stat().st_mtime_ns
    second = mine([b, a], out)
    assert second.mined == [repo_id(str(b))] and second.skipped == [repo_id(str(a))]
    assert (out / "commits" / f"repo={repo_id(str(a))}" / "part-0.parquet").stat().st_mtime_ns == (
        written
    )
    assert partitions(out) == {repo_id(str(a)): count(a), repo_id(str(b)): count(b)}
    third = mine([a, b], out)
    assert third.mined == [] and sorted(third.skipped) == sorted([repo_id(str(a)), repo_id(str(b))])
    for path in (a, b):
        marker = json.loads((out / "_done" / f"{repo_id(str(path))}.json").read_text())
        assert marker["identity"] == repo_identity(str(path)) == os.path.realpath(path / ".git")


def test_a_marker_of_another_repository_is_not_trusted(same_name, tmp_path):
    a, b = same_name
    out = tmp_path / "out"
    mine([a], out)
    marker = out / "_done" / f"{repo_id(str(a))}.json"
    for forged in ({"identity": repo_identity(str(b))}, {}):  # another repository; none recorded
        data = json.loads(marker.read_text())
        data.pop("identity")
        marker.write_text(json.dumps({**data, **forged}))
        again = mine([a], out)
        assert again.mined == [repo_id(str(a))] and again.skipped == []
        assert json.loads(marker.read_text())["identity"] == repo_identity(str(a))
    marker.write_text("{not json")
    assert mine([a], out).mined == [repo_id(str(a))]
    assert mine([a], out).skipped == [repo_id(str(a))]
    assert partitions(out) == {repo_id(str(a)): count(a)}


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": -1},
        {"timeout": 0},
        {"timeout": float("nan")},
        {"timeout": "10"},
        {"workers": 0},
        {"workers": -2},
        {"workers": 1.5},
    ],
)
def test_bad_timeout_and_workers_are_input_errors(options, tmp_path):
    with pytest.raises(InputError, match=r"(timeout|workers) must be"):
        ai.mine_many(["some/repo"], out=tmp_path / "out", progress=False, **options)
    assert not (tmp_path / "out").exists(), "rejected before anything is written"


def test_workers_with_an_executor_is_an_input_error(tmp_path):
    with ThreadPoolExecutor(1) as pool, pytest.raises(InputError, match="workers="):
        ai.mine_many(["some/repo"], executor=pool, workers=2, out=tmp_path / "out")


@pytest.mark.parametrize(
    "option", [["--timeout", "-5"], ["--timeout", "0"], ["--workers", "0"], ["--workers", "-1"]]
)
def test_cli_rejects_bad_timeout_and_workers(option, tmp_path, capsys):
    listing = tmp_path / "repos.txt"
    listing.write_text("some/repo\n")
    assert main(["mine-many", str(listing), "-o", str(tmp_path / "out"), *option]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and option[0][2:] in err
    assert not (tmp_path / "out").exists()


def test_cli_workers_and_scheduler_exclude_each_other(tmp_path, capsys):
    listing = tmp_path / "repos.txt"
    listing.write_text("some/repo\n")
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "mine-many",
                str(listing),
                "-o",
                str(tmp_path / "out"),
                "--workers",
                "2",
                "--scheduler",
                "tcp://127.0.0.1:1",
            ]
        )
    assert exit_.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_cli_list_file_comments(same_name, tmp_path, capsys):
    a, b = same_name
    listing = tmp_path / "repos.txt"
    listing.write_text(
        f"# header\n{a}   # the first proj\n\n   \n  # indented comment\n"
        f"{b}\t# the other one\n{a}/ # again, with a slash\n"
    )
    out = tmp_path / "out"
    assert (
        main(
            [
                "mine-many",
                str(listing),
                "-o",
                str(out),
                "--workers",
                "1",
                "--no-progress",
                "--tables",
                "commits",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "2 repositories mined" in err and "0 failed" in err and "failed:" not in err
    assert f"duplicate: {a}/ is the same repository as {a}; mined once" in err
    assert partitions(out) == {repo_id(str(a)): count(a), repo_id(str(b)): count(b)}


def test_cli_summary_with_an_fsspec_output_url(tmp_path, capsys):
    url = "memory://aiimpact-hostile/dataset"
    listing = tmp_path / "repos.txt"
    listing.write_text(f"{tmp_path / 'missing'}\n")
    fs = fsspec.filesystem("memory")
    try:
        assert main(["mine-many", str(listing), "-o", url, "--workers", "1", "--no-progress"]) == 0
        err = capsys.readouterr().err
        assert f"1 failed ({url}/_failures.parquet)" in err
        assert "does not exist" in err
        with fs.open("/aiimpact-hostile/dataset/_failures.parquet", "rb") as f:
            assert list(pd.read_parquet(f).id) == [repo_id(str(tmp_path / "missing"))]
    finally:
        if fs.exists("/aiimpact-hostile"):
            fs.rm("/aiimpact-hostile", recursive=True)


# -- a parent killed with SIGKILL ---------------------------------------------------------


def _proc_table() -> dict[int, list[tuple[int, str, str]]]:
    """ppid -> [(pid, start time, state)] of every process (Linux /proc)."""
    table: dict[int, list[tuple[int, str, str]]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table.setdefault(int(fields[1]), []).append((int(stat.parent.name), fields[19], fields[0]))
    return table


def _descendants(pid: int) -> dict[int, str]:
    """pid -> start time of every live process below *pid*."""
    table, found, todo = _proc_table(), {}, [pid]
    while todo:
        for child, start, state in table.get(todo.pop(), []):
            if state != "Z":
                found[child] = start
                todo.append(child)
    return found


def _alive(pid: int, start: str) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[19] == start and fields[0] != "Z"


@pytest.fixture(scope="module")
def slow_sources(tmp_path_factory):
    """Six copies of a repository that takes a worker about a second to mine."""
    root = tmp_path_factory.mktemp("slow")
    first = ai.synth.make_repo(root / "slow0", n_commits=400, seed=3).path
    paths = [str(first)]
    for i in range(1, 6):
        shutil.copytree(first, root / f"slow{i}", symlinks=True)
        paths.append(str(root / f"slow{i}"))
    return paths


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(("pool", "timeout"), [("own", None), ("own", 60), ("caller's", None)])
def test_killed_parent_takes_its_workers_along(slow_sources, tmp_path, pool, timeout):
    sources = list(slow_sources)
    hang = socket.socket()
    if timeout:  # one worker is stuck in a clone (a timeout child and its git) meanwhile
        hang.bind(("127.0.0.1", 0))
        hang.listen(4)
        threading.Thread(target=lambda: [hang.accept() for _ in range(4)], daemon=True).start()
        sources.insert(0, f"http://127.0.0.1:{hang.getsockname()[1]}/stuck/never.git")
    listing = tmp_path / "repos.txt"
    listing.write_text("\n".join(sources))
    out, log = tmp_path / "out", tmp_path / "stderr.txt"
    argv = [
        sys.executable,
        "-m",
        "aiimpact",
        "mine-many",
        str(listing),
        "-o",
        str(out),
        "--workers",
        "2",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--no-progress",
    ]
    argv += ["--timeout", str(timeout)] if timeout else []
    if pool == "caller's":  # a ProcessPoolExecutor made by the caller, as in test_many.py
        code = (
            "import sys, aiimpact as ai; from concurrent.futures import ProcessPoolExecutor as P;"
            "ai.mine_many(open(sys.argv[1]).read().splitlines(), out=sys.argv[2], "
            "executor=P(2), cache_dir=sys.argv[3], progress=False)"
        )
        argv = [sys.executable, "-c", code, str(listing), str(out), str(tmp_path / "cache")]
    with log.open("w") as err:
        proc = subprocess.Popen(argv, stderr=err)
    done = out / "_done"
    workers: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(done.glob("*.json")) and proc.poll() is None:
            time.sleep(0.05)
        assert list(done.glob("*.json")), log.read_text()
        workers = _descendants(proc.pid)
        assert len(workers) >= 2 + (2 if timeout else 0), workers  # pool (+ timeout children)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed = time.monotonic()
        markers = {p.name for p in done.glob("*.json")}
        assert len(markers) < len(slow_sources)
        while time.monotonic() < killed + 10 and any(_alive(*w) for w in workers.items()):
            time.sleep(0.05)
        gone = time.monotonic() - killed
        left = {pid for pid, start in workers.items() if _alive(pid, start)}
        time.sleep(max(0.0, killed + 5 - time.monotonic()))  # the in-flight repositories' time
        assert {p.name for p in done.glob("*.json")} == markers, "a marker after the kill"
        assert not left, f"processes left after the parent was killed: {left}"
        assert gone < 5, f"the workers took {gone:.1f} s to exit"
    finally:
        proc.kill()
        proc.wait()
        for pid, start in workers.items():
            if _alive(pid, start):
                os.kill(pid, signal.SIGKILL)
        hang.close()
