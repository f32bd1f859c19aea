"""The keep-alive connections under the fetcher (ingest.http11), against a raw asyncio server
on 127.0.0.1 that says exactly what each test needs: kept-alive, closed, chunked, silent."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from peacewatch.config import HttpSettings
from peacewatch.errors import FetchError
from peacewatch.ingest import http11
from peacewatch.ingest.fetch import Fetcher

# One answer per request: the bytes to send back, and whether to close the connection after.
Answer = Callable[[int], tuple[bytes, bool]]


def ok(body: bytes = b"<rss/>", *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), head.encode(), body)


class RawServer:
    """Counts connections and requests; answers each request with `answer(n)` (n counts
    requests over all connections)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests = 0
        self.server: asyncio.Server | None = None
        self.handlers: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for task in self.handlers:
            task.cancel()
        await asyncio.gather(*self.handlers, return_exceptions=True)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            while True:
                try:
                    await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                data, close = self.answer(self.requests)
                self.requests += 1
                writer.write(data)
                await writer.drain()
                if close:
                    return
        finally:
            writer.close()


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())


SETTINGS = HttpSettings(user_agent="peacewatch-tests", concurrency=4, per_host=4, host_gap=0,
                        connect_timeout=2, read_timeout=1, total_timeout=3)  # fmt: skip


def test_requests_to_one_host_reuse_a_few_connections() -> None:
    async def test() -> None:
        async with RawServer(lambda n: (ok(), False)) as server, Fetcher(SETTINGS) as fetcher:
            results = await asyncio.gather(
                *(fetcher.get(f"{server.url}/feed/{n}.xml") for n in range(40))
            )
            assert {r.status for r in results} == {200}
            assert server.requests == 40
            assert server.connections <= SETTINGS.per_host

    run(test)


def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    # The server answers, then closes without saying so (no Connection: close): the next
    # request finds the connection closed and goes out on a new one, unnoticed by the caller.
    async def test() -> None:
        async with RawServer(lambda n: (ok(), True)) as server, Fetcher(SETTINGS) as fetcher:
            for n in range(5):
                result = await fetcher.get(f"{server.url}/feed/{n}.xml")
                assert result.status == 200
                await asyncio.sleep(0.01)  # the close reaches us before the next request
            assert server.connections == 5

    run(test)


def test_a_request_on_a_connection_closed_in_flight_is_sent_again() -> None:
    # Each connection answers one request, then reads the next and hangs up without a word
    # (a keep-alive timeout racing the request): that request saw no byte of an answer, so
    # it goes out once more on a new connection.
    async def test() -> None:
        pool = http11.ConnectionPool(keepalive_expiry=5)
        answered = 0

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal answered
            try:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(ok())
                answered += 1
                await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                pass  # the pool closed its idle connection
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        origin = ("http", "127.0.0.1", server.sockets[0].getsockname()[1])
        for n in range(3):
            response = await pool.request(b"GET", origin, f"/{n}".encode(),
                                          [(b"Host", b"127.0.0.1")])  # fmt: skip
            assert response.status == 200
            assert b"".join([chunk async for chunk in response.body]) == b"<rss/>"
        assert answered == 3
        await pool.aclose()
        server.close()
        await asyncio.sleep(0.05)  # the last handler sees the pool's close

    run(test)


def test_connection_close_chunked_bodies_and_responses_without_length() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n<rs\r\n3\r\ns/>\r\n0\r\n\r\n"
    )
    until_close = b"HTTP/1.1 200 OK\r\n\r\n<rss/>"
    answers = [(chunked, False), (ok(b"<rss/>", "Connection: close"), True),
               (until_close, True), (ok(), False)]  # fmt: skip

    async def test() -> None:
        async with RawServer(lambda n: answers[n]) as server, Fetcher(SETTINGS) as fetcher:
            for n in range(4):
                result = await fetcher.get(f"{server.url}/{n}")
                assert result.content == b"<rss/>"
            # chunked kept its connection; the two that ended with a close did not
            assert server.connections == 3

    run(test)


