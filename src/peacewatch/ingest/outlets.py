"""The outlet registry: who published an item, as config/outlets.toml describes them.

Reading lists name outlets the way people write them ("DN!", "Anti War", "Guardian"), feeds and
pages name them by domain. Both resolve here to one registered outlet, or to an outlet derived
from the unknown name or domain (registered=False) so an analyst can complete the registry later.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from peacewatch.errors import ConfigError
from peacewatch.problems import describe as _describe

__all__ = [
    "Outlet",
    "OutletRegistry",
    "alias_key",
    "derive_outlet_from_domain",
    "derive_outlet_from_name",
    "guess_timezone",
    "host_of",
    "load_outlets",
    "parse_outlets",
    "registrable_domain",
    "slugify",
]

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$")
_KEYS = {"name", "domains", "country", "langs", "timezone", "aliases"}
# second-level labels under which registrars sell names (news.bbc.co.uk -> bbc.co.uk)
_SECOND_LEVEL = {"co", "com", "org", "net", "gov", "ac", "edu", "in", "or", "ne", "go", "gv"}
_HOST_PREFIXES = ("www.", "www2.", "m.", "mobile.", "amp.")
# Country-code domains -> the zone most of their newsrooms write in; a guess for derived outlets
# whose pages state times in UTC (so the local publication day can still be told).
_TLD_ZONES = {
    "de": "Europe/Berlin", "at": "Europe/Vienna", "ch": "Europe/Zurich", "fr": "Europe/Paris",
    "it": "Europe/Rome", "es": "Europe/Madrid", "nl": "Europe/Amsterdam", "be": "Europe/Brussels",
    "uk": "Europe/London", "ie": "Europe/Dublin", "pl": "Europe/Warsaw", "cz": "Europe/Prague",
    "ru": "Europe/Moscow", "ua": "Europe/Kyiv", "by": "Europe/Minsk", "se": "Europe/Stockholm",
    "no": "Europe/Oslo", "dk": "Europe/Copenhagen", "fi": "Europe/Helsinki",
    "pt": "Europe/Lisbon", "gr": "Europe/Athens", "tr": "Europe/Istanbul", "lv": "Europe/Riga",
    "lt": "Europe/Vilnius", "ee": "Europe/Tallinn", "hu": "Europe/Budapest",
    "ro": "Europe/Bucharest", "bg": "Europe/Sofia", "rs": "Europe/Belgrade",
    "hr": "Europe/Zagreb", "sk": "Europe/Bratislava", "si": "Europe/Ljubljana",
    "md": "Europe/Chisinau", "ge": "Asia/Tbilisi", "am": "Asia/Yerevan", "kz": "Asia/Almaty",
    "il": "Asia/Jerusalem", "in": "Asia/Kolkata", "jp": "Asia/Tokyo", "cn": "Asia/Shanghai",
    "hk": "Asia/Hong_Kong", "tw": "Asia/Taipei", "kr": "Asia/Seoul", "sg": "Asia/Singapore",
    "my": "Asia/Kuala_Lumpur", "id": "Asia/Jakarta", "ph": "Asia/Manila", "th": "Asia/Bangkok",
    "vn": "Asia/Ho_Chi_Minh", "pk": "Asia/Karachi", "bd": "Asia/Dhaka", "ir": "Asia/Tehran",
    "qa": "Asia/Qatar", "ae": "Asia/Dubai", "sa": "Asia/Riyadh", "eg": "Africa/Cairo",
    "za": "Africa/Johannesburg", "ng": "Africa/Lagos", "ke": "Africa/Nairobi",
    "au": "Australia/Sydney", "nz": "Pacific/Auckland", "ca": "America/Toronto",
    "mx": "America/Mexico_City", "br": "America/Sao_Paulo", "ar": "America/Argentina/Buenos_Aires",
    "cl": "America/Santiago", "co": "America/Bogota",
}  # fmt: skip


@dataclass(frozen=True)
class Outlet:
    """One publisher. `registered` is False for outlets derived from an unknown name/domain."""

    id: str
    name: str
    domains: tuple[str, ...] = ()
    country: str | None = None
    langs: tuple[str, ...] = ()
    timezone: str | None = None
    aliases: tuple[str, ...] = ()
    registered: bool = True


def alias_key(name: str) -> str:
    """The form names are compared in: case, accents, spacing, punctuation and a leading
    "The" do not matter, so "Anti War", "anti-war" and "AntiWar" meet."""
    folded = unicodedata.normalize("NFKC", name).casefold().strip()
    folded = re.sub(r"^the\s+", "", folded)
    return "".join(ch for ch in folded if ch.isalnum())


def slugify(text: str) -> str:
    """An id for a derived outlet: ascii letters, digits and dashes; a hash for other scripts."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if not slug:
        slug = "outlet-" + hashlib.sha1(text.encode()).hexdigest()[:10]
    return slug[:60].rstrip("-")


