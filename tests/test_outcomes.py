"""Outcomes on generated histories with planted answers: reverts, churn, SZZ, the table."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

import aiimpact as ai

DAY = timedelta(days=1)
START = datetime(2025, 3, 3, 9, tzinfo=UTC)


def _body(tag: str, n: int) -> str:
    return "".join(f"value_{tag}_{i} = compute_{tag}({i})\n" for i in range(n))


def _pairs(df: pd.DataFrame, kind: str | None = None) -> set[tuple[str, str]]:
    rows = df if kind is None else df[df.kind == kind]
    return set(zip(rows.revert_sha, rows.reverted_sha, strict=True))


def test_message_reverts_every_form(build):
    b = build("rev", start=START, step=DAY)
    a = b.commit("Add parser", {"p.py": _body("a", 5)})
    r1 = b.commit(f'Revert "Add parser"\n\nThis reverts commit {a}.', {"p.py": None})
    c = b.commit("Add cache", {"c.py": _body("c", 4)})
    r2 = b.commit(f'Revert "Add cache"\n\nThis reverts commit {c[:10]}.', {"c.py": None})
    d = b.commit("Add docs", {"d.md": "docs\n"})
    r3 = b.commit('Revert "Add docs"', {"d.md": None})  # no sha: matched by subject
    e = b.commit("feat: add export", {"e.py": _body("e", 3)})
    r4 = b.commit(f"revert: add export\n\nRefs: {e[:8]}", {"e.py": None})
    f = b.commit("Add flags", {"f.py": _body("f", 3)})
    g1 = b.commit(
        f'Revert "Add flags"\n\nThis reverts commit {f}.\n\nReason for revert: broke CI',
        {"f.py": None},
    )
    g2 = b.commit(f'Revert^2 "Add flags"\n\nThis reverts commit {g1}.', {"f.py": _body("f", 3)})
    b.branch("side")
    s1 = b.commit("Side work", {"s.py": _body("s", 2)}, branch="side")
    m = b.commit("Merge side", merge=["side"])
    base = b.tip()
    rm = b.commit(
        f'Revert "Merge side"\n\nThis reverts commit {m}, reversing\nchanges made to {base}.',
        {"s.py": None},
    )
    b.commit("Unrelated\n\nThis reverts commit 0123456789abcdef0123.", {"u.txt": "u\n"})
    b.close()
    repo = ai.Repo(b.path)
    rv = repo.reverts()
    declared = _pairs(rv, "message")
    assert declared == {(r1, a), (r2, c), (r3, d), (r4, e), (g1, f), (g2, g1), (rm, m)}
    evidence = dict(zip(rv.revert_sha, rv.evidence, strict=False))
    assert (evidence[r1], evidence[r3], evidence[r4]) == ("sha", "subject", "conventional")
    assert repo.last_report.unresolved_reverts == 1
    reland = rv[(rv.revert_sha == g2) & (rv.kind == "message")]
    assert reland.is_reland.item()
    assert rv.loc[rv.revert_sha == r1, "time_to_revert"].iloc[0] == 24.0
    out = repo.outcomes().set_index("sha")
    assert out.loc[a, "reverted"] and out.loc[m, "reverted"]
    assert not out.loc[f, "reverted"], "relanded: the revert was itself reverted"
    assert out.loc[g1, "reverted"] and not out.loc[s1, "reverted"]


def test_github_revert_button_reverts(build):
    """GitHub's revert button: a PR titled ``Revert "<title>"`` whose body says
    ``Reverts owner/repo#N``; squash-merged, its subject gains `` (#M)``."""
    b = build("gh", start=START, step=DAY)
    sq = b.commit("Add search (#12)", {"s.py": _body("s", 4)})  # a squash merge of PR 12
    b.commit("Add list (#13)", {"l.py": _body("l", 3)})
    r1 = b.commit('Revert "Add search" (#15)\n\nReverts octo/demo#12', {"s.py": None})
    b.branch("feature")
    b.commit("Work on export", {"e.py": _body("e", 3)}, branch="feature")
    mp = b.commit("Merge pull request #20 from octo/feature\n\nExport", merge=["feature"])
    r2 = b.commit(
        'Revert "Merge pull request #20 from octo/feature"\n\nReverts octo/demo#20', {"e.py": None}
    )
    r3 = b.commit('Revert "Add list" (#22)', {"l.py": None})  # no body: matched by subject
    b.commit("Docs\n\nReverts octo/demo#99", {"d.md": "d\n"})  # PR 99 is not in history
    b.close()
    rv = ai.Repo(b.path).reverts()
    pairs = dict(zip(rv.revert_sha, rv.reverted_sha, strict=True))
    evidence = dict(zip(rv.revert_sha, rv.evidence, strict=True))
    assert pairs[r1] == sq and evidence[r1] == "pr"
    assert pairs[r2] == mp and evidence[r2] == "pr"
    assert evidence[r3] == "subject" and len(pairs) == 3


