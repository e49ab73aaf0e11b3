"""Authorship share: aiimpact vs a plain ``git blame`` loop, in one run.

    python benchmarks/authorship.py REPO A..B
    python benchmarks/authorship.py REPO --releases N [--pattern REGEX] [--cache-dir DIR]

The first form times ``Repo.authorship(A..B)`` (files blamed in parallel, tags joined)
against a plain sequential loop of ``git blame --porcelain -M100 -C100 A..B -- <file>`` over
the same files, checks that both attribute every line to the same commit, and prints the
ratio (target: aiimpact at most 1.5x the loop's time).

The second form takes the last N+1 release tags (``git tag --sort=v:refname``, those that
match *REGEX*: by default ``vX.Y.0``, the releases aider's ``scripts/blame.py`` reports) and
times, over the N consecutive ranges, ``Repo.authorship_many`` and a loop of
``Repo.authorship`` against the plain blame loop over the same files, checks the same
attribution, and prints both ratios (target: at most 1.0x the loop's time).

The commits table is mined beforehand (cached), as in any real use; ``--cache-dir`` reuses a
cache (default: a temporary one).
"""

from __future__ import annotations

import argparse
import itertools
import re
import resource
import subprocess
import tempfile
import time

import aiimpact as ai
from aiimpact.git.blame import text_files

Lines = set[tuple[str, int, str]]
FLAGS = ("-M100", "-C100")


def plain_blame(git_dir: str, rev_range: str, files: list[bytes]) -> Lines:
    """``(path, line, sha)`` of every non-boundary line, one ``git blame`` at a time."""
    found: Lines = set()
    for f in files:
        out = subprocess.run(
            ["git", "--git-dir", git_dir, "blame", "--porcelain", *FLAGS, rev_range, "--", f],
            capture_output=True,
            text=True,
            errors="replace",
        ).stdout
        boundary = set(re.findall(r"^([0-9a-f]{40}) .*\n(?:[^\t].*\n)*?boundary$", out, re.M))
        found |= {
            (f.decode("utf-8", "replace"), int(n), s)
            for s, n in re.findall(r"^([0-9a-f]{40}) \d+ (\d+)", out, re.M)
            if s not in boundary
        }
    return found


def cpu() -> float:
    """CPU seconds used so far by this process and its finished children (the git
    processes): the work done, whatever else the machine runs at the time."""
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def ours(result: ai.Authorship) -> Lines:
    return set(result.lines[["path", "line", "sha"]].itertuples(index=False, name=None))


def one_range(repo: ai.Repo, rev_range: str) -> None:
    end = rev_range.split("..", 1)[1]
    repo.commits(end)  # mined once, as a cache would hold it
    files = text_files(repo.git_dir, end, None)
    t0 = time.perf_counter()
    loop = plain_blame(repo.git_dir, rev_range, files)
    loop_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = repo.authorship(rev_range)
    ours_s = time.perf_counter() - t0
    mine = ours(result)
    print(
        f"{repo.name} {rev_range}: {len(files)} files, {result.total_lines} lines written "
        f"in the range, {result.ai_lines} by AI-assisted commits ({result.ai_share:.1%})"
    )
    print(
        f"  plain git blame loop {loop_s:.2f} s; aiimpact {ours_s:.2f} s = "
        f"{ours_s / loop_s:.2f}x (target <= 1.5x); same attribution: {mine == loop} "
        f"({len(mine ^ loop)} lines differ)"
    )


def releases(repo: ai.Repo, n: int, pattern: str) -> None:
    tags = subprocess.run(
        ["git", "--git-dir", repo.git_dir, "tag", "--sort=v:refname"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    tags = [t for t in tags if re.fullmatch(pattern, t)][-(n + 1) :]
    ranges = [f"{a}..{b}" for a, b in itertools.pairwise(tags)]
    if not ranges:
        raise SystemExit(f"fewer than 2 tags match {pattern!r}")
    repo.commits(tags[-1])  # mined once, as a cache would hold it
    files = {r: text_files(repo.git_dir, r.split("..")[1], None) for r in ranges}
    t0, c0 = time.perf_counter(), cpu()
    loop = {r: plain_blame(repo.git_dir, r, files[r]) for r in ranges}
    loop_s, loop_c = time.perf_counter() - t0, cpu() - c0
    t0, c0 = time.perf_counter(), cpu()
    many = repo.authorship_many(ranges)
    many_s, many_c = time.perf_counter() - t0, cpu() - c0
    t0, c0 = time.perf_counter(), cpu()
    each = [repo.authorship(r) for r in ranges]
    each_s, each_c = time.perf_counter() - t0, cpu() - c0
    same_blame = all(ours(m) == loop[r] for m, r in zip(many, ranges, strict=True))
    same_calls = all(
        m.lines.equals(e.lines) and (m.total_lines, m.ai_lines) == (e.total_lines, e.ai_lines)
        for m, e in zip(many, each, strict=True)
    )
    total = sum(m.total_lines for m in many)
    ai_lines = sum(m.ai_lines for m in many)
    print(
        f"{repo.name}: {len(ranges)} release ranges {ranges[0]} ... {ranges[-1]}, "
        f"{sum(map(len, files.values()))} file blames, {total} lines written in the ranges, "
        f"{ai_lines} by AI-assisted commits ({ai_lines / max(total, 1):.1%})"
    )
    print("  (wall time, and CPU time of this process and its git processes)")
    print(f"  plain git blame loop {loop_s:8.2f} s          CPU {loop_c:8.2f} s")
    for name, wall, used in (
        ("authorship_many     ", many_s, many_c),
        ("loop of authorship  ", each_s, each_c),
    ):
        print(
            f"  {name} {wall:8.2f} s = {wall / loop_s:.2f}x  CPU {used:8.2f} s = "
            f"{used / loop_c:.2f}x"
        )
    print("  (target: authorship_many <= 1.0x the plain loop's wall time)")
    print(
        f"  same attribution as git blame: {same_blame}; authorship_many equals the loop of "
        f"authorship: {same_calls}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("repo")
    p.add_argument("range", nargs="?", help="A..B (the single-range mode)")
    p.add_argument("--releases", type=int, help="N consecutive release ranges")
    p.add_argument("--pattern", default=r"v?\d+\.\d+\.0", help="release tags (a regex)")
    p.add_argument("--cache-dir", help="the aiimpact cache (default: a temporary one)")
    args = p.parse_args()
    if (args.range is None) == (args.releases is None):
        p.error("give either A..B or --releases N")
    with tempfile.TemporaryDirectory() as tmp:
        repo = ai.Repo(args.repo, cache_dir=args.cache_dir or tmp, progress=False)
        if args.releases is None:
            one_range(repo, args.range)
        else:
            releases(repo, args.releases, args.pattern)


if __name__ == "__main__":
    main()
