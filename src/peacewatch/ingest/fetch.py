"""HTTP fetching: the only httpx user.

One shared transport; a global and a per-host concurrency limit with a minimum gap between
two requests to one host; connect/read/total timeouts; redirects followed by hand (to notice
permanent ones and loops); a body cap enforced while streaming; conditional GET. The transport
is `ingest.http11`'s keep-alive pool (httpx's Request and Response carry the request and
decode the body; the pool moves the bytes), unless a test injects another one.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpx

from peacewatch.errors import FetchError
from peacewatch.ingest import http11
from peacewatch.models import FetchResult, Validators
from peacewatch.timeutil import now_iso


@dataclass(frozen=True)
class HttpSettings:
    user_agent: str = "peacewatch/0.1 (+https://github.com/peacewatch/peacewatch)"
    concurrency: int = 8
    per_host: int = 2
    host_gap: float = 1.0  # seconds between two requests to one host
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_redirects: int = 5
    max_body_bytes: int = 10 * 1024 * 1024
    unconditional_every: float = 86400.0  # fetch without validators this often


PERMANENT_REDIRECTS = (301, 308)
KEEPALIVE_EXPIRY = 5.0  # seconds an idle connection is kept (Apache closes them after 5)
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, "
    "text/xml;q=0.9, text/html;q=0.5, */*;q=0.1"
)
# A hook that may refuse a URL before any connection (scheme, address, robots.txt rules).
URLGuard = Callable[[str], Awaitable[None]]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


_ERRORS: dict[type[http11.TransportError], type[httpx.TransportError]] = {
    http11.ConnectTimedOut: httpx.ConnectTimeout,
    http11.ConnectFailed: httpx.ConnectError,
    http11.ReadTimedOut: httpx.ReadTimeout,
    http11.ReadFailed: httpx.ReadError,
    http11.WriteTimedOut: httpx.WriteTimeout,
    http11.WriteFailed: httpx.WriteError,
    http11.ProtocolFailed: httpx.RemoteProtocolError,
}


def _httpx_error(error: http11.TransportError, request: httpx.Request) -> httpx.TransportError:
    return _ERRORS.get(type(error), httpx.TransportError)(str(error), request=request)


class _Body(httpx.AsyncByteStream):
    def __init__(self, body: http11.Body, request: httpx.Request) -> None:
        self._body = body
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._body:
                yield chunk
        except http11.TransportError as error:
            raise _httpx_error(error, self._request) from None

    async def aclose(self) -> None:
        await self._body.aclose()


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """httpx's transport over `http11.ConnectionPool` (HTTP/1.1 only; no proxies)."""

    def __init__(self, *, keepalive_expiry: float, max_idle: int) -> None:
        self._pool = http11.ConnectionPool(
            keepalive_expiry=keepalive_expiry, max_idle=max_idle,
            ssl_context=httpx.create_ssl_context,
        )  # fmt: skip

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        timeout = request.extensions.get("timeout", {})
        timeouts = http11.Timeouts(
            timeout.get("connect"), timeout.get("read"), timeout.get("write")
        )
        try:
            body = request.content
        except httpx.RequestNotRead:  # a streamed body
            body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
        try:
            response = await self._pool.request(
                request.method.encode(), (url.scheme, url.raw_host.decode("ascii"), port),
                url.raw_path, request.headers.raw, body, timeouts=timeouts,
            )  # fmt: skip
        except http11.TransportError as error:
            raise _httpx_error(error, request) from None
        return httpx.Response(
            response.status, headers=response.headers, stream=_Body(response.body, request),
            extensions={"http_version": response.http_version, "reason_phrase": response.reason},
        )  # fmt: skip

    async def aclose(self) -> None:
        await self._pool.aclose()


@dataclass
class _HostGate:
    semaphore: asyncio.Semaphore
    lock: asyncio.Lock
    last_start: float = 0.0


