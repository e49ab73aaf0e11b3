"""Authorship share over a range: aiimpact vs a plain ``git blame`` loop, in one run.

    python benchmarks/authorship.py REPO A..B

Times ``Repo.authorship(A..B)`` (files blamed in parallel, tags joined) against a plain
sequential loop of ``git blame --porcelain -M100 -C100 A..B -- <file>`` over the same files,
checks that both attribute every line to the same commit, and prints the ratio (target:
aiimpact at most 1.5x the loop's time). The commits table is mined beforehand (cached), as
in any real use.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time

import aiimpact as ai
from aiimpact.git.blame import text_files


def main() -> None:
    path, rev_range = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        repo = ai.Repo(path, cache_dir=tmp, progress=False)
        end = rev_range.split("..", 1)[1]
        repo.commits(end)  # mined once, as a cache would hold it
        files = text_files(repo.git_dir, end, None)
        t0 = time.perf_counter()
        loop: set[tuple[str, int, str]] = set()
        for f in files:
            out = subprocess.run(
                [
                    "git",
                    "--git-dir",
                    repo.git_dir,
                    "blame",
                    "--porcelain",
                    "-M100",
                    "-C100",
                    rev_range,
                    "--",
                    f,
                ],
                capture_output=True,
                text=True,
                errors="replace",
            ).stdout
            boundary = set(re.findall(r"^([0-9a-f]{40}) .*\n(?:[^\t].*\n)*?boundary$", out, re.M))
            loop |= {
                (f.decode("utf-8", "replace"), int(n), s)
                for s, n in re.findall(r"^([0-9a-f]{40}) \d+ (\d+)", out, re.M)
                if s not in boundary
            }
        loop_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = repo.authorship(rev_range)
        ours_s = time.perf_counter() - t0
        ours = set(result.lines[["path", "line", "sha"]].itertuples(index=False, name=None))
        print(
            f"{repo.name} {rev_range}: {len(files)} files, {result.total_lines} lines written "
            f"in the range, {result.ai_lines} by AI-assisted commits ({result.ai_share:.1%})"
        )
        print(
            f"  plain git blame loop {loop_s:.2f} s; aiimpact {ours_s:.2f} s = "
            f"{ours_s / loop_s:.2f}x (target <= 1.5x); same attribution: {ours == loop} "
            f"({len(ours ^ loop)} lines differ)"
        )


if __name__ == "__main__":
    main()
