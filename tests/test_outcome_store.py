"""The outcome store: stored line histories and outcome tables equal recomputed ones, new
commits extend a stored history, and a killed run leaves no half-written result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import UTC, datetime, timedelta

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from conftest import git

import aiimpact as ai
from aiimpact import outcome_store
from aiimpact.errors import CacheRebuiltWarning
from aiimpact.git.patches import ACTIVE_DAYS, child_counts, pending_forks
from aiimpact.outcome_store import load_history
from aiimpact.synth.planted import make_repo
from aiimpact.synth.realistic import make_realistic_repo


def _tidy(h):
    """A line history by commit sha (ids and replay order left out), for comparison."""
    sha = h.commits.__getitem__
    return {
        "commits": sorted(zip(h.commits, h.time, h.added, strict=True)),
        "lines": sorted((sha(h.born[i]), h.died[i]) for i in range(len(h.born))),
        "alive": {sha(c): n for c, n in h.alive_at_tip.items() if n},
        "deleted": {
            (sha(c), sha(o)): (n, h.deleted_where[c].get(o))
            for c, by in h.deleted_from.items()
            for o, n in by.items()
        },
        "context": {
            (sha(c), sha(o)): (n, h.context_where[c].get(o))
            for c, by in h.context_of.items()
            for o, n in by.items()
        },
        "content": sorted((sha(r), sha(c)) for r, c in h.content_reverts),
        "partial": sorted((sha(r), sha(c), f) for r, c, f in h.partial_reverts),
    }


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    path = tmp_path_factory.mktemp("planted") / "repo"
    make_repo(path, n_commits=150, seed=4)
    return path


def test_a_second_process_reads_the_stored_outcomes_table(planted, tmp_path):
    first = ai.Repo(planted, cache_dir=tmp_path, progress=False)
    computed, report = first.outcomes(), first.last_report
    assert report.line_history.startswith("replayed all ")
    again = ai.Repo(planted, cache_dir=tmp_path, progress=False)  # a new Repo: nothing in memory
    stored = again.outcomes()
    assert again.last_report.line_history == "outcomes table read from the outcome store"
    pd.testing.assert_frame_equal(stored, computed)
    assert computed["reverted"].any() and computed["fix_inducing"].any()  # a real table
    for field in ("reachable", "notes", "unfollowed_files", "ghost_fixes", "unresolved_reverts"):
        assert getattr(again.last_report, field) == getattr(report, field), field
    pd.testing.assert_frame_equal(again.last_report.coverage, report.coverage)


def test_a_stored_line_history_equals_its_replay(planted, tmp_path):
    replayed = ai.Repo(planted, cache_dir=tmp_path, progress=False).lines()
    again = ai.Repo(planted, cache_dir=tmp_path, progress=False)
    stored = again.lines()
    assert again.last_report.line_history == "read from the outcome store"
    assert stored is not replayed and _tidy(stored) == _tidy(replayed)
    assert stored.commits == replayed.commits and stored.tip == replayed.tip
    assert stored.tip_state == replayed.tip_state and stored.tip_text == replayed.tip_text
    assert stored.kept == replayed.kept and len(stored.kept) >= outcome_store.KEPT_STATES - 1


def test_line_rows_round_trip_across_chunks_and_empty_files(build, tmp_path, monkeypatch):
    """born/died and the tip's line lists are stored as rows a chunk at a time: with a
    chunk of 3 lines, a file's lines span chunks; a file emptied, filled and emptied again
    comes back as it was at the tip and in each kept state."""
    monkeypatch.setattr(outcome_store, "_CHUNK", 3)
    b = build("chunks")
    b.commit("Add a", {"a.txt": "".join(f"a{i}\n" for i in range(8)), "e.txt": "x\n"})
    b.commit("Empty e", {"e.txt": ""})
    b.commit("Edit a", {"a.txt": "".join(f"a{i}\n" for i in range(0, 8, 2)), "b.txt": "b\n"})
    b.commit("Fill e again", {"e.txt": "y\nz\n"})
    b.commit("Empty e again", {"e.txt": ""})
    b.close()
    replayed = ai.Repo(b.path, cache_dir=tmp_path, progress=False).lines()
    assert len(replayed.born) == 12 and "e.txt" not in replayed.tip_state
    again = ai.Repo(b.path, cache_dir=tmp_path, progress=False)
    stored = again.lines()
    assert again.last_report.line_history == "read from the outcome store"
    assert stored.born == replayed.born and stored.died == replayed.died
    assert stored.tip_state == replayed.tip_state and stored.tip_text == replayed.tip_text
    assert stored.kept == replayed.kept and len(stored.kept) == 4
    assert _tidy(stored) == _tidy(replayed)


def test_a_stored_history_missing_line_rows_is_replayed_not_trusted(planted, tmp_path):
    repo = ai.Repo(planted, cache_dir=tmp_path, progress=False)
    replayed = repo.lines()
    with duckdb.connect(str(repo.outcome_store)) as con:
        con.execute("DELETE FROM h_lines WHERE born = 0")  # the first commit's lines
    again = ai.Repo(planted, cache_dir=tmp_path, progress=False)
    with pytest.warns(CacheRebuiltWarning, match="holds .* of its .* lines"):
        history = again.lines()
    assert again.last_report.line_history.startswith("replayed all ")
    assert history.born == replayed.born and _tidy(history) == _tidy(replayed)


def test_another_revert_window_is_another_history(planted, tmp_path):
    repo = ai.Repo(planted, cache_dir=tmp_path, progress=False)
    repo.lines()
    repo2 = ai.Repo(planted, cache_dir=tmp_path, progress=False)
    repo2.lines(revert_window="1D")
    assert repo2.last_report.line_history.startswith("replayed all ")
    with duckdb.connect(str(repo.outcome_store)) as con:
        windows = con.execute("SELECT revert_window FROM histories ORDER BY 1").fetchall()
    assert windows == [(86400,), (30 * 86400,)]


@pytest.fixture(scope="module")
def branchy(tmp_path_factory):
    path = tmp_path_factory.mktemp("branchy") / "repo"
    made = make_realistic_repo(path, n_commits=400, seed=11)
    assert made["merges"] > 5
    return path


def test_children_counted_from_the_commits_table_are_those_git_lists(branchy, tmp_path):
    """A full replay counts each commit's children from the mined parents (Arrow), not
    from a ``git rev-list --parents`` of its own: the counts must be git's, merges and the
    root included, on the tip and on an older commit."""
    repo = ai.Repo(branchy, cache_dir=tmp_path, progress=False)
    report = repo.last_report
    for rev in ("HEAD", git(branchy, "rev-list", "--first-parent", "HEAD").split()[50]):
        children, total = outcome_store.child_counts(repo._miner().parents(rev, report))
        assert (children, total) == child_counts(str(repo.git_dir), rev)
        assert max(children.values()) > 1  # a fork point: two children
    none = pa.chunked_array([], pa.list_(pa.string()))
    assert outcome_store.child_counts(none) == (Counter(), 0)


@pytest.mark.parametrize("back", [1, 4, 12, 40])
def test_new_commits_extend_a_stored_history_as_a_full_replay_would(branchy, tmp_path, back):
    """From a first-parent ancestor *back* steps behind HEAD: the update equals a full
    replay, whether it extends the stored history or has to replay all (and says why)."""
    base = git(branchy, "rev-list", "--first-parent", "HEAD").split()[back]
    stored = ai.Repo(branchy, cache_dir=tmp_path / "a", progress=False)
    stored.outcomes(base)
    updated = ai.Repo(branchy, cache_dir=tmp_path / "a", progress=False)
    after = updated.outcomes()
    how = updated.last_report.line_history
    fresh = ai.Repo(branchy, cache_dir=tmp_path / "b", progress=False)
    pd.testing.assert_frame_equal(after, fresh.outcomes())
    assert _tidy(updated.lines()) == _tidy(fresh.lines())
    reread = ai.Repo(branchy, cache_dir=tmp_path / "a", progress=False)
    stored_lines = reread.lines()  # as the update stored it (in full or as an extension)
    assert reread.last_report.line_history == "read from the outcome store"
    assert _tidy(stored_lines) == _tidy(fresh.lines())
    assert stored_lines.tip_state == updated.lines().tip_state
    assert stored_lines.kept == updated.lines().kept
    new = int(git(branchy, "rev-list", "--count", f"{base}..HEAD"))
    forks = git(branchy, "rev-list", "--parents", f"{base}..HEAD").split("\n")
    inside = {line.split()[0] for line in forks if line}
    outside = {p for line in forks if line for p in line.split()[1:]} - inside - {base}
    if not outside:
        assert how == f"extended from {base[:12]} by {new} commit(s)"
    elif how.startswith("extended"):
        assert how.endswith(
            f"by {new} commit(s), {len(outside)} of them branching from older commits"
        )
    else:
        assert how.startswith(f"replayed all {len(stored.commits('HEAD'))} commit(s)")
        assert "need older line states" in how


def _topic_after_stored_tip(build, tmp_path, topic_file: str):
    """main: a, b; stored at b; then a topic forked at a (before the stored tip) changes
    *topic_file* and is merged. Returns the repository's path and the update's report."""
    b = build()
    fork = b.commit("Add files", {"a.py": "version one of a\n" * 5, "b.py": "b\n", "c.py": "c\n"})
    b.commit("Change b on main", {"b.py": "b was changed on main\n"})
    b.close()
    ai.Repo(b.path, cache_dir=tmp_path / "s", progress=False).outcomes()
    b2 = build()
    b2.branch("topic", at=fork)
    content = "the topic rewrote this file entirely\n"
    b2.commit("Topic change", {topic_file: content}, branch="topic")
    b2.commit("Main again", {"a.py": "version one of a\n" * 4})
    b2.commit("Merge topic", merge=["topic"], files={topic_file: content})
    b2.close()
    later = ai.Repo(b.path, cache_dir=tmp_path / "s", progress=False)
    table, how = later.outcomes(), later.last_report.line_history
    fresh = ai.Repo(b.path, cache_dir=tmp_path / "f", progress=False)
    pd.testing.assert_frame_equal(table, fresh.outcomes())
    assert _tidy(later.lines()) == _tidy(fresh.lines())
    return how


def test_a_topic_branching_from_a_kept_state_extends_the_stored_history(build, tmp_path):
    how = _topic_after_stored_tip(build, tmp_path, "b.py")  # b.py changed since the fork
    assert how.endswith("by 3 commit(s), 1 of them branching from older commits")


def test_without_kept_states_a_topic_of_unchanged_files_still_extends_it(
    build, tmp_path, monkeypatch
):
    monkeypatch.setattr(outcome_store, "KEPT_STATES", 0)  # only the tip's state is stored
    how = _topic_after_stored_tip(build, tmp_path, "c.py")  # unchanged since the fork
    assert how.endswith("by 3 commit(s), 1 of them branching from older commits")


def test_without_kept_states_a_topic_of_changed_files_needs_a_full_replay(
    build, tmp_path, monkeypatch
):
    monkeypatch.setattr(outcome_store, "KEPT_STATES", 0)
    how = _topic_after_stored_tip(build, tmp_path, "b.py")  # main changed b.py after the fork
    assert how.startswith("replayed all 5 commit(s) (the commits after the stored tip ")
    assert "changes 'b.py', whose line state is not known" in how


def test_a_topic_on_another_branch_keeps_its_fork_for_the_update(build, tmp_path, monkeypatch):
    """A topic branch that already exists when the history is stored (an integration
    branch such as git's ``next``) forks before main changed b.py: its fork's state is kept
    (the boundary of the other branches), so merging it later extends the stored history
    even with no recent states kept; and the result equals a full replay."""
    monkeypatch.setattr(outcome_store, "KEPT_STATES", 0)
    b = build()
    fork = b.commit("Add files", {"a.py": "version one of a\n" * 5, "b.py": "b\n"})
    b.branch("topic", at=fork)
    content = "the topic rewrote this file entirely\n"
    b.commit("Topic change", {"b.py": content}, branch="topic")
    b.commit("Change b on main", {"b.py": "b was changed on main\n"})
    b.close()
    stored = ai.Repo(b.path, cache_dir=tmp_path / "s", progress=False)
    stored.outcomes("main")
    assert list(stored.lines("main").kept) == [fork]  # main's tip is the state itself
    b2 = build()
    b2.commit("Main again", {"a.py": "version one of a\n" * 4})
    b2.commit("Merge topic", merge=["topic"], files={"b.py": content})
    b2.close()
    later = ai.Repo(b.path, cache_dir=tmp_path / "s", progress=False)
    table = later.outcomes("main")
    assert later.last_report.line_history.endswith(
        "by 3 commit(s), 1 of them branching from older commits"
    )
    fresh = ai.Repo(b.path, cache_dir=tmp_path / "f", progress=False)
    pd.testing.assert_frame_equal(table, fresh.outcomes("main"))
    assert _tidy(later.lines("main")) == _tidy(fresh.lines("main"))


def test_only_the_forks_of_branches_active_in_the_last_half_year_are_kept(
    build, tmp_path, monkeypatch
):
    """Two topics fork from main's first commits; one was last changed 200 days before
    main's tip (abandoned: ACTIVE_DAYS is 180), the other 10 days before. Only the active
    one's fork point is kept for a later merge."""
    b = build()
    start = datetime(2025, 1, 6, tzinfo=UTC)
    old_fork = b.commit("Add files", {"a.py": "a\n", "b.py": "b\n"}, date=start)
    new_fork = b.commit("Change a", {"a.py": "a, changed\n"}, date=start + timedelta(days=1))
    b.branch("stale", at=old_fork)
    b.commit("Stale work", {"b.py": "stale\n"}, branch="stale", date=start + timedelta(days=30))
    b.branch("active", at=new_fork)
    b.commit("Active work", {"b.py": "active\n"}, branch="active", date=start + timedelta(days=220))
    b.commit("Change b", {"b.py": "b, changed\n"}, date=start + timedelta(days=230))
    b.close()
    assert ACTIVE_DAYS == 180
    assert pending_forks(str(b.git_dir), b.shas[-1], 10) == [new_fork]
    assert pending_forks(str(b.git_dir), b.shas[-1], 10, active_days=365) == [new_fork, old_fork]
    monkeypatch.setattr(outcome_store, "KEPT_STATES", 0)  # forks only
    repo = ai.Repo(b.path, cache_dir=tmp_path, progress=False)
    assert list(repo.lines("main").kept) == [new_fork]


_KILLER = """
import os, signal, sys
import aiimpact.outcome_store as store
real = store.stream_patches
def dying(*args, **kwargs):
    for n, patch in enumerate(real(*args, **kwargs)):
        if n == int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)  # as kill -9 in the middle of the replay
        yield patch
store.stream_patches = dying
import aiimpact as ai
from aiimpact.errors import CacheRebuiltWarning
from aiimpact.git.patches import ACTIVE_DAYS, pending_forks
ai.Repo(sys.argv[1], cache_dir=sys.argv[2], progress=False).outcomes()
"""


def test_a_run_killed_mid_replay_keeps_what_was_stored(branchy, tmp_path):
    base = git(branchy, "rev-list", "--first-parent", "HEAD").split()[30]
    ai.Repo(branchy, cache_dir=tmp_path, progress=False).outcomes(base)
    script = tmp_path / "killer.py"
    script.write_text(textwrap.dedent(_KILLER))
    run = subprocess.run(
        [sys.executable, str(script), str(branchy), str(tmp_path), "5"],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert run.returncode == -signal.SIGKILL, run.stderr.decode()[-2000:]
    repo = ai.Repo(branchy, cache_dir=tmp_path, progress=False)
    with duckdb.connect(str(repo.outcome_store)) as con:
        tips = [r[0] for r in con.execute("SELECT tip FROM histories").fetchall()]
        orphans = con.execute(
            "SELECT count(*) FROM h_commits WHERE key NOT IN (SELECT key FROM histories)"
        ).fetchone()
    assert tips == [repo.resolve(base)] and orphans == (0,)
    table = repo.outcomes()  # resumes: the killed run's work is simply done again
    fresh = ai.Repo(branchy, cache_dir=tmp_path / "fresh", progress=False).outcomes()
    pd.testing.assert_frame_equal(table, fresh)


_SAVE_KILLER = """
import os, signal, sys
import aiimpact.outcome_store as store
real = store._line_chunks
def dying(h, *args):
    yield from real(h, *args)
    os.kill(os.getpid(), signal.SIGKILL)  # kill -9 after the lines' data, before the mark
store._line_chunks = dying
import aiimpact as ai
ai.Repo(sys.argv[1], cache_dir=sys.argv[2], progress=False).outcomes()
"""


@pytest.mark.parametrize("extending", [False, True])
def test_a_save_killed_before_its_last_transaction_is_never_read(branchy, tmp_path, extending):
    """The line history is saved in several transactions (DuckDB would hold one in memory);
    rows a killed save committed are not read, and the next save removes them. So for an
    update stored as an extension: its base stays as it was."""
    base = git(branchy, "rev-list", "--first-parent", "HEAD").split()[8]
    if extending:
        ai.Repo(branchy, cache_dir=tmp_path, progress=False).outcomes(base)
    script = tmp_path / "save_killer.py"
    script.write_text(textwrap.dedent(_SAVE_KILLER))
    run = subprocess.run(
        [sys.executable, str(script), str(branchy), str(tmp_path)],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert run.returncode == -signal.SIGKILL, run.stderr.decode()[-2000:]
    repo = ai.Repo(branchy, cache_dir=tmp_path, progress=False)

    def rows() -> tuple[int, int, int]:
        with duckdb.connect(str(repo.outcome_store)) as con:
            return tuple(
                con.execute(
                    f"SELECT count(*) FROM {table} WHERE key NOT LIKE ?", [f"{base}/%"]
                ).fetchone()[0]
                for table in ("histories", "h_commits", "h_lines")
            )

    histories, commits, arrays = rows()
    assert histories == 0 and commits > 0 and arrays > 0  # committed, but never marked
    if extending:
        assert _stored(repo) == [(base, "", 0, int(git(branchy, "rev-list", "--count", base)))]
    table = repo.outcomes()
    expected = "extended from " if extending else "replayed all "
    assert repo.last_report.line_history.startswith(expected)
    assert rows()[0] == 1
    with duckdb.connect(str(repo.outcome_store)) as con:
        orphans = con.execute(
            "SELECT count(*) FROM h_lines WHERE key NOT IN (SELECT key FROM histories)"
        ).fetchone()
    assert orphans == (0,)
    fresh = ai.Repo(branchy, cache_dir=tmp_path / "fresh", progress=False)
    pd.testing.assert_frame_equal(table, fresh.outcomes())
    reread = ai.Repo(branchy, cache_dir=tmp_path, progress=False)
    assert _tidy(reread.lines()) == _tidy(fresh.lines())
    assert reread.last_report.line_history == "read from the outcome store"


def test_a_store_of_another_format_is_refilled(planted, tmp_path):
    repo = ai.Repo(planted, cache_dir=tmp_path, progress=False)
    computed = repo.outcomes()
    with duckdb.connect(str(repo.outcome_store)) as con:
        con.execute("UPDATE meta SET value = '0' WHERE key = 'format'")
    again = ai.Repo(planted, cache_dir=tmp_path, progress=False)
    pd.testing.assert_frame_equal(again.outcomes(), computed)
    assert again.last_report.line_history.startswith("replayed all ")
    assert load_history(again.outcome_store, again.resolve(), "nothing") is None


def test_a_damaged_store_is_moved_aside_and_rebuilt(planted, tmp_path):
    repo = ai.Repo(planted, cache_dir=tmp_path, progress=False)
    computed = repo.outcomes()
    repo.outcome_store.write_bytes(b"not a duckdb file" * 100)
    again = ai.Repo(planted, cache_dir=tmp_path, progress=False)
    with pytest.warns(CacheRebuiltWarning, match="outcome store"):
        table = again.outcomes()
    pd.testing.assert_frame_equal(table, computed)
    assert list(repo.outcome_store.parent.glob("outcomes.duckdb.corrupt-*"))


def test_szz_blames_a_few_fixes_and_replays_for_many_with_the_same_links(planted, tmp_path):
    repo = ai.Repo(planted, cache_dir=tmp_path, progress=False)
    fixes = list(repo.fixes()["sha"])
    few = fixes[-4:]
    blamed = repo.szz(fixes=few)
    assert repo.last_report.szz_method.startswith("blame (4 fix(es) cost less to blame")
    assert repo.last_report.line_history == ""  # nothing was replayed
    everything = repo.szz()
    assert repo.last_report.szz_method == "line history (every fix)"
    assert set(blamed["fix_sha"]) <= set(few) and len(blamed) >= 3
    expected = everything[everything["fix_sha"].isin(few)]
    key = ["fix_sha", "inducing_sha", "variant"]
    pd.testing.assert_frame_equal(
        blamed.sort_values(key).reset_index(drop=True),
        expected.sort_values(key).reset_index(drop=True),
    )
    again = ai.Repo(planted, cache_dir=tmp_path, progress=False)
    again.szz(fixes=few)  # now a line history is stored: it is free
    assert again.last_report.szz_method == "line history (stored)"
    assert len(fixes) > 10
    other = ai.Repo(planted, cache_dir=tmp_path / "other", progress=False)
    other.szz(fixes=fixes)
    assert other.last_report.szz_method.startswith(f"line history ({len(fixes)} fixes cost more")


def test_a_stored_tip_that_is_no_ancestor_is_not_extended(build, tmp_path):
    b = build()
    b.commit("Base", {"a.py": "base line of a\n"})
    b.branch("side")
    side = b.commit("Side", {"s.py": "only on the side branch\n"}, branch="side")
    b.commit("Main", {"a.py": "base line of a\nand main's own line\n"})
    b.close()
    first = ai.Repo(b.path, cache_dir=tmp_path, progress=False)
    first.outcomes(side)
    later = ai.Repo(b.path, cache_dir=tmp_path, progress=False)
    table = later.outcomes()
    assert later.last_report.line_history == (
        "replayed all 2 commit(s) (no line history of an ancestor is stored)"
    )
    assert side not in set(table["sha"]) and len(table) == 2


def _stored(repo) -> list[tuple]:
    """(tip, base tip, depth, commits stored under the key) of each stored history."""
    with duckdb.connect(str(repo.outcome_store)) as con:
        return con.execute(
            "SELECT tip, coalesce(split_part(base, '/', 1), ''), depth, "
            "(SELECT count(*) FROM h_commits c WHERE c.key = h.key) "
            "FROM histories h ORDER BY saved_at"
        ).fetchall()


def test_updates_are_stored_as_what_the_new_commits_changed(branchy, tmp_path, monkeypatch):
    """Each update stores only its new commits (a chain of extensions read back as one
    history); after MAX_DEPTH in a row one is stored in full; the bases of the kept
    histories are kept however many others are stored since. Every step, read in a new
    process, equals a full replay of its tip."""
    monkeypatch.setattr(outcome_store, "MAX_DEPTH", 2)
    monkeypatch.setattr(outcome_store, "_KEEP", 1)
    line = git(branchy, "rev-list", "--first-parent", "HEAD").split()
    tips = [line[back] for back in (40, 30, 20, 10, 0)]
    for tip in tips:
        ai.Repo(branchy, cache_dir=tmp_path / "a", progress=False).outcomes(tip)
        reread = ai.Repo(branchy, cache_dir=tmp_path / "a", progress=False)
        stored = reread.lines(tip)
        assert reread.last_report.line_history == "read from the outcome store"
        fresh = ai.Repo(branchy, cache_dir=tmp_path / f"fresh-{tip}", progress=False)
        assert _tidy(stored) == _tidy(fresh.lines(tip)), tip
        assert stored.tip_state == fresh.lines(tip).tip_state
        assert stored.died == fresh.lines(tip).died and stored.born == fresh.lines(tip).born
    rows = _stored(ai.Repo(branchy, cache_dir=tmp_path / "a", progress=False))
    count = [int(git(branchy, "rev-list", "--count", t)) for t in tips]
    # the fourth is stored in full (after two extensions), the fifth extends it; the
    # newest is kept, and of the others only the one it needs
    assert rows == [(tips[3], "", 0, count[3]), (tips[4], tips[3], 1, count[4] - count[3])]


def test_a_chain_of_extensions_keeps_its_bases(branchy, tmp_path, monkeypatch):
    monkeypatch.setattr(outcome_store, "_KEEP", 1)
    line = git(branchy, "rev-list", "--first-parent", "HEAD").split()
    tips = [line[back] for back in (12, 6, 0)]
    for tip in tips:
        ai.Repo(branchy, cache_dir=tmp_path, progress=False).outcomes(tip)
    repo = ai.Repo(branchy, cache_dir=tmp_path, progress=False)
    count = [int(git(branchy, "rev-list", "--count", t)) for t in tips]
    assert _stored(repo) == [
        (tips[0], "", 0, count[0]),
        (tips[1], tips[0], 1, count[1] - count[0]),
        (tips[2], tips[1], 2, count[2] - count[1]),
    ]
    with duckdb.connect(str(repo.outcome_store)) as con:  # kept lists not stored again
        named, own = con.execute(
            "SELECT count(*) FILTER (WHERE list_key IS NOT NULL), "
            "(SELECT count(*) FROM h_lists WHERE key LIKE ?) FROM h_states WHERE key LIKE ?",
            [f"{tips[2]}/%", f"{tips[2]}/%"],
        ).fetchone()
        full = con.execute("SELECT count(*) FROM h_lists WHERE key LIKE ?", [f"{tips[0]}/%"])
        assert named > 0 and own < full.fetchone()[0] / 2
    fresh = ai.Repo(branchy, cache_dir=tmp_path / "fresh", progress=False)
    assert _tidy(repo.lines()) == _tidy(fresh.lines())
    assert repo.last_report.line_history == "read from the outcome store"
    assert repo.lines().kept == fresh.lines().kept
    with duckdb.connect(str(repo.outcome_store)) as con:  # a base's lines damaged
        con.execute("DELETE FROM h_lines WHERE key LIKE ? AND born = 0", [f"{tips[0]}/%"])
    again = ai.Repo(branchy, cache_dir=tmp_path, progress=False)
    with pytest.warns(CacheRebuiltWarning, match=f"{tips[0][:12]} holds .* of its .* lines"):
        history = again.lines()
    assert again.last_report.line_history.startswith("replayed all ")
    assert _tidy(history) == _tidy(fresh.lines())
    assert _stored(again)[-1] == (tips[2], "", 0, count[2])  # stored again, in full


def test_the_outcome_store_is_prepared_again_only_after_another_process_changed_it(
    branchy, tmp_path, monkeypatch
):
    """One ``outcomes()`` opens the outcome store several times; a file this process
    prepared and closed, unchanged since, is not prepared (its tables made, its format
    read) again. Another process's edit is seen: here it marks the file of an older
    format, so the next open empties it and the table is computed again, equal."""
    prepared = []
    real = outcome_store._prepare

    def counted(con):
        prepared.append(1)
        return real(con)

    monkeypatch.setattr(outcome_store, "_prepare", counted)
    first = ai.Repo(branchy, cache_dir=tmp_path, progress=False)
    table = first.outcomes()
    assert prepared  # the new file was prepared
    prepared.clear()
    again = ai.Repo(branchy, cache_dir=tmp_path, progress=False)
    pd.testing.assert_frame_equal(again.outcomes(), table)
    assert again.last_report.line_history == "outcomes table read from the outcome store"
    assert prepared == []
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
        "con.execute(\"UPDATE meta SET value = 'old' WHERE key = 'format'\")"
    )
    path = str(first.outcome_store)
    done = subprocess.run([sys.executable, "-c", code, path], capture_output=True)
    assert done.returncode == 0, done.stderr
    later = ai.Repo(branchy, cache_dir=tmp_path, progress=False)
    pd.testing.assert_frame_equal(later.outcomes(), table)
    assert prepared
    assert later.last_report.line_history.startswith("replayed all")
