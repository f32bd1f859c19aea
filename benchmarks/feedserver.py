"""A loopback server of N synthetic but realistic feeds (50 items each), for benchmarks.

Run as its own process so that it uses the other core: `python feedserver.py N` prints the
port on stdout and serves /feed/<n>.xml with an ETag (If-None-Match -> 304) until killed.
`python feedserver.py N --corpus DIR` serves the real feeds in DIR instead (read in place,
never copied): feed n is file n % len(DIR), its links and ids made its own, so that N feeds
carry N sets of stories.
"""

from __future__ import annotations

import hashlib
import random
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WORDS = [
    "Ukraine",
    "Russia",
    "peace",
    "talks",
    "ceasefire",
    "Kyiv",
    "Moscow",
    "envoy",
    "delegation",
    "plan",
    "Geneva",
    "Istanbul",
    "security",
    "guarantees",
    "territory",
    "Donbas",
    "NATO",
    "sanctions",
    "Zelensky",
    "Putin",
    "Trump",
    "Witkoff",
    "Europe",
    "leaders",
    "summit",
    "proposal",
    "framework",
    "prisoners",
    "exchange",
    "grain",
    "Black",
    "Sea",
    "nuclear",
    "plant",
    "Zaporizhzhia",
    "frozen",
    "assets",
    "negotiations",
    "round",
    "agreement",
    "draft",
    "points",
    "army",
    "cap",
    "elections",
]


def make_feed(n: int, items: int = 50) -> bytes:
    rng = random.Random(n)
    outlet = f"outlet{n % 40}"
    entries = []
    for k in range(items):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(7, 13))).capitalize()
        summary = " ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 60)))
        day = 1 + (n + k) % 28
        entries.append(
            f"<item><title>{title}</title>"
            f"<link>https://www.{outlet}.example.com/news/2025/11/{day:02d}/story-{n}-{k}"
            f"?utm_source=rss&amp;utm_medium=feed</link>"
            f'<guid isPermaLink="false">{outlet}-{n}-{k}</guid>'
            f"<pubDate>Fri, {day:02d} Nov 2025 {k % 24:02d}:{k % 60:02d}:00 +0000</pubDate>"
            f"<description>&lt;p&gt;{summary}&lt;/p&gt;</description>"
            f"<dc:creator>Reporter {k % 7}</dc:creator>"
            f"<category>World</category></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{outlet} world news</title><link>https://www.{outlet}.example.com/</link>"
        f"<language>en</language>{''.join(entries)}</channel></rss>"
    ).encode()


_LINK = re.compile(rb"(<link[^>]*>\s*(?:<!\[CDATA\[)?\s*https?://|<link[^>]*href=[\"']https?://)")
_ID = re.compile(rb"(<guid[^>]*>\s*(?:<!\[CDATA\[)?|<id>)")


def corpus_feed(files: list[Path], n: int) -> bytes:
    """Real feed n % len(files), with every link's host and every guid/id prefixed by n."""
    body = files[n % len(files)].read_bytes()
    body = _LINK.sub(lambda m: m.group(1) + f"v{n}.".encode(), body)
    return _ID.sub(lambda m: m.group(1) + f"v{n}-".encode(), body)


def corpus_files(directory: str) -> list[Path]:
    return sorted(p for p in Path(directory).iterdir() if p.suffix in (".xml", ".rss", ".atom"))


def serve(count: int, corpus: str | None = None) -> None:
    content_type = "application/rss+xml; charset=utf-8"
    if corpus:
        files = corpus_files(corpus)
        bodies = {f"/feed/{n}.xml": corpus_feed(files, n) for n in range(count)}
        content_type = "application/xml"  # real feeds declare their own encodings
    else:
        bodies = {f"/feed/{n}.xml": make_feed(n) for n in range(count)}
    etags = {path: '"' + hashlib.md5(body).hexdigest() + '"' for path, body in bodies.items()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = bodies.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.headers.get("If-None-Match") == etags[self.path]:
                self.send_response(304)
                self.send_header("ETag", etags[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("ETag", etags[self.path])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        # listen()'s backlog is taken from the class when the server is built: set on the
        # instance afterwards it was never used, the backlog stayed 5, and a client opening
        # more than about six connections at once lost SYNs and waited 1 s to retry them
        request_queue_size = 1024
        daemon_threads = True

    httpd = Server(("127.0.0.1", 0), Handler)
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[3] if sys.argv[2:3] == ["--corpus"] else None)
