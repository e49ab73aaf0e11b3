"""``ai.study``: the report's analysis as an object, with a design that fits real histories.

Real repositories are not the planted ones: years of history before any AI tool existed,
AI-marked commits only in the last part, outcome rates that drift over the years, rare
events, thousands of authors, and recent commits that have not yet had time to be fixed.
The design follows from that (docs/statistics.md, "Studying a real repository"):

* **The study window is the AI era** unless ``since=``/``until=`` say otherwise: from
  ``lead`` (six months) before the first AI-marked commit to the newest commit, so that
  unassisted commits are compared with their contemporaries, not with a decade of
  pre-AI history (a time confounder no adjustment undoes). Commits outside the window, and
  merges, are left out and counted.
* **Time is adjusted for with a smooth trend**, an orthogonal polynomial of commit time of
  degree 1 to 3 by the window's length (``time_trend_1`` ...), instead of month fixed
  effects, which a rare outcome turns into hundreds of dropped strata.
* **Authors**: fixed effects when there are 2 to 100 of them and at least 10 in which the
  outcome varies (confounding by author is the strongest there is; the others fall out of
  that outcome's model); otherwise the author's prior commits (``log_author_experience``);
  errors clustered by author.
* **Every follow-up outcome is censored**: windowed yes/no outcomes are NA for commits
  younger than their window (``reverted_within_90d``, ``fix_inducing_within_90d``), and the
  times to the first revert and the first fix are Cox models censored at the newest commit.
  Outcomes with no window (``reverted``, ``fix_inducing``: recent commits have had less
  time) are not in the default set.

:meth:`Study.table` has one row per outcome tried, estimated or with the reason it could
not be (``reason``).
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from aiimpact.errors import InputError
from aiimpact.stats.compare import MIN_CLUSTERS, check_design, raw_groups
from aiimpact.stats.many import compare_many
from aiimpact.stats.results import ComparisonSet
from aiimpact.stats.results import fmt as _fmt
from aiimpact.times import day, utc_time

# A study window: (since, until) in UTC.
_Window = tuple[pd.Timestamp, pd.Timestamp]

COMMIT_OUTCOMES: dict[str, str] = {  # outcome -> model ("auto" unless a rate reads better)
    "reverted_within_90d": "auto",
    "time_to_revert": "auto",
    "fix_inducing_within_90d": "auto",
    "days_to_first_fix": "auto",
    "churn_rate_14d": "ols",
}
PR_OUTCOMES: dict[str, str] = {  # the review half: how the PR went through review
    "merged": "logit",
    "time_to_merge": "auto",
    "time_to_first_review": "auto",
    "review_rounds": "auto",
    "review_comments_per_100_lines": "ols",
    "rubber_stamp": "logit",
}
PR_CODE_OUTCOMES: dict[str, str] = {  # the code half, for a Repo.pr_outcomes() table
    "reverted_within_90d": "auto",
    "fix_inducing_within_90d": "auto",
    "churn_rate_14d": "ols",
}
QUALITY_OUTCOMES: dict[str, str] = {  # with quality columns (Repo.outcomes(quality=True))
    "complexity_delta": "ols",  # cyclomatic complexity added: a difference, size-adjusted
    "dmm_unit_size": "ols",  # DMM proportions: differences in the share of good change
    "dmm_unit_complexity": "ols",
    "dmm_unit_interfacing": "ols",
    "lines_moved": "auto",  # GitClear's moved (refactored) lines: a count
    "lines_copied": "auto",  # GitClear's copy/pasted lines: a count
}
PR_QUALITY_OUTCOMES: dict[str, str] = {
    k: v for k, v in QUALITY_OUTCOMES.items() if k not in ("lines_moved", "lines_copied")
}
MAX_AUTHOR_EFFECTS = 100
LEAD = pd.Timedelta(days=183)
TABLE_COLUMNS = [
    "level",
    "outcome",
    "model",
    "scale",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "p_holm",
    "test",
    "n_ai",
    "n_other",
    "events_ai",
    "events_other",
    "adjusted_for",
    "reason",
]


@dataclass
class Design:
    """How a :class:`Study` compares: its window, its controls, its errors, and why.

    Attributes
    ----------
    since, until : pandas.Timestamp or None
        The study window (commit time).
    window_rule : str
        How the window was chosen, in words.
    controls : list of str
        Columns the models adjust for.
    cluster : str or None
        Column the standard errors are clustered by.
    time_adjustment : str
        The time adjustment, in words.
    author_adjustment : str
        The author adjustment, in words.
    """

    since: pd.Timestamp | None
    until: pd.Timestamp | None
    window_rule: str
    controls: list[str]
    cluster: str | None
    time_adjustment: str
    author_adjustment: str

    def describe(self) -> str:
        """The design in one paragraph."""
        span = f"{day(self.since)} to {day(self.until)}"
        errors = f"errors clustered by {self.cluster}" if self.cluster else "model-based errors"
        size = "Size adjusted by log_size; " if "log_size" in self.controls else ""
        return (
            f"Study window {span} ({self.window_rule}). {self.time_adjustment}. "
            f"{self.author_adjustment}. {size}{errors}."
        )


@dataclass(repr=False)
class Study:
    """The comparison of AI-assisted and other commits (and pull requests) on one table.

    Made by :func:`study`. ``results`` and ``pr_results`` hold the fitted comparisons
    (:class:`~aiimpact.stats.results.ComparisonSet`); :meth:`table` lists every outcome
    tried with its estimate or its reason.

    Attributes
    ----------
    commits : DataFrame
        The commits compared: in the window, merges left out, with the design's columns.
    design : Design
        _Window, controls, clustering, and why.
    left_out : dict
        Commits left out, by reason (``merges``, ``before the window``, ...).
    tried : dict
        Outcome -> model, for the commit outcomes tried.
    results, pr_results : ComparisonSet
        Fitted comparisons (``.failed`` holds the reasons of those that could not be).
    raw, pr_raw : dict
        Outcome -> raw figures by group (shares, means, Kaplan-Meier medians with CIs).
    absent : str or None
        Why there is nothing to compare (no AI-marked commit, or only such), else None.
    prs : DataFrame or None
        The pull requests compared, when given.
    """

    commits: pd.DataFrame
    design: Design
    left_out: dict[str, int]
    tried: dict[str, str]
    results: ComparisonSet
    raw: dict[str, pd.DataFrame]
    absent: str | None
    prs: pd.DataFrame | None = None
    pr_design: Design | None = None
    pr_tried: dict[str, str] = field(default_factory=dict)
    pr_results: ComparisonSet = field(default_factory=lambda: ComparisonSet([], {}))
    pr_raw: dict[str, pd.DataFrame] = field(default_factory=dict)
    pr_absent: str | None = None

    def table(self) -> pd.DataFrame:
        """One row per outcome tried: ``level`` (commit or pr), ``outcome``, ``model``,
        ``scale``, ``estimate``, ``ci_low``, ``ci_high``, ``p_value``, ``p_holm`` (Holm
        over the outcomes of its level), ``test``, ``n_ai``, ``n_other``, ``events_ai``,
        ``events_other``, ``adjusted_for`` (the controls of that model) and ``reason`` (why
        it could not be estimated; NA when it was)."""
        rows = []
        for level, tried, results, absent in (
            ("commit", self.tried, self.results, self.absent),
            ("pr", self.pr_tried, self.pr_results, self.pr_absent),
        ):
            fitted = results.table().set_index("outcome") if results.results else None
            for outcome, model in tried.items():
                row = dict.fromkeys(TABLE_COLUMNS, pd.NA) | {
                    "level": level,
                    "outcome": outcome,
                    "model": model,
                }
                if fitted is not None and outcome in fitted.index:
                    r = fitted.loc[outcome]
                    row |= {
                        k: r[k]
                        for k in (
                            "model",
                            "scale",
                            "estimate",
                            "ci_low",
                            "ci_high",
                            "p_value",
                            "p_holm",
                            "test",
                        )
                    }
                    row |= {
                        "n_ai": r["n_treated"],
                        "n_other": r["n_control"],
                        "events_ai": r["events_treated"],
                        "events_other": r["events_control"],
                        "adjusted_for": r["controls"],
                    }
                else:
                    nothing = absent.split(":")[0] if absent else "not estimated"
                    row["reason"] = results.failed.get(outcome) or nothing
                rows.append(row)
        out = pd.DataFrame(rows, columns=TABLE_COLUMNS)
        for col in ("estimate", "ci_low", "ci_high", "p_value", "p_holm"):
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
        for col in ("n_ai", "n_other", "events_ai", "events_other"):
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
        return out

    @property
    def notes(self) -> list[str]:
        """What the models said (warnings and notes), one line per outcome and message."""
        return [f"{r.outcome}: {m}" for r in self.results.results for m in r.warnings + r.notes]

    def describe(self) -> str:
        """The design, what was left out, and each outcome's result or reason, as text."""
        gone = ", ".join(f"{n} {why}" for why, n in self.left_out.items() if n)
        lines = [
            self.design.describe(),
            f"{len(self.commits)} commits compared" + (f"; left out: {gone}" if gone else "") + ".",
        ]
        if self.absent:
            lines.append(self.absent)
        for r in self.table().itertuples():
            if pd.isna(r.reason):
                lines.append(
                    f"{r.level} {r.outcome}: {r.scale} {_fmt(r.estimate)} "
                    f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}], p={_fmt(r.p_value)} "
                    f"({r.test})"
                )
            else:
                lines.append(f"{r.level} {r.outcome}: not estimated: {r.reason}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.describe()

    def _repr_html_(self) -> str:
        body = (
            self.table().drop(columns=["test"]).to_html(index=False, float_format=_fmt, na_rep="")
        )
        return f"<div><p>{html.escape(self.design.describe())}</p>{body}</div>"


def study(
    outcomes: pd.DataFrame,
    prs: pd.DataFrame | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    *,
    lead: str | pd.Timedelta = LEAD,
    controls: list[str] | None = None,
    cluster: str | None = "auto",
    commit_outcomes: Mapping[str, str] | None = None,
    pr_outcomes: Mapping[str, str] | None = None,
    progress: bool | None = None,
) -> Study:
    """Compare AI-assisted with other commits (and PRs) with a design for real histories.

    Parameters
    ----------
    outcomes : DataFrame
        ``Repo.outcomes()`` (merges are left out of the comparisons).
    prs : DataFrame, optional
        For the pull-request comparisons: ``Repo.pr_outcomes(data)`` (review and code), or a
        ``prs`` table (review only). PRs are adjusted for size (``log_size`` from
        ``additions + deletions``, when every PR has them), a time trend in ``created_at``
        and the author (fixed effects, or the author's earlier PRs).
    since, until : str, datetime or Timestamp, optional
        The study window (commit time; PRs by ``created_at``). Default: from *lead* before
        the first AI-marked commit (the AI era) to the newest commit; ``since="all"`` takes
        the whole history.
    lead : str or Timedelta, default "183D"
        How long before the first AI-marked commit the default window opens.
    controls : list of str, optional
        Replace the default adjustment (time trend, authors, size) by these columns.
    cluster : str or None, default "auto"
        Cluster column; "auto" clusters by author when there are at least 10.
    commit_outcomes, pr_outcomes : mapping, optional
        Outcome -> model to try (default :data:`COMMIT_OUTCOMES`; for PRs
        :data:`PR_OUTCOMES`, the review half, and with a ``Repo.pr_outcomes()`` table
        :data:`PR_CODE_OUTCOMES` too, what became of the code each PR landed); with quality
        columns (``quality=True`` of ``Repo.outcomes`` and ``Repo.pr_outcomes``)
        :data:`QUALITY_OUTCOMES` and :data:`PR_QUALITY_OUTCOMES` are added; outcomes the
        table lacks are listed with that reason.
    progress : bool, optional
        A "fitting models" bar on stderr (default: only for many outcomes).

    Returns
    -------
    Study

    Examples
    --------
    >>> s = ai.study(ai.Repo(".").outcomes())                 # doctest: +SKIP
    >>> s.table()[["outcome", "estimate", "ci_low", "ci_high", "reason"]]  # doctest: +SKIP
    """
    if outcomes.empty:
        raise InputError("a study needs at least one commit")
    table = outcomes[~outcomes["is_merge"].astype(bool)].reset_index(drop=True)
    left_out = {"merges": len(outcomes) - len(table)}
    window, rule = _window(table, "commit_time", since, until, pd.Timedelta(lead))
    table, left_out_window = _in_window(table, "commit_time", *window)
    left_out |= left_out_window
    if table.empty:
        raise InputError(
            f"no commit falls in the study window {day(window[0])} to {day(window[1])}"
        )
    table, design = _design(table, "commit_time", "author_email", window, rule, controls, cluster)
    absent = nothing_to_compare(table, "commits")
    quality = QUALITY_OUTCOMES if "complexity_delta" in table else {}
    tried = dict(commit_outcomes or {**COMMIT_OUTCOMES, **quality})
    results, raw = _fit(table, tried, design, absent, progress)
    s = Study(table, design, left_out, tried, results, raw, absent)
    if prs is not None and len(prs):
        p = _pr_table(prs)
        pwindow, prule = _window(p, "created_at", since, until, pd.Timedelta(lead))
        p, _ = _in_window(p, "created_at", *pwindow)
        if len(p):
            p, s.pr_design = _design(p, "created_at", "author_login", pwindow, prule, None, "auto")
            s.prs, s.pr_absent = p, nothing_to_compare(p, "pull requests")
            code = PR_CODE_OUTCOMES if "in_history" in p else {}
            quality = PR_QUALITY_OUTCOMES if "complexity_delta" in p else {}
            s.pr_tried = dict(pr_outcomes or {**PR_OUTCOMES, **code, **quality})
            s.pr_results, s.pr_raw = _fit(p, s.pr_tried, s.pr_design, s.pr_absent, progress)
    return s


def _pr_table(prs: pd.DataFrame) -> pd.DataFrame:
    """*prs* with ``merged`` (NA while open), ``log_size`` (changed lines) and, from a
    ``Repo.pr_outcomes()`` table, ``author_experience`` (the author's earlier PRs)."""
    p = prs.copy()
    closed = p["state"] != "open"
    p["merged"] = (p["state"] == "merged").where(closed)  # open PRs: not yet decided
    changed = p["additions"].astype("Float64") + p["deletions"].astype("Float64")
    if len(p) and changed.notna().all():  # a control with holes would drop PRs unseen
        p["log_size"] = np.log1p(changed.astype(float))
    if "author_prs_before" in p:
        p["author_experience"] = p["author_prs_before"]
    return p


# -- design -----------------------------------------------------------------------------------
def _window(
    table: pd.DataFrame, time_col: str, since: object, until: object, lead: pd.Timedelta
) -> tuple[_Window, str]:
    times = table[time_col]
    until_ts = utc_time(until, "until")
    if isinstance(since, str) and since == "all":
        return (times.min(), until_ts or times.max()), "the whole history"
    if since is not None:
        return (utc_time(since, "since"), until_ts or times.max()), "as given"
    ai = table["ai_assisted"].fillna(False).astype(bool)
    first = times[ai].min()
    if pd.isna(first):
        return (times.min(), until_ts or times.max()), "no AI-marked commit: the whole history"
    start = first - lead
    if start <= times.min():
        rule = (
            f"the first AI-marked change ({day(first)}) comes within {lead.days} days of "
            "the first commit: the whole history"
        )
        return (times.min(), until_ts or times.max()), rule
    rule = f"the AI era: from {lead.days} days before the first AI-marked change ({day(first)})"
    return (start, until_ts or times.max()), rule


def _in_window(
    table: pd.DataFrame, time_col: str, since: pd.Timestamp, until: pd.Timestamp
) -> tuple[pd.DataFrame, dict[str, int]]:
    t = table[time_col]
    before, after, unknown = t < since, t > until, t.isna()
    kept = table[~(before | after | unknown)].reset_index(drop=True)
    return kept, {
        "before the window": int(before.sum()),
        "after the window": int(after.sum()),
        "with an unknown time": int(unknown.sum()),
    }


def _design(
    table: pd.DataFrame,
    time_col: str,
    author_col: str,
    window: _Window,
    rule: str,
    controls: Sequence[str] | None,
    cluster: str | None,
) -> tuple[pd.DataFrame, Design]:
    """Add the time-trend and experience columns; choose controls and clusters."""
    table = table.copy()
    years = (table[time_col] - window[0]).dt.total_seconds().to_numpy() / (365.25 * 86400)
    span = float(np.nanmax(years)) if len(years) else 0.0
    degree = 1 if span < 0.5 else 2 if span < 2 else 3
    degree = min(degree, max(len(np.unique(years)) - 1, 0))
    trend = _orthogonal_poly(years, degree)
    names = [f"time_trend_{k + 1}" for k in range(trend.shape[1])]
    for k, name in enumerate(names):
        table[name] = trend[:, k]
    authors = table[author_col].nunique() if author_col in table else 0
    if "author_experience" in table:
        table["log_author_experience"] = np.log1p(table["author_experience"].astype(float))
    if controls is not None:
        chosen = list(controls)
        time_text, author_text = "Controls as given", ", ".join(chosen) or "none"
    else:
        size = ["log_size"] if "log_size" in table else []
        experience = ["log_author_experience"] if "log_author_experience" in table else []
        if 1 < authors <= MAX_AUTHOR_EFFECTS:
            who = [author_col]
            author_text = (
                f"Author fixed effects ({authors} authors; those whose outcome "
                "never varies fall out of its model; with fewer than "
                f"{MIN_CLUSTERS} left, the author's prior commits, log, "
                "instead)"
            )
        else:
            who = experience
            author_text = (
                f"{authors} authors: adjusted for the author's prior commits (log) "
                "instead of one fixed effect each"
                if who
                else f"{authors} authors: no author adjustment"
            )
        chosen = [*size, *names, *who]
        time_text = (
            f"Time adjusted by a smooth trend (orthogonal polynomial of degree "
            f"{len(names)} in commit time)"
            if names
            else "No time adjustment (one instant)"
        )
    if cluster == "auto":
        cluster = author_col if authors >= 10 else None
    check_design(table, "ai_assisted", chosen, cluster)
    return table, Design(window[0], window[1], rule, chosen, cluster, time_text, author_text)


def _orthogonal_poly(x: np.ndarray, degree: int) -> np.ndarray:
    """Columns 1..degree of an orthonormal polynomial basis of *x* (as R's ``poly``)."""
    if degree < 1:
        return np.empty((len(x), 0))
    centred = x - x.mean()
    basis = np.vander(centred / (np.abs(centred).max() or 1.0), degree + 1, increasing=True)
    q, _ = np.linalg.qr(basis)
    return q[:, 1:] * np.sqrt(len(x))


def nothing_to_compare(table: pd.DataFrame, what: str = "commits") -> str | None:
    """Why *table* (rows with ``ai_assisted``) has no comparison to make, or None.

    Examples
    --------
    >>> nothing_to_compare(pd.DataFrame({"ai_assisted": [True, False]})) is None
    True
    """
    ai = table["ai_assisted"].fillna(False).astype(bool)
    if not ai.any():
        return (
            f"No AI-assisted {what} found: none of the {len(table)} {what} carries an AI "
            "mark, so there is nothing to compare. The absence of a mark is not evidence "
            "of human authorship: tools can be configured to leave none, and hooks can "
            "strip them."
        )
    if ai.all():
        return (
            f"Every one of the {len(table)} {what} carries an AI mark: there are no "
            f"unmarked {what} to compare them with."
        )
    return None


def _fit(
    table: pd.DataFrame,
    tried: Mapping[str, str],
    design: Design,
    absent: str | None,
    progress: bool | None,
) -> tuple[ComparisonSet, dict[str, pd.DataFrame]]:
    """Fits of the *tried* outcomes (missing columns listed as failed) and raw figures."""
    present = {o: m for o, m in tried.items() if o in table.columns}
    missing = {o: f"the table has no column {o!r}" for o in tried if o not in table.columns}
    raw: dict[str, pd.DataFrame] = {}
    with warnings.catch_warnings():  # kept in each result's .warnings, shown in the page
        warnings.simplefilter("ignore")
        if absent is None and present:
            results, failed = [], dict(missing)
            for outcome, model in present.items():
                controls = _controls(table, outcome, design)
                one = compare_many(
                    table,
                    {outcome: model},
                    controls=controls,
                    cluster=design.cluster,
                    progress=False,
                )
                fallback = _without_author_effects(table, controls)
                if outcome in one.failed and fallback != controls:
                    why = one.failed[outcome]
                    one = compare_many(
                        table,
                        {outcome: model},
                        controls=fallback,
                        cluster=design.cluster,
                        progress=False,
                    )
                    for r in one.results:
                        r.notes.append(
                            f"with author fixed effects: {why}; refitted with the "
                            "author's prior commits instead"
                        )
                results += one.results
                failed.update(one.failed)
            fitted = {r.outcome: r.groups for r in results}
            for outcome, model in present.items():  # what could not be modelled is described
                raw[outcome] = fitted.get(outcome)
                if raw[outcome] is None:
                    raw[outcome] = _raw_or_reason(table, outcome, model, failed)
            return ComparisonSet(results, failed), {o: g for o, g in raw.items() if g is not None}
        failed = dict(missing)
        for outcome, model in present.items():
            groups = _raw_or_reason(table, outcome, model, failed)
            if groups is not None:
                raw[outcome] = groups
    return ComparisonSet([], failed), raw


def _raw_or_reason(
    table: pd.DataFrame, outcome: str, model: str, failed: dict[str, str]
) -> pd.DataFrame | None:
    """The raw figures of *outcome* by group, or None with the reason put in *failed*
    (unless it already has one)."""
    try:
        return raw_groups(table, outcome, model=model)
    except InputError as exc:
        failed.setdefault(outcome, str(exc))
        return None


def _controls(table: pd.DataFrame, outcome: str, design: Design) -> list[str]:
    """The design's controls for *outcome*: author fixed effects whenever at least
    MIN_CLUSTERS authors have an outcome that varies; otherwise the author's prior commits.
    Authors whose outcome never varies fall out of the fixed-effects model (``compare``
    leaves them out: they carry no information on the effect), so a rare outcome keeps
    fewer clusters, but the effect is still estimated within authors; the author's prior
    commits do not adjust for authors' risks (a +0.22 log odds ratio bias, coverage 84-90%,
    on the real-shaped planted histories of benchmarks/validate_stats.py)."""
    effects = [c for c in design.controls if c in ("author_email", "author_login")]
    if not effects or outcome not in table:
        return design.controls
    if _informative_levels(table, outcome, effects[0]) >= MIN_CLUSTERS:
        return design.controls
    return _without_author_effects(table, design.controls)


def _without_author_effects(table: pd.DataFrame, controls: list[str]) -> list[str]:
    """*controls* with the author fixed effects replaced by the author's prior commits."""
    effects = [c for c in controls if c in ("author_email", "author_login")]
    if not effects:
        return controls
    swap = ["log_author_experience"] if "log_author_experience" in table else []
    return [c for c in controls if c not in effects] + swap


def _informative_levels(table: pd.DataFrame, outcome: str, key: str) -> int:
    """Levels of *key* in which a yes/no outcome varies (a count or duration: has an event);
    every level for other outcomes."""
    from aiimpact.stats.kinds import DURATIONS

    if outcome in DURATIONS and DURATIONS[outcome][1] is None:
        flag = table[DURATIONS[outcome][0]].astype("boolean").fillna(False).astype(float)
    else:
        flag = pd.to_numeric(table[outcome], errors="coerce")
    by = flag.groupby(table[key]).agg(["min", "max"]).dropna()
    if flag.dropna().isin([0, 1]).all():
        return int((by["min"] < by["max"]).sum())
    return int((by["max"] > 0).sum()) if outcome in DURATIONS else len(by)