def test_content_and_partial_reverts(build):
    b = build("content", start=START, step=DAY)
    b.commit("Base", {"a.py": _body("base", 6)})
    c = b.commit("Tune constants", {"a.py": _body("base", 3) + _body("tuned", 3)})
    undo = b.commit("Put back the old constants", {"a.py": _body("base", 6)})
    big = b.commit("Add module", {"m.py": _body("m", 10)})
    part = b.commit("Trim module", {"m.py": _body("m", 4)})
    later = b.commit("Add other", {"o.py": _body("o", 10)})
    b.commit("Trim a little", {"o.py": _body("o", 8)})
    b.close()
    rv = ai.Repo(b.path).reverts()
    assert _pairs(rv, "content") == {(undo, c)}
    partial = rv[rv.kind == "partial"]
    assert _pairs(partial) == {(part, big)}
    assert partial.fraction.item() == pytest.approx(0.6)
    assert later not in set(rv.reverted_sha)


def test_churn_follows_lines_and_censors_young_commits(build):
    b = build("churn", start=START, step=DAY)
    c = b.commit("Write ten lines", {"a.py": _body("a", 10)})
    lines = _body("a", 10).splitlines(keepends=True)
    lines[0:3] = ["changed_0 = 1\n", "changed_1 = 2\n", "changed_2 = 3\n"]  # modified
    del lines[3:5]  # deleted
    b.commit("Rewrite some", {"a.py": "".join(lines)}, date=START + 5 * DAY)
    spaced = [line.replace(" = ", "  =  ") for line in lines]  # whitespace only
    b.commit("Reformat", {"a.py": "".join(spaced)}, date=START + 7 * DAY)
    b.commit("Rename", {"a.py": None, "b.py": "".join(spaced)}, date=START + 8 * DAY)
    spaced[7] = "late_change = 7\n"
    b.commit("Late change", {"b.py": "".join(spaced)}, date=START + 20 * DAY)
    young = b.commit("Young", {"y.py": _body("y", 4)}, date=START + 40 * DAY)
    b.close()
    repo = ai.Repo(b.path)
    ch14 = repo.churn("14D").set_index("sha")
    assert ch14.loc[c, "lines_added"] == 10
    assert ch14.loc[c, "churn_14d"] == 5  # 3 modified + 2 deleted; reformat and rename don't
    assert ch14.loc[c, "churn_rate_14d"] == 0.5
    assert ch14.loc[c, "lines_alive"] == 4
    assert repo.churn("30D").set_index("sha").loc[c, "churn_30d"] == 6
    assert pd.isna(ch14.loc[young, "churn_14d"]), "younger than the window: censored"


