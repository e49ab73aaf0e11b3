"""GH Archive hourly event files as pull-request tables, streamed.

Reads ``PullRequestEvent``, ``PullRequestReviewEvent`` and
``PullRequestReviewCommentEvent`` lines from GH Archive files (``.json`` or ``.json.gz``,
one JSON event per line), keeps the latest pull-request object seen for each PR, its
reviews and review comments, and the ``ready_for_review`` transitions, then maps them onto
``prs``, ``reviews`` and ``pr_commits`` like the GitHub client's data. Lines are streamed:
only the PRs (of the wanted repositories) are held, never a whole file.

What the archive cannot say: the Events API carries no commits list and no
``synchronize``/force-push events, so ``review_rounds`` is 1 for reviewed PRs and
``pr_commits`` is empty; a PR whose first events fall before the first file read starts
where the files start. Malformed lines are skipped and counted (``.skipped``).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from aiimpact.errors import InputError
from aiimpact.platforms.tables import PullRequestData, tables_from_raw

_TYPES = {"PullRequestEvent", "PullRequestReviewEvent", "PullRequestReviewCommentEvent"}


def _lines(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            yield from f
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read GH Archive file {path}: {exc}") from None


def load_gharchive(
    paths: str | Path | Iterable[str | Path], repos: Iterable[str] | None = None
) -> PullRequestData:
    """Pull requests from GH Archive files (see the module docstring for what is missing).

    Parameters
    ----------
    paths : path or iterable of paths
        Hourly files (``2025-06-01-15.json.gz``) or directories of them.
    repos : iterable of str, optional
        Keep only these ``owner/name`` repositories (recommended: bounds memory).

    Returns
    -------
    PullRequestData
        ``.prs``, ``.reviews``, ``.pr_commits`` (empty) and ``.skipped`` (malformed lines).

    Examples
    --------
    >>> data = ai.load_gharchive(["2025-06-01-15.json.gz"], repos=["octo/demo"])  # doctest: +SKIP
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(x for x in p.iterdir() if x.name.endswith((".json", ".json.gz")))
        elif p.exists():
            files.append(p)
        else:
            raise InputError(f"GH Archive file {p} does not exist")
    wanted = set(repos) if repos is not None else None
    state: dict[tuple[str, int], dict] = {}
    skipped = 0
    for path in files:
        for line in _lines(path):
            if not any(t in line for t in _TYPES):
                continue
            try:
                event = json.loads(line)
                kind = event["type"]
                repo = event["repo"]["name"]
                payload = event["payload"]
                pull = payload["pull_request"]
                number = int(pull.get("number") or payload.get("number"))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                skipped += 1
                continue
            if kind not in _TYPES or (wanted is not None and repo not in wanted):
                continue
            pr = state.setdefault(
                (repo, number),
                {"pull": pull, "reviews": {}, "review_comments": {}, "timeline": [], "at": ""},
            )
            when = event.get("created_at") or ""
            if when >= pr["at"]:
                pr["pull"], pr["at"] = pull, when
            if kind == "PullRequestEvent" and payload.get("action") == "ready_for_review":
                pr["timeline"].append({"event": "ready_for_review", "created_at": when})
            elif kind == "PullRequestReviewEvent" and payload.get("review"):
                review = payload["review"]
                pr["reviews"][review.get("id")] = review
            elif kind == "PullRequestReviewCommentEvent" and payload.get("comment"):
                comment = payload["comment"]
                pr["review_comments"][comment.get("id")] = comment
    by_repo: dict[str, list[dict]] = {}
    for (repo, _n), pr in sorted(state.items()):
        by_repo.setdefault(repo, []).append(
            {
                "pull": pr["pull"],
                "reviews": sorted(
                    pr["reviews"].values(), key=lambda r: r.get("submitted_at") or ""
                ),
                "review_comments": list(pr["review_comments"].values()),
                "issue_comments": [],
                "timeline": sorted(pr["timeline"], key=lambda e: e["created_at"]),
                "commits": [],
            }
        )
    tables = [tables_from_raw(repo, items) for repo, items in by_repo.items()]
    prs, reviews, commits = (
        pd.concat([t[i] for t in tables], ignore_index=True) if tables else empty
        for i, empty in enumerate(tables_from_raw("", []))
    )
    return PullRequestData(prs, reviews, commits, skipped=skipped)
