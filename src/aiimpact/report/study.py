"""The report: one self-contained HTML page answering "did AI-assisted changes fare better?".

Sections (each an element with the id in brackets): a summary [summary], the AI share of
commits and lines over time [ai-share], tools and modes [tools], each outcome's raw figures
by group with CIs [outcomes], the adjusted models with a forest plot [models], the
code quality when the table has its columns [quality], the misclassification sensitivity
[sensitivity], the adoption event study when adoption dates are clear [adoption], pull
requests when given [pull-requests; with their code, pull-requests-code and
pull-requests-quality], the planted truth for a
synthetic repository [truth], and the caveats [caveats]. Figures are inline SVG and the page
loads nothing from the network.

A repository without AI-marked commits (most are), or with nothing else, has nothing to
compare: the page says so in the summary and in place of the models, and still describes
the history and the raw outcomes.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from aiimpact.detect.coverage import CAVEAT, coverage
from aiimpact.errors import InputError
from aiimpact.files import atomic_output, writable_file
from aiimpact.report import figures
from aiimpact.stats.results import fmt as _f
from aiimpact.stats.study import (
    PR_CODE_OUTCOMES,
    PR_QUALITY_OUTCOMES,
    QUALITY_OUTCOMES,
    TABLE_COLUMNS,
)
from aiimpact.times import day

SENSITIVITY_OUTCOMES = ("reverted_within_90d", "fix_inducing_within_90d")
SHARES = (0.0, 0.1, 0.2, 0.4)
_NOT_SHOWN = ("level", "test", "adjusted_for")  # the page shows these elsewhere
SKIPPED = "Skipped: there is nothing to compare (see the summary)."


def tool_table(commits: pd.DataFrame) -> pd.DataFrame:
    """Commits, share and lines added per AI tool (a commit may count for several tools)."""
    ai = commits[commits["ai_assisted"].fillna(False).astype(bool)]
    rows = ai.explode("ai_tools")
    out = rows.groupby("ai_tools").agg(commits=("sha", "nunique"), insertions=("insertions", "sum"))
    out["share_of_all_commits"] = out["commits"] / max(len(commits), 1)
    return out.sort_values("commits", ascending=False).rename_axis("tool")


def share_by_period(commits: pd.DataFrame, freq: str | None = None) -> pd.DataFrame:
    """Per period (by commit time): commits, AI-assisted commits, their share, and the share
    of lines added by AI-assisted commits.

    *freq* is a pandas period frequency; by default weeks for a history shorter than
    about four months (months would give two or three points), months otherwise.
    """
    when = commits["commit_time"].dt.tz_convert("UTC").dt.tz_localize(None)
    if freq is None:
        span = when.max() - when.min() if len(when) else pd.Timedelta(0)
        freq = "W-SUN" if span < pd.Timedelta(days=120) else "M"
    ai = commits["ai_assisted"].fillna(False).astype(bool)
    g = commits.assign(
        period=when.dt.to_period(freq),
        ai=ai.astype(int),
        ai_lines=commits["insertions"].where(ai, 0),
    )
    out = g.groupby("period").agg(
        commits=("sha", "size"),
        ai_commits=("ai", "sum"),
        lines=("insertions", "sum"),
        ai_lines=("ai_lines", "sum"),
    )
    out["ai_share"] = out["ai_commits"] / out["commits"]
    out["ai_line_share"] = out["ai_lines"] / out["lines"].where(out["lines"] > 0)
    return out


def build_report(
    outcomes: pd.DataFrame,
    title: str,
    prs: pd.DataFrame | None = None,
    truth: dict[str, float] | None = None,
    controls: list[str] | None = None,
    cluster: str | None = "auto",
    note: str = "",
    data_notes: tuple[str, ...] | list[str] = (),
    since=None,
    until=None,
) -> str:
    """The report's HTML text for a ``Repo.outcomes()`` table (and optionally PRs).

    The analysis is :func:`aiimpact.study` (window, design, every outcome tried with its
    estimate or its reason); this renders it.

    Parameters
    ----------
    outcomes : DataFrame
        The commit-level table; merge commits are left out of the comparisons.
    title : str
        Page title.
    prs : DataFrame, optional
        ``prs`` table (``ai.github.pull_requests(...).prs``) for the review section.
    truth : dict, optional
        Planted effect per outcome (synthetic repositories), shown beside the estimates.
    controls, cluster, since, until : optional
        Passed to :func:`aiimpact.study` (default: its design for real histories).
    note : str
        Extra HTML paragraph under the summary (e.g. how the data was built).
    data_notes : sequence of str
        What the data leaves out (plain text), listed first among the caveats: files the
        line history could not follow, say (:func:`mining_notes`).

    Raises
    ------
    InputError
        No commits, or a control or cluster column the table lacks (before any fit).

    Examples
    --------
    >>> text = build_report(ai.Repo(".").outcomes(), "my repo")  # doctest: +SKIP
    """
    from aiimpact.stats.study import study

    s = study(outcomes, prs=prs, since=since, until=until, controls=controls, cluster=cluster)
    history = outcomes[~outcomes["is_merge"].astype(bool)].reset_index(drop=True)
    sections = [
        _summary(outcomes, s, note),
        _share(history, s),
        _tools(outcomes),
        _raw(s.raw, "outcomes", "Outcomes by group (raw, unadjusted)"),
        _models(
            s,
            "commit",
            truth,
            "models",
            "Adjusted comparison: AI-assisted vs other commits",
            [o for o in s.tried if o not in QUALITY_OUTCOMES],
        ),
        _quality(s, truth),
        _sensitivity(s.results, s.absent),
        _adoption(s.commits, s.absent),
    ]
    if s.prs is not None:
        sections.append(_prs(s, truth))
    if truth:
        sections.append(_truth(truth))
    sections.append(_caveats(s, data_notes))
    return _page(title, "\n".join(sections))


def write_report(outcomes: pd.DataFrame, path: str | Path, title: str, **kwargs) -> Path:
    """Write :func:`build_report` to *path* (whole, or not at all) and return the path."""
    path = writable_file(path, "report")
    page = build_report(outcomes, title, **kwargs)
    with atomic_output(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


# -- sections ---------------------------------------------------------------------------------
def _summary(outcomes, s, note) -> str:
    commits = s.commits
    ai = commits["ai_assisted"].fillna(False).astype(bool)
    lines_ai, lines_all = int(commits.loc[ai, "insertions"].sum()), int(commits["insertions"].sum())
    first, last = outcomes["commit_time"].min(), outcomes["commit_time"].max()
    gone = "; ".join(f"{n} {why}" for why, n in s.left_out.items() if n)
    from aiimpact import __version__

    return f"""<section id="summary">
