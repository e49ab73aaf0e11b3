"""Crafted commit objects (issue 11): impossible dates, hostile encodings, terminal escapes.

Every repository here is real: a history built with :class:`~aiimpact.synth.RepoBuilder`,
with commit objects that ``git fast-import`` refuses written by ``git hash-object`` on top.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from conftest import git, git_log_stats

import aiimpact as ai
from aiimpact.errors import UnrepresentableTimeWarning
from aiimpact.git.walk import decode_identity, decode_text

YEAR_10000 = 253402300800  # 10000-01-01T00:00:00Z
BEYOND_64_BITS = 2**64  # git keeps it; libgit2 refuses to parse the commit


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aiimpact", *args], capture_output=True, text=True)


def raw_commit(
    repo: Path,
    tree: str,
    parents: list[str],
    message: bytes,
    author: bytes = b"Alice Example <alice@example.com> 1736154000 +0000",
    committer: bytes | None = None,
    encoding: bytes | None = None,
) -> str:
    """Write a commit object as given (no validation of its dates) and return its sha."""
    head = [b"tree " + tree.encode()]
    head += [b"parent " + p.encode() for p in parents]
    head += [b"author " + author, b"committer " + (committer or author)]
    if encoding is not None:
        head.append(b"encoding " + encoding)
    data = b"\n".join(head) + b"\n\n" + message
    return git(repo, "hash-object", "-t", "commit", "-w", "--stdin", input=data).strip()


def tree_of(repo: Path, rev: str) -> str:
    return git(repo, "rev-parse", f"{rev}^{{tree}}").strip()


def ident(seconds: int | str, tz: str = "+0000", who: str = "Alice Example <a@x.org>") -> bytes:
    return f"{who} {seconds} {tz}".encode()


def utc(seconds: int) -> pd.Timestamp:
    return pd.Timestamp(seconds, unit="s", tz="UTC")


# -- 1. crafted dates --------------------------------------------------------------------


@pytest.fixture
def dated(build):
    """main: a normal root, then crafted dates (year 10000, 99999999999999, negative,
    absurd offsets, beyond 64 bits), a revert among them, and a normal commit on top."""
    b = build("dated")
    base = b.commit("Add app", {"app.py": "one\ntwo\nthree\n"})
    b.branch("trees")
    feature = b.commit("t", {"app.py": "one\ntwo\nthree\nfour\nfive\n"}, branch="trees")
    more = b.commit("t", {"app.py": "one\ntwo\nthree\n", "b.py": "x\ny\n"}, branch="trees")
    fixed = b.commit("t", {"app.py": "one\ntwo\nthree\n", "b.py": "x\nz\n"}, branch="trees")
    added = b.commit("t", {"c.py": "c\n"}, branch="trees")
    again = b.commit("t", {"b.py": "x\nw\n"}, branch="trees")
    b.close()
    p = b.path
    sha = {}
    sha["y10000"] = raw_commit(
        p, tree_of(p, feature), [base], b"Add four and five\n", ident(YEAR_10000)
    )
    sha["huge"] = raw_commit(
        p,
        tree_of(p, base),
        [sha["y10000"]],
        f'Revert "Add four and five"\n\nThis reverts commit {sha["y10000"]}.\n'.encode(),
        ident(99999999999999),
    )
    sha["negative"] = raw_commit(
        p,
        tree_of(p, more),
        [sha["huge"]],
        b"Add b\n",
        ident(-100000000000),
        committer=ident(-5, "-0500"),
    )
    sha["offsets"] = raw_commit(
        p,
        tree_of(p, fixed),
        [sha["negative"]],
        b"Fix b: typo\n",
        ident(1736200000, "+9999"),
        committer=ident(1736200000, "-9999"),
    )
    sha["beyond"] = raw_commit(
        p,
        tree_of(p, added),
        [sha["offsets"]],
        b"Add c\n",
        ident(1736300000),
        committer=ident(BEYOND_64_BITS),
    )
    sha["top"] = raw_commit(
        p, tree_of(p, again), [sha["beyond"]], b"Fix b again\n", ident(1736400000)
    )
    git(p, "update-ref", "refs/heads/main", sha["top"])
    sha["base"] = base
    return p, sha


def test_crafted_dates_are_mined_with_nat_and_a_counted_warning(dated):
    path, sha = dated
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        commits = ai.Repo(path).commits().set_index("sha")
    said = [str(w.message) for w in caught if issubclass(w.category, UnrepresentableTimeWarning)]
    # year 10000, 99999999999999, the negative author and the 64-bit committer
    assert len(said) == 1 and said[0].startswith("4 commit(s) in "), said
    assert set(commits.index) == set(git(path, "rev-list", "HEAD").split())
    assert commits.loc[sha["y10000"], ["author_time", "commit_time"]].isna().all()
    assert commits.loc[sha["huge"], ["author_time", "commit_time"]].isna().all()
    assert pd.isna(commits.loc[sha["negative"], "author_time"])
    assert commits.loc[sha["negative"], "commit_time"] == utc(-5)  # 1969-12-31T23:59:55Z
    # times are UTC seconds: an offset of +9999 or -9999 moves nothing
    assert commits.loc[sha["offsets"], "author_time"] == utc(1736200000)
    assert commits.loc[sha["offsets"], "commit_time"] == utc(1736200000)
    assert commits.loc[sha["beyond"], "author_time"] == utc(1736300000)
    assert pd.isna(commits.loc[sha["beyond"], "commit_time"])
    assert commits.loc[sha["beyond"], "author_name"] == "Alice Example"
    assert commits.loc[sha["beyond"], "subject"] == "Add c"
    assert commits.loc[sha["beyond"], "parents"].tolist() == [sha["offsets"]]
    stats = {s: (r.files_changed, r.insertions, r.deletions) for s, r in commits.iterrows()}
    assert stats == git_log_stats(path)
    assert len(ai.Repo(path).file_changes()) == sum(v[0] for v in stats.values())


def test_crafted_dates_in_every_output_format(dated, tmp_path):
    path, sha = dated
    for suffix in ("csv", "json", "parquet"):
        done = run("mine", str(path), "-o", str(tmp_path / f"c.{suffix}"))
        assert done.returncode == 0, done.stderr
    done = run("mine", str(path))
    assert done.returncode == 0, done.stderr
    assert "NaT" in done.stdout and sha["top"] in done.stdout
    pq = pd.read_parquet(tmp_path / "c.parquet").set_index("sha")
    csv = pd.read_csv(tmp_path / "c.csv").set_index("sha")
    js = {r["sha"]: r for r in json.loads((tmp_path / "c.json").read_text())}
    assert set(pq.index) == set(csv.index) == set(js) and len(js) == 7
    assert pd.isna(pq.loc[sha["y10000"], "commit_time"])
    assert pd.isna(csv.loc[sha["y10000"], "commit_time"])
    assert js[sha["y10000"]]["commit_time"] is None
    assert datetime.fromisoformat(js[sha["negative"]]["commit_time"]) == datetime(
        1969, 12, 31, 23, 59, 55, tzinfo=UTC
    )


def test_outcomes_and_commands_on_crafted_dates(dated):
    path, sha = dated
    repo = ai.Repo(path)
    with pytest.warns(UnrepresentableTimeWarning):
        reverts = repo.reverts()
    row = reverts[(reverts.revert_sha == sha["huge"]) & (reverts.reverted_sha == sha["y10000"])]
    assert list(row["kind"]) == ["message"]
    assert row["time_to_revert"].isna().all()
    out = repo.outcomes().set_index("sha")
    assert out.loc[sha["y10000"], "reverted"]
    assert pd.isna(out.loc[sha["y10000"], "time_to_revert"])
    for crafted in ("y10000", "huge", "beyond"):  # no time, so no window to count churn in
        assert pd.isna(out.loc[sha[crafted], "churn_14d"]), crafted
    churn = repo.churn().set_index("sha")
    assert pd.isna(churn.loc[sha["beyond"], "churn_14d"])  # git prints its time: 2**64
    for args in (["reverts"], ["reverts", "--json"], ["szz"], ["szz", "--json"]):
        done = run(*args, str(path))
        assert done.returncode == 0, (args, done.stderr)
    listed = json.loads(run("reverts", str(path), "--json").stdout)
    hit = next(r for r in listed if r["revert_sha"] == sha["huge"] and r["kind"] == "message")
    assert hit["revert_time"] is None and hit["time_to_revert"] is None
    done = run("authorship", str(path), "--range", f"{sha['base']}..HEAD")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("seconds", [YEAR_10000, 99999999999999, -100000000000])
def test_each_crafted_date_alone_through_the_cli(build, tmp_path, seconds):
    """The reports of issue 11, one date at a time: a commit so dated, and its revert."""
    b = build("alone")
    base = b.commit("Root", {"a": "a\n"})
    b.branch("trees")
    edited = b.commit("t", {"a": "b\n"}, branch="trees")
    b.close()
    p = b.path
    odd = raw_commit(p, tree_of(p, edited), [base], b"Edit a\n", ident(seconds))
    undo = raw_commit(
        p, tree_of(p, base), [odd], f'Revert "Edit a"\n\nThis reverts commit {odd}.\n'.encode()
    )
    git(p, "update-ref", "refs/heads/main", undo)
    for suffix in ("csv", "json", "parquet"):
        done = run("mine", str(p), "-o", str(tmp_path / f"c.{suffix}"))
        assert done.returncode == 0, done.stderr
        mined = suffix == "csv"  # the warning comes with mining; later runs read the cache
        assert ("1 commit(s)" in done.stderr and "are NaT" in done.stderr) == mined
    assert len(pd.read_csv(tmp_path / "c.csv")) == 3
    rows = {r["sha"]: r for r in json.loads((tmp_path / "c.json").read_text())}
    assert rows[odd]["commit_time"] is None and rows[undo]["commit_time"] is not None
    for args in (["mine"], ["reverts"], ["reverts", "--json"]):
        done = run(*args, str(p))
        assert done.returncode == 0, (args, done.stderr)
    (hit,) = json.loads(run("reverts", str(p), "--json").stdout)
    assert (hit["revert_sha"], hit["reverted_sha"], hit["kind"]) == (undo, odd, "message")
    assert hit["reverted_time"] is None and hit["time_to_revert"] is None


def test_only_commit_times_that_fit_are_kept(build):
    """The bounds: pandas' nanosecond Timestamp range, 1677-09-21 to 2262-04-11."""
    b = build("bounds")
    base = b.commit("Root", {"a": "a\n"})
    b.close()
    tree, parent, times = tree_of(b.path, base), base, {}
    for seconds in (-9223372036, -9223372037, 9223372036, 9223372037):
        parent = raw_commit(b.path, tree, [parent], b"edge\n", ident(seconds))
        times[parent] = seconds
    git(b.path, "update-ref", "refs/heads/main", parent)
    with pytest.warns(UnrepresentableTimeWarning, match="^2 commit"):
        commits = ai.Repo(b.path).commits().set_index("sha")
    for s, seconds in times.items():
        want = utc(seconds) if abs(seconds) <= 9223372036 else pd.NaT
        assert commits.loc[s, "commit_time"] is want or commits.loc[s, "commit_time"] == want


