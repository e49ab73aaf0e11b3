"""Degenerate inputs: nothing to compare, columns that are missing, empty, infinite or text.

Each case gets a one-line InputError naming the column and the problem, or (for the report)
a page that says plainly what cannot be compared and still describes the rest. The
repositories are real (built with git fast-import, mined by aiimpact); the fits are real.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

import aiimpact as ai
from aiimpact.cli import main
from aiimpact.errors import InputError
from aiimpact.report.study import build_report
from aiimpact.stats import StatsWarning, compare, compare_many

CLAUDE = "Co-Authored-By: Claude Sonnet 4.5 <noreply@anthropic.com>"
SECTIONS = [
    "summary",
    "ai-share",
    "tools",
    "outcomes",
    "models",
    "sensitivity",
    "adoption",
    "caveats",
]


def _history(build, name: str, marked) -> ai.Repo:
    """40 commits by 3 authors over 80 days, commit *i* AI-marked when ``marked(i)``."""
    b = build(name, start=datetime(2025, 1, 1, tzinfo=UTC), step=timedelta(days=2))
    for i in range(40):
        msg = f"change {i}" + (f"\n\n{CLAUDE}" if marked(i) else "")
        b.commit(msg, {f"f{i % 4}.txt": "line\n" * (i + 1)}, author=f"Dev{i % 3} <d{i % 3}@x.org>")
    b.close()
    return b.path


@pytest.fixture(scope="module")
def mined(tmp_path_factory) -> tuple[ai.synth.PlantedRepo, pd.DataFrame]:
    """A planted repository (with its PRs) and its mined outcomes."""
    root = tmp_path_factory.mktemp("planted")
    repo = ai.synth.make_repo(root / "r", n_commits=200, seed=3)
    return repo, ai.Repo(repo.path, cache_dir=root / "c", progress=False).outcomes()


@pytest.fixture(scope="module")
def planted(mined) -> pd.DataFrame:
    """Feature commits of the planted repository: both groups, real outcomes."""
    repo, out = mined
    return repo.features(out)


def _report(path, tmp_path, *options: str) -> tuple[int, str]:
    out = tmp_path / "report.html"
    code = main(["report", str(path), "-o", str(out), "--cache-dir", str(tmp_path / "c"), *options])
    return code, out.read_text() if code == 0 else ""


# -- no AI-marked commits, or nothing else ---------------------------------------------------
def test_report_without_ai_marks_says_there_is_nothing_to_compare(build, tmp_path, capsys):
    code, text = _report(_history(build, "plain", lambda i: False), tmp_path)
    assert code == 0, capsys.readouterr().err
    for section in SECTIONS:
        assert f'<section id="{section}">' in text, section
    assert "No AI-assisted commits found: none of the 40 commits carries an AI mark" in text
    assert "not evidence of human authorship" in text
    assert "No outcome could be modelled" not in text and "0 outcomes were tested" not in text
    assert text.count("<svg") >= 1, "the AI share over time is still drawn"
    # raw outcomes of the one group there is
    assert "<td>time_to_revert</td>\n      <td>other</td>\n      <td>40</td>" in text
    # every outcome tried is listed, with why it is not estimated
    assert "<td>reverted_within_90d</td>" in text and "No AI-assisted commits found</td>" in text
    assert "AI-assisted</td>" not in text
    assert "No AI-assisted commits found" in capsys.readouterr().err


def test_the_terminal_says_the_merges_are_left_out(build, tmp_path, capsys):
    """The line after a report counts every commit, and says that the merges among them are
    left out, so that the next line's count of commits compared adds up."""
    b = build("merges", start=datetime(2025, 1, 1, tzinfo=UTC), step=timedelta(days=2))
    for i in range(6):
        b.commit(f"change {i}", {f"f{i % 2}.txt": "line\n" * (i + 1)})
    b.branch("topic")
    b.commit("topic work", {"t.txt": "topic\n"}, branch="topic")
    b.commit("main work", {"m.txt": "main\n"})
    b.commit("Merge topic", merge=["topic"])
    b.close()
    code, _ = _report(b.path, tmp_path)
    err = capsys.readouterr().err
    assert code == 0, err
    assert "9 commits (1 merge, left out of the comparisons); wrote" in err
    assert "none of the 8 commits carries an AI mark" in err


