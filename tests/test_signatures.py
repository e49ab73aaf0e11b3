"""Every signature matches its own example and not its near miss (both live in the TOML)."""

from __future__ import annotations

import re

import pytest

import aiimpact as ai
from aiimpact.detect.detector import COMMIT_KINDS, PR_KINDS, TOOLS, load_signatures

ENTRIES = load_signatures()
_IDENT = re.compile(r"^(.*?)\s*<([^<>]*)>$")


def _ident(text: str | None) -> tuple[str, str]:
    m = _IDENT.match(text or "Dana Lee <dana@example.org>")
    return m.group(1), m.group(2)


def _fired(entry: dict, case: dict) -> tuple[str, ...]:
    det = ai.Detector()
    if entry["kind"] in PR_KINDS:
        return det.detect_pr(
            case.get("login", ""), case.get("id"), case.get("head_ref", ""), case.get("body", "")
        ).signatures
    author = _ident(case.get("author"))
    committer = _ident(case.get("committer") or case.get("author"))
    return det.detect(case["message"], *author, *committer).signatures


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_signature_is_complete_data(entry):
    assert entry["tool"] in TOOLS
    assert entry["mode"] in ("agent", "co-author", "suggestion", "declared")
    assert entry["confidence"] in ("explicit", "heuristic")
    assert len(entry["source"]) > 10, "every signature names where it was verified"
    if entry["kind"] in (*COMMIT_KINDS, *PR_KINDS):
        assert "example" in entry and "near_miss" in entry


@pytest.mark.parametrize(
    "entry",
    [e for e in ENTRIES if "example" in e],
    ids=[e["id"] for e in ENTRIES if "example" in e],
)
def test_example_matches_and_near_miss_does_not(entry):
    assert entry["id"] in _fired(entry, entry["example"])
    assert entry["id"] not in _fired(entry, entry["near_miss"])


def test_catalogue_covers_every_tool_with_a_verified_mark():
    tools = {e["tool"] for e in ENTRIES}
    verified = {
        "claude-code",
        "copilot",
        "cursor",
        "aider",
        "codex",
        "devin",
        "jules",
        "gemini",
        "amazon-q",
        "openhands",
        "roo",
        "cline",
        "windsurf",
        "amp",
        "sweep",
        "other",
    }
    assert verified <= tools
    kinds = {e["kind"] for e in ENTRIES}
    assert {"trailer", "footer", "subject", "author", "note", "pr_author", "branch", "pr_body"} <= (
        kinds
    )


def test_drift_over_time_is_covered():
    det = ai.Detector()
    aider = [
        "aider (gpt-4o) <noreply@aider.dev>",
        "aider (anthropic/claude-3-7-sonnet) <noreply@aider.chat>",
        "aider (anthropic/claude-sonnet-4) <aider@aider.chat>",
    ]
    for who in aider:
        assert det.detect(f"x\n\nCo-authored-by: {who}").tools == ("aider",)
    for footer in (
        "🤖 Generated with [Claude Code](https://claude.ai/code)",
        "🤖 Generated with [Claude Code](https://claude.com/claude-code)",
        "🤖 Generated with Claude Code",
    ):
        assert det.detect(f"x\n\n{footer}").tools == ("claude-code",)
    modes = {
        det.detect(f"x\n\nCo-authored-by: Copilot <{i}+Copilot@users.noreply.github.com>").modes
        for i in (198982749, 223556219, 175728472)
    }
    assert modes == {("agent",), ("co-author",), ("suggestion",)}
    for model in ("Claude", "Claude Opus 4.5", "Claude Sonnet 4.5", "Claude Fable 5 (1M context)"):
        assert det.detect(f"x\n\nCo-Authored-By: {model} <noreply@anthropic.com>").ai_assisted


def test_docs_catalogue_page_is_current():
    from pathlib import Path

    from aiimpact.detect.catalogue import markdown

    page = Path(__file__).parents[1] / "docs" / "signatures.md"
    assert page.read_text() == markdown(), (
        "docs/signatures.md is stale: run python -m aiimpact.detect.catalogue > docs/signatures.md"
    )
    for entry in ENTRIES:
        assert f"`{entry['id']}`" in page.read_text()
