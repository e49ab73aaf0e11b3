"""Benchmark mining a repository's commits: aiimpact against ``git log`` and PyDriller.

Usage::

    python benchmarks/mine.py REPO [--rounds 3] [--skip-pydriller] [--pydriller-limit N]
    python benchmarks/mine.py --synthetic 100000 [--skip-pydriller] [--rounds 1]

Four approaches produce the same per-commit table (sha, author, committer, dates, message,
files changed, insertions, deletions) for every commit reachable from HEAD:

1. ``git log``: one ``git log --numstat --diff-merges=first-parent --no-renames`` stream,
   parsed into per-commit totals in Python. This is the baseline: the cheapest way to get
   the same numbers out of the git CLI.
2. ``aiimpact cold``: ``ai.Repo(REPO, cache_dir=<fresh dir>, progress=False).commits()``.
3. ``aiimpact cached``: the same call again on the cache dir the cold run just filled.
4. ``PyDriller``: ``Repository(REPO).traverse_commits()``, reading hash, author name and
   email, author and committer dates, message, insertions, deletions and files. With
   ``--pydriller-limit N`` only the first N commits are read and the throughput (commits/s)
   is extrapolated to the whole history.

Each measurement runs in a fresh subprocess (this script with ``--child``): the child times
only the call (imports excluded) and prints the result back as JSON; the parent reads the
child's peak RSS from ``os.wait4`` (the largest single process among the child and every git
process it ran) and samples the summed PSS of the whole process tree. Rounds are interleaved
round-robin (one run of every approach per round) and the median wall time is reported.

The per-commit (files, insertions, deletions) of approaches 1 and 2 are compared for every
commit; the number of disagreements is printed and should be 0. The exit status is 0 unless
something crashed: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from memsample import TreeSampler

from aiimpact.synth import make_realistic_repo

RESULT_MARK = "@@bench-result@@ "
GIT_LOG_FORMAT = "%x00%x01%H%x00%an%x00%ae%x00%at%x00%cn%x00%ce%x00%ct%x00%B%x00"
TARGET_COMMITS = 100_000
MIB = 1024 * 1024


# ==========================================================================================
# Children: each approach, timed in its own process
# ==========================================================================================
def _git_log_argv(repo: str) -> list[str]:
    return [
        "git",
        "-c",
        "log.showRoot=true",
        "--git-dir",
        repo,
        "log",
        "--numstat",
        "--diff-merges=first-parent",
        "--no-renames",
        "--no-ext-diff",
        "--no-textconv",
        "--no-mailmap",
        f"--format={GIT_LOG_FORMAT}",
        "HEAD",
    ]


def _git_log_records(rec: bytes, cols: dict[str, list]) -> None:
    """Parse one commit: 8 NUL-terminated fields, then its ``--numstat`` lines."""
    sha, an, ae, at, cn, ce, ct, body, stat = rec.split(b"\0", 8)
    files = ins = dels = 0
    for line in stat.split(b"\n"):
        if b"\t" in line:
            a, d, _path = line.split(b"\t", 2)
            files += 1
            if a != b"-":  # binary files count no lines
                ins += int(a)
                dels += int(d)
    cols["sha"].append(sha.decode())
    cols["author_name"].append(an.decode("utf-8", "replace"))
    cols["author_email"].append(ae.decode("utf-8", "replace"))
    cols["author_time"].append(int(at))
    cols["committer_name"].append(cn.decode("utf-8", "replace"))
    cols["committer_email"].append(ce.decode("utf-8", "replace"))
    cols["commit_time"].append(int(ct))
    cols["message"].append(body.decode("utf-8", "replace"))
    cols["files_changed"].append(files)
    cols["insertions"].append(ins)
    cols["deletions"].append(dels)


def run_git_log(repo: str) -> dict[str, list]:
    """Approach 1: stream ``git log --numstat`` and parse it into per-commit columns."""
    names = [
        "sha",
        "author_name",
        "author_email",
        "author_time",
        "committer_name",
        "committer_email",
        "commit_time",
        "message",
        "files_changed",
        "insertions",
        "deletions",
    ]
    cols: dict[str, list] = {k: [] for k in names}
    proc = subprocess.Popen(
        _git_log_argv(repo),
        stdout=subprocess.PIPE,
        env={**os.environ, "LC_ALL": "C", "GIT_PAGER": "cat"},
    )
    buf = b""
    while chunk := proc.stdout.read1(1 << 20):
        parts = (buf + chunk).split(b"\0\1")
        buf = parts.pop()
        for rec in parts:
            if rec:
                _git_log_records(rec, cols)
    if buf:
        _git_log_records(buf, cols)
    if proc.wait() != 0:
        raise RuntimeError(f"git log failed with status {proc.returncode}")
    return cols


def run_pydriller(repo: str, limit: int | None) -> list[tuple]:
    """Approach 4: PyDriller, reading the same fields (optionally the first *limit* only)."""
    from pydriller import Repository

    rows = []
    for c in Repository(repo).traverse_commits():
        rows.append(
            (
                c.hash,
                c.author.name,
                c.author.email,
                c.author_date,
                c.committer_date,
                c.msg,
                c.insertions,
                c.deletions,
                c.files,
            )
        )
        if limit and len(rows) >= limit:
            break
    return rows


def _write_dump(path: str, shas, files, ins, dels) -> None:
    with open(path, "w") as f:
        for row in zip(shas, files, ins, dels, strict=True):
            f.write("{}\t{:d}\t{:d}\t{:d}\n".format(*row))


def child(spec: dict) -> None:
    """Run one approach as described by *spec*; print its result as one JSON line."""
    kind, repo, dump = spec["kind"], spec["repo"], spec.get("dump")
    extra: dict = {}
    if kind in ("cold", "cached"):
        import aiimpact as ai

        t0 = time.perf_counter()
        df = ai.Repo(
            repo, cache_dir=spec["cache"], progress=False, workers=spec.get("workers")
        ).commits()
        seconds = time.perf_counter() - t0
        n = len(df)
        if dump:
            _write_dump(
                dump,
                df["sha"],
                df["files_changed"].astype("int64"),
                df["insertions"].astype("int64"),
                df["deletions"].astype("int64"),
            )
    elif kind == "gitlog":
        t0 = time.perf_counter()
        cols = run_git_log(repo)
        seconds = time.perf_counter() - t0
        n = len(cols["sha"])
        if dump:
            _write_dump(
                dump, cols["sha"], cols["files_changed"], cols["insertions"], cols["deletions"]
            )
    elif kind == "pydriller":
        t0 = time.perf_counter()
        rows = run_pydriller(repo, spec.get("limit"))
        seconds = time.perf_counter() - t0
        n = len(rows)
    elif kind == "build":
        t0 = time.perf_counter()
        extra = make_realistic_repo(Path(repo), spec["n"], seed=spec["seed"])
        seconds = time.perf_counter() - t0
        n = extra.pop("commits")
    else:
        raise ValueError(f"unknown approach {kind!r}")
    extra["self_maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(RESULT_MARK + json.dumps({"commits": n, "seconds": seconds, **extra}), flush=True)


# ==========================================================================================
# Parent: run children, measure memory, aggregate
# ==========================================================================================
@dataclass
class Run:
    commits: int
    seconds: float
    maxrss_kb: int
    tree_kb: int | None
    result: dict = field(default_factory=dict)


@dataclass
class Approach:
    key: str
    label: str
    runs: list[Run] = field(default_factory=list)
    limit: int | None = None
    error: str | None = None

    @property
    def commits(self) -> int:
        return self.runs[-1].commits if self.runs else 0

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def rate(self) -> float:
        return self.commits / self.median if self.median > 0 else float("inf")

    @property
    def maxrss_mb(self) -> float:
        return max(r.maxrss_kb for r in self.runs) / 1024

    tree_kb: int | None = None  # from a separate, untimed run with the sampler on

    @property
    def tree_mb(self) -> float | None:
        return self.tree_kb / 1024 if self.tree_kb else None


def run_child(spec: dict, sample: bool = True) -> Run:
    """Run one measurement in a fresh interpreter and collect its result and memory.

    Linux carries a process's peak RSS across ``exec``, and ``subprocess`` starts children
    with ``vfork``: a child's ``ru_maxrss`` is never below this (parent) process's own peak.
    So the parent imports nothing heavy and builds the synthetic repository in a child.
    """
    argv = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
    sampler = TreeSampler(proc.pid)
    sampler.enabled = sample
    sampler.start()
    try:
        out = proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        sampler.stop()
        proc.stdout.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['kind']} child exited with status {proc.returncode}")
    lines = [ln for ln in out.decode().splitlines() if ln.startswith(RESULT_MARK)]
    if not lines:
        raise RuntimeError(f"{spec['kind']} child printed no result")
    res = json.loads(lines[-1][len(RESULT_MARK) :])
    # ru_maxrss is in KiB on Linux: the largest of the child and its reaped descendants.
    return Run(res["commits"], res["seconds"], usage.ru_maxrss, sampler.peak_kb or None, res)


def _read_dump(path: Path) -> dict[str, tuple[int, int, int]]:
    out = {}
    with open(path) as f:
        for line in f:
            sha, files, ins, dels = line.split("\t")
            out[sha] = (int(files), int(ins), int(dels))
    return out


def compare_dumps(gitlog: Path, ours: Path) -> tuple[int, int, list[str]]:
    """Disagreements between the two per-commit tables: (count, commits compared, examples)."""
    a, b = _read_dump(gitlog), _read_dump(ours)
    bad = []
    for sha in sorted(a.keys() | b.keys()):
        if a.get(sha) != b.get(sha):
            bad.append(f"{sha}: git log {a.get(sha)} vs aiimpact {b.get(sha)}")
    return len(bad), len(a.keys() | b.keys()), bad[:5]


def count_commits(repo: str) -> int:
    out = subprocess.run(
        ["git", "--git-dir", repo, "rev-list", "--count", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout)


def git_dir_of(path: str) -> str:
    out = subprocess.run(
        ["git", "-C", path, "rev-parse", "--absolute-git-dir"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


# ==========================================================================================
# Synthetic repository
# ==========================================================================================


# ==========================================================================================
# Report
# ==========================================================================================
def _fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def print_table(approaches: list[Approach], total: int) -> None:
    head = (
        "approach",
        "commits",
        "median wall s",
        "commits/s",
        "peak RSS MB",
        "tree PSS MB",
        "runs (s)",
    )
    rows = []
    for a in approaches:
        if a.error:
            rows.append((a.label, "-", "-", "-", "-", "-", f"FAILED: {a.error}"))
            continue
        if not a.runs:
            rows.append((a.label, "-", "-", "-", "-", "-", "skipped"))
            continue
        commits = f"{a.commits:,}"
        if a.commits < total:
            commits += f" of {total:,}"
        tree = f"{a.tree_mb:,.0f}" if a.tree_mb else "n/a"
        runs = " ".join(f"{r.seconds:.2f}" for r in a.runs)
        rows.append(
            (
                a.label,
                commits,
                f"{a.median:.3f}",
                _fmt_rate(a.rate),
                f"{a.maxrss_mb:,.0f}",
                tree,
                runs,
            )
        )
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    right = {1, 2, 3, 4, 5}

    def line(r) -> str:
        cells = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    print(line(head))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def print_targets(by: dict[str, Approach], total: int) -> None:
    """The ratios the project's targets are stated in, with a verdict for each."""
    cold, cached, gitlog, pyd = by["cold"], by["cached"], by["gitlog"], by.get("pydriller")
    small = total < TARGET_COMMITS
    at_size = f"target stated for {TARGET_COMMITS:,} commits; this history has {total:,}"
    rows: list[tuple[str, str, str, str, str]] = []

    def verdict(cond: bool) -> str:
        return "met" if cond else "NOT met"

    if cold.runs and gitlog.runs:
        r = cold.median / gitlog.median
        rows.append(
            ("aiimpact cold wall / git log wall", f"{r:.2f}", "<= 1.0", verdict(r <= 1), "")
        )
    if pyd is None:
        rows.append(("aiimpact / PyDriller throughput", "n/a", ">= 20x", "-", "PyDriller skipped"))
    elif cold.runs and pyd.runs:
        r = cold.rate / pyd.rate
        note = ""
        if pyd.commits < total:
            note = (
                f"PyDriller measured on its first {pyd.commits:,} commits and extrapolated "
                f"(whole history ~{total / pyd.rate:,.0f} s)"
            )
        rows.append(
            ("aiimpact / PyDriller throughput", f"{r:.1f}x", ">= 20x", verdict(r >= 20), note)
        )
    if cached.runs:
        sec = cached.median
        note = ""
        if small:
            note = f"{at_size}; linear to {TARGET_COMMITS:,}: {sec * TARGET_COMMITS / total:.2f} s"
        rows.append(("aiimpact cached second run", f"{sec:.2f} s", "< 2 s", verdict(sec < 2), note))
    if cold.runs:
        mb = cold.maxrss_mb
        note = f"whole process tree {cold.tree_mb:,.0f} MB PSS" if cold.tree_mb else ""
        if small:
            note = f"{note}; {at_size}" if note else at_size
        rows.append(
            ("aiimpact cold peak RSS", f"{mb:,.0f} MB", "< 1024 MB", verdict(mb < 1024), note)
        )
    head = ("target", "value", "goal", "verdict", "")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    print("Targets")
    for r in [head, *rows]:
        cells = [
            r[0].ljust(widths[0]),
            r[1].rjust(widths[1]),
            r[2].ljust(widths[2]),
            r[3].ljust(widths[3]),
            r[4],
        ]
        print("  " + "  ".join(cells).rstrip())


