"""The GitHub HTTP client: every REST and GraphQL request goes through :class:`GitHubClient`.

It authenticates with a token (argument or ``$GITHUB_TOKEN``) against an API root
(argument, ``$GITHUB_API_URL`` or https://api.github.com), follows ``Link: rel="next"``
pagination exactly as the server writes it, waits out primary and secondary rate limits,
retries 5xx answers and dropped connections with backoff, and keeps an ETag cache in a
DuckDB file (:class:`~aiimpact.platforms.github.cache.EtagCache`) so that a second run over
unchanged data costs only ``304 Not Modified`` answers (which GitHub does not count against
the rate limit).

Every wait is bounded: a rate limit that asks for more than ``max_wait`` seconds stops the
run with a :class:`GitHubAPIError` (what was fetched stays stored, the next run continues),
a backoff step never exceeds ``max_backoff``, one exchange must complete within
``deadline`` seconds, and a body larger than ``max_body`` bytes is refused unread.

The token (and credentials written into the API URL) is sent only to the API root's origin
and never appears in logs, exceptions, reprs or the cache.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from aiimpact.errors import AiimpactError, InputError
from aiimpact.platforms.github.answers import expect, parse_json
from aiimpact.platforms.github.cache import EtagCache

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
SECONDARY_MIN_WAIT = 60.0  # GitHub: "wait at least one minute" without Retry-After
DEFAULT_MAX_WAIT = 3900.0  # a primary limit resets within the hour (+ clock skew)
DEFAULT_MAX_BACKOFF = 300.0  # cap of one exponential backoff step
DEFAULT_DEADLINE = 300.0  # seconds for one whole exchange (connect, headers, body)
DEFAULT_MAX_BODY = 50 * 2**20  # bytes of one decoded response body

_LINK_RE = re.compile(r"<([^>]*)>\s*;\s*rel=\"?([^\",;]+)\"?")
_USERINFO_RE = re.compile(r"(?<=://)[^/?#\s]*@")


class GitHubAPIError(AiimpactError):
    """GitHub kept failing (limits, 5xx, dropped connections) or answered an unexpected status.

    Attributes
    ----------
    status : int or None
        The last HTTP status seen, ``None`` when the connection itself failed.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _Overdue(Exception):
    """An exchange did not complete within the client's deadline (retried like a drop)."""


@dataclass
class _Answer:
    """One complete HTTP answer: its body is read whole (within ``max_body``)."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    reason_phrase: str


def parse_link_header(value: str | None) -> dict[str, str]:
    """Map each ``rel`` of an RFC 8288 ``Link`` header to its URL, verbatim.

    Examples
    --------
    >>> parse_link_header('<https://x/repositories/1/pulls?page=2>; rel="next"')
    {'next': 'https://x/repositories/1/pulls?page=2'}
    """
    links: dict[str, str] = {}
    for url, rels in _LINK_RE.findall(value or ""):
        for rel in rels.split():
            links.setdefault(rel, url)
    return links


def _redact(text: str) -> str:
    """*text* with the credentials of every ``scheme://user:password@host`` URL as ``***``."""
    return _USERINFO_RE.sub("***@", text)


def without_userinfo(url: str) -> str:
    """*url* with its ``user:password@`` removed (the form URLs are keyed and stored by)."""
    return _USERINFO_RE.sub("", url)


def _number(value: str | None) -> float | None:
    """A header's finite number, or ``None`` (absent, not a number, inf or nan)."""
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