class Fetcher:
    """Polite concurrent fetching over one transport (its connections kept alive between
    requests). Use as an async context manager.

    Requests go straight to the transport (httpx's public transport API), not through an
    httpx.AsyncClient: redirects, timeouts and the body cap are handled here anyway, and the
    client's per-request work (merging settings, the cookie jar, auth and redirect hooks)
    cost more than the rest of a 304. So no cookies are kept between requests, and proxies
    named in the environment (HTTPS_PROXY, ...) are not used.
    """

    def __init__(
        self,
        settings: HttpSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        if transport is None:
            # A host's connections stay open between its requests of one cycle (an idle
            # one costs nothing per request here, unlike in httpcore's pool); the
            # semaphores below keep at most per_host of them busy at once.
            transport = KeepAliveTransport(keepalive_expiry=KEEPALIVE_EXPIRY,
                                           max_idle=settings.per_host)  # fmt: skip
        self._transport = transport
        self._headers = {"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"}
        self._timeouts = {
            "connect": settings.connect_timeout, "read": settings.read_timeout,
            "write": settings.read_timeout, "pool": settings.total_timeout,
        }  # fmt: skip
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, _HostGate] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    def _gate(self, host: str) -> _HostGate:
        gate = self._hosts.get(host)
        if gate is None:
            gate = _HostGate(asyncio.Semaphore(self.settings.per_host), asyncio.Lock())
            self._hosts[host] = gate
        return gate

    async def _wait_turn(self, gate: _HostGate) -> None:
        # Space request starts to one host by host_gap, whatever the concurrency.
        async with gate.lock:
            wait = gate.last_start + self.settings.host_gap - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            gate.last_start = time.monotonic()

    async def get(
        self,
        url: str,
        *,
        source_id: str = "",
        validators: Validators | None = None,
        accept: str = FEED_ACCEPT,
        guard: URLGuard | None = None,
    ) -> FetchResult:
        """GET `url`, following redirects; raise FetchError for anything but a usable body
        or a 304. `guard` is awaited for every URL in the redirect chain."""
        started = time.monotonic()
        fetched_at = now_iso()
        headers = {"Accept": accept}
        conditional = False
        if validators and validators.trust_validators:
            if validators.etag:
                headers["If-None-Match"] = validators.etag
                conditional = True
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
                conditional = True
        return await self._follow(
            url, headers, source_id=source_id, started=started,
            fetched_at=fetched_at, conditional=conditional, guard=guard,
        )  # fmt: skip

    async def _follow(
        self,
        url: str,
        headers: dict[str, str],
        *,
        source_id: str,
        started: float,
        fetched_at: str,
        conditional: bool,
        guard: URLGuard | None,
    ) -> FetchResult:
        seen = [url]
        permanent: str | None = None
        still_permanent = True
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            if guard is not None:
                await guard(current)
            status, response_headers, body = await self._request(current, headers)
            if status in (301, 302, 303, 307, 308) and "location" in response_headers:
                target = urljoin(current, response_headers["location"])
                if urlsplit(target).scheme not in ("http", "https"):
                    raise FetchError(
                        "http_error", f"redirect to a non-HTTP URL: {target}", status=status,
                        url=current,
                    )  # fmt: skip
                if target in seen:
                    chain = " -> ".join([*seen, target])
                    raise FetchError("redirect_loop", f"redirect loop: {chain}", status=status,
                                     url=current)  # fmt: skip
                # Only an unbroken chain of permanent redirects from the start moves a source.
                still_permanent = still_permanent and status in PERMANENT_REDIRECTS
                if still_permanent:
                    permanent = target
                seen.append(target)
                current = target
                continue
            elapsed = int((time.monotonic() - started) * 1000)
            if status == 304:
                return FetchResult(
                    source_id=source_id, url=current, status=304, content=b"",
                    headers=response_headers, etag=response_headers.get("etag"),
                    last_modified=response_headers.get("last-modified"), fetched_at=fetched_at,
                    elapsed_ms=elapsed, not_modified=True, permanent_redirect=permanent,
                    conditional=conditional,
                )  # fmt: skip
            if status in (429, 503):
                retry = parse_retry_after(response_headers.get("retry-after"))
                raise FetchError(
                    "rate_limited" if status == 429 else "http_error",
                    f"HTTP {status}" + (f", retry after {retry:g} s" if retry is not None else ""),
                    status=status, retry_after=retry, url=current, bytes_read=len(body),
                )  # fmt: skip
            if not 200 <= status < 300:
                raise FetchError("http_error", f"HTTP {status}", status=status, url=current,
                                 bytes_read=len(body))  # fmt: skip
            return FetchResult(
                source_id=source_id, url=current, status=status, content=body,
                headers=response_headers, etag=response_headers.get("etag"),
                last_modified=response_headers.get("last-modified"), fetched_at=fetched_at,
                elapsed_ms=elapsed, permanent_redirect=permanent, conditional=conditional,
            )  # fmt: skip
        raise FetchError(
            "too_many_redirects",
            f"more than {self.settings.max_redirects} redirects: {' -> '.join(seen)}",
            url=current,
        )

    async def _request(
        self, url: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        host = urlsplit(url).hostname or ""
        gate = self._gate(host)
        # A slot is held per request, not across a redirect chain's guards: a guard may
        # itself fetch (robots.txt), and must never wait for the slot its caller holds.
        async with self._global, gate.semaphore:
            await self._wait_turn(gate)
            total = self.settings.total_timeout
            try:
                # The total timeout starts once our turn comes: queueing is not the server's fault.
                async with asyncio.timeout(total):
                    request = httpx.Request("GET", url, headers={**self._headers, **headers},
                                            extensions={"timeout": self._timeouts})  # fmt: skip
                    response = await self._transport.handle_async_request(request)
                    response.request = request
                    try:
                        response_headers = {
                            k.decode("latin-1").lower(): v.decode("latin-1")
                            for k, v in response.headers.raw
                        }
                        if response.status_code == 304:  # no body, by definition
                            return 304, response_headers, b""
                        if response.status_code in (301, 302, 303, 307, 308):
                            # drain the (tiny) body so the connection goes back to the pool
                            await self._read_capped(response, url)
                            return response.status_code, response_headers, b""
                        body = await self._read_capped(response, url)
                        return response.status_code, response_headers, body
                    finally:
                        await response.aclose()
            except TimeoutError:
                raise FetchError("timeout", f"no complete answer within {total:g} s",
                                 url=url) from None  # fmt: skip
            except httpx.TimeoutException as error:
                raise FetchError("timeout", f"{type(error).__name__}: {error or 'timed out'}",
                                 url=url) from None  # fmt: skip
            except httpx.DecodingError as error:
                raise FetchError("network_error", f"cannot decode body: {error}", url=url) from None
            except httpx.TransportError as error:
                raise FetchError(
                    "network_error",
                    f"{type(error).__name__}: {error or 'connection failed'}",
                    url=url,
                ) from None

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        cap = self.settings.max_body_bytes
        declared = response.headers.get("content-length")
        plain = "content-encoding" not in response.headers
        if plain and declared and declared.isdigit() and int(declared) > cap:
            raise FetchError("too_large", f"body of {declared} bytes exceeds the cap of {cap}",
                             status=response.status_code, url=url)  # fmt: skip
        chunks: list[bytes] = []
        size = 0
        # aiter_bytes decodes gzip/deflate, so the cap also stops decompression bombs.
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise FetchError(
                    "too_large", f"body exceeds the cap of {cap} bytes; stopped reading",
                    status=response.status_code, url=url, bytes_read=size,
                )  # fmt: skip
            chunks.append(chunk)
        return b"".join(chunks)
