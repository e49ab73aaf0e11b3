"""Commits inherit the AI evidence of the pull request they landed through: merge, squash
and rebase merges, written beside the answer each commit should get."""

from __future__ import annotations

import pandas as pd
import pytest

import aiimpact as ai
from aiimpact.platforms.tables import PullRequestData, tables_from_raw

DEVIN = {"login": "devin-ai-integration[bot]", "id": 158243242, "type": "Bot"}
HUMAN = {"login": "dana", "id": 7, "type": "User"}
CLAUDE = "\n\nCo-Authored-By: Claude <noreply@anthropic.com>"


def _pr(number, user, merge_sha, commits=(), body="", repo_state="closed"):
    """A raw PR as the GitHub client gives it: the pull, and its own commits."""
    return {
        "pull": {
            "number": number,
            "title": f"PR {number}",
            "body": body,
            "user": user,
            "state": repo_state,
            "created_at": "2025-05-01T10:00:00Z",
            "merged_at": "2025-05-02T10:00:00Z",
            "closed_at": "2025-05-02T10:00:00Z",
            "merge_commit_sha": merge_sha,
            "head": {"ref": f"topic-{number}"},
        },
        "commits": [
            {"sha": sha, "commit": {"message": message, "author": {"name": "x", "email": ""}}}
            for sha, message in commits
        ],
    }


def _data(items, repo="o/r") -> PullRequestData:
    prs, reviews, commits = tables_from_raw(repo, items)
    return PullRequestData(prs, reviews, commits)


@pytest.fixture
def landed(build):
    b = build("landed")
    b.commit("Initial", {"a": "1\n"})
    # PR 13 (Devin, merged): two unmarked branch commits and GitHub's merge commit
    b.branch("topic")
    t1 = b.commit("Topic one", {"t": "1\n"}, branch="topic")
    t2 = b.commit("Topic two" + CLAUDE, {"t": "2\n"}, branch="topic")  # its own mark too
    merge = b.commit("Merge pull request #13 from dana/topic", merge=["topic"])
    # PR 12 (Devin, squashed): one new commit, unmarked
    squash = b.commit("Add retries (#12)", {"a": "2\n"})
    # PR 14 (Devin, rebased): copies of its two commits, with new shas
    r1 = b.commit("Rebased one", {"r": "1\n"})
    r2 = b.commit("Rebased two", {"r": "2\n"})
    # PR 15 (a human's, merged): its commit is linked but stays unassisted
    b.branch("human")
    h1 = b.commit("Human work", {"h": "1\n"}, branch="human")
    hmerge = b.commit("Merge pull request #15 from dana/human", merge=["human"])
    own = b.commit("Direct push" + CLAUDE, {"a": "3\n"})  # no PR, its own mark
    plain = b.commit("Direct push, unmarked", {"a": "4\n"})
    revert = b.commit(f'Revert "Add retries (#12)"\n\nThis reverts commit {squash}.', {"a": "1\n"})
    b.close()
    items = [
        _pr(13, DEVIN, merge, [(t1, "Topic one"), (t2, "Topic two")]),
        _pr(12, DEVIN, squash, [("e" * 40, "retries")]),
        _pr(14, DEVIN, r2, [("c" * 40, "Rebased one"), ("d" * 40, "Rebased two")]),
        _pr(15, HUMAN, hmerge, [(h1, "Human work")]),
    ]
    expected = {  # sha: (pr_number, via, ai_source)
        t1: (13, "branch", "pr"),
        t2: (13, "branch", "both"),
        merge: (13, "merge_commit", "pr"),
        squash: (12, "merge_commit", "pr"),
        r1: (14, "rebase", "pr"),
        r2: (14, "merge_commit", "pr"),
        h1: (15, "branch", None),
        hmerge: (15, "merge_commit", None),
        own: (None, None, "commit"),
        plain: (None, None, None),
        revert: (None, None, None),
    }
    return b.path, items, expected


