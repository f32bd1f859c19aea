"""The package layout: stages import down the flow only, and each third-party library has one
home module. Read from the source with `ast`, so a new import in the wrong place fails here."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "peacewatch"

# Lower numbers are further down the flow; a module may import its own layer or lower ones.
BASE = {"models", "errors", "problems", "timeutil", "text", "logs"}
LAYERS = {"ingest": 1, "tagging": 1, "stories": 2, "store": 3, "surfaces": 4}
# The top layer: the conductor and the helpers beside it (its injected runtime, a poll's
# bookkeeping and parse step, the article-page rounds), the daemon, the CLI and the config.
TOP = {
    "pipeline", "runtime", "polling", "parsing", "page_rounds",
    "schedule", "cli", "config", "__main__", "__init__",
}  # fmt: skip

# Each third-party library is imported by these modules only (sqlite_utils: the store's
# database and migrations; click: the cli package, one file per stage of commands).
OWNERS = {
    "httpx": {"ingest.fetch"},
    "h11": {"ingest.http11"},
    "feedparser": {"ingest.feeds"},
    "bs4": {"ingest.html"},
    "htmldate": {"ingest.htmldate_witness"},
    "apscheduler": {"schedule"},
    "sqlite_utils": {"store.database", "store.migrations"},
    "datasette": {"surfaces.datasette_app"},
    "jinja2": {"surfaces.digest_render"},
    "py3langid": {"tagging.language"},
    "pyarrow": {"surfaces.export"},
    "click": {"cli.app", "cli.ingest", "cli.labels", "cli.tagging", "cli.stories", "cli.surfaces"},
    "snowballstemmer": {"stories.words"},
    "pymorphy3": {"stories.words"},
    "sklearn": {"tagging.training"},
    "numpy": {"tagging.model"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        found[".".join(parts)] = path
    return found


def _layer(module: str) -> int:
    head = module.split(".")[0]
    if head in BASE:
        return 0
    if head in LAYERS:
        return LAYERS[head]
    assert head in TOP, f"{module}: not placed in a layer; add it to test_layout.py"
    return 5


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "peacewatch":
                found.extend((node.lineno, f"peacewatch.{a.name}") for a in node.names)
            else:
                found.append((node.lineno, node.module))
    return found


def test_every_module_sits_in_a_layer() -> None:
    for module in _modules():
        _layer(module)


def test_imports_point_down_the_flow() -> None:
    wrong = []
    for module, path in _modules().items():
        for line, name in _imports(path):
            if not name.startswith("peacewatch."):
                continue
            target = name.removeprefix("peacewatch.")
            if _layer(target) > _layer(module):
                wrong.append(f"{module}:{line} imports {target} (a later stage)")
    assert wrong == []


def test_stages_do_not_import_each_other_sideways() -> None:
    # ingest and tagging share a layer but neither needs the other
    wrong = []
    for module, path in _modules().items():
        for line, name in _imports(path):
            target = name.removeprefix("peacewatch.")
            a, b = module.split(".")[0], target.split(".")[0]
            if {a, b} in ({"ingest", "tagging"}, {"ingest", "stories"}):
                wrong.append(f"{module}:{line} imports {target}")
    assert wrong == []


def test_each_third_party_library_has_one_home() -> None:
    stdlib = set(sys.stdlib_module_names)
    wrong = []
    for module, path in _modules().items():
        for line, name in _imports(path):
            top = name.split(".")[0]
            if top in stdlib or top in {"peacewatch", "__future__"}:
                continue
            owners = OWNERS.get(top)
            if owners is None:
                wrong.append(f"{module}:{line} imports {top}, which has no home in OWNERS")
            elif module not in owners:
                wrong.append(f"{module}:{line} imports {top}; only {sorted(owners)} may")
    assert wrong == []


def test_no_module_past_500_lines_without_a_reason() -> None:
    long = []
    for module, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 520 and "Longer than 500 lines because" not in text:
            long.append(f"{module}: {text.count(chr(10))} lines")
    assert long == []


def test_every_stage_says_what_it_takes_and_gives() -> None:
    for stage in LAYERS:
        doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text()))
        assert doc and "Takes" in doc and "gives" in doc, stage


def test_a_poll_does_not_load_parsers_the_tagger_or_sqlite_utils() -> None:
    """Revalidating unchanged feeds (most polls) imports only what a poll needs: the feed
    parser, article extraction (bs4, htmldate), language detection (py3langid, numpy), the
    tagger, sqlite-utils and multiprocessing load when an item, a page or a body to parse
    first needs them (`python -X importtime -m peacewatch ...` shows the difference)."""
    import subprocess

    lazy = (
        "feedparser", "bs4", "htmldate", "py3langid", "numpy", "sqlite_utils",
        "multiprocessing", "httpcore", "anyio", "peacewatch.ingest.feeds",
        "peacewatch.ingest.articles", "peacewatch.ingest.readinglist",
        "peacewatch.tagging.rules", "peacewatch.tagging.classifier", "peacewatch.store.tags",
        "peacewatch.store.stories", "peacewatch.store.languages",
    )  # fmt: skip
    probe = (
        "import sys, peacewatch.cli, peacewatch.pipeline, peacewatch.store; "
        f"print(sorted(m for m in {lazy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
