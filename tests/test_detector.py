"""AI-assistance detection on commits (the signatures are data: signatures.toml)."""

from __future__ import annotations

import pytest

import aiimpact as ai

JULES = "161369871+google-labs-jules[bot]@users.noreply.github.com"
CASES = [
    # (message, author, committer, expected tools, expected modes, evidence)
    ("Add cache\n\nCo-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>",
     ("Ann", "ann@x.org"), None, {"claude-code"}, {"co-author"}, {"trailer:co-authored-by"}),
    ("Squash (#12)\n\n* wip\n\nCo-authored-by: Cursor <cursoragent@cursor.com>\n\n---------\n\n"
     "Co-authored-by: copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>",
     ("Ann", "ann@x.org"), None, {"cursor", "copilot"}, {"co-author", "agent"},
     {"trailer:co-authored-by"}),
    ("feat: x\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)",
     ("Ann", "ann@x.org"), None, {"claude-code"}, {"co-author"}, {"footer:generated-with"}),
    ("Implement it", ("Bob (aider)", "bob@x.org"), None, {"aider"}, {"co-author"},
     {"author:suffix"}),
    ("Update ci.yml\n\nCo-authored-by: Copilot <175728472+Copilot@users.noreply.github.com>",
     ("Ann", "ann@x.org"), None, {"copilot"}, {"suggestion"}, {"trailer:co-authored-by"}),
    ("Fix\n\nAssisted-by: Claude:claude-3-opus coccinelle", ("Ann", "ann@x.org"), None,
     {"other"}, {"declared"}, {"trailer:assisted-by"}),
    ("Task", ("google-labs-jules[bot]", JULES), None, {"jules"}, {"agent"}, {"author:bot"}),
]  # fmt: skip

NEGATIVE = [
    ("add Claude Opus 4.7 model settings", ("Paul", "paul@x.org"), None),
    ("fix copilot typo in docs", ("Ann", "ann@x.org"), None),
    ("Refactor", ("Clément Pit-Claudel", "clement@x.org"), None),
    ("Typo", ("Copilot", "nbjorner@microsoft.com"), None),  # a human's e-mail under a tool name
    ("Review\n\nCo-authored-by: Claude <81847+claude@users.noreply.github.com>",
     ("Ann", "ann@x.org"), None),  # GitHub user 'claude' is a human
    ("Docs\n\n> Co-authored-by: Cursor <cursoragent@cursor.com>\nquoted, not a trailer",
     ("Ann", "ann@x.org"), None),
    ("dirty commit", ("Ann", "ann@x.org"), ("Ann (aider)", "ann@x.org")),  # committer only
    ("Tidy", ("Jo", "12345+jo@users.noreply.github.com"), None),  # noreply domain alone
]  # fmt: skip


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
    det = ai.Detector(extra=[{"id": "acme", "tool": "other", "kind": "author",
                              "email": "bot@acme.dev", "mode": "agent"}])  # fmt: skip
    df = ai.Repo(b.path, detector=det).commits()
    assert list(df.ai_assisted) == [True, True] and list(df.ai_tools) == [["cursor"], ["other"]]
