"""The command line through click's runner, against real files and the loopback server."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from httpserver import FixtureServer
from peacewatch.cli import cli
from support import write_config

FEEDS = Path(__file__).parent / "fixtures" / "feeds"


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_run_once_prints_a_summary_and_sources_shows_health(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/f.xml", body=(FEEDS / "rss2-basic.xml").read_bytes())
    config = write_config(tmp_path / "c", [{"id": "f", "url": http_server.url("/f.xml")},
                                           {"id": "gone", "url": http_server.url("/gone.xml")}])  # fmt: skip
    db = str(tmp_path / "x.db")
    result = invoke("--config", str(config), "--db", db, "run", "--once")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert "sources: 1 ok, 1 failed; items: 3 new, 0 seen;" in result.stdout  # type: ignore[attr-defined]
    again = invoke("--config", str(config), "--db", db, "run", "--once", "--all")
    assert "items: 0 new" in again.stdout  # type: ignore[attr-defined]
    listing = invoke("--config", str(config), "--db", db, "sources", "--json")
    health = {row["id"]: row for row in map(json.loads, listing.stdout.splitlines())}  # type: ignore[attr-defined]
    assert health["gone"]["consecutive_failures"] == 2 and health["gone"]["last_status"] == 404
    assert health["f"]["items"] == 3 and health["f"]["outlet"] == "Example News"
    table = invoke("--config", str(config), "--db", db, "sources")
    assert "failing" in table.stdout and "HTTP 404" in table.stdout  # type: ignore[attr-defined]


def test_run_once_unknown_source_is_a_usage_error(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c", [{"id": "f", "url": "https://f.example/"}])
    result = CliRunner().invoke(cli, ["--config", str(config), "--db", str(tmp_path / "x.db"),
                                      "run", "--once", "--source", "nope"])  # fmt: skip
    assert result.exit_code == 2
    assert "not in sources.toml: nope" in result.output


def test_parse_feed_file_prints_json_lines() -> None:
    result = invoke("parse-feed", str(FEEDS / "rss2-basic.xml"))
    records = [json.loads(line) for line in result.stdout.splitlines()]  # type: ignore[attr-defined]
    assert len(records) == 3
    assert {
        "title",
        "url",
        "canonical_url",
        "guid",
        "published",
        "summary",
        "author",
        "lang",
    } <= set(records[0])
    assert records[1]["title"] == "Zelensky & Trump discuss 28-point plan"
    assert records[1]["published"] == "2025-11-21T09:00:00+00:00"


def test_parse_feed_url_and_bad_input(http_server: FixtureServer, tmp_path: Path) -> None:
    http_server.route("/a.xml", body=(FEEDS / "atom-relative-links.xml").read_bytes())
    result = invoke("parse-feed", http_server.url("/a.xml"))
    [record] = [json.loads(line) for line in result.stdout.splitlines()]  # type: ignore[attr-defined]
    assert record["url"] == http_server.url("/news/2025/11/21/plan/")
    page = tmp_path / "page.html"
    page.write_bytes((FEEDS / "not-a-feed.html").read_bytes())
    bad = CliRunner().invoke(cli, ["parse-feed", str(page)])
    assert bad.exit_code == 1 and "not a feed" in bad.output
    missing = CliRunner().invoke(cli, ["parse-feed", str(tmp_path / "missing.xml")])
    assert missing.exit_code == 1 and "cannot read" in missing.output


def test_stats_counts_items_per_outlet_and_day(tmp_path: Path, http_server: FixtureServer) -> None:
    http_server.route("/f.xml", body=(FEEDS / "rss2-no-dates-no-guids.xml").read_bytes())
    config = write_config(
        tmp_path / "c", [{"id": "f", "url": http_server.url("/f.xml"), "outlet": "Undated Daily"}]
    )
    db = str(tmp_path / "x.db")
    invoke("--config", str(config), "--db", db, "run", "--once")
    result = invoke("--config", str(config), "--db", db, "stats")
    [line] = result.stdout.splitlines()  # type: ignore[attr-defined]
    assert line.split()[1:] == ["2", "Undated", "Daily"]


def test_json_logs(tmp_path: Path, http_server: FixtureServer) -> None:
    config = write_config(tmp_path / "c", [{"id": "gone", "url": http_server.url("/gone.xml")}])
    result = CliRunner().invoke(cli, ["--config", str(config), "--db", str(tmp_path / "x.db"),
                                      "--log-format", "json", "run", "--once"])  # fmt: skip
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any(
        r["level"] == "WARNING" and "gone failed (http_error)" in r["message"] for r in records
    )


def test_the_program_leaves_its_objects_to_the_exit() -> None:
    # main() is the whole process: its objects go with it, not through a last collection
    import gc

    import pytest

    from peacewatch.cli import main

    gc.unfreeze()
    try:
        with pytest.raises(SystemExit) as stop:
            main(["--help"])
        assert stop.value.code == 0 and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
