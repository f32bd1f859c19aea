"""Which URLs peacewatch may fetch at all.

Only http and https. URLs that come from fetched content (feed links, reading-list links,
canonical URLs) must not lead the daemon to the machine it runs on or its private network:
a host that resolves to a loopback, private, link-local, shared (CGNAT), multicast, reserved
or cloud-metadata address is refused unless the source is configured with allow_private.

The check resolves the name before the request; the fetcher connects again afterwards, so a
DNS answer that changes in between (rebinding) is not covered here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from peacewatch.errors import RefusedURLError

__all__ = ["ALLOWED_SCHEMES", "blocked_reason", "check_scheme", "check_url", "check_url_async"]

ALLOWED_SCHEMES = frozenset({"http", "https"})
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Iterable[str]]

# metadata endpoints that are not already inside a refused range
_METADATA = {
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud (in 100.64/10, named for clarity)
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
}
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, not routable publicly
# Names reserved for documentation and testing (RFC 2606, RFC 6761): they never host a story,
# and placeholder links in feeds and lists must not make the daemon talk to anyone.
_RESERVED_TLDS = ("test", "example", "invalid")
_DOCUMENTATION_DOMAINS = ("example.com", "example.net", "example.org")


def check_scheme(url: str) -> tuple[str, str]:
    """Refuse anything but http(s) URLs with a real host name; return (scheme, host)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as exc:
        raise RefusedURLError(f"malformed URL: {exc}", url=url) from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise RefusedURLError(
            f"refused scheme {scheme or '(none)'!r}: only http and https", url=url
        )
    if not host:
        raise RefusedURLError("URL has no host", url=url)
    name = host.lower().rstrip(".")
    if name.rsplit(".", 1)[-1] in _RESERVED_TLDS or any(
        name == domain or name.endswith("." + domain) for domain in _DOCUMENTATION_DOMAINS
    ):
        raise RefusedURLError(f"refused {url}: {host} is reserved for documentation", url=url)
    return scheme, host


def blocked_reason(address: str) -> str | None:
    """Why an address must not be fetched from content-supplied URLs, or None if it may."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return blocked_reason(str(mapped))
    if ip in _METADATA or str(ip) == "169.254.169.254":
        return "cloud metadata address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared (carrier-grade NAT) address"
    if ip.is_private:
        return "private address"
    if ip.is_multicast:
        return "multicast address"
    if ip.is_unspecified or ip.is_reserved:
        return "reserved address"
    return None


def _system_resolver(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedURLError(f"cannot resolve host {host!r}: {exc}") from exc
    return [str(info[4][0]) for info in infos]


def check_url(url: str, *, allow_private: bool = False, resolve: Resolver | None = None) -> None:
    """Raise RefusedURLError unless `url` may be fetched. With allow_private only the scheme
    is checked (tests and intranet sources)."""
    _scheme, host = check_scheme(url)
    if allow_private:
        return
    try:
        addresses = [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        if host.lower() == "localhost" or host.lower().endswith(".localhost"):
            raise RefusedURLError(f"refused {url}: localhost", url=url) from None
        addresses = list((resolve or _system_resolver)(host))
    if not addresses:
        raise RefusedURLError(f"cannot resolve host {host!r}", url=url)
    for address in addresses:
        reason = blocked_reason(address)
        if reason is not None:
            raise RefusedURLError(f"refused {url}: {host} is a {reason} ({address})", url=url)


async def check_url_async(
    url: str, *, allow_private: bool = False, resolve: Resolver | None = None
) -> None:
    """check_url without blocking the event loop on DNS."""
    if allow_private:
        check_scheme(url)
        return
    await asyncio.to_thread(check_url, url, allow_private=False, resolve=resolve)
