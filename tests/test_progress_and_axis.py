"""Progress bars on big histories (replay, fits) and a readable time axis over any span."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime, timedelta

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest

import aiimpact as ai
from aiimpact.cli import main
from aiimpact.outcomes.lines import line_history
from aiimpact.report import figures
from aiimpact.report.study import share_by_period
from aiimpact.synth import RepoBuilder

CLAUDE = "\n\nCo-Authored-By: Claude <noreply@anthropic.com>"
BAR = "replaying history"


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """2,050 commits: above the 2,000 that show a bar by default."""
    path = tmp_path_factory.mktemp("big") / "repo"
    with RepoBuilder(path, step=timedelta(minutes=5)) as b:
        for k in range(2050):
            name = f"f{k % 40}.txt"
            b.commit(f"change {k}", {name: "".join(f"line {k} {j}\n" for j in range(3))})
    return path


@pytest.fixture
def small(build):
    b = build("small")
    for k in range(12):
        b.commit(f"change {k}", {"a.txt": f"{k}\n"})
    b.close()
    return b.path


def test_the_replay_shows_a_bar_on_stderr_above_the_threshold(big, capsys):
    history = ai.Repo(big).lines()
    out, err = capsys.readouterr()
    assert len(history.commits) == 2050
    assert BAR in err and "2050/2050" in err and "commit" in err
    assert BAR not in out


def test_no_replay_bar_below_the_threshold_unless_asked(small, capsys):
    ai.Repo(small).lines()
    assert BAR not in capsys.readouterr().err
    ai.Repo(small, progress=True, cache_dir=small.parent / "other-cache").lines()
    err = capsys.readouterr().err
    assert BAR in err and "12/12" in err


def test_progress_false_shows_no_bar_on_a_big_history(big, capsys):
    ai.Repo(big, progress=False).lines()
    assert capsys.readouterr().err == ""
    line_history(str(big / ".git"), "HEAD")  # the function alone is quiet by default
    assert capsys.readouterr().err == ""
    line_history(str(big / ".git"), "HEAD", progress=None)
    assert BAR in capsys.readouterr().err


def test_json_mode_keeps_stdout_clean_and_bars_off(big, capsys):
    assert main(["reverts", str(big), "--json"]) == 0
    out, err = capsys.readouterr()
    json.loads(out)
    assert BAR not in err and "mining" not in err
    # without --json the bar is on stderr only (another revert window: the first call's
    # line history is stored, so the same one would not be replayed)
    assert main(["reverts", str(big), "--window", "7D"]) == 0
    out, err = capsys.readouterr()
    assert BAR in err and BAR not in out


def test_fits_show_a_bar_when_many_or_asked(capsys):
    rng = np.random.default_rng(3)
    n = 400
    t = pd.DataFrame({"ai_assisted": rng.random(n) < 0.4, "log_size": rng.normal(size=n)})
    names = [f"y{i}" for i in range(7)]
    for i, name in enumerate(names):
        t[name] = rng.normal(size=n) + 0.1 * i * t["ai_assisted"]
    models = dict.fromkeys(names, "ols")
    many = ai.compare_many(t, models, controls=["log_size"])
    assert len(many.results) == 7
    err = capsys.readouterr().err
    assert "fitting models" in err and "7/7" in err
    ai.compare_many(t, dict(list(models.items())[:2]))
    assert "fitting models" not in capsys.readouterr().err
    ai.compare_many(t, dict(list(models.items())[:2]), progress=True)
    assert "2/2" in capsys.readouterr().err
    ai.compare_many(t, models, progress=False)
    assert capsys.readouterr().err == ""


# -- the time axis ----------------------------------------------------------------------------
def _history(path, start: datetime, step: timedelta, n: int, ai_from: datetime):
    """A real repository: *n* commits every *step* from *start*; AI marks from *ai_from*."""
    with RepoBuilder(path) as b:
        for k in range(n):
            when = start + step * k
            mark = CLAUDE if when >= ai_from and k % 2 else ""
            b.commit(f"change {k}{mark}", {f"f{k % 5}.txt": f"{k}\n" * (1 + k % 7)}, date=when)
    return ai.Repo(path, progress=False).commits()


def _labels(fig):
    """The x tick labels in view on the lower axis, and whether any two overlap."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[1]
    lo, hi = ax.get_xlim()
    shown = [t for t in ax.get_xticklabels() if t.get_text() and lo <= t.get_position()[0] <= hi]
    boxes = [t.get_window_extent(renderer) for t in shown]
    overlap = any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    return [t.get_text() for t in shown], overlap