# -- 2. encodings ------------------------------------------------------------------------


@pytest.fixture
def encoded(build):
    """Commits under encodings git's header cannot be written in, or Python does not know."""
    b = build("encoded")
    base = b.commit("Root", {"a": "a\n"})
    b.close()
    p, tree = b.path, tree_of(b.path, base)
    made = {}
    cases = {
        "utf-16": (b"UTF-16", "Jörg Ünal".encode(), "Sübject in UTF-16\n".encode("utf-16")),
        "utf-32": (b"UTF-32", "Jörg Ünal".encode(), b"ASCII subject\n"),
        "ebcdic": (b"cp037", b"Ann Smith", "Plain subject\n".encode("cp037")),
        "latin-1": (b"ISO-8859-1", "Jörg".encode("latin-1"), "Sübject\n".encode("latin-1")),
        "unknown": (b"x-bogus", "Jörg".encode(), "Sübject\n".encode()),
        "not-text": (b"rot13", "Jörg".encode(), "Sübject\n".encode()),
        "punycode": (b"punycode", "Jörg".encode(), "Sübject \xff\n".encode("latin-1")),
        "bad-name": (b"\xff\xfe", "Jörg".encode(), "Sübject\n".encode()),
    }
    parent = base
    for key, (encoding, name, message) in cases.items():
        who = name + b" <j@x.org> 1736154000 +0000"
        parent = raw_commit(p, tree, [parent], message, who, encoding=encoding)
        made[key] = parent
    git(p, "update-ref", "refs/heads/main", parent)
    return p, made


