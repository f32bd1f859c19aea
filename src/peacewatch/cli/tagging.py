"""Commands for tagging: classify, retag, initiatives, evaluate; label and candidates for
analysts."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from peacewatch.cli.app import Context, cli, fail, pass_context
from peacewatch.errors import ConfigError, PeacewatchError

# -- tagging (initiatives.toml) ------------------------------------------------------------


def load_rules(ctx: Context, rules_file: Path | None = None) -> Any:
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

    ruleset = load_rules(ctx, rules_file)
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
@click.option(
    "--workers",
    default="auto",
    show_default=True,
    help="Processes that classify while this one writes: a number (0: classify here) or "
    "'auto', one per core.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_context
def retag(ctx: Context, batch_size: int, workers: str, quiet: bool) -> None:
    """Recompute the tags of every item classified with other rules than the current ones.

    Resumable: stopping it (Ctrl-C) keeps every finished batch, and the next run continues.
    """
    from peacewatch.ingest.parsepool import ParsePool
    from peacewatch.store import retagging

    if workers == "auto":
        count = os.cpu_count() or 1  # this process mostly waits for them and writes
    elif workers.isdigit():
        count = int(workers)
    else:
        fail(ConfigError(f"--workers: expected a number or 'auto', got {workers!r}"))
        return
    ruleset = load_rules(ctx)
    pool = ParsePool(count) if count > 0 else None
    submit = pool.submit if pool is not None else None
    ahead = 2 * count
    try:
        db = ctx.open_db()
        if not quiet:
            with click.progressbar(
                length=0, label="retagging", show_pos=True, file=sys.stderr
            ) as bar:

                def progress(done: int, total: int) -> None:
                    bar.length = total
                    bar.update(done - bar.pos)

                report = retagging.retag(
                    db, ruleset, batch_size=batch_size, progress=progress, submit=submit,
                    ahead=ahead,
                )  # fmt: skip
        else:
            report = retagging.retag(db, ruleset, batch_size=batch_size, submit=submit, ahead=ahead)
    except PeacewatchError as error:
        fail(error)
    finally:
        if pool is not None:
            pool.close()
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

    ruleset = load_rules(ctx)
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


CORPUS = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "tagging" / "corpus.jsonl"


def _pct(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:5.2f}"


@cli.command()
@click.option(
    "--corpus",
    "corpus",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Labelled JSON Lines (default: the shipped corpus, tests/fixtures/tagging/corpus.jsonl).",
)
@click.option(
    "--split",
    type=click.Choice(["dev", "heldout", "all"]),
    default="all",
    show_default=True,
    help="Score one half of the corpus (held-out: score only, never tune on it).",
)
@click.option(
    "--round",
    "collection_round",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Score only the pages of one collection round (a fresh round's held-out half is "
    "coverage no rule was written from).",
)
@click.option("--title-only", is_flag=True, help="Score the headline alone, without the lead.")
@click.option("--undated", is_flag=True, help="Drop every date, as for pages that carry none.")
@click.option("--show-errors", is_flag=True, help="List the misses and false hits.")
@click.option("--rules-only", is_flag=True, help="Leave the [model] out: what the rules alone tag.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with every figure.")
@pass_context
def evaluate(
    ctx: Context,
    corpus: Path | None,
    split: str,
    collection_round: int | None,
    title_only: bool,
    undated: bool,
    show_errors: bool,
    rules_only: bool,
    as_json: bool,
) -> None:
    """Score the current rules: precision, recall and F1 per initiative, and the trap table.

    Scores the labelled corpus and, when the database has analyst labels
    (`peacewatch label`), those too. The model (the [model] table) learns from the dev half
    and the analyst labels, so only the held-out half scores it on what it has not seen."""
    import dataclasses

    from peacewatch.tagging.evaluation import evaluate, load_labelled

    ruleset = load_rules(ctx)
    if rules_only:
        ruleset = dataclasses.replace(ruleset, model=None)
    path = corpus or CORPUS
    if corpus is None and not CORPUS.exists():
        fail(
            ConfigError(
                "the labelled corpus ships in the repository (tests/fixtures/tagging/"
                "corpus.jsonl), not with an installed package: give its path with --corpus"
            )
        )
    try:
        items = load_labelled(
            path, split=None if split == "all" else split, collection_round=collection_round
        )
    except PeacewatchError as error:
        fail(error)
    if collection_round is None:  # analyst labels belong to no collection round
        items += _analyst_items(ctx)
    try:
        report = evaluate(items, ruleset, with_lead=not title_only, dated=not undated)
    except ConfigError as error:
        fail(error)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    o = report.overall
    click.echo(
        f"{report.items} items ({path.name}, {split}"
        f"{f', round {collection_round}' if collection_round else ''}"
        f"{', title only' if title_only else ''}"
        f"{', undated' if undated else ''}"
        f"{', rules + model' if ruleset.model else ', rules only'}): "
        f"precision {_pct(o.precision)}  "
        f"recall {_pct(o.recall)}  F1 {_pct(o.f1)}"
    )
    click.echo(f"{'initiative':30} {'pos':>4} {'tp':>4} {'fp':>4} {'fn':>4}   P     R     F1")
    for ident, s in sorted(report.per_initiative.items()):
        if s.positives or s.fp:
            click.echo(
                f"{ident:30} {s.positives:4} {s.tp:4} {s.fp:4} {s.fn:4} "
                f"{_pct(s.precision)} {_pct(s.recall)} {_pct(s.f1)}"
            )
    click.echo("languages:")
    for lang, s in sorted(report.per_language.items(), key=lambda x: -x[1].positives):
        if s.positives or s.fp:
            click.echo(
                f"  {lang:6} {s.positives:4} {s.tp:4} {s.fp:4} {s.fn:4} "
                f"{_pct(s.precision)} {_pct(s.recall)} {_pct(s.f1)}"
            )
    if report.traps:
        click.echo("traps (negatives tagged with any initiative):")
        for name, (negatives, fired) in sorted(report.traps.items()):
            click.echo(f"  {name:34} {fired:3} of {negatives:3}")
    if show_errors:
        for miss in report.errors:
            click.echo(
                f"{miss.kind:9} {miss.initiative:28} [{miss.item.published or 'undated'}] "
                f"{miss.item.title}  <{miss.item.url or miss.item.source}>"
            )


def _analyst_items(ctx: Context) -> list[Any]:
    """Analyst judgements from the database (table analyst_labels), as labelled items."""
    from peacewatch.tagging.evaluation import Labelled

    if not ctx.db_path().exists():
        return []
    db = ctx.open_db(readonly=True)
    tables = set(db.table_names())
    if "analyst_labels" not in tables:
        return []
    rows = db.execute(
        """SELECT items.id, items.title, items.summary, items.published, items.url,
                  group_concat(CASE WHEN verdict = 'add' THEN initiative_id END),
                  group_concat(CASE WHEN verdict = 'remove' THEN initiative_id END)
           FROM analyst_labels JOIN items ON items.id = analyst_labels.item_id
           GROUP BY items.id"""
    ).fetchall()
    found = []
    for _id, title, summary, published, url, added, removed in rows:
        labels = frozenset(x for x in (added or "").split(",") if x)
        judged = labels | frozenset(x for x in (removed or "").split(",") if x)
        found.append(
            Labelled(
                title=title or "",
                labels=labels,
                lead=summary,
                published=published,
                url=url,
                source="analyst",
                judged=judged,
            )
        )
    return found


@cli.command("train-model")
@click.option(
    "--corpus",
    "corpus",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Labelled JSON Lines (default: the shipped corpus); only its dev half is learnt from.",
)
@click.option(
    "--no-analyst", is_flag=True, help="Leave the analysts' corrections in the database out."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write the model (default: the [model] file of initiatives.toml).",
)
@pass_context
def train_model(ctx: Context, corpus: Path | None, no_analyst: bool, out: Path | None) -> None:
    """Train the tagging model from the corpus's dev half and the analysts' corrections.

    The model is the rules' second opinion for items no rule tags (docs/tagging.md, "The
    model"). Run `peacewatch retag` afterwards: the new model changes the rules version."""
    import tomllib

    from peacewatch.tagging.evaluation import load_labelled
    from peacewatch.tagging.model import dump_model
    from peacewatch.tagging.rules import RULES_FILE, compile_rules
    from peacewatch.tagging.training import train_model as train

    # The rules without their [model]: the model to be trained may not exist yet
    rules_path = ctx.config_dir / RULES_FILE
    try:
        data = tomllib.loads(rules_path.read_text(encoding="utf-8"))
        section = data.pop("model", None)
        ruleset = compile_rules(data, display=str(rules_path))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        fail(ConfigError(f"{rules_path}: cannot read the rules: {error}"))
    except ConfigError as error:
        fail(error)
    path = corpus or CORPUS
    if not path.exists():
        fail(ConfigError(f"{path}: no labelled corpus there: give its path with --corpus"))
    model_file = section.get("file") if isinstance(section, dict) else None
    if out is None:
        if not isinstance(model_file, str) or not model_file:
            fail(ConfigError(f"{rules_path}: no [model] 'file' to write to: give --out"))
        out = ctx.config_dir / str(model_file)
    try:
        items = load_labelled(path, split="dev")
    except PeacewatchError as error:
        fail(error)
    analyst: list[Any]
    if no_analyst:
        analyst = []
    elif isinstance(model_file, str) and not (ctx.config_dir / model_file).exists():
        # the configuration (and so the database's place) loads only with its model
        click.echo(
            f"no {model_file} yet: this first model learns from the corpus alone; run "
            "train-model again to add the analysts' corrections"
        )
        analyst = []
    else:
        analyst = _analyst_items(ctx)
    classes = [initiative.id for initiative in ruleset.initiatives]
    click.echo(
        f"training on {len(items)} dev pages of {path.name} and {len(analyst)} analyst "
        f"judgements, {len(classes)} initiatives ..."
    )
    try:
        data = train(
            [*items, *analyst],
            classes,
            sources={"corpus dev": len(items), "analyst": len(analyst)},
        )
    except ConfigError as error:
        fail(error)
    out.parent.mkdir(parents=True, exist_ok=True)
    dump_model(data, out)
    positives = data["trained"]["positives"]
    thin = [name for name in classes if positives.get(name, 0) < 10]
    click.echo(
        f"wrote {out} ({out.stat().st_size:,} bytes, {len(data['features']):,} words)"
        + (f"; under 10 positives: {', '.join(thin)}" if thin else "")
    )
    click.echo("run `peacewatch retag` to apply it to the stored items")


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
