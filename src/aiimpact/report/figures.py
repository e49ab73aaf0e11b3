"""Figures of the report, each returned as inline SVG text (no files, no network).

Time axes are labelled by span (:func:`time_axis`): days or weeks under about three months,
months under about three years, years beyond, never more than twelve labels; the AI era
(from the first period with an AI-marked commit) is shaded and labelled.
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import Formatter, LogLocator, NullFormatter

PURPLE, GREY, GREEN = "#8250df", "#d0d7de", "#1f883d"
ERA = "#ece4fc"  # the AI era's shading: PURPLE, very light
MAX_LABELS = 12
MARKER_MAX = 40  # more periods than this: lines without markers


def svg(fig) -> str:
    """The figure as an ``<svg>`` element; the figure is closed."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


# -- time axes --------------------------------------------------------------------------------
_STEPS = {  # unit -> candidate steps, finest first
    "day": (1, 2),
    "week": (1, 2, 4),
    "month": (1, 2, 3, 4, 6, 12),
    "year": (1, 2, 5, 10, 20, 25, 50, 100),
}


def _locator(unit: str, step: int):
    if unit == "day":
        return mdates.DayLocator(interval=step)
    if unit == "week":
        return mdates.WeekdayLocator(byweekday=mdates.MO, interval=step)
    if unit == "month":
        return mdates.MonthLocator(bymonth=range(1, 13, step))
    return mdates.YearLocator(base=step)


