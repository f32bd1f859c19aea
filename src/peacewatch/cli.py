"""The thin command line over the library. Each command parses options, calls one library
function and turns PeacewatchError into a message and an exit status (2 for configuration)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from peacewatch.errors import ConfigError, PeacewatchError


class Context:
    """Global options, resolved lazily so `--help` never reads configuration."""

    def __init__(self, config_dir: Path, db_path: Path | None, log_format: str | None) -> None:
        self.config_dir = config_dir
        self.db_override = db_path
        self.log_format = log_format
        self._config: Any = None

    def config(self) -> Any:
        """The validated configuration; exits with status 2 on any mistake in it."""
        from peacewatch.config import load_config
        from peacewatch.logs import setup_logging

        if self._config is None:
            try:
                self._config = load_config(self.config_dir)
            except ConfigError as error:
                fail(error)
            settings = self._config.settings  # type: ignore[union-attr]
            setup_logging(self.log_format or settings.log_format, settings.log_level)
        return self._config

    def db_path(self) -> Path:
        return self.db_override or self.config().settings.db_path

    def open_db(self, *, readonly: bool = False) -> Any:
        from peacewatch.store.database import open_db

        return open_db(self.db_path(), readonly=readonly,
                       busy_timeout=self.config().settings.busy_timeout)  # fmt: skip


def fail(error: PeacewatchError) -> None:
    """Print an error the way users should see it and exit with the right status."""
    if isinstance(error, ConfigError):
        for problem in error.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(2)
    click.echo(f"error: {error}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=lambda: os.environ.get("PEACEWATCH_CONFIG", "config"),
    show_default="./config or $PEACEWATCH_CONFIG",
    help="Configuration directory.",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=lambda: os.environ.get("PEACEWATCH_DB"),
    help="SQLite database (default: database.path in peacewatch.toml, or $PEACEWATCH_DB).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log format (default: log_format in peacewatch.toml).",
)
@click.version_option(package_name="peacewatch")
@click.pass_context
def cli(ctx: click.Context, config_dir: Path, db_path: Path | None, log_format: str | None) -> None:
    """Collect, deduplicate and tag news on Russia-Ukraine peace initiatives."""
    ctx.obj = Context(Path(config_dir), Path(db_path) if db_path else None, log_format)


pass_context = click.make_pass_decorator(Context)


@cli.command()
@click.option("--once", is_flag=True, help="One cycle over the due sources, then exit.")
@click.option("--all", "all_sources", is_flag=True, help="Poll every enabled source, due or not.")
@click.option("--source", "only", multiple=True, metavar="ID", help="Poll only this source.")
@pass_context
def run(ctx: Context, once: bool, all_sources: bool, only: tuple[str, ...]) -> None:
    """Poll sources: one cycle with --once, else run as the daemon."""
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
    try:
        db = ctx.open_db()
        report = run_once(config, db, all_sources=all_sources, only=only)
    except PeacewatchError as error:
        fail(error)
    for source in report.sources:
        if source.error:
            click.echo(f"  {source.source_id}: {source.outcome}: {source.error}", err=True)
    click.echo(
        f"sources: {report.ok} ok, {report.failed} failed; items: {report.items_new} new, "
        f"{report.items_seen} seen; {report.seconds:.1f} s"
    )


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
    """Each source with its health: last success, failures, next poll."""
    from peacewatch import store
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
    click.echo(f"{'source':28} {'state':9} {'last success':20} {'fails':>5} {'next due':20} items")
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
            f"{row['consecutive_failures']:>5} {(row['next_due_at'] or '-')[:19]:20} {row['items']}"
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


# -- tagging (initiatives.toml) ------------------------------------------------------------


def _ruleset(ctx: Context, rules_file: Path | None = None) -> Any:
    """The compiled rules, from `rules_file` or the configuration directory; exit 2 if broken."""
    from peacewatch.tagging.rules import load_rules_file, load_ruleset

    try:
        return load_rules_file(rules_file) if rules_file else load_ruleset(ctx.config_dir)
    except ConfigError as error:
        fail(error)


@cli.command()
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Classify with this rule file instead of <config>/initiatives.toml (to try a change).",
)
@pass_context
def classify(ctx: Context, rules_file: Path | None) -> None:
    """Tag JSON Lines items from stdin; one JSON line per item on stdout, in the same order.

    Each input line is an object with `title` and optionally `summary`, `text`, `published`
    (ISO date), `lang` and `url`. A line that cannot be read gets an `error` line in its place.
    """
    from peacewatch.tagging.classifier import ItemText
    from peacewatch.tagging.classifier import classify as classify_item

    ruleset = _ruleset(ctx, rules_file)
    bad = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict) or not isinstance(data.get("title"), str):
                raise ValueError('expected an object with a string "title"')
        except ValueError as error:
            bad += 1
            click.echo(json.dumps({"line": number, "error": str(error)}))
            continue
        result = classify_item(ItemText.from_mapping(data), ruleset).as_dict()
        record = {key: data[key] for key in ("url", "title") if key in data}
        record.update(result)
        record["rules_version"] = ruleset.version
        click.echo(json.dumps(record, ensure_ascii=False))
    if bad:
        click.echo(f"error: {bad} input line(s) could not be read", err=True)
        sys.exit(1)


@cli.command()
@click.option("--batch-size", default=1000, show_default=True, help="Items per transaction.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_context
def retag(ctx: Context, batch_size: int, quiet: bool) -> None:
    """Recompute the tags of every item classified with other rules than the current ones.

    Resumable: stopping it (Ctrl-C) keeps every finished batch, and the next run continues.
    """
    from peacewatch.store import tags as tag_store

    ruleset = _ruleset(ctx)
    try:
        db = ctx.open_db()
        if not quiet:
            with click.progressbar(
                length=0, label="retagging", show_pos=True, file=sys.stderr
            ) as bar:

                def progress(done: int, total: int) -> None:
                    bar.length = total
                    bar.update(done - bar.pos)

                report = tag_store.retag(db, ruleset, batch_size=batch_size, progress=progress)
        else:
            report = tag_store.retag(db, ruleset, batch_size=batch_size)
    except PeacewatchError as error:
        fail(error)
    click.echo(
        f"retagged {report.items} items with rules {report.rules_version}: "
        f"{report.tagged} tagged, {report.relevant} relevant"
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per initiative.")
@pass_context
def initiatives(ctx: Context, as_json: bool) -> None:
    """The tracked initiatives with their number of tagged items."""
    from peacewatch.store import tags as tag_store

    ruleset = _ruleset(ctx)
    counts: dict[str, int] = {}
    try:
        path = ctx.db_path()
        if path.exists():
            counts = tag_store.initiative_counts(ctx.open_db(readonly=True))
    except PeacewatchError as error:
        fail(error)
    for initiative in ruleset.initiatives:
        row = {
            "id": initiative.id,
            "name": initiative.name,
            "start_date": initiative.start_date.isoformat(),
            "end_date": initiative.end_date.isoformat() if initiative.end_date else None,
            "items": counts.get(initiative.id, 0),
        }
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            dates = f"{row['start_date']} .. {row['end_date'] or ''}"
            click.echo(f"{row['id']:28} {dates:24} {row['items']:>7}  {row['name']}")


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
        "canonical_url": article.canonical_url,
        "outlet": outlet.id if outlet else None,
        "outlet_registered": outlet.registered if outlet else None,
        "site_name": article.site_name,
        "lang": article.lang,
        "author": article.author,
        "lead": article.lead,
        "url": article.url,
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
    from peacewatch.pipeline import Runtime, read_article_pages
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

        async def read_pages() -> None:
            async with Fetcher(config.settings.http) as fetcher:
                rt = Runtime(config, db, fetcher, outlets=registry)
                while counts := await read_article_pages(rt, source_id=None):
                    for outcome, count in counts.items():
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


def _digest_config(ctx: Context) -> Any:
    from peacewatch.surfaces.digest_config import DigestConfig

    return ctx.config().settings.raw.get("digest") or DigestConfig()


@cli.command()
@click.option(
    "--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
    help="Local day the digest covers (default: yesterday in the digest's timezone).",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Build and print the digest; never send.")
@click.option(
    "--to", "to", metavar="ADDRESS",
    help="Only this recipient (with its configured filters, or none if not configured).",
)  # fmt: skip
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
    help="Write the message (.eml) to FILE instead of sending (implies --dry-run).",
)  # fmt: skip
@click.option("--resend", is_flag=True, help="Send again even if the ledger says sent/failed.")
@pass_context
def digest(
    ctx: Context, day: Any, dry_run: bool, to: str | None, out: Path | None, resend: bool
) -> None:
    """Build the daily digest for a day; send it once to each recipient, or print it."""
    from datetime import UTC, datetime

    from peacewatch.surfaces.digest import build_digest
    from peacewatch.surfaces.digest_render import render_email
    from peacewatch.surfaces.mailer import default_day, deliver_digest, recipient_for

    config = _digest_config(ctx)
    now = datetime.now(UTC)
    when = day.date() if day else default_day(config, now)
    recipients = [recipient_for(config, to)] if to else list(config.recipients)
    dry_run = dry_run or out is not None
    if not recipients:
        if not dry_run:
            fail(
                ConfigError(
                    "no recipients: add [[digest.recipients]] to peacewatch.toml or use --to"
                )
            )
        recipients = [recipient_for(config, "digest@localhost.invalid")]
    if out is not None and len(recipients) > 1:
        raise click.BadParameter("several recipients: choose one with --to", param_hint="--out")
    try:
        db = ctx.open_db()
        if dry_run:
            for recipient in recipients:
                built = build_digest(
                    db, when, recipient, config.zone,
                    max_items_per_initiative=config.max_items_per_initiative,
                    max_general_items=config.max_general_items,
                )  # fmt: skip
                message = render_email(built, config, recipient.address, now=now)
                if out is not None:
                    out.write_bytes(message.as_bytes())
                    click.echo(f"wrote {out} ({built.item_count} items)", err=True)
                else:
                    click.echo(f"Subject: {message['Subject']}\nTo: {recipient.address}\n")
                    body = message.get_body(("plain",))
                    click.echo(body.get_content() if body is not None else "")
            return
        failed = 0
        for recipient in recipients:
            result = deliver_digest(db, config, when, recipient, resend=resend)
            click.echo(
                f"{result.day} {result.recipient}: {result.outcome} {result.detail}".rstrip()
            )
            failed += result.outcome in ("failed", "unknown")
    except PeacewatchError as error:
        fail(error)
    if failed:
        sys.exit(1)


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("datasette_args", nargs=-1, type=click.UNPROCESSED)
@pass_context
def datasette(ctx: Context, datasette_args: tuple[str, ...]) -> None:
    """Browse the database in Datasette (read-only); extra ARGS go to `datasette serve`.

    \b
    Example: peacewatch datasette --port 8002 --open
    See `datasette serve --help` for the options.
    """
    from peacewatch.surfaces.datasette_app import CONFIG_NAME, serve

    try:
        ctx.open_db().conn.close()  # create/migrate first, so every view exists
        serve(ctx.db_path(), ctx.config_dir / CONFIG_NAME, list(datasette_args))
    except PeacewatchError as error:
        fail(error)


def _now() -> str:
    from peacewatch.timeutil import now_iso

    return now_iso()


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv, prog_name="peacewatch")
