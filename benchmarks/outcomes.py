"""Benchmark the outcomes table: the line history against its one ``git log -p`` stream.

Usage::

    python benchmarks/outcomes.py REPO [--new-commits 100] [--fixes 10] [--cache DIR]
                                       [--rounds 1] [--releases 0 [--release-pattern REGEX]]

Every phase runs in its own fresh Python subprocess (this script with ``--child``), so
nothing is shared in memory between phases; the child times only the call (interpreter
start-up and ``import aiimpact`` excluded: the import, about 0.6 s, is printed under the
cold and re-read phases, since a new process pays it once) and prints one JSON line with
its wall time and its peak RSS: ``getrusage(RUSAGE_SELF).ru_maxrss`` (the Python process) and
``getrusage(RUSAGE_CHILDREN).ru_maxrss``. The latter is not git's own peak: Linux carries
the spawning process's high-water mark across ``vfork`` + ``exec``, so every git child
reports at least the Python process's RSS at the time it was started. The git column is
therefore the largest ``VmHWM`` (peak RSS since ``exec``) of the child's descendant
processes, which the parent samples from ``/proc`` every 0.25 s (a git process that lives
less than that can be missed); ``ru_maxrss`` of the children is printed beside it.

1. ``mine`` (setup, timed, not in the ratios): ``Repo(REPO, cache_dir=C).commits()`` and
   ``.file_changes()``, so the mined tables are cached. It runs first because the stream
   leaves out the same files as the line history (``linking.unfollowed``), read from the
   file table. Two copies of the cache are taken here, before any line history is stored,
   for the SZZ phases.
2. ``stream``: the line history's ``git log -p -U0 -M --diff-merges=first-parent
   --topo-order --reverse`` (``aiimpact.git.patches.stream_args``: ``stream_patches``' own
   arguments and pathspecs, through ``GitStream``), lines drained and discarded. This is
   the baseline of the ratios. ``stream + parse``: the same stream through
   ``stream_patches``' parser.
3. ``cold outcomes``: ``Repo(REPO, cache_dir=C).outcomes()`` (the first line replay).
   With ``--rounds N``, the stream and the cold outcomes alternate N times, each cold
   round in its own copy of the mined cache. The summary takes the fastest of each, as
   ``timeit`` takes the minimum: on a shared virtual machine the same work here takes
   10-30% longer from one minute to the next, which one pair of runs turns into the
   ratio. Each round's ratio and their median are printed beside it.
4. ``stored re-read``: ``outcomes()`` again in a new process on the unchanged repository.
5. ``incremental``: in a separate, empty cache, ``outcomes(rev=X)`` where X is the
   first-parent ancestor of HEAD with about ``--new-commits`` commits in ``X..HEAD``, then
   ``outcomes(rev="HEAD")`` in a new process. Each child mines its revision first (timed
   apart); the ratio is of the ``outcomes()`` calls.
6. ``szz``: the ``--fixes`` newest non-merge fixes (``Repo.fixes()``): ``Repo.szz(fixes=...)``
   for the newest one alone and for all of them, each in a copy of the mined cache with no
   stored line history; and PyDriller's ``Git.get_commits_last_modified_lines`` fix by fix,
   on a ``git clone --shared --no-checkout`` of REPO in the temporary dir (made untimed:
   PyDriller cannot open a bare mirror without a config file, and it writes
   ``blame.markUnblamableLines`` into the config of the repository it opens). The share of
   fixes whose inducing sets overlap is reported (PyDriller has no meaningful-line filter).
7. ``authorship`` (with ``--releases N`` > 0): ``benchmarks/authorship.py REPO --releases N``
   (and ``--pattern REGEX`` with ``--release-pattern``: jq's tags are ``jq-1.8.1``), its
   output included verbatim.

``repo.last_report``'s fields about the line history, outcomes and SZZ (any whose name
contains line, history, replay, szz, blame, method, outcome, increment, stored or reason)
are printed under each phase; "n/a (not available)" where the library has none yet.

Caches go to a temporary dir removed at the end; with ``--cache DIR``, to a new
subdirectory of DIR that is kept. A failed phase prints the end of its stderr and the run
goes on; the exit status is then non-zero. Missing a target does not change it.
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
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

RESULT_MARK = "@@bench-result@@ "
KIB_PER_MIB = 1024
NA = "n/a (not available)"
REPORT_WORDS = (
    "line",
    "history",
    "replay",
    "szz",
    "blame",
    "method",
    "outcome",
    "increment",
    "stored",
    "reason",
)
TARGET_COLD = 1.5  # cold outcomes wall / stream wall
TARGET_REREAD = 2.0  # seconds


# ==========================================================================================
# Children: each phase in its own process
# ==========================================================================================
def _jsonable(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set | frozenset) and len(value) <= 10:
        return [_jsonable(v) for v in value]
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _report_fields(report) -> dict:
    """``last_report``'s attributes about the line history, outcomes and SZZ."""
    out = {}
    for name in dir(report):
        if name.startswith("_") or not any(w in name.lower() for w in REPORT_WORDS):
            continue
        try:
            value = getattr(report, name)
        except Exception as exc:  # a property that fails is reported, not fatal
            value = f"<{type(exc).__name__}: {exc}>"
        if not callable(value):
            out[name] = _jsonable(value)
    return out