class GitHubClient:
    """Authenticated, rate-limit aware, ETag-caching GitHub REST client.

    Parameters
    ----------
    token : str, optional
        Personal access or app token; default ``$GITHUB_TOKEN``; none means anonymous
        requests (60 per hour).
    api_url : str, optional
        API root; default ``$GITHUB_API_URL``, else https://api.github.com. For GitHub
        Enterprise Server use ``https://HOST/api/v3``. Credentials written into it
        (``https://user:password@HOST/...``) are sent as Basic auth to that origin when
        there is no token, and are never printed, logged or stored.
    cache_path : str or path, optional
        DuckDB file keeping ETag + body per URL; requests then carry ``If-None-Match`` and
        a ``304`` reuses the stored body. ``None`` disables the cache.
    sleep, clock : callable
        Injected ``time.sleep`` and ``time.time`` (tests pass fakes).
    max_retries : int
        Retries of one request (rate limits, 5xx, dropped connections) before
        :class:`GitHubAPIError`.
    timeout : float
        Seconds to connect, and seconds of silence allowed while reading.
    deadline : float
        Seconds one whole exchange (connect, headers, body) may take; an answer still
        incomplete then (a body trickling in) is dropped and retried like a lost connection.
    max_wait : float
        Longest wait a rate limit may ask for (its reset, or ``Retry-After``); a longer one
        stops with :class:`GitHubAPIError` instead of sleeping.
    max_backoff : float
        Longest step of the client's own exponential backoff (a secondary limit without
        ``Retry-After``, 5xx answers, dropped connections).
    max_body : int
        Largest response body, in bytes (decoded); a larger one is refused with
        :class:`InputError` without being read whole.

    Examples
    --------
    >>> with GitHubClient() as gh:  # doctest: +SKIP
    ...     body, headers = gh.get_json("/repos/octocat/hello-world")
    ...     for page in gh.paginate("/repos/octocat/hello-world/pulls", {"per_page": 100}):
    ...         print(len(page))
    """

    def __init__(
        self,
        token: str | None = None,
        api_url: str | None = None,
        cache_path: str | os.PathLike | None = None,
        sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_retries: int = 6,
        timeout: float = 30.0,
        *,
        deadline: float = DEFAULT_DEADLINE,
        max_wait: float = DEFAULT_MAX_WAIT,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        token = token if token is not None else os.environ.get("GITHUB_TOKEN")
        self._token = token.strip() if token and token.strip() else None
        given = (api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).strip()
        self.api_url = without_userinfo(given).rstrip("/")
        root: httpx.URL | None
        with_userinfo: httpx.URL | None
        try:
            root, with_userinfo = httpx.URL(self.api_url), httpx.URL(given)
        except httpx.InvalidURL:
            root = with_userinfo = None
        if (
            root is None
            or with_userinfo is None
            or root.scheme not in ("http", "https")
            or not root.host
        ):
            raise InputError(f"GitHub API URL {_redact(given)!r} is not an http(s) URL")
        self._origin = (root.scheme, root.host, root.port)
        self._basic: str | None = None
        self._secrets = [self._token] if self._token else []
        if with_userinfo.userinfo:
            user, password = with_userinfo.username, with_userinfo.password
            self._basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            self._secrets.append(password or user)  # a lone user part is a token
        self._sleep = sleep
        self._clock = clock
        self.max_retries = max(0, int(max_retries))
        self.deadline = float(deadline)
        self.max_wait = float(max_wait)
        self.max_backoff = float(max_backoff)
        self.max_body = int(max_body)
        self.cache_path = Path(cache_path) if cache_path is not None else None
        self._cache = EtagCache(self.cache_path) if self.cache_path is not None else None
        self._http = httpx.Client(
            timeout=timeout,
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "aiimpact",
            },
        )
        self._remaining: int | None = None
        self._reset: float | None = None
        self.requests_made = 0
        self.graphql_errors = 0

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Close the HTTP connections and the cache file."""
        self._http.close()
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"GitHubClient(api_url={self.api_url!r}, authenticated={self._token is not None}, "
            f"cache_path={str(self.cache_path) if self.cache_path else None!r})"
        )

    # -- requests -------------------------------------------------------------------------
    def _url(self, url_or_path: str, params: Mapping[str, Any] | None) -> httpx.URL:
        if url_or_path.startswith(("http://", "https://")):
            url = httpx.URL(url_or_path)
        else:
            url = httpx.URL(self.api_url + "/" + url_or_path.lstrip("/"))
        if params:
            url = url.copy_merge_params({k: str(v) for k, v in params.items()})
        return url

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _redact(text)

    def _note_rate(self, headers: httpx.Headers) -> None:
        try:
            remaining = int(headers["x-ratelimit-remaining"])
        except (KeyError, ValueError):
            return
        reset = _number(headers.get("x-ratelimit-reset"))
        if reset is not None:
            self._remaining, self._reset = remaining, reset

    def _bounded(self, wait: float, why: str) -> float:
        """*wait* (seconds a rate limit asks for), or :class:`GitHubAPIError` past ``max_wait``."""
        if wait <= self.max_wait:
            return wait
        try:
            until = f" (at {datetime.fromtimestamp(self._clock() + wait, UTC):%Y-%m-%d %H:%M} UTC)"
        except (OverflowError, OSError, ValueError):
            until = ""
        raise GitHubAPIError(
            f"GitHub {why} asks for a wait of {wait:.0f} s{until}, more than max_wait="
            f"{self.max_wait:.0f} s: stopping; what was fetched is kept and the next run "
            "continues from there"
        )

    def _backoff(self, base: float, step: int) -> float:
        """The client's own exponential wait: ``base * 2**step``, at most ``max_backoff``."""
        return max(min(base * 2.0 ** min(step, 64), self.max_backoff), 0.0)

    def _retry_delay(self, attempt: int) -> float:
        """The wait before retrying a dropped connection or a 5xx: backoff, at most 60 s."""
        return min(self._backoff(1.0, attempt), 60.0)

    def _until_reset(self, reset: float) -> float:
        """Seconds until *reset* (an ``X-RateLimit-Reset`` epoch), plus one (negative when
        the reset is long past)."""
        return reset - self._clock() + 1.0

    def _wait_for_reset(self, why: str) -> None:
        """Sleep until ``X-RateLimit-Reset`` (+1 s) when the primary budget is spent."""
        remaining, self._remaining = self._remaining, None
        if remaining == 0 and self._reset is not None:
            wait = self._bounded(max(self._until_reset(self._reset), 1.0), "primary rate limit")
            log.warning("GitHub primary rate limit %s; waiting %.0f s for the reset", why, wait)
            self._sleep(wait)

    @staticmethod
    def _message(resp: _Answer) -> str:
        try:
            msg = json.loads(resp.content).get("message")
        except (ValueError, AttributeError, RecursionError):
            msg = None
        return str(msg)[:500] if msg else resp.reason_phrase

    def _what(self, url: httpx.URL) -> str:
        m = re.search(r"/repos/([^/]+/[^/?]+)", url.path)
        if m:
            return f"repository {m.group(1)}"
        m = re.search(r"/repositories/(\d+)", url.path)
        return f"repository id {m.group(1)}" if m else f"resource {url.path}"

    def get_json(
        self, url_or_path: str, params: Mapping[str, Any] | None = None
    ) -> tuple[Any, httpx.Headers]:
        """GET one URL and return its decoded JSON body and its headers.

        Parameters
        ----------
        url_or_path : str
            An absolute URL (e.g. a ``Link`` target, used verbatim) or a path under the API
            root such as ``/repos/OWNER/NAME/pulls/1``.
        params : mapping, optional
            Query parameters, merged into the URL.

        Returns
        -------
        body : object
            The decoded JSON (from the cache when the server answers ``304``).
        headers : httpx.Headers
            Response headers; for a ``304`` the stored ``Link`` is restored.

        Raises
        ------
        InputError
            401 (token rejected), 404 (repository missing or private), 403 that is not a
            rate limit, malformed JSON, a body larger than ``max_body``, a redirect loop.
        GitHubAPIError
            Still failing after ``max_retries`` retries, a rate limit asking for more than
            ``max_wait``, or another unexpected status.

        Examples
        --------
        >>> gh = GitHubClient(token="...")  # doctest: +SKIP
        >>> pull, headers = gh.get_json("/repos/octocat/hello-world/pulls/1")  # doctest: +SKIP
        >>> pull["number"], headers["x-ratelimit-remaining"]  # doctest: +SKIP
        (1, '4999')
        """
        url = self._url(url_or_path, params)
        key = without_userinfo(str(url))
        cached = self._cache.get(key) if self._cache is not None else None
        headers: dict[str, str] = {}
        if cached is not None:
            headers["If-None-Match"] = cached.etag
        resp = self._send("GET", url, headers, cached_ok=cached is not None)
        if resp.status_code == 304 and cached is not None:
            out = httpx.Headers(resp.headers)
            if cached.link and "link" not in out:
                out["Link"] = cached.link
            return cached.body, out
        return self._decode(resp, key), resp.headers

    def _exchange(self, method: str, url: httpx.URL, headers: dict[str, str], body: Any) -> _Answer:
        """One HTTP exchange, redirects followed (a renamed repository answers 301; httpx
        drops the credentials cross-origin) without reading their bodies, and the final
        body read as it arrives, within ``deadline`` and ``max_body``."""
        started = time.monotonic()
        request = self._http.build_request(method, url, headers=headers, json=body)
        for _ in range(self._http.max_redirects + 1):
            resp = self._http.send(request, stream=True)
            try:
                if resp.next_request is None:
                    return self._read(resp, method, url, started)
                request = resp.next_request
            finally:
                resp.close()
            if time.monotonic() - started > self.deadline:
                raise _Overdue(f"no complete answer within the {self.deadline:g} s deadline")
        raise InputError(
            f"GitHub redirect loop: {method} {without_userinfo(str(url))} was redirected more "
            f"than {self._http.max_redirects} times (is the API URL right?)"
        )

    def _read(self, resp: httpx.Response, method: str, url: httpx.URL, started: float) -> _Answer:
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise self._too_big(method, url, f"it announces {int(declared)} bytes")
        chunks, size = [], 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > self.max_body:
                raise self._too_big(method, url, "its body kept coming")
            if time.monotonic() - started > self.deadline:
                raise _Overdue(f"no complete answer within the {self.deadline:g} s deadline")
            chunks.append(chunk)
        return _Answer(resp.status_code, resp.headers, b"".join(chunks), resp.reason_phrase)

    def _too_big(self, method: str, url: httpx.URL, why: str) -> InputError:
        return InputError(
            f"GitHub's answer to {method} {without_userinfo(str(url))} is larger than "
            f"max_body={self.max_body} bytes ({why}); refused without reading it whole"
        )

    def _send(
        self,
        method: str,
        url: httpx.URL,
        headers: dict[str, str],
        body: Any = None,
        cached_ok: bool = False,
    ) -> _Answer:
        """One request, retried through rate limits, 5xx and dropped connections.

        Returns the first 2xx answer (or a ``304`` when *cached_ok*); raises
        :class:`InputError` for 401, 404, a 403 that is no rate limit, a redirect loop and
        a body over ``max_body``, and :class:`GitHubAPIError` for anything else, a rate
        limit past ``max_wait``, or when the retries are spent.
        """
        key = without_userinfo(str(url))
        headers = dict(headers)
        if (url.scheme, url.host, url.port) == self._origin:
            credential = f"Bearer {self._token}" if self._token else self._basic
            if credential:
                headers["Authorization"] = credential
        attempt = 0
        secondary_hits = 0
        last_exc: Exception | None = None
        while True:
            self._wait_for_reset("reached")
            status: int | None = None
            try:
                self.requests_made += 1
                resp = self._exchange(method, url, headers, body)
            except httpx.DecodingError as exc:
                raise InputError(
                    f"GitHub sent a body that cannot be decoded for {key} ({type(exc).__name__})"
                ) from None
            except httpx.TransportError as exc:
                last_exc, problem = exc, f"connection failed ({type(exc).__name__})"
                delay = self._retry_delay(attempt)
            except _Overdue as exc:  # a trickling answer: retried as a lost connection
                last_exc, problem = exc, str(exc)
                delay = self._retry_delay(attempt)
            else:
                last_exc = None
                status = resp.status_code
                self._note_rate(resp.headers)
                log.debug("%s %s -> %s", method, key, status)
                if 200 <= status < 300 or (status == 304 and cached_ok):
                    return resp
                if status == 401:
                    raise InputError(
                        "GitHub rejected the token (401): it is missing, expired or revoked; "
                        "set $GITHUB_TOKEN or pass token= with a valid token"
                    ) from None
                if status == 404:
                    raise InputError(
                        f"GitHub answered 404 for {url.path}: {self._what(url)} was not found "
                        "or is private (a token that can read it is needed)"
                    ) from None
                if status in (403, 429):
                    limit, problem = self._limit_delay(resp, status, secondary_hits)
                    if limit is None:
                        raise InputError(
                            self._scrub(
                                f"GitHub refused access (403) to {url.path}: {self._message(resp)}"
                            )
                        ) from None
                    delay = limit
                    if problem.startswith("secondary"):
                        secondary_hits += 1
                elif status >= 500:
                    problem = f"server error {status}"
                    delay = self._retry_delay(attempt)
                else:
                    raise GitHubAPIError(
                        self._scrub(
                            f"GitHub answered {status} to {method} {key}: {self._message(resp)}"
                        ),
                        status,
                    ) from None
            if attempt >= self.max_retries:
                raise GitHubAPIError(
                    f"{method} {key} still failing after {self.max_retries} retries: {problem}",
                    status,
                ) from last_exc
            attempt += 1
            if delay > 0:
                log.warning("%s %s: %s; retry %d in %.0f s", method, key, problem, attempt, delay)
                self._sleep(delay)

    @property
    def graphql_url(self) -> str:
        """The GraphQL endpoint of the API root (``/api/v3`` roots use ``/api/graphql``)."""
        if self.api_url.endswith("/api/v3"):
            return self.api_url[: -len("/v3")] + "/graphql"
        return self.api_url + "/graphql"

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict:
        """POST one GraphQL query and return its ``data``.

        HTTP-level failures are retried as for :meth:`get_json`. A ``RATE_LIMITED`` error
        waits for ``X-RateLimit-Reset`` (at least a minute, at most ``max_wait``) and
        retries; a ``NOT_FOUND`` on a top-level field is an :class:`InputError`, and so is
        an answer of the wrong shape; other errors without data raise
        :class:`GitHubAPIError`. Errors beside data (a field GitHub could not resolve) are
        logged and counted in ``graphql_errors``, and the partial data is returned.

        Examples
        --------
        >>> gh = GitHubClient(token="...")  # doctest: +SKIP
        >>> gh.graphql("query { viewer { login } }")["viewer"]["login"]  # doctest: +SKIP
        'octocat'
        """
        url = httpx.URL(self.graphql_url)
        where = f"POST {url}"
        payload = {"query": query, "variables": dict(variables or {})}
        for attempt in range(self.max_retries + 1):
            resp = self._send("POST", url, {}, payload)
            answer = expect(parse_json(resp.content, where), dict, "a GraphQL answer", where)
            errors = expect(answer.get("errors") or [], list, "a list of errors", where)
            errors = [e for e in errors if isinstance(e, dict)]
            kinds = {str(e.get("type", "")) for e in errors}
            messages = "; ".join(str(e.get("message", "")) for e in errors)[:500]
            if "RATE_LIMITED" in kinds:
                if attempt >= self.max_retries:
                    break
                reset = _number(resp.headers.get("x-ratelimit-reset"))
                wait = self._until_reset(reset) if reset is not None else 0.0
                if wait <= 0:  # no usable reset time: back off as for a secondary limit
                    wait = self._backoff(SECONDARY_MIN_WAIT, attempt)
                self._remaining = None
                self._bounded(wait, "GraphQL rate limit")
                log.warning("GitHub GraphQL rate limit; waiting %.0f s", wait)
                self._sleep(wait)
                continue
            data = answer.get("data")
            for e in errors:
                path = e.get("path") or []
                if e.get("type") == "NOT_FOUND" and len(path) == 1:
                    raise InputError(
                        self._scrub(
                            f"GitHub GraphQL: {e.get('message') or 'not found'} (missing, or "
                            "private and the token cannot read it)"
                        )
                    )
            if data is None:
                raise GitHubAPIError(self._scrub(f"GitHub GraphQL query failed: {messages}"))
            expect(data, dict, "the GraphQL data (an object)", where)
            if errors:
                self.graphql_errors += len(errors)
                log.warning("GitHub GraphQL answered with errors beside data: %s", messages)
            return data
        raise GitHubAPIError(
            f"POST {url} still rate limited after {self.max_retries} retries", resp.status_code
        )

    def _limit_delay(
        self, resp: _Answer, status: int, secondary_hits: int
    ) -> tuple[float | None, str]:
        """Seconds to wait for a 403/429 rate limit, or ``None`` when it is no rate limit.

        A wait GitHub asks for (reset, ``Retry-After``) beyond ``max_wait`` raises
        :class:`GitHubAPIError`; the client's own backoff stops at ``max_backoff``.
        """
        h = resp.headers
        if h.get("x-ratelimit-remaining") == "0":
            self._remaining = None  # waited here, not again before the retry
            reset = _number(h.get("x-ratelimit-reset"))
            if reset is None:
                return self._backoff(SECONDARY_MIN_WAIT, 0), f"primary rate limit ({status})"
            wait = self._bounded(max(self._until_reset(reset), 1.0), "primary rate limit")
            return wait, f"primary rate limit ({status}), waiting for its reset"
        retry_after = h.get("retry-after")
        seconds = _number(retry_after)
        if seconds is not None:  # else an HTTP date: fall back to the exponential wait
            wait = self._bounded(max(seconds, 0.0), f"secondary rate limit ({status})")
            return wait, f"secondary rate limit ({status})"
        message = self._message(resp).lower()
        if (
            status == 429
            or retry_after is not None
            or "rate limit" in message
            or "abuse" in message
        ):
            wait = self._backoff(SECONDARY_MIN_WAIT, secondary_hits)
            return wait, f"secondary rate limit ({status})"
        return None, ""

    def _decode(self, resp: _Answer, key: str) -> Any:
        if not resp.content.strip():
            body = None
        else:
            body = parse_json(resp.content, f"{key} (HTTP {resp.status_code})")
        etag = resp.headers.get("etag")
        if self._cache is not None and etag and resp.status_code == 200:
            self._cache.put(key, etag, body, resp.headers.get("link"))
        return body

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[list]:
        """Yield each page of a list endpoint, following ``Link: rel="next"`` verbatim.

        The next URL is requested exactly as the server wrote it (GitHub may switch to
        ``/repositories/{id}/...`` or cursor parameters); page numbers are never built.

        Parameters
        ----------
        path : str
            Path (or URL) of the first page.
        params : mapping, optional
            Query parameters of the first page only (later pages carry their own).

        Yields
        ------
        list
            The decoded body of each page.

        Raises
        ------
        InputError
            A page that is not a list (besides the errors of :meth:`get_json`).

        Examples
        --------
        >>> gh = GitHubClient()  # doctest: +SKIP
        >>> pages = gh.paginate("/repos/octocat/hello-world/pulls", {"per_page": 100})
        >>> sum(len(p) for p in pages)  # doctest: +SKIP
        42
        """
        url: str | None = path
        seen: set[str] = set()
        first = True
        while url is not None:
            page = params if first else None
            body, headers = self.get_json(url, page)
            first = False
            where = without_userinfo(str(self._url(url, page)))
            yield expect(body, list, "a list", where)
            url = parse_link_header(headers.get("link")).get("next")
            if url is not None:
                if url in seen:
                    raise GitHubAPIError(f"GitHub pagination loops back to {_redact(url)}")
                seen.add(url)
