"""The curated alias table (`config/aliases.toml`): people, places, organisations and event
words in English, Ukrainian and Russian, so a headline in one language can be compared with
coverage in another. People, places and organisations are matched after stripping one case
ending (`words.name_key`), event words after stemming/lemmatizing each word or stripping one
case ending, never by transliteration: an entity is shared across languages only when the
table says so.

Validated like the other configuration files: every mistake is reported at once, each
naming the file, the entry and the key.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peacewatch.errors import ConfigError
from peacewatch.stories.words import key, name_key, words

ALIASES_FILE = "aliases.toml"
LANGUAGES = ("en", "uk", "ru")
KINDS = ("person", "place", "org", "topic")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_KEYS = {"id", "kind", "common", "within", "secondary", *LANGUAGES}
# A shorter name key is too likely a common word's (Доха -> дох, Сочі -> соч): such a name
# is found by its stem or lemma only
MIN_NAME_KEY = 4


@dataclass(frozen=True)
class Entity:
    id: str
    kind: str  # person | place | org | topic
    common: bool  # too frequent in this coverage to count as evidence (Ukraine, Kyiv)
    within: str | None = None  # a place this place lies in (Istanbul -> turkey), an
    # organisation this one is part of (the Security Council -> united-nations)
    secondary: bool = False  # a person who speaks for or sits beside the principals (a
    # spokesman, an aide, an envoy, an ambassador): not whom a happening is between


@dataclass
class AliasTable:
    """Entities and, per language, the key sequences that name them."""

    entities: dict[str, Entity] = field(default_factory=dict)
    # language -> first key -> [(key sequence, entity id)], longest sequence first
    names: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = field(default_factory=dict)
    # the same for people, places and organisations, by name keys (one case ending stripped)
    proper: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = field(default_factory=dict)
    digest: str = "empty"  # a hash of the table's content, part of the settings version
    # each entity in a `within` tree as its path from the root ('turkey/istanbul'), so two
    # venues of one tree tell whether one lies within the other (`vetoes.other_venue`)
    paths: dict[str, str] = field(default_factory=dict)

    def find(
        self, keys: list[str], lang: str | None, name_keys: list[str] | None = None
    ) -> list[tuple[int, int, str]]:
        """(start, end, entity id) of every name in a text's key sequence (and, for people,
        places and organisations, its name-key sequence), longest match first."""
        language = lang if lang in self.names or lang in self.proper else "en"
        tables = [(self.names.get(language, {}), keys)]
        if name_keys is not None:
            tables.append((self.proper.get(language, {}), name_keys))
        found: list[tuple[int, int, str]] = []
        i = 0
        while i < len(keys):
            best: tuple[int, str] | None = None
            for table, sequence_keys in tables:
                for sequence, entity in table.get(sequence_keys[i], ()):
                    if best is not None and len(sequence) <= best[0]:
                        break
                    if tuple(sequence_keys[i : i + len(sequence)]) == sequence:
                        best = (len(sequence), entity)
                        break
            if best is not None:
                found.append((i, i + best[0], best[1]))
                i += best[0]
            else:
                i += 1
        return found


def build_table(entries: list[dict[str, Any]], *, display: str = ALIASES_FILE) -> AliasTable:
    """Validate the parsed entries and compile them; one ConfigError lists every problem."""
    problems: list[str] = []
    table = AliasTable()
    names: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    proper: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for number, entry in enumerate(entries, start=1):
        where = f"{display}: entry {number}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a table")
            continue
        ident = entry.get("id")
        if not isinstance(ident, str) or not _ID.match(ident):
            problems.append(f"{where}: 'id': expected lower-case letters, digits, '-', '_'")
            continue
        where = f"{display}: entity '{ident}' (entry {number})"
        if ident in table.entities:
            problems.append(f"{where}: 'id': duplicate")
        for unknown in sorted(set(entry) - _KEYS):
            problems.append(f"{where}: '{unknown}': unknown key")
        kind = entry.get("kind")
        if kind not in KINDS:
            problems.append(f"{where}: 'kind': expected one of {', '.join(KINDS)}, got {kind!r}")
        common = entry.get("common", False)
        if not isinstance(common, bool):
            problems.append(f"{where}: 'common': expected true or false")
        present = [lang for lang in LANGUAGES if lang in entry]
        if len(present) < 2:
            problems.append(f"{where}: needs names in at least two of en, uk, ru")
        for lang in present:
            value = entry[lang]
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(v, str) and words(v) for v in value)
            ):
                problems.append(f"{where}: '{lang}': expected a non-empty list of names")
                continue
            for name in value:
                # people, places and organisations by their name keys (a stem can cut a
                # name short: Умеров -> умер, 'died'); event words by stems or lemmas, and
                # by name keys as well (Snowball stems 'саммит' to 'самм' but 'саммита' to
                # 'саммит'; pymorphy3 lemmatizes 'великодній' to 'великодна'); short names
                # by stems only
                by_name = tuple(name_key(w, lang) for w in words(name))
                long_enough = min(len(k) for k in by_name) >= MIN_NAME_KEY
                if long_enough:
                    proper[lang][by_name[0]].append((by_name, ident))
                if kind == "topic" or not long_enough:
                    sequence = tuple(key(w, lang) for w in words(name))
                    names[lang][sequence[0]].append((sequence, ident))
        within = entry.get("within")
        if within is not None and (not isinstance(within, str) or kind not in ("place", "org")):
            problems.append(
                f"{where}: 'within': expected the id of a place or an organisation, on one"
            )
        secondary = entry.get("secondary", False)
        if not isinstance(secondary, bool) or (secondary and kind != "person"):
            problems.append(f"{where}: 'secondary': expected true or false, for a person")
        table.entities[ident] = Entity(ident, str(kind), bool(common), within, secondary is True)
    for entity in table.entities.values():
        parent = table.entities.get(entity.within or "")
        if entity.within and (parent is None or parent.kind != entity.kind):
            what = "place" if entity.kind == "place" else "organisation"
            problems.append(
                f"{display}: entity '{entity.id}': 'within': no {what} '{entity.within}'"
            )
    if problems:
        raise ConfigError(problems)
    table.paths = _paths(table.entities)
    for compiled, source in ((table.names, names), (table.proper, proper)):
        for lang, firsts in source.items():
            # longest first; among equal lengths, file order (a stable sort of the options
            # without repeats): where two entities share a key sequence ('чорноморський' and
            # 'Чорноморськ' both give 'чорноморськ'), the one listed first wins, whatever the
            # hash seed (a set's order made clustering differ from run to run)
            compiled[lang] = {
                first: sorted(dict.fromkeys(options), key=lambda o: -len(o[0]))
                for first, options in firsts.items()
            }
    canonical = repr(sorted((e.get("id"), sorted(e.items())) for e in entries)).encode()
    table.digest = hashlib.sha256(canonical).hexdigest()[:12]
    return table


def _paths(entities: dict[str, Entity]) -> dict[str, str]:
    """Every entity of a `within` tree (a parent or a part) as its path from the root
    ('turkey/istanbul/dolmabahce'); a loop is cut where it closes."""
    parents = {e.within for e in entities.values() if e.within}
    paths = {}
    for entity in entities.values():
        if not entity.within and entity.id not in parents:
            continue
        chain, seen = [entity.id], {entity.id}
        parent = entities.get(entity.within or "")
        while parent is not None and parent.id not in seen:
            chain.append(parent.id)
            seen.add(parent.id)
            parent = entities.get(parent.within or "")
        paths[entity.id] = "/".join(reversed(chain))
    return paths


def load_aliases(config_dir: Path | str) -> AliasTable:
    """config/aliases.toml as an AliasTable; an empty table when the file is absent."""
    path = Path(config_dir) / ALIASES_FILE
    if not path.exists():
        return AliasTable()
    display = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{display}: cannot read: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"{display}: not UTF-8 text: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{display}: invalid TOML: {error}") from error
    unknown = sorted(set(data) - {"entity"})
    if unknown:
        raise ConfigError([f"{display}: '{name}': unknown table" for name in unknown])
    entries = data.get("entity", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{display}: 'entity': expected [[entity]] tables")
    return build_table(entries, display=display)