def _open(spec: dict):
    import aiimpact as ai

    return ai.Repo(spec["repo"], cache_dir=spec["cache"], progress=False)


def _stream_setup(spec: dict):
    """The git dir, tip and excluded paths the line history of HEAD uses (untimed)."""
    from aiimpact.outcomes.linking import unfollowed

    repo = _open(spec)
    exclude = set(unfollowed(repo.file_changes()).paths)
    return repo.git_dir, repo.resolve("HEAD"), exclude


def child_stream(spec: dict) -> dict:
    """Phase 2: the patch stream, drained: ``stream_patches``' own arguments
    (:func:`aiimpact.git.patches.stream_args`) and safety config, without the parser."""
    from aiimpact.git.patches import stream_args
    from aiimpact.git.safety import GitStream

    git_dir, tip, exclude = _stream_setup(spec)
    args = stream_args(tip, exclude)
    t0 = time.perf_counter()
    n = size = 0
    for line in GitStream(git_dir, args, literal_pathspecs=not exclude).lines():
        n += 1
        size += len(line)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "lines": n,
        "bytes": size,
        "excluded": len(exclude),
        "how": "stream_patches' arguments (stream_args)",
        "args": " ".join(a for a in args if not a.startswith(":(exclude")),
    }


def child_parse(spec: dict) -> dict:
    """Phase 2b: the same stream through ``stream_patches``' parser."""
    from aiimpact.git.patches import stream_patches

    git_dir, tip, exclude = _stream_setup(spec)
    t0 = time.perf_counter()
    n = hunks = 0
    for p in stream_patches(git_dir, tip, exclude):
        n += 1
        hunks += sum(len(h) for h in p.files.values())
    return {"seconds": time.perf_counter() - t0, "patches": n, "hunks": hunks}


def child_mine(spec: dict) -> dict:
    """Phase 1: mine the commits and file tables into the cache; then (untimed) the fixes."""
    t0 = time.perf_counter()
    repo = _open(spec)
    commits = repo.commits()
    files = repo.file_changes()
    seconds = time.perf_counter() - t0
    fixes = repo.fixes()
    order = commits[["sha", "commit_time", "parents", "is_merge"]].reset_index(drop=True)
    order["pos"] = range(len(order))
    order = order[order["sha"].isin(set(fixes["sha"])) & ~order["is_merge"].astype(bool)]
    order = order[order["parents"].map(len) > 0]
    order = order.sort_values(["commit_time", "pos"], ascending=[False, True])
    return {
        "seconds": seconds,
        "commits": len(commits),
        "merges": int(commits["is_merge"].astype(bool).sum()),
        "file_rows": len(files),
        "n_fixes": len(fixes),
        "fixes": list(order["sha"].head(spec["n_fixes"])),
    }


