"""Rounds of the article-page queue: the due pages fetched (politely, per host, within a
budget), read, and what they say folded into their items; counts per outcome.

Separate from `pipeline`: a round is the page queue's own mechanics (guards, per-host turns,
refusals, cancellation at the budget). The conductor hands it `after_store`, so an item a
page changed is tagged and clustered in the order a poll's items are.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from peacewatch import store
from peacewatch.errors import FetchError, ParseError, RefusedURLError
from peacewatch.ingest.fetch import URLGuard
from peacewatch.ingest.netguard import check_url_async
from peacewatch.ingest.urls import canonicalize_url
from peacewatch.models import FetchResult
from peacewatch.runtime import Runtime
from peacewatch.store import pages as article_store

if TYPE_CHECKING:
    from peacewatch.ingest.articles import Article

# the conductor's logger: these lines keep the name that log filters and readers know
log = logging.getLogger("peacewatch.pipeline")


def _extract_page(rt: Runtime, result: FetchResult, timezone: str | None) -> Article:
    """extract_article on a body from the web: a failure on one page is that page's failure
    (recorded and retried later), never the source's or the cycle's."""
    from peacewatch.ingest.articles import extract_article

    try:
        return extract_article(
            result.content, result.url, headers=result.headers, now=rt.clock(), timezone=timezone
        )
    except (ValueError, LookupError, RecursionError, AssertionError) as error:
        log.debug("cannot read article page %s", result.url, exc_info=True)
        raise ParseError("unreadable_page", f"cannot read the page: {error!r}") from error


def page_guard(rt: Runtime, *, allow_private: bool) -> URLGuard:
    """Checks for every URL of an article page's redirect chain: scheme, address, robots."""

    async def guard(url: str) -> None:
        await check_url_async(url, allow_private=allow_private)
        if rt.robots is not None:
            await rt.robots.check(url, now=rt.clock())

    return guard


PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


async def read_article_pages(
    rt: Runtime,
    after_store: Callable[[Runtime, list[int], str], None],
    *,
    imported_only: bool = False,
    budget: float | None = None,
) -> dict[str, int]:
    """One round of the article-page queue: fetch the due pages (at most [pages] per_cycle,
    per_poll of one source's), read them and fold what they say into their items. Returns
    counts per outcome: done, failed, refused, and `later` for pages left due (the budget ran
    out, or an earlier page of their host was refused or unreachable in this round).

    Pages go through their own fetcher, politely per host. A refused page waits for its
    backoff. INFO gets one line per source with pages, per-page detail goes to DEBUG.
    `imported_only`: only the pages `import-list` queued. `budget`: seconds for the round;
    pages not fetched by then stay due for the next round.
    `after_store`: the conductor's steps for an item a page changed (pipeline.after_store).
    """
    settings = rt.config.settings.pages
    due = article_store.due_pages(
        rt.db, now=rt.now(), limit=settings.per_cycle, per_source=settings.per_poll,
        imported_only=imported_only,
    )  # fmt: skip
    if not due:
        return {}
    guards: dict[bool, URLGuard] = {}
    outcomes: dict[int, str] = {}

    def guard_for(page: dict) -> URLGuard:
        source = rt.source(page["source_id"]) if page["source_id"] else None
        allow = source.allow_private if source is not None else False
        if allow not in guards:
            guards[allow] = page_guard(rt, allow_private=allow)
        return guards[allow]

    async def one(page: dict, url: str) -> tuple[str, bool]:
        """The page's outcome, and whether its host is of no use for the rest of the round
        (unresolvable, private, unreachable, timing out)."""
        try:
            result = await rt.pages_fetcher.get(
                url, source_id=page["source_id"] or "", accept=PAGE_ACCEPT,
                guard=guard_for(page),
            )  # fmt: skip
            article = _extract_page(rt, result, page["timezone"])
        except RefusedURLError as error:
            with store.transaction(rt.db):
                article_store.mark_page_failed(
                    rt.db, page["item_id"], now=rt.now(), error=str(error), refused=True,
                    refused_backoff=timedelta(seconds=settings.refused_backoff),
                )  # fmt: skip
            log.debug("article page refused: %s", error)
            # robots.txt rules are per page; an unresolvable, private or unreachable host
            # (robots.txt included) refuses every page of it
            text = str(error)
            return "refused", "robots" not in text or "unreachable" in text
        except (FetchError, ParseError) as error:
            with store.transaction(rt.db):
                article_store.mark_page_failed(
                    rt.db, page["item_id"], now=rt.now(), error=str(error),
                    http_status=getattr(error, "status", None),
                )  # fmt: skip
            log.debug("article page %s failed: %s", url, error)
            host_down = isinstance(error, FetchError) and error.outcome in (
                "network_error", "timeout"
            )  # fmt: skip
            return "failed", host_down
        now = rt.now()
        with store.transaction(rt.db):
            changed = article_store.apply_article(
                rt.db, page["item_id"], article, now=now, http_status=result.status
            )
            if changed:
                after_store(rt, [page["item_id"]], now)
        log.debug("article page %s read", url)
        return "done", False

    async def host_turn(pages: list[tuple[dict, str]]) -> None:
        # One host's pages one after another: polite, and once the host is found refused
        # (its address) its other pages are refused for the same reason without a lookup;
        # once it is unreachable they wait for a later round instead of failing the same way.
        for n, (page, url) in enumerate(pages):
            outcome, host_down = await one(page, url)
            outcomes[page["item_id"]] = outcome
            if host_down and outcome == "refused":
                error = article_store.page_error(rt.db, page["item_id"])
                with store.transaction(rt.db):
                    for other, _url in pages[n + 1 :]:
                        article_store.mark_page_failed(
                            rt.db, other["item_id"], now=rt.now(), error=error, refused=True,
                            refused_backoff=timedelta(seconds=settings.refused_backoff),
                        )  # fmt: skip
                        outcomes[other["item_id"]] = "refused"
            if host_down:
                return

    by_host: dict[str, list[tuple[dict, str]]] = {}
    for page in due:
        # tracking parameters stripped: the same page, without telling anyone we came
        url = canonicalize_url(page["url"])
        by_host.setdefault(urlsplit(url).netloc.lower(), []).append((page, url))
    tasks = [asyncio.ensure_future(host_turn(pages)) for pages in by_host.values()]
    # Cancelled pages stop at an await, never inside their (synchronous) transaction.
    _done, pending = await asyncio.wait(tasks, timeout=budget)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.error("reading article pages crashed", exc_info=task.exception())
    per_source: dict[str, dict[str, int]] = {}
    for page in due:
        outcome = outcomes.get(page["item_id"], "later")
        counts = per_source.setdefault(page["source_id"] or "imported lists", {})
        counts[outcome] = counts.get(outcome, 0) + 1
    totals: dict[str, int] = {}
    for name, counts in sorted(per_source.items()):
        log.info("article pages for %s: %s", name, _counts_text(counts))
        for outcome, count in counts.items():
            totals[outcome] = totals.get(outcome, 0) + count
    return totals


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items()))
