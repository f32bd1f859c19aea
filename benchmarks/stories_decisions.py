"""Write every story decision on bench_stories' item stream, to compare two versions of the code.

Runs the benchmark's items (`make_items` of the tree's bench_stories, the same seed) through
`extract` and `Clusterer.assign` of the tree under `--root` (this one by default), with the
same eviction and this tree's config/aliases.toml, and writes one JSON line per item: its
features, the story it joined or founded, the match (kinds, score, matched member, shared keys
and each feature's part) and the stories merged, and last the stories left in memory. A speed
change must leave the file byte for byte the same:

    mkdir -p /tmp/main && git archive main | tar -x -C /tmp/main
    .venv/bin/python benchmarks/stories_decisions.py --items 20000 --root /tmp/main > /tmp/old.jsonl
    .venv/bin/python benchmarks/stories_decisions.py --items 20000 > /tmp/new.jsonl
    cmp /tmp/old.jsonl /tmp/new.jsonl

With `--retire`, stories two windows behind the newest item are retired after every item
(`Clusterer.retire`; the pipeline's story rounds retire those one window behind after every
batch of items in time order, and load them again from the database for an older item; here
items arrive up to a day after their publication and there is no database, hence a window
more); every line but the last (the stories held in memory) must be the same as without it:

    .venv/bin/python benchmarks/stories_decisions.py --items 20000 --retire > /tmp/retire.jsonl
    cmp <(head -n -1 /tmp/new.jsonl) <(head -n -1 /tmp/retire.jsonl)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--root", type=Path, default=ROOT, help="the tree whose code to run")
    parser.add_argument("--retire", action="store_true", help="retire stories a window behind")
    args = parser.parse_args()
    root = args.root.resolve()
    sys.path[:0] = [str(root / "src"), str(root / "benchmarks")]
    from bench_stories import make_items  # the tree's, as its src is
    from peacewatch.stories.aliases import load_aliases
    from peacewatch.stories.cluster import Clusterer, Settings
    from peacewatch.stories.features import extract

    print(f"code from {sys.modules['peacewatch'].__file__}", file=sys.stderr)
    aliases = load_aliases(ROOT / "config")
    settings = Settings()
    clusterer = Clusterer(settings)
    out = sys.stdout
    for n, data in enumerate(make_items(args.items, args.seed), start=1):
        features = extract(
            n, title=data["title"], summary=data["lead"], lang=data["lang"],
            outlet=data["outlet"], time=data["time"], aliases=aliases,
        )  # fmt: skip
        decision = clusterer.assign(features)
        if args.retire:
            clusterer.retire(clusterer.latest - 2 * settings.window)
        if n % 1000 == 0:
            clusterer.evict(clusterer.latest - 3 * settings.window)
        keys = {
            f.name: sorted(value) if isinstance(value, frozenset) else value
            for f in dataclasses.fields(features)
            if (value := getattr(features, f.name)) is not None
        }
        match = dataclasses.asdict(decision.match) if decision.match else None
        line = {"features": keys, "story": decision.story_id, "match": match,
                "merged": decision.merged}  # fmt: skip
        out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
    stories = sorted(
        (story.id, sorted(m.item_id for m in story.members)) for story in clusterer.stories.values()
    )
    out.write(json.dumps({"stories in memory": stories}) + "\n")


if __name__ == "__main__":
    main()