def child_outcomes(spec: dict) -> dict:
    """Phases 3-5: ``outcomes(rev)``; with ``mine_first``, its tables are mined first."""
    t0 = time.perf_counter()
    repo = _open(spec)
    rev = spec.get("rev", "HEAD")
    mined = None
    if spec.get("mine_first"):
        repo.commits(rev)
        repo.file_changes(rev)
        mined = time.perf_counter() - t0
        t0 = time.perf_counter()
    table = repo.outcomes(rev=rev)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "mine_seconds": mined,
        "rows": len(table),
        "report": _report_fields(repo.last_report),
    }


def child_szz(spec: dict) -> dict:
    """Phase 6: ``Repo.szz(fixes=...)`` (the default variant) in a cache with no history."""
    t0 = time.perf_counter()
    repo = _open(spec)
    links = repo.szz(fixes=spec["fixes"])
    seconds = time.perf_counter() - t0
    found: dict[str, list[str]] = {f: [] for f in spec["fixes"]}
    for fix, inducing in zip(links["fix_sha"], links["inducing_sha"], strict=True):
        found.setdefault(fix, []).append(inducing)
    variants = links["variant"].value_counts().to_dict() if len(links) else {}
    return {
        "seconds": seconds,
        "links": found,
        "variants": {str(k): int(v) for k, v in variants.items()},
        "report": _report_fields(repo.last_report),
    }


def child_pydriller(spec: dict) -> dict:
    """Phase 6: PyDriller's SZZ, fix by fix, on the clone."""
    from pydriller import Git

    t0 = time.perf_counter()
    git = Git(spec["clone"])
    setup = time.perf_counter() - t0
    per_fix, found, errors = {}, {}, {}
    for sha in spec["fixes"]:
        t1 = time.perf_counter()
        try:
            by_file = git.get_commits_last_modified_lines(git.get_commit(sha))
            found[sha] = sorted({c for shas in by_file.values() for c in shas})
        except Exception as exc:  # one fix PyDriller cannot handle does not end the phase
            errors[sha] = f"{type(exc).__name__}: {exc}"[:200]
        per_fix[sha] = time.perf_counter() - t1
    return {
        "seconds": time.perf_counter() - t0,
        "setup_seconds": setup,
        "per_fix": per_fix,
        "links": found,
        "errors": errors,
    }


CHILDREN = {
    "stream": child_stream,
    "parse": child_parse,
    "mine": child_mine,
    "outcomes": child_outcomes,
    "szz": child_szz,
    "pydriller": child_pydriller,
}


