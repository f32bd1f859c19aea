"""Commands for tagging: classify, retag, initiatives."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from peacewatch.cli.app import Context, cli, fail, pass_context
from peacewatch.errors import ConfigError, PeacewatchError

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


@cli.command()
@click.option("--detect", is_flag=True, help="First detect the language of items that have none.")
@click.option("--batch-size", default=2000, show_default=True, help="Items per transaction.")
@pass_context
def languages(ctx: Context, detect: bool, batch_size: int) -> None:
    """Items per language and where the language came from (feed, page, source, detected).

    With --detect, items stored without a language get one detected from their headline and
    summary first; resumable, safe while the daemon runs.
    """
    from peacewatch.store import languages as language_store

    try:
        db = ctx.open_db()
        if detect:
            filled = language_store.detect_missing(db, batch=batch_size)
            click.echo(f"detected the language of {filled} items", err=True)
        counts = language_store.language_counts(db)
    except PeacewatchError as error:
        fail(error)
    click.echo(f"{'LANGUAGE':<10} {'FROM':<10} {'ITEMS':>9}")
    for lang, source, n in counts:
        click.echo(f"{lang or '-':<10} {source or '-':<10} {n:>9}")
