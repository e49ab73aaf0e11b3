"""Pull-request tables and review metrics from raw GitHub data.

The input is one raw dict per pull request, as the GitHub client (or a recording) gives it:
``{"pull": <GET pulls/{n}>, "reviews": [...], "review_comments": [...],
"issue_comments": [...], "timeline": [...], "commits": [...]}``. The output is the three
tables of DESIGN.md: ``prs``, ``reviews``, ``pr_commits``.

Definitions (times are UTC; durations in hours):

* ``ready_at``: when the PR was opened, or for a draft the last ``ready_for_review`` event
  (NA while it is still a draft);
* ``first_review_at``: the first review or review comment by an account that is neither the
  author nor a bot (``type == "Bot"`` or a ``[bot]`` login);
* ``first_approval_at``: the first ``APPROVED`` review by such an account;
* ``reviews``: reviews by such accounts; ``review_rounds``: groups of those reviews not
  separated by a new commit or a force-push; ``comments``: issue and review comments by
  humans (the author included);
* ``time_to_merge``, ``time_to_close``: from ``created_at``, as GitHub, AIDev and cycle-time
  tools measure them (a PR opened as a draft waits from its creation);
  ``review_time_to_merge``, ``review_time_to_close`` and ``time_to_first_review``: from
  ``ready_at``, the time reviewers had it. An open PR has NA there, not a guess: it is
  right-censored at ``observed_at``, which survival models use with ``is_open``.
  ``observed_at`` is when the data was fetched from GitHub (``fetched_at`` of the raw
  item), else the latest time the data shows (offline sources), which can only make an
  open PR look younger than it is;
* ``review_comments``: inline review comments by other humans, also per 100 changed lines
  (``review_comments_per_100_lines``, NA where the size is unknown); ``reviewers``: the
  other humans who reviewed or commented inline; ``rubber_stamp``: approved, and no
  approval says anything (an empty review body, no inline comment by the approver), NA
  where the data has no review bodies or no inline comments (AIDev's CSV layout): the
  inline counts are then NA too, never 0;
* the cycle-time phases: ``cycle_coding`` from the first commit (the earliest author date
  among the PR's commits) to ``created_at``; ``cycle_pickup`` from ``ready_at`` to the
  first review; ``cycle_review`` from the first review to the first approval;
  ``cycle_merge`` from the first approval to the merge. A phase that ends before it starts
  (a commit authored after the PR was opened, a review of a draft) counts 0; a phase whose
  end never came (no approval before the merge, say) is NA.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from aiimpact import schema
from aiimpact.detect.detector import Detector, default_detector
from aiimpact.times import utc_time_or_none as _ts  # a time read from data, or None

PR_COLUMNS = schema.columns(schema.PRS)
REVIEW_COLUMNS = schema.columns(schema.REVIEWS)
COMMIT_COLUMNS = schema.columns(schema.PR_COMMITS)
"""The columns of ``prs``, ``reviews`` and ``pr_commits`` (:mod:`aiimpact.schema`)."""


@dataclass
class PullRequestData:
    """The three pull-request tables; for offline sources, what they lacked (``missing``)
    and how many malformed records were skipped (``skipped``)."""

    prs: pd.DataFrame
    reviews: pd.DataFrame
    pr_commits: pd.DataFrame
    missing: list[str] = field(default_factory=list)
    skipped: int = 0


def login(user: Mapping | None) -> str | None:
    """The login of a user object (None for a deleted account, which GitHub sends as null)."""
    return (user or {}).get("login")


def is_bot(user: Mapping | None) -> bool:
    """GitHub's own flag (``type == "Bot"``) or a ``[bot]`` login."""
    if not user:
        return False
    return user.get("type") == "Bot" or str(user.get("login", "")).endswith("[bot]")


def _hours(later, earlier) -> float | None:
    if later is None or earlier is None:
        return None
    return (later - earlier).total_seconds() / 3600


def _phase(end, start) -> float | None:
    """Hours of a cycle-time phase: 0 if it ended before it started."""
    hours = _hours(end, start)
    return None if hours is None else max(hours, 0.0)


def _first_commit(item: Mapping, timeline: list[Mapping]) -> object:
    """The earliest author date among the PR's commits (REST ``commits`` or the timeline's
    ``committed`` events), or None."""
    dated = [
        (c.get("commit") or {}).get("author")
        for c in item.get("commits") or []
        if isinstance(c, Mapping)
    ] + [e.get("author") for e in timeline if e.get("event") == "committed"]
    times = [_ts(a.get("date")) for a in dated if isinstance(a, Mapping) and a.get("date")]
    return min((t for t in times if t is not None), default=None)