def child(spec: dict) -> None:
    """Run one phase as described by *spec*; print its result as one JSON line. ``import
    aiimpact`` comes first, timed apart (``import_seconds``): a phase times only its call."""
    t0 = time.perf_counter()
    import aiimpact  # noqa: F401

    imported = time.perf_counter() - t0
    result = CHILDREN[spec["kind"]](spec)
    result["import_seconds"] = imported
    result["self_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["git_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(RESULT_MARK + json.dumps(result), flush=True)


# ==========================================================================================
# Parent: run the phases (the parent imports nothing heavy: Linux keeps a process's peak RSS
# across exec, so a child's ru_maxrss is never below the parent's)
# ==========================================================================================
class GitPeak(threading.Thread):
    """The largest ``VmHWM`` (peak RSS since ``exec``) among the descendants of *pid*,
    sampled from ``/proc`` every *interval* seconds; 0 when none was seen (off Linux, or
    every one lived less than *interval*). A ``python`` descendant is skipped: it is a
    ``vfork`` child before its ``exec``, which shares (and reports) the parent's memory."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kb = pid, interval, 0
        self.names: set[str] = set()
        self._stop_event = threading.Event()

    def _descendants(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat", "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                ppid = int(data[data.rfind(b")") + 2 :].split()[1])
                children.setdefault(ppid, []).append(int(name))
        out, stack = [], list(children.get(self.pid, ()))
        while stack:
            pid = stack.pop()
            out.append(pid)
            stack.extend(children.get(pid, ()))
        return out

    def _sample(self) -> None:
        for pid in self._descendants():
            try:
                with open(f"/proc/{pid}/status", "rb") as f:
                    status = f.read().split(b"\n")
            except OSError:
                continue
            fields = dict(line.split(b":", 1) for line in status if b":" in line)
            name = fields.get(b"Name", b"").strip().decode(errors="replace")
            hwm = fields.get(b"VmHWM", b"").split()
            if hwm and not name.startswith("python"):
                self.names.add(name)
                self.peak_kb = max(self.peak_kb, int(hwm[0]))

    def run(self) -> None:
        if not os.path.isdir("/proc/self"):
            return
        while not self._stop_event.is_set():
            try:
                self._sample()
            except Exception:  # a sampler must never break the benchmark
                return
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


@dataclass
class Phase:
    label: str
    result: dict = field(default_factory=dict)
    error: str | None = None
    git_kb: int = 0  # sampled VmHWM of the child's descendants

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.result)

    @property
    def seconds(self) -> float:
        return self.result["seconds"]

    @property
    def rss_mib(self) -> tuple[float, float]:
        """Peak RSS of the Python child and of its largest git (or other) descendant."""
        return self.result["self_kb"] / KIB_PER_MIB, self.git_kb / KIB_PER_MIB

    @property
    def git_mib(self) -> str:
        """The git peak for printing; ``-`` when no git process lived long enough to be
        sampled."""
        return f"{self.git_kb / KIB_PER_MIB:,.0f}" if self.git_kb else "-"


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def tail(text: str, lines: int = 15) -> str:
    return "\n".join("    " + x for x in text.strip().splitlines()[-lines:])


def run_child(label: str, spec: dict) -> Phase:
    """Run one phase in a fresh interpreter; a failure is printed and recorded."""
    progress(f"{label} ...")
    argv = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        sampler = GitPeak(proc.pid)
        sampler.start()
        try:
            proc.wait()
        finally:
            sampler.stop()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    phase = Phase(label, git_kb=sampler.peak_kb)
    marked = [x for x in stdout.splitlines() if x.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not marked:
        phase.error = f"exit status {proc.returncode}" if proc.returncode else "no result"
        print(f"{label}: FAILED ({phase.error}); end of its stderr:\n{tail(stderr)}")
        return phase
    phase.result = json.loads(marked[-1][len(RESULT_MARK) :])
    py, _git = phase.rss_mib
    names = "/".join(sorted(sampler.names)) or "no git process sampled"
    print(
        f"{label}: {phase.seconds:.2f} s, peak RSS {py:,.0f} MiB (python) + {phase.git_mib} "
        f"MiB ({names}, VmHWM; children's ru_maxrss {phase.result['git_kb'] / KIB_PER_MIB:,.0f})"
    )
    return phase


def git_out(repo: str, *args: str) -> str:
    done = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=True)
    return done.stdout


def pick_base(repo: str, n: int) -> tuple[str, int] | None:
    """The first-parent ancestor X of HEAD whose ``X..HEAD`` count is closest to *n*.

    The counts grow along the first-parent chain, so a binary search needs about log2 of
    its length ``git rev-list --count`` calls."""
    chain = git_out(repo, "rev-list", "--first-parent", "HEAD").split()
    if n <= 0 or len(chain) < 2:
        return None
    memo: dict[int, int] = {}

    def count(i: int) -> int:
        if i not in memo:
            memo[i] = int(git_out(repo, "rev-list", "--count", f"{chain[i]}..HEAD"))
        return memo[i]

    lo, hi = 1, len(chain) - 1
    if count(hi) < n:
        return chain[hi], count(hi)
    while lo < hi:  # the smallest i with count(i) >= n
        mid = (lo + hi) // 2
        if count(mid) >= n:
            hi = mid
        else:
            lo = mid + 1
    best = lo
    if lo > 1 and n - count(lo - 1) <= count(lo) - n:
        best = lo - 1
    return chain[best], count(best)


def print_import(phase: Phase) -> None:
    """The phase's ``import aiimpact`` time, which its timer leaves out."""
    if phase.ok:
        seconds = phase.result["import_seconds"]
        total = phase.seconds + seconds
        print(f"  import aiimpact: {seconds:.2f} s before the timer (with it: {total:.2f} s)")


def print_report(phase: Phase, want: tuple[str, ...] = (), what: str = "") -> None:
    """``last_report``'s fields the child collected; *what* is n/a when none of them has a
    name containing one of *want*."""
    if not phase.ok:
        return
    fields = phase.result.get("report") or {}
    text = ", ".join(f"{k}={v!r}" for k, v in sorted(fields.items()))
    print(f"  last_report: {text or NA}")
    if want and not any(w in k.lower() for k in fields for w in want):
        print(f"  last_report {what}: {NA}")


def szz_agreement(ours: dict, pyd: dict, fixes: list[str]) -> None:
    """Per fix: aiimpact's and PyDriller's inducing commits, and whether they overlap."""
    overlap = both_empty = one_empty = 0
    jaccard = []
    print(f"  {'fix':<12} {'aiimpact':>8} {'PyDriller':>9} {'shared':>6} {'PyDriller s':>11}")
    for sha in fixes:
        a, b = set(ours["links"].get(sha, [])), set(pyd["links"].get(sha, []))
        err = pyd["errors"].get(sha)
        shared = len(a & b)
        overlap += shared > 0
        both_empty += not a and not b
        one_empty += bool(a) != bool(b)
        if a | b:
            jaccard.append(shared / len(a | b))
        secs = pyd["per_fix"].get(sha, float("nan"))
        note = f"  PyDriller failed: {err}" if err else ""
        print(f"  {sha[:12]:<12} {len(a):>8} {len(b):>9} {shared:>6} {secs:>11.2f}{note}")
    n = len(fixes)
    mean_j = f"{sum(jaccard) / len(jaccard):.2f}" if jaccard else "n/a"
    print(
        f"  agreement: inducing sets overlap in {overlap}/{n} fixes "
        f"({overlap / n:.0%}); both empty {both_empty}, only one side empty {one_empty}; "
        f"mean Jaccard {mean_j} over {len(jaccard)} fixes with a link"
    )


def run_authorship(repo: str, releases: int, pattern: str | None) -> tuple[bool, float | None]:
    """Phase 7: ``benchmarks/authorship.py REPO --releases N``, output verbatim."""
    script = Path(__file__).with_name("authorship.py")
    extra = ["--releases", str(releases), *(["--pattern", pattern] if pattern else [])]
    progress(f"authorship {' '.join(extra)} ...")
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(script), repo, *extra], capture_output=True, text=True
    )
    seconds = time.perf_counter() - t0
    print(f"\n## authorship per release: {script.name} {repo} {' '.join(extra)}")
    if done.stdout.strip():
        print(done.stdout.rstrip())
    if done.returncode != 0:
        unknown = "unrecognized arguments" in done.stderr
        why = " (the option looks unknown to it)" if unknown else ""
        print(f"authorship.py exited with status {done.returncode}{why}; end of its stderr:")
        print(tail(done.stderr))
        return False, None
    print(f"(authorship.py: {seconds:.1f} s in all, its own mining included)")
    return True, seconds


