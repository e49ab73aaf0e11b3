"""The demo repository: a year of a small service with staggered AI adoption."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiimpact.synth.builder import RepoBuilder

_HUMANS = [
    "Maya Chen <maya@example.org>",
    "Tomás Ruiz <tomas@example.org>",
    "Priya Nair <priya@example.org>",
    "Jon Berg <jon@example.org>",
]
_AI_MARKS = {
    "claude-code": "\n\nCo-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>",
    "copilot": "\n\nCo-authored-by: Copilot <223556219+Copilot@users.noreply.github.com>",
    "cursor": "\n\nCo-authored-by: Cursor <cursoragent@cursor.com>",
    "codex": "\n\nCo-authored-by: Codex <noreply@openai.com>",
    "aider": "\n\nCo-authored-by: aider (anthropic/claude-sonnet-4) <aider@aider.chat>",
}
_MODULES = ["api", "cache", "parser", "cli", "store", "report", "auth", "sync"]


def make_demo_repo(path: str | Path, n_commits: int = 400, seed: int = 0) -> RepoBuilder:
    """Generate the demo repository: a realistic history with AI marks, reverts and fixes.

    Four developers work on a small Python service for about a year. Each takes up an AI
    tool at a different time (staggered adoption: Claude Code, Copilot, Cursor and aider
    trailers, an ``(aider)`` author suffix, occasional Codex); feature branches are merged;
    some changes are reverted (``This reverts commit <sha>.``) and some lines are fixed later
    (``Fix ...`` commits that modify lines an earlier commit wrote). Deterministic for a
    given *seed*.

    Returns the (closed) builder, whose ``expected`` maps each sha to what was planted:
    ``{"ai": bool, "tool": str | None, "reverted_by": sha | None}``.
    """
    rng = random.Random(seed)
    b = RepoBuilder(path, start=datetime(2025, 1, 6, 9, 0, tzinfo=UTC), step=timedelta(hours=19))
    files = {f"src/{m}.py": [f"# {m} module\n"] for m in _MODULES}
    b.commit(
        "Initial import",
        {p: "".join(lines) for p, lines in files.items()} | {"README.md": "# demo service\n"},
        author=_HUMANS[0],
        expect={"ai": False, "tool": None},
    )
    # staggered adoption: each developer takes up one tool at a different point in time
    adoption = dict(zip(_HUMANS, [0.15, 0.35, 0.5, 0.65], strict=True))
    favourite = dict(zip(_HUMANS, ["claude-code", "copilot", "cursor", "aider"], strict=True))
    recent: list[tuple[str, str, dict]] = []
    for i in range(1, n_commits):
        author = rng.choice(_HUMANS)
        progress = i / n_commits
        tool = None
        if progress >= adoption[author] and rng.random() < 0.6:
            tool = "codex" if rng.random() < 0.1 else favourite[author]
        roll = rng.random()
        if roll < 0.05 and recent:
            target_sha, target_subject, snapshot = recent.pop(rng.randrange(len(recent)))
            msg = f'Revert "{target_subject}"\n\nThis reverts commit {target_sha}.'
            sha = b.commit(msg, snapshot, author=author, expect={"ai": False, "tool": None})
            b.expected[target_sha]["reverted_by"] = sha
            for p, text in snapshot.items():
                files[p] = text.splitlines(keepends=True)
            continue
        module = rng.choice(_MODULES)
        path_ = f"src/{module}.py"
        before = {path_: "".join(files[path_])}
        body = [k for k, line in enumerate(files[path_]) if line.startswith("    y")]
        if roll < 0.2 and body:
            k = rng.choice(body)
            files[path_][k] = files[path_][k].replace(" + ", " - ", 1).rstrip() + "  # fixed\n"
            subject = f"Fix {module}: handle empty input ({rng.randint(100, 999)})"
        else:
            n_new = rng.randint(3, 30) * (2 if tool else 1)
            fn = f"{module}_{i}"
            files[path_] += (
                [f"def {fn}(x):\n"]
                + [f"    y{j} = x + {j}\n" for j in range(n_new)]
                + ["    return x\n"]
            )
            subject = f"Add {fn} to {module}"
        msg = subject + (_AI_MARKS[tool] if tool else "")
        ident = author
        if tool == "aider" and rng.random() < 0.5:
            ident = author.replace(" <", " (aider) <")
            msg = subject
        elif tool == "copilot" and rng.random() < 0.3:  # the coding agent authors it
            ident = "Copilot <198982749+Copilot@users.noreply.github.com>"
            msg = subject
        sha = b.commit(
            msg,
            {path_: "".join(files[path_])},
            author=ident,
            expect={"ai": tool is not None, "tool": tool, "reverted_by": None},
        )
        recent = [*recent[-15:], (sha, subject, before)]
        if rng.random() < 0.04:
            feature = f"feature/{module}-{i}"
            b.branch(feature)
            extra = f"src/{module}_extra.py"
            b.commit(
                f"Start {module} extra",
                {extra: f"# {module} extra\n"},
                author=author,
                branch=feature,
                expect={"ai": False, "tool": None},
            )
            b.commit(
                f"Merge branch '{feature}'",
                author=author,
                merge=[feature],
                expect={"ai": False, "tool": None},
            )
    b.close()
    return b
