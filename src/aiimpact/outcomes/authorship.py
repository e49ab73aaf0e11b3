"""Authorship share between two revisions: "the AI wrote X% of the code in this release".

For every line of the (text) files at ``B``, the commit in ``A..B`` that introduced it, as
``git blame --porcelain -M100 -C100 A..B -- <file>`` says (moves and copies followed);
lines older than ``A`` are *boundary* lines and are not counted. It is git blame itself,
run on the files in parallel (one process per file, a bounded number at a time), so it
agrees with git blame exactly; the commits' AI tags then say which lines an AI tool wrote.
Many ranges (a project's releases) are blamed in one pool (:func:`blame_ranges`), and only
the commits the blame names need tags (:func:`attribute`).
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd

from aiimpact.errors import MissingObjectsWarning
from aiimpact.git.blame import blame_file, text_files


@dataclass
class Authorship:
    """Who wrote the lines of the files at the end of a range.

    Attributes
    ----------
    range : str
        The ``A..B`` range.
    total_lines, ai_lines : int
        Lines introduced in the range, and those introduced by AI-assisted commits.
    ai_share : float
        ``ai_lines / total_lines`` (NaN when no line was introduced in the range).
    by_file, by_tool, by_author : pandas.DataFrame
        The same counts per file, per AI tool and per author.
    lines : pandas.DataFrame
        One row per counted line: ``path, line, sha`` (the introducing commit).
    unblamed_files : list of str
        Files whose blame needs objects absent from the repository (a partial clone or an
        incomplete mirror): their lines are not counted.
    """

    range: str
    total_lines: int
    ai_lines: int
    ai_share: float
    by_file: pd.DataFrame
    by_tool: pd.DataFrame
    by_author: pd.DataFrame
    lines: pd.DataFrame
    unblamed_files: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The CLI's JSON document."""
        return {
            "range": self.range,
            "total_lines": self.total_lines,
            "ai_lines": self.ai_lines,
            "ai_share": None if pd.isna(self.ai_share) else self.ai_share,
            "by_file": {
                r.path: {"total_lines": int(r.total_lines), "ai_lines": int(r.ai_lines)}
                for r in self.by_file.itertuples()
            },
            "by_tool": {r.tool: int(r.lines) for r in self.by_tool.itertuples()},
        }


@dataclass
class Blamed:
    """The blame of one range: its files (as names) and each file's ``(line, sha)`` rows
    (None for a file whose blame needs absent objects)."""

    range: str
    names: list[str]
    rows: list[list[tuple[int, str]] | None]

    def shas(self) -> set[str]:
        """The commits that introduced the counted lines."""
        return {sha for rows in self.rows for _, sha in rows or ()}


def blame_ranges(
    git_dir: str, ranges: list[str], paths: list[str] | None = None, workers: int | None = None
) -> list[Blamed]:
    """Blame the text files at the end of each range in *ranges*, in one pool of *workers*
    threads (default: the CPUs): every (range, file) blame is one task, so the workers stay
    busy across ranges."""
    ends = [r.split("..", 1)[1] if ".." in r else r for r in ranges]
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        files = list(pool.map(lambda end: text_files(git_dir, end or "HEAD", paths), ends))
        tasks = [(r, path) for r, fs in zip(ranges, files, strict=True) for path in fs]
        done = iter(pool.map(lambda task: blame_file(git_dir, *task), tasks))
        rows = [[next(done) for _ in fs] for fs in files]
    return [
        Blamed(r, [path.decode("utf-8", "replace") for path in fs], rs)
        for r, fs, rs in zip(ranges, files, rows, strict=True)
    ]


def authorship(
    git_dir: str,
    rev_range: str,
    commits: pd.DataFrame,
    paths: list[str] | None = None,
    workers: int | None = None,
) -> Authorship:
    """Attribute every line of the files at the end of *rev_range* (see the module doc).

    *commits* is a commits table with the AI tags (``sha, author_name, ai_assisted,
    ai_tools``) covering the range.
    """
    (blamed,) = blame_ranges(git_dir, [rev_range], paths, workers)
    return attribute(blamed, commits, stacklevel=3)


def attribute(blamed: Blamed, commits: pd.DataFrame, stacklevel: int = 2) -> Authorship:
    """The :class:`Authorship` of one range's blame, *commits* giving the AI tags (``sha,
    author_name, ai_assisted, ai_tools``) of at least the commits it names. Files that
    could not be blamed are warned about (*stacklevel* counted from the caller: 1 names
    the caller's line)."""
    rev_range, names, blamed_rows = blamed.range, blamed.names, blamed.rows
    unblamed = [name for name, rows in zip(names, blamed_rows, strict=True) if rows is None]
    if unblamed:
        warnings.warn(
            f"authorship {rev_range}: {len(unblamed)} file(s) could not be blamed because "
            f"objects are absent from the repository (first: {unblamed[0]!r}); their lines "
            "are not counted",
            MissingObjectsWarning,
            stacklevel=stacklevel + 1,
        )
    lines = pd.DataFrame(
        [
            (path, n, sha)
            for path, rows in zip(names, blamed_rows, strict=True)
            for n, sha in rows or ()
        ],
        columns=["path", "line", "sha"],
    )
    meta = commits.set_index("sha")
    ai = lines["sha"].map(meta["ai_assisted"].fillna(False).astype(bool)).fillna(False)
    lines["ai"] = ai.astype(bool)
    by_file = lines.groupby("path").agg(total_lines=("sha", "size"), ai_lines=("ai", "sum"))
    by_file["ai_share"] = by_file["ai_lines"] / by_file["total_lines"]
    tools: Counter = Counter()
    for sha, n in lines.loc[lines["ai"], "sha"].value_counts().items():
        for tool in meta.at[sha, "ai_tools"]:
            tools[tool] += int(n)
    by_tool = pd.DataFrame(sorted(tools.items(), key=lambda kv: -kv[1]), columns=["tool", "lines"])
    authors = lines.assign(author=lines["sha"].map(meta["author_name"]))
    by_author = (
        authors.groupby("author")
        .agg(lines=("sha", "size"), ai_lines=("ai", "sum"))
        .sort_values("lines", ascending=False)
        .reset_index()
    )
    total, ai_n = len(lines), int(lines["ai"].sum())
    return Authorship(
        rev_range,
        total,
        ai_n,
        ai_n / total if total else float("nan"),
        by_file.reset_index(),
        by_tool,
        by_author,
        lines,
        unblamed,
    )
