"""The line history follows renamed files as ``git blame -M`` does.

Each fix below deletes or modifies lines of files that were renamed earlier (some with
short lines, some with lines identical to another file's); the commits whose lines it
deleted are written beside it, and checked against ``git blame -w -M -C`` at the fix's
parent as well.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from conftest import git

import aiimpact as ai

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
A_C = "int f(int x) {\n    if (x > 0) {\n        return 0;\n    }\n    return compute(x);\n}\n"
B_C = "int g(int y) {\n    return compute(x);\n}\n"


def _deleted_from(history, fix: str) -> set[str]:
    counts = history.deleted_from.get(history.commits.index(fix), {})
    return {history.commits[c] for c, n in counts.items() if n}


def _blamed(repo_path, fix: str) -> set[str]:
    """What git blame -w -M -C at the fix's parent names for each line the fix removes."""
    diff = git(repo_path, "diff", "-M", "-U0", "--no-color", f"{fix}^", fix)
    names: set[str] = set()
    path = None
    for line in diff.splitlines():
        if line.startswith("--- "):
            path = None if line == "--- /dev/null" else line[6:].rstrip("\t")
        m = re.match(r"@@ -(\d+)(?:,(\d+))? ", line)
        if m and path and int(m[2] or 1):
            first, n = int(m[1]), int(m[2] or 1)
            out = git(
                repo_path,
                "blame",
                "-w",
                "-M",
                "-C",
                "--porcelain",
                f"-L{first},{first + n - 1}",
                f"{fix}^",
                "--",
                path,
            )
            names |= set(re.findall(r"^([0-9a-f]{40}) \d+ \d+", out, re.M))
    return names


def test_renamed_files_keep_their_lines_short_and_shared_ones_too(build):
    b = build("renames", start=START, step=timedelta(days=1))
    c1 = b.commit("Add a.c", {"a.c": A_C})
    c2 = b.commit("Add b.c", {"b.c": B_C})
    b.commit("Move both to src/", {"a.c": None, "b.c": None, "src/a.c": A_C, "src/b.c": B_C})
    changed = A_C.replace("return 0;", "return 1;").replace("compute(x)", "compute2(x)")
    fix1 = b.commit("Fix f's result", {"src/a.c": changed})
    # a rename with a change in the same commit, into a path with a space
    renamed = B_C.replace("int g(int y)", "long g(int y)")
    c5 = b.commit("Rename and widen g", {"src/b.c": None, "src/my file.c": renamed})
    fix2 = b.commit("Fix g", {"src/my file.c": renamed.replace("compute(x)", "compute(y)")})
    b.close()
    history = ai.Repo(b.path).lines()
    expected = {fix1: {c1}, fix2: {c2}}  # blame names the commits that wrote the lines
    for fix, want in expected.items():
        assert _deleted_from(history, fix) == want, fix
        assert _blamed(b.path, fix) == want, fix
    # nothing the renames moved was reborn: c1 and c2 wrote every line that still lives
    # or was fixed, and the renaming commit only its own change
    assert history.added[history.commits.index(c5)] == 1
    assert history.added[history.commits.index(b.tip())] == 1
    alive = {history.commits[c]: n for c, n in history.alive_at_tip.items()}
    assert alive == {c1: 4, c2: 1, c5: 1, fix1: 2, fix2: 1}


def test_identical_moved_lines_prefer_their_own_file(build):
    """Two files lose the same long line in one commit and one of them gets it back: the
    line it gets is its own (not the other file's), as blame -M within a file says."""
    line = "    total = accumulate(values, start);\n"
    b = build("moves", start=START, step=timedelta(days=1))
    rest = "    one = 1\n    two = 2\n    return total\n"
    c1 = b.commit("Add x", {"x.py": "def x():\n" + line + rest})
    c2 = b.commit("Add y", {"y.py": "def y():\n" + line + "    return total\n"})
    # both lose the line; x gets it back two lines lower (a move within x)
    moved = "def x():\n    one = 1\n    two = 2\n" + line + "    return total\n"
    b.commit("Reorder", {"x.py": moved, "y.py": "def y():\n    return total\n"})
    fix = b.commit("Fix x", {"x.py": moved.replace("accumulate", "sum_all")})
    b.close()
    history = ai.Repo(b.path).lines()
    assert _deleted_from(history, fix) == {c1}
    assert _blamed(b.path, fix) == {c1}
    assert c2 not in _deleted_from(history, fix)


def test_a_parent_git_never_listed_raises_instead_of_starting_empty():
    from collections import Counter

    from aiimpact.errors import GitCommandError
    from aiimpact.git.patches import Patch
    from aiimpact.outcomes.lines import LineHistory

    orphan = Patch("b" * 40, ["a" * 40], 0, {})
    try:
        LineHistory().replay(iter([orphan]), Counter({"a" * 40: 1}))
    except GitCommandError as exc:
        assert "a" * 40 in str(exc)
    else:
        raise AssertionError("a commit whose parent was never replayed was replayed from empty")


def test_the_patch_parser_on_recorded_git_log_text(build):
    """parse_patches on git's own output: renames (a pure one has no hunks), a path with a
    space (git puts a tab after it in ---/+++), a quoted path, and a deletion."""
    from aiimpact.git.patches import parse_patches

    b = build("recorded", start=START, step=timedelta(days=1))
    first = b.commit("Add", {"a.c": A_C, "tab\there.txt": "x\n", "gone.txt": "bye\n"})
    b.commit("Move", {"a.c": None, "src/my file.c": A_C})
    last = b.commit(
        "Edit and delete",
        {
            "src/my file.c": A_C.replace("return 0;", "return 2;"),
            "tab\there.txt": "y\n",
            "gone.txt": None,
        },
    )
    b.close()
    text = git(
        b.path,
        "log",
        "-p",
        "-U0",
        "-M",
        "--diff-merges=first-parent",
        "--topo-order",
        "--reverse",
        "--format=%x00%H %P%x00%ct",
        "HEAD",
    )
    assert "+++ b/src/my file.c\t" in text and '"b/tab\\there.txt"' in text
    patches = list(parse_patches(line + b"\n" for line in text.encode().split(b"\n")))
    assert [p.sha for p in patches][::2] == [first, last]
    add, move, edit = patches
    assert set(add.files) == {"a.c", "tab\there.txt", "gone.txt"} and not add.renames
    assert move.renames == {"src/my file.c": "a.c"} and move.files == {}
    assert set(edit.files) == {"src/my file.c", "tab\there.txt", "gone.txt"}
    (hunk,) = edit.files["src/my file.c"]
    assert (hunk.old_start, hunk.old_len, hunk.removed, hunk.added) == (
        3,
        1,
        [b"-        return 0;\n"],
        [b"+        return 2;\n"],
    )
    assert edit.files["gone.txt"][0].removed == [b"-bye\n"] and edit.parents == [move.sha]
