"""Commands of the stories stage: `stories` (a day's largest stories and why each member is
in it), `recluster` (rebuild after a settings change) and `unmerge` (undo a logged merge)."""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import date

import click

from peacewatch.cli.app import Context, _now, cli, fail, pass_context
from peacewatch.errors import InputError, PeacewatchError, StoreError


def _day(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        fail(InputError(f"--date: expected YYYY-MM-DD, got {value!r}"))
    return None


def _reason(member: dict) -> str:
    if not member["evidence"]:
        return "founded the story"
    shared = "; ".join(
        f"{kind}: {', '.join(values[:6])}" for kind, values in member["shared"].items() if values
    )
    matched = member["matched"] or "centroid"
    return f"{'+'.join(member['evidence'])} vs {matched} ({shared})"


@cli.command()
@click.option("--date", "day", metavar="YYYY-MM-DD", help="Stories that began on this day (UTC).")
@click.option("--initiative", "initiative", metavar="ID", help="Only stories tagged with it.")
@click.option("--limit", default=20, show_default=True, help="How many stories.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per story.")
@pass_context
def stories(
    ctx: Context, day: str | None, initiative: str | None, limit: int, as_json: bool
) -> None:
    """The largest stories, each with its outlets, languages and every member's reason."""
    from peacewatch.store.stories import stories_on

    try:
        db = ctx.open_db(readonly=True)
        found = stories_on(db, day=_day(day), initiative=initiative, limit=limit)
    except PeacewatchError as error:
        fail(error)
    except sqlite3.Error as error:  # a database no writable command has migrated yet
        fail(StoreError(f"cannot read stories ({error}); run `peacewatch recluster` first"))
    for story in found:
        if as_json:
            click.echo(json.dumps(story, ensure_ascii=False))
            continue
        click.echo(
            f"story {story['id']} ({story['day']}): {story['headline']}\n"
            f"  {story['size']} items, {story['outlet_count']} outlets, languages "
            f"{', '.join(story['languages']) or '-'}; initiatives "
            f"{', '.join(story['initiatives']) or '-'}"
        )
        for member in story["members"]:
            click.echo(
                f"    [{member['language'] or '?'}] {member['outlet']}: {member['title']}\n"
                f"        {_reason(member)}"
            )


@cli.command()
@click.option("--since", metavar="YYYY-MM-DD", help="Rebuild from this day on (default: all).")
@click.option("--batch-size", default=500, show_default=True, help="Items per transaction.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_context
def recluster(ctx: Context, since: str | None, batch_size: int, quiet: bool) -> None:
    """Rebuild the stories of items from a day on, after a change of the clustering settings
    or the alias table. Short transactions: the daemon keeps fetching meanwhile."""
    from peacewatch.runtime import make_story_index
    from peacewatch.store.stories import recluster as rebuild

    index = make_story_index(ctx.config())
    start = _day(since)
    try:
        db = ctx.open_db()
        total = db.execute(
            "SELECT count(*) FROM items WHERE coalesce(published, first_seen) >= ?", [start or ""]
        ).fetchone()[0]
        if quiet:
            done = rebuild(db, index, since=start, now=_now(), batch_size=batch_size)
        else:
            with click.progressbar(
                length=total, label="reclustering", show_pos=True, file=sys.stderr
            ) as bar:
                done = rebuild(
                    db, index, since=start, now=_now(), batch_size=batch_size, progress=bar.update
                )
        count = db.execute("SELECT count(*), max(size) FROM stories").fetchone()
    except PeacewatchError as error:
        fail(error)
    click.echo(
        f"reclustered {done} items with settings {index.version}: "
        f"{count[0]} stories, the largest {count[1] or 0} items"
    )


@cli.command()
@click.argument("merge_id", type=int)
@pass_context
def unmerge(ctx: Context, merge_id: int) -> None:
    """Undo a merge of two stories (an id from the story_merges table)."""
    from peacewatch.store.story_writes import undo_merge

    try:
        db = ctx.open_db()
        kept, absorbed = undo_merge(db, merge_id, _now())
    except LookupError as error:
        fail(InputError(str(error.args[0])))
    except PeacewatchError as error:
        fail(error)
    click.echo(f"merge {merge_id} undone: story {absorbed} split from story {kept} again")