def load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average n/a"
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}"


def best(phases: list[Phase]) -> Phase:
    """The fastest of *phases* that succeeded (the first, if none did): the one least slowed
    by whatever else the machine was doing, as ``timeit`` takes the minimum."""
    done = [p for p in phases if p.ok]
    return min(done, key=lambda p: p.seconds) if done else phases[0]


def print_rounds(streams: list[Phase], colds: list[Phase]) -> None:
    """Each round's stream, cold outcomes and their ratio; the median of the ratios, and
    the ratio of the fastest of each, which the summary reports."""
    print("\n## rounds (stream and cold outcomes alternated; the summary takes the fastest)")
    ratios = []
    for i, (stream, cold) in enumerate(zip(streams, colds, strict=True), 1):
        if stream.ok and cold.ok:
            ratios.append(cold.seconds / stream.seconds)
            print(
                f"  round {i}: stream {stream.seconds:.2f} s, cold {cold.seconds:.2f} s, "
                f"cold / stream {ratios[-1]:.2f}x"
            )
        else:
            print(f"  round {i}: FAILED")
    fast_stream, fast_cold = best(streams), best(colds)
    if ratios and fast_stream.ok and fast_cold.ok:
        print(
            f"  median of the rounds' ratios {statistics.median(ratios):.2f}x (range "
            f"{min(ratios):.2f}-{max(ratios):.2f}x); fastest cold / fastest stream "
            f"{fast_cold.seconds / fast_stream.seconds:.2f}x; peak RSS of the cold rounds "
            f"{max(c.rss_mib[0] for c in colds if c.ok):,.0f} MiB (python)"
        )


