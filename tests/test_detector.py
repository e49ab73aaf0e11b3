"""AI-assistance detection on commits (the signatures are data: signatures.toml)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

import aiimpact as ai

JULES = "161369871+google-labs-jules[bot]@users.noreply.github.com"
CASES = [
    # (message, author, committer, expected tools, expected modes, evidence)
    (
        "Add cache\n\nCo-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>",
        ("Ann", "ann@x.org"),
        None,
        {"claude-code"},
        {"co-author"},
        {"trailer:co-authored-by"},
    ),
    (
        "Squash (#12)\n\n* wip\n\nCo-authored-by: Cursor <cursoragent@cursor.com>\n\n---------\n\n"
        "Co-authored-by: copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>",
        ("Ann", "ann@x.org"),
        None,
        {"cursor", "copilot"},
        {"co-author", "agent"},
        {"trailer:co-authored-by"},
    ),
    (
        "feat: x\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)",
        ("Ann", "ann@x.org"),
        None,
        {"claude-code"},
        {"co-author"},
        {"footer:generated-with"},
    ),
    (
        "Implement it",
        ("Bob (aider)", "bob@x.org"),
        None,
        {"aider"},
        {"co-author"},
        {"author:suffix"},
    ),
    (
        "Update ci.yml\n\nCo-authored-by: Copilot <175728472+Copilot@users.noreply.github.com>",
        ("Ann", "ann@x.org"),
        None,
        {"copilot"},
        {"suggestion"},
        {"trailer:co-authored-by"},
    ),
    (
        "Fix\n\nAssisted-by: Claude:claude-3-opus coccinelle",
        ("Ann", "ann@x.org"),
        None,
        {"claude-code"},
        {"declared"},
        {"trailer:assisted-by"},
    ),
    (
        "Fix\n\nAssisted-by: generic LLM chatbot",
        ("Ann", "ann@x.org"),
        None,
        {"other"},
        {"declared"},
        {"trailer:assisted-by"},
    ),
    ("Task", ("google-labs-jules[bot]", JULES), None, {"jules"}, {"agent"}, {"author:bot"}),
]

NEGATIVE = [
    ("add Claude Opus 4.7 model settings", ("Paul", "paul@x.org"), None),
    ("fix copilot typo in docs", ("Ann", "ann@x.org"), None),
    ("Refactor", ("Clément Pit-Claudel", "clement@x.org"), None),
    ("Typo", ("Copilot", "nbjorner@microsoft.com"), None),  # a human's e-mail under a tool name
    (
        "Review\n\nCo-authored-by: Claude <81847+claude@users.noreply.github.com>",
        ("Ann", "ann@x.org"),
        None,
    ),  # GitHub user 'claude' is a human
    (
        "Docs\n\n> Co-authored-by: Cursor <cursoragent@cursor.com>\nquoted, not a trailer",
        ("Ann", "ann@x.org"),
        None,
    ),
    ("dirty commit", ("Ann", "ann@x.org"), ("Ann (aider)", "ann@x.org")),  # committer only
    ("Tidy", ("Jo", "12345+jo@users.noreply.github.com"), None),  # noreply domain alone
]


@pytest.mark.parametrize(("message", "author", "committer", "tools", "modes", "evidence"), CASES)
def test_detects(message, author, committer, tools, modes, evidence):
    committer = committer or author
    a = ai.detect(message, *author, *committer)
    assert a.ai_assisted
    assert set(a.tools) == tools and set(a.modes) == modes and set(a.evidence) == evidence


@pytest.mark.parametrize(("message", "author", "committer"), NEGATIVE)
def test_does_not_detect(message, author, committer):
    assert not ai.detect(message, *author, *(committer or author)).ai_assisted


def test_custom_and_disabled_signatures(tmp_path):
    extra = tmp_path / "mine.toml"
    extra.write_text(
        '[[signature]]\nid = "acme/bot"\ntool = "other"\nkind = "author"\n'
        'email = "bot@acme.dev"\nmode = "agent"\nevidence = "author:bot"\n'
    )
    det = ai.Detector(extra=[extra], disable=["cursor/co-author"])
    assert det.detect("x", "Acme Bot", "bot@acme.dev").tools == ("other",)
    assert not det.detect("x\n\nCo-authored-by: Cursor <cursoragent@cursor.com>").ai_assisted
    with pytest.raises(ValueError, match="unknown signature"):
        ai.Detector(disable=["no/such"])
    bad = tmp_path / "bad.toml"
    bad.write_text('[[signature]]\nid = "x"\ntool = "t"\nkind = "smell"\nmode = "agent"\n')
    with pytest.raises(ValueError, match="kind 'smell'"):
        ai.Detector(extra=[bad])


def test_repo_uses_the_given_detector(build):
    b = build("d")
    b.commit("one", {"a": "1\n"}, author="Acme Bot <bot@acme.dev>")
    b.commit("two\n\nCo-authored-by: Cursor <cursoragent@cursor.com>", {"a": "2\n"})
    b.close()
    df = ai.Repo(b.path).commits()
    assert list(df.ai_assisted) == [True, False]
    det = ai.Detector(
        extra=[
            {
                "id": "acme",
                "tool": "other",
                "kind": "author",
                "email": "bot@acme.dev",
                "mode": "agent",
            }
        ]
    )
    df = ai.Repo(b.path, detector=det).commits()
    assert list(df.ai_assisted) == [True, True] and list(df.ai_tools) == [["cursor"], ["other"]]


def test_trailer_keys_any_case_anywhere_in_the_message():
    for key in ("co-authored-by", "CO-AUTHORED-BY", "Co-Authored-By"):
        msg = f"Subject\n\n{key}: Cursor <cursoragent@cursor.com>\n\nMore text after it.\n"
        assert ai.detect(msg).tools == ("cursor",)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (
            'Revert "Add cache"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.'
            "\n\nCo-Authored-By: Claude <noreply@anthropic.com>",
            "revert",
        ),
        (
            "Add cache\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n"
            "(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)",
            "cherry-pick",
        ),
    ],
)
def test_reverts_and_cherry_picks_carry_the_original_marks(message, kind):
    a = ai.detect(message, "Dana", "dana@example.org", "Dana", "dana@example.org")
    assert a.ai_assisted and a.tools == ("claude-code",)
    assert a.carried == kind and a.carried_from == "0123456789abcdef0123456789abcdef01234567"
    bot = "198982749+Copilot@users.noreply.github.com"
    by_agent = ai.detect(message, "Copilot", bot, "GitHub", "noreply@github.com")
    assert set(by_agent.tools) == {"claude-code", "copilot"}
    if kind == "revert":  # a revert's author made the revert: an agent's revert is its own
        assert by_agent.carried is None
    else:  # a cherry-pick keeps the original author: an AI author is copied too
        assert by_agent.carried == "cherry-pick"


def test_policy_trailer_names_its_tool_or_is_other():
    assert ai.detect("x\n\nAssisted-by: ChatGPTv5").tools == ("other",)
    # the leftmost tool name wins: a model named after another tool does not count
    assert ai.detect("x\n\nAssisted-by: Cline:claude-sonnet-4").tools == ("cline",)
    assert ai.detect("x\n\nGenerated-by: Cursor (claude-4-sonnet)").tools == ("cursor",)
    named = ai.detect("x\n\nAssisted-by: Claude Opus 4.6 <noreply@anthropic.com>")
    assert named.tools == ("claude-code",) and named.signatures == ("claude-code/assisted-by",)
    # a person credited, or a generator script, is not an AI declaration
    assert not ai.detect("x\n\nAssisted-by: Dana Lee <dana@example.org>").ai_assisted
    assert not ai.detect("x\n\nGenerated-by: tools/gen_unicode_tables.py").ai_assisted


def test_fenced_code_blocks_are_not_marks():
    msg = "hooks: reject agent trailers\n\n```\nMade-with: Cursor\n```\n"
    assert not ai.detect(msg).ai_assisted


def test_marks_in_file_contents_never_count(build):
    b = build("contents")
    b.commit(
        "Document the commit template",
        {
            "CONTRIBUTING.md": "End AI commits with:\n\n"
            "Co-Authored-By: Claude <noreply@anthropic.com>\n"
        },
    )
    b.close()
    df = ai.Repo(b.path).commits()
    assert not df.ai_assisted.any()


def _notes_repo(build):
    from conftest import git

    b = build("notes")
    shas = [b.commit(f"c{i}", {"a.py": "x\n" * (i + 1)}) for i in range(4)]
    b.close()
    note = (
        "a.py\n  s_0123456789abcd::t_0123456789abcd 1-3\n  h_aaaaaaaaaaaaaa 4\n---\n"
        '{"schema_version": "authorship/3.0.0", "sessions": {"s_0123456789abcd": '
        '{"agent_id": {"tool": "claude", "id": "x", "model": "opus"}}}}'
    )
    human_only = 'a.py\n  h_aaaaaaaaaaaaaa 1-2\n---\n{"schema_version": "authorship/3.0.0"}'
    git(b.path, "notes", "--ref=ai", "add", "-m", note, shas[1])
    git(b.path, "notes", "--ref=ai", "add", "-m", human_only, shas[2])
    legacy = '{"files": {"a.py": {"authors": [{"author": "Cursor", "lines": [1, [2, 4]]}]}}}'
    blob = git(b.path, "hash-object", "-w", "--stdin", input=legacy.encode()).strip()
    git(b.path, "update-ref", f"refs/ai/authorship/{shas[3]}", blob)
    return b, shas


def test_git_ai_notes_give_ai_lines_and_tools(build):
    b, shas = _notes_repo(build)
    repo = ai.Repo(b.path)
    df = repo.commits().set_index("sha")
    assert pd.isna(df.loc[shas[0], "ai_lines"])  # no note: unknown, not zero
    assert df.loc[shas[1], "ai_lines"] == 3 and list(df.loc[shas[1], "ai_tools"]) == ["claude-code"]
    assert "note:git-ai" in list(df.loc[shas[1], "ai_evidence"])
    assert df.loc[shas[2], "ai_lines"] == 0 and not df.loc[shas[2], "ai_assisted"]
    assert df.loc[shas[3], "ai_lines"] == 4 and list(df.loc[shas[3], "ai_tools"]) == ["cursor"]
    assert repo.last_report.notes == 3
    off = ai.Repo(b.path, detector=ai.Detector(disable=["git-ai/note"])).commits()
    assert off.ai_lines.notna().sum() == 3 and not off.ai_assisted.any()


def test_coverage_names_each_signal(build):
    b = build("cov")
    b.commit("a\n\nCo-authored-by: Cursor <cursoragent@cursor.com>", {"a": "1\n"})
    b.commit("b\n\nCo-authored-by: Cursor <cursoragent@cursor.com>", {"a": "2\n"})
    b.commit("c", {"a": "3\n"}, author="Ann (aider) <ann@example.org>")
    b.commit("d", {"a": "4\n"})
    b.close()
    repo = ai.Repo(b.path)
    df = repo.commits()
    cov = repo.last_report.coverage
    assert list(zip(cov.id, cov.commits, strict=True)) == [
        ("cursor/co-author", 2),
        ("aider/author-suffix", 1),
    ]
    assert cov.share.iloc[0] == 0.5 and set(cov.tool) == {"cursor", "aider"}
    assert len(ai.coverage(df, all_signatures=True)) == len(ai.Detector().signatures)


def test_changed_notes_are_read_again_and_parsed_notes_are_cached(build):
    from conftest import git

    b, shas = _notes_repo(build)
    repo = ai.Repo(b.path)
    assert repo.commits().set_index("sha").loc[shas[2], "ai_lines"] == 0
    con = duckdb.connect(str(repo.cache_path))
    assert con.execute("SELECT count(*) FROM note_cache").fetchone()[0] == 3
    con.close()
    rewritten = (
        "a.py\n  s_0123456789abcd::t_0123456789abcd 1-2\n---\n"
        '{"sessions": {"s_0123456789abcd": {"agent_id": {"tool": "codex"}}}}'
    )
    git(b.path, "notes", "--ref=ai", "add", "-f", "-m", rewritten, shas[2])
    row = repo.commits().set_index("sha").loc[shas[2]]
    assert row.ai_lines == 2 and list(row.ai_tools) == ["codex"] and row.ai_assisted