def review_metrics(item: Mapping) -> dict:
    """The review metrics of one PR (see the module docstring for the definitions)."""
    pull = item["pull"]
    author = login(pull.get("user"))
    timeline = [e for e in item.get("timeline") or [] if isinstance(e, Mapping)]
    created = _ts(pull.get("created_at"))
    ready = created
    for e in timeline:
        if e.get("event") == "ready_for_review":
            ready = _ts(e.get("created_at")) or ready
    if pull.get("draft"):
        ready = None

    def human_other(user) -> bool:
        return user is not None and not is_bot(user) and login(user) != author

    reviews = [r for r in item.get("reviews") or [] if isinstance(r, Mapping)]
    if not reviews:  # the timeline carries them too
        reviews = [e for e in timeline if e.get("event") == "reviewed"]
    counted = [r for r in reviews if human_other(r.get("user")) and r.get("submitted_at")]
    review_times = [_ts(r["submitted_at"]) for r in counted]
    comment_times = [
        _ts(c.get("created_at"))
        for c in item.get("review_comments") or []
        if human_other(c.get("user")) and c.get("created_at")
    ]
    firsts = [t for t in review_times + comment_times if t is not None]
    approvals = [
        _ts(r["submitted_at"]) for r in counted if str(r.get("state", "")).upper() == "APPROVED"
    ]
    issue_comments = item.get("issue_comments")
    if issue_comments is None:  # the timeline carries them too
        issue_comments = [e for e in timeline if e.get("event") == "commented"]
    humans = [
        c
        for c in [*issue_comments, *(item.get("review_comments") or [])]
        if isinstance(c, Mapping) and c.get("user") is not None and not is_bot(c.get("user"))
    ]
    merged, closed = _ts(pull.get("merged_at")), _ts(pull.get("closed_at"))
    known = item.get("review_comments") is not None
    inline = [
        c
        for c in item.get("review_comments") or []
        if isinstance(c, Mapping) and human_other(c.get("user"))
    ]
    first_review = min(firsts) if firsts else None
    first_approval = min((a for a in approvals if a), default=None)
    # an approval counts for the phases if it came before the merge, or nothing was merged
    approved = (
        first_approval if first_approval and not (merged and first_approval > merged) else None
    )
    seen = [t for t in (created, merged, closed, _ts(pull.get("updated_at"))) if t] + [
        t for t in (_ts(e.get("created_at") or e.get("submitted_at")) for e in timeline) if t
    ]
    return {
        "ready_at": ready,
        "first_review_at": first_review,
        "first_approval_at": first_approval,
        "merged_at": merged,
        "closed_at": closed,
        "reviews": len(counted),
        "review_rounds": review_rounds(timeline, counted, human_other),
        "comments": len(humans),
        # a source without inline comments (AIDev's CSVs) leaves these unknown, not 0
        "review_comments": len(inline) if known else None,
        "review_comments_per_100_lines": _per_100_lines(len(inline), pull) if known else None,
        "reviewers": len({login(x.get("user")) for x in [*counted, *inline]}),
        "rubber_stamp": _rubber_stamp(counted, inline if known else None),
        "time_to_first_review": _hours(first_review, ready),
        "time_to_merge": _hours(merged, created),
        "time_to_close": _hours(closed, created),
        "review_time_to_merge": _hours(merged, ready),
        "review_time_to_close": _hours(closed, ready),
        "cycle_coding": _phase(created, _first_commit(item, timeline)),
        "cycle_pickup": _phase(first_review, ready),
        "cycle_review": _phase(approved, first_review),
        "cycle_merge": _phase(merged, approved),
        "is_open": pull.get("state") == "open",
        "observed_at": _ts(item.get("fetched_at")) or (max(seen) if seen else None),
    }


def _per_100_lines(n: int, pull: Mapping) -> float | None:
    """*n* per 100 changed lines of the PR; None when its size is unknown or 0."""
    added, deleted = pull.get("additions"), pull.get("deletions")
    if added is None or deleted is None or added + deleted == 0:
        return None
    return 100 * n / (added + deleted)


def _rubber_stamp(counted: list[Mapping], inline: list[Mapping] | None) -> bool | None:
    """Approved, and no approval says anything: each approving review has an empty body and
    its reviewer left no inline comment. None when an approval's body, or the inline
    comments (*inline* None), are not in the data."""
    approving = [r for r in counted if str(r.get("state", "")).upper() == "APPROVED"]
    if not approving:
        return False
    if inline is None or any("body" not in r for r in approving):
        return None
    remarked = {login(c.get("user")) for c in inline}
    return not any(
        str(r.get("body") or "").strip() or login(r.get("user")) in remarked for r in approving
    )


def review_rounds(timeline: list[Mapping], counted: list[Mapping], counts) -> int:
    """Groups of counted reviews not separated by a new commit or a force-push.

    *counts(user)* says whether a review by *user* counts; without ``reviewed`` events in
    the timeline, all counted reviews make one round.
    """
    if not any(e.get("event") == "reviewed" for e in timeline):
        return 1 if counted else 0
    rounds, in_round = 0, False
    for e in timeline:
        kind = e.get("event")
        if kind in ("committed", "head_ref_force_pushed"):
            in_round = False
        elif kind == "reviewed" and counts(e.get("user")) and not in_round:
            rounds += 1
            in_round = True
    return rounds