<p>{len(outcomes)} commits from {first:%Y-%m-%d} to {last:%Y-%m-%d}. Generated
{datetime.now(UTC):%Y-%m-%d %H:%M} UTC by aiimpact {__version__}.</p>{note}
<p><b>Study design.</b> {html.escape(s.design.describe())} {len(commits)} commits by
{commits["author_email"].nunique()} authors are compared (left out: {html.escape(gone or "none")}).
</p>
{_statement(s.absent)}<div class="cards">
<div><div class="k">{int(ai.sum())} ({ai.mean():.1%})</div>commits with an AI mark (window)</div>
<div><div class="k">{lines_ai:,} of {lines_all:,}</div>lines added by marked commits</div>
<div><div class="k">{commits.loc[ai, "ai_tools"].explode().nunique()}</div>AI tools seen</div>
</div></section>"""


def _share(history, s) -> str:
    return (
        '<section id="ai-share"><h2>AI share of commits and lines over time</h2>'
        + figures.share_over_time(share_by_period(history))
        + f"<p class='caveat'>The whole history; the study window is {day(s.design.since)} "
        f"to {day(s.design.until)}.</p></section>"
    )


def _tools(outcomes) -> str:
    ai = outcomes["ai_assisted"].fillna(False).astype(bool)
    modes = outcomes.loc[ai, "ai_modes"].explode().value_counts().rename("commits")
    signals = coverage(outcomes)[["id", "tool", "kind", "mode", "confidence", "commits"]]
    return f"""<section id="tools"><h2>Tools, modes and evidence</h2>
{tool_table(outcomes).reset_index().to_html(index=False, float_format=lambda v: f"{v:.1%}")}
<p>Modes: agent (an agent authored the change), co-author (an assistant co-wrote it),
suggestion (an accepted review suggestion), declared (a policy trailer).</p>
{modes.rename_axis("mode").reset_index().to_html(index=False)}
<p>Signatures that matched, in commits (one commit can carry several):</p>
{signals.to_html(index=False)}</section>"""


def _statement(absent: str | None) -> str:
    return f'<p class="nothing"><b>{html.escape(absent)}</b></p>' if absent else ""


def _raw(raw: dict[str, pd.DataFrame], anchor: str, heading: str) -> str:
    rows = []
    for outcome, groups in raw.items():
        for g in groups.to_dict("records"):
            rows.append(
                {
                    "outcome": outcome,
                    "group": "AI-assisted" if g["group"] == "treated" else "other",
                    "n": g["n"],
                    "events": g.get("events"),
                    "statistic": g["statistic"],
                    "value": _value(g),
                    "95% CI": _interval(g),
                }
            )
    table = pd.DataFrame(rows).to_html(index=False, float_format=_f, na_rep="") if rows else ""
    return (
        f'<section id="{anchor}"><h2>{heading}</h2><p>Shares with Wilson intervals, '
        "means with t intervals, durations as Kaplan-Meier medians (censoring-aware; NA "
        f"when fewer than half had the event).</p>{table}</section>"
    )


def _value(g: dict) -> str:
    if pd.isna(g["value"]) and g["statistic"].startswith("median"):
        return "not reached"  # fewer than half had the event during the follow-up
    return _f(g["value"])


def _interval(g: dict) -> str:
    low, high = g["low"], g["high"]
    if pd.isna(low) and pd.isna(high):
        return ""
    return f"{_f(low)} to {'not reached' if pd.isna(high) else _f(high)}"


def _models(s, level, truth, anchor, heading, only=None, intro="") -> str:
    """Every outcome tried at *level* (or those of *only*): its estimate, or the reason it
    has none; *intro* (HTML) opens the section."""
    models = s.results if level == "commit" else s.pr_results
    design = s.design if level == "commit" else s.pr_design
    absent = s.absent if level == "commit" else s.pr_absent
    table = s.table()
    table = table[table["level"] == level].drop(columns=["level"])
    note = models.multiple_comparisons_note  # p_holm is over every outcome of the level
    results = models.results
    if only is not None:
        table = table[table["outcome"].isin(only)]
        results = [r for r in results if r.outcome in only]
    if absent:
        listed = table[["outcome", "reason"]].to_html(index=False, na_rep="")
        head = f'<section id="{anchor}"><h2>{heading}</h2>{intro}'
        return f"{head}{_statement(absent)}{listed}</section>"
    shown = table[[c for c in TABLE_COLUMNS if c not in _NOT_SHOWN]].copy()
    if truth:
        shown.insert(3, "planted truth", shown["outcome"].map(truth))
    shown = shown.astype(object).where(shown.notna(), "")
    warn = "".join(
        f"<li><b>{html.escape(r.outcome)}</b>: {html.escape(m)}</li>"
        for r in results
        for m in r.warnings + r.notes
    )
    tests = "".join(
        f"<li><b>{html.escape(r.outcome)}</b>: {html.escape(r.test)}</li>" for r in results
    )
    forest = ""
    if results:
        forest = f"""{figures.forest(results, truth)}
