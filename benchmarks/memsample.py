"""Peak memory of a process tree, sampled: the benchmarks' memory sampler.

Run from a benchmark script (``benchmarks/`` is then on ``sys.path``)::

    from memsample import TreeSampler
    sampler = TreeSampler(proc.pid); sampler.start(); ...; sampler.stop(); sampler.peak_kb

PSS (proportional set size, from ``/proc/<pid>/smaps_rollup``) is summed over the process
and all its descendants (git children included), so shared pages count once; RSS where PSS
is unavailable; nothing off Linux (``enabled`` is then False).
"""

from __future__ import annotations

import os
import threading


def _descendants_pss_kb(root: int) -> int:
    """Summed PSS (RSS if PSS is unavailable) of *root* and all its descendants, in KiB."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        ppid = int(data[data.rfind(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(name))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _pss_kb(pid)
        stack.extend(children.get(pid, ()))
    return total


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        return 0


class TreeSampler(threading.Thread):
    """Sample the summed PSS of a process tree every *interval* seconds; keep the peak."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.enabled = os.path.isdir("/proc/self")
        self._stop_event = threading.Event()

    def run(self) -> None:
        while self.enabled and not self._stop_event.is_set():
            try:
                self.peak_kb = max(self.peak_kb, _descendants_pss_kb(self.pid))
            except Exception:  # a sampler must never break the benchmark
                self.enabled = False
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
