"""Commands for collecting: run, daemon, sources, stats, and the feed, page and list parsers."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from peacewatch.cli.app import Context, _now, cli, fail, pass_context
from peacewatch.errors import ConfigError, PeacewatchError


@cli.command()
@click.option("--once", is_flag=True, help="One cycle over the due sources, then exit.")
@click.option("--all", "all_sources", is_flag=True, help="Poll every enabled source, due or not.")
@click.option("--source", "only", multiple=True, metavar="ID", help="Poll only this source.")
@click.option(
    "--no-pages", is_flag=True,
    help="With --once: leave the article pages queued (else read within [pages] budget).",
)  # fmt: skip
@pass_context
def run(ctx: Context, once: bool, all_sources: bool, only: tuple[str, ...], no_pages: bool) -> None:
    """Poll sources: one cycle with --once, else run as the daemon."""
    from peacewatch.models import RunReport
    from peacewatch.pipeline import run_once

    config = ctx.config()
    if not once:
        _daemon(ctx)
        return
    unknown = sorted(set(only) - {s.id for s in config.sources})
    if unknown:
        raise click.BadParameter(
            f"not in sources.toml: {', '.join(unknown)}", param_hint="--source"
        )

    def summary(report: RunReport) -> None:
        # printed as soon as the feeds are done: the summary never waits for article pages
        for source in report.sources:
            if source.error:
                click.echo(f"  {source.source_id}: {source.outcome}: {source.error}", err=True)
        click.echo(
            f"sources: {report.ok} ok, {report.failed} failed; items: {report.items_new} new, "
            f"{report.items_seen} seen; {report.seconds:.1f} s"
        )

    try:
        db = ctx.open_db()
        report = run_once(config, db, all_sources=all_sources, only=only,
                          pages=not no_pages, on_report=summary)  # fmt: skip
    except PeacewatchError as error:
        fail(error)
    if report.pages:
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.pages.items()))
        click.echo(f"article pages: {counts}; {report.pages_seconds:.1f} s")


def _daemon(ctx: Context) -> None:
    from peacewatch.schedule import run_daemon

    config = ctx.config()
    try:
        run_daemon(config, ctx.db_path())
    except PeacewatchError as error:
        fail(error)


@cli.command()
@pass_context
def daemon(ctx: Context) -> None:
    """Run unattended: poll each source on its schedule until SIGINT/SIGTERM."""
    _daemon(ctx)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source.")
@pass_context
def sources(ctx: Context, as_json: bool) -> None:
    """Each source with its health: last success, failures, next poll and why it is then
    (the adaptive interval's reason, a feed's floor, a backoff), and how many of its items'
    dates the article page corrected."""
    from peacewatch import store
    from peacewatch.ingest.cadence import format_seconds
    from peacewatch.pipeline import sync_configuration

    config = ctx.config()
    try:
        db = ctx.open_db()
        sync_configuration(db, config, _now())
        rows = store.source_rows(db)
    except PeacewatchError as error:
        fail(error)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    click.echo(
        f"{'source':28} {'state':9} {'last success':20} {'fails':>5} {'next due':20} "
        f"{'every':>6} {'items':>6} {'redated':>7}  why"
    )
    for row in rows:
        state = (
            "disabled"
            if not row["enabled"]
            else ("failing" if row["consecutive_failures"] else "ok")
        )
        if row["enabled"] and row["last_fetch_at"] is None:
            state = "new"
        click.echo(
            f"{row['id'][:28]:28} {state:9} {(row['last_success_at'] or '-')[:19]:20} "
            f"{row['consecutive_failures']:>5} {(row['next_due_at'] or '-')[:19]:20} "
            f"{format_seconds(row['poll_interval'] or row['interval']):>6} "
            f"{row['items']:>6} {row['date_disagreements']:>7}  {row['next_due_reason'] or '-'}"
        )
        if row["consecutive_failures"] and row["last_error"]:
            click.echo(f"{'':28}   since {row['failing_since']}: {row['last_error']}")


@cli.command()
@click.option("--days", default=14, show_default=True, help="How many days back.")
@pass_context
def stats(ctx: Context, days: int) -> None:
    """Items per outlet and day."""
    from peacewatch import store

    try:
        rows = store.stats(ctx.open_db(), days=days)
    except PeacewatchError as error:
        fail(error)
    for row in rows:
        click.echo(f"{row['day']}  {row['items']:6}  {row['outlet']}")


@cli.command("parse-feed")
@click.argument("target")
@click.option("--url", "base_url", help="The feed's URL, for resolving relative links in a FILE.")
@click.option("--lang", help="Language for entries that declare none.")
@click.option("--timezone", help="Time zone for dates that carry none (IANA name).")
def parse_feed_command(
    target: str, base_url: str | None, lang: str | None, timezone: str | None
) -> None:
    """Print the items of a feed FILE or URL as JSON Lines."""
    from peacewatch.ingest.feeds import parse_feed

    try:
        content, url, headers = _read_target(target, base_url)
        parsed = parse_feed(content, url=url, headers=headers, lang=lang, timezone=timezone)
    except PeacewatchError as error:
        fail(error)
    if parsed.bozo:
        click.echo(
            f"warning: malformed feed, recovered what could be read: {parsed.bozo}", err=True
        )
    for item in parsed.items:
        record = asdict(item)
        record.pop("extra", None)
        click.echo(json.dumps(record, ensure_ascii=False))


def _read_target(target: str, base_url: str | None) -> tuple[bytes, str, dict[str, str]]:
    """Bytes of a local file or of a URL fetched with the configured politeness."""
    from peacewatch.config import HttpSettings
    from peacewatch.ingest.fetch import Fetcher

    if target.startswith(("http://", "https://")):

        async def get() -> Any:
            async with Fetcher(HttpSettings()) as fetcher:
                return await fetcher.get(target)

        result = asyncio.run(get())
        return result.content, result.url, result.headers
    path = Path(target)
    try:
        content = path.read_bytes()
    except OSError as error:
        raise PeacewatchError(f"cannot read {path}: {error.strerror}") from None
    return content, base_url or path.resolve().as_uri(), {}


# -- article pages, reading lists, outlets (articles branch) --------------------------------


def _registry(ctx: Context) -> Any:
    from peacewatch.ingest.outlets import load_outlets

    try:
        return load_outlets(ctx.config_dir)
    except ConfigError as error:
        fail(error)


def _looks_like_html(content: bytes, url: str, headers: dict[str, str]) -> bool:
    content_type = headers.get("content-type", "")
    if "html" in content_type:
        return True
    if "text/plain" in content_type:
        return False
    head = content[:2048].lstrip().lower()
    return url.lower().endswith((".html", ".htm")) or head.startswith((b"<!doctype", b"<html"))


@cli.command("parse-article")
@click.argument("target")
@click.option("--url", "base_url", help="The page's original URL, for a FILE.")
@click.option("--timezone", help="Time zone for dates without one (default: the outlet's).")
@pass_context
def parse_article_command(
    ctx: Context, target: str, base_url: str | None, timezone: str | None
) -> None:
    """Print what an article page FILE or URL says about itself, as one JSON object."""
    from datetime import UTC, datetime

    from peacewatch.ingest.articles import extract_article

    registry = _registry(ctx)
    try:
        content, url, headers = _read_target(target, base_url)
    except PeacewatchError as error:
        fail(error)
    outlet = registry.outlet_for_url(url) if url.startswith(("http://", "https://")) else None
    article = extract_article(
        content, url, headers=headers, now=datetime.now(UTC),
        timezone=timezone or (outlet.timezone if outlet else None),
    )  # fmt: skip
    if outlet is None and article.site_name:
        outlet = registry.outlet_for_name(article.site_name)
    record = {
        "title": article.title,
        "published": article.published,
        "published_local": article.published_local,
        "modified": article.modified,
        "date_source": article.date_source,
        "date_reason": article.date_reason,
        "canonical_url": article.canonical_url,
        "outlet": outlet.id if outlet else None,
        "outlet_registered": outlet.registered if outlet else None,
        "site_name": article.site_name,
        "lang": article.lang,
        "author": article.author,
        "lead": article.lead,
        "url": article.url,
        "date_candidates": (
            json.loads(article.date_candidates)["candidates"] if article.date_candidates else []
        ),
    }
    click.echo(json.dumps(record, ensure_ascii=False))


def _read_list(ctx: Context, target: str) -> Any:
    from datetime import UTC, datetime

    from peacewatch.ingest.readinglist import parse_html_list, parse_text_list

    registry = _registry(ctx)
    try:
        content, url, headers = _read_target(target, None)
    except PeacewatchError as error:
        fail(error)
    today = datetime.now(UTC).date()
    if _looks_like_html(content, url, headers):
        return parse_html_list(content, url, registry=registry, today=today, headers=headers)
    text = content.decode("utf-8-sig", errors="replace")
    return parse_text_list(text, registry=registry, today=today)


def _report_problems(problems: list[Any]) -> None:
    for problem in problems:
        click.echo(f"skipped line {problem.line}: {problem.reason}: {problem.text.strip()}",
                   err=True)  # fmt: skip


@cli.command("parse-list")
@click.argument("target")
@pass_context
def parse_list_command(ctx: Context, target: str) -> None:
    """Print the entries of a reading list FILE or URL (HTML or text) as JSON Lines."""
    parsed = _read_list(ctx, target)
    for entry in parsed.entries:
        record = asdict(entry)
        record["published"] = entry.published
        click.echo(json.dumps(record, ensure_ascii=False))
    _report_problems(parsed.problems)


@cli.command("import-list")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="Name the list is stored under (default: the file name).")
@click.option("--no-fetch", is_flag=True, help="Store the entries without reading their pages.")
@pass_context
def import_list_command(ctx: Context, file: Path, name: str | None, no_fetch: bool) -> None:
    """Store the entries of a reading list pasted into FILE (text or HTML), then read the
    pages of the entries that have a link."""
    from peacewatch import store
    from peacewatch.ingest.fetch import Fetcher
    from peacewatch.pipeline import process_items, read_article_pages
    from peacewatch.runtime import Runtime
    from peacewatch.store import pages as article_store

    config = ctx.config()
    parsed = _read_list(ctx, str(file))
    registry = _registry(ctx)
    now = _now()
    pages: dict[str, int] = {}
    try:
        db = ctx.open_db()
        with store.transaction(db):
            article_store.sync_outlets(db, registry)
            report = article_store.save_list_entries(
                db, parsed.entries, list_ref=f"file:{name or file.name}", source_id=None,
                registry=registry, now=now,
            )  # fmt: skip
            process_items(db, config, report.new, now)  # language, tags, stories

        async def read_pages() -> None:
            async with Fetcher(config.settings.http) as fetcher:
                rt = Runtime(config, db, fetcher, outlets=registry)
                # rounds until every page was tried once (pages of a host that turned
                # out unreachable or refused wait, as in the daemon, for a later round)
                while (counts := await read_article_pages(rt, imported_only=True)) and any(
                    outcome != "later" for outcome in counts
                ):
                    for outcome, count in counts.items():
                        if outcome != "later":
                            pages[outcome] = pages.get(outcome, 0) + count

        if not no_fetch:
            asyncio.run(read_pages())
    except PeacewatchError as error:
        fail(error)
    _report_problems(parsed.problems)
    click.echo(
        f"{file.name}: {len(parsed.entries)} entries ({len(report.new)} new, "
        f"{report.seen} already known), {len(parsed.problems)} lines skipped"
        + (f"; pages: {', '.join(f'{k} {v}' for k, v in sorted(pages.items()))}" if pages else "")
    )


@cli.command("outlets")
@click.option("--unknown", is_flag=True, help="Only outlets derived from unknown names/domains.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per outlet.")
@pass_context
def outlets_command(ctx: Context, unknown: bool, as_json: bool) -> None:
    """The outlet registry, or (--unknown) the outlets config/outlets.toml should describe."""
    if unknown:
        from peacewatch.store import pages as article_store

        try:
            rows = article_store.unknown_outlets(ctx.open_db(readonly=True))
        except PeacewatchError as error:
            fail(error)
        for row in rows:
            if as_json:
                click.echo(json.dumps(row, ensure_ascii=False))
            else:
                seen_as = f"  (from {row['derived_from']})" if row["derived_from"] else ""
                click.echo(
                    f"{row['id']:32} {row['items']:6} items {row['list_entries']:5} list entries"
                    f" {row['sources']:3} sources  {row['name']}{seen_as}"
                )
        if not rows and not as_json:
            click.echo("every outlet in the database is described in outlets.toml")
        return
    for outlet in _registry(ctx):
        if as_json:
            click.echo(json.dumps(asdict(outlet), ensure_ascii=False))
        else:
            aliases = ", ".join(outlet.aliases)
            click.echo(f"{outlet.id:24} {outlet.name:36} {' '.join(outlet.domains)}"
                       + (f"  [{aliases}]" if aliases else ""))  # fmt: skip


# -- analyst surfaces: digest emails and Datasette ------------------------------------------
