"""Commands for analysts and readers: the digest email and Datasette."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from peacewatch.cli.app import Context, cli, fail, pass_context
from peacewatch.errors import ConfigError, PeacewatchError


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


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
    help="Only the months from this date's month on (whole months are rewritten).",
)  # fmt: skip
@click.option(
    "--format", "fmt", type=click.Choice(["parquet", "csv", "jsonl"]), default="parquet",
    show_default=True, help="File format.",
)  # fmt: skip
@pass_context
def export(ctx: Context, directory: Path, since: Any, fmt: str) -> None:
    """Write the items, with their tags, themes, outlet and sources, as one file per month
    into DIRECTORY (items-2025-11.parquet, ...), for DuckDB, pandas or a spreadsheet."""
    from peacewatch.surfaces.export import export_store

    try:
        db = ctx.open_db()
        report = export_store(db, directory, fmt=fmt, since=since.date() if since else None)
    except PeacewatchError as error:
        fail(error)
    except OSError as error:
        fail(PeacewatchError(f"{directory}: cannot write the export: {error}"))
    months = sum(1 for path in report.files if path.name.startswith("items-"))
    click.echo(f"exported {report.items} items in {months} monthly {fmt} files to {directory}")
