"""Figures of the report, each returned as inline SVG text (no files, no network)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

PURPLE, GREY = "#8250df", "#d0d7de"


def svg(fig) -> str:
    """The figure as an ``<svg>`` element; the figure is closed."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def share_over_time(monthly: pd.DataFrame) -> str:
    """Commits per month (AI-assisted highlighted) and the AI share of commits and lines."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 4.2), sharex=True)
    x = monthly.index.astype(str)
    top.bar(x, monthly["commits"], color=GREY, label="all commits")
    top.bar(x, monthly["ai_commits"], color=PURPLE, label="AI-assisted (marked)")
    top.set_ylabel("commits")
    top.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    bottom.plot(x, monthly["ai_share"], color=PURPLE, marker="o", ms=3, label="of commits")
    bottom.plot(x, monthly["ai_line_share"], color="#1f883d", marker="s", ms=3,
                label="of lines added")  # fmt: skip
    bottom.set_ylabel("AI share")
    bottom.set_ylim(0, 1)
    bottom.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    bottom.tick_params(axis="x", rotation=60, labelsize=7)
    for ax in (top, bottom):
        ax.spines[["top", "right"]].set_visible(False)
    return svg(fig)


def forest(results, truth: dict | None = None) -> str:
    """Forest plot of comparisons; planted truths (demo) as hollow diamonds."""
    from aiimpact.stats.results import forest as draw

    fig, ax = plt.subplots(figsize=(7.5, 0.8 + 0.5 * sum(r.is_ratio for r in results)))
    draw(results, ax=ax)
    if truth:
        shown = [r for r in results if r.is_ratio]
        for y, r in zip(range(len(shown))[::-1], shown, strict=True):
            if r.outcome in truth:
                ax.plot([truth[r.outcome]], [y], "D", mfc="none", mec="#1f883d", ms=8)
    return svg(fig)


def sensitivity(table: pd.DataFrame, outcome: str) -> str:
    """Estimate and 95% CI against the assumed share of hidden AI use."""
    fig, ax = plt.subplots(figsize=(5, 2.8))
    ax.fill_between(table["unlabeled_share"], table["ci_low"], table["ci_high"], color=GREY)
    ax.plot(table["unlabeled_share"], table["estimate"], color=PURPLE, marker="o")
    ax.axhline(1.0, color="#999", ls="--", lw=1)
    ax.set_xlabel("assumed share of hidden AI use among 'unassisted'")
    ax.set_ylabel(table["scale"].iloc[0])
    ax.set_title(outcome, fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    return svg(fig)


def event_study(result) -> str:
    fig, ax = plt.subplots(figsize=(7, 3))
    result.plot(ax=ax)
    ax.set_title(result.outcome, fontsize=9)
    return svg(fig)