def test_szz_blames_the_commit_that_wrote_the_fixed_line(build):
    b = build("szz", start=START, step=DAY)
    good = b.commit("Add math", {"m.py": "def add(a, b):\n    return a + b\n"})
    bug = b.commit(
        "Add div",
        {"m.py": "def add(a, b):\n    return a + b\n\ndef div(a, b):\n    return a * b\n"},
    )
    b.commit("Docs", {"README": "math\n"})
    fixed = "def add(a, b):\n    return a + b\n\n# divide\ndef div(a, b):\n    return a / b\n"
    fix = b.commit("Fix div returning a product (#12)", {"m.py": fixed})
    ghost = b.commit("Fix missing license", {"LICENSE": "MIT\n"})
    named = b.commit(f'Handle zero\n\nFixes: {bug[:12]} ("Add div")', {"z.py": "x = 1\n"})
    b.close()
    repo = ai.Repo(b.path)
    fixes = repo.fixes().set_index("sha")
    assert {fix, ghost, named} <= set(fixes.index)
    assert "issue" in fixes.loc[fix, "evidence"] and "keyword" in fixes.loc[fix, "evidence"]
    links = repo.szz()
    assert set(zip(links.fix_sha, links.inducing_sha, links.variant, strict=True)) == {
        (fix, bug, "l"),
        (named, bug, "trailer"),
    }
    assert repo.last_report.ghost_fixes == [ghost]
    assert good not in set(links.inducing_sha)
    paths = dict(zip(links.variant, links.path, strict=True))  # a trailer link reads no file
    assert paths["l"] == "m.py" and pd.isna(paths["trailer"])
    blame_only = repo.szz(use_trailers=False)
    assert named in repo.last_report.ghost_fixes and len(blame_only) == 1
    out = repo.outcomes().set_index("sha")
    assert out.loc[bug, "fix_inducing"] and out.loc[bug, "n_fixes_induced"] == 2
    assert out.loc[bug, "days_to_first_fix"] == 2.0
    assert out.loc[fix, "is_fix"] and not out.loc[good, "fix_inducing"]


def test_a_pull_request_number_is_not_evidence_of_a_bug(build):
    """Squash merges end every subject with ``(#N)``: only bug evidence makes a fix."""
    b = build("squash", start=START, step=DAY)
    cases = {  # message -> evidence (None: not a fix)
        "Add the cache layer (#101)": None,
        "Implement #102 (streaming output)": None,
        "Speed up parsing\n\nCloses #103": None,
        "Handle empty input (#104)\n\nFixes #100": ["fix-closing", "issue"],
        "Fix off-by-one in the pager (#105)": ["keyword", "issue"],
        "Tidy up\n\nResolves #106, fixed owner/repo#107": ["fix-closing", "closing"],
    }
    shas = {b.commit(m, {f"f{i}.py": f"x = {i}\n"}): e for i, (m, e) in enumerate(cases.items())}
    b.close()
    fixes = ai.Repo(b.path).fixes().set_index("sha")
    assert set(fixes.index) == {s for s, e in shas.items() if e}
    for sha, expected in shas.items():
        if expected:
            assert list(fixes.loc[sha, "evidence"]) == expected


def test_author_experience_and_file_ownership(build):
    b = build("own", start=START, step=DAY)
    ann, bob = "Ann <ann@x.org>", "Bob <bob@x.org>"
    c1 = b.commit("a1", {"f.py": "1\n"}, author=ann)
    c2 = b.commit("a2", {"f.py": "2\n"}, author=ann)
    c3 = b.commit("b1", {"f.py": "3\n"}, author=bob)
    c4 = b.commit("a3", {"f.py": "4\n", "g.py": "new\n"}, author=ann.replace("ann@", "ANN@"))
    b.close()
    out = ai.Repo(b.path).outcomes().set_index("sha")
    assert [out.loc[s, "author_experience"] for s in (c1, c2, c3, c4)] == [0, 1, 0, 2]
    assert pd.isna(out.loc[c1, "file_ownership"])  # nothing before it
    assert out.loc[c2, "file_ownership"] == 1.0
    assert out.loc[c3, "file_ownership"] == 0.0
    assert out.loc[c4, "file_ownership"] == pytest.approx(2 / 3)  # f.py 2 of 3; g.py new


