"""The article, list and outlet commands, run through click's CliRunner on real files and a
real SQLite file."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from click.testing import CliRunner

from httpserver import FixtureServer
from peacewatch.cli import cli

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"


def run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    config = tmp_path / "config"
    if not config.exists():
        config.mkdir()
        shutil.copy(REPO / "config" / "outlets.toml", config / "outlets.toml")
        (config / "sources.toml").write_text("")
        (config / "peacewatch.toml").write_text("")
    result = CliRunner().invoke(
        cli, ["--config", str(config), "--db", str(tmp_path / "pw.db"), *args]
    )
    return result.exit_code, result.stdout, result.stderr


def test_parse_article_prints_one_json_object(tmp_path: Path) -> None:
    page = FIXTURES / "pages" / "jsonld-newsarticle.html"
    url = "https://kyivindependent.com/news/zelensky-backs-jeddah-talks/"
    code, out, _err = run(tmp_path, "parse-article", str(page), "--url", url)
    assert code == 0
    record = json.loads(out)
    assert {k: record[k] for k in ("title", "published", "date_source", "outlet", "lang")} == {
        "title": "Zelensky backs Jeddah talks format",
        "published": "2023-08-06T06:15:00+00:00",
        "date_source": "jsonld",
        "outlet": "kyiv-independent",
        "lang": "en",
    }
    assert set(record) >= {"modified", "canonical_url", "author", "lead"}


def test_parse_article_without_url_names_the_outlet_from_the_site_name(tmp_path: Path) -> None:
    code, out, _err = run(tmp_path, "parse-article", str(FIXTURES / "pages" / "opengraph.html"))
    assert code == 0
    assert json.loads(out)["outlet"] == "moscow-times"


def test_parse_list_prints_json_lines_and_reports_skipped_lines(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, "parse-list", str(FIXTURES / "lists" / "messy.txt"))
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 22
    assert records[1] == {
        "line": 3, "title": "Glued reference number", "outlet": "Al Arabiya",
        "outlet_id": "al-arabiya", "outlet_registered": True, "author": None,
        "date": "2023-08-07", "url": None, "kind": None, "note": None, "reference": "364196",
        "truncated": False, "bad_date": None, "published": "2023-08-07T00:00:00+00:00",
    }  # fmt: skip
    assert "skipped line 25: no such date: 31.02.23" in err


def test_parse_list_reads_html(tmp_path: Path) -> None:
    code, out, _err = run(tmp_path, "parse-list", str(FIXTURES / "lists" / "list.html"))
    assert code == 0
    assert [json.loads(line)["outlet_id"] for line in out.splitlines()] == [
        "al-jazeera", "guardian", "meduza", "global-times", "unknown-weekly",
    ]  # fmt: skip


def test_import_list_is_idempotent_and_feeds_outlets_unknown(tmp_path: Path) -> None:
    listing = FIXTURES / "lists" / "messy.txt"
    code, out, _err = run(tmp_path, "import-list", str(listing), "--no-fetch")
    assert code == 0
    assert out.strip() == "messy.txt: 22 entries (22 new, 0 already known), 3 lines skipped"
    code, out, _err = run(tmp_path, "import-list", str(listing), "--no-fetch")
    assert out.strip() == "messy.txt: 22 entries (0 new, 22 already known), 3 lines skipped"
    code, out, _err = run(tmp_path, "outlets", "--unknown", "--json")
    unknown = {json.loads(line)["id"]: json.loads(line) for line in out.splitlines()}
    assert set(unknown) == {"unknown-weekly", "mfa-russia", "someone", "unknown"}
    assert unknown["unknown-weekly"]["list_entries"] == 1


def test_outlets_lists_the_registry(tmp_path: Path) -> None:
    code, out, _err = run(tmp_path, "outlets")
    assert code == 0
    assert any(line.startswith("democracy-now") and "DN!" in line for line in out.splitlines())


def test_bad_registry_exits_2_with_the_entry_and_key(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "outlets.toml").write_text('[outlets.x]\nname = "X"\ndomains = ["x.org"]\nfoo = 1\n')
    code, _out, err = run(tmp_path, "parse-list", str(FIXTURES / "lists" / "messy.txt"))
    assert code == 2
    assert f"{config / 'outlets.toml'}: outlet 'x': 'foo': unknown key" in err


def test_every_command_in_the_articles_doc_exists() -> None:
    doc = (REPO / "docs" / "articles.md").read_text()
    named = set(re.findall(r"(?:^\$ |`)peacewatch ([a-z][a-z-]+)", doc, re.M))
    assert named >= {"parse-article", "parse-list", "import-list", "outlets"}
    assert named <= set(cli.commands)


def test_parse_list_and_article_from_a_url(tmp_path: Path, http_server: FixtureServer) -> None:
    http_server.route("/list.html", body=(FIXTURES / "lists" / "list.html").read_bytes(),
                      content_type="text/html; charset=utf-8")  # fmt: skip
    code, out, _err = run(tmp_path, "parse-list", http_server.url("/list.html"))
    assert code == 0 and len(out.splitlines()) == 5
    http_server.route("/page.html", body=(FIXTURES / "pages" / "opengraph.html").read_bytes(),
                      content_type="text/html")  # fmt: skip
    code, out, _err = run(tmp_path, "parse-article", http_server.url("/page.html"))
    assert json.loads(out)["published"] == "2023-04-27T14:05:00+00:00"