def _era_start(fig) -> float:
    (span,) = [p for p in fig.axes[0].patches if p.get_gid() == "ai-era"]
    return span.get_x()  # a Rectangle in data x, axes y


def test_a_14_year_axis_is_yearly_with_at_most_12_labels_and_the_ai_era_shaded(tmp_path):
    first_ai = datetime(2025, 3, 1, tzinfo=UTC)
    commits = _history(
        tmp_path / "z3-like", datetime(2012, 3, 26, tzinfo=UTC), timedelta(days=20), 255, first_ai
    )
    assert commits["commit_time"].min().year == 2012 and commits["commit_time"].max().year == 2026
    ai_times = commits.loc[commits["ai_assisted"].astype(bool), "commit_time"]
    assert ai_times.min() >= first_ai
    monthly = share_by_period(commits)
    assert len(monthly) > 150 and monthly.index.freqstr == "M"  # a bar per month
    fig = figures.share_over_time_figure(monthly)
    labels, overlap = _labels(fig)
    assert 4 <= len(labels) <= 12 and not overlap
    assert all(re.fullmatch(r"\d{4}", s) for s in labels), labels
    years = [int(s) for s in labels]
    assert len({b - a for a, b in itertools.pairwise(years)}) == 1  # evenly spaced
    month = ai_times.min().tz_convert(None).to_period("M").start_time
    assert _era_start(fig) == pytest.approx(mdates.date2num(month.to_pydatetime()))
    svg = figures.svg(fig)
    assert 'id="ai-era"' in svg and 'id="ai-era-label"' in svg
    assert f"AI era from {month:%b %Y}" in svg  # matplotlib keeps the text as a comment


def test_a_two_month_axis_gets_week_ticks(tmp_path):
    start = datetime(2025, 12, 1, 9, tzinfo=UTC)
    commits = _history(
        tmp_path / "short", start, timedelta(hours=20), 72, datetime(2026, 1, 10, tzinfo=UTC)
    )
    weekly = share_by_period(commits)  # two months: a bar per week, not two bars
    assert weekly.index.freqstr == "W-SUN" and 8 <= len(weekly) <= 10
    assert weekly["commits"].sum() == len(commits)
    fig = figures.share_over_time_figure(weekly)
    labels, overlap = _labels(fig)
    assert 5 <= len(labels) <= 12 and not overlap
    assert all(re.match(r"\d{1,2} (Dec|Jan|Feb)", s) for s in labels), labels
    assert labels[0].endswith("2025") and any(s.endswith("2026") for s in labels)
    # the AI era starts with the week of the first AI commit (Saturday 10 Jan: Monday 5th)
    assert _era_start(fig) == pytest.approx(mdates.date2num(datetime(2026, 1, 5)))
    assert "AI era from 5 Jan 2026" in figures.svg(fig)


@pytest.mark.parametrize(
    ("start", "end", "unit", "most"),
    [
        ("2026-01-01", "2026-01-09", "day", 12),
        ("2025-12-01", "2026-02-01", "week", 12),
        ("2025-08-01", "2026-01-01", "month", 6),
        ("2023-03-01", "2026-02-01", "month", 12),
        ("2012-03-01", "2026-03-01", "year", 8),
        ("1986-01-01", "2026-01-01", "year", 9),
    ],
)
def test_ticks_follow_the_span_within_the_label_budget(start, end, unit, most):
    assert figures.time_ticks(start, end)[0] == unit
    idx = pd.period_range(start, end, freq="D" if unit == "day" else "M")[:-1]
    frame = pd.DataFrame(
        {"commits": 5, "ai_commits": 0, "ai_share": 0.0, "ai_line_share": 0.0}, index=idx
    )
    labels, overlap = _labels(figures.share_over_time_figure(frame))
    assert 2 <= len(labels) <= most and not overlap, labels