def test_cli_reverts_and_szz_json(build):
    import json
    import subprocess
    import sys

    b = build("cli", start=START, step=DAY)
    bug = b.commit("Add div", {"m.py": "def div(a, b):\n    return a * b\n"})
    fix = b.commit("Fix div", {"m.py": "def div(a, b):\n    return a / b\n"})
    rev = b.commit(f'Revert "Fix div"\n\nThis reverts commit {fix}.', {"m.py": "x = 1\n"})
    other = b.commit("Tidy", {"t.py": "t = 1\n"})
    b.close()

    def run(*args):
        done = subprocess.run(
            [sys.executable, "-m", "aiimpact", *args, "--json"], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert run("szz", str(b.path)) == {fix: [bug]}
    assert run("szz", str(b.path), "--fix", other, "--fix", fix) == {other: [], fix: [bug]}
    rows = run("reverts", str(b.path))
    assert [(r["revert_sha"], r["reverted_sha"], r["kind"]) for r in rows] == [
        (rev, fix, "message")
    ]
    assert rows[0]["time_to_revert"] == 24.0


def test_szz_variants_and_add_only_fixes(build):
    b = build("variants", start=START, step=DAY)
    old = b.commit("Add a", {"a.py": "alpha_value = 1\nbeta_value = 2\n"})
    new = b.commit("Add b", {"b.py": "gamma_value = 3\ndelta_value = 4\nomega_value = 5\n"})
    fix = b.commit(
        "Fix both",
        {
            "a.py": "alpha_value = 10\nbeta_value = 2\n",
            "b.py": "gamma_value = 30\ndelta_value = 40\nomega_value = 5\n",
        },
    )
    guard = b.commit(
        "Fix missing guard",
        {"b.py": "gamma_value = 30\nif ready:\ndelta_value = 40\nomega_value = 5\n"},
    )
    b.close()
    repo = ai.Repo(b.path)

    def links(**kw):
        df = repo.szz(fixes=[fix, guard], **kw)
        return set(zip(df.fix_sha, df.inducing_sha, df.variant, strict=True))

    assert links(variant="b", context=False) == {(fix, old, "b"), (fix, new, "b")}
    assert links(variant="l", context=False) == {(fix, new, "l")}  # 2 lines beat 1
    assert links(variant="r", context=False) == {(fix, new, "r")}  # the most recent
    assert repo.last_report.ghost_fixes == [guard]
    assert (guard, fix, "l-context") in links()  # inserted between lines the fix wrote
    # a bug reported before the newer candidate was committed cannot come from it
    reported = {fix: pd.Timestamp(START + DAY / 2)}
    assert links(variant="b", context=False, issue_dates=reported) == {(fix, old, "b")}
    assert repo.last_report.ghost_fixes == [guard], "still reported as a ghost fix"


def test_authorship_agrees_with_git_blame(build, tmp_path):
    import json
    import subprocess
    import sys

    from conftest import git

    cursor = "\n\nCo-authored-by: Cursor <cursoragent@cursor.com>"
    b = build("auth", start=START, step=DAY)
    b.commit("Base", {"a.py": _body("base", 4), "img.bin": b"\x00\x01"})
    start = b.tip()
    human = b.commit("Human", {"a.py": _body("base", 4) + _body("h", 3)})
    agent = b.commit("Agent" + cursor, {"b.py": _body("ai", 5)})
    moved = b.commit("Move", {"b.py": None, "c.py": _body("ai", 5)})  # a rename keeps lines
    b.commit("Tag it", {"a.py": _body("base", 4) + _body("h", 2)})
    b.close()
    repo = ai.Repo(b.path)
    result = repo.authorship(f"{start}..HEAD")
    # the same attribution as git blame itself, line by line
    import re

    for path in ("a.py", "c.py"):
        out = git(b.path, "blame", "--porcelain", "-M100", "-C100", f"{start}..HEAD", "--", path)
        heads = re.findall(r"^([0-9a-f]{40}) \d+ (\d+)", out, re.M)
        boundary = set(
            re.findall(r"^([0-9a-f]{40}) [^\n]*\n(?:[^\t][^\n]*\n)*?boundary$", out, re.M)
        )
        expected = {(int(n), sha) for sha, n in heads if sha not in boundary}
        ours = {
            (n, sha)
            for p_, n, sha in result.lines[["path", "line", "sha"]].itertuples(index=False)
            if p_ == path
        }
        assert ours == expected, path
    assert result.total_lines == 2 + 5  # 4 base lines are boundary; 2 human + 5 moved
    assert result.ai_lines == 5 and result.ai_share == pytest.approx(5 / 7)
    assert set(result.lines.sha) <= {human, agent, moved}
    assert list(result.by_tool.itertuples(index=False)) == [("cursor", 5)]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "aiimpact",
            "authorship",
            str(b.path),
            "--range",
            f"{start}..HEAD",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    doc = json.loads(done.stdout)
    assert (doc["total_lines"], doc["ai_lines"], doc["by_tool"]) == (7, 5, {"cursor": 5})
    assert doc["by_file"]["c.py"] == {"total_lines": 5, "ai_lines": 5}
    with pytest.raises(ai.InputError, match=r"A\.\.B"):
        repo.authorship("HEAD")


# -- authorship over many ranges --------------------------------------------------------
_CURSOR = "\n\nCo-authored-by: Cursor <cursoragent@cursor.com>"
_NOTE = (
    "d.py\n  s_0123456789abcd::t_0123456789abcd 1-3\n---\n"
    '{"schema_version": "authorship/3.0.0", "sessions": {"s_0123456789abcd": '
    '{"agent_id": {"tool": "claude", "id": "x", "model": "opus"}}}}'
)
_ACME = {"id": "acme", "tool": "other", "kind": "author", "email": "bot@acme.dev", "mode": "agent"}


def _releases(build):
    """Four releases of one repository: human, Cursor, aider, a bot and a git-ai note."""
    from conftest import git

    b = build("releases", start=START, step=DAY)
    tags = [b.commit("Base", {"a.py": _body("base", 4), "img.bin": b"\x00\x01"})]
    b.commit("Human", {"a.py": _body("base", 4) + _body("h", 3)})
    b.commit("Agent" + _CURSOR, {"b.py": _body("ai", 5)})
    tags.append(b.tip())
    b.commit("Move", {"b.py": None, "c.py": _body("ai", 5)})
    b.commit(
        "Aider", {"a.py": _body("base", 2) + _body("aider", 4)}, author="Ann (aider) <a@x.org>"
    )
    noted = b.commit("Noted", {"d.py": _body("noted", 4)})
    tags.append(b.tip())
    b.commit("Bot", {"e.py": _body("bot", 3)}, author="Acme Bot <bot@acme.dev>")
    b.commit("Human again", {"c.py": _body("ai", 3) + _body("human", 2)})
    tags.append(b.tip())
    b.close()
    git(b.path, "notes", "--ref=ai", "add", "-m", _NOTE, noted)
    return b, tags


def _assert_same_authorship(got: ai.Authorship, want: ai.Authorship) -> None:
    assert got.range == want.range
    assert (got.total_lines, got.ai_lines) == (want.total_lines, want.ai_lines)
    assert got.ai_share == pytest.approx(want.ai_share, nan_ok=True)
    for name in ("by_file", "by_tool", "by_author", "lines"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)
    assert got.unblamed_files == want.unblamed_files


@pytest.mark.parametrize("detector", [None, ai.Detector(extra=[_ACME])], ids=["default", "custom"])
def test_authorship_many_equals_a_loop_of_authorship(build, tmp_path, detector):
    b, tags = _releases(build)
    ranges = [f"{a}..{z}" for a, z in itertools.pairwise(tags)] + [f"{tags[0]}..HEAD"]
    # each from a cache of its own: authorship_many mines nothing before it starts
    many = ai.Repo(b.path, tmp_path / "many", detector=detector).authorship_many(ranges)
    repo = ai.Repo(b.path, tmp_path / "loop", detector=detector)
    assert len(many) == len(ranges)
    for got, rev_range in zip(many, ranges, strict=True):
        _assert_same_authorship(got, repo.authorship(rev_range))
    whole = many[-1]  # at HEAD: 4 aider, 3 Cursor (moved), 2 human, 4 noted, 3 bot lines
    assert whole.total_lines == 4 + 3 + 2 + 4 + 3
    assert whole.ai_lines == 4 + 3 + 4 + (3 if detector else 0)
    tools = dict(zip(whole.by_tool.tool, whole.by_tool.lines, strict=True))
    assert tools["cursor"] == 3 and tools["aider"] == 4 and tools["claude-code"] == 4
    assert tools.get("other") == (3 if detector else None)  # the custom signature counts
    # paths, and a range given twice
    some = ai.Repo(b.path, tmp_path / "loop", detector=detector).authorship_many(
        [ranges[-1], ranges[-1]], paths=["c.py"]
    )
    _assert_same_authorship(some[0], repo.authorship(ranges[-1], paths=["c.py"]))
    _assert_same_authorship(some[1], some[0])
    assert set(some[0].lines.path) == {"c.py"}
    assert ai.Repo(b.path, tmp_path / "loop").authorship_many([]) == []


@pytest.mark.parametrize("detector", [None, ai.Detector(extra=[_ACME])], ids=["default", "custom"])
def test_authorship_tags_are_those_of_the_commits_table(build, tmp_path, detector):
    from aiimpact.mining import MiningReport

    b, _ = _releases(build)
    repo = ai.Repo(b.path, tmp_path / "c", detector=detector)
    commits = repo.commits()
    shas = list(commits.sha[::2])  # some of them
    report = MiningReport()
    got = repo._miner().tags(shas, ["HEAD"], report).set_index("sha")
    assert (report.mined, report.notes) == (0, 1)  # all stored: read, not mined
    want = commits.set_index("sha").loc[sorted(shas), got.columns]
    pd.testing.assert_frame_equal(got, want)  # every column: identity, ai_*, ai_lines
    assert want.ai_assisted.any() and want.ai_lines.notna().any()  # the note is among them
    # the same through a fresh cache, mined by the call
    fresh = ai.Repo(b.path, tmp_path / "fresh", detector=detector)
    again = fresh._miner().tags(shas, ["HEAD"], MiningReport()).set_index("sha")
    pd.testing.assert_frame_equal(again, got)


def test_authorship_of_a_range_whose_end_is_not_mined(build, tmp_path):
    from aiimpact.errors import RevisionError

    b, tags = _releases(build)
    repo = ai.Repo(b.path, tmp_path / "c")
    assert len(repo.commits(tags[1])) == 3  # the cache holds the first releases only
    result = repo.authorship(f"{tags[1]}..{tags[2]}")
    assert repo.last_report.mined == 3  # the new commits, mined for their tags
    assert result.total_lines == result.ai_lines == 4 + 4  # aider, note (the move is older)
    many = repo.authorship_many([f"{tags[0]}..{tags[1]}", f"{tags[2]}..{tags[3]}"])
    assert repo.last_report.mined == 2
    assert [m.total_lines for m in many] == [3 + 5, 3 + 2]
    other = ai.Repo(b.path, tmp_path / "other")
    _assert_same_authorship(other.authorship(f"{tags[2]}..{tags[3]}"), many[1])
    with pytest.raises(RevisionError):
        repo.authorship_many([f"{tags[0]}..{tags[1]}", "v9..HEAD"])  # checked first
    with pytest.raises(ai.InputError, match=r"A\.\.B"):
        repo.authorship_many(["HEAD"])


def test_the_report_prints_on_one_short_line():
    """A notebook shows ``repo.last_report``: thousands of ghost fixes are a count."""
    import pandas as pd

    from aiimpact.mining import MiningReport

    shas = [f"{i:040x}" for i in range(5000)]
    report = MiningReport(reachable=5000, ghost_fixes=shas, coverage=pd.DataFrame({"a": [1, 2]}))
    text = repr(report)
    assert len(text) < 600 and "\n" not in text
    assert "ghost_fixes=<5000 items: " + shas[0] in text and "coverage=<2 rows>" in text
    assert "reachable=5000" in text and shas[-1] not in text
    assert "ghost_fixes=['ab']" in repr(MiningReport(ghost_fixes=["ab"]))  # short: as is


def test_lines_moved_are_counted_apart_from_lines_added(build):
    """A commit's moved lines (removed in one place, added in another with the same text):
    ``lines_moved``, not ``lines_added``; a short line (< 10 non-blank characters) and a
    whitespace-only edit are neither moves nor, for the latter, new lines; a merge moves
    nothing of its own."""
    long = [f"result_{i} = transform(records, key={i})\n" for i in range(4)]
    b = build("moves", start=START, step=DAY)
    b.commit("Add", {"a.py": "".join(long) + "x = 1\n" + "keep_this_line = True\n"})
    moved = b.commit(
        "Move the transforms to b.py, reindent one line",
        {
            "a.py": "  keep_this_line = True\n",  # whitespace only: same line
            "b.py": "x = 1\n" + "".join(long[:3]) + "fresh_line = compute_new_thing()\n",
            # long[3] is deleted; x = 1 is too short to move: a new line
        },
    )
    inner = b.commit(
        "Reorder b.py",  # a move within one file
        {"b.py": "".join(long[1:3]) + "x = 1\n" + long[0] + "fresh_line = compute_new_thing()\n"},
    )
    b.branch("side")
    to_c = b.commit(
        "Move a line to c.py",
        {
            "b.py": "".join(long[1:3]) + "x = 1\n" + "fresh_line = compute_new_thing()\n",
            "c.py": long[0] + "other_line = 2.0 * 3\n",
        },
    )
    b.commit("Side work", {"s.txt": "side\n"}, branch="side")
    merge = b.commit("Merge into side", merge=[b.default_branch], branch="side")
    b.close()
    out = ai.Repo(b.path).outcomes(rev="side").set_index("sha")
    assert out.loc[moved, ["lines_added", "lines_moved"]].tolist() == [2, 3]
    # git's diff decides which side of the swap it writes as moved: x = 1 and long[0]
    # (one move, one new short line) or long[1:3] (two moves)
    assert out.loc[inner, "lines_moved"] >= 1
    assert out.loc[inner, "lines_added"] + out.loc[inner, "lines_moved"] == 2
    assert out.loc[to_c, ["lines_added", "lines_moved"]].tolist() == [1, 1]
    # the merge's diff (against side) shows that move again: it is main's, not the merge's
    assert out.loc[merge, ["lines_added", "lines_moved"]].tolist() == [0, 0]


def test_a_file_a_merge_takes_whole_keeps_the_branchs_lines_and_they_die_once(build):
    """A merge whose file is the merged branch's, line for line, takes that branch's
    lines: one line on both branches, with the branch's birth (as ``git blame`` passes
    the file on to that parent). When both branches later delete the line, it is churn of
    its commit once, not twice (a copy per branch would make the churn rate 2)."""
    base = "".join(f"value_{i} = compute_the_value({i})\n" for i in range(4))
    topic_line = "topic_value = compute_the_topic_value()\n"
    b = build("adopt", start=START, step=DAY)
    b.commit("Add a.py", {"a.py": base})
    b.branch("topic")
    wrote = b.commit("Topic: one line", {"a.py": base + topic_line}, branch="topic")
    b.commit("Main: other work", {"m.txt": "main\n"})
    merge = b.commit("Merge topic", merge=["topic"], files={"a.py": base + topic_line})
    b.commit("Topic: drop the line again", {"a.py": base}, branch="topic")
    again = b.commit("Merge topic again", merge=["topic"], files={"a.py": base})
    b.commit("Much later", {"m.txt": "later\n"}, date=START + timedelta(days=60))
    b.close()
    repo = ai.Repo(b.path)
    history = repo.lines()
    index = {sha: i for i, sha in enumerate(history.commits)}
    # the merge wrote no line of its own, and the topic's line has the topic's birth
    assert history.added[index[merge]] == 0 and history.added[index[wrote]] == 1
    assert sorted(history.born).count(index[wrote]) == 1  # one line, not a copy per branch
    out = repo.outcomes().set_index("sha")
    assert out.loc[wrote, ["lines_added", "churn_14d"]].tolist() == [1, 1]
    assert out.loc[wrote, "churn_rate_14d"] == 1.0
    assert out.loc[again, "lines_added"] == 0


def test_a_file_with_many_hunks_is_followed_line_by_line(build):
    """A change of many hunks (a translation catalogue: one per message; the replay works
    such a file out with NumPy) follows every line as a change of a few does: changed lines
    are new, a whitespace-only edit keeps its line, a line moved to another hunk keeps its
    birth, and a merge's lines from the merged branch keep that branch's births."""
    msgs = [f'msgstr "translation number {i} of the message catalogue"\n' for i in range(90)]
    b = build("catalogue", start=START, step=DAY)
    first = b.commit("Add the catalogue", {"po/de.po": "".join(msgs)})
    lines, births = list(msgs), ["first"] * 90
    for i in range(0, 80, 2):  # 40 hunks
        if i % 8 == 0:
            lines[i] = "  " + msgs[i]  # whitespace only: the same line
        else:
            lines[i], births[i] = f'msgstr "new translation {i}"\n', "second"
    # message 1 goes to the end (it keeps its birth: a move), message 85 is deleted, and a
    # new line is inserted after message 83
    moved_to_end = lines.pop(1)
    births.pop(1)
    del lines[84], births[84]  # message 85 (after the pop)
    lines.insert(83, 'msgid "a new message"\n')
    births.insert(83, "second")
    lines.append(moved_to_end)
    births.append("first")
    second = b.commit("Update the catalogue", {"po/de.po": "".join(lines)})
    b.branch("topic")
    topic_lines = list(lines)
    for i in range(3, 80, 3):  # 26 hunks on the branch
        topic_lines[i] = f'msgstr "topic translation {i}"\n'
    topic = b.commit("Topic: retranslate", {"po/de.po": "".join(topic_lines)}, branch="topic")
    b.commit("Main: other work", {"m.txt": "main\n"})
    merged = list(topic_lines)
    merged[0] = 'msgstr "the merge\'s own line"\n'  # its own line: not the branch's file
    merge = b.commit("Merge topic", merge=["topic"], files={"po/de.po": "".join(merged)})
    b.commit("Much later", {"m.txt": "later\n"}, date=START + timedelta(days=60))
    b.close()
    repo = ai.Repo(b.path)
    history = repo.lines()
    index = {sha: i for i, sha in enumerate(history.commits)}
    name = {index[first]: "first", index[second]: "second", index[topic]: "topic"}
    name[index[merge]] = "merge"
    got = [name[history.born[i]] for i in history.tip_state["po/de.po"]]
    want = ["topic" if m != t else w for m, t, w in zip(merged, lines, births, strict=True)]
    want[0] = "merge"
    assert got == want
    assert history.moved[index[second]] == 1
    assert history.added[index[second]] == births.count("second")
    assert history.added[index[merge]] == 1 and history.added[index[topic]] == 26
    out = repo.outcomes().set_index("sha")
    # the first commit's lines are churn where the second changed (30) or deleted (1)
    # them, and where the branch or the merge changed those the second left (each once)
    later = sum(births[i] == "first" for i in [*range(3, 80, 3), 0])
    assert later == 17
    assert out.loc[first, ["lines_added", "churn_14d"]].tolist() == [90, 31 + later]