def test_report_with_every_commit_marked_has_no_control_group(build, tmp_path, capsys):
    code, text = _report(_history(build, "agentic", lambda i: True), tmp_path)
    assert code == 0, capsys.readouterr().err
    for section in SECTIONS:
        assert f'<section id="{section}">' in text, section
    assert "Every one of the 40 commits carries an AI mark: there are no unmarked commits" in text
    assert "<td>time_to_revert</td>\n      <td>AI-assisted</td>\n      <td>40</td>" in text
    assert "<td>claude-code</td>" in text
    assert "No outcome could be modelled" not in text


def test_report_on_pull_requests_without_ai_marks(mined):
    repo, out = mined
    text = build_report(out, "prs", prs=repo.prs.assign(ai_assisted=False))
    section = text[text.index('<section id="pull-requests">') :]
    assert "No AI-assisted pull requests found: none of the 200 pull requests" in section
    assert "<td>merged</td>\n      <td>other</td>\n      <td>200</td>" in section
    assert "No outcome could be modelled" not in section
    assert "<td>hazard ratio</td>" in text, "the commits, with both groups, are still compared"


def test_panel_and_did_without_a_treated_unit(build, tmp_path):
    path = _history(build, "plain", lambda i: False)
    out = ai.Repo(path, cache_dir=tmp_path / "c", progress=False).outcomes()
    with pytest.warns(StatsWarning, match="no unit has a period with at least 1 'ai_assisted'"):
        p = ai.panel(out, unit="author_email")
    assert len(p) == 9 and p["commits"].sum() == 40  # 3 authors x 3 months, described
    assert p["first_treated"].isna().all() and not p["treated"].any()
    with pytest.raises(InputError, match=r"no unit is ever treated.*no adoption effect"):
        ai.did(p, "commits")


def test_panel_and_did_with_every_change_treated(build, tmp_path):
    path = _history(build, "agentic", lambda i: True)
    out = ai.Repo(path, cache_dir=tmp_path / "c", progress=False).outcomes()
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatsWarning)
        p = ai.panel(out, unit="author_email")
    assert (p["first_treated"] == p.groupby("unit")["period"].transform("min")).all()
    with pytest.raises(InputError, match=r"every cell is treated.*every change was AI-assisted"):
        ai.did(p, "commits")


# -- unknown options: refused before anything is fitted --------------------------------------
def test_report_refuses_unknown_control_or_cluster(build, tmp_path, capsys):
    path = _history(build, "mixed", lambda i: i % 3 == 0)
    code, _ = _report(path, tmp_path, "--controls", "log_size,nope")
    err = capsys.readouterr().err
    assert code == 2 and "control 'nope' is not a column" in err
    assert "columns: repo, sha, " in err and "author_email" in err
    code, _ = _report(path, tmp_path, "--cluster", "team")
    err = capsys.readouterr().err
    assert code == 2 and "cluster column 'team' is not in the table; columns: repo, sha" in err
    assert not (tmp_path / "report.html").exists()
    code, text = _report(path, tmp_path, "--controls", "log_size,month")
    assert code == 0 and "0 treated and 0 others" not in text
    # nothing was ever reverted here: said in those words, not as empty groups
    assert "<td>reverted_within_90d</td>" in text  # tried, and listed with its reason
    assert "time_to_revert': no row had the event (all 40 are censored)" in text


def test_compare_refuses_unknown_columns_listing_the_others(planted):
    cols = "columns: repo, sha, parents"
    with pytest.raises(InputError, match=f"outcome column 'nope' is not in the table; {cols}"):
        compare(planted, "nope")
    with pytest.raises(InputError, match=f"treatment column 'used_ai' is not in the table; {cols}"):
        compare(planted, "reverted", treatment="used_ai")
    with pytest.raises(InputError, match=f"cluster column 'team' is not in the table; {cols}"):
        compare(planted, "reverted", cluster="team")
    with pytest.raises(InputError, match=f"control 'team' is not a column.*; {cols}"):
        compare(planted, "reverted", controls=["log_size", "team"])
    # a shared option concerns every outcome: refused at once, not recorded per outcome
    with pytest.raises(InputError, match="control 'team'"):
        compare_many(planted, ["reverted", "fix_inducing"], controls=["team"])
    with pytest.raises(InputError, match="cluster column 'team'"):
        compare_many(planted, ["reverted", "fix_inducing"], cluster="team")
    many = compare_many(planted, ["reverted", "gone"], controls=["log_size"])
    assert "gone" in many.failed and [r.outcome for r in many.results] == ["reverted"]


