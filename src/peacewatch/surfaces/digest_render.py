"""Render a Digest as a multipart email: plain text plus HTML (inline CSS, table layout).

The only module that imports jinja2. The HTML template is autoescaped, so a headline or URL
with markup in it shows as text; links are only made from http(s) URLs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import jinja2

from peacewatch.surfaces.digest import DayCount, Digest, Entry
from peacewatch.surfaces.digest_config import DigestConfig
from peacewatch.surfaces.links import database_path

TEMPLATES = Path(__file__).parent / "templates"
SPARKS = "▁▂▃▄▅▆▇█"
BAR_MAX_PX = 30

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def safe_url(url: str | None) -> str | None:
    """The URL if it is an http(s) link, else None (no javascript:, data: ... links)."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def chart_max(chart: tuple[DayCount, ...]) -> int:
    return max((c.count for c in chart), default=0)


def bar_height(count: int, chart: tuple[DayCount, ...]) -> int:
    top = chart_max(chart)
    if not top or not count:
        return 1
    return max(2, round(BAR_MAX_PX * count / top))


def sparkline(chart: tuple[DayCount, ...]) -> str:
    top = chart_max(chart)
    if not top:
        return SPARKS[0] * len(chart)
    return "".join(
        SPARKS[round((len(SPARKS) - 1) * c.count / top)] if c.count else " " for c in chart
    ).replace(" ", SPARKS[0])


def delta(now: int, before: int) -> str:
    if now == before:
        return "="
    return f"+{now - before}" if now > before else f"−{before - now}"


def trend_color(now: int, before: int) -> str:
    return "#047857" if now > before else "#991b1b" if now < before else "#6b7280"


def message_id(day: str, recipient: str, list_id: str) -> str:
    """Deterministic, so a digest sent again after an unknown outcome can be deduplicated."""
    digest = hashlib.sha256(recipient.lower().encode()).hexdigest()[:16]
    return f"<digest.{day}.{digest}@{list_id}>"


def subject(digest: Digest) -> str:
    label = digest.day.strftime("%a %d %b %Y")
    if digest.empty:
        return f"peacewatch {label}: nothing new"
    parts = [f"{digest.item_count} new item{'' if digest.item_count == 1 else 's'}"]
    if digest.sections:
        top = digest.sections[0]
        count = len(digest.sections)
        parts.append(f"{count} initiative{'' if count == 1 else 's'}")
        parts.append(f"top: {top.name} ({top.count})")
    return f"peacewatch {label}: " + ", ".join(parts)


def _filters_label(digest: Digest) -> str:
    f = digest.filters
    if f is None:
        return ""
    parts = []
    if f.initiatives:
        parts.append("initiatives " + ", ".join(f.initiatives))
    if f.themes:
        parts.append("themes " + ", ".join(f.themes))
    if f.languages:
        parts.append("languages " + ", ".join(f.languages))
    return "; ".join(parts)


def _database_url(datasette_url: str | None, database: str) -> str | None:
    """The database's address in the analysts' Datasette, e.g. https://data.example.org/news."""
    base = safe_url(datasette_url)
    return base.rstrip("/") + database_path(database) if base else None


def render_parts(digest: Digest, config: DigestConfig, recipient: str) -> tuple[str, str]:
    """(plain text, HTML) bodies of the digest."""
    zone = ZoneInfo(digest.timezone)

    def when(timestamp: str | None) -> str:
        if not timestamp:
            return "date unknown"
        local = datetime.fromisoformat(timestamp).astimezone(zone)
        return local.strftime("%d %b %Y %H:%M")

    context = {
        "digest": digest,
        "subject": subject(digest),
        "day_label": digest.day.strftime("%A %d %B %Y"),
        "recipient": recipient,
        "filters_label": _filters_label(digest),
        "datasette_url": safe_url(config.datasette_url),
        "database_url": _database_url(config.datasette_url, digest.database),
        "safe_url": safe_url,
        "when": when,
        "bar_height": bar_height,
        "chart_max": chart_max,
        "sparkline": sparkline,
        "delta": delta,
        "also_more": also_more,
        "trend_color": trend_color,
    }
    return _text(digest, context), _env.get_template("digest.html").render(context)