_REVERTS_BODY = re.compile(r"^Reverts ([\w.-]+/[\w.-]+)#(\d+)\b", re.M)
_REVERT_BRANCH = re.compile(r"^revert-(\d+)-")


def reverted_pr(repo: str, head_ref: str | None, body: str | None) -> int | None:
    """The number of the PR of *repo* that a PR reverts, as GitHub's "Revert" button
    writes it: the body's ``Reverts owner/repo#N`` (another repository's N is not ours),
    else the head branch ``revert-N-...``; None for any other PR.

    Examples
    --------
    >>> reverted_pr("o/r", "revert-12-topic", "Reverts o/r#12")
    12
    """
    for found in _REVERTS_BODY.finditer(body or ""):
        if found[1].lower() == repo.lower():
            return int(found[2])
    branch = _REVERT_BRANCH.match(head_ref or "")
    return int(branch[1]) if branch else None


def tables_from_raw(
    repo: str, items: Iterable[Mapping], detector: Detector | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(prs, reviews, pr_commits)`` from raw per-PR dicts (see the module docstring).

    A PR is AI-assisted when its author is a coding-agent bot, its head branch has an agent
    prefix, its body carries an agent marker, or any of its commits carries an AI mark.

    Examples
    --------
    >>> prs, reviews, commits = tables_from_raw("o/r", raw_items)  # doctest: +SKIP
    """
    detector = detector or default_detector()
    prs, reviews, commits = [], [], []
    for item in items:
        pull = item["pull"]
        number = pull.get("number")
        user = pull.get("user")
        head = (pull.get("head") or {}).get("ref") or ""
        row = {
            "repo": repo,
            "number": number,
            "author_login": login(user),
            "author_is_bot": is_bot(user),
            "title": pull.get("title"),
            "created_at": _ts(pull.get("created_at")),
            "state": "merged" if pull.get("merged_at") else pull.get("state"),
            "head_ref": head,
            "reverts_pr": reverted_pr(repo, head, pull.get("body")),
            "additions": pull.get("additions"),
            "deletions": pull.get("deletions"),
            "changed_files": pull.get("changed_files"),
            # REST also names a test-merge commit for unmerged PRs: not part of any history
            "merge_commit_sha": pull.get("merge_commit_sha") if pull.get("merged_at") else None,
            "agent": None,  # a dataset's own label: its loader sets it
            **review_metrics(item),
        }
        tags = _pr_tags(detector, pull, item.get("commits") or [])
        prs.append({**row, **tags})
        for r in item.get("reviews") or []:
            reviews.append(
                (
                    repo,
                    number,
                    login(r.get("user")),
                    is_bot(r.get("user")),
                    r.get("state"),
                    _ts(r.get("submitted_at")),
                    r.get("commit_id"),
                )
            )
        for c in item.get("commits") or []:
            if c.get("sha"):
                message = (c.get("commit") or {}).get("message")
                subject = message.split("\n", 1)[0].strip() if isinstance(message, str) else None
                commits.append((repo, number, c["sha"], subject))
    # typed by the schema, so that an empty table has the dtypes of a full one
    return (
        schema.conform(pd.DataFrame(prs, columns=PR_COLUMNS), schema.PRS),
        schema.conform(pd.DataFrame(reviews, columns=REVIEW_COLUMNS), schema.REVIEWS),
        schema.conform(pd.DataFrame(commits, columns=COMMIT_COLUMNS), schema.PR_COMMITS),
    )


def _pr_tags(detector: Detector, pull: Mapping, commits: list[Mapping]) -> dict:
    user = pull.get("user") or {}
    pr = detector.detect_pr(
        login(user) or "",
        user.get("id"),
        (pull.get("head") or {}).get("ref") or "",
        pull.get("body") or "",
    )
    tools, modes, evidence, signals = (
        set(pr.tools),
        set(pr.modes),
        set(pr.evidence),
        set(pr.signatures),
    )
    for c in commits:
        meta = c.get("commit") or {}
        a, m = meta.get("author") or {}, meta.get("committer") or {}
        found = detector.detect(
            meta.get("message") or "",
            a.get("name") or "",
            a.get("email") or "",
            m.get("name") or "",
            m.get("email") or "",
        )
        if found.ai_assisted:
            tools |= set(found.tools)
            modes |= set(found.modes)
            evidence |= {f"commit:{e}" for e in found.evidence}
            signals |= set(found.signatures)
    return {
        "ai_assisted": bool(tools),
        "ai_tools": sorted(tools),
        "ai_modes": sorted(modes),
        "ai_evidence": sorted(evidence),
        "ai_signals": sorted(signals),
    }
