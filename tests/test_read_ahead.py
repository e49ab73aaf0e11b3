"""The read-ahead of git's output: the same lines as reading the pipe, a bound on what it
holds, read errors raised, and git stopped when its consumer stops early."""

from __future__ import annotations

import gc
import io
import os
import random
import threading
import time
from pathlib import Path

import pytest

from aiimpact.git.ahead import ReadAhead
from aiimpact.git.patches import stream_patches
from aiimpact.git.safety import GitStream


class Chunks(io.RawIOBase):
    """A pipe that gives one preset chunk per read (then raises *error*, if any)."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None) -> None:
        self.chunks, self.error, self.reads = list(chunks), error, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if not self.chunks:
            if self.error is not None:
                raise self.error
            return 0
        chunk = self.chunks.pop(0)
        self.reads += 1
        buffer[: len(chunk)] = chunk
        return len(chunk)


def ahead_of(raw: Chunks, limit: int = 1 << 20) -> ReadAhead:
    reader = ReadAhead(io.BufferedReader(raw, buffer_size=1 << 16), limit)
    reader.start()
    return reader


@pytest.mark.parametrize("seed", range(20))
def test_lines_are_the_pipes_lines_however_the_chunks_fall(seed):
    rng = random.Random(seed)
    words = [b"a", b"bb\r", b"\n", b"\n\n", b"c" * 300, b"\x00d\n", b"\r\n"]
    data = b"".join(rng.choice(words) for _ in range(400))
    cuts = sorted(rng.sample(range(1, len(data)), 30))
    chunks = [data[i:j] for i, j in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    got = list(ahead_of(Chunks(chunks)).lines())
    assert got == io.BytesIO(data).readlines()  # split at b"\n" only; the last line as it is
    assert b"".join(got) == data


def test_a_line_longer_than_many_chunks_is_one_line():
    chunks = [b"x" * 1000 for _ in range(50)] + [b"\nend"]
    assert list(ahead_of(Chunks(chunks)).lines()) == [b"x" * 50_000 + b"\n", b"end"]


def test_it_holds_no_more_than_its_limit_while_the_consumer_waits():
    raw = Chunks([b"y" * 999 + b"\n" for _ in range(100)])
    reader = ahead_of(raw, limit=5000)
    for _ in range(100):  # until the thread stops reading for want of room
        before = raw.reads
        time.sleep(0.02)
        if raw.reads == before and raw.reads:
            break
    assert 5 <= raw.reads <= 6  # up to the limit, and the one chunk that crossed it
    assert len(list(reader.lines())) == 100  # then everything, as the consumer takes it
    assert raw.reads == 100


def test_a_read_error_is_raised_after_the_lines_before_it():
    reader = ahead_of(Chunks([b"one\n", b"two\n"], error=OSError("pipe broke")))
    got = []
    with pytest.raises(OSError, match="pipe broke"):
        for line in reader.lines():
            got.append(line)
    assert got == [b"one\n", b"two\n"]


def test_stop_releases_a_thread_that_waits_for_room():
    reader = ahead_of(Chunks([b"z\n" * 100 for _ in range(10)]), limit=10)
    time.sleep(0.05)
    assert reader.thread.is_alive()  # waiting for the consumer to take a chunk
    reader.stop()
    reader.thread.join(timeout=5)
    assert not reader.thread.is_alive()


def test_git_is_read_whole_and_stopped_when_its_consumer_stops(build):
    b = build()
    for i in range(30):
        b.commit(f"c{i}", {f"f{i % 3}.txt": "".join(f"line {i} {k}\n" for k in range(200))})
    b.close()
    args = ["log", "-p", "-U0", "--format=%H"]
    with GitStream(b.git_dir, args) as git:
        direct = list(git.stdout)
    with GitStream(b.git_dir, args) as git:
        assert list(git.ahead(1 << 12)) == direct
    assert len(direct) > 3000
    before = threading.active_count()
    stream = GitStream(b.git_dir, args)
    with pytest.raises(RuntimeError, match="consumer stopped"), stream:
        for _ in stream.ahead(1 << 12):
            raise RuntimeError("consumer stopped")
    assert stream.proc.returncode is not None  # git was killed and reaped
    assert not stream._ahead.thread.is_alive()
    assert threading.active_count() <= before


def git_children() -> set[int]:
    """The live git processes this test process started (Linux's /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat.split(") ")[1]
            if name == "git" and int(fields.split()[1]) == os.getpid() and fields[0] != "Z":
                found.add(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")
def test_patches_dropped_unread_stop_their_git(build):
    b = build()
    for i in range(40):
        b.commit(f"c{i}", {"f.txt": "".join(f"{i} {k}\n" for k in range(2000))})
    b.close()
    before = git_children()
    patches = stream_patches(str(b.git_dir), "HEAD")  # git starts before the first patch
    assert git_children() - before
    del patches
    gc.collect()
    assert not git_children() - before
    assert len(list(stream_patches(str(b.git_dir), "HEAD"))) == 40  # read, it is whole
