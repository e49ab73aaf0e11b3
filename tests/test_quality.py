"""Code-quality outcomes: lizard's complexity and PyDriller's DMM, checked against the tools
themselves on a history written here (PyDriller's own values are the oracle)."""

from __future__ import annotations

import lizard
import pandas as pd
import pytest
from conftest import git

import aiimpact as ai
from aiimpact.errors import MissingObjectsWarning
from aiimpact.quality.table import is_test

SIMPLE = "def add(a, b):\n    return a + b\n"
BRANCHY = (
    "def grade(score, curve, floor, cap):\n"
    + "".join(f"    if score > {k}:\n        score -= {k}\n" for k in range(8))
    + "    return min(max(score + curve, floor), cap)\n"
)
LONG = "def long(x):\n" + "".join(f"    x = x + {k}\n" for k in range(20)) + "    return x\n"
C_FILE = "int f(int a) {\n  if (a) { return 1; }\n  return 0;\n}\n"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Each commit beside what it does to the code (expected DMM in the comments)."""
    b = ai.synth.RepoBuilder(tmp_path_factory.mktemp("quality") / "repo")
    b.commit("Add simple code", {"src/calc.py": SIMPLE, "README.md": "# calc\n"})
    b.commit("Add a branchy, wide function", {"src/calc.py": SIMPLE + BRANCHY})  # bad for all
    b.commit("Add a C file and a test", {"lib/f.c": C_FILE, "tests/test_calc.py": SIMPLE})
    b.commit("Split the long function out", {"src/long.py": LONG, "src/calc.py": SIMPLE})
    b.commit("Rename and edit", {"src/long.py": None, "src/longer.py": LONG + SIMPLE})
    b.commit("Docs only", {"README.md": "# calc\n\nMore.\n"})
    b.commit("Delete the C file", {"lib/f.c": None})
    b.branch("side")
    b.commit("Side change", {"src/calc.py": BRANCHY}, branch="side")
    b.commit("Main change", {"README.md": "# calc 2\n"})
    b.commit("Merge side", merge=["side"])
    b.close()
    return b.path


def _pydriller(path) -> dict:
    from pydriller import Repository

    return {
        c.hash: (c.dmm_unit_size, c.dmm_unit_complexity, c.dmm_unit_interfacing)
        for c in Repository(str(path)).traverse_commits()
    }


def test_dmm_equals_pydrillers_own(history, tmp_path):
    table = ai.Repo(history, cache_dir=tmp_path, progress=False).quality().set_index("sha")
    oracle = _pydriller(history)
    assert set(oracle) == set(table.index)
    for sha, want in oracle.items():
        got = tuple(None if pd.isna(v) else v for v in table.loc[sha, ["dmm_unit_size",
            "dmm_unit_complexity", "dmm_unit_interfacing"]])  # fmt: skip
        assert got == pytest.approx(want) if None not in want else got == want, sha
    # the history makes each kind of answer: a proportion, NA (nothing moved, or a merge)
    values = table["dmm_unit_size"]
    assert values.isna().any() and (values == 0).any() and (values == 1).any()


def _lizard(path, rev_path: str):
    text = git(path, "show", rev_path)
    name = rev_path.rsplit("/", 1)[-1]
    return lizard.analyze_file.analyze_source_code(name, text)


def test_complexity_delta_equals_lizards_totals_before_and_after(history, tmp_path):
    repo = ai.Repo(history, cache_dir=tmp_path, progress=False)
    files = repo.quality(per="file")
    measured = files[files["language"].notna()]
    assert set(measured["language"]) == {"PythonReader", "CLikeReader"}
    assert files.loc[files["path"] == "README.md", "complexity_delta"].isna().all()
    for row in measured.itertuples():
        before_path = row.old_path if isinstance(row.old_path, str) else row.path
        old = _lizard(history, f"{row.sha}~1:{before_path}") if row.status != "A" else None
        new = _lizard(history, f"{row.sha}:{row.path}") if row.status != "D" else None
        before, after = (x.CCN if x else 0 for x in (old, new))
        assert (row.ccn_before, row.ccn_after) == (before, after), row
        assert row.complexity_delta == after - before
        assert row.nloc_delta == (new.nloc if new else 0) - (old.nloc if old else 0)
    renamed = files[files["status"] == "R"]
    assert (
        list(renamed["old_path"]) == ["src/long.py"] and renamed["functions_changed"].iloc[0] == 1
    )
    per_commit = repo.quality().set_index("sha")
    sums = measured.groupby("sha")["complexity_delta"].sum()
    assert (per_commit.loc[sums.index, "complexity_delta"] == sums).all()
    branchy = git(history, "log", "--format=%H", "-1", "--grep=branchy").strip()
    assert per_commit.loc[branchy, "complexity_delta"] == 9  # 8 ifs and one path
    assert per_commit.loc[branchy, "functions_changed"] == 1  # add() is untouched


def test_test_and_source_lines_and_merges(history, tmp_path):
    repo = ai.Repo(history, cache_dir=tmp_path, progress=False)
    q = repo.quality().set_index("sha")
    sha = git(history, "log", "--format=%H", "-1", "--grep=C file and a test").strip()
    assert (q.loc[sha, "test_lines_added"], q.loc[sha, "source_lines_added"]) == (2, 4)
    docs = git(history, "log", "--format=%H", "-1", "--grep=Docs only").strip()
    assert q.loc[docs, "source_lines_added"] == 0 and pd.isna(q.loc[docs, "complexity_delta"])
    merge = git(history, "log", "--format=%H", "-1", "--merges").strip()
    assert q.loc[merge].drop("repo").isna().all()  # counted on the merged branch's commits
    table = repo.outcomes(quality=True)
    assert len(table) == len(repo.commits()) and "dmm_unit_size" in table
    assert table.set_index("sha").loc[sha, "test_lines_added"] == 2


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_a.py", True),
        ("src/a_test.go", True),
        ("web/button.test.tsx", True),
        ("src/main/java/FooTest.java", True),
        ("pkg/__tests__/x.js", True),
        ("src/contest.py", False),
        ("src/testing_utils.py", False),
        ("latest/app.py", False),
    ],
)
def test_test_paths(path, expected):
    assert is_test(path) is expected


def test_a_second_call_analyses_nothing(history, tmp_path, monkeypatch):
    import aiimpact.quality.table as table

    first = ai.Repo(history, cache_dir=tmp_path, progress=False).quality(per="file")
    calls = []

    def counted(items, workers):
        calls.append(1)
        return iter(())

    monkeypatch.setattr(table, "analyze_many", counted)
    again = ai.Repo(history, cache_dir=tmp_path, progress=False).quality(per="file")
    pd.testing.assert_frame_equal(again, first)
    assert calls == []  # every blob's figures came from quality.duckdb


def test_files_with_missing_blobs_are_na_and_the_rest_is_measured(build, tmp_path):
    """A mirror without one version of big.py (as fetched mirrors lack large files): git's
    rename detection would fail on it, so that file is left out of the stream; its changes
    are NA rows with ``missing_blob``, their commits NA, and every other commit has the
    figures of the complete repository."""
    from conftest import mirror_without

    b = build("full")
    b.commit("Add code", {"src/a.py": SIMPLE, "src/big.py": LONG})
    lost = b.commit("Grow big", {"src/big.py": LONG + BRANCHY})
    b.commit("Touch a", {"src/a.py": SIMPLE + BRANCHY})
    b.commit("Shrink big", {"src/big.py": LONG})
    b.close()
    blob = git(b.path, "rev-parse", f"{lost}:src/big.py").strip()
    mirror = tmp_path / "mirror.git"
    mirror_without(b.path, mirror, {blob})
    with pytest.warns(MissingObjectsWarning):
        q = ai.Repo(mirror, cache_dir=tmp_path / "m", progress=False).quality().set_index("sha")
    full = ai.Repo(b.path, cache_dir=tmp_path / "f", progress=False).quality().set_index("sha")
    touched = {sha for sha in q.index if "big" in git(b.path, "show", "--name-only", sha)}
    assert len(touched) == 3 and q.loc[sorted(touched), "complexity_delta"].isna().all()
    rest = [sha for sha in q.index if sha not in touched]
    exact = ["repo", "lines_copied", "tree_windows", "tree_duplicated_windows"]
    assert rest and q.loc[rest].drop(columns=exact).equals(full.loc[rest].drop(columns=exact))
    # the code a.py copies from big.py is in a version the mirror lacks: a lower bound
    touch_a = git(b.path, "log", "-1", "--format=%H", "--grep=Touch a").strip()
    assert (q.loc[touch_a, "lines_copied"], full.loc[touch_a, "lines_copied"]) == (0, 18)
    files = ai.Repo(mirror, cache_dir=tmp_path / "m", progress=False).quality(per="file")
    big = files[files["path"] == "src/big.py"]
    assert len(big) == 3 and big["missing_blob"].all() and big["ccn_after"].isna().all()


def test_an_interrupted_analysis_keeps_what_it_stored(history, tmp_path, monkeypatch):
    import aiimpact.quality.table as table

    monkeypatch.setattr(table, "_SAVE_EVERY", 2)
    real = table.analyze_many

    def interrupted(items, workers):
        for n, done in enumerate(real(items, 1)):
            if n == 5:
                raise KeyboardInterrupt
            yield done

    monkeypatch.setattr(table, "analyze_many", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ai.Repo(history, cache_dir=tmp_path, progress=False).quality()
    analysed = []

    def counted(items, workers):
        for done in real(items, 1):
            analysed.append(done)
            yield done

    monkeypatch.setattr(table, "analyze_many", counted)
    resumed = ai.Repo(history, cache_dir=tmp_path, progress=False).quality()
    redone = len(analysed)
    fresh = ai.Repo(history, cache_dir=tmp_path / "fresh", progress=False).quality()
    pd.testing.assert_frame_equal(resumed, fresh)
    assert redone + 4 == len(analysed) - redone  # the four stored before it are not redone


def test_pr_outcomes_sum_the_quality_of_the_commits_each_pr_landed(build, tmp_path):
    """PR 3 was merged (two branch commits and GitHub's merge commit, whose figures are
    NA), PR 4 squashed: each PR's sums are those of its landed commits that have one."""
    from test_pr_inheritance import DEVIN, _data, _pr

    b = build("prq")
    b.commit("Initial", {"README.md": "x\n"})
    b.branch("topic")
    t1 = b.commit("Add calc", {"src/calc.py": SIMPLE}, branch="topic")
    t2 = b.commit("Branch out", {"src/calc.py": SIMPLE + BRANCHY}, branch="topic")
    merge = b.commit("Merge pull request #3 from dana/topic", merge=["topic"])
    squash = b.commit("Add tests (#4)", {"tests/test_calc.py": SIMPLE, "src/long.py": LONG})
    b.close()
    data = _data(
        [_pr(3, DEVIN, merge, [(t1, "Add calc"), (t2, "Branch out")]), _pr(4, DEVIN, squash)]
    )
    repo = ai.Repo(b.path, cache_dir=tmp_path, name="o/r", progress=False)
    q = repo.quality().set_index("sha")
    prs = repo.pr_outcomes(data, quality=True).set_index("number")
    assert prs.loc[3, "complexity_delta"] == q.loc[[t1, t2], "complexity_delta"].sum() == 10
    assert prs.loc[3, "functions_changed"] == 2 and pd.isna(q.loc[merge, "complexity_delta"])
    assert prs.loc[4, "test_lines_added"] == 2 and prs.loc[4, "source_lines_added"] == len(
        LONG.splitlines()
    )
    assert "complexity_delta" not in repo.pr_outcomes(data)  # only when asked for
    # a PR's DMM is that of its change as one: PyDriller's on the same change squashed
    s = build("prq-squashed")
    s.commit("Initial", {"README.md": "x\n"})
    s.commit("PR 3 squashed", {"src/calc.py": SIMPLE + BRANCHY})
    s.close()
    squashed = list(_pydriller(s.path).values())[-1]
    dmm = ["dmm_unit_size", "dmm_unit_complexity", "dmm_unit_interfacing"]
    assert prs.loc[3, dmm].astype(float).round(6).tolist() == [round(v, 6) for v in squashed]
    each = q.loc[[t1, t2], dmm].astype(float)
    assert not each.mean().round(6).equals(prs.loc[3, dmm].astype(float).round(6))  # no mean


