"""Keep-alive HTTP/1.1 connections over asyncio streams: the only h11 user.

`fetch` wraps this pool as an httpx transport, so httpx still builds the requests, decodes
the bodies and is what tests inject a MockTransport through; this module only moves bytes.
httpx's default transport goes through httpcore's pool, which re-checks every pooled
connection on every request and passes each read and write through anyio: on this 2-core
machine about 0.8 ms of CPU per request, most of a revalidation when hundreds of feeds answer
304. Here the idle connections of an origin wait in a list, only the one taken is checked,
and reads and writes go straight to asyncio's streams.

A request on a reused connection that the server had closed in the meantime (it fails before
a single byte of the answer arrived) is sent once more on a new connection; only for GET and
HEAD, which change nothing on the server.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import h11

__all__ = [
    "ConnectFailed",
    "ConnectTimedOut",
    "ConnectionPool",
    "ProtocolFailed",
    "ReadFailed",
    "ReadTimedOut",
    "Response",
    "TransportError",
    "WriteFailed",
    "WriteTimedOut",
]

READ_SIZE = 64 * 1024
MAX_HEADER_BYTES = 100 * 1024  # as httpcore: a status line and headers larger than this fail
RETRYABLE = (b"GET", b"HEAD")
NO_BODY = (204, 304)  # and every answer to HEAD


class TransportError(Exception):
    """The connection failed; `fetch` turns each kind into httpx's exception of that name."""


class ConnectFailed(TransportError):
    pass


class ConnectTimedOut(TransportError):
    pass


class ReadFailed(TransportError):
    pass


class ReadTimedOut(TransportError):
    pass


class WriteFailed(TransportError):
    pass


class WriteTimedOut(TransportError):
    pass


class ProtocolFailed(TransportError):
    pass


class _Stale(Exception):
    """A reused connection was found closed before any byte of the answer came back."""


Origin = tuple[str, str, int]  # scheme, host, port


@dataclass
class _Connection:
    origin: Origin
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    h11: h11.Connection
    reused: bool = False
    idle_since: float = 0.0

    def usable(self) -> bool:
        """Still open, nothing unread from the server (an idle connection that turned
        readable was closed by the server or sent something it should not have)."""
        return not (self.writer.is_closing() or self.reader.at_eof())

    def close(self) -> None:
        self.writer.close()


@dataclass
class Timeouts:
    connect: float | None = None
    read: float | None = None
    write: float | None = None


@dataclass
class Response:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: Body
    http_version: bytes = b"HTTP/1.1"


@dataclass
class Body:
    """The body of one response, read once; the connection goes back to the pool when the
    body was read to its end, and is closed when the reader stops before."""

    _pool: ConnectionPool
    _conn: _Connection
    _timeouts: Timeouts
    _done: bool = field(default=False)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while not self._done:
            try:
                event = conn.h11.next_event()
            except h11.RemoteProtocolError as error:  # say, a body shorter than announced
                self._done = True
                conn.close()
                raise ProtocolFailed(str(error)) from None
            if event is h11.NEED_DATA:
                conn.h11.receive_data(await _read(conn, self._timeouts.read))
            elif type(event) is h11.Data:
                yield bytes(event.data)
            elif type(event) is h11.EndOfMessage:
                self._done = True
                self._pool._release(conn)
            else:
                self._done = True
                conn.close()
                raise ProtocolFailed(f"unexpected {type(event).__name__} in a body")

    async def aclose(self) -> None:
        if not self._done:
            self._done = True
            self._conn.close()


async def _read(conn: _Connection, timeout: float | None) -> bytes:
    try:
        async with asyncio.timeout(timeout):
            return await conn.reader.read(READ_SIZE)
    except TimeoutError:
        conn.close()
        raise ReadTimedOut("timed out reading from the server") from None
    except OSError as error:
        conn.close()
        raise ReadFailed(str(error) or type(error).__name__) from None