def host_of(url_or_host: str) -> str:
    """Lowercased host of a URL (or a bare host), without port and the usual www./m. prefixes."""
    text = url_or_host.strip()
    host = urlsplit(text).hostname if "//" in text else text.split("/")[0].split(":")[0]
    host = (host or "").lower().rstrip(".")
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
            break
    return host


def registrable_domain(host: str) -> str:
    """A cheap public-suffix guess: the last two labels, three under 'co.uk'-like suffixes."""
    name = host_of(host)
    if re.fullmatch(r"[\d.]+|[0-9a-f:]+", name):
        return name  # an IP address is its own "domain"
    labels = name.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def guess_timezone(url_or_host: str) -> str | None:
    """The zone a country-code domain most likely writes in; None for .com and friends."""
    return _TLD_ZONES.get(host_of(url_or_host).rsplit(".", 1)[-1])


def derive_outlet_from_domain(url_or_host: str) -> Outlet:
    """An unregistered outlet for a domain nobody described yet ('example.co.uk')."""
    domain = registrable_domain(url_or_host)
    return Outlet(
        id=slugify(domain),
        name=domain,
        domains=(domain,),
        timezone=guess_timezone(domain),
        registered=False,
    )


def derive_outlet_from_name(name: str) -> Outlet:
    """An unregistered outlet for a name written in a list or a source entry."""
    clean = " ".join(name.split())
    if _DOMAIN.match(clean.lower()):
        return derive_outlet_from_domain(clean.lower())
    return Outlet(id=slugify(clean), name=clean, registered=False)


@dataclass
class OutletRegistry:
    """Registered outlets with lookups by id, written name/alias and domain."""

    outlets: dict[str, Outlet] = field(default_factory=dict)
    _by_key: dict[str, str] = field(default_factory=dict, repr=False)
    _by_domain: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for outlet in self.outlets.values():
            for written in (outlet.id, outlet.name, *outlet.aliases):
                self._by_key.setdefault(alias_key(written), outlet.id)
            for domain in outlet.domains:
                self._by_domain.setdefault(domain, outlet.id)

    def __len__(self) -> int:
        return len(self.outlets)

    def __iter__(self) -> Iterator[Outlet]:
        return iter(self.outlets.values())

    def get(self, outlet_id: str) -> Outlet | None:
        return self.outlets.get(outlet_id)

    def resolve(self, written: str) -> Outlet | None:
        """The registered outlet a list or config means by `written`, or None."""
        key = alias_key(written)
        if key and key in self._by_key:
            return self.outlets[self._by_key[key]]
        lowered = written.strip().lower()
        if "." in lowered and " " not in lowered:
            return self.by_domain(lowered)
        return None

    def by_domain(self, url_or_host: str) -> Outlet | None:
        """The registered outlet whose home domain is the host or a parent of it."""
        host = host_of(url_or_host)
        while host:
            if host in self._by_domain:
                return self.outlets[self._by_domain[host]]
            if "." not in host:
                return None
            host = host.split(".", 1)[1]
        return None

    def outlet_for_name(self, written: str) -> Outlet:
        """Registered outlet for a written name, else one derived from it."""
        return self.resolve(written) or derive_outlet_from_name(written)

    def outlet_for_url(self, url: str) -> Outlet:
        """Registered outlet for a URL's domain, else one derived from the domain."""
        return self.by_domain(url) or derive_outlet_from_domain(url)