def test_merged_squashed_and_rebased_commits_inherit_their_prs_evidence(landed, tmp_path):
    path, items, expected = landed
    other = _pr(13, HUMAN, None)  # another repository's PR 13 must not be used
    data = _data(items)
    foreign = _data([other], repo="someone/else")
    data.prs = pd.concat([data.prs, foreign.prs], ignore_index=True)
    repo = ai.Repo(path, cache_dir=tmp_path, name="o/r", progress=False)
    links = ai.link_prs(repo.commits(), data.prs[data.prs.repo == "o/r"], data.pr_commits)
    commits = repo.commits(prs=data).set_index("sha")
    via = dict(zip(links.sha, links.via, strict=True))
    for sha, (number, how, source) in expected.items():
        row = commits.loc[sha]
        assert (None if pd.isna(row.pr_number) else row.pr_number) == number, sha
        assert via.get(sha) == how, sha
        assert (None if pd.isna(row.ai_source) else row.ai_source) == source, sha
        assert bool(row.ai_assisted) == (source is not None), sha
        if source in ("pr", "both"):
            assert "devin" in row.ai_tools and "agent" in row.ai_modes, sha
            assert "pr:pr_author:bot" in row.ai_evidence, sha
    both = next(sha for sha, e in expected.items() if e[2] == "both")
    assert {"claude-code", "devin"} <= set(commits.loc[both].ai_tools)
    report = repo.last_report.prs
    assert report["linked"] == 8 and (report["commit"], report["pr"], report["both"]) == (1, 5, 1)
    assert report["share_pr"] == pytest.approx(5 / 7)
    table = ai.Repo(path, cache_dir=tmp_path, name="o/r", progress=False).outcomes(prs=data)
    assert table.set_index("sha").loc[list(expected), "ai_source"].isna().sum() == 4
    assert table.ai_assisted.sum() == 7


def test_pr_data_of_another_repository_is_refused(landed, tmp_path):
    path, items, _ = landed
    repo = ai.Repo(path, cache_dir=tmp_path, progress=False)  # named after its directory
    with pytest.raises(ai.InputError, match=r"no pull request of 'landed'.*'o/r'"):
        repo.commits(prs=_data(items))
    with pytest.raises(ai.InputError, match="pull-request data"):
        repo.commits(prs=_data(items).prs)


def test_the_same_answers_through_the_github_client(landed, tmp_path, server):
    """Merge, squash and rebase PRs served by a local GitHub (REST), fetched by the client."""
    from github_model import serve_rest

    path, items, expected = landed
    served = {}
    for raw in items:
        pull = {**raw["pull"], "updated_at": f"2025-05-0{3 + len(served)}T00:00:00Z"}
        commits = [
            {**c, "commit": {**c["commit"], "committer": c["commit"]["author"]}}
            for c in raw["commits"]
        ]
        served[pull["number"]] = {
            "pull": pull,
            "reviews": [],
            "review_comments": [],
            "issue_comments": [],
            "timeline": [],
            "commits": commits,
        }
    serve_rest(server, served, repo="o/r")
    data = ai.github.pull_requests("o/r", token="t0ken", api_url=server.url, cache_dir=tmp_path)
    assert sorted(data.prs.number) == [12, 13, 14, 15]
    assert set(data.pr_commits.subject) >= {"Rebased one", "Rebased two"}
    commits = ai.Repo(path, cache_dir=tmp_path, name="o/r", progress=False).commits(prs=data)
    got = commits.set_index("sha")
    for sha, (number, _how, source) in expected.items():
        assert (None if pd.isna(got.loc[sha, "pr_number"]) else got.loc[sha, "pr_number"]) == number
        assert (None if pd.isna(got.loc[sha, "ai_source"]) else got.loc[sha, "ai_source"]) == source