<p class="caveat">Squares: estimates (red when p &lt; 0.05); lines: 95% CIs{
            "; hollow diamonds: the planted truth" if truth else ""
        }.</p>
<p class="caveat">{html.escape(note)}</p>"""
    return f"""<section id="{anchor}"><h2>{heading}</h2>{intro}
<p>{html.escape(design.describe())} Each outcome's model is chosen by its kind (logistic for
yes/no, negative binomial or Poisson for counts, Cox for censored durations, OLS for rates).
Ratios above 1 mean more of the outcome (for hazard ratios: sooner) for AI-assisted changes;
<code>p_holm</code> is adjusted for the number of outcomes. An outcome that could not be
estimated is listed with its reason.</p>
{shown.to_html(index=False, float_format=_f, na_rep="")}
<p class="caveat">Tests behind the p-values:</p><ul class="caveat">{tests}</ul>
{forest}
<ul class="caveat">{warn}</ul></section>"""


def _quality(s, truth) -> str:
    """The code-quality outcomes of the commits, when the table has them (else nothing)."""
    quality = [o for o in s.tried if o in QUALITY_OUTCOMES]
    if not quality:
        return ""
    intro = (
        "<p>How complex and how maintainable the code each commit wrote is (lizard's "
        "figures for the files it changed, see docs/quality.md): cyclomatic complexity "
        "added (after minus before), PyDriller's Delta Maintainability Model (the share of "
        "changed lines of code that went into low-risk functions or out of the others, for "
        "unit size, complexity and interfacing; a commit that moved no function code has "
        "none and is left out), the lines it moved (removed in one place, added in "
        "another: refactoring, in GitClear's taxonomy) and the lines it copied (blocks of "
        "5 or more lines that then occur twice or more in the tree: copy/paste). "
        "Differences are in the outcome's own unit, adjusted for size like the others.</p>"
    )
    heading = "Code quality: AI-assisted vs other commits"
    return _models(s, "commit", truth, "quality", heading, quality, intro)


def _sensitivity(models, absent) -> str:
    parts = []
    for r in models.results:
        if r.outcome not in SENSITIVITY_OUTCOMES:
            continue
        try:
            table = r.sensitivity(SHARES, draws=10, burn_in=5)
        except InputError as exc:
            parts.append(f"<p>{html.escape(r.outcome)}: {html.escape(str(exc))}</p>")
            continue
        method = table.attrs.get("method", "")
        shown = table.drop(columns="scale").to_html(index=False, float_format=_f)
        figure = figures.sensitivity(table, r.outcome)
        parts.append(
            f"<h3>{html.escape(r.outcome)}</h3>{shown}{figure}<p class='caveat'>{method}</p>"
        )
    body = "".join(parts) or f"<p>{SKIPPED if absent else 'No binary outcome to analyse.'}</p>"
    return f"""<section id="sensitivity"><h2>If some "unassisted" changes used AI unseen</h2>