def git_shows(repo: Path, sha: str, fmt: str) -> bytes:
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "-1", f"--format={fmt}", sha],
        capture_output=True,
        check=True,
    )
    return out.stdout.rstrip(b"\n")


def test_identities_agree_with_git_under_any_encoding(encoded):
    path, made = encoded
    commits = ai.Repo(path).commits().set_index("sha")
    # git converts the whole object from the named encoding; for one that cannot hold the
    # ASCII header that fails, and git shows the identities as written: UTF-8.
    for key in ("utf-16", "utf-32", "latin-1", "unknown", "bad-name"):
        shown = git_shows(path, made[key], "%an|%ae|%cn")
        want = shown.decode("utf-8", "replace").split("|")
        got = commits.loc[made[key], ["author_name", "author_email", "committer_name"]]
        assert list(got) == want, key
    # EBCDIC converts without error, header and all, so git finds no author (empty): the
    # header is ASCII whatever the header says, and is read as such.
    assert git_shows(path, made["ebcdic"], "%an|%cn") == b"|"
    assert list(commits.loc[made["ebcdic"], ["author_name", "subject"]]) == [
        "Ann Smith",
        "Plain subject",
    ]
    assert commits.loc[made["utf-16"], "author_name"] == "Jörg Ünal"
    assert commits.loc[made["utf-16"], "subject"] == "Sübject in UTF-16"
    assert commits.loc[made["latin-1"], "subject"] == "Sübject"
    assert commits.loc[made["unknown"], "subject"] == "Sübject"  # UTF-8 when unknown
    assert commits.loc[made["not-text"], "author_name"] == "Jörg"  # rot13 is no encoding
    assert commits.loc[made["punycode"], "subject"] == "S\ufffdbject \ufffd"
    assert commits.loc[made["bad-name"], "subject"] == "Sübject"


