"""Tests for aiimpact.git.trailers: hand-written cases and a property test, both checked
against ``git interpret-trailers --parse``."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aiimpact.git.trailers import parse_trailers

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")

_SCISSORS = "# ------------------------ >8 ------------------------"
_HOME = tempfile.mkdtemp(prefix="trailers-home-")
_ENV = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
_ENV.update(
    GIT_CONFIG_NOSYSTEM="1",
    GIT_CONFIG_GLOBAL="/dev/null",
    GIT_CEILING_DIRECTORIES=os.path.dirname(_HOME),
    HOME=_HOME,
    LC_ALL="C",
)


def git_parse(message: str) -> list[tuple[str, str]]:
    """Run ``git interpret-trailers --parse`` outside any repository.

    git prints every trailer as ``<key>: <value>`` (an empty value gives ``<key>: ``,
    keys never contain ``:``), one per line; values may contain ``\\r``.
    """
    out = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message.encode(),
        capture_output=True,
        env=_ENV,
        cwd=_HOME,
        timeout=20,
        check=True,
    ).stdout.decode()
    pairs = []
    for line in out.split("\n")[:-1]:
        key, sep, value = line.partition(": ")
        assert sep, repr(line)
        pairs.append((key, value))
    return pairs


def git_would_hang(message: str) -> bool:
    """git 2.39 loops forever when a scissors line comes after a ``---`` divider."""
    message = message.split("\0", 1)[0]
    pos = message.find("\n" + _SCISSORS + "\n")
    if pos < 0 or message.startswith(_SCISSORS + "\n"):
        return False
    return any(
        line.startswith("---") and line[3:4] in (" ", "\t", "\r", "")
        for line in message[:pos].split("\n")
    )


SOB = "Signed-off-by: Ann Author <ann@example.com>"
CLAUDE = "Co-authored-by: Claude <noreply@anthropic.com>"
COPILOT = "Co-authored-by: Copilot <175728472+Copilot@users.noreply.github.com>"

CASES = [
    pytest.param("", [], id="empty"),
    pytest.param("Fix the build\n", [], id="title-only"),
    pytest.param("Fix: the build\n", [], id="title-with-colon"),
    pytest.param(CLAUDE + "\n", [], id="trailer-as-title"),
    pytest.param(f"{SOB}\n{CLAUDE}\n", [], id="trailers-only-is-title"),
    pytest.param(
        f"Add parser\n\n{CLAUDE}\n",
        [("Co-authored-by", "Claude <noreply@anthropic.com>")],
        id="title-and-trailer",
    ),
    pytest.param(
        f"Add parser\n\nLonger body text\nover two lines.\n\n{COPILOT}\n{SOB}\n",
        [
            ("Co-authored-by", "Copilot <175728472+Copilot@users.noreply.github.com>"),
            ("Signed-off-by", "Ann Author <ann@example.com>"),
        ],
        id="body-and-trailers",
    ),
    pytest.param(
        "Add feature (#123)\n\n* wip\n\n* fix tests\n\n---------\n\n"
        f"{CLAUDE}\nCo-authored-by: Bob <bob@example.com>",
        [
            ("Co-authored-by", "Claude <noreply@anthropic.com>"),
            ("Co-authored-by", "Bob <bob@example.com>"),
        ],
        id="squash-merge-dashes",
    ),
    pytest.param(
        "Add feature (#123)\n\n* wip\n---------\nCo-authored-by: Bob <bob@example.com>\n",
        [],
        id="squash-no-blank-line",
    ),
    pytest.param(
        "Title\n\nFixes: a very long\n  description that\n\tcontinues\nAcked-by: X\n",
        [("Fixes", "a very long description that continues"), ("Acked-by", "X")],
        id="continuation-lines",
    ),
    pytest.param(
        "Title\n\nKey : value\nOther\t:\tv2\nEmpty:\nSpaced:   \n",
        [("Key", "value"), ("Other", "v2"), ("Empty", ""), ("Spaced", "")],
        id="key-space-colon-and-empty-values",
    ),
    pytest.param(
        f"Title\r\n\r\nBody\r\n\r\n{CLAUDE}\r\nTested-by: T\r\n  more\r\n",
        [("Co-authored-by", "Claude <noreply@anthropic.com>"), ("Tested-by", "T\r more")],
        id="crlf",
    ),
    pytest.param(
        "Fix crash\n\n(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)\n",
        [],
        id="cherry-pick-only",
    ),
    pytest.param(
        "Fix crash\n\nSome text line\nanother line\nand another\n"
        "(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)\n",
        [],
        id="cherry-pick-25-percent",
    ),
    pytest.param(
        f"Fix crash\n\nnot a trailer\nnot one either\nnor this\n{SOB}\n",
        [("Signed-off-by", "Ann Author <ann@example.com>")],
        id="25-percent-met",
    ),
    pytest.param(
        f"Fix crash\n\nnot a trailer\nnot one either\nnor this\nnor that\n{SOB}\n",
        [],
        id="25-percent-missed",
    ),
    pytest.param(
        f"Fix crash\n\nsome prose here\n{CLAUDE}\n",
        [],
        id="mixed-without-git-prefix",
    ),
    pytest.param(
        "Fix crash\n\nsome prose\nSigned-off-by:Ann\nKey: v\n",
        [],
        id="sob-without-space-is-not-git-prefix",
    ),
    pytest.param(
        f"Fix crash\n\nprose\n  more\n  prose\n{SOB}\n",
        [("Signed-off-by", "Ann Author <ann@example.com>")],
        id="continuation-of-prose-25-percent-met",
    ),
    pytest.param(
        f"Fix crash\n\nprose\n  more\n  prose\n  here\n{SOB}\n",
        [],
        id="continuation-of-prose-counts-as-non-trailer",
    ),
    pytest.param(
        "Fix crash\n\nA: b\n  x\n#\n  y\nC: d\n",
        [],
        id="comment-turns-continuations-into-non-trailers",
    ),
    pytest.param(
        "Title\n\nA: b\nConflicts:",
        [("A", "b"), ("Conflicts", "")],
        id="unterminated-conflicts-line-is-a-trailer",
    ),
    pytest.param(
        "Title\n\nA: b\n\x0b\n\n# comment\n",
        [],
        id="vertical-tab-line-before-trailing-comments",
    ),
    pytest.param(
        "Title\n\nA: b\n\r x\n",
        [("A", "b x")],
        id="continuation-starting-with-cr",
    ),
    pytest.param(
        f"Title\n\n{CLAUDE}\n# Please enter the commit message\n#\n\n",
        [("Co-authored-by", "Claude <noreply@anthropic.com>")],
        id="trailing-comments",
    ),
    pytest.param(
        "Title\n\nA: 1\n# B: 2\nC: 3\n",
        [("A", "1"), ("C", "3")],
        id="comment-inside-block",
    ),
    pytest.param(
        f"Title\n\n{CLAUDE}\n{_SCISSORS}\ndiff --git a/x b/x\nFoo: bar\n",
        [("Co-authored-by", "Claude <noreply@anthropic.com>")],
        id="scissors",
    ),
    pytest.param(
        f"Title\n\n{SOB}\n---\n file.c | 2 +-\n\nNot-this: one\n",
        [("Signed-off-by", "Ann Author <ann@example.com>")],
        id="patch-divider",
    ),
    pytest.param(
        f"Title\n\n{SOB}\n----\nFoo: bar\n",
        [("Signed-off-by", "Ann Author <ann@example.com>"), ("Foo", "bar")],
        id="four-dashes-not-divider",
    ),
    pytest.param("Title\n\nA: b\n---", [], id="unterminated-dashes-not-divider"),
    pytest.param(
        "Title\r\n\r\nA: b\r\n---\r\n file | 1 +\r\n",
        [("A", "b")],
        id="crlf-divider",
    ),
    pytest.param("Title\n\nA: b\n---\n", [("A", "b")], id="terminated-dashes-divider"),
    pytest.param(
        "Title\n\nBug #42: x\nCo authored-by: y\nX-y.z: w\n",
        [],
        id="bad-keys",
    ),
    pytest.param(
        f"Title\n\nprose\nBug #42 x\n{SOB}\n",
        [("Signed-off-by", "Ann Author <ann@example.com>")],
        id="bad-key-dropped",
    ),
    pytest.param(
        "Title\n\nUrl: http://example.com:8080/x\n-: dash\n9: nine\n",
        [("Url", "http://example.com:8080/x"), ("-", "dash"), ("9", "nine")],
        id="odd-but-valid-keys",
    ),
    pytest.param(
        "Title\n\nA: b\n\n  \n",
        [("A", "b")],
        id="trailing-whitespace-lines",
    ),
    pytest.param(
        "Title\n\nA: b\n\x0b\n",
        [],
        id="vertical-tab-is-not-space",
    ),
    pytest.param(
        "Title\n\nConflicts:\n\tfile.c\n\nA: b\nConflicts:\n\ta.c\n",
        [("A", "b")],
        id="old-conflicts-block",
    ),
    pytest.param("\nA: b\n", [("A", "b")], id="leading-blank-line"),
    pytest.param("Title\n\nA: b\0\nC: d\n", [("A", "b")], id="nul-ends-message"),
    pytest.param(
        "Titel ünïcode\n\nRéviewed-by: x\nReviewed-by: Zoë <z@x.org>\n",
        [],
        id="non-ascii-key",
    ),
]


@pytest.mark.parametrize(("message", "expected"), CASES)
def test_known_messages(message: str, expected: list[tuple[str, str]]) -> None:
    assert parse_trailers(message) == expected
    assert git_parse(message) == expected


def test_scissors_after_divider() -> None:
    # git 2.39 hangs on this input; later gits cut at the divider.
    message = f"Title\n\nA: b\n---\nstat\n{_SCISSORS}\ndiff\n"
    assert git_would_hang(message)
    assert parse_trailers(message) == [("A", "b")]


_KEYS = [
    "Signed-off-by",
    "Co-authored-by",
    "Reviewed-by",
    "Bug",
    "X",
    "-",
    "a-1",
    "Key.x",
    "Co authored",
    "é",
    "",
]
_SEPS = [":", ": ", " :", "\t: ", ":  ", " ", "=", " #", "::"]
_VALUES = ["", " ", "Ann <a@x.org>", "http://h:1/", " v ", "v\r", "x: y"]
_WORDS = st.text(alphabet="aZ1 \t\r-:#()é\x0b\0", max_size=8)

_TRAILER = st.builds(
    lambda k, s, v: k + s + v,
    st.sampled_from(_KEYS),
    st.sampled_from(_SEPS),
    st.sampled_from(_VALUES),
)
_GOOD_TRAILER = st.builds(
    lambda k, s, v: k + s + v,
    st.sampled_from(_KEYS[:7]),
    st.sampled_from(_SEPS[:5]),
    st.sampled_from(_VALUES),
)
_CONTINUATION = st.builds(
    lambda ws, w: ws + w, st.sampled_from([" ", "\t", "   ", "\r", " \r"]), _WORDS
)
_BLANK = st.sampled_from(["", "", " ", "\t", "  \t", "\r", "\x0b", " \x0c"])
_COMMENT = st.sampled_from(["#", "# comment", "#Key: v", "# Signed-off-by: x"])
_SPECIAL = st.sampled_from(
    [
        SOB,
        "Signed-off-by:x",
        "(cherry picked from commit abc)",
        "(cherry picked from commit",
        "Conflicts:",
        "\tpath.c",
        _SCISSORS,
        "Conflicts:\n\ta.c\n\tb.c",
        "---",
        "--- ",
        "---\t",
        "----",
        "---------",
        "--- a/f",
        "---x",
        "-- ",
    ]
)
_PROSE = st.one_of(st.sampled_from(["Some prose.", "fix: thing", "Update README.md"]), _WORDS)
_LINE = st.one_of(_BLANK, _TRAILER, _CONTINUATION, _COMMENT, _SPECIAL, _PROSE)
# Tail paragraphs lean towards trailers so that the 25% rule is exercised both ways.
_TAIL_LINE = st.one_of(
    _GOOD_TRAILER,
    _GOOD_TRAILER,
    st.just(SOB),
    _TRAILER,
    _CONTINUATION,
    _CONTINUATION,
    _COMMENT,
    _SPECIAL,
    _PROSE,
    _BLANK,
)
_CLOSER = st.sampled_from(["---", "#", "", " ", "\x0b", "Conflicts:", _SCISSORS, "Some prose."])


_NEAR_PROSE = st.sampled_from(["Some prose.", "(see #12)", "Key.x: y", "Bug #1 x", "é: x"])
_NEAR_CONTINUATION = st.sampled_from(["  wrapped", "\tmore", " \rx", "  Key: v"])


@st.composite
def ratio_tail(draw: st.DrawFn) -> list[str]:
    """A paragraph mixing trailers and non-trailers, often right at the 25% threshold."""
    lines = [SOB] * draw(st.integers(0, 2))
    for kind, most in (
        (_GOOD_TRAILER, 2),
        (_NEAR_PROSE, 4),
        (_NEAR_CONTINUATION, 4),
        (_COMMENT, 2),
    ):
        lines += [draw(kind) for _ in range(draw(st.integers(0, most)))]
    return draw(st.permutations(lines))


@st.composite
def messages(draw: st.DrawFn) -> str:
    """Title, body, a trailer-heavy tail and an end line built from edge-case prone lines."""
    lines = draw(st.lists(_LINE, max_size=8))
    if draw(st.booleans()):
        lines = [draw(st.sampled_from(["Fix bug", "feat: add x", SOB, "", "# c"])), "", *lines]
    if draw(st.integers(0, 3)):
        tail = draw(
            st.one_of(st.lists(_TAIL_LINE, min_size=1, max_size=8), ratio_tail(), ratio_tail())
        )
        lines += ["", *tail]
    if draw(st.booleans()):
        lines.append(draw(_CLOSER))
    ends = draw(
        st.lists(st.sampled_from(["\n", "\n", "\r\n"]), min_size=len(lines), max_size=len(lines))
    )
    text = "".join(line + end for line, end in zip(lines, ends, strict=True))
    if text and draw(st.booleans()):
        text = text[:-1]
    return text


@settings(derandomize=True, max_examples=300, deadline=None)
@given(messages())
def test_matches_git(message: str) -> None:
    assume(not git_would_hang(message))
    assert parse_trailers(message) == git_parse(message)
