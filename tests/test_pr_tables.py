"""Review metrics on recorded real pull requests, checked against hand-computed values."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from aiimpact import schema
from aiimpact.platforms.tables import tables_from_raw

DATA = Path(__file__).parent / "data" / "github-recorded" / "github-stats"


def _item(name: str, **extra) -> dict:
    pull = json.loads((DATA / f"pulls-{name}.json").read_text())
    timeline = json.loads((DATA / f"timeline-{name}.json").read_text())
    return {"pull": pull, "timeline": timeline, **extra}


def _row(name: str, **extra) -> pd.Series:
    prs, _reviews, _commits = tables_from_raw("o/r", [_item(name, **extra)])
    return prs.iloc[0]


def H(days=0, hours=0, minutes=0, seconds=0) -> float:
    return days * 24 + hours + minutes / 60 + seconds / 3600


def test_merged_same_day_without_review():
    r = _row("retrofit-3114")  # opened 02:33:23, merged 14:27:25, one comment, no review
    assert pd.isna(r.first_review_at) and r.reviews == 0 and r.review_rounds == 0
    assert r.time_to_merge == pytest.approx(H(hours=11, minutes=54, seconds=2))
    assert r.comments == 1 and r.state == "merged" and not r.is_open


def test_force_pushes_and_a_late_approval():
    r = _row("jquery-5046")  # opened 2022-05-23 16:02:33, approved 06-27 16:28:16
    assert r.first_review_at == pd.Timestamp("2022-06-27T16:28:16Z")
    assert r.first_approval_at == r.first_review_at
    assert r.time_to_first_review == pytest.approx(H(days=35, minutes=25, seconds=43))
    assert r.time_to_merge == pytest.approx(H(days=35, hours=18, minutes=36, seconds=29))
    assert (r.reviews, r.review_rounds, r.comments) == (1, 1, 0)


def test_issue_comments_are_not_reviews():
    r = _row("okhttp-7458")  # two comments precede the only review, by swankjesse
    assert r.first_review_at == pd.Timestamp("2022-10-16T01:49:45Z")
    assert r.time_to_first_review == pytest.approx(H(days=24, hours=16, minutes=47, seconds=16))
    assert r.comments == 3  # the author's own comment counts, bots' would not


def test_rounds_are_reviews_between_pushes():
    r = _row("freeCodeCamp-47550")
    assert r.reviews == 12 and r.review_rounds == 6
    assert r.time_to_first_review == pytest.approx(H(hours=12, minutes=59, seconds=22))
    assert r.first_approval_at == pd.Timestamp("2022-09-22T21:51:06Z")
    assert r.comments == 0  # only the gitpod bot commented


def test_drafts_open_prs_and_deleted_accounts():
    item = _item("jquery-5046")
    item["pull"] = {
        **item["pull"],
        "draft": True,
        "state": "open",
        "merged_at": None,
        "closed_at": None,
        "user": None,
    }
    r = _row_from(item)
    assert pd.isna(r.ready_at) and pd.isna(r.time_to_merge) and r.is_open
    assert pd.isna(r.author_login) and not r.author_is_bot  # NA, as in a longer table
    assert r.observed_at >= pd.Timestamp("2022-06-28T10:39:02Z")  # censored, not dropped
    ready = _item("okhttp-7458")
    ready["timeline"] = [
        {"event": "ready_for_review", "created_at": "2022-10-01T00:00:00Z"},
        *ready["timeline"],
    ]
    assert _row_from(ready).ready_at == pd.Timestamp("2022-10-01T00:00:00Z")


def test_cycle_time_phases_add_up_from_the_first_commit_to_the_merge():
    r = _row("jquery-5046")  # first commit authored 2022-05-23 15:56:16, opened 16:02:33
    assert r.cycle_coding == pytest.approx(H(minutes=6, seconds=17))
    assert r.cycle_pickup == pytest.approx(r.time_to_first_review)  # ready = opened
    assert r.cycle_review == 0  # the first review was the approval
    assert r.cycle_merge == pytest.approx(H(hours=18, minutes=10, seconds=46))
    phases = r.cycle_coding + r.cycle_pickup + r.cycle_review + r.cycle_merge
    assert phases == pytest.approx(H(days=35, hours=18, minutes=42, seconds=46))  # by hand
    assert r.review_time_to_merge == pytest.approx(r.time_to_merge)  # never a draft


def test_merge_and_close_count_from_creation_review_times_from_ready():
    item = _item("okhttp-7458")  # opened 2022-09-21 09:02:29 as a draft, merged 10-16 01:50:26
    item["timeline"] = [
        {"event": "ready_for_review", "created_at": "2022-10-01T09:02:29Z"},
        *item["timeline"],
    ]
    r = _row_from(item)
    assert r.time_to_merge == pytest.approx(H(days=24, hours=16, minutes=47, seconds=57))
    assert r.time_to_close == r.time_to_merge
    assert r.review_time_to_merge == pytest.approx(r.time_to_merge - 10 * 24)
    assert r.review_time_to_close == r.review_time_to_merge
    assert r.cycle_pickup == pytest.approx(r.time_to_first_review)
    assert r.cycle_coding == pytest.approx(H(minutes=1))  # its commit: 09:01:29
    assert r.cycle_review == 0 and r.cycle_merge == pytest.approx(H(seconds=41))  # approved
    assert pd.isna(r.agent)  # only a dataset's loader knows an agent label
    item["timeline"] = [e for e in item["timeline"] if e.get("event") != "committed"]
    assert pd.isna(_row_from(item).cycle_coding)  # no commit listed: nothing to count from
    late = _item("jquery-5046")  # approved after the merge: no approval phase to count
    late["pull"] = {**late["pull"], "merged_at": "2022-06-01T00:00:00Z"}
    r = _row_from(late)
    assert r.first_approval_at == pd.Timestamp("2022-06-27T16:28:16Z")
    assert pd.isna(r.cycle_review) and pd.isna(r.cycle_merge)


def _row_from(item: dict) -> pd.Series:
    return tables_from_raw("o/r", [item])[0].iloc[0]


def test_empty_tables_are_typed_as_full_ones():
    items = []
    for name in ("retrofit-3114", "jquery-5046", "okhttp-7458", "freeCodeCamp-47550"):
        item = _item(name)  # the timeline's reviews and commits as the REST lists
        item["reviews"] = [e for e in item["timeline"] if e.get("event") == "reviewed"]
        item["commits"] = [e for e in item["timeline"] if e.get("event") == "committed"]
        items.append(item)
    draft = _item("jquery-5046")  # a deleted account and NA times beside the full rows
    gone = {"draft": True, "state": "open", "merged_at": None, "closed_at": None, "user": None}
    draft["pull"] = {**draft["pull"], **gone}
    full = tables_from_raw("o/r", [*items, draft])
    empty = tables_from_raw("o/r", [])
    schemas = (schema.PRS, schema.REVIEWS, schema.PR_COMMITS)
    for f, e, want in zip(full, empty, schemas, strict=True):
        assert len(f) > 0 and len(e) == 0
        assert list(f.columns) == list(e.columns) == schema.columns(want)
        assert dict(f.dtypes) == dict(e.dtypes) == schema.dtypes(want)
    prs, reviews, _commits = empty  # object and datetime64[s] before the schema typed them
    assert prs["author_is_bot"].dtype == bool and prs["ai_assisted"].dtype == bool
    assert str(prs["created_at"].dtype) == "datetime64[us, UTC]"
    assert reviews["number"].dtype == "int64"
    assert str(reviews["submitted_at"].dtype) == "datetime64[us, UTC]"


def test_pr_level_ai_tags():
    item = _item("okhttp-7458")
    item["pull"] = {
        **item["pull"],
        "user": {"login": "Copilot", "id": 198982749, "type": "Bot"},
        "head": {"ref": "copilot/fix-timeouts"},
    }
    item["commits"] = [
        {
            "sha": "a" * 40,
            "commit": {
                "message": "Fix\n\nCo-authored-by: Cursor <cursoragent@cursor.com>",
                "author": {"name": "Ann", "email": "ann@x.org"},
                "committer": {"name": "Ann"},
            },
        }
    ]
    prs, _reviews, commits = tables_from_raw("o/r", [item])
    r = prs.iloc[0]
    assert r.ai_assisted and r.author_is_bot
    assert r.ai_tools == ["copilot", "cursor"]
    assert {"pr_author:bot", "branch:prefix", "commit:trailer:co-authored-by"} <= set(r.ai_evidence)
    assert list(commits.sha) == ["a" * 40]
    human = _row("okhttp-7458")
    assert not human.ai_assisted and human.ai_tools == []


def test_link_commits_to_prs(build):
    import aiimpact as ai

    b = build("linked")
    base = b.commit("Initial", {"a": "1\n"})
    squash = b.commit("Add retries (#12)", {"a": "2\n"})
    b.branch("topic")
    topic = b.commit("Topic work", {"t": "1\n"}, branch="topic")
    merge = b.commit("Merge pull request #13 from dana/topic", merge=["topic"])
    stray = b.commit("Mention (#999) that does not exist", {"a": "3\n"})
    direct = b.commit("Direct push", {"a": "4\n"})
    b.close()
    commits = ai.Repo(b.path).commits()
    prs = pd.DataFrame({"number": [12, 13, 14], "merge_commit_sha": [None, merge, direct]})
    pr_commits = pd.DataFrame({"number": [13], "sha": [topic]})
    links = ai.link_prs(commits, prs, pr_commits).set_index("sha")
    assert links.loc[squash, "via"] == "squash_subject" and links.loc[squash, "number"] == 12
    assert links.loc[merge, "via"] == "merge_commit" and links.loc[topic, "number"] == 13
    assert links.loc[direct, "number"] == 14
    assert base not in links.index and stray not in links.index
    assert links.attrs["share_linked"] == pytest.approx(4 / 6)
