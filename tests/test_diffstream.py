"""The diff-tree stream parser, on recorded git output cut at every kind of boundary."""

from __future__ import annotations

import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_walk_agreement import build_zoo

from aiimpact.git.diffstream import _Parser


def _recorded(build, renames: bool) -> tuple[bytes, list[str]]:
    b = build_zoo(build)
    log = subprocess.run(
        ["git", "-C", str(b.path), "log", "--format=%H %P"], capture_output=True, check=True
    ).stdout.decode()
    pairs = [line.split()[:2] for line in log.splitlines()]
    feed = "".join(f"{p[0]} {p[1] if len(p) > 1 else ''}\n" for p in pairs)
    args = ["diff-tree", "--stdin", "--always", "--raw", "--numstat", "-r", "--root", "-z"]
    args.append("-M" if renames else "--no-renames")
    out = subprocess.run(
        ["git", "-C", str(b.path), *args], input=feed.encode(), capture_output=True, check=True
    ).stdout
    return out, [p[0] for p in pairs]


def _parse(chunks) -> list:
    parser = _Parser()
    done = [d for chunk in chunks for d in parser.feed(chunk)]
    last = parser.close()
    return [*done, last] if last else done


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cuts=st.lists(st.integers(0, 10**6), max_size=40), renames=st.booleans())
def test_any_chunking_parses_the_same(build, cuts, renames):
    out, shas = _recorded(build, renames)
    whole = _parse([out])
    assert [d.sha for d in whole] == shas
    points = sorted({c % (len(out) + 1) for c in cuts})
    pieces = [out[a:b] for a, b in zip([0, *points], [*points, len(out)], strict=True)]
    assert _parse(pieces) == whole


def test_byte_by_byte_and_rename_entries(build):
    out, shas = _recorded(build, renames=True)
    whole = _parse([out])
    assert [d.sha for d in whole] == shas
    assert _parse([out[i : i + 1] for i in range(len(out))]) == whole
    renamed = [f for d in whole for f in d.files if f.change_type == "R"]
    assert {(f.old_path, f.path) for f in renamed} == {("a.txt", "b.txt"), ("b.txt", "c.txt")}
    hexname = [f for d in whole for f in d.files if f.path == "0123456789abcdef" * 2 + "01234567"]
    assert len(hexname) == 1  # a path that looks like a sha is not a commit header
