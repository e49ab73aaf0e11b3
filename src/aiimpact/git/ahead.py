"""Read a pipe ahead of its consumer, on a thread, up to a bound in bytes.

A pipe holds at most 1 MiB (Linux's default ``pipe-max-size``): while the line history
spends a while on one big commit, git soon fills the pipe and waits, and the two take turns
instead of running side by side. :class:`ReadAhead` lets git write up to *limit* bytes
ahead: a thread moves the pipe's chunks into memory, and :meth:`ReadAhead.lines` splits
them into lines (ending in ``b"\\n"``, as iterating the pipe gives them; a last line without
one is given as it is). On Z3Prover/z3 (16 MiB ahead) the replay took 25-29 s instead of
30-31 s; on aider, whose commits are small, it changes nothing.

git writes in small pieces (aider's stream: 3.7 KiB a read on average); after a read of
less than 256 KiB the thread waits 5 ms for the pipe to fill, rather than taking the GIL
from the replay for every piece.

Examples
--------
>>> import io
>>> ahead = ReadAhead(io.BufferedReader(io.BytesIO(b"a\\nb\\nc")), limit=1 << 20)
>>> ahead.start(); list(ahead.lines())
[b'a\\n', b'b\\n', b'c']
"""

from __future__ import annotations

import io
import threading
import time
from collections import deque
from collections.abc import Iterator
from itertools import chain

_CHUNK = 1 << 20  # bytes asked of the pipe at a time (it gives what it holds, up to this)
_FULL, _PAUSE = 1 << 18, 0.005  # after a smaller read the pipe is let fill for 5 ms


class ReadAhead:
    """The chunks of *source* read by a thread, held in memory up to *limit* bytes."""

    def __init__(self, source: io.BufferedReader, limit: int) -> None:
        self.source, self.limit = source, limit
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self._chunks: deque[bytes] = deque()
        self._held = 0
        self._done = self._stopped = False
        self._error: BaseException | None = None
        self._cond = threading.Condition()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Tell the thread to stop (it ends at its next chunk, or when the pipe closes)."""
        with self._cond:
            self._stopped = True
            self._chunks.clear()
            self._cond.notify_all()

    def _pump(self) -> None:
        try:
            while chunk := self.source.read1(_CHUNK):
                with self._cond:
                    while self._held >= self.limit and not self._stopped:
                        self._cond.wait()
                    if self._stopped:
                        return
                    self._chunks.append(chunk)
                    self._held += len(chunk)
                    self._cond.notify_all()
                if len(chunk) < _FULL:
                    time.sleep(_PAUSE)
        except BaseException as exc:  # given to the consumer, which raises it
            self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def chunks(self) -> Iterator[bytes]:
        """The pipe's bytes in the chunks read, until its end (a read error is raised)."""
        while True:
            with self._cond:
                while not self._chunks and not self._done:
                    self._cond.wait()
                if not self._chunks:
                    break
                chunk = self._chunks.popleft()
                self._held -= len(chunk)
                self._cond.notify_all()
            yield chunk
        if self._error is not None:
            raise self._error

    def lines(self) -> Iterator[bytes]:
        """The pipe's lines: each block of whole lines (:meth:`_blocks`) split by a C-level
        iterator, so a line costs no Python step (git/git's stream: 22.7 M lines)."""
        return chain.from_iterable(map(io.BytesIO, self._blocks()))

    def _blocks(self) -> Iterator[bytes]:
        """The pipe's bytes in blocks of whole lines: each chunk up to its last newline, the
        rest joined to the next chunk (a last line without a newline ends the stream)."""
        rest: list[bytes] = []  # the start of a line that a chunk ended in
        for chunk in self.chunks():
            end = chunk.rfind(b"\n") + 1
            if not end:
                rest.append(chunk)
                continue
            yield b"".join([*rest, chunk[:end]]) if rest else chunk[:end]
            rest = [chunk[end:]] if end < len(chunk) else []
        if rest:
            yield b"".join(rest)
