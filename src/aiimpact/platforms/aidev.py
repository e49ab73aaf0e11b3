"""The AIDev dataset of agentic pull requests, mapped onto the ``prs``/``reviews``/``pr_commits``
tables (Li, Zhang and Hassan, "The Rise of AI Teammates in SE 3.0", arXiv:2507.15003).

Two layouts are read:

* the Hugging Face parquet tables (``pull_request.parquet`` or ``all_pull_request.parquet``,
  ``human_pull_request.parquet``, ``pr_reviews``, ``pr_commits``, ``pr_comments``,
  ``pr_timeline``), with an ``agent`` column;
* the authors' earlier per-agent CSV layout (``<agent>/prs.csv``, ``pr_reviews.csv``,
  ``pr_timelines.csv``, ``pr_commits.csv``, ``pr_comments.csv``), or the same files flat with
  an ``agent`` column.

Each row's own label is kept as it is in ``agent`` (``Claude_Code``, ``Copilot``, ``Cursor``,
``Devin``, ``OpenAI_Codex``, ``Human``): per-agent figures group by it, as the AIDev paper
does. The label also becomes one of ``ai_tools`` (``Human`` rows are the unassisted
baseline) with evidence ``dataset:aidev``, beside the tools the detector finds in titles,
bodies and commits: a Devin PR whose body mentions Claude has both tools, and one agent.
Real copies are often partial (large files missing): what exists is loaded, and ``missing``
says what was absent.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pandas as pd

from aiimpact.errors import InputError
from aiimpact.platforms.tables import PullRequestData, tables_from_raw

AGENT_TOOLS = {
    "claude_code": "claude-code",
    "claude": "claude-code",
    "copilot": "copilot",
    "cursor": "cursor",
    "openai_codex": "codex",
    "codex": "codex",
    "devin": "devin",
    "human": None,
}
_TABLES = {
    "prs": ("pull_request", "all_pull_request", "human_pull_request", "prs"),
    "reviews": ("pr_reviews",),
    "commits": ("pr_commits",),
    "comments": ("pr_comments",),
    "timeline": ("pr_timeline", "pr_timelines"),
}


def _read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)


def _frames(root: Path) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Every table found under *root*, concatenated across agent folders."""
    found: dict[str, list[pd.DataFrame]] = defaultdict(list)
    missing = []
    folders = [root, *sorted(p for p in root.iterdir() if p.is_dir())]
    for folder in folders:
        for table, names in _TABLES.items():
            paths = [folder / f"{n}{ext}" for n in names for ext in (".parquet", ".csv")]
            present = [p for p in paths if p.exists()]
            for p in present:
                df = _read(p)
                if "agent" not in df.columns:
                    df.insert(0, "agent", "Human" if "human" in p.stem else folder.name)
                found[table].append(df)
            if not present and folder != root:
                missing.append(f"{folder.name}/{table}")
    frames = {t: pd.concat(v, ignore_index=True) for t, v in found.items()}
    missing += [t for t in _TABLES if t not in frames]
    return frames, missing


def load_aidev(path: str | Path) -> PullRequestData:
    """Load AIDev (parquet or CSV layout) into ``prs``, ``reviews`` and ``pr_commits``.

    Parameters
    ----------
    path : str or Path
        The dataset directory.

    Returns
    -------
    PullRequestData
        ``.prs``, ``.reviews``, ``.pr_commits`` (columns as for GitHub) and ``.missing``,
        the tables (per agent folder) that were absent.

    Examples
    --------
    >>> data = ai.load_aidev("AIDev-pop")                           # doctest: +SKIP
    >>> data.prs.groupby(data.prs.ai_tools.str[0]).state.value_counts()  # doctest: +SKIP
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"{root} is not a directory holding the AIDev tables")
    frames, missing = _frames(root)
    if "prs" not in frames:
        raise InputError(f"{root} has no pull-request table (prs.csv or pull_request.parquet)")
    by_pr: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for table in ("reviews", "commits", "comments", "timeline"):
        for row in frames.get(table, pd.DataFrame()).to_dict("records"):
            by_pr[str(row.get("pr_id"))][table].append(row)
    items, labels, repos = [], [], []
    for pr in frames["prs"].to_dict("records"):
        related = by_pr[str(pr.get("id"))]
        items.append(_raw(pr, related))
        labels.append(_text(pr.get("agent")) or None)
        repos.append(_repo_name(pr.get("repo_url")))
    prs, reviews, commits = tables_from_raw("", items)
    prs["repo"] = repos
    prs["agent"] = pd.array(labels, dtype=prs["agent"].dtype)
    for df in (reviews, commits):
        df["repo"] = df["number"].map(
            {n: r for n, r in zip(prs["number"], prs["repo"], strict=True)}
        )
    for i, label in enumerate(labels):
        if label and (tool := AGENT_TOOLS.get(label.lower(), "other")):
            prs.at[i, "ai_tools"] = sorted({*prs.at[i, "ai_tools"], tool})
            prs.at[i, "ai_evidence"] = sorted({*prs.at[i, "ai_evidence"], "dataset:aidev"})
            prs.at[i, "ai_assisted"] = True
    return PullRequestData(prs, reviews, commits, missing)


def _repo_name(url) -> str | None:
    if not isinstance(url, str):
        return None
    return "/".join(url.rstrip("/").split("/")[-2:])


def _user(name, user_id=None) -> dict | None:
    if not isinstance(name, str) or not name:
        return None
    uid = int(user_id) if user_id not in (None, "") and pd.notna(user_id) else None
    return {"login": name, "id": uid, "type": "Bot" if name.endswith("[bot]") else "User"}


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _raw(pr: dict, related: dict[str, list]) -> dict:
    """An AIDev row and its related rows in the shape of GitHub's REST responses."""
    timeline = [
        {
            "event": t.get("event"),
            "created_at": _text(t.get("created_at")) or None,
            "user": _user(t.get("actor")),
            "id": t.get("id"),
        }
        for t in related.get("timeline", [])
    ]
    return {
        "pull": {
            "number": int(pr["number"]) if pd.notna(pr.get("number")) else None,
            "title": _text(pr.get("title")),
            "body": _text(pr.get("body")),
            "user": _user(pr.get("user"), pr.get("user_id")),
            "state": pr.get("state"),
            "draft": False,
            "created_at": _text(pr.get("created_at")) or None,
            "closed_at": _text(pr.get("closed_at")) or None,
            "merged_at": _text(pr.get("merged_at")) or None,
            "head": {"ref": ""},
        },
        "reviews": [
            {
                "id": r.get("id"),
                "user": _user(r.get("user")),
                "state": r.get("state"),
                "submitted_at": _text(r.get("submitted_at")) or None,
                **({"body": _text(r.get("body"))} if "body" in r else {}),
            }
            for r in related.get("reviews", [])
        ],
        "issue_comments": [
            {"user": _user(c.get("user")), "created_at": _text(c.get("created_at")) or None}
            for c in related.get("comments", [])
        ],
        "timeline": timeline,
        "commits": [
            {
                "sha": c.get("sha"),
                "commit": {
                    "message": _text(c.get("message")),
                    "author": {"name": _text(c.get("author")), "email": ""},
                    "committer": {"name": _text(c.get("committer")), "email": ""},
                },
            }
            for c in related.get("commits", [])
        ],
    }