def test_a_silent_server_times_out_and_a_broken_answer_is_a_network_error() -> None:
    async def test() -> None:
        async with RawServer(lambda n: (b"", False)) as silent, Fetcher(SETTINGS) as fetcher:
            with pytest.raises(FetchError) as timeout:
                await fetcher.get(f"{silent.url}/feed.xml")
            assert timeout.value.outcome == "timeout"
        truncated = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<rss>"
        async with RawServer(lambda n: (truncated, True)) as server, Fetcher(SETTINGS) as fetcher:
            with pytest.raises(FetchError) as broken:
                await fetcher.get(f"{server.url}/feed.xml")
            assert broken.value.outcome == "network_error"
        garbage = b"SPDY/3 what\r\n\r\n"
        async with RawServer(lambda n: (garbage, True)) as server, Fetcher(SETTINGS) as fetcher:
            with pytest.raises(FetchError) as bad:
                await fetcher.get(f"{server.url}/feed.xml")
            assert bad.value.outcome == "network_error"

    run(test)


def test_nothing_listening_is_a_network_error() -> None:
    async def test() -> None:
        async with RawServer(lambda n: (ok(), False)) as server:
            url = server.url
        await asyncio.sleep(0.05)
        async with Fetcher(SETTINGS) as fetcher:
            with pytest.raises(FetchError) as refused:
                await fetcher.get(f"{url}/feed.xml")
            assert refused.value.outcome == "network_error"

    run(test)


def test_a_body_left_unread_closes_its_connection() -> None:
    async def test() -> None:
        pool = http11.ConnectionPool(keepalive_expiry=5)
        async with RawServer(lambda n: (ok(b"x" * 100_000), False)) as server:
            port = int(server.url.rsplit(":", 1)[1])
            origin = ("http", "127.0.0.1", port)
            first = await pool.request(b"GET", origin, b"/a", [(b"Host", b"127.0.0.1")])
            await first.body.aclose()  # stopped early (say, over the body cap)
            second = await pool.request(b"GET", origin, b"/b", [(b"Host", b"127.0.0.1")])
            assert len(b"".join([chunk async for chunk in second.body])) == 100_000
            assert server.connections == 2
        await pool.aclose()

    run(test)


def test_a_304_frees_its_connection_at_once() -> None:
    from peacewatch.models import Validators

    not_modified = b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n'

    async def test() -> None:
        async with RawServer(lambda n: (not_modified, False)) as server, Fetcher(SETTINGS) as f:
            for n in range(20):
                result = await f.get(f"{server.url}/{n}", validators=Validators(etag='"v1"'))
                assert result.not_modified
            assert server.connections == 1

    run(test)


def test_https_verifies_the_certificate_and_keeps_the_connection(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)

    def trusting() -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(cert))

    async def test() -> None:
        connections = 0

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            try:
                while True:
                    await reader.readuntil(b"\r\n\r\n")
                    writer.write(ok())
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
        port = server.sockets[0].getsockname()[1]
        # the fetcher's own pool trusts the usual authorities only: a self-signed server fails
        async with Fetcher(SETTINGS) as fetcher:
            with pytest.raises(FetchError) as refused:
                await fetcher.get(f"https://127.0.0.1:{port}/feed.xml")
            assert refused.value.outcome == "network_error"
            assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
        pool = http11.ConnectionPool(keepalive_expiry=5, ssl_context=trusting)
        origin = ("https", "127.0.0.1", port)
        for n in range(3):
            response = await pool.request(b"GET", origin, f"/{n}".encode(),
                                          [(b"Host", b"127.0.0.1")])  # fmt: skip
            assert b"".join([chunk async for chunk in response.body]) == b"<rss/>"
        assert connections == 1  # kept alive (the refused handshake never reached serve)
        await pool.aclose()
        server.close()
        await asyncio.sleep(0.05)

    run(test)
