"""Adoption cohorts (DX's usage levels over author-months) and the dose-response view."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import aiimpact as ai
from aiimpact.stats.cohorts import LEVELS

MAY, JUNE = pd.Timestamp("2025-05-10T12:00Z"), pd.Timestamp("2025-06-10T12:00Z")


def _commits(spec):
    """Rows from ``(author, month, ai_assisted flags)``."""
    rows = [
        {"author_email": who, "commit_time": when + pd.Timedelta(hours=i), "ai_assisted": flag}
        for who, when, flags in spec
        for i, flag in enumerate(flags)
    ]
    return pd.DataFrame(rows)


def test_levels_cut_the_author_month_shares_at_their_quartiles():
    # author-month shares 0.25, 0.5, 0.75 and 1 (nonzero) and two of 0; quartiles of the
    # nonzero ones (linear): 0.4375, 0.625, 0.8125
    spec = [
        ("a@x", MAY, [True, False, False, False]),  # 0.25: minimal
        ("a@x", JUNE, [True, True, False, False]),  # 0.5: light
        ("b@x", MAY, [True, True, True, False]),  # 0.75: moderate
        ("b@x", JUNE, [True, True]),  # 1.0: heavy
        ("c@x", MAY, [False, False, False]),  # 0: none
        ("c@x", JUNE, [False]),  # 0: none
    ]
    t = ai.adoption_cohorts(_commits(spec))
    assert t.attrs["adoption_cut_points"] == pytest.approx((0.4375, 0.625, 0.8125))
    expected = ["minimal"] * 4 + ["light"] * 4 + ["moderate"] * 4 + ["heavy"] * 2 + ["none"] * 4
    assert list(t.adoption) == expected
    assert list(t.adoption.cat.categories) == list(LEVELS) and t.adoption.cat.ordered
    assert t.author_month_ai_share.iloc[4] == 0.5
    with pytest.raises(ai.InputError, match="ai_assisted"):
        ai.adoption_cohorts(_commits(spec).drop(columns="ai_assisted"))


def test_dose_response_rises_with_the_share_of_ai_commits():
    """Reverts planted per AI commit (odds ratio 3) for 30 authors whose AI propensity runs
    from 0 to 0.9: a month with more AI commits reverts more, so the levels' odds ratios
    against none rise with the level."""
    rng = np.random.default_rng(3)
    rows = []
    for a in range(30):
        for m in range(10):
            ai_ = rng.random(20) < (a % 10) / 10
            logit = -2.5 + np.log(3) * ai_
            for i, (flag, lp) in enumerate(zip(ai_, logit, strict=True)):
                when = pd.Timestamp("2025-01-01T00:00Z") + pd.DateOffset(months=m, hours=i)
                revert = rng.random() < 1 / (1 + np.exp(-lp))
                rows.append((f"dev{a}@x.org", when, bool(flag), bool(revert)))
    table = pd.DataFrame(rows, columns=["author_email", "commit_time", "ai_assisted", "reverted"])
    dose = ai.dose_response(table, "reverted")
    assert list(dose.level) == list(LEVELS) and dose.commits.sum() == len(table)
    none, levels = dose.iloc[0], dose.iloc[1:].set_index("level")
    assert none.author_months >= 30 and pd.isna(none.estimate)  # propensity 0: never AI
    assert (levels.scale == "odds ratio").all() and levels.test.str.contains("Wald").all()
    assert (levels.ci_low <= levels.estimate).all() and (levels.estimate <= levels.ci_high).all()
    assert levels.estimate.is_monotonic_increasing  # 1.38, 1.58, 1.82, 2.65 on this seed
    assert levels.loc["heavy", "ci_low"] > 1  # heavy months revert more than months without AI


def test_a_level_too_small_to_compare_says_why():
    spec = [("a@x", MAY, [True]), ("b@x", MAY, [False] * 30), ("c@x", JUNE, [False] * 30)]
    t = _commits(spec)
    t["reverted"] = [True] + [False, True] * 30
    with pytest.warns(ai.stats.StatsWarning, match="are empty"):  # one share: all cuts tie
        dose = ai.dose_response(t, "reverted", cluster=None).set_index("level")
    assert dose.loc["heavy", "commits"] == 1 and pd.isna(dose.loc["heavy", "estimate"])
    assert "'at_heavy' needs at least 2 rows in each group" in dose.loc["heavy", "note"]


def test_tied_cut_points_leave_a_level_empty_and_say_so():
    # agents' own accounts: most author-months with AI are all AI (share 1)
    spec = [("bot@x", m, [True] * 3) for m in (MAY, JUNE)] + [
        ("b@x", MAY, [True, False]),
        ("c@x", MAY, [True, True]),
        ("d@x", JUNE, [False]),
    ]
    with pytest.warns(ai.stats.StatsWarning, match="level.s. moderate are empty"):
        t = ai.adoption_cohorts(_commits(spec))
    assert t.attrs["adoption_cut_points"] == (0.875, 1.0, 1.0)
    assert (t.adoption == "moderate").sum() == 0 and (t.adoption == "heavy").sum() == 8