<p>AI use that leaves no mark is counted as unassisted, which pulls differences toward
zero. Each row re-estimates the effect assuming that share of the unassisted commits were
in fact AI-assisted (and fared like the marked ones).</p>{body}</section>"""


def _adoption(commits, absent) -> str:
    from aiimpact.stats import did, panel

    head = '<section id="adoption"><h2>Adoption event study (authors)</h2>'
    if absent:
        return f"{head}<p>{SKIPPED}</p></section>"
    p = panel(commits, unit="author_email", freq="MS")
    first = p.groupby("unit").agg(first=("first_treated", "first"), start=("period", "min"))
    with_pre = first[first["first"].notna() & (first["first"] > first["start"])]
    if len(with_pre) < 2 or p["unit"].nunique() < 3:
        return (
            head + "<p>Skipped: no clear adoption dates (fewer than two authors started "
            "using AI after a period without it).</p></section>"
        )
    parts = []
    for outcome in ("lines", "commits"):
        try:
            r = did(p, outcome, unit="unit", time="period", first_treated="first_treated")
        except InputError as exc:
            parts.append(f"<p>{outcome}: {html.escape(str(exc))}</p>")
            continue
        caveats = "".join(f"<li>{html.escape(m)}</li>" for m in r.warnings + r.notes)
        parts.append(
            f"<h3>{outcome} per author-month</h3><p>{html.escape(r.describe())}</p>"
            f"{figures.event_study(r)}<ul class='caveat'>{caveats}</ul>"
        )
    return (
        head + "<p>Each author counts as treated from the first month with an AI-marked "
        "commit. Imputation estimator of Borusyak, Jaravel and Spiess (2024), with two-way "
        "fixed effects beside it; leads are the pre-trend test.</p>" + "".join(parts) + "</section>"
    )


def _prs(s, truth) -> str:
    """The PR part: the review half, then (for a ``Repo.pr_outcomes()`` table) what became
    of the code each PR landed, then the raw figures."""
    p = s.prs
    review = [o for o in s.pr_tried if o not in {**PR_CODE_OUTCOMES, **PR_QUALITY_OUTCOMES}]
    heading = f"Pull requests ({len(p)}; AI-assisted vs other): review"
    intro = (
        f"<p>{int(p['ai_assisted'].fillna(False).astype(bool).sum())} of the {len(p)} PRs "
        "opened in the study window are AI-assisted (by their author, branch, body or the "
        "marks of their commits). How each went through review: merged (open PRs are left "
        "out), hours from creation to merge and to the first review, review rounds, human "
        "review comments per 100 changed lines, and approvals with no comment at all.</p>"
    )
    parts = [_models(s, "pr", truth, "pull-requests", heading, review, intro)]
    code = [o for o in s.pr_tried if o in PR_CODE_OUTCOMES]
    if code and "in_history" in p:
        found = p["in_history"].astype(bool)
        intro = (
            f"<p>What became of the code: for the {int(found.sum())} PRs whose commits are in "
            f"the history ({int((~found).sum())} are not: closed unmerged, or merged "
            "elsewhere), the outcomes of the commits each landed (merge commit, branch "
            "commits, squash commit, rebased copies), taken together: reverted within 90 "
            "days, blamed by a later fix within 90 days (SZZ), and the share of its lines "
            "rewritten within 14 days. A PR younger than a window is censored (left out), "
            "never counted as a success.</p>"
        )
        heading = "Pull requests: what became of their code"
        parts.append(_models(s, "pr", truth, "pull-requests-code", heading, code, intro))
    quality = [o for o in s.pr_tried if o in PR_QUALITY_OUTCOMES]
    if quality:
        intro = (
            "<p>The quality of the code each PR landed, its commits taken together: "
            "complexity added, and the DMM of its change as one (made from its commits' "
            "summed risk-profile deltas).</p>"
        )
        heading = "Pull requests: the quality of their code"
        parts.append(_models(s, "pr", truth, "pull-requests-quality", heading, quality, intro))
    raw = _raw(s.pr_raw, "pull-requests-raw", "Pull requests by group (raw)")
    return "".join(parts) + raw


def _truth(truth) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{_f(v)}</td></tr>" for k, v in truth.items())
    return f"""<section id="truth"><h2>Planted truth</h2><p>This repository was generated
