"""Analysts' corrections: `label` an item's initiatives, review `candidates` for one."""

from __future__ import annotations

import json

import click

from peacewatch.cli.app import Context, cli, fail, pass_context
from peacewatch.cli.tagging import load_rules
from peacewatch.errors import InputError, PeacewatchError


@cli.command()
@click.argument("item", type=int)
@click.option(
    "--add", "add", multiple=True, metavar="ID", help="The item is about this initiative."
)
@click.option(
    "--remove", multiple=True, metavar="ID", help="The item is not about this initiative."
)
@click.option("--clear", multiple=True, metavar="ID", help="Forget the correction for ID.")
@click.option("--note", metavar="TEXT", help="Why (shown as the tag's evidence).")
@pass_context
def label(
    ctx: Context,
    item: int,
    add: tuple[str, ...],
    remove: tuple[str, ...],
    clear: tuple[str, ...],
    note: str | None,
) -> None:
    """Correct ITEM's initiative tags; the correction outlives every retag.

    --add, --remove and --clear repeat. A later label for the same item and initiative
    replaces the earlier one. Unknown ids exit with status 2 and change nothing.
    """
    from peacewatch.store import labels as label_store
    from peacewatch.timeutil import now_iso

    if not (add or remove or clear):
        raise click.UsageError("give at least one of --add ID, --remove ID, --clear ID")
    if note is not None and not (add or remove):
        raise click.UsageError("--note goes with --add or --remove")
    ruleset = load_rules(ctx)
    try:
        db = ctx.open_db()
        result = label_store.label_item(
            db, item, ruleset, add=add, remove=remove, clear=clear, note=note, now=now_iso()
        )
    except PeacewatchError as error:
        fail(error)
    click.echo(f"item {result.item_id}: {result.title}")
    for entry in result.labels:
        if entry.initiative_id not in result.changed:
            continue
        said = {True: "yes", False: "no", None: "unknown"}[entry.rules_said]
        flag = "  (disagrees with the rules)" if entry.disagrees else ""
        click.echo(f"  {entry.verdict} {entry.initiative_id}: the rules said {said}{flag}")
    for initiative_id in result.cleared:
        click.echo(f"  cleared {initiative_id}")
    for initiative_id in result.not_labelled:
        click.echo(f"note: item {item} had no correction for {initiative_id}", err=True)
    click.echo(f"tags now: {', '.join(result.tags) or '(none)'}")


@cli.command()
@click.option("--initiative", "initiative_id", required=True, metavar="ID")
@click.option(
    "--days", default=30, show_default=True, type=click.IntRange(min=0),
    help="Days after the initiative's end (or, while it runs, the last days) to look at.",
)  # fmt: skip
@click.option("--limit", default=200, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--likely",
    is_flag=True,
    help="Most likely first, by the tagging model's probability (else newest first).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per item.")
@pass_context
def candidates(
    ctx: Context, initiative_id: str, days: int, limit: int, likely: bool, as_json: bool
) -> None:
    """Items about peace but not tagged with an initiative, within its dates: to review.

    The window runs from the initiative's start_date minus its slack to end_date + DAYS, or
    over the last DAYS days when it has no end; the day is the publication day, or the day
    first seen when undated. Newest first; items an analyst already labelled for it are left
    out. With the tagging model ([model] in initiatives.toml) each line shows the model's
    probability that the item is about the initiative; --likely sorts by it.
    """
    import dataclasses
    from datetime import UTC, datetime

    from peacewatch.store import labels as label_store

    ruleset = load_rules(ctx)
    initiative = next((i for i in ruleset.initiatives if i.id == initiative_id), None)
    if initiative is None:
        fail(InputError(f"--initiative {initiative_id}: unknown initiative"
                        " (`peacewatch initiatives` lists them)"))  # fmt: skip
        return
    try:
        found = label_store.candidates(
            ctx.open_db(), initiative, days=days,  # writable: migrates an older file
            today=datetime.now(UTC).date(), limit=limit,
        )  # fmt: skip
    except PeacewatchError as error:
        fail(error)
    model = ruleset.model.model if ruleset.model else None
    if model is not None and initiative.id in model.classes:
        found = [
            dataclasses.replace(
                candidate,
                likelihood=round(
                    model.probabilities(candidate.title, candidate.summary, candidate.day)[
                        initiative.id
                    ],
                    3,
                ),
            )
            for candidate in found
        ]
        if likely:  # (stable: equally likely items stay newest first)
            found.sort(key=lambda candidate: -(candidate.likelihood or 0.0))
    elif likely:
        fail(InputError(f"--likely: no tagging model knows {initiative.id} ([model] table)"))
    for candidate in found:
        if as_json:
            click.echo(json.dumps(candidate.as_dict(), ensure_ascii=False))
        else:
            others = f"  [{', '.join(candidate.initiatives)}]" if candidate.initiatives else ""
            chance = "" if candidate.likelihood is None else f"{candidate.likelihood:5.2f}  "
            click.echo(
                f"{candidate.item_id:>8}  {candidate.day}  {chance}{candidate.outlet[:20]:20}  "
                f"{candidate.title}{others}"
            )
