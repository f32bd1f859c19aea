"""Plain data passed between the steps: fetch -> parse -> store -> tag. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Source:
    """One configured source from config/sources.toml."""

    id: str
    outlet: str
    url: str
    kind: str = "feed"  # feed | page | list
    interval: int = 1800  # seconds between polls at first; then adaptive within the bounds
    min_interval: int = 300  # adaptive intervals never go below this (nor below 60 s)
    max_interval: int = 21600  # ... nor above this
    lang: str | None = None
    timezone: str | None = None  # for naive dates in this source
    enabled: bool = True
    allow_private: bool = False  # tests and intranet feeds: allow loopback/private addresses


@dataclass(frozen=True)
class Validators:
    """What a source's last good response told us, sent back on the next poll."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    trust_validators: bool = True


@dataclass(frozen=True)
class FetchResult:
    """A completed HTTP exchange that produced a body (or a 304)."""

    source_id: str
    url: str  # final URL after redirects
    status: int
    content: bytes
    headers: dict[str, str]
    etag: str | None
    last_modified: str | None
    fetched_at: str  # UTC ISO-8601
    elapsed_ms: int
    not_modified: bool = False
    permanent_redirect: str | None = None  # new URL when a 301/308 chain was followed
    conditional: bool = False  # validators were sent with the request


@dataclass(frozen=True)
class ParsedItem:
    """One story as a parser saw it. `published` is UTC ISO-8601 or None, never 'now';
    `published_local` the same moment in the outlet's zone (or a bare day) when the source
    told it; `date_candidates` the JSON of an article page's date witnesses."""

    title: str
    url: str | None
    canonical_url: str | None
    guid: str | None = None
    published: str | None = None
    published_local: str | None = None
    date_candidates: str | None = None
    updated: str | None = None
    summary: str | None = None
    author: str | None = None
    lang: str | None = None
    lang_source: str | None = None  # where `lang` came from: feed | page | source
    outlet: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its items plus what went wrong while reading it."""

    items: list[ParsedItem]
    title: str | None = None
    lang: str | None = None
    bozo: str | None = None  # feedparser's reason for a malformed feed
    encoding: str | None = None
    floor: tuple[float, str] | None = None  # the shortest poll interval the feed asks for


@dataclass(frozen=True)
class SaveReport:
    """What storing one batch of items did."""

    new: list[int] = field(default_factory=list)  # item ids created
    changed: list[int] = field(default_factory=list)  # item ids whose headline/summary changed
    seen: int = 0  # items that were already stored unchanged


@dataclass
class SourceReport:
    """Outcome of one poll of one source."""

    source_id: str
    outcome: str
    status: int | None = None
    items_new: int = 0
    items_seen: int = 0
    items_changed: int = 0
    error: str | None = None
    next_due: str | None = None


@dataclass
class RunReport:
    """Outcome of one cycle over several sources."""

    sources: list[SourceReport] = field(default_factory=list)
    seconds: float = 0.0
    pages: dict[str, int] = field(default_factory=dict)  # article pages read, by outcome
    pages_seconds: float = 0.0

    @property
    def ok(self) -> int:
        return sum(1 for s in self.sources if s.error is None)

    @property
    def failed(self) -> int:
        return sum(1 for s in self.sources if s.error is not None)

    @property
    def items_new(self) -> int:
        return sum(s.items_new for s in self.sources)

    @property
    def items_seen(self) -> int:
        return sum(s.items_seen for s in self.sources)
