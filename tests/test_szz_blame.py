"""SZZ by per-fix blame gives the links the line history gives.

Each history below plants one situation the line history handles specially (whitespace
edits, moves, renames, merges, add-only fixes, comment and blank lines, two origins);
every commit of it is taken as a fix, and :func:`szz_by_blame` must return exactly what
:func:`szz` returns on the replay, for every variant, with and without context, with
and without issue dates.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

import aiimpact as ai
from aiimpact.errors import GitCommandError
from aiimpact.git.blame import blame_lines
from aiimpact.outcomes.lines import line_history
from aiimpact.outcomes.szz import szz
from aiimpact.outcomes.szz_blame import szz_by_blame

START = datetime(2025, 3, 3, 9, tzinfo=UTC)
DAY = timedelta(days=1)


def _body(tag: str, n: int) -> str:
    return "".join(f"value_{tag}_{i} = compute_{tag}({i})\n" for i in range(n))


# -- the histories: each returns {name: sha} of the commits a test wants to look at ------


def plain(b):
    good = b.commit("Add math", {"m.py": "def add(a, b):\n    return a + b\n"})
    bug = b.commit(
        "Add div",
        {"m.py": "def add(a, b):\n    return a + b\n\ndef div(a, b):\n    return a * b\n"},
    )
    b.commit("Docs", {"README": "math\n"})
    fixed = "def add(a, b):\n    return a + b\n\n# divide\ndef div(a, b):\n    return a / b\n"
    fix = b.commit("Fix div returning a product", {"m.py": fixed})
    b.commit("Fix missing license", {"LICENSE": "MIT\n"})
    gone = b.commit("Drop math", {"m.py": None})
    return {"good": good, "bug": bug, "fix": fix, "gone": gone}


def whitespace(b):
    code = "def f(x):\n    y = x + 1\n    return y * 2\n"
    c1 = b.commit("Add f", {"w.py": code})
    # a whitespace-only re-indent keeps the lines' births (blame -w)
    b.commit("Reindent", {"w.py": code.replace("    ", "\t")})
    tabbed = code.replace("    ", "\t")
    # the fix re-indents one line and really changes another
    fix = b.commit(
        "Fix f", {"w.py": tabbed.replace("\ty = x + 1", "  y = x + 1").replace("2", "3")}
    )
    return {"c1": c1, "fix": fix}


def moves(b):
    line = "    total = accumulate(values, start);\n"
    rest = "    one = 1\n    two = 2\n    return total\n"
    c1 = b.commit("Add x", {"x.py": "def x():\n" + line + rest})
    c2 = b.commit("Add y", {"y.py": "def y():\n" + line + "    return total\n"})
    moved = "def x():\n    one = 1\n    two = 2\n" + line + "    return total\n"
    b.commit("Reorder", {"x.py": moved, "y.py": "def y():\n    return total\n"})
    fix = b.commit("Fix x", {"x.py": moved.replace("accumulate", "sum_all")})
    # a long line moved to another file in one commit keeps its birth (long enough for
    # blame -C: 40 alphanumeric characters)
    helper = "    result = normalise_the_input_payload_before_use(payload)\n"
    c5 = b.commit("Add z", {"z.py": "def z():\n" + helper + "    return result\n"})
    b.commit(
        "Move helper",
        {"z.py": "def z():\n    return result\n", "u.py": "def u():\n" + helper},
    )
    fix2 = b.commit("Fix u", {"u.py": "def u():\n" + helper.replace("input", "payload")})
    # a fix that moves a line (not deleted) and changes another
    fix3 = b.commit(
        "Fix order",
        {"x.py": "def x():\n" + line.replace("accumulate", "sum_all") + "    one = 10\n"
         "    two = 2\n    return total\n"},
    )  # fmt: skip
    return {"c1": c1, "c2": c2, "c5": c5, "fix": fix, "fix2": fix2, "fix3": fix3}


A_C = "int f(int x) {\n    if (x > 0) {\n        return 0;\n    }\n    return compute(x);\n}\n"
B_C = "int g(int y) {\n    return compute(x);\n}\n"


def renames(b):
    c1 = b.commit("Add a.c", {"a.c": A_C})
    c2 = b.commit("Add b.c", {"b.c": B_C})
    b.commit("Move both to src/", {"a.c": None, "b.c": None, "src/a.c": A_C, "src/b.c": B_C})
    changed = A_C.replace("return 0;", "return 1;").replace("compute(x)", "compute2(x)")
    fix1 = b.commit("Fix f's result", {"src/a.c": changed})
    renamed = B_C.replace("int g(int y)", "long g(int y)")
    b.commit("Rename and widen g", {"src/b.c": None, "src/my file.c": renamed})
    fix2 = b.commit("Fix g", {"src/my file.c": renamed.replace("compute(x)", "compute(y)")})
    # a rename and a fix in one commit: blamed on the old name at the parent
    fix3 = b.commit(
        "Fix and rename f",
        {"src/a.c": None, "src/f.c": changed.replace("return 1;", "return -1;")},
    )
    return {"c1": c1, "c2": c2, "fix1": fix1, "fix2": fix2, "fix3": fix3}


def add_only(b):
    text = "first_line = 1\nsecond_line = 2\nthird_line = 3\n"
    c1 = b.commit("Add t", {"t.py": text})
    c2 = b.commit("Add more", {"t.py": text + "fourth_line = 4\n"})
    mid = b.commit("Fix missing guard", {"t.py": text.replace("2\n", "2\nif ready:\n")
                                         + "fourth_line = 4\n"})  # fmt: skip
    cur = text.replace("2\n", "2\nif ready:\n") + "fourth_line = 4\n"
    top = b.commit("Fix missing header", {"t.py": "# header\n" + cur})
    cur = "# header\n" + cur
    end = b.commit("Fix missing footer", {"t.py": cur + "footer = 5\n"})
    new = b.commit("Fix missing file", {"n.py": "brand_new = 1\n"})
    b.commit("Add empty", {"e.py": ""})
    into_empty = b.commit("Fix empty file", {"e.py": "filled = 1\n"})
    root_like = b.commit("Fix blank lines only", {"t.py": cur + "footer = 5\n\n\n"})
    return {
        "c1": c1, "c2": c2, "mid": mid, "top": top, "end": end, "new": new,
        "into_empty": into_empty, "root_like": root_like,
    }  # fmt: skip


def merged(b):
    base = b.commit("Base", {"m.py": _body("m", 4)})
    b.branch("feature")
    side = b.commit("Side work", {"s.py": _body("s", 3)}, branch="feature")
    side2 = b.commit("Side edit", {"m.py": _body("m", 4).replace("(2)", "(22)")}, branch="feature")
    main = b.commit("Main work", {"k.py": _body("k", 3)})
    merge = b.commit("Merge feature", merge=["feature"])
    fix = b.commit(
        "Fix side",
        {"s.py": _body("s", 3).replace("(1)", "(11)"), "m.py": _body("m", 4).replace("(2)", "(3)")},
    )
    # an evil merge: the merge writes a line of its own; a fix of only that line blames
    # nothing (merges are never blamed) and is a ghost fix
    b.branch("other")
    b.commit("Other", {"o.py": _body("o", 2)}, branch="other")
    evil = b.commit("Merge other", {"k.py": _body("k", 3) + "evil_line = 1\n"}, merge=["other"])
    fix_evil = b.commit("Fix evil", {"k.py": _body("k", 3) + "evil_line = 2\n"})
    # a fix that is itself a merge (diffed against its first parent)
    b.branch("third")
    b.commit("Third", {"k.py": _body("k", 3) + "evil_line = 3\n"}, branch="third")
    b.commit("Main again", {"q.py": "q = 1\n"})
    fix_merge = b.commit("Merge fix from third", merge=["third"])
    return {
        "base": base, "side": side, "side2": side2, "main": main, "merge": merge,
        "fix": fix, "evil": evil, "fix_evil": fix_evil, "fix_merge": fix_merge,
    }  # fmt: skip


def comments(b):
    code = "# the parser\nimport re\n\n// note\nparse = re.compile('x')\n    \nlimit = 10\n"
    c1 = b.commit("Add parser", {"p.py": code})
    # the fix deletes a comment and a blank line (not counted) and changes one code line
    fix = b.commit("Fix limit", {"p.py": "import re\nparse = re.compile('x')\n    \nlimit = 20\n"})
    # a fix that only deletes comments and blanks: nothing meaningful, a ghost fix
    c3 = b.commit("Add notes", {"p.py": "import re\n# one\n# two\n\nparse = re.compile('x')\n"})
    only = b.commit("Fix comment noise", {"p.py": "import re\nparse = re.compile('x')\n"})
    return {"c1": c1, "fix": fix, "c3": c3, "only": only}


def two_origins(b):
    old = b.commit("Add a", {"a.py": "alpha_value = 1\nbeta_value = 2\n"})
    new = b.commit("Add b", {"b.py": "gamma_value = 3\ndelta_value = 4\nomega_value = 5\n"})
    mixed = b.commit("Extend a", {"a.py": "alpha_value = 1\nbeta_value = 2\nzeta_value = 6\n"})
    fix = b.commit(
        "Fix both",
        {
            "a.py": "alpha_value = 10\nbeta_value = 2\nzeta_value = 60\n",
            "b.py": "gamma_value = 30\ndelta_value = 40\nomega_value = 5\n",
        },
    )
    guard = b.commit(
        "Fix missing guard",
        {"b.py": "gamma_value = 30\nif ready:\ndelta_value = 40\nomega_value = 5\n"},
    )
    # one origin's lines in two files: its path is the file holding most of them
    spread = b.commit(
        "Fix spread",
        {
            "a.py": "alpha_value = 11\nbeta_value = 22\nzeta_value = 60\n",
            "b.py": "gamma_value = 30\nif ready:\ndelta_value = 40\nomega_value = 55\n",
        },
    )
    return {"old": old, "new": new, "mixed": mixed, "fix": fix, "guard": guard, "spread": spread}


HISTORIES = [plain, whitespace, moves, renames, add_only, merged, comments, two_origins]


@pytest.fixture(params=HISTORIES, ids=[h.__name__ for h in HISTORIES])
def history(request, build, tmp_path):
    b = build(request.param.__name__, start=START, step=DAY)
    request.param(b)
    b.close()
    repo = ai.Repo(b.path, cache_dir=tmp_path / "cache")
    return repo.git_dir, repo.commits()


def _sorted(df: pd.DataFrame) -> list[tuple]:
    return sorted(df.astype(object).itertuples(index=False, name=None), key=repr)


def _both(git_dir, commits, fixes, **kw):
    merges = set(commits.loc[commits["is_merge"].astype(bool), "sha"])
    lines = line_history(git_dir, "HEAD")
    by_replay = szz(lines, fixes, merges=merges, **kw)
    by_blame = szz_by_blame(git_dir, fixes, commits, merges=merges, workers=2, **kw)
    return by_replay, by_blame


@pytest.mark.parametrize("variant", ["b", "r", "l"])
def test_blame_gives_the_links_of_the_line_history(history, variant):
    git_dir, commits = history
    fixes = list(commits["sha"])
    for context in (False, True):
        (links, ghosts), (blamed, blame_ghosts) = _both(
            git_dir, commits, fixes, variant=variant, context=context
        )
        assert list(blamed.columns) == list(links.columns)
        assert _sorted(blamed) == _sorted(links), (variant, context)
        assert blame_ghosts == ghosts
    assert len(links), "every history has something to blame (with context at least)"


def test_issue_dates_cut_the_same_candidates(history):
    git_dir, commits = history
    fixes = list(commits["sha"])
    times = dict(zip(commits["sha"], commits["commit_time"], strict=True))
    # each bug reported a day and a half before its fix: the newest candidates drop out
    dates = {s: t - 1.5 * DAY for s, t in times.items()}
    for variant in ("b", "r", "l"):
        (links, ghosts), (blamed, blame_ghosts) = _both(
            git_dir, commits, fixes, variant=variant, context=True, issue_dates=dates
        )
        assert _sorted(blamed) == _sorted(links)
        assert blame_ghosts == ghosts


def test_the_planted_answers(build, tmp_path):
    """Not only equal to the replay: right, on the cases each history plants."""
    b = build("answers", start=START, step=DAY)
    two = two_origins(b)
    b.close()
    repo = ai.Repo(b.path, cache_dir=tmp_path / "cache")
    commits = repo.commits()

    def links(fixes, **kw):
        df, ghosts = szz_by_blame(repo.git_dir, fixes, commits, merges=(), **kw)
        return set(df.iloc[:, 1:].itertuples(index=False, name=None)), ghosts

    fix, guard = two["fix"], two["guard"]
    assert links([fix]) == (
        {(fix, two["old"], "a.py", 1, "b"), (fix, two["new"], "b.py", 2, "b"),
         (fix, two["mixed"], "a.py", 1, "b")},
        [],
    )  # fmt: skip
    assert links([fix], variant="r")[0] == {(fix, two["mixed"], "a.py", 1, "r")}
    assert links([fix], variant="l")[0] == {(fix, two["new"], "b.py", 2, "l")}
    assert links([guard]) == (set(), [guard])
    assert links([guard], context=True) == ({(guard, fix, "b.py", 2, "b-context")}, [guard])
    # the issue date drops the candidates committed after it, not the context ones
    reported = {fix: pd.Timestamp(START + DAY / 2)}
    assert links([fix], issue_dates=reported)[0] == {(fix, two["old"], "a.py", 1, "b")}
    # a fix not in the commits table is skipped, as szz skips one not in the history
    assert links(["0" * 40, fix], variant="l") == ({(fix, two["new"], "b.py", 2, "l")}, [])
    with pytest.raises(ValueError, match="variant"):
        szz_by_blame(repo.git_dir, [fix], commits, merges=(), variant="x")


def test_blame_lines_names_each_line_and_fails_loudly(build, tmp_path):
    b = build("lines", start=START, step=DAY)
    c1 = b.commit("One", {"f.py": "a_line = 1\nb_line = 2\nc_line = 3\n"})
    c2 = b.commit("Two", {"f.py": "a_line = 1\nb_line = 20\nc_line = 3\n"})
    b.close()
    git_dir = str(b.path / ".git")
    assert blame_lines(git_dir, c2, "f.py", [3, 1, 2]) == {1: c1, 2: c2, 3: c1}
    assert blame_lines(git_dir, c2, "f.py", [3, 4]) == {3: c1}, "git clamps a range's end"
    assert blame_lines(git_dir, c2, "f.py", []) == {}
    with pytest.raises(GitCommandError):
        blame_lines(git_dir, c2, "nowhere.py", [1])
    with pytest.raises(GitCommandError):
        blame_lines(git_dir, c2, "f.py", [9])  # a range that starts past the end


def test_a_short_line_moved_to_another_file_is_where_the_two_part(build, tmp_path):
    """The documented difference: the replay lets a line of ten non-blank characters
    move between files with its birth; ``blame -C`` wants 40 alphanumeric characters and
    names the commit that moved it."""
    b = build("short-move", start=START, step=DAY)
    helper = "    result = normalise_the_input(payload)\n"  # 30 alphanumeric characters
    origin = b.commit("Add z", {"z.py": "def z():\n" + helper + "    return result\n"})
    mover = b.commit(
        "Move helper", {"z.py": "def z():\n    return result\n", "u.py": "def u():\n" + helper}
    )
    fix = b.commit("Fix u", {"u.py": "def u():\n" + helper.replace("input", "payload")})
    b.close()
    repo = ai.Repo(b.path, cache_dir=tmp_path / "cache")
    commits = repo.commits()
    (links, _), (blamed, _) = _both(repo.git_dir, commits, [fix])
    assert list(links.inducing_sha) == [origin]
    assert list(blamed.inducing_sha) == [mover]


def test_absent_blobs_are_skipped_as_the_line_history_skips_them(build, tmp_path):
    from conftest import git, mirror_without

    b = build("partial", start=START, step=DAY)
    c1 = b.commit("Add both", {"big.py": _body("big", 3), "m.py": _body("m", 3)})
    b.commit("Grow big", {"big.py": _body("big", 4)})
    b.commit("Grow m", {"m.py": _body("m", 4)})
    fix = b.commit(
        "Fix both",
        {
            "big.py": _body("big", 4).replace("(1)", "(9)"),
            "m.py": _body("m", 4).replace("(1)", "(9)"),
        },
    )
    b.close()
    first_big = git(b.path, "rev-parse", f"{c1}:big.py").strip()
    mirror = tmp_path / "mirror.git"
    mirror_without(b.path, mirror, {first_big})  # the fix's own versions are all there
    repo = ai.Repo(b.path, cache_dir=tmp_path / "cache")
    commits = repo.commits()
    merges: set[str] = set()
    # blame of big.py needs the absent blob: the file is skipped, m.py still blamed
    assert blame_lines(str(mirror), f"{fix}^", "big.py", [2]) is None
    links, ghosts = szz_by_blame(str(mirror), [fix], commits, merges=merges)
    assert list(zip(links.inducing_sha, links.path, strict=True)) == [(c1, "m.py")]
    assert ghosts == []
    # which is what the line history says when it does not follow that file
    replay = szz(line_history(str(mirror), "HEAD", exclude={"big.py"}), [fix], merges=merges)
    excluded = szz_by_blame(str(mirror), [fix], commits, merges=merges, exclude={"big.py"})
    assert _sorted(excluded[0]) == _sorted(replay[0]) == _sorted(links)
    # a fix whose own diff needs the absent blob cannot be read: git's failure is raised
    first = git(b.path, "rev-list", "--max-parents=0", "HEAD").strip()
    grow = git(b.path, "rev-list", "-n1", "--skip=2", "HEAD").strip()
    assert first == c1
    with pytest.raises(GitCommandError):
        szz_by_blame(str(mirror), [grow], commits, merges=merges)


def test_add_only_fixes_are_anchored_at_their_neighbours(build, tmp_path):
    b = build("anchors", start=START, step=DAY)
    n = add_only(b)
    b.close()
    repo = ai.Repo(b.path, cache_dir=tmp_path / "cache")
    fixes = [n[k] for k in ("mid", "top", "end", "new", "into_empty")]
    df, ghosts = szz_by_blame(repo.git_dir, fixes, repo.commits(), merges=(), context=True)
    got = set(df[["fix_sha", "inducing_sha", "path", "lines"]].itertuples(index=False, name=None))
    assert got == {
        (n["mid"], n["c1"], "t.py", 2),  # between two lines of the first commit
        (n["top"], n["c1"], "t.py", 1),  # above the first line: only the line below
        (n["end"], n["c2"], "t.py", 1),  # after the last line: only the line above
    }  # a new file and a file that was empty have no neighbours
    assert ghosts == fixes
    assert set(df.variant) == {"b-context"}