def time_ticks(start, end, max_labels: int = MAX_LABELS) -> tuple[str, int]:
    """The tick unit (``day``, ``week``, ``month`` or ``year``) and step for an axis from
    *start* to *end*: days or weeks under about three months, months under about three
    years, years beyond, each with the smallest step that gives at most *max_labels*.

    Examples
    --------
    >>> time_ticks("2012-03-01", "2026-02-01")
    ('year', 2)
    >>> time_ticks("2025-12-01", "2026-01-31")
    ('week', 1)
    >>> time_ticks("2024-01-01", "2025-06-30")
    ('month', 2)
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    days = (end - start) / pd.Timedelta(days=1)
    units = ("day", "week") if days < 92 else ("month",) if days < 3 * 365.25 else ("year",)
    lo, hi = mdates.date2num(start.to_pydatetime()), mdates.date2num(end.to_pydatetime())
    for unit in units:
        for step in _STEPS[unit]:
            ticks = _locator(unit, step).tick_values(start.to_pydatetime(), end.to_pydatetime())
            if sum(lo <= t <= hi for t in ticks) <= max_labels:
                return unit, step
    return "year", _STEPS["year"][-1]  # (a span of more than a millennium)


class DateLabels(Formatter):
    """Short date labels; the year is written under the first label and where it changes
    (years alone on a yearly axis)."""

    def __init__(self, unit: str):
        self.unit = unit

    def __call__(self, x, pos=None) -> str:
        return self.format_ticks([x])[0]

    def format_ticks(self, values) -> list[str]:
        lo, hi = self.axis.get_view_interval() if self.axis is not None else (-1e18, 1e18)
        out, year = [], None
        for v in values:
            d = mdates.num2date(v)
            if self.unit == "year":
                out.append(f"{d:%Y}")
                continue
            text = f"{d.day} {d:%b}" if self.unit in ("day", "week") else f"{d:%b}"
            if lo <= v <= hi and d.year != year:  # the first label in view carries the year
                text, year = f"{text}\n{d:%Y}", d.year
            out.append(text)
        return out


def time_axis(ax, start, end, max_labels: int = MAX_LABELS) -> tuple[str, int]:
    """Limit *ax*'s x axis to [*start*, *end*] and tick it by :func:`time_ticks` (minor
    ticks one unit finer, unlabelled)."""
    unit, step = time_ticks(start, end, max_labels)
    ax.set_xlim(pd.Timestamp(start).to_pydatetime(), pd.Timestamp(end).to_pydatetime())
    ax.xaxis.set_major_locator(_locator(unit, step))
    ax.xaxis.set_major_formatter(DateLabels(unit))
    minor = {
        "year": mdates.YearLocator(1) if step > 1 else mdates.MonthLocator((4, 7, 10)),
        "month": mdates.MonthLocator() if step > 1 else None,
        "week": mdates.DayLocator() if step == 1 else mdates.WeekdayLocator(mdates.MO),
        "day": mdates.DayLocator() if step > 1 else None,
    }[unit]
    ax.xaxis.set_minor_locator(minor or matplotlib.ticker.NullLocator())
    return unit, step


def _periods(frame: pd.DataFrame) -> pd.DataFrame:
    """*frame* re-indexed by every period from its first to its last (absent ones empty)."""
    index = frame.index
    if not isinstance(index, pd.PeriodIndex):
        index = pd.DatetimeIndex(index).tz_localize(None).to_period(pd.infer_freq(index) or "M")
    frame = frame.set_axis(index)
    return frame.reindex(pd.period_range(index.min(), index.max(), freq=index.freq))


def share_over_time(periods: pd.DataFrame) -> str:
    """Commits per period (AI-assisted highlighted) and the AI share of commits and lines,
    as SVG text; see :func:`share_over_time_figure`."""
    return svg(share_over_time_figure(periods))


def share_over_time_figure(periods: pd.DataFrame):
    """The figure of :func:`share_over_time`, open (for inspection).

    *periods* is indexed by period (``share_by_period``: weeks or months; any frequency) with
    ``commits``, ``ai_commits``, ``ai_share`` and ``ai_line_share``. The time axis is
    labelled by span (:func:`time_axis`); the AI era is shaded from the start of the first
    period with an AI-marked commit to the end.
    """
    t = _periods(periods)
    starts, ends = t.index.start_time, (t.index + 1).start_time
    width = [(e - s).days * 0.85 for s, e in zip(starts, ends, strict=True)]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 4.2), sharex=True)
    ai = t["ai_commits"].fillna(0)
    top.bar(
        starts, t["commits"].fillna(0), width=width, align="edge", color=GREY, label="all commits"
    )
    top.bar(starts, ai, width=width, align="edge", color=PURPLE, label="AI-assisted (marked)")
    top.set_ylabel("commits")
    few = len(t) <= MARKER_MAX  # else lines alone: markers would merge into a band
    mid = starts + (ends - starts) / 2
    bottom.plot(
        mid, t["ai_share"], color=PURPLE, marker="o" if few else None, ms=3, label="of commits"
    )
    bottom.plot(
        mid,
        t["ai_line_share"],
        color=GREEN,
        marker="s" if few else None,
        ms=3,
        label="of lines added",
    )
    bottom.set_ylabel("AI share")
    bottom.set_ylim(0, 1)
    time_axis(bottom, starts[0], ends[-1])
    bottom.tick_params(axis="x", labelsize=8)
    if (ai > 0).any():
        first = t.index[(ai > 0).to_numpy()][0]
        _ai_era((top, bottom), first, ends[-1])
    for ax in (top, bottom):
        ax.spines[["top", "right"]].set_visible(False)
        handles, labels = ax.get_legend_handles_labels()
        order = sorted(range(len(labels)), key=lambda i: labels[i].startswith("AI era"))
        ax.legend(
            [handles[i] for i in order],
            [labels[i] for i in order],
            frameon=False,
            fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
        )
    return fig


def _when(period: pd.Period) -> str:
    """A period for people, at its own precision: ``2019``, ``Mar 2025``, ``10 Jan 2026``."""
    start = period.start_time
    days = (period.end_time - start) / pd.Timedelta(days=1)
    return (
        f"{start:%Y}"
        if days > 300
        else f"{start:%b %Y}"
        if days > 27
        else (f"{start.day} {start:%b %Y}")
    )


def _ai_era(axes, first: pd.Period, end: pd.Timestamp) -> None:
    """Shade from the start of *first* to *end* on every axis (gid ``ai-era`` on the top
    one) and label it above the top one."""
    start, when = first.start_time.to_pydatetime(), _when(first)
    for i, ax in enumerate(axes):
        span = ax.axvspan(
            start,
            end.to_pydatetime(),
            color=ERA,
            zorder=0,
            lw=0,
            label=f"AI era (from {when})" if i == 0 else None,
        )
        span.set_gid("ai-era" if i == 0 else f"ai-era-{i}")
        ax.axvline(start, color=PURPLE, lw=0.8, ls=":", zorder=1)
    top = axes[0]
    lo, hi = top.get_xlim()
    at = (mdates.date2num(start) - lo) / (hi - lo)
    right = at > 0.6  # near the right edge: the label ends at the era's start, pointing in
    top.annotate(
        f"AI era from {when} \u2192" if right else f"AI era from {when}",
        xy=(at, 1.0),
        xycoords="axes fraction",
        xytext=(-2 if right else 2, 2),
        textcoords="offset points",
        ha="right" if right else "left",
        va="bottom",
        fontsize=8,
        color=PURPLE,
        gid="ai-era-label",
    )


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
    if ax.get_xscale() == "log":
        _log_labels(ax)
    return svg(fig)


def _log_labels(ax) -> None:
    """Minor labels on a log axis only where they have room: all of them within a decade,
    2 and 5 up to three decades, none beyond (the ticks stay)."""
    lo, hi = sorted(ax.get_xlim())
    decades = math.log10(hi / lo) if lo > 0 else math.inf
    if decades > 1:
        subs = (2.0, 5.0) if decades <= 3 else ()
        ax.xaxis.set_minor_locator(LogLocator(subs=subs or "auto"))
        if not subs:
            ax.xaxis.set_minor_formatter(NullFormatter())


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
    """Effects by period since adoption (relative time, so no calendar axis); the legend
    sits beside the plot, off the error bars."""
    fig, ax = plt.subplots(figsize=(7, 3))
    result.plot(ax=ax)
    ax.set_title(result.outcome, fontsize=9)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return svg(fig)
