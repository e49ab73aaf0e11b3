"""The HTML summary of a mined repository (the seed of the full report).

Pure presentation: it takes the ``commits`` table and writes one self-contained HTML file
(figures embedded as SVG), so the report can be mailed or attached to a study.
"""

from __future__ import annotations

import html
import io
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from aiimpact.detect.coverage import CAVEAT, coverage

CAVEATS = (
    CAVEAT,
    "Line counts are against each commit's first parent, as "
    "<code>git log --numstat --diff-merges=first-parent --no-renames</code> counts them; "
    "binary files count 0 lines; merges are kept and flagged.",
    "This page describes; it does not compare outcomes. Differences between groups here "
    "are not adjusted for size, author or time.",
)


def tool_table(commits: pd.DataFrame) -> pd.DataFrame:
    """Commits, share and lines added per AI tool (a commit may count for several tools)."""
    ai = commits[commits["ai_assisted"].fillna(False).astype(bool)]
    rows = ai.explode("ai_tools")
    out = rows.groupby("ai_tools").agg(commits=("sha", "nunique"), insertions=("insertions", "sum"))
    out["share_of_all_commits"] = out["commits"] / max(len(commits), 1)
    return out.sort_values("commits", ascending=False).rename_axis("tool")


def monthly_share(commits: pd.DataFrame) -> pd.DataFrame:
    """Per month (by commit time): commits, AI-assisted commits and their share."""
    month = commits["commit_time"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M")
    g = commits.assign(month=month, ai=commits["ai_assisted"].fillna(False).astype(int))
    out = g.groupby("month").agg(commits=("sha", "size"), ai_commits=("ai", "sum"))
    out["ai_share"] = out["ai_commits"] / out["commits"]
    return out


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _share_figure(monthly: pd.DataFrame) -> str:
    fig, ax = plt.subplots(figsize=(7, 2.8))
    x = monthly.index.astype(str)
    ax.bar(x, monthly["commits"], color="#d0d7de", label="all commits")
    ax.bar(x, monthly["ai_commits"], color="#8250df", label="AI-assisted (marked)")
    ax.set_ylabel("commits")
    ax.tick_params(axis="x", rotation=60, labelsize=7)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def write_summary(commits: pd.DataFrame, path: str | Path, title: str) -> Path:
    """Write the HTML summary of a ``commits`` table to *path*; return the path.

    Examples
    --------
    >>> write_summary(ai.Repo(".").commits(), "report.html", "my repo")  # doctest: +SKIP
    """
    path = Path(path)
    n = len(commits)
    ai = commits["ai_assisted"].fillna(False).astype(bool)
    merges = int(commits["is_merge"].sum())
    tools = tool_table(commits)
    monthly = monthly_share(commits)
    lines_ai = int(commits.loc[ai, "insertions"].sum())
    lines_all = int(commits["insertions"].sum())
    first, last = commits["commit_time"].min(), commits["commit_time"].max()
    signals = coverage(commits)[["id", "tool", "kind", "mode", "confidence", "commits"]]
    modes = commits.loc[ai, "ai_modes"].explode().value_counts().rename("commits")
    modes = modes.rename_axis("mode")
    esc = html.escape
    body = f"""<!doctype html><html><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#1f2328}}
table{{border-collapse:collapse}}td,th{{padding:.25rem .6rem;border-bottom:1px solid #d0d7de;
text-align:right}}th:first-child,td:first-child{{text-align:left}}.k{{font-size:1.6rem}}
.cards{{display:flex;gap:2rem}}.caveat{{color:#57606a;font-size:.9rem}}</style></head><body>
<h1>{esc(title)}</h1>
<p>{n} commits ({merges} merges) from {first:%Y-%m-%d} to {last:%Y-%m-%d}.
Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by aiimpact.</p>
<div class="cards">
<div><div class="k">{ai.sum()} ({ai.mean():.1%})</div>commits with an AI mark</div>
<div><div class="k">{lines_ai:,} of {lines_all:,}</div>lines added by marked commits</div>
<div><div class="k">{len(tools)}</div>AI tools seen</div></div>
<h2>AI-assisted commits per month</h2>{_share_figure(monthly)}
<h2>By tool</h2>{tools.reset_index().to_html(index=False, float_format=lambda v: f"{v:.1%}")}
<h2>By mode</h2>
<p>agent: an agent authored the change; co-author: an interactive assistant co-wrote it;
suggestion: an accepted review suggestion; declared: a policy trailer.</p>
{modes.reset_index().to_html(index=False)}
<h2>How the AI share was decided</h2>
<p>Signatures that matched, counted in commits (a commit can carry several); each is
listed with its source in the signature catalogue.</p>
{signals.to_html(index=False)}
<h2>Caveats</h2><ul class="caveat">{"".join(f"<li>{c}</li>" for c in CAVEATS)}</ul>
</body></html>"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path