def test_pr_outcomes_sum_up_the_commits_each_pr_landed(landed, tmp_path):
    path, items, _ = landed
    unmerged = _pr(16, DEVIN, None)  # closed without a merge: kept, flagged
    unmerged["pull"]["merged_at"] = None
    data = _data([*items, unmerged])
    repo = ai.Repo(path, cache_dir=tmp_path, name="o/r", progress=False)
    table = repo.pr_outcomes(data).set_index("number")
    commits = repo.outcomes(prs=data)
    assert sorted(table.index) == [12, 13, 14, 15, 16]
    assert not table.loc[16, "in_history"] and pd.isna(table.loc[16, "lines_added"])
    for n in (12, 13, 14, 15):
        mine = commits[commits.pr_number == n]
        assert table.loc[n, "in_history"] and table.loc[n, "landed_commits"] == len(mine)
        assert table.loc[n, "lines_added"] == mine.lines_added.sum()
        assert table.loc[n, "lines_alive"] == mine.lines_alive.sum()
    assert table.landed_commits.to_dict() == {12: 1, 13: 3, 14: 2, 15: 2, 16: 0}
    assert table.loc[12, "reverted"] and not table.loc[13, "reverted"]  # the revert of #12
    assert table.loc[13, "lines_added"] == 2 and table.loc[13, "lines_alive"] == 1
    assert pd.isna(table.loc[13, "churn_14d"])  # the history is a few days long: censored
    assert table.loc[[12, 13, 14], "ai_assisted"].all() and not table.loc[15, "ai_assisted"]
    assert table.loc[13, "author_prs_before"] == 0  # all opened at the same time


def test_the_report_command_takes_a_directory_of_pr_data(landed, tmp_path, capsys):
    from aiimpact.cli import main

    path, items, _ = landed
    data = _data(items)
    prs_dir = tmp_path / "prs"
    prs_dir.mkdir()
    for name in ("prs", "reviews", "pr_commits"):
        getattr(data, name).to_parquet(prs_dir / f"{name}.parquet")
    out = tmp_path / "report.html"
    args = ["report", str(path), "--prs", str(prs_dir), "-o", str(out)]
    assert main([*args, "--name", "o/r", "--cache-dir", str(tmp_path / "c")]) == 0
    err = capsys.readouterr().err
    assert "8 commits landed through 4 of the 4 PRs of o/r" in err, err[-2000:]
    assert "1 by their own marks, 5 by their PR alone, 1 by both" in err
    page = out.read_text()
    assert 'id="pull-requests"' in page and 'id="pull-requests-code"' in page
    assert "What became of the code: for the 4 PRs whose commits are in the history" in page
    assert "reverted_within_90d" in page.split('id="pull-requests-code"')[1]
    assert main([*args, "--cache-dir", str(tmp_path / "c")]) == 2  # named after its directory
    assert "no pull request of 'landed'" in capsys.readouterr().err


def test_rebased_copies_with_reworded_subjects_are_found_by_patch_id(build, tmp_path):
    """PR 16 was rebase-merged with its subjects reworded; its own commits are still in the
    repository (as a mirror fetches refs/pull/16/head), so its copies are found by patch
    id. PR 17 was squashed: its one commit has the patch id of neither of its commits, so
    the commit below it is not taken for PR 17's."""
    b = build("reworded")
    base = b.commit("Initial", {"a": "1\n"})
    b.branch("pr16")
    o1 = b.commit("WIP", {"p.py": "def parse():\n    pass\n"}, branch="pr16")
    o2 = b.commit("fix typo", {"p.py": "def parse():\n    return 1\n"}, branch="pr16")
    b.branch("pr17", at=base)
    s1 = b.commit("Part one", {"q.py": "x = 1\n"}, branch="pr17")
    s2 = b.commit("Part two", {"q.py": "x = 2\n"}, branch="pr17")
    before = b.commit("Unrelated", {"a": "2\n"})
    c1 = b.commit("Add a parser", {"p.py": "def parse():\n    pass\n"})
    c2 = b.commit("Parser returns one", {"p.py": "def parse():\n    return 1\n"})
    squash = b.commit("Add q (#17)", {"q.py": "x = 2\n"})
    b.close()
    data = _data(
        [
            _pr(16, DEVIN, c2, [(o1, "WIP"), (o2, "fix typo")]),
            _pr(17, DEVIN, squash, [(s1, "Part one"), (s2, "Part two")]),
        ]
    )
    expected = {  # sha: (pr_number, via)
        c1: (16, "patch_id"),
        c2: (16, "merge_commit"),
        squash: (17, "merge_commit"),
        before: (None, None),
    }
    repo = ai.Repo(b.path, cache_dir=tmp_path, name="o/r", progress=False)
    commits = repo.commits(prs=data).set_index("sha")
    for sha, (number, _via) in expected.items():
        got = commits.loc[sha, "pr_number"]
        assert (None if pd.isna(got) else got) == number, sha
    assert repo.last_report.prs["via"] == {"merge_commit": 2, "patch_id": 1}
    assert commits.loc[c1, "ai_source"] == "pr"
    plain = ai.link_prs(repo.commits(), data.prs, data.pr_commits)  # no repository: subjects
    assert c1 not in set(plain.sha) and set(plain.via) == {"merge_commit"}


