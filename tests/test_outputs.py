"""Outputs are checked before the work and written whole; a full disk or an interrupt at any
moment gives one line and an exit code, never a truncated file or an internal error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

TINY_KB = 384


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "aiimpact.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


@pytest.fixture
def history(build):
    """3,000 commits with long messages: a cache of several hundred KB."""
    b = build("big")
    for i in range(3000):
        b.commit(
            f"commit number {i} " + "with a longer message " * 8, {f"f{i % 50}.txt": f"{i}\n" * 20}
        )
    b.close()
    return b.path


@pytest.fixture
def tiny_fs(tmp_path):
    """A real file system of TINY_KB KiB (tmpfs; needs root), unmounted afterwards."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TINY_KB}k", "tmpfs", str(mount)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(mount: Path, leave_kb: int = 0) -> None:
    """Use up the file system's free space but *leave_kb* KiB."""
    stat = os.statvfs(mount)
    free = stat.f_bavail * stat.f_frsize - leave_kb * 1024
    with open(mount / "filler", "wb") as f:
        f.write(b"\0" * max(free, 0))


def test_a_full_disk_keeps_the_previous_output(history, tiny_fs, tmp_path, build):
    small = build("small")
    for i in range(5):
        small.commit(f"c{i}", {"a.txt": f"{i}\n"})
    small.close()
    out = tiny_fs / "commits.csv"
    cache = tmp_path / "cache"
    assert _cli("mine", str(small.path), "-o", str(out), "--cache-dir", str(cache)).returncode == 0
    before = out.read_bytes()
    assert len(pd.read_csv(out)) == 5
    _fill(tiny_fs)
    done = _cli("mine", str(history), "-o", str(out), "--cache-dir", str(cache))
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert (
        last
        == f"aiimpact: error: cannot write {out}: no space left on device; it is left as it was"
    )
    assert out.read_bytes() == before
    assert sorted(p.name for p in tiny_fs.iterdir()) == ["commits.csv", "filler"]  # no leftovers


def test_a_full_disk_under_the_cache_is_bad_input_and_a_rerun_resumes(history, tiny_fs):
    cache = tiny_fs / "cache"
    done = _cli("mine", str(history), "--cache-dir", str(cache), "--no-progress")
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(f"aiimpact: error: cannot write the cache {cache}")
    )
    assert "no space left on device" in done.stderr
    subprocess.run(["mount", "-o", "remount,size=16m", str(tiny_fs)], check=True)
    again = _cli("mine", str(history), "--cache-dir", str(cache), "--no-progress")
    assert again.returncode == 0, again.stderr
    assert "3000 commits" in again.stderr


@pytest.mark.parametrize("what", ["output", "cache"])
def test_unwritable_places_are_refused_before_any_mining(history, tmp_path, what):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    args = ["mine", str(history)]
    if what == "output":
        args += ["-o", str(blocker / "out.parquet")]
        expected = f"output {blocker / 'out.parquet'} cannot be written: {blocker} is a file"
    else:
        args += ["--cache-dir", str(blocker)]
        expected = f"cache dir {blocker} is a file, not a directory"
    t0 = time.monotonic()
    done = _cli(*args, "--no-progress")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"aiimpact: error: {expected}"]
    assert "mining" not in done.stderr and time.monotonic() - t0 < 20


def test_a_bad_output_suffix_is_refused_before_any_mining(history, tmp_path):
    done = _cli("mine", str(history), "-o", str(tmp_path / "out.xlsx"), "--no-progress")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"aiimpact: error: output {tmp_path / 'out.xlsx'} must end in .parquet, .csv or .json"
    ]


def _has_cache_open(pid: int, cache: Path) -> bool:
    try:
        return any(
            os.readlink(f"/proc/{pid}/fd/{fd}").startswith(str(cache))
            for fd in os.listdir(f"/proc/{pid}/fd")
        )
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc")
def test_sigint_at_any_moment_exits_130_and_the_cache_stays_usable(history, tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "AIIMPACT_CACHE_DIR": str(cache)}
    args = [sys.executable, "-m", "aiimpact.cli", "mine", str(history), "--no-progress"]
    for delay in (0.0, 0.1, 0.2, 0.4, 0.7, 1.0):
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 60
        while not _has_cache_open(proc.pid, cache) and time.monotonic() < deadline:
            time.sleep(0.01)  # past Python's own start-up and imports
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        text = err.decode()
        finished = "3000 commits" in text  # a signal during interpreter exit ends it so
        assert proc.returncode in (0, 130) or (proc.returncode == -2 and finished), text
        assert "internal error" not in text and "Traceback" not in text, text
    done = _cli("mine", str(history), "--no-progress", env=env)
    assert done.returncode == 0 and "3000 commits" in done.stderr, done.stderr


def test_prs_checks_its_output_directory_before_any_request(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    env = {**os.environ, "GITHUB_TOKEN": "t"}
    done = _cli(
        "prs", "owner/name", "--api-url", "http://127.0.0.1:9", "-o", str(blocker / "prs"), env=env
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"aiimpact: error: output directory {blocker / 'prs'} cannot be created: "
        f"{blocker} is a file"
    ]
