"""Repositories with planted effects: a known truth to check the statistics against.

:func:`make_repo` writes a real git history in which each *feature* commit adds one
function, and what happens to it later is drawn from known models:

* **reverted** (logistic): ``logit P = -2.2 + log(revert_odds_ratio) * ai + 0.5 * (log_size -
  3) + u_author``; a revert commit (``This reverts commit <sha>.``) removes the function
  26 to 37 days later;
* **fix-inducing** (logistic, same form, ``fix_odds_ratio``): 17 to 25 days later a
  ``Fix ...`` commit modifies one of the function's lines, so SZZ blames it;
* **churn**: 0.5 to 5 days later, each of the function's lines is rewritten with
  probability ``p_author + churn_difference * ai`` (``churn_rate_14d`` is that share);
* **time to merge** of the feature's pull request (Cox): hazard ``h0 * merge_hazard_ratio **
  ai * exp(-0.3 * (log_size - 3) + v_author)``; PRs abandoned first are closed unmerged.

``log_size`` is ``log1p(lines added)``, exactly as ``Repo.outcomes()`` measures it.
Confounding is built in (``confounding=True``): AI-assisted commits are larger
(``ai_size_factor``), and authors who use AI more also have higher baseline risks, so a
naive comparison is biased and one adjusted for ``log_size`` and the author is not.
``hidden_share`` leaves that share of AI-assisted commits without any mark, to test the
misclassification analysis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from aiimpact.synth.builder import RepoBuilder

STEP = timedelta(hours=3)
MARKS = [
    ("claude-code", "\n\nCo-Authored-By: Claude <noreply@anthropic.com>"),
    ("copilot", "\n\nCo-authored-by: Copilot <223556219+Copilot@users.noreply.github.com>"),
    ("cursor", "\n\nCo-authored-by: Cursor <cursoragent@cursor.com>"),
    ("aider", "\n\nCo-authored-by: aider (openai/gpt-5) <aider@aider.chat>"),
]
MODULES = ["api", "cache", "parser", "cli", "store", "report", "auth", "sync"]
DELAYS = {"churn": (4, 40), "fix": (140, 200), "revert": (210, 300)}  # in units of STEP


@dataclass(frozen=True)
class Effects:
    """The planted truth. Ratios of 1 and a difference of 0 mean no effect."""

    revert_odds_ratio: float = 1.5
    fix_odds_ratio: float = 1.3
    churn_difference: float = 0.05
    merge_hazard_ratio: float = 0.8
    ai_size_factor: float = 1.8
    confounding: bool = True
    hidden_share: float = 0.0


@dataclass
class PlantedRepo:
    """What :func:`make_repo` built: the repository, its truth, and its pull requests.

    Attributes
    ----------
    path : Path
        The git repository.
    effects : Effects
        The planted parameters.
    truth : DataFrame
        One row per feature commit: ``sha, number, author_email, ai (true use), ai_marked,
        tool, lines_added, log_size, reverted, fix_inducing, churn_lines, churn_rate,
        merged, merge_hours``.
    prs : DataFrame
        The feature pull requests as ``ai.github.pull_requests`` would give them.
    """

    path: Path
    effects: Effects
    truth: pd.DataFrame
    prs: pd.DataFrame
    raw_prs: list[dict] = field(repr=False, default_factory=list)

    def features(self, outcomes: pd.DataFrame) -> pd.DataFrame:
        """The rows of *outcomes* (``Repo.outcomes()``) for the feature commits only (the
        revert, fix and churn commits carry no planted effect of their own)."""
        keep = outcomes[outcomes["sha"].isin(self.truth["sha"])]
        return keep.reset_index(drop=True)


def make_repo(
    path: str | Path,
    n_commits: int = 600,
    effects: Effects | dict | None = None,
    seed: int = 0,
    n_authors: int = 12,
    days: float | None = None,
) -> PlantedRepo:
    """Write a git repository with *n_commits* feature commits and planted effects.

    Parameters
    ----------
    path : str or Path
        Where to create it (must not exist or be empty).
    n_commits : int
        Feature commits; revert, fix and churn commits come on top (about 40% more).
    effects : Effects or dict, optional
        The planted truth (default :class:`Effects()`); a dict overrides single fields.
    seed : int
        Everything is drawn from this seed: same seed, same repository and truth.
    n_authors : int
        Developers; each adopts AI at a different time (a few never do).
    days : float, optional
        Time the feature commits span (default: one every 3 hours). The delays of the
        planted events do not depend on it.

    Returns
    -------
    PlantedRepo

    Examples
    --------
    >>> planted = ai.synth.make_repo(tmp_path / "r", effects={"revert_odds_ratio": 2.0})
    >>> t = planted.features(ai.Repo(planted.path).outcomes())  # doctest: +SKIP
    >>> ai.compare(t, "reverted", controls=["log_size", "author_email"]).ci  # doctest: +SKIP
    """
    if isinstance(effects, dict):
        effects = Effects(**effects)
    effects = effects or Effects()
    rng = np.random.default_rng(seed)
    authors = _authors(rng, n_authors, effects.confounding)
    start = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    b = RepoBuilder(path, start=start, step=timedelta(minutes=10))
    files: dict[str, list[list]] = {m: [[f"# {m} module\n", None, None]] for m in MODULES}
    b.commit("Initial import", _render(files), author="Ops <ops@example.com>", date=start)

    truth: list[dict] = []
    queue: list[tuple[datetime, int, str, int]] = []  # (due, order, kind, feature index)
    spacing = timedelta(days=days) / n_commits if days else STEP
    tick, order = 0, 0
    while len(truth) < n_commits or queue:
        base = now = start + spacing * (tick + 1)
        queue.sort()
        while queue and queue[0][0] <= base:
            _, _, kind, i = queue.pop(0)
            now += timedelta(minutes=10)
            _event(b, files, truth[i], kind, now, rng)
        if len(truth) < n_commits:
            row = _feature(b, files, authors, len(truth), n_commits, now, effects, rng)
            truth.append(row)
            for kind in ("churn", "fix", "revert"):
                planned = row["churn_lines"] > 0 if kind == "churn" else row[_FLAG[kind]]
                if planned:
                    low, high = DELAYS[kind]
                    order += 1
                    due = base + STEP * int(rng.integers(low, high + 1))
                    queue.append((due, order, kind, row["i"]))
        tick += 1
    b.close()
    end = start + spacing * (tick + 1)
    raw = [_pull_request(r, authors, effects, end, rng) for r in truth]
    from aiimpact.platforms.tables import tables_from_raw

    prs, _, _ = tables_from_raw(Path(path).name, raw)
    table = pd.DataFrame(truth).drop(columns=["i", "module"])
    table["merged"] = [r["pull"]["merged_at"] is not None for r in raw]
    table["merge_hours"] = prs["time_to_merge"].to_numpy()
    return PlantedRepo(Path(path), effects, table, prs, raw)


_FLAG = {"fix": "fix_inducing", "revert": "reverted"}


def _authors(rng, n: int, confounding: bool) -> list[dict]:
    out = []
    for a in range(n):
        u = float(rng.normal(0, 0.6))  # baseline risk of the author's changes
        # AI propensity rises with u under confounding; adoption is staggered; 1 in 6 never
        lean = 1 / (1 + math.exp(-2.5 * u)) if confounding else 0.5
        out.append({
            "ident": f"Dev {a:02d} <dev{a:02d}@example.com>",
            "email": f"dev{a:02d}@example.com",
            "login": f"dev{a:02d}",
            "u": u,
            "v": float(rng.normal(0, 0.4)),
            "churn": float(np.clip(0.08 + 0.04 * u, 0.01, 0.5)),
            "adopt": float(rng.uniform(0.05, 0.7)) if a % 6 != 5 else 2.0,
            "p_ai": 0.25 + 0.6 * lean,
            "tool": MARKS[a % len(MARKS)],
        })  # fmt: skip
    return out


def _feature(b, files, authors, i, n, now, effects: Effects, rng) -> dict:
    a = authors[int(rng.integers(len(authors)))]
    ai = i / n >= a["adopt"] and rng.random() < a["p_ai"]
    body = max(3, round(float(rng.lognormal(math.log(10), 0.6)) * (effects.ai_size_factor
                                                                    if ai else 1.0)))  # fmt: skip
    module = MODULES[int(rng.integers(len(MODULES)))]
    fn = f"{module}_{i}"
    sha_slot = object()  # the owner until the sha is known
    lines = [f"def {fn}(x):\n", *[f"    y{j} = x + {j}  # {fn}\n" for j in range(body)],
             f"    return x  # {fn}\n"]  # fmt: skip
    block = [[text, sha_slot, i] for text in lines]
    files[module].extend(block)
    tool, mark = a["tool"]
    marked = ai and rng.random() >= effects.hidden_share
    message = f"Add {fn} to {module}" + (mark if marked else "")
    sha = b.commit(message, {f"src/{module}.py": _text(files[module])}, author=a["ident"], date=now)
    for line in block:
        line[1] = sha
    added = len(lines)
    log_size = math.log1p(added)
    centred = log_size - 3.0
    u = a["u"] if effects.confounding else 0.0
    p_revert = _expit(-2.2 + math.log(effects.revert_odds_ratio) * ai + 0.5 * centred + u)
    p_fix = _expit(-1.9 + math.log(effects.fix_odds_ratio) * ai + 0.4 * centred + u)
    p_churn = float(np.clip(a["churn"] + effects.churn_difference * ai, 0.0, 1.0))
    churn_lines = int(rng.binomial(added, p_churn))
    return {
        "i": i,
        "sha": sha,
        "number": i + 1,
        "module": module,
        "author_email": a["email"],
        "author": a["login"],
        "ai": bool(ai),
        "ai_marked": bool(marked),
        "tool": tool if ai else None,
        "lines_added": added,
        "log_size": log_size,
        "reverted": bool(rng.random() < p_revert),
        "fix_inducing": bool(rng.random() < p_fix),
        "churn_lines": churn_lines,
        "churn_rate": churn_lines / added,
        "time": now,
    }


def _event(b, files, row, kind, now, rng) -> None:
    module, sha = row["module"], row["sha"]
    lines = files[module]
    mine = [k for k, line in enumerate(lines) if line[1] == sha]
    who = "Ops <ops@example.com>"
    if kind == "churn":
        picked = rng.choice(mine, size=row["churn_lines"], replace=False)
        subject = f"Refactor {module}_{row['i']}"
        for k in sorted(picked):
            lines[k][0] = lines[k][0].replace(" = x + ", " = x * ", 1).replace("(x):", "(x, *_):")
            lines[k][0] = lines[k][0].rstrip("\n") + " r\n"
    elif kind == "fix":
        if not mine:  # every line was rewritten already: nothing of it left to fix
            row["fix_inducing"] = False
            return
        k = int(rng.choice(mine))
        lines[k][0] = lines[k][0].rstrip("\n") + " fixed\n"
        picked = [k]
        subject = f"Fix {module}_{row['i']}: handle empty input"
    else:
        files[module] = [line for line in lines if line[2] != row["i"]]
        msg = f'Revert "Add {module}_{row["i"]} to {module}"\n\nThis reverts commit {sha}.'
        b.commit(msg, {f"src/{module}.py": _text(files[module])}, author=who, date=now)
        return
    sha_new = b.commit(subject, {f"src/{module}.py": _text(lines)}, author=who, date=now)
    for k in picked:
        lines[k][1] = sha_new


def _pull_request(row, authors, effects: Effects, end: datetime, rng) -> dict:
    a = next(x for x in authors if x["email"] == row["author_email"])
    created = row["time"] - timedelta(hours=float(rng.uniform(0.5, 5)))
    v = a["v"] if effects.confounding else 0.0
    rate = (
        (1 / 24)
        * effects.merge_hazard_ratio ** row["ai"]
        * math.exp(-0.3 * (row["log_size"] - 3.0) + v)
    )
    merge_after = float(rng.exponential(1 / rate))
    abandon_after = float(rng.exponential(150.0))
    merged = merge_after <= abandon_after
    done = created + timedelta(hours=min(merge_after, abandon_after))
    iso = "%Y-%m-%dT%H:%M:%SZ"
    message = f"Add {row['module']}_{row['i']}" + (
        next(m for t, m in MARKS if t == row["tool"]) if row["ai_marked"] else ""
    )
    return {
        "pull": {
            "number": row["number"], "title": f"Add {row['module']}_{row['i']}", "body": "",
            "user": {"login": a["login"], "id": 1000 + authors.index(a), "type": "User"},
            "state": "closed", "draft": False, "created_at": created.strftime(iso),
            "updated_at": done.strftime(iso), "closed_at": done.strftime(iso),
            "merged_at": done.strftime(iso) if merged else None,
            "head": {"ref": f"feature/{row['i']}"}, "merge_commit_sha": row["sha"],
            "additions": row["lines_added"], "deletions": 0, "changed_files": 1,
        },
        "commits": [{"sha": row["sha"], "commit": {"message": message,
                     "author": {"name": a["ident"].split(" <")[0], "email": a["email"]},
                     "committer": {"name": "GitHub", "email": "noreply@github.com"}}}],
        "reviews": [], "review_comments": [], "issue_comments": [], "timeline": [],
        "fetched_at": end.strftime(iso),
    }  # fmt: skip


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _text(lines: list[list]) -> str:
    return "".join(line[0] for line in lines)


def _render(files) -> dict[str, str]:
    return {f"src/{m}.py": _text(lines) for m, lines in files.items()}