def _string_list(
    value: Any, key: str, problem: Any, check: re.Pattern[str] | None, what: str
) -> tuple[str, ...]:
    if not isinstance(value, list):
        problem(key, f"expected a list of strings, got {_describe(value)}")
        return ()
    out: list[str] = []
    for index, element in enumerate(value):
        if not isinstance(element, str) or not element.strip():
            problem(f"{key}[{index}]", f"expected a non-empty string, got {_describe(element)}")
        elif check is not None and not check.match(element):
            problem(f"{key}[{index}]", f"expected {what}, got {_describe(element)}")
        else:
            out.append(element.strip())
    return tuple(out)


def parse_outlets(text: str, path: str = "config/outlets.toml") -> OutletRegistry:
    """Validate the registry text; raise one ConfigError listing every problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from exc
    problems: list[str] = []
    for key in data:
        if key != "outlets":
            problems.append(f"{path}: top level: '{key}': unknown key (expected [outlets.<id>])")
    table = data.get("outlets", {})
    if not isinstance(table, dict):
        raise ConfigError([f"{path}: top level: 'outlets': expected a table of outlets"])

    outlets: dict[str, Outlet] = {}
    key_owner: dict[str, str] = {}
    domain_owner: dict[str, str] = {}
    for outlet_id, entry in table.items():
        entry_name = f"outlet '{outlet_id}'"

        def problem(key: str, message: str, entry_name: str = entry_name) -> None:
            problems.append(f"{path}: {entry_name}: '{key}': {message}")

        if not _ID.match(outlet_id):
            problem("id", "expected a lowercase slug of letters, digits and dashes")
        if not isinstance(entry, dict):
            problem("id", f"expected a table, got {_describe(entry)}")
            continue
        for key in entry:
            if key not in _KEYS:
                problem(key, f"unknown key (expected one of {', '.join(sorted(_KEYS))})")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            problem("name", f"expected a non-empty string, got {_describe(name)}")
            name = outlet_id
        domains = _string_list(
            entry.get("domains", []), "domains", problem, _DOMAIN, "a lowercase domain name"
        )
        if not domains and "domains" not in entry:
            problem("domains", "missing: give at least one home domain")
        country = entry.get("country")
        if country is not None and (not isinstance(country, str) or not _COUNTRY.match(country)):
            problem("country", f"expected a two-letter country code, got {_describe(country)}")
            country = None
        langs = _string_list(
            entry.get("langs", []), "langs", problem, _LANG, "a language code like 'en'"
        )
        timezone = entry.get("timezone")
        if timezone is not None:
            if not isinstance(timezone, str):
                problem("timezone", f"expected an IANA zone name, got {_describe(timezone)}")
                timezone = None
            else:
                try:
                    ZoneInfo(timezone)
                except (ZoneInfoNotFoundError, ValueError):
                    problem("timezone", f'unknown time zone "{timezone}"')
                    timezone = None
        aliases = _string_list(entry.get("aliases", []), "aliases", problem, None, "")

        for index, written in enumerate(aliases):
            owner = key_owner.get(alias_key(written))
            if owner is not None and owner != outlet_id:
                problem(f"aliases[{index}]", f"\"{written}\" already names outlet '{owner}'")
        for written in (outlet_id, name, *aliases):
            key_owner.setdefault(alias_key(written), outlet_id)
        for index, domain in enumerate(domains):
            owner = domain_owner.setdefault(domain, outlet_id)
            if owner != outlet_id:
                problem(f"domains[{index}]", f"\"{domain}\" already belongs to outlet '{owner}'")
        outlets[outlet_id] = Outlet(
            id=outlet_id,
            name=name.strip(),
            domains=domains,
            country=country,
            langs=langs,
            timezone=timezone,
            aliases=aliases,
        )
    if problems:
        raise ConfigError(problems)
    return OutletRegistry(outlets)


def load_outlets(config_dir: Path | str) -> OutletRegistry:
    """Read `<config_dir>/outlets.toml`; an absent file is an empty registry."""
    path = Path(config_dir) / "outlets.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return OutletRegistry({})
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from exc
    return parse_outlets(text, str(path))
