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

``history="real"`` (or a :class:`RealHistory`) shapes the history like a real repository's,
the case ``ai.study`` is designed for: years of history before any AI adoption (every
author adopts in the last part, if at all), rare events (about 2.5% of feature commits
reverted, 8% fix-inducing), a secular trend in their rates (the logit of both rises
linearly in calendar time, by ``trend``, over the history), 36 authors and 96 source files,
and a history that stops at its last feature commit: the reverts, fixes and churn due later
are never written, so the newest commits are censored as in a real repository. The truth
table then also gives each commit's ``trend``, ``p_revert``, ``p_fix``, ``age_days``
(relative to the newest commit) and the censored outcomes ``reverted_within_90d``,
``fix_inducing_within_90d`` (NA under 90 days; every planted revert and fix comes within 38
days, so for older commits they are the planted flags) and ``churn_rate_14d`` (NA under 14
days).
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


@dataclass(frozen=True)
class RealHistory:
    """The shape of a history like a real repository's, for ``make_repo(history=...)``.

    Attributes
    ----------
    years : float
        Calendar time the feature commits span (unless ``make_repo(days=)`` says otherwise).
    adoption : tuple of float
        Each adopting author starts using AI at a share of the history drawn uniformly from
        this range (one author in six never does): no AI-assisted commit comes before
        ``adoption[0]`` of the history.
    trend : float
        Rise of the logit of the revert and fix probabilities from the first feature commit
        to the last, linear in calendar time and centred on the middle of the history.
    revert_intercept, fix_intercept : float
        The logits of revert and fix in the middle of the history for an unassisted commit
        of ``log_size`` 3 by an author of average risk (overall rates: about 2.5% and 8%).
    n_authors : int
        Developers (unless ``make_repo(n_authors=)`` says otherwise).
    modules : int
        Source files the features go into (many, as in a real repository; it also keeps
        each commit's blob, and so the generation, small).
    """

    years: float = 4.0
    adoption: tuple[float, float] = (0.75, 0.85)
    trend: float = 1.0
    revert_intercept: float = -3.6
    fix_intercept: float = -2.5
    n_authors: int = 36
    modules: int = 96


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
        merged, merge_hours``; for a real-shaped history (:class:`RealHistory`) also
        ``trend, p_revert, p_fix, age_days, reverted_within_90d, fix_inducing_within_90d,
        churn_rate_14d``, and ``reverted``, ``fix_inducing`` are then the events written
        before the history ends.
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
    n_authors: int | None = None,
    days: float | None = None,
    history: RealHistory | str | None = None,
    pull_requests: bool = True,
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
    n_authors : int, optional
        Developers; each adopts AI at a different time (a few never do). Default 12, or
        the history's (36 for ``"real"``).
    days : float, optional
        Time the feature commits span (default: one every 3 hours, or the history's
        ``years``). The delays of the planted events do not depend on it.
    history : RealHistory or "real", optional
        Shape the history like a real repository's (see :class:`RealHistory`); default:
        the planted shape above, with staggered adoption from 5% of the history on, no
        trend, and every planted event written.
    pull_requests : bool, default True
        Draw the feature pull requests (``prs``, ``raw_prs`` and the truth's ``merged``,
        ``merge_hours``); False leaves them empty, which saves most of the time of a long
        history. The repository and the rest of the truth are the same either way.

    Returns
    -------
    PlantedRepo

    Examples
    --------
    >>> planted = ai.synth.make_repo(tmp_path / "r", effects={"revert_odds_ratio": 2.0})
    >>> t = planted.features(ai.Repo(planted.path).outcomes())  # doctest: +SKIP
    >>> ai.compare(t, "reverted", controls=["log_size", "author_email"]).ci  # doctest: +SKIP
    >>> real = ai.synth.make_repo(tmp_path / "s", 3000, history="real")  # doctest: +SKIP
    >>> ai.study(ai.Repo(real.path).outcomes()).table()  # doctest: +SKIP
    """
    if isinstance(effects, dict):
        effects = Effects(**effects)
    effects = effects or Effects()
    shape = _shape(history)
    n_authors = n_authors or (shape.n_authors if shape else 12)
    if shape and days is None:
        days = shape.years * 365.25
    modules = _modules(shape.modules) if shape else MODULES
    rng = np.random.default_rng(seed)
    authors = _authors(rng, n_authors, effects.confounding, shape)
    start = (
        datetime(2021, 1, 4, 9, 0, tzinfo=UTC) if shape else datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    )
    b = RepoBuilder(path, start=start, step=timedelta(minutes=10))
    files: dict[str, list[list]] = {m: [[f"# {m} module\n", None, None]] for m in modules}
    b.commit("Initial import", _render(files), author="Ops <ops@example.com>", date=start)

    truth: list[dict] = []
    queue: list[tuple[datetime, int, str, int]] = []  # (due, order, kind, feature index)
    spacing = timedelta(days=days) / n_commits if days else STEP
    tick, order = 0, 0
    while len(truth) < n_commits or (queue and shape is None):
        base = now = start + spacing * (tick + 1)
        queue.sort()
        while queue and queue[0][0] <= base:
            _, _, kind, i = queue.pop(0)
            now += timedelta(minutes=10)
            _event(b, files, truth[i], kind, now, rng)
        if len(truth) < n_commits:
            row = _feature(
                b, files, authors, len(truth), n_commits, now, effects, rng, shape, modules
            )
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
    for _, _, kind, i in queue:  # due after the history's end (real shape): never written
        if kind != "churn":
            truth[i][_FLAG[kind]] = False
    table = pd.DataFrame(truth).drop(columns=["i", "module"])
    if pull_requests:
        end = start + spacing * (tick + 1)
        raw = [_pull_request(r, authors, effects, end, rng) for r in truth]
        from aiimpact.platforms.tables import tables_from_raw

        prs, _, _ = tables_from_raw(Path(path).name, raw)
        table["merged"] = [r["pull"]["merged_at"] is not None for r in raw]
        table["merge_hours"] = prs["time_to_merge"].to_numpy()
    else:
        raw, prs = [], pd.DataFrame()
        table["merged"], table["merge_hours"] = pd.NA, np.nan
    if shape:
        table = _censored(table, newest=max(r["time"] for r in truth))
    return PlantedRepo(Path(path), effects, table, prs, raw)


def _shape(history: RealHistory | str | None) -> RealHistory | None:
    if history is None or isinstance(history, RealHistory):
        return history
    if history == "real":
        return RealHistory()
    raise ValueError(f"history must be None, 'real' or a RealHistory, not {history!r}")


def _modules(n: int) -> list[str]:
    return [f"{MODULES[k % len(MODULES)]}{k // len(MODULES)}" for k in range(n)]


def _censored(table: pd.DataFrame, newest: datetime) -> pd.DataFrame:
    """The windowed outcomes as ``Repo.outcomes()`` censors them: NA for a commit younger
    than the window relative to the newest commit (times in whole seconds, as git's)."""
    seconds = int(newest.timestamp()) - np.array([int(t.timestamp()) for t in table["time"]])
    table["age_days"] = seconds / 86400
    for flag, days in (("reverted", 90), ("fix_inducing", 90)):
        observed = seconds >= days * 86400
        values = pd.array(table[flag].to_numpy(dtype=bool), dtype="boolean")
        table[f"{flag}_within_{days}d"] = pd.Series(values).where(observed, pd.NA)
    table["churn_rate_14d"] = table["churn_rate"].where(seconds >= 14 * 86400)
    return table


_FLAG = {"fix": "fix_inducing", "revert": "reverted"}


def _authors(rng, n: int, confounding: bool, shape: RealHistory | None = None) -> list[dict]:
    adoption = shape.adoption if shape else (0.05, 0.7)
    out = []
    for a in range(n):
        u = float(rng.normal(0, 0.6))  # baseline risk of the author's changes
        # AI propensity rises with u under confounding; adoption is staggered; 1 in 6 never
        lean = 1 / (1 + math.exp(-2.5 * u)) if confounding else 0.5
        out.append(
            {
                "ident": f"Dev {a:02d} <dev{a:02d}@example.com>",
                "email": f"dev{a:02d}@example.com",
                "login": f"dev{a:02d}",
                "u": u,
                "v": float(rng.normal(0, 0.4)),
                "churn": float(np.clip(0.08 + 0.04 * u, 0.01, 0.5)),
                "adopt": float(rng.uniform(*adoption)) if a % 6 != 5 else 2.0,
                "p_ai": 0.25 + 0.6 * lean,
                "tool": MARKS[a % len(MARKS)],
            }
        )
    return out


def _feature(
    b, files, authors, i, n, now, effects: Effects, rng, shape=None, modules=MODULES
) -> dict:
    a = authors[int(rng.integers(len(authors)))]
    ai = i / n >= a["adopt"] and rng.random() < a["p_ai"]
    body = max(
        3, round(float(rng.lognormal(math.log(10), 0.6)) * (effects.ai_size_factor if ai else 1.0))
    )
    module = modules[int(rng.integers(len(modules)))]
    fn = f"{module}_{i}"
    sha_slot = object()  # the owner until the sha is known
    lines = [
        f"def {fn}(x):\n",
        *[f"    y{j} = x + {j}  # {fn}\n" for j in range(body)],
        f"    return x  # {fn}\n",
    ]
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
    trend = shape.trend * (i / max(n - 1, 1) - 0.5) if shape else 0.0
    revert0, fix0 = (shape.revert_intercept, shape.fix_intercept) if shape else (-2.2, -1.9)
    p_revert = _expit(
        revert0 + trend + math.log(effects.revert_odds_ratio) * ai + 0.5 * centred + u
    )
    p_fix = _expit(fix0 + trend + math.log(effects.fix_odds_ratio) * ai + 0.4 * centred + u)
    p_churn = float(np.clip(a["churn"] + effects.churn_difference * ai, 0.0, 1.0))
    churn_lines = int(rng.binomial(added, p_churn))
    row = {
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
    if shape:
        row |= {"trend": trend, "p_revert": p_revert, "p_fix": p_fix}
    return row


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
            "number": row["number"],
            "title": f"Add {row['module']}_{row['i']}",
            "body": "",
            "user": {"login": a["login"], "id": 1000 + authors.index(a), "type": "User"},
            "state": "closed",
            "draft": False,
            "created_at": created.strftime(iso),
            "updated_at": done.strftime(iso),
            "closed_at": done.strftime(iso),
            "merged_at": done.strftime(iso) if merged else None,
            "head": {"ref": f"feature/{row['i']}"},
            "merge_commit_sha": row["sha"],
            "additions": row["lines_added"],
            "deletions": 0,
            "changed_files": 1,
        },
        "commits": [
            {
                "sha": row["sha"],
                "commit": {
                    "message": message,
                    "author": {"name": a["ident"].split(" <")[0], "email": a["email"]},
                    "committer": {"name": "GitHub", "email": "noreply@github.com"},
                },
            }
        ],
        "reviews": [],
        "review_comments": [],
        "issue_comments": [],
        "timeline": [],
        "fetched_at": end.strftime(iso),
    }


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _text(lines: list[list]) -> str:
    return "".join(line[0] for line in lines)


def _render(files) -> dict[str, str]:
    return {f"src/{m}.py": _text(lines) for m, lines in files.items()}