def print_summary(rows: list[tuple], stream: Phase) -> None:
    """phase, wall s, peak RSS MiB, ratio to stream, target, result."""
    head = ("phase", "wall s", "peak RSS MiB (py + git)", "ratio to stream", "target", "result")
    table = []
    for label, phase, target, verdict in rows:
        if phase is None or not phase.ok:
            why = "FAILED" if phase is not None and phase.error else "skipped"
            table.append((label, "-", "-", "-", target, why))
            continue
        py, _git = phase.rss_mib
        ratio = "n/a"
        if label.startswith("mine"):
            ratio = "-"  # setup: not part of the ratios
        elif stream.ok:
            ratio = f"{phase.seconds / stream.seconds:.2f}x"
        rss = f"{py:,.0f} + {phase.git_mib}"
        table.append((label, fmt_s(phase.seconds), rss, ratio, target, verdict))
    widths = [max(len(str(r[i])) for r in [head, *table]) for i in range(len(head))]
    right = {1, 2, 3}

    def line(r) -> str:
        cells = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    print(line(head))
    print("  ".join("-" * w for w in widths))
    for r in table:
        print(line(r))


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("repo", nargs="?")
    ap.add_argument("--new-commits", type=int, default=100, help="X..HEAD size (default 100)")
    ap.add_argument("--fixes", type=int, default=10, help="newest non-merge fixes (default 10)")
    ap.add_argument("--releases", type=int, default=0, help="authorship.py --releases N")
    ap.add_argument("--release-pattern", default=None, help="authorship.py --pattern REGEX")
    ap.add_argument(
        "--rounds", type=int, default=1, help="stream and cold outcomes alternated N times"
    )
    ap.add_argument("--cache", default=None, help="write (and keep) the caches under DIR")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(json.loads(args.child))
        return 0
    if args.repo is None:
        ap.error("REPO is required")
    repo = os.path.abspath(args.repo)
    if args.cache:
        os.makedirs(args.cache, exist_ok=True)
        base = Path(tempfile.mkdtemp(prefix="outcomes-", dir=args.cache))
    else:
        base = Path(tempfile.mkdtemp(prefix="aiimpact-outcomes-"))
    main_cache, incr_cache = base / "main", base / "incremental"
    rounds = max(1, args.rounds)
    cold_caches = [main_cache, *(base / f"cold-{i}" for i in range(2, rounds + 1))]
    szz1_cache, szzn_cache = base / "szz-one", base / "szz-all"
    failed = False
    try:
        total = int(git_out(repo, "rev-list", "--count", "HEAD"))
        print(f"{repo}: {total:,} commits; caches under {base}; {load()}")
        spec = {"repo": repo, "cache": str(main_cache)}

        print("\n## mine (setup: commits + file_changes into the cache)")
        mine = run_child("mine", {**spec, "kind": "mine", "n_fixes": args.fixes})
        if mine.ok:
            r = mine.result
            print(
                f"  {r['commits']:,} commits ({r['merges']:,} merges), {r['file_rows']:,} "
                f"file rows, {r['n_fixes']:,} fixes"
            )
            try:
                for copy in (szz1_cache, szzn_cache, *cold_caches[1:]):  # before any history
                    shutil.copytree(main_cache, copy)
            except OSError as exc:
                print(f"  copying the mined cache for the szz phases failed: {exc}")
                failed = True

        streams, colds = [], []
        parse = None
        for i, cache in enumerate(cold_caches, 1):
            of = f" (round {i} of {rounds})" if rounds > 1 else ""
            print(f"\n## stream{of} (the line history's git log -p, drained)")
            stream = run_child(f"stream{of}", {**spec, "kind": "stream"})
            streams.append(stream)
            if stream.ok and i == 1:
                r = stream.result
                print(
                    f"  {r['lines']:,} lines, {r['bytes'] / 2**20:,.0f} MiB through "
                    f"{r['how']}; {r['excluded']} excluded path(s)\n  git {r['args']}"
                )
            if i == 1:
                parse = run_child("stream + parse", {**spec, "kind": "parse"})
                if parse.ok:
                    r = parse.result
                    print(f"  {r['patches']:,} patches, {r['hunks']:,} hunks")
                    if stream.ok:
                        print(f"  parse / stream: {parse.seconds / stream.seconds:.2f}x")
            print(f"\n## cold outcomes{of} (first line replay; mined tables cached)")
            in_cache = {**spec, "cache": str(cache), "kind": "outcomes"}
            cold = run_child(f"cold outcomes{of}", in_cache)
            colds.append(cold)
            print_report(cold, ("line", "history", "replay"), "line history")
            print_import(cold)
        stream, cold = best(streams), best(colds)
        if rounds > 1:
            print_rounds(streams, colds)
        print("\n## stored re-read (outcomes() again, unchanged repository)")
        reread = run_child("stored re-read", {**spec, "kind": "outcomes"})
        print_report(reread, ("line", "history", "replay", "stored"), "stored outcomes")
        print_import(reread)

        print(f"\n## incremental (about {args.new_commits} new commits, a separate cache)")
        at_x = update = None
        try:
            base_rev = pick_base(repo, args.new_commits)
        except subprocess.CalledProcessError as exc:
            print(f"  choosing X failed (git {' '.join(exc.cmd[3:])}):\n{tail(exc.stderr)}")
            base_rev, failed = None, True
        if base_rev is None:
            print(f"  {NA}: no first-parent ancestor to start from")
        else:
            x, n_new = base_rev
            print(f"  X = {x[:12]}: {n_new:,} commits in X..HEAD ({n_new / total:.1%} of all)")
            incr = {"repo": repo, "cache": str(incr_cache), "kind": "outcomes"}
            at_x = run_child("cold outcomes at X", {**incr, "rev": x, "mine_first": True})
            print_report(at_x, ("line", "history", "replay"), "line history")
            update = run_child("incremental update", {**incr, "rev": "HEAD", "mine_first": True})
            print_report(update, ("line", "history", "replay"), "line history")
            for p in (at_x, update):
                if p.ok:
                    print(f"  {p.label}: mining {p.result['mine_seconds']:.2f} s beforehand")
            if at_x.ok and update.ok:
                print(
                    f"  incremental / cold: {update.seconds / at_x.seconds:.3f} "
                    f"(new commits are {n_new / total:.3f} of the history)"
                )

        print(f"\n## szz on the {args.fixes} newest non-merge fixes")
        fixes = mine.result.get("fixes", []) if mine.ok else []
        szz1 = szzn = pyd = None
        if not fixes:
            print(f"  {NA}: no fixes" + ("" if mine.ok else " (mining failed)"))
        else:
            kind = {"repo": repo, "kind": "szz"}
            szz1 = run_child(
                "szz, newest fix", {**kind, "cache": str(szz1_cache), "fixes": fixes[:1]}
            )
            print_report(szz1, ("szz", "method", "blame"), "szz method")
            szzn = run_child(
                f"szz, {len(fixes)} fixes", {**kind, "cache": str(szzn_cache), "fixes": fixes}
            )
            print_report(szzn, ("szz", "method", "blame"), "szz method")
            if szzn.ok:
                print(f"  link variants: {szzn.result['variants'] or 'none'}")
            clone = base / "pydriller-clone"
            progress("clone --shared for PyDriller (untimed) ...")
            made = subprocess.run(
                ["git", "clone", "-q", "--shared", "--no-checkout", repo, str(clone)],
                capture_output=True,
                text=True,
            )
            if made.returncode:
                print(f"  PyDriller: {NA}: git clone --shared failed:\n{tail(made.stderr)}")
                failed = True
            else:
                print(f"  PyDriller runs on {clone} (git clone --shared --no-checkout, untimed)")
                pyd = run_child(
                    f"PyDriller, {len(fixes)} fixes",
                    {"kind": "pydriller", "clone": str(clone), "fixes": fixes},
                )
            if szzn.ok and pyd is not None and pyd.ok:
                szz_agreement(szzn.result, pyd.result, fixes)
                per = pyd.seconds / len(fixes)
                print(
                    f"  PyDriller {per:.2f} s/fix; aiimpact {szzn.seconds / len(fixes):.2f} "
                    f"s/fix over {len(fixes)}"
                    + (f", {szz1.seconds:.2f} s for one" if szz1.ok else "")
                    + f"; PyDriller / aiimpact ({len(fixes)} fixes): "
                    f"{pyd.seconds / szzn.seconds:.2f}x"
                )

        authorship_ok = True
        if args.releases > 0:
            authorship_ok, _ = run_authorship(repo, args.releases, args.release_pattern)

        print("\n## summary")
        cold_ok = cold.ok and stream.ok
        incr_text = "-"
        if at_x is not None and update is not None and at_x.ok and update.ok:
            incr_text = f"{update.seconds / at_x.seconds:.3f} of cold at X"
        rows = [
            ("git log -p stream (drained)", stream, "baseline", "-"),
            ("stream + Python parse", parse, "-", "-"),
            ("mine (setup)", mine, "-", "-"),
            (
                "cold outcomes",
                cold,
                f"<= {TARGET_COLD}x stream",
                verdict(cold.seconds / stream.seconds <= TARGET_COLD) if cold_ok else "-",
            ),
            (
                "stored re-read",
                reread,
                f"< {TARGET_REREAD:g} s",
                verdict(reread.seconds < TARGET_REREAD) if reread.ok else "-",
            ),
            ("cold outcomes at X", at_x, "-", "-"),
            ("incremental update X..HEAD", update, "small fraction of cold", incr_text),
            ("szz, newest fix", szz1, "one-fix szz seconds", fmt_s(szz1.seconds) + " s")
            if szz1 is not None and szz1.ok
            else ("szz, newest fix", szz1, "one-fix szz seconds", "-"),
            (f"szz, {len(fixes)} fixes", szzn, "-", "-"),
            (f"PyDriller, {len(fixes)} fixes", pyd, "-", "-"),
        ]
        print_summary(rows, stream)
        print(
            "peak RSS: the Python child's ru_maxrss + its largest git process's sampled VmHWM "
            "(-: none lived long enough to be sampled)"
        )
        print(f"\n{load()} at the end")
        phases = [mine, *streams, parse, *colds, reread, at_x, update, szz1, szzn, pyd]
        failed |= any(p is not None and not p.ok for p in phases) or not authorship_ok
        if failed:
            print("\nsome phases FAILED (see above)")
    finally:
        if not args.cache:
            shutil.rmtree(base, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