class ConnectionPool:
    """Connections per origin, kept open between requests for `keepalive_expiry` seconds,
    at most `max_idle` idle ones per origin. Concurrency is the caller's to limit."""

    def __init__(
        self,
        *,
        keepalive_expiry: float = 5.0,
        max_idle: int = 8,
        ssl_context: Callable[[], ssl.SSLContext] = ssl.create_default_context,
    ) -> None:
        self.keepalive_expiry = keepalive_expiry
        self.max_idle = max_idle
        self._ssl_factory = ssl_context
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[Origin, list[_Connection]] = {}
        self._last_sweep = time.monotonic()
        self._closed = False

    async def request(
        self,
        method: bytes,
        origin: Origin,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes = b"",
        *,
        timeouts: Timeouts | None = None,
    ) -> Response:
        """Send one request and return once the status line and headers are in; the body
        is read through `Response.body`. Raises TransportError."""
        timeouts = timeouts or Timeouts()
        conn = self._take(origin)
        if conn is not None:
            try:
                return await self._exchange(conn, method, target, headers, body, timeouts)
            except _Stale:
                if method not in RETRYABLE:
                    raise ReadFailed("the server closed the connection") from None
        conn = await self._connect(origin, timeouts.connect)
        try:
            return await self._exchange(conn, method, target, headers, body, timeouts)
        except _Stale:
            raise ReadFailed("the server closed the connection without answering") from None

    async def aclose(self) -> None:
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    def _take(self, origin: Origin) -> _Connection | None:
        now = time.monotonic()
        if now - self._last_sweep > self.keepalive_expiry:
            self._sweep(now)
        conns = self._idle.get(origin)
        while conns:
            conn = conns.pop()  # the most recently used: the least likely to have expired
            if now - conn.idle_since <= self.keepalive_expiry and conn.usable():
                return conn
            conn.close()
        return None

    def _sweep(self, now: float) -> None:
        self._last_sweep = now
        for origin, conns in list(self._idle.items()):
            keep = [c for c in conns if now - c.idle_since <= self.keepalive_expiry]
            for conn in conns:
                if conn not in keep:
                    conn.close()
            if keep:
                self._idle[origin] = keep
            else:
                del self._idle[origin]

    def _release(self, conn: _Connection) -> None:
        state = conn.h11
        if self._closed or state.our_state is not h11.DONE or state.their_state is not h11.DONE:
            conn.close()  # the server asked to close, or the exchange did not end cleanly
            return
        state.start_next_cycle()
        conn.reused = True
        conn.idle_since = time.monotonic()
        conns = self._idle.setdefault(conn.origin, [])
        conns.append(conn)
        if len(conns) > self.max_idle:
            conns.pop(0).close()

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = self._ssl_factory()
            self._ssl.set_alpn_protocols(["http/1.1"])
        return self._ssl

    async def _connect(self, origin: Origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        tls = self._ssl_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None, limit=READ_SIZE
                )
        except TimeoutError:
            raise ConnectTimedOut(f"no connection to {host}:{port} within {timeout:g} s") from None
        except (OSError, ssl.SSLError) as error:
            raise ConnectFailed(str(error) or type(error).__name__) from None
        state = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_BYTES)
        return _Connection(origin, reader, writer, state)

    async def _exchange(
        self,
        conn: _Connection,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        timeouts: Timeouts,
    ) -> Response:
        state = conn.h11
        try:
            data = state.send(h11.Request(method=method, target=target, headers=headers))
            if body:
                data += state.send(h11.Data(data=body))
            data += state.send(h11.EndOfMessage())
        except h11.LocalProtocolError as error:
            conn.close()
            raise ProtocolFailed(str(error)) from None
        try:
            conn.writer.write(data)
            if conn.writer.transport.get_write_buffer_size():  # not all sent at once: wait
                async with asyncio.timeout(timeouts.write):
                    await conn.writer.drain()
        except TimeoutError:
            conn.close()
            raise WriteTimedOut("timed out sending the request") from None
        except OSError as error:
            conn.close()
            if conn.reused:
                raise _Stale from None
            raise WriteFailed(str(error) or type(error).__name__) from None
        received = False
        while True:
            try:
                event = state.next_event()
            except h11.RemoteProtocolError as error:
                conn.close()
                if conn.reused and not received:
                    raise _Stale from None
                raise ProtocolFailed(str(error)) from None
            if event is h11.NEED_DATA:
                try:
                    chunk = await _read(conn, timeouts.read)
                except ReadFailed:
                    if conn.reused and not received:
                        raise _Stale from None
                    raise
                received = received or bool(chunk)
                state.receive_data(chunk)
            elif type(event) is h11.Response:
                reader = Body(self, conn, timeouts)
                if event.status_code in NO_BODY or method == b"HEAD":
                    # nothing follows, as h11 knows: the connection is free again right away
                    if type(state.next_event()) is not h11.EndOfMessage:
                        conn.close()
                        raise ProtocolFailed("a body where none may be")
                    reader._done = True
                    self._release(conn)
                return Response(
                    event.status_code, bytes(event.reason), list(event.headers), reader,
                    b"HTTP/" + bytes(event.http_version),
                )  # fmt: skip
            elif type(event) is h11.InformationalResponse:
                continue
            else:  # a closed connection (ConnectionClosed) or anything out of order
                conn.close()
                if conn.reused and not received:
                    raise _Stale from None
                raise ProtocolFailed(f"the server answered with {type(event).__name__}")
