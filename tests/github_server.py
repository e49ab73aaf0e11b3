"""A small real HTTP server standing in for api.github.com in the client tests.

Routes are added per test; every request is recorded (path, query, headers, status). JSON
routes get a strong ETag and answer ``304`` to a matching ``If-None-Match``, as GitHub does.
Scripted routes answer a sequence of responses (the last one repeats); the special
response :data:`DROP` closes the socket without answering; a reply can also drip its body
(``trickle`` seconds between bytes), send ``filler`` bytes of generated body, or leave out
``Content-Length`` (``length=False``: the body ends when the connection closes). ``POST``
requests go to ``on_post(path, json_body) -> Reply`` (the fake GraphQL endpoint), after
any replies queued with :meth:`GitHubServer.queue_post`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Reply:
    """One scripted answer: status, body (JSON-able, or raw bytes) and extra headers."""

    status: int = 200
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = True  # add an ETag (and honour If-None-Match) on 200 answers
    trickle: float = 0.0  # seconds between the bytes of the body
    filler: int = 0  # a generated body of this many bytes instead of ``body``
    length: bool = True  # announce Content-Length (else close the connection after the body)


DROP = Reply(status=0)  # close the connection without any answer


@dataclass
class Seen:
    """A request the server received, and the status it answered (0: dropped)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int
    body: object = None  # the decoded JSON of a POST


def _key(path: str, query) -> tuple[str, frozenset]:
    return path, frozenset(query.items() if isinstance(query, dict) else query)


class GitHubServer:
    """``ThreadingHTTPServer`` on 127.0.0.1, port 0, served from a daemon thread."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, frozenset], list[Reply]] = {}
        self.requests: list[Seen] = []
        self.on_post = None  # callable(path, body) -> Reply
        self._post_queue: list[Reply] = []
        self._lock = threading.Lock()
        self.bytes_sent = 0  # body bytes written to clients (a client may hang up early)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                server._handle(self)

            def do_POST(self) -> None:
                server._handle_post(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    # -- routes ----------------------------------------------------------------------------
    def add(self, path: str, *replies: Reply | object, query: dict | None = None, **kw) -> None:
        """Serve ``replies`` in order at ``path`` (+ exact ``query``); the last repeats.

        A reply that is not a :class:`Reply` is a JSON body answered with 200 and ``kw``
        (``headers=``, ``etag=``).
        """
        if "?" in path:
            path, qs = path.split("?", 1)
            query = {**dict(parse_qsl(qs)), **(query or {})}
        script = [r if isinstance(r, Reply) else Reply(200, r, **kw) for r in replies]
        with self._lock:
            self.routes[_key(path, {k: str(v) for k, v in (query or {}).items()})] = script

    def queue_post(self, *replies: Reply) -> None:
        """Answer the next POST requests with *replies*, in order, before ``on_post``."""
        with self._lock:
            self._post_queue.extend(replies)

    def statuses(self) -> list[int]:
        return [r.status for r in self.requests]

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- serving ---------------------------------------------------------------------------
    def _handle_post(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        body = json.loads(h.rfile.read(int(h.headers.get("Content-Length") or 0)) or b"null")
        with self._lock:
            queued = self._post_queue.pop(0) if self._post_queue else None
        if queued is not None:
            reply = queued
        elif self.on_post is not None:
            reply = self.on_post(parts.path, body)
        else:
            reply = Reply(404, {"message": "Not Found"})
        self._answer(
            h,
            {},
            Reply(
                reply.status,
                reply.body,
                reply.headers,
                False,
                reply.trickle,
                reply.filler,
                reply.length,
            ),
            body,
        )

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self._lock:
            script = self.routes.get(_key(parts.path, query))
            if script is None:
                reply = Reply(404, {"message": "Not Found", "documentation_url": "test"})
            else:
                reply = script.pop(0) if len(script) > 1 else script[0]
        self._answer(h, query, reply)

    def _answer(self, h, query, reply: Reply, body: object = None) -> None:
        parts = urlsplit(h.path)
        headers = {k.lower(): v for k, v in h.headers.items()}
        if reply.status == 0:
            self._log(h, parts.path, query, headers, 0, body)
            h.close_connection = True
            return
        raw = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        status, out = reply.status, dict(reply.headers)
        if status == 200 and reply.etag and not reply.filler:
            etag = '"' + hashlib.sha1(raw).hexdigest() + '"'
            out.setdefault("ETag", etag)
            if h.headers.get("If-None-Match") == out["ETag"]:
                status, raw = 304, b""
                out = {"ETag": out["ETag"]}  # minimal 304: no Link, the client keeps its own
        self._log(h, parts.path, query, headers, status, body)
        h.send_response(status)
        if status != 304:
            out.setdefault("Content-Type", "application/json; charset=utf-8")
        for name, value in out.items():
            h.send_header(name, value)
        if reply.length:
            h.send_header("Content-Length", str(reply.filler or len(raw)))
        else:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        try:
            self._write(h, raw, reply)
        except (BrokenPipeError, ConnectionResetError):  # the client hung up
            h.close_connection = True

    def _write(self, h, raw: bytes, reply: Reply) -> None:
        if reply.filler:
            block, left = b" " * 65536, reply.filler
            while left > 0:
                n = min(left, len(block))
                h.wfile.write(block[:n])
                left -= n
                self._sent(n)
        elif reply.trickle:
            for i in range(len(raw)):
                h.wfile.write(raw[i : i + 1])
                self._sent(1)
                time.sleep(reply.trickle)
        else:
            h.wfile.write(raw)
            self._sent(len(raw))

    def _sent(self, n: int) -> None:
        with self._lock:
            self.bytes_sent += n

    def _log(self, h, path, query, headers, status, body=None) -> None:
        with self._lock:
            self.requests.append(Seen(h.command, path, query, headers, status, body))