def _function(name: str, branches: int, lines: int = 24) -> str:
    """A function of *lines* lines with *branches* ifs (CCN = branches + 1)."""
    body = "".join(f"    if x > {k}:\n        x -= {k}\n" for k in range(branches))
    body += "".join(f"    x = x + {k}\n" for k in range(lines - 2 - 2 * branches))
    return f"def {name}(x):\n{body}    return x\n"


AI_BRANCHES, OTHER_BRANCHES = (7, 8, 3, 9, 6), (0, 1, 2, 6, 1)


@pytest.fixture(scope="module")
def planted_quality(tmp_path_factory):
    """60 commits of 6 authors, each adding one 24-line function in a new file: the
    AI-marked half with more branches. Planted: complexity_delta differs by
    mean(AI CCN) - mean(other CCN) = 7.6 - 3.0 = 4.6; dmm_unit_complexity (low risk: CCN
    <= 5) is 1 for 1 AI commit in 5 and for 4 other commits in 5, a difference of -0.6."""
    root = tmp_path_factory.mktemp("planted-quality")
    b = ai.synth.RepoBuilder(root / "r")
    b.commit("Initial", {"README.md": "x\n"})
    for i in range(60):
        assisted = i % 2 == 0
        branches = (AI_BRANCHES if assisted else OTHER_BRANCHES)[(i // 2) % 5]
        trailer = "\n\nCo-authored-by: Claude <noreply@anthropic.com>" if assisted else ""
        b.commit(
            f"Add f{i}{trailer}",
            {f"src/f{i}.py": _function(f"f{i}", branches)},
            author=f"Dev {i % 6} <dev{i % 6}@x.org>",
        )
    b.close()
    repo = ai.Repo(b.path, cache_dir=root / "c", progress=False)
    return repo.outcomes(), repo.outcomes(quality=True)


def test_the_study_compares_code_quality_with_the_planted_differences(planted_quality):
    from aiimpact.report.study import build_report
    from aiimpact.stats.study import QUALITY_OUTCOMES

    plain, with_quality = planted_quality
    feature = with_quality[with_quality["subject"].str.startswith("Add f")]
    ai_ccn = feature.loc[feature["ai_assisted"], "complexity_delta"].astype(float).mean()
    other_ccn = feature.loc[~feature["ai_assisted"], "complexity_delta"].astype(float).mean()
    assert (ai_ccn, other_ccn) == (7.6, 3.0)  # the construction, through lizard
    s = ai.study(with_quality, since="all")
    t = s.table().set_index("outcome")
    assert set(QUALITY_OUTCOMES) <= set(t.index)
    cx = t.loc["complexity_delta"]
    assert (
        cx["scale"] == "difference in means"
        and cx["ci_low"] <= 4.6 <= cx["ci_high"]
        and cx["ci_low"] > 0
    )
    dmm = t.loc["dmm_unit_complexity"]
    assert dmm["ci_low"] <= -0.6 <= dmm["ci_high"] and dmm["ci_high"] < 0
    assert pd.notna(t.loc["lines_moved", "reason"]) or pd.notna(t.loc["lines_moved", "estimate"])
    assert not set(QUALITY_OUTCOMES) & set(ai.study(plain, since="all").tried)  # when asked
    page = build_report(with_quality, "q", since="all")
    section = page[page.index('<section id="quality">') :]
    section = section[: section.index("</section>")]
    assert "complexity_delta" in section and "dmm_unit_complexity" in section
    models = page[page.index('<section id="models">') :]
    assert "complexity_delta" not in models[: models.index("</section>")]
    assert '<section id="quality">' not in build_report(plain, "q", since="all")


def test_the_panel_adds_the_trees_complexity_month_by_month(build, tmp_path):
    """complexity_total and nloc_total at each month's end equal lizard's totals over the
    tree of that month's last commit (a merge included); complexity_added is the month's
    sum of the commits' deltas."""
    from datetime import UTC, datetime, timedelta

    from aiimpact.errors import InputError

    b = build("panelq", start=datetime(2025, 1, 10, tzinfo=UTC), step=timedelta(days=9))
    b.commit("Add calc", {"src/calc.py": SIMPLE, "README.md": "x\n"})
    b.commit("Branch out", {"src/calc.py": SIMPLE + BRANCHY})
    b.branch("side")
    b.commit("C code", {"lib/f.c": C_FILE}, branch="side")
    b.commit("Long\n\nCo-authored-by: Claude <noreply@anthropic.com>", {"src/long.py": LONG})
    b.commit("Merge side", merge=["side"])
    b.commit("Shrink", {"src/calc.py": SIMPLE, "lib/f.c": None})
    b.commit("Docs", {"README.md": "y\n"})
    b.close()
    repo = ai.Repo(b.path, cache_dir=tmp_path, progress=False)
    outcomes = repo.outcomes(quality=True)
    p = ai.panel(outcomes, unit="repo", quality=True)
    assert len(p) == 3 and p["quality_unknown"].sum() == 0
    when = outcomes.set_index("sha")["commit_time"]
    for row in p.itertuples():
        end = row.period + pd.offsets.MonthBegin(1)
        last = when[when.dt.tz_localize(None) < end].idxmax()
        files = git(b.path, "ls-tree", "-r", "--name-only", last).split()
        measured = [_lizard(b.path, f"{last}:{f}") for f in files if not f.endswith(".md")]
        assert row.complexity_total == sum(x.CCN for x in measured), row
        assert row.nloc_total == sum(x.nloc for x in measured), row
        assert row.complexity_per_kloc == pytest.approx(
            1000 * row.complexity_total / row.nloc_total
        )
    month = outcomes["commit_time"].dt.month
    assert p["complexity_added"].tolist() == [
        outcomes.loc[month == m, "complexity_delta"].astype(float).sum() for m in (1, 2, 3)
    ]
    last = outcomes.dropna(subset=["tree_windows"]).sort_values("commit_time").iloc[-1]
    density = last["tree_duplicated_windows"] / last["tree_windows"]
    assert p["duplicated_density"].iloc[-1] == pytest.approx(float(density))
    authors = ai.panel(outcomes, unit="author_email", quality=True)
    assert "complexity_added" in authors and "complexity_total" not in authors  # repo only
    with pytest.raises(InputError, match=r"Repo\.outcomes\(quality=True\)"):
        ai.panel(repo.outcomes(), unit="repo", quality=True)


def test_an_unguarded_script_can_start_the_workers(tmp_path):
    """A plain script (no ``if __name__ == "__main__":``) is not re-run by each worker: it
    would start workers of its own and the pool would break."""
    import subprocess
    import sys

    script = tmp_path / "plain.py"
    script.write_text(
        "from aiimpact.quality.analysis import analyze_many\n"
        "items = [(str(i), 'a.py', b'def f(x):\\n    return x\\n') for i in range(200)]\n"
        "print(len(list(analyze_many(items, workers=2))))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["200"]  # printed once: the workers did not run the script


LIZARD_CRASHES_ON = "({{function}(``)})("  # reduced from a minified chunk in sentry-cli


def test_a_file_lizard_fails_on_is_na_and_said_and_not_retried(build, tmp_path, monkeypatch):
    """lizard's readers raise on some real files: that file version's figures are NA
    (``analysis_failed``, not ``missing_blob``), its commit's too, a QualityWarning says so,
    the other commits are measured, and the failure is cached like any figure."""
    import aiimpact.quality.table as table
    from aiimpact.errors import QualityWarning

    b = build("lizard-fails")
    ok = b.commit("Add calc", {"src/calc.py": SIMPLE})
    bad = b.commit(
        "Add a bundle\n\nCo-authored-by: Claude <noreply@anthropic.com>",
        {"web/app.js": LIZARD_CRASHES_ON, "src/x.py": SIMPLE},
    )
    fixed = b.commit("Replace the bundle", {"web/app.js": C_FILE.replace("int f", "function f")})
    b.close()
    with pytest.raises(IndexError):  # the input really makes lizard raise
        lizard.analyze_file.analyze_source_code("app.js", LIZARD_CRASHES_ON)
    repo = ai.Repo(b.path, cache_dir=tmp_path, progress=False)
    with pytest.warns(QualityWarning, match=r"lizard failed on 1 file version \(web/app.js"):
        files = repo.quality(per="file").set_index(["sha", "path"])
    assert files.loc[(bad, "web/app.js"), "analysis_failed"]
    assert not files.loc[(bad, "web/app.js"), "missing_blob"]
    assert pd.isna(files.loc[(bad, "web/app.js"), "complexity_delta"])
    assert files.loc[(fixed, "web/app.js"), "analysis_failed"]  # its "before" side failed
    assert files.loc[(bad, "src/x.py"), "complexity_delta"] == 1
    with pytest.warns(QualityWarning):
        commits = repo.quality().set_index("sha")
    assert commits.loc[bad, "analysis_failed"] and pd.isna(commits.loc[bad, "complexity_delta"])
    assert commits.loc[ok, "complexity_delta"] == 1 and not commits.loc[ok, "analysis_failed"]
    calls = []
    monkeypatch.setattr(table, "analyze_many", lambda items, workers: calls.append(1) or iter(()))
    with pytest.warns(QualityWarning):
        again = ai.Repo(b.path, cache_dir=tmp_path, progress=False).quality(per="file")
    assert calls == [] and again.set_index(["sha", "path"]).equals(files)
    with pytest.warns(QualityWarning):
        p = ai.panel(repo.outcomes(quality=True), unit="repo", quality=True)
    assert p["quality_unknown"].sum() == 2  # the two commits with a failed file


def _block(tag: str, n: int = 6) -> str:
    return "".join(f"    total_{tag} = combine(total_{tag}, item_{k}, {k})\n" for k in range(n))


def test_lines_copied_finds_planted_copies_and_not_moves(build, tmp_path, monkeypatch):
    """Each commit beside its expected lines_copied."""
    import aiimpact.quality.table as table

    B, C, D = _block("b"), _block("c"), _block("d")
    b = build("copies")
    first = b.commit("Add a", {"src/a.py": f"def a(x):\n{B}{C}    return x\n"})  # new: 0
    copy = b.commit("Copy B", {"src/b.py": f"def b(y):\n{B}    y = 1\n    return y\n"})  # 6
    move = b.commit(  # C leaves a.py for c.py: a move, 0
        "Move C", {"src/a.py": f"def a(x):\n{B}    return x\n", "src/c.py": f"def c(z):\n{C}"}
    )
    twice = b.commit("D twice", {"src/d.py": f"def d1(u):\n{D}\ndef d2(v):\n{D}"})  # 12
    loose = "".join(  # B again, re-indented, with blank and comment lines between
        f"        {line.strip()}\n\n# note\n" for line in B.splitlines()
    )
    spaced = b.commit("Reindented copy", {"src/e.py": f"class E:\n  def e(self):\n{loose}"})  # 6
    short = b.commit("Four lines of D", {"src/f.py": f"def f(w):\n{_block('d', 4)}"})  # 0
    b.commit("Docs", {"README.md": B})  # not source: NA
    b.close()
    expected = {first: 0, copy: 6, move: 0, twice: 12, spaced: 6, short: 0}
    repo = ai.Repo(b.path, cache_dir=tmp_path, progress=False)
    q = repo.quality().set_index("sha")
    assert q.loc[list(expected), "lines_copied"].tolist() == list(expected.values())
    assert q["lines_copied"].isna().sum() == 1  # the README commit
    # after "Copy B": a.py's 10 windows and b.py's 5; B's two inner windows are in both
    assert q.loc[copy, ["tree_windows", "tree_duplicated_windows"]].tolist() == [15, 4]
    assert q.loc[first, "tree_duplicated_windows"] == 0
    assert q.loc[move, "lines_copied"] == 0
    out = repo.outcomes(quality=True).set_index("sha")
    assert out.loc[move, "lines_moved"] == 6  # the line history calls it a move

    def refuse(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(table, "copied_lines", refuse)
    again = ai.Repo(b.path, cache_dir=tmp_path, progress=False).quality().set_index("sha")
    assert again["lines_copied"].equals(q["lines_copied"])  # read from quality.duckdb