def test_a_pr_reverted_by_githubs_revert_pr_is_reverted(build, tmp_path):
    """GitHub's Revert button opens a PR with ``Reverts owner/repo#N`` in its body, on a
    branch ``revert-N-...``: once merged, PR N is reverted even when its revert is not in
    the history studied (merged into a release branch, say)."""
    from aiimpact.platforms.tables import reverted_pr

    assert reverted_pr("o/r", "revert-12-topic", "") == 12
    assert reverted_pr("O/R", "x", "Some text\nReverts o/r#7\n") == 7
    assert reverted_pr("o/r", "x", "Reverts other/repo#7") is None  # not this repository's
    assert reverted_pr("o/r", "fix-revert-12-x", "It reverts o/r#7") is None

    b = build("revert-pr")
    b.commit("Initial", {"a": "1\n"})
    added = b.commit("Add retries (#3)", {"a": "2\n", "r.py": "retry = 3\n"})
    kept = b.commit("Add docs (#4)", {"d.md": "docs\n"})
    b.close()
    elsewhere = "f" * 40  # the revert's merge commit, on a branch not studied
    revert = _pr(9, {"login": "dana", "id": 1, "type": "User"}, elsewhere, body="Reverts o/r#3")
    revert["pull"]["head"]["ref"] = "revert-3-topic-3"
    foreign = _pr(10, {"login": "dana", "id": 1, "type": "User"}, None, body="Reverts x/y#4")
    foreign["pull"]["merged_at"] = None  # closed unmerged, and about another repository
    data = _data([_pr(3, DEVIN, added), _pr(4, DEVIN, kept), revert, foreign])
    assert data.prs.set_index("number")["reverts_pr"].fillna(0).tolist() == [0, 0, 3, 0]
    repo = ai.Repo(b.path, cache_dir=tmp_path, name="o/r", progress=False)
    assert not repo.outcomes().set_index("sha").loc[added, "reverted"]  # nothing in the history
    prs = repo.pr_outcomes(data).set_index("number")
    assert prs.loc[3, "reverted"] and prs.loc[3, "reverted_by_pr"] == 9
    assert prs.loc[3, "reverted_within_30d"]
    assert not prs.loc[4, "reverted"] and pd.isna(prs.loc[4, "reverted_by_pr"])


