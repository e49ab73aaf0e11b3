"""What lizard says about one blob: cyclomatic complexity, functions, and the DMM risk
profiles, computed once per blob (content-addressed) in worker processes.

The Delta Maintainability Model (di Biase et al. 2019), as PyDriller computes it: each
function is low-risk or not for three properties (unit size: at most 15 lines of code;
unit complexity: cyclomatic complexity at most 5; unit interfacing: at most 2
parameters), and a file's risk profile is the lines of code of its low-risk and of its
other functions. Source is decoded as UTF-8 with undecodable bytes dropped, and an empty
file has no functions, as in PyDriller.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from functools import lru_cache
from multiprocessing import get_context
from typing import NamedTuple

import lizard
import lizard_languages
import numpy as np

from aiimpact.workers import main_script_hidden

LIZARD_VERSION = importlib.metadata.version("lizard")
SIZE_LOW, COMPLEXITY_LOW, INTERFACING_LOW = 15, 5, 2  # PyDriller's Method thresholds
_BATCH = 64  # blobs per task sent to a worker


class BlobQuality(NamedTuple):
    """lizard's figures for one blob.

    ``ccn``: the sum of its functions' cyclomatic complexity (lizard's file ``CCN``);
    ``nloc``: lines of code; ``functions``: how many; ``size_low`` ... ``interfacing_high``:
    lines of code of the low-risk and other functions for each DMM property; ``signatures``:
    for each function, a hash of its name and parameters and a hash of its text (8 bytes
    each, as bytes), to tell which functions a change touched.
    """

    ccn: int
    nloc: int
    functions: int
    size_low: int
    size_high: int
    complexity_low: int
    complexity_high: int
    interfacing_low: int
    interfacing_high: int
    signatures: bytes


EMPTY = BlobQuality(0, 0, 0, 0, 0, 0, 0, 0, 0, b"")


@lru_cache(maxsize=1 << 16)
def language(filename: str) -> str | None:
    """The lizard reader (language) of a file name, or None when lizard has none."""
    reader = lizard_languages.get_reader_for(filename)
    return None if reader is None else reader.__name__


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def analyze(filename: str, content: bytes) -> BlobQuality | None:
    """The figures of *content* read as the file *filename* (its name picks the language);
    None when lizard fails on it (its readers raise on some real files: on a minified
    JavaScript chunk in sentry-cli, lizard's reader raises IndexError).

    Examples
    --------
    >>> analyze("a.py", b"def f(a, b, c):\\n    if a:\\n        return b\\n    return c\\n")[:4]
    (2, 4, 1, 4)
    """
    source = content.decode("utf-8", "ignore")
    if not source:
        return EMPTY
    try:
        info = lizard.analyze_file.analyze_source_code(filename, source)
    except Exception:  # a bug of lizard's on this file (recursion too): not ours to stop on
        return None
    lines = source.split("\n")
    profile = [0] * 6
    signatures = np.zeros((len(info.function_list), 2), dtype=np.uint64)
    for k, f in enumerate(info.function_list):
        for p, low in enumerate(
            (
                f.nloc <= SIZE_LOW,
                f.cyclomatic_complexity <= COMPLEXITY_LOW,
                len(f.parameters) <= INTERFACING_LOW,
            )
        ):
            profile[2 * p + (0 if low else 1)] += f.nloc
        body = "\n".join(lines[max(f.start_line - 1, 0) : f.end_line])
        signatures[k] = (_digest(f.name + "\0" + "\0".join(f.parameters)), _digest(body))
    figures = [info.CCN, info.nloc, len(info.function_list), *profile, signatures.tobytes()]
    return BlobQuality._make(figures)


def _analyze_batch(
    items: list[tuple[str, str, bytes]],
) -> list[tuple[str, BlobQuality | None]]:
    return [(key, analyze(filename, content)) for key, filename, content in items]


def analyze_many(
    items: Iterable[tuple[str, str, bytes]], workers: int | None = None
) -> Iterator[tuple[str, BlobQuality | None]]:
    """``(key, figures)`` for each ``(key, filename, content)`` of *items* (None where
    lizard fails: :func:`analyze`), analysed in *workers* processes (default: the CPUs; 1:
    in this process), a few batches in flight at a time so that contents are read as fast
    as they are analysed, never all at once."""
    workers = workers or os.cpu_count() or 1
    batches = _batches(items)
    if workers == 1:
        for batch in batches:
            yield from _analyze_batch(batch)
        return
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
        pending: deque[Future] = deque()
        for batch in batches:
            with main_script_hidden():  # the pool starts its workers on demand
                pending.append(pool.submit(_analyze_batch, batch))
            if len(pending) >= 2 * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _batches(items: Iterable[tuple[str, str, bytes]]) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def changed_functions(before: bytes, after: bytes) -> int:
    """Functions (by name and parameters) added, removed, or whose text differs, between
    two blobs' :attr:`BlobQuality.signatures`."""
    old, new = _signatures(before), _signatures(after)
    return sum(old.get(name) != new.get(name) for name in old.keys() | new.keys())


def _signatures(packed: bytes) -> dict[int, int]:
    pairs = np.frombuffer(packed, np.uint64).reshape(-1, 2).tolist() if packed else []
    return {name: body for name, body in pairs}
