"""The patch parser on recorded ``git log -p -U0`` text, and on real git output."""

from __future__ import annotations

import pytest

import aiimpact as ai
from aiimpact.errors import GitCommandError
from aiimpact.git.patches import parse_patches, stream_patches

# Recorded from git 2.47: a removed SQL comment "-- old" shows as "--- old", an added
# "++ new" as "+++ new", and both blocks end without a newline at end of file.
RECORDED = b"""\
\x00aaaa bbbb\x001700000000

diff --git a/q.sql b/q.sql
index 1111111..2222222 100644
--- a/q.sql
+++ b/q.sql
@@ -2,2 +2,3 @@ select 1;
--- old
--- older
\\ No newline at end of file
+++ new
++-- newer
+++ newest
\\ No newline at end of file
@@ -9 +10,0 @@ select 2;
-drop table t;
"""


def test_hunk_lines_are_taken_by_the_header_counts():
    [patch] = parse_patches(RECORDED.splitlines(keepends=True))
    assert patch.sha == "aaaa" and patch.parents == ["bbbb"] and patch.time == 1700000000
    first, second = patch.files["q.sql"]
    assert (first.old_start, first.old_len, first.new_start, first.new_len) == (2, 2, 2, 3)
    assert first.removed == [b"--- old\n", b"--- older\n"]  # as git writes them
    assert first.added == [b"+++ new\n", b"++-- newer\n", b"+++ newest\n"]
    assert second.removed == [b"-drop table t;\n"] and second.added == []


def test_a_hunk_shorter_than_its_header_is_an_error():
    cut = RECORDED.split(b"++-- newer")[0]
    with pytest.raises(GitCommandError, match="fewer \\+ lines than its header"):
        list(parse_patches(cut.splitlines(keepends=True)))


def test_lines_that_look_like_headers_are_followed_in_a_real_history(build, tmp_path):
    b = build()
    first = b.commit("Add q", {"q.sql": "-- old\n-- older\nselect 1;\n++ kept\n"})
    second = b.commit("Edit q", {"q.sql": "-- older\nselect 1;\n++ kept\n+++ new\n"})
    b.close()
    [_, p2] = list(stream_patches(str(b.git_dir), "HEAD"))
    assert p2.files["q.sql"][0].removed == [b"--- old\n"]
    assert p2.files["q.sql"][-1].added == [b"++++ new\n"]
    churn = ai.Repo(b.path, cache_dir=tmp_path, progress=False).churn("30D").set_index("sha")
    assert churn.at[first, "lines_added"] == 4 and churn.at[first, "lines_alive"] == 3
    assert churn.at[second, "lines_added"] == 1