def test_a_revert_pr_known_only_by_its_title_reverts_the_pr_it_names(build, tmp_path):
    """A revert PR opened by hand (no ``Reverts o/r#N`` body, no ``revert-N-`` branch) is
    titled ``Revert "<title>"``: it reverts the last PR of that title merged before it was
    opened, or PR N when the quoted title ends with ``(#N)``. A same-titled PR merged after
    the revert was opened, or never merged, is not the one reverted."""
    b = build("title-revert")
    b.commit("Initial", {"a": "1\n"})
    first = b.commit("Add retries (#3)", {"r.py": "retry = 3\n"})
    b.close()
    human = {"login": "dana", "id": 1, "type": "User"}

    def pr(number, title, created, merged, merge_sha=None):
        raw = _pr(number, human, merge_sha)
        raw["pull"].update(title=title, created_at=created, merged_at=merged, closed_at=merged)
        return raw

    data = _data(
        [
            pr(3, "Add retries", "2025-05-01T00:00:00Z", "2025-05-02T00:00:00Z", first),
            pr(5, "Add retries", "2025-05-20T00:00:00Z", "2025-05-21T00:00:00Z"),  # later
            pr(6, "Tune retries", "2025-05-01T00:00:00Z", None),  # never merged
            pr(9, 'Revert "Add retries"', "2025-05-10T00:00:00Z", "2025-05-11T00:00:00Z"),
            pr(11, 'Revert "Tune retries"', "2025-05-10T00:00:00Z", "2025-05-11T00:00:00Z"),
            pr(12, 'Revert "Add a parser (#8)"', "2025-06-01T00:00:00Z", "2025-06-02T00:00:00Z"),
            pr(8, "Add a parser", "2025-05-01T00:00:00Z", "2025-05-01T12:00:00Z"),
        ]
    )
    assert data.prs["reverts_pr"].isna().all()  # nothing GitHub's button would write
    repo = ai.Repo(b.path, cache_dir=tmp_path, name="o/r", progress=False)
    prs = repo.pr_outcomes(data).set_index("number")
    by = prs["reverted_by_pr"]
    assert by[3] == 9 and prs.loc[3, "reverted"] and prs.loc[3, "reverted_within_30d"]
    reverted = prs[["reverted", "reverted_within_30d"]].fillna(False)  # NA: not in history
    assert pd.isna(by[5]) and not reverted.loc[5, "reverted"]
    assert pd.isna(by[6]) and pd.isna(prs.loc[11, "reverts_pr"])
    assert by[8] == 12 and prs.loc[8, "reverted_within_90d"]
    assert not reverted.loc[8, "reverted_within_30d"]  # merged a month after PR 8


def test_a_commit_listed_by_a_closed_pr_and_a_merged_one_landed_through_the_merged_one(
    build, tmp_path
):
    """An agent closed PR 21 and opened PR 22 with the same commit (seen in AIDev on
    seasonedcc/remix-forms): the commit landed through 22, the one merged, whichever the
    data lists first."""
    b = build("reopened")
    b.commit("Initial", {"a": "1\n"})
    shared = b.commit("Add SchemaForm tests", {"t.py": "assert True\n"})
    b.close()
    closed = _pr(21, DEVIN, None, [(shared, "Add SchemaForm tests")])
    closed["pull"]["merged_at"] = None
    merged = _pr(22, DEVIN, None, [(shared, "Add SchemaForm tests")])
    data = _data([closed, merged])
    repo = ai.Repo(b.path, cache_dir=tmp_path, name="o/r", progress=False)
    row = repo.commits(prs=data).set_index("sha").loc[shared]
    assert row["pr_number"] == 22 and row["ai_source"] == "pr"
    links = ai.link_prs(repo.commits(), data.prs, data.pr_commits)
    assert links.set_index("sha").loc[shared, "number"] == 22


def test_a_merge_known_by_its_subject_brings_its_branch_commits_with_it(build, tmp_path):
    """AIDev has no merge commit shas and its commit lists miss commits: a merge whose
    subject is GitHub's ``Merge pull request #31`` links the branch commits it brought in,
    listed or not; a commit main had before the branch is not one of them."""
    b = build("subject-merge")
    base = b.commit("Initial", {"a": "1\n"})
    b.branch("devin/x", at=base)
    listed = b.commit("Agent part one", {"x": "1\n"}, branch="devin/x")
    unlisted = b.commit("Agent part two", {"x": "2\n"}, branch="devin/x")
    main = b.commit("Main meanwhile", {"a": "2\n"})
    merge = b.commit("Merge pull request #31 from o/devin/x", merge=["devin/x"])
    b.close()
    data = _data([_pr(31, DEVIN, None, [(listed, "Agent part one")])])
    repo = ai.Repo(b.path, cache_dir=tmp_path, name="o/r", progress=False)
    commits = repo.commits(prs=data).set_index("sha")
    assert commits.loc[[merge, listed, unlisted], "pr_number"].tolist() == [31, 31, 31]
    assert commits.loc[[listed, unlisted], "ai_assisted"].all()
    assert pd.isna(commits.loc[main, "pr_number"]) and pd.isna(commits.loc[base, "pr_number"])
    assert repo.last_report.prs["via"] == {
        "merge_subject": 1, "pr_commits": 1, "branch_of_subject": 1,
    }  # fmt: skip