# -- values no model can take ----------------------------------------------------------------
def test_all_missing_columns_are_named(planted):
    with pytest.raises(InputError, match="control 'size' is missing in every row"):
        compare(planted.assign(size=np.nan), "reverted", controls=["size"])
    with pytest.raises(InputError, match="cluster 'team' is missing in every row"):
        compare(planted.assign(team=pd.NA), "reverted", cluster="team")
    half = planted.assign(
        size=np.where(planted.index % 2, 1.0, np.nan),
        other=np.where(planted.index % 2, np.nan, 1.0),
    )
    with pytest.raises(InputError, match=r"no row has all of .*control 'size', control 'other'"):
        compare(half, "reverted", controls=["size", "other"])


def test_rows_left_out_are_counted_by_column(planted):
    holes = planted.assign(size=planted["insertions"].astype(float))
    holes.loc[:9, "size"] = np.nan
    holes["reverted"] = holes["reverted"].astype("boolean")
    holes.loc[5:14, "reverted"] = pd.NA
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatsWarning)
        r = compare(holes, "reverted", controls=["size"])
    assert r.dropped == 15 and sum(r.n.values()) == len(planted) - 15
    assert (
        "15 rows with missing values were left out (10 without outcome 'reverted', "
        "10 without control 'size')"
    ) in r.notes


def test_infinite_values_are_refused_by_name(planted):
    inf = planted.assign(size=planted["insertions"].astype(float))
    inf.loc[:2, "size"] = np.inf
    with pytest.raises(InputError, match=r"control 'size' has 3 infinite values \(inf or -inf\)"):
        compare(inf, "reverted", controls=["size"])
    ratio = planted.assign(per_file=planted["insertions"] / (planted.index % 5))  # x/0 = inf
    n_inf = int(np.isinf(ratio["per_file"]).sum())
    with pytest.raises(InputError, match=f"outcome 'per_file' has {n_inf} infinite values"):
        compare(ratio, "per_file")


def test_text_outcomes_are_refused_by_name(planted):
    text = planted.assign(level=np.where(planted["reverted"], "bad", "good"))
    with pytest.raises(
        InputError,
        match=r"outcome 'level' is text \(e.g. '(bad|good)'\), not "
        "numeric or boolean",
    ):
        compare(text, "level")
    with pytest.raises(InputError, match="outcome 'level' is text"):
        compare(text, "level", model="ols")
    stamps = planted.assign(when=planted["commit_time"])
    with pytest.raises(InputError, match="outcome 'when' is datetime64 values"):
        compare(stamps, "when")
    # booleans stored as Python objects are fine
    objects = planted.assign(flag=planted["reverted"].astype(object))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatsWarning)
        assert compare(objects, "flag").kind == "logit"


def test_did_names_bad_columns_and_counts_left_out_rows(planted):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatsWarning)
        p = ai.panel(planted, unit="author_email", freq="D")
    with pytest.raises(InputError, match="outcome 'label' is text"):
        ai.did(p.assign(label="x"), "label")
    with pytest.raises(InputError, match="control 'busy' is missing in every row"):
        ai.did(p.assign(busy=np.nan), "commits", controls=["busy"])
    with pytest.raises(InputError, match="outcome 'lines' has 1 infinite values"):
        ai.did(p.assign(lines=p["lines"].astype(float).where(p.index > 0, np.inf)), "lines")
    quiet = int(p["reverted"].isna().sum())  # days without commits have no revert rate
    assert quiet > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = ai.did(p, "reverted")
    assert (
        f"{quiet} rows with missing values were left out ({quiet} without outcome "
        "'reverted')" in r.notes
    )


def test_wilson_bounds_are_exact_with_no_events_or_all_events():
    from aiimpact.stats.compare import raw_groups

    table = pd.DataFrame(
        {"ai_assisted": [True] * 152 + [False] * 40, "reverted": [False] * 152 + [True] * 40}
    )
    g = raw_groups(table, "reverted", model="logit").set_index("group")
    assert g.loc["treated", "low"] == 0.0 and 0.02 < g.loc["treated", "high"] < 0.03
    assert g.loc["control", "high"] == 1.0 and g.loc["control", "low"] < 1.0