with known effects (<code>aiimpact.synth.make_repo</code>); the estimates above should cover
them in about 95 of 100 repositories. Naive (unadjusted) estimates are biased by the planted
confounding: AI-assisted commits are larger and come more often from authors whose changes
are riskier.</p><table><tr><th>outcome</th><th>planted effect</th></tr>{rows}</table></section>"""


def mining_notes(report) -> list[str]:
    """Plain-text caveats from a :class:`~aiimpact.repo.MiningReport`: what was not mined."""
    notes = []
    if report.missing_object_commits:
        notes.append(
            f"Objects are absent from the repository (a partial clone or an incomplete "
            f"mirror): {report.missing_object_files} file(s) in "
            f"{report.missing_object_commits} commit(s) have unknown line counts."
        )
    if report.unfollowed_files:
        notes.append(
            f"The line history does not follow {report.unfollowed_files} file(s) whose blobs "
            f"are absent ({report.unfollowed_commits} commit(s) touch them): churn, content "
            "reverts and fix-inducing links leave their lines out."
        )
    if report.shallow:
        notes.append("The repository is a shallow clone: history before its boundary is absent.")
    return notes


def _caveats(s, data_notes=()) -> str:
    models = s.results
    items = [
        *(html.escape(n) for n in data_notes),
        CAVEAT,
        "Observational data: the comparisons adjust only for what is listed; changes that "
        "developers chose to make with AI may differ in ways not measured (difficulty, "
        "urgency, area of the code).",
        "Durations are censored, not dropped: a change not yet reverted (or fixed) counts as "
        "followed up to the newest commit; windowed outcomes (churn within 14 days, reverts "
        "and fixes within 90 days) are NA for changes younger than the window, so recent "
        "(AI-era) changes are not counted as safer for having had less time.",
        "Fix-inducing commits come from SZZ (blame of the lines a fix changed): on a "
        "kernel-style oracle its precision was about 0.68 and recall about 0.61, so some "
        "links are wrong and some are missing, in both groups.",
        "Line counts are against each commit's first parent (<code>git log --numstat "
        "--diff-merges=first-parent --no-renames</code>); binary files count 0 lines; merge "
        "commits are left out of the comparisons.",
    ]
    if models.results:
        items.append(models.multiple_comparisons_note)
    return (
        '<section id="caveats"><h2>Caveats</h2><ul class="caveat">'
        + "".join(f"<li>{c}</li>" for c in items)
        + "</ul></section>"
    )


def _page(title: str, body: str) -> str:
    esc = html.escape(title)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;
color:#1f2328}}table{{border-collapse:collapse;margin:.5rem 0}}td,th{{padding:.25rem .6rem;
border-bottom:1px solid #d0d7de;text-align:right}}th:first-child,td:first-child{{text-align:left}}
.k{{font-size:1.6rem}}.cards{{display:flex;gap:2rem;flex-wrap:wrap}}
.caveat{{color:#57606a;font-size:.9rem}}svg{{max-width:100%;height:auto}}</style></head>
<body><h1>{esc}</h1>
{body}
</body></html>"""
