"""Which URLs may be fetched: http(s) only, and no private addresses for content links."""

from __future__ import annotations

import asyncio

import pytest

from peacewatch.errors import RefusedURLError
from peacewatch.ingest.netguard import blocked_reason, check_url, check_url_async


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    return lambda host: table[host]


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://ftp.site.net/x", "javascript:alert(1)", "gopher://h/",
     "http:///nohost", "https://news.example.com/x", "https://a.test/", "http://x.invalid/"],
)  # fmt: skip
def test_refused_before_any_lookup(url: str) -> None:
    with pytest.raises(RefusedURLError):
        check_url(url, resolve=resolver({}))
    with pytest.raises(RefusedURLError):
        check_url(url, allow_private=True)  # allow_private never opens other schemes


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback address"), ("::1", "loopback address"),
        ("10.1.2.3", "private address"), ("192.168.0.10", "private address"),
        ("172.16.5.4", "private address"), ("169.254.169.254", "cloud metadata address"),
        ("169.254.1.1", "link-local address"), ("fe80::1", "link-local address"),
        ("fd00:ec2::254", "cloud metadata address"),
        ("100.64.1.1", "shared (carrier-grade NAT) address"),
        ("100.100.100.200", "cloud metadata address"), ("::ffff:127.0.0.1", "loopback address"),
        ("0.0.0.0", "private address"), ("224.0.0.1", "multicast address"),
        ("93.184.215.14", None), ("2a00:1450:4001:80b::200e", None),
    ],
)  # fmt: skip
def test_blocked_reason(address: str, reason: str | None) -> None:
    assert blocked_reason(address) == reason


def test_host_resolving_to_a_private_address_is_refused() -> None:
    table = {"intranet.corp.net": ["93.184.215.14", "10.0.0.7"], "news.site.net": ["93.184.215.14"]}
    with pytest.raises(RefusedURLError, match="private address"):
        check_url("https://intranet.corp.net/admin", resolve=resolver(table))
    check_url("https://news.site.net/story", resolve=resolver(table))


def test_literal_addresses_and_localhost() -> None:
    with pytest.raises(RefusedURLError, match="loopback"):
        check_url("http://127.0.0.1:8080/x")
    with pytest.raises(RefusedURLError, match="metadata"):
        check_url("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(RefusedURLError, match="localhost"):
        check_url("http://localhost/x")
    with pytest.raises(RefusedURLError, match="loopback"):
        check_url("http://[::1]/x")


def test_allow_private_lets_loopback_through() -> None:
    check_url("http://127.0.0.1:8080/x", allow_private=True)
    asyncio.run(check_url_async("http://127.0.0.1:8080/x", allow_private=True))
    with pytest.raises(RefusedURLError):
        asyncio.run(check_url_async("http://127.0.0.1:8080/x"))


def test_unresolvable_host_is_refused() -> None:
    with pytest.raises(RefusedURLError, match="cannot resolve"):
        check_url("https://nothing.site.net/", resolve=resolver({"nothing.site.net": []}))
