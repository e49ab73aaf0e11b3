"""mine_many at scale: throughput with 1 and 2 local workers, memory per worker, rerun time.

Generates N synthetic repositories (the realistic generator of ``benchmarks/mine.py``), then
mines them all with ``aiimpact.mine_many`` (commits + outcomes) on a process pool of 1 worker
and, into a fresh dataset and cache, of 2 workers, and finally reruns the complete dataset.
Targets: 2 workers at least 1.8x the throughput of 1; peak memory per worker under 1 GiB; a
rerun of a complete dataset in seconds.

    python benchmarks/many.py                      # 200 repositories of 2,000 commits
    python benchmarks/many.py --repos 20 --commits 500
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import aiimpact as ai
from aiimpact.synth import make_realistic_repo


def run(sources, workers: int, out: Path, cache: Path) -> tuple[float, object]:
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        result = ai.mine_many(sources, executor=pool, out=out, cache_dir=cache, progress=False)
    return time.perf_counter() - t0, result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repos", type=int, default=200)
    p.add_argument("--commits", type=int, default=2000)
    p.add_argument("--work", default="bench/many", help="where repositories and outputs go")
    args = p.parse_args()
    work = Path(args.work)
    repos = work / f"repos-{args.commits}"  # a smaller --repos reuses the first ones
    t0 = time.perf_counter()
    sources = []
    for i in range(args.repos):
        path = repos / f"r{i:03d}.git"
        if not (path / "HEAD").exists():
            shutil.rmtree(path, ignore_errors=True)
            make_realistic_repo(path, args.commits, seed=i)
        sources.append(str(path))
    print(
        f"{args.repos} repositories of {args.commits} commits ready "
        f"({time.perf_counter() - t0:.0f} s)"
    )

    one, r1 = run(sources, 1, work / "out1", work / "cache1")
    two, r2 = run(sources, 2, work / "out2", work / "cache2")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB -> MiB
    t0 = time.perf_counter()
    again = ai.mine_many(sources, out=work / "out2", cache_dir=work / "cache2", progress=False)
    rerun = time.perf_counter() - t0
    commits = r2.rows.get("commits", 0)
    print(f"1 worker : {one:7.1f} s, {commits / one:8.0f} commits/s ({len(r1.failures)} failed)")
    print(f"2 workers: {two:7.1f} s, {commits / two:8.0f} commits/s ({len(r2.failures)} failed)")
    print(f"throughput 2 vs 1 workers: {one / two:.2f}x (target >= 1.8x)")
    print(f"peak memory of the largest worker: {peak:.0f} MiB (target < 1024 MiB)")
    print(
        f"rerun of the complete dataset: {rerun:.2f} s, {len(again.skipped)} skipped "
        f"(target: seconds)"
    )
    agree = ai.open_dataset(work / "out1").sql("SELECT count(*) FROM commits").fetchall()[0][0]
    print(f"rows: {commits} commits with 2 workers, {agree} with 1 worker")
    return 0


if __name__ == "__main__":
    sys.exit(main())
