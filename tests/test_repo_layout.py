"""The thin ``Repo``: one MiningReport per public call, and the layers it sits on.

``Repo`` delegates mining to :mod:`aiimpact.mining`, cloning to :mod:`aiimpact.git.clone`
and the revert and SZZ glue to :mod:`aiimpact.outcomes.linking`; layers import downwards
only (git -> detect -> outcomes -> mining -> repo).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
from conftest import git

import aiimpact as ai

SRC = Path(ai.__file__).parent

NOTE = (
    "a.py\n  s_0123456789abcd::t_0123456789abcd 1-2\n---\n"
    '{"schema_version": "authorship/3.0.0", "sessions": {"s_0123456789abcd": '
    '{"agent_id": {"tool": "claude", "id": "x", "model": "opus"}}}}'
)


def _repo_with_ai_and_a_note(build):
    b = build("report")
    shas = [
        b.commit("Add a\n\nCo-authored-by: Cursor <cursoragent@cursor.com>", {"a.py": "1\n2\n"}),
        b.commit("Grow a", {"a.py": "1\n2\n3\n4\n"}),
        b.commit("fix: off by one in a", {"a.py": "1\n2\n3\n5\n"}),
        b.commit("Add b\n\nCo-authored-by: Cursor <cursoragent@cursor.com>", {"b.py": "x\n"}),
    ]
    b.close()
    git(b.path, "notes", "--ref=ai", "add", "-m", NOTE, shas[1])
    return b


def test_outcomes_fills_one_report_with_coverage_and_notes(build):
    b = _repo_with_ai_and_a_note(build)
    repo = ai.Repo(b.path, progress=False)
    out = repo.outcomes()
    assert len(out) == 4
    report = repo.last_report
    # commits() ran inside outcomes(); file_changes() and lines() after it kept its report
    assert report.notes == 1
    assert report.coverage is not None
    cov = dict(zip(report.coverage["id"], report.coverage["commits"], strict=True))
    assert cov["cursor/co-author"] == 2 and cov["git-ai/note"] == 1
    assert (report.reachable, report.mined) == (4, 4)
    assert report.unresolved_reverts == 0 and report.unfollowed_files == 0

    again = ai.Repo(b.path, progress=False)  # from the cache: the same notes and coverage
    pd.testing.assert_frame_equal(again.outcomes(), out)
    assert again.last_report.notes == 1 and again.last_report.coverage is not None


def test_each_public_call_starts_a_new_report(build):
    b = _repo_with_ai_and_a_note(build)
    repo = ai.Repo(b.path, progress=False)
    repo.commits()
    first = repo.last_report
    assert first.notes == 1 and first.coverage is not None
    repo.file_changes()
    assert repo.last_report is not first
    assert repo.last_report.notes == 0 and repo.last_report.coverage is None
    repo.reverts()  # reads commits inside: its report has their notes and coverage
    assert repo.last_report.notes == 1 and repo.last_report.coverage is not None
    repo.szz()
    assert repo.last_report.notes == 1 and repo.last_report.coverage is not None


# -- layers --------------------------------------------------------------------------------
_FOUNDATION = {"aiimpact", "aiimpact.errors", "aiimpact.schema", "aiimpact.times", "aiimpact.files"}


def _imports(path: Path) -> set[str]:
    """Modules of aiimpact that *path* imports (at any level, lazily or not)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "aiimpact":
                found |= {f"aiimpact.{a.name}" for a in node.names}
            elif node.module.startswith("aiimpact."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("aiimpact")}
    return found


def _allowed(module: str, prefixes: tuple[str, ...]) -> bool:
    return module in _FOUNDATION or module.startswith(prefixes)


def test_git_imports_nothing_above_it():
    for path in (SRC / "git").rglob("*.py"):
        bad = {m for m in _imports(path) if not _allowed(m, ("aiimpact.git",))}
        assert not bad, (path.name, bad)


def test_outcomes_import_neither_the_facade_nor_mining():
    allowed = ("aiimpact.git", "aiimpact.detect", "aiimpact.outcomes")
    for path in (SRC / "outcomes").rglob("*.py"):
        bad = {m for m in _imports(path) if not _allowed(m, allowed)}
        assert not bad, (path.name, bad)


def test_mining_does_not_import_the_facade():
    assert not {m for m in _imports(SRC / "mining.py") if m.startswith("aiimpact.repo")}


def test_repo_is_thin():
    assert len((SRC / "repo.py").read_text().splitlines()) <= 250
