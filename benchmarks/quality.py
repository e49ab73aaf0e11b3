"""Benchmark the code-quality columns against PyDriller, and check they agree with it.

Usage::

    python benchmarks/quality.py REPO [--pydriller-commits 300] [--workers N]

1. ``mine`` (setup, untimed in the ratio): ``Repo(REPO, cache_dir=C).commits()`` and
   ``.file_changes()`` into a fresh cache.
2. ``aiimpact cold``: ``Repo.quality()`` over the whole history (every non-merge commit's
   changed files, each blob analysed once by lizard in worker processes).
3. ``aiimpact cached``: the same call in a new ``Repo`` on the same cache (blob figures
   read back from ``quality.duckdb``).
4. ``PyDriller``: ``Repository(clone, order="reverse")`` over the newest
   ``--pydriller-commits`` commits, reading ``dmm_unit_size``, ``dmm_unit_complexity``,
   ``dmm_unit_interfacing`` and, per modified file lizard reads, the complexity after and
   before (``sum(m.complexity for m in methods)`` and ``methods_before``): what the quality
   columns hold. It runs on a ``git clone --shared --no-checkout`` of REPO (untimed):
   PyDriller cannot open a bare mirror and writes into the config of what it opens.

The ratio is of throughput (commits per second): aiimpact's over the whole history against
PyDriller's over its newest commits (the target: at least 10x). Then the agreement on the
commits PyDriller measured: the share whose three ``dmm_*`` and whose complexity delta
equal PyDriller's (the target: all of them), with the first disagreements printed.
Everything runs in this process, one phase after the other; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd

import aiimpact as ai


def _pydriller(clone: Path, n: int) -> tuple[float, dict]:
    from pydriller import Repository

    got: dict[str, tuple] = {}
    failed: list[str] = []  # commits on whose files lizard raised inside PyDriller
    t0 = time.perf_counter()
    for c in Repository(str(clone), order="reverse").traverse_commits():
        try:
            delta = None
            mods = [m for m in c.modified_files if m.language_supported]
            if mods:
                delta = sum(
                    sum(x.complexity for x in m.methods)
                    - sum(x.complexity for x in m.methods_before)
                    for m in mods
                )
            got[c.hash] = (c.dmm_unit_size, c.dmm_unit_complexity, c.dmm_unit_interfacing, delta)
        except Exception as exc:  # lizard's readers raise on some real files
            failed.append(f"{c.hash[:12]} ({type(exc).__name__})")
        if len(got) + len(failed) >= n:
            break
    if failed:
        print(f"PyDriller failed on {len(failed)} commit(s): {', '.join(failed[:5])}")
    return time.perf_counter() - t0, got


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NA:
        return b is None or b is pd.NA or (isinstance(b, float) and math.isnan(b))
    return b is not None and b is not pd.NA and abs(float(a) - float(b)) < 1e-9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("repo")
    ap.add_argument("--pydriller-commits", type=int, default=300)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="aiimpact-quality-") as tmp:
        cache = Path(tmp) / "cache"
        t0 = time.perf_counter()
        repo = ai.Repo(args.repo, cache_dir=cache, workers=args.workers, progress=False)
        commits = repo.commits()
        repo.file_changes()
        print(f"mine (setup): {time.perf_counter() - t0:.1f} s, {len(commits):,} commits")
        t0 = time.perf_counter()
        quality = repo.quality()
        cold = time.perf_counter() - t0
        files = repo.quality(per="file")
        measured = files["language"].notna()
        print(
            f"aiimpact cold: {cold:.1f} s for {len(quality):,} commits "
            f"({len(quality) / cold:,.1f} commits/s); {measured.sum():,} file changes "
            f"lizard reads, {files['missing_blob'].sum():,} with a missing blob, "
            f"{files['analysis_failed'].sum():,} on which lizard failed"
        )
        t0 = time.perf_counter()
        ai.Repo(args.repo, cache_dir=cache, progress=False).quality()
        print(f"aiimpact cached: {time.perf_counter() - t0:.2f} s")
        clone = Path(tmp) / "clone"
        subprocess.run(
            ["git", "clone", "-q", "--shared", "--no-checkout", args.repo, str(clone)], check=True
        )
        seconds, oracle = _pydriller(clone, args.pydriller_commits)
        rate = len(oracle) / seconds
        print(
            f"PyDriller: {seconds:.1f} s for {len(oracle):,} of the newest commits ({rate:,.2f}/s)"
        )
        ratio = len(quality) / cold / rate
        print(f"throughput ratio aiimpact / PyDriller: {ratio:.1f}x (target >= 10x)")
        q = quality.set_index("sha")
        columns = ["dmm_unit_size", "dmm_unit_complexity", "dmm_unit_interfacing"]
        columns.append("complexity_delta")
        agree = {c: 0 for c in columns}
        shown = 0
        for sha, want in oracle.items():
            ours = [q.loc[sha, c] if sha in q.index else None for c in columns]
            for c, a, b in zip(columns, ours, want, strict=True):
                if _same(a, b):
                    agree[c] += 1
                elif shown < 5:
                    shown += 1
                    print(f"  differs: {sha[:12]} {c}: aiimpact {a}, PyDriller {b}")
        for c, n in agree.items():
            print(f"agreement {c}: {n}/{len(oracle)} ({n / len(oracle):.1%})")


if __name__ == "__main__":
    main()
