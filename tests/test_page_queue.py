"""Article pages off the feed's critical path (issue #14.2): a poll only queues pages; their
own queue reads them, politely per host, within a budget in `run --once`; refused pages wait
for their backoff; INFO gets one line per source and round; [pages] is validated."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from httpserver import FixtureServer
from peacewatch import store
from peacewatch.cli import cli
from peacewatch.config import load_config
from peacewatch.errors import ConfigError
from peacewatch.ingest.fetch import Fetcher
from peacewatch.pipeline import run_cycle
from peacewatch.runtime import Runtime
from support import free_port, poll, rows, setup, write_config

UNRESOLVABLE = "http://no-such-host.peacewatch-unresolvable"


def undated_feed(links: list[str]) -> bytes:
    """A feed whose items carry no date: each asks for its article page (reason no_date)."""
    items = "".join(
        f"<item><title>Envoys meet at {link}</title><link>{link}</link>"
        f"<description>Talks go on.</description></item>"
        for n, link in enumerate(links)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


def test_pages_section_mistakes_name_file_key_and_problem(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c", [])
    with (config / "peacewatch.toml").open("a") as handle:
        handle.write(
            '[pages]\nenabled = "yes"\nitems = ["no_date", "everything"]\nper_poll = 0\n'
            'budget = "soon"\nspeed = 3\n'
        )
    with pytest.raises(ConfigError) as info:
        load_config(config)
    path = config / "peacewatch.toml"
    assert info.value.problems == [
        f"{path}: [pages]: 'enabled': expected true or false, got \"yes\"",
        f'{path}: [pages]: \'items\': unknown reason "everything" (known: "list", "no_date", "fetch_time_date", "no_summary", "untrusted_link")',
        f"{path}: [pages]: 'per_poll': expected a positive whole number, got 0",
        f'{path}: [pages]: \'budget\': expected a duration in seconds or like "30m", "2h", "1d", got "soon"',
        f"{path}: [pages]: 'speed': unknown key (known keys: budget, concurrency, enabled, every, items, per_cycle, per_poll, refused_backoff)",
    ]
    (config / "peacewatch.toml").write_text("[pages]\nper_poll = 50\nper_cycle = 10\n")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert info.value.problems == [
        f"{path}: [pages]: 'per_poll': must not exceed per_cycle (10), got 50"
    ]


def test_a_poll_only_queues_pages_and_never_waits_for_them(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/page.html", body=b"<html><title>x</title></html>", stall=30,
                      content_type="text/html")  # fmt: skip
    links = [http_server.url(f"/page.html?n={n}") for n in range(3)]
    http_server.route("/f.xml", body=undated_feed(links))
    config, db = setup(tmp_path, [{"id": "f", "url": http_server.url("/f.xml")}])

    async def go() -> None:
        async with Fetcher(config.settings.http) as fetcher:
            rt = Runtime(config, db, fetcher)
            store.sync_sources(db, config.sources, rt.now())
            report = await run_cycle(rt, ["f"])
            assert report.items_new == 3

    asyncio.run(go())
    assert [r.path for r in http_server.requests] == ["/f.xml"]
    assert (
        rows(db, "SELECT reason, state FROM page_fetches")
        == [{"reason": "no_date", "state": "pending"}] * 3
    )


def test_unreachable_pages_cost_a_cycle_no_more_than_the_page_budget(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    """Pages at unresolvable hosts, closed ports and a server that never answers: `run
    --once` prints the feeds' summary first and spends at most [pages] budget on them."""
    closed = f"http://127.0.0.1:{free_port()}"
    http_server.route("/stall.html", body=b"<html></html>", stall=30, content_type="text/html")
    # content links (allow_private off): unresolvable hosts are refused before any request
    http_server.route("/refused.xml", body=undated_feed(
        [f"{UNRESOLVABLE}/{n}" for n in range(5)]
        + [f"http://other{n}.peacewatch-unresolvable/a" for n in range(5)]
    ))  # fmt: skip
    # a trusted intranet source: its pages are tried, and fail or never answer
    http_server.route("/dead.xml", body=undated_feed(
        [f"{closed}/{n}" for n in range(5)] + [http_server.url(f"/stall.html?n={n}") for n in range(5)]
    ))  # fmt: skip
    sources = [
        {"id": "refused", "url": http_server.url("/refused.xml"), "allow_private": False},
        {"id": "dead", "url": http_server.url("/dead.xml")},
    ]
    budget = 1.5
    config = write_config(
        tmp_path / "c", sources, http={"read_timeout": 20, "total_timeout": 25},
        pages={"budget": budget},
    )  # fmt: skip

    def run_once(db: Path, *extra: str) -> tuple[float, str]:
        t0 = time.monotonic()
        result = CliRunner().invoke(
            cli, ["--config", str(config), "--db", str(db), "run", "--once", *extra],
            catch_exceptions=False,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return time.monotonic() - t0, result.stdout

    without, out = run_once(tmp_path / "without.db", "--no-pages")
    assert "sources: 2 ok, 0 failed; items: 20 new" in out and "article pages" not in out
    took, out = run_once(tmp_path / "with.db")
    lines = out.splitlines()
    assert lines[0].startswith("sources: 2 ok, 0 failed; items: 20 new")
    assert lines[1].startswith("article pages: ") and "refused" in lines[1]
    # a bound, not a speed figure: the stalled pages alone would take 25 s each
    assert took <= without + budget + 3.0, (took, without)
    db = store.open_db(tmp_path / "with.db")
    states = rows(db, "SELECT source_id, state, count(*) AS n FROM page_fetches "
                      "GROUP BY 1, 2 ORDER BY 1, 2")  # fmt: skip
    assert {(r["source_id"], r["state"]): r["n"] for r in states} == {
        ("dead", "refused"): 5,  # the closed port: its robots.txt cannot be read
        ("dead", "pending"): 5,  # the stalled server: cut off by the budget, left for later
        ("refused", "refused"): 10,  # six unresolvable hosts, each looked up once
    }
    errors = rows(db, "SELECT DISTINCT error FROM page_fetches WHERE state = 'refused' "
                      "AND source_id = 'dead'")  # fmt: skip
    assert len(errors) == 1 and "robots.txt" in errors[0]["error"]


def test_a_refused_page_waits_for_its_backoff(tmp_path: Path, http_server: FixtureServer) -> None:
    http_server.route("/robots.txt", body=b"User-agent: *\nDisallow: /private/\n",
                      content_type="text/plain")  # fmt: skip
    http_server.route("/private/a.html", body=b"<html></html>", content_type="text/html")
    http_server.route("/f.xml", body=undated_feed([http_server.url("/private/a.html")]))
    config, db = setup(tmp_path, [{"id": "f", "url": http_server.url("/f.xml")}],
                       pages={"refused_backoff": "6h"})  # fmt: skip
    t0 = datetime.now(UTC)
    first = poll(config, db, clock=lambda: t0)
    assert first.pages == {"refused": 1}
    [page] = rows(db, "SELECT state, attempts, next_attempt_at, error FROM page_fetches")
    assert page["state"] == "refused" and page["attempts"] == 1 and "robots.txt" in page["error"]
    assert page["next_attempt_at"].startswith((t0 + timedelta(hours=6)).isoformat()[:16])
    # before the backoff: not tried (the page was never requested at all)
    assert poll(config, db, clock=lambda: t0 + timedelta(hours=5)).pages == {}
    # after it: tried again, and the next wait doubles
    assert poll(config, db, clock=lambda: t0 + timedelta(hours=7)).pages == {"refused": 1}
    [page] = rows(db, "SELECT attempts, next_attempt_at FROM page_fetches")
    assert page["attempts"] == 2
    assert page["next_attempt_at"].startswith((t0 + timedelta(hours=19)).isoformat()[:16])
    assert http_server.hits("/private/a.html") == []


def test_info_logs_one_line_per_source_and_round(
    tmp_path: Path, http_server: FixtureServer, caplog: pytest.LogCaptureFixture
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    sources = []
    for name in ("a", "b", "c"):
        links = [f"{closed}/{name}{n}" for n in range(4)]
        links += [f"http://{name}{n}.peacewatch-unresolvable/" for n in range(4)]
        http_server.route(f"/{name}.xml", body=undated_feed(links))
        sources.append({"id": name, "url": http_server.url(f"/{name}.xml")})
    config, db = setup(tmp_path, sources)
    with caplog.at_level(logging.INFO, logger="peacewatch"):
        report = poll(config, db)
    # every host's robots.txt is unreachable: refused. (15 hosts at once, each page's guard
    # fetching robots.txt through the same fetcher: this also once deadlocked the fetcher.)
    assert report.pages == {"refused": 24}
    page_lines = [r.getMessage() for r in caplog.records if "page" in r.getMessage()]
    assert sorted(page_lines) == [
        "article pages for a: 8 refused",
        "article pages for b: 8 refused",
        "article pages for c: 8 refused",
    ]


def test_pages_section_chooses_which_items_ask_for_a_page(
    tmp_path: Path, http_server: FixtureServer
) -> None:
    http_server.route("/f.xml", body=undated_feed([f"{UNRESOLVABLE}/{n}" for n in range(2)]))
    source = [{"id": "f", "url": http_server.url("/f.xml")}]
    config, db = setup(tmp_path / "list-only", source, pages={"items": ["list"]})
    assert poll(config, db).items_new == 2
    assert rows(db, "SELECT * FROM page_fetches") == []
    config, db = setup(tmp_path / "off", source, pages={"enabled": False})
    assert poll(config, db).items_new == 2
    assert rows(db, "SELECT * FROM page_fetches") == []