def also_more(entry: Entry) -> str:
    """' and 12 more outlets, 3 languages' after the outlets named, or ''."""
    more = f" and {entry.more_outlets} more outlets" if entry.more_outlets else ""
    if len(entry.languages) > 1:
        more += f", {len(entry.languages)} languages"
    return more


def _entry_lines(entry: Entry, when: Callable[[str | None], str]) -> list[str]:
    lines = [f"* {entry.title}"]
    where = f"  {entry.outlet}, {when(entry.published)}"
    if entry.also_shown:
        where += "; also in " + ", ".join(copy.outlet for copy in entry.also_shown)
        where += also_more(entry)
    lines.append(where)
    if entry.url:
        lines.append(f"  {entry.url}")
    if entry.evidence:
        lines.append(f"  ({entry.evidence})")
    return lines


def _text(digest: Digest, context: dict[str, Any]) -> str:
    """The plain-text part: the same content as the HTML, readable in a terminal."""
    when = context["when"]
    n, k = digest.item_count, len(digest.sections)
    out = [
        f"peacewatch digest: {context['day_label']} ({digest.timezone})",
        f"{n} new item{'' if n == 1 else 's'}, {k} initiative{'' if k == 1 else 's'}",
        "",
    ]
    if digest.empty:
        out += ["Nothing new today for your selection.", ""]
    if digest.sections:
        out.append(f"{'INITIATIVE':<42} {'TODAY':>6} {'PREV DAY':>9} {'7 DAYS':>8} {'PREV 7':>7}")
        for s in digest.sections:
            out.append(
                f"{s.name[:42]:<42} {s.count:>6} {s.previous_day:>9} {s.week:>8}"
                f" {s.previous_week:>7}"
            )
        out.append("")
    for s in digest.sections:
        out += [
            f"== {s.name} ==",
            f"{s.count} new today; {s.previous_day} the day before; {s.week} in 7 days"
            f" against {s.previous_week} the week before.",
            f"Last {len(s.chart)} days: {sparkline(s.chart)} (max {chart_max(s.chart)}/day)",
            "",
        ]
        for entry in s.entries:
            out += [*_entry_lines(entry, when), ""]
        if s.more:
            more = f"  ... and {s.more} more"
            if context["database_url"]:
                more += (
                    f": {context['database_url']}/initiative_latest"
                    f"?initiative={quote(s.initiative_id)}"
                )
            out += [more, ""]
    if digest.general:
        out += ["== Other peace coverage ==", ""]
        for entry in digest.general:
            out += [*_entry_lines(entry, when), ""]
        if digest.general_more:
            out += [f"  ... and {digest.general_more} more", ""]
    if digest.failing:
        out += ["== Sources failing for over a day ==", ""]
        for f in digest.failing:
            line = f"- {f.outlet} ({f.source_id}): since {when(f.failing_since)}"
            line += f", {f.consecutive_failures} failures"
            if f.last_error:
                line += f": {f.last_error}"
            out.append(line)
        out.append("")
    label = f" ({context['filters_label']})" if context["filters_label"] else ""
    out += ["-- ", f"Sent by peacewatch to {context['recipient']}{label}."]
    return "\n".join(out) + "\n"


def render_email(
    digest: Digest,
    config: DigestConfig,
    recipient: str,
    *,
    now: datetime | None = None,
) -> EmailMessage:
    """A complete message: headers, text part and HTML alternative."""
    text, html = render_parts(digest, config, recipient)
    message = EmailMessage()
    message["Subject"] = subject(digest)
    message["From"] = config.from_address
    message["To"] = recipient
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = message_id(digest.day.isoformat(), recipient, config.list_id)
    message["List-Id"] = f"peacewatch digest <{config.list_id}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Peacewatch-Items"] = str(digest.item_count)
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def sender_address(config: DigestConfig) -> str:
    return parseaddr(config.from_address)[1]