# ==========================================================================================
# Main
# ==========================================================================================
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark aiimpact's commit mining against git log and PyDriller."
    )
    p.add_argument("repo", nargs="?", help="repository to mine (bare or with a work tree)")
    p.add_argument(
        "--synthetic",
        type=int,
        metavar="N",
        help="build a synthetic repository of N commits and benchmark it",
    )
    p.add_argument(
        "--synthetic-dir",
        type=Path,
        metavar="DIR",
        help="build the synthetic repository here and keep it (reused if it "
        "already holds a repository)",
    )
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--skip-pydriller", action="store_true")
    p.add_argument(
        "--pydriller-limit",
        type=int,
        metavar="N",
        help="read only the first N commits with PyDriller and extrapolate",
    )
    p.add_argument("--workers", type=int, help="aiimpact workers (default: number of CPUs)")
    p.add_argument("--seed", type=int, default=7, help="seed of the synthetic history")
    args = p.parse_args(argv)
    if args.repo and args.synthetic:
        p.error("give REPO or --synthetic N, not both")
    if not args.repo and not args.synthetic:
        args.synthetic = TARGET_COMMITS  # `make bench`: the scale the targets are stated at
    if args.synthetic and args.pydriller_limit is None and not args.skip_pydriller:
        args.pydriller_limit = 2000
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="aiimpact-bench-"))
    try:
        return _main(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _main(args: argparse.Namespace, work: Path) -> int:
    if args.synthetic:
        target = args.synthetic_dir or work / "synthetic.git"
        if (target / "HEAD").exists():
            print(f"Reusing synthetic repository {target}")
        else:
            print(
                f"Building a synthetic repository of {args.synthetic:,} commits in {target} ...",
                flush=True,
            )
            # In a child: the parent must stay small (see run_child).
            spec = {"kind": "build", "repo": str(target), "n": args.synthetic, "seed": args.seed}
            info = run_child(spec, sample=False).result
            print(
                f"  built in {info['seconds']:.1f} s: {info['commits']:,} commits, "
                f"{info['merges']:,} merges, {info['files_at_head']:,} files at HEAD"
            )
        repo = str(target)
    else:
        repo = git_dir_of(args.repo)
    total = count_commits(repo)
    size = subprocess.run(
        ["git", "--git-dir", repo, "count-objects", "-vH"], capture_output=True, text=True
    ).stdout
    pack = next(
        (ln.split(":", 1)[1].strip() for ln in size.splitlines() if ln.startswith("size-pack")), "?"
    )
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout
    print(f"Repository: {repo}")
    print(
        f"  {total:,} commits reachable from HEAD, pack {pack}; {os.cpu_count()} CPUs; "
        f"git {git_version.split()[-1]}; {args.rounds} round(s), interleaved"
    )

    approaches = [
        Approach("gitlog", "git log --numstat (baseline)"),
        Approach("cold", "aiimpact cold"),
        Approach("cached", "aiimpact cached"),
    ]
    if not args.skip_pydriller:
        lim = args.pydriller_limit
        lim = lim if lim and lim < total else None
        label = "PyDriller" + (f" (first {lim:,})" if lim else "")
        approaches.append(Approach("pydriller", label, limit=lim))
    by = {a.key: a for a in approaches}
    dumps = {"gitlog": work / "gitlog.tsv", "cold": work / "aiimpact.tsv"}
    crashed = False

    for rnd in range(args.rounds):
        cache = work / f"cache-{rnd}"
        for a in approaches:
            if a.error:
                continue
            if a.key == "cached" and by["cold"].error:
                a.error = "needs the cold run's cache"
                continue
            spec: dict = {"kind": a.key, "repo": repo}
            if a.key in ("cold", "cached"):
                spec["cache"] = str(cache)
                spec["workers"] = args.workers
            if a.key == "pydriller":
                spec["limit"] = a.limit
            if rnd == 0 and a.key in dumps:
                spec["dump"] = str(dumps[a.key])
            print(f"  round {rnd + 1}/{args.rounds}: {a.label} ...", end=" ", flush=True)
            try:
                # No memory sampling while timing: the sampler would take CPU from whichever
                # approach keeps both cores busy.
                r = run_child(spec, sample=False)
            except Exception as exc:
                print("FAILED")
                a.error = str(exc)
                crashed = True
                continue
            a.runs.append(r)
            print(
                f"{r.seconds:.2f} s, {r.commits:,} commits, peak RSS {r.maxrss_kb / 1024:.0f} MB",
                flush=True,
            )
        shutil.rmtree(cache, ignore_errors=True)
    # One more, untimed, run of each fast approach, to sample its process tree's memory.
    cache = work / "cache-memory"
    for a in approaches:
        if a.error or a.key == "pydriller":
            continue
        spec = {"kind": a.key, "repo": repo, "cache": str(cache), "workers": args.workers}
        if a.key == "cached":
            run_child({**spec, "kind": "cold"}, sample=False)
        a.tree_kb = run_child(spec).tree_kb
    shutil.rmtree(cache, ignore_errors=True)
    # The floor under every child's peak RSS: this process's own peak while it spawned them.
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print()
    print(
        f"Results: median of {args.rounds} round(s); wall time is the call only, imports excluded"
    )
    print()
    print_table(approaches, total)
    print()
    if all(p.exists() for p in dumps.values()):
        bad, compared, examples = compare_dumps(dumps["gitlog"], dumps["cold"])
        print(
            f"Per-commit (files, insertions, deletions), git log vs aiimpact: "
            f"{compared:,} commits compared, {bad} disagreement(s)"
        )
        for e in examples:
            print(f"    {e}")
    else:
        print("Per-commit agreement: not checked (a run failed)")
    for a in approaches:
        if a.runs and a.commits not in (total, a.limit):
            print(f"  note: {a.label} returned {a.commits:,} commits, rev-list counts {total:,}")
    print()
    print_targets(by, total)
    print()
    print(
        "peak RSS: ru_maxrss from os.wait4, the largest single process among the child and "
        "the git\nprocesses it ran (Linux keeps the spawning parent's peak across exec, so "
        f"no value is below\nthis parent's {floor:.0f} MB). tree PSS: peak of the summed PSS "
        "of the child and all its running\ndescendants, sampled every 0.2 s in one extra, "
        "untimed\nrun (what the approach holds at once; sampling is off while timing)."
    )
    return 1 if crashed else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(json.loads(sys.argv[2]))
    else:
        sys.exit(main())