def test_decoding_never_raises():
    assert decode_text("Jörg".encode(), "x-bogus") == "Jörg"
    assert decode_text(b"J\xf6rg", "x-bogus") == "J\ufffdrg"
    assert decode_text(b"J\xf6rg", "hex") == "J\ufffdrg"
    assert decode_text("Jörg".encode("utf-16"), "utf-16") == "Jörg"
    assert decode_text(b"odd!\n", "utf-16") == "odd!\n"  # 5 bytes: not UTF-16, so UTF-8
    assert decode_identity(b"Ann", "utf-16") == "Ann"
    assert decode_identity(b"J\xf6rg", "latin-1") == "Jörg"
    assert decode_identity(b"J\xf6rg", "punycode") == "J\ufffdrg"
    assert decode_text(b"J\xc3\xb6rg", "null\0name") == "Jörg"


# -- 3. terminal escapes -----------------------------------------------------------------

ESC = "\x1b"


@pytest.fixture
def hostile(tmp_path, build):
    """A repository whose directory, subjects, authors and paths carry escape sequences."""
    b = build(f"r{ESC}]0;owned{ESC}\\")
    first = b.commit(
        f"{ESC}[31mred{ESC}[0m feature\n\nCo-authored-by: Claude <noreply@anthropic.com>\n",
        {f"{ESC}[2Jclear.py": "one\ntwo\n"},
        author=f"Mallory {ESC}[8m <m@x.org>",
    )
    b.commit(
        f'Revert "{ESC}[31mred{ESC}[0m feature"\n\nThis reverts commit {first}.\n',
        {f"{ESC}[2Jclear.py": None},
    )
    b.commit(f"fix: {ESC}[1mbold{ESC}[0m crash", {"main.py": "x\n"})
    b.close()
    return b, first


def test_terminal_output_shows_escapes(hostile, tmp_path):
    b, first = hostile
    commands = (
        ["mine", str(b.path)],
        ["reverts", str(b.path)],
        ["szz", str(b.path)],
        ["authorship", str(b.path), "--range", f"{first}..HEAD"],
    )
    for args in commands:
        done = run(*args)
        assert done.returncode == 0, (args, done.stderr)
        assert ESC not in done.stdout and ESC not in done.stderr, args
    done = run("mine", str(b.path))
    assert "\\x1b[31mred\\x1b[0m feature" in done.stdout
    assert "Mallory \\x1b[8m" in done.stdout
    assert "r\\x1b]0;owned\\x1b\\: 3 commits" in done.stderr


def test_json_and_data_files_stay_exact(hostile, tmp_path):
    b, first = hostile
    out = tmp_path / "c.json"
    assert run("mine", str(b.path), "-o", str(out)).returncode == 0
    rows = {r["sha"]: r for r in json.loads(out.read_text())}
    assert rows[first]["subject"] == f"{ESC}[31mred{ESC}[0m feature"
    assert rows[first]["author_name"] == f"Mallory {ESC}[8m"
    assert run("mine", str(b.path), "-o", str(tmp_path / "c.csv")).returncode == 0
    csv = pd.read_csv(tmp_path / "c.csv").set_index("sha")
    assert csv.loc[first, "subject"] == f"{ESC}[31mred{ESC}[0m feature"
    listed = json.loads(run("reverts", str(b.path), "--json").stdout)
    assert [r["reverted_sha"] for r in listed if r["kind"] == "message"] == [first]


def test_a_line_that_dies_at_a_time_beyond_64_bits_is_replayed(build):
    b = build("late-death")
    base = b.commit("Add app", {"app.py": "one\ntwo\nthree\n"})
    b.branch("trees")
    shorter = b.commit("t", {"app.py": "one\n"}, branch="trees")
    b.close()
    late = raw_commit(
        b.path,
        tree_of(b.path, shorter),
        [base],
        b"Drop two lines\n",
        ident(1736300000),
        committer=ident(2**63 + 5),
    )
    git(b.path, "update-ref", "refs/heads/main", late)
    repo = ai.Repo(b.path)
    with pytest.warns(UnrepresentableTimeWarning):
        churn = repo.churn("30D").set_index("sha")
    assert churn.loc[base, "lines_added"] == 3 and churn.loc[base, "lines_alive"] == 1
    assert len(repo.outcomes()) == 2
