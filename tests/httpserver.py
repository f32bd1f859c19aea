"""A real HTTP server on 127.0.0.1 (random port) for end-to-end tests.

Routes serve fixture bodies with the behaviours real servers have: ETag/Last-Modified
revalidation, redirects, Retry-After, slow or stalling responses, endless bodies, gzip.
Every request is logged so tests can check what was sent.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes | Callable[[], bytes] = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None  # answered with 304 when If-None-Match matches
    last_modified: str | None = None  # answered with 304 when If-Modified-Since matches
    location: str | None = None  # for 3xx
    delay: float = 0.0  # seconds before the status line
    stall: float = 0.0  # seconds after the headers, before the body
    endless: bool = False  # stream chunks until the client hangs up
    gzip: bool = False


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    at: float


class FixtureServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.active = 0  # requests being answered right now
        self.max_active = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    server._handle(self)
                finally:
                    with server._lock:
                        server.active -= 1

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.host, self.port = self.httpd.server_address[:2]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> FixtureServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(self, path: str, **kwargs: object) -> Route:
        route = Route(**kwargs)  # type: ignore[arg-type]
        self.routes[path] = route
        return route

    def hits(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self.requests.append(Request(handler.path, headers, time.monotonic()))
        route = self.routes.get(handler.path)
        if route is None:
            self._send(handler, 404, {"Content-Type": "text/plain"}, b"not found")
            return
        if route.delay:
            time.sleep(route.delay)
        out_headers = {"Content-Type": route.content_type, **route.headers}
        if route.etag:
            out_headers["ETag"] = route.etag
        if route.last_modified:
            out_headers["Last-Modified"] = route.last_modified
        if route.location:
            out_headers["Location"] = route.location
        fresh = (route.etag and headers.get("if-none-match") == route.etag) or (
            route.last_modified and headers.get("if-modified-since") == route.last_modified
        )
        if fresh and route.status == 200:
            self._send(
                handler, 304, {k: v for k, v in out_headers.items() if k != "Content-Type"}, b""
            )
            return
        if route.endless:
            self._send_endless(handler, route, out_headers)
            return
        body = route.body() if callable(route.body) else route.body
        if route.gzip and "gzip" in headers.get("accept-encoding", ""):
            body = gzip.compress(body)
            out_headers["Content-Encoding"] = "gzip"
        self._send(handler, route.status, out_headers, body, stall=route.stall)

    def _send(
        self, handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes,
        stall: float = 0.0,
    ) -> None:  # fmt: skip
        try:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if stall:
                handler.wfile.write(body[: len(body) // 2])
                handler.wfile.flush()
                time.sleep(stall)
                handler.wfile.write(body[len(body) // 2 :])
            else:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send_endless(
        self, handler: BaseHTTPRequestHandler, route: Route, headers: dict[str, str]
    ) -> None:
        chunk = b"<item><title>x</title></item>" * 2000
        try:
            handler.send_response(route.status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            handler.wfile.write(b"%x\r\n<rss><channel>\r\n" % len(b"<rss><channel>"))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass
