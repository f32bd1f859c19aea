"""URL normalization: one canonical form per story, whatever feed or variant carried it."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that only track a click, never select content.
_TRACKING_EXACT = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "twclid",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "cmpid",
        "ocid",
        "_ga",
        "_gl",
        "smid",
        "sr_share",
        "amp",
        "outputtype",
        "at_medium",
        "at_campaign",
        "rss",
        "via",
    }
)
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "itm_", "at_", "__twitter_impression")
_AMP_QUERY_VALUES = {("outputtype", "amp"), ("amp", "1"), ("amp", "true"), ("amp", "")}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_AMP_CACHE = re.compile(r"^[a-z0-9-]+\.cdn\.ampproject\.org$")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_EXACT or lowered.startswith(_TRACKING_PREFIXES)


def _strip_amp_path(path: str) -> str:
    # /amp/world/x, /world/x/amp, /world/x/amp/, /world/x.amp, /world/x.amp.html
    path = re.sub(r"^/amp(?=/)", "", path)
    if path not in ("/amp", "/amp/"):
        path = re.sub(r"/amp(/?)$", r"\1", path)
    path = re.sub(r"\.amp(\.html?)?$", r"\1", path)
    return path or "/"


def _unwrap_amp_cache(host: str, path: str) -> str | None:
    # https://www-example-com.cdn.ampproject.org/c/s/www.example.com/story -> https://www.example.com/story
    if not _AMP_CACHE.match(host):
        return None
    match = re.match(r"^/[a-z](/s)?/(.+)$", path)
    if not match:
        return None
    scheme = "https" if match.group(1) else "http"
    return f"{scheme}://{match.group(2)}"


def canonicalize_url(url: str, base: str | None = None) -> str:
    """Canonical form of an article URL for deduplication.

    Scheme and host are case folded, default ports, fragments, tracking parameters and AMP
    variants are removed, the remaining query parameters sorted; the path keeps its case.
    """
    url = url.strip()
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    unwrapped = _unwrap_amp_cache(host, parts.path)
    if unwrapped:
        query = f"?{parts.query}" if parts.query else ""
        return canonicalize_url(unwrapped + query)
    if host.startswith("amp."):
        host = "www." + host[4:]  # amp.theguardian.com serves www.theguardian.com's stories
    port = parts.port if parts.port != _DEFAULT_PORTS.get(scheme) else None
    netloc = host if port is None else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    # normalize percent-encoding without changing meaning (e.g. %7E -> ~, spaces -> %20)
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=-._~%")
    path = _strip_amp_path(path) if "amp" in path else path
    if not path:
        path = "/"
    pairs = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(k) and (k.lower(), v.lower()) not in _AMP_QUERY_VALUES
    ]
    pairs.sort()
    return urlunsplit((scheme, netloc, path, urlencode(pairs, quote_via=quote), ""))


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
