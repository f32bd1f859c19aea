"""Load, validate and compile config/initiatives.toml into an immutable RuleSet.

Validation happens once, here: every problem in the file is collected and raised as one
ConfigError whose lines name the file, the entry (initiative/theme id), the key and the problem.
Only a fully valid file is compiled, so a bad pattern can never reach the matcher.

Compilation turns every pattern (a word or phrase) into a tuple of "atoms" and builds a token
index (atom -> patterns starting with it), so matching an item costs one pass over its tokens
instead of one scan per rule. See docs/tagging.md for the rule language.

Longer than 500 lines because validation and compilation are one pass over the file (checks
and pattern atoms live in `checks` and `patterns`), so every problem is reported in place.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from peacewatch.errors import ConfigError
from peacewatch.problems import describe as _describe
from peacewatch.tagging.checks import Checks
from peacewatch.tagging.model import load_model
from peacewatch.tagging.patterns import PatternCompiler
from peacewatch.tagging.ruleset import (
    FIELDS,
    MATCHER_VERSION,
    Event,
    Group,
    Initiative,
    ModelSettings,
    Rule,
    RuleSet,
    Term,
    Theme,
)

RULES_FILE = "initiatives.toml"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_CONCEPT_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def load_ruleset(config_dir: Path | str) -> RuleSet:
    """Read, validate and compile `config_dir/initiatives.toml` (and the model it names)."""
    return load_rules_file(Path(config_dir) / RULES_FILE)


def load_rules_file(path: Path, *, display: str | None = None) -> RuleSet:
    shown = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{shown}: cannot read: {error.strerror or error}") from error
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(f"{shown}: not UTF-8 text: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{shown}: invalid TOML: {error}") from error
    return compile_rules(data, display=shown, base_dir=path.parent)


def _canonical(value: Any) -> Any:
    """Parsed TOML in a form where equal meaning gives equal JSON (1 and 1.0 alike)."""
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def rules_version(data: Mapping[str, Any]) -> str:
    """Hash of the file's normalized content (parsed TOML as canonical JSON, plus the matcher
    version): comments, key order, whitespace and 1 vs 1.0 do not change it."""
    canonical = json.dumps(
        {"matcher": MATCHER_VERSION, "rules": _canonical(dict(data))},
        sort_keys=True,
        default=str,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def compile_rules(
    data: Mapping[str, Any], *, display: str = RULES_FILE, base_dir: Path | None = None
) -> RuleSet:
    """Validate parsed TOML and compile it; raise one ConfigError listing every problem.

    `base_dir` is the folder the `[model]` file is named relative to."""
    compiler = _Compiler(display, base_dir)
    ruleset = compiler.compile(data)
    if compiler.problems:
        raise ConfigError(compiler.problems)
    assert ruleset is not None
    return ruleset


# ---------------------------------------------------------------- validation + compilation


class _Compiler(Checks):
    def __init__(self, display: str, base_dir: Path | None = None) -> None:
        super().__init__(display)
        self.base_dir = base_dir
        self.patterns = PatternCompiler()
        self.concepts: dict[str, Any] = {}
        self.resolved_concepts: dict[str, list[int]] = {}
        self.defaults: dict[str, Any] = {
            "threshold": 1.0,
            "slack_days": 3,
            "within": 5,
            "field_weights": {"title": 1.0, "summary": 0.8, "text": 0.5},
        }

    # -- top level

    def compile(self, data: Mapping[str, Any]) -> RuleSet | None:
        known = {"defaults", "concepts", "relevance", "initiative", "theme", "model"}
        for key in data:
            if key not in known:
                self.problem(None, key, f"unknown key (expected one of {', '.join(sorted(known))})")
        self._defaults(data.get("defaults", {}))
        self._concepts(data.get("concepts", {}))

        initiatives: list[Initiative] = []
        themes: list[Theme] = []
        seen: set[str] = set()
        raw_initiatives = data.get("initiative", [])
        if not isinstance(raw_initiatives, list) or not raw_initiatives:
            self.problem(None, "initiative", "expected at least one [[initiative]] table")
            raw_initiatives = []
        for index, raw in enumerate(raw_initiatives):
            initiative = self._initiative(index, raw, seen)
            if initiative:
                initiatives.append(initiative)
        raw_themes = data.get("theme", [])
        if not isinstance(raw_themes, list):
            self.problem(None, "theme", "expected [[theme]] tables")
            raw_themes = []
        for index, raw in enumerate(raw_themes):
            theme = self._theme(index, raw, seen)
            if theme:
                themes.append(theme)
        relevance = self._relevance(data.get("relevance"))
        model = self._model(data["model"], {i.id for i in initiatives}) if "model" in data else None
        if self.problems or relevance is None:
            return None

        rules = [*(i.rule for i in initiatives), *(t.rule for t in themes), relevance]
        by_pattern: dict[int, set[int]] = {}
        for rule_index, rule in enumerate(rules):
            for term in rule.terms:
                if term.lift:  # never fires alone: no reason to evaluate the rule
                    continue
                for pid in term.patterns:
                    by_pattern.setdefault(pid, set()).add(rule_index)
            for event in rule.events:  # no event counts without one of its places or actors
                for pid in event.cues:
                    by_pattern.setdefault(pid, set()).add(rule_index)
        version = rules_version(data)
        if model is not None:  # a retrained model retags as a changed rule does
            version = hashlib.sha256(f"{version}:{model.model.version}".encode()).hexdigest()[:16]
        return RuleSet(
            path=self.display,
            version=version,
            field_weights=MappingProxyType(dict(self.defaults["field_weights"])),
            initiatives=tuple(initiatives),
            themes=tuple(themes),
            relevance=relevance,
            rules=tuple(rules),
            table=self.patterns.table(),
            rules_by_pattern=tuple(
                tuple(sorted(by_pattern.get(pid, ()))) for pid in range(len(self.patterns))
            ),
            model=model,
        )

    # -- sections

    def _defaults(self, raw: Any) -> None:
        entry = "defaults"
        if not isinstance(raw, dict):
            self.problem(entry, None, "expected a table")
            return
        self._unknown(entry, "", raw, {"threshold", "slack_days", "within", "field_weights"})
        if "threshold" in raw and self._number(entry, "threshold", raw["threshold"]):
            if raw["threshold"] <= 0:
                self.problem(entry, "threshold", "must be greater than 0")
            else:
                self.defaults["threshold"] = float(raw["threshold"])
        if "slack_days" in raw and self._int(entry, "slack_days", raw["slack_days"], minimum=0):
            self.defaults["slack_days"] = raw["slack_days"]
        if "within" in raw and self._int(entry, "within", raw["within"], minimum=0):
            self.defaults["within"] = raw["within"]
        weights = raw.get("field_weights")
        if weights is not None:
            if not isinstance(weights, dict):
                self.problem(entry, "field_weights", "expected a table of field = weight")
                return
            for key, value in weights.items():
                if key not in FIELDS:
                    self.problem(
                        entry,
                        f"field_weights.{key}",
                        f"unknown field (expected {'/'.join(FIELDS)})",
                    )
                elif self._number(entry, f"field_weights.{key}", value, minimum=0):
                    self.defaults["field_weights"][key] = float(value)

    def _concepts(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            self.problem("concepts", None, "expected a table of name = [patterns]")
            return
        for name, value in raw.items():
            if not _CONCEPT_RE.match(name):
                self.problem("concepts", name, "concept names use lowercase letters, digits and _")
                continue
            patterns = self._strings("concepts", name, value)
            if patterns is not None:
                self.concepts[name] = patterns
        for name in list(self.concepts):
            self._resolve_concept(name, [])

    def _resolve_concept(self, name: str, stack: list[str]) -> list[int]:
        if name in self.resolved_concepts:
            return self.resolved_concepts[name]
        if name in stack:
            cycle = " -> ".join([*stack[stack.index(name) :], name])
            self.problem("concepts", name, f"concept refers to itself ({cycle})")
            self.resolved_concepts[name] = []
            return []
        pids: list[int] = []
        for index, pattern in enumerate(self.concepts[name]):
            pids.extend(
                self._pattern_or_ref("concepts", f"{name}[{index}]", pattern, [*stack, name])
            )
        self.resolved_concepts[name] = pids
        return pids

    def _initiative(self, index: int, raw: Any, seen: set[str]) -> Initiative | None:
        entry = f"initiative #{index + 1}"
        if not isinstance(raw, dict):
            self.problem(entry, None, "expected a table")
            return None
        ident = raw.get("id")
        if isinstance(ident, str) and _ID_RE.match(ident):
            entry = f"initiative '{ident}'"
            if ident in seen:
                self.problem(entry, "id", "duplicate id")
            seen.add(ident)
        else:
            self.problem(
                entry,
                "id",
                f"expected a lowercase slug like 'us-28pt-plan', got {_describe(ident)}",
            )
        known = {
            "id",
            "name",
            "description",
            "start_date",
            "end_date",
            "parties",
            "links",
            "slack_days",
            "rules",
            "events",
            "retrospective",
        }
        self._unknown(entry, "", raw, known)
        name = self._text(entry, "name", raw.get("name"))
        description = self._text(entry, "description", raw.get("description"))
        start = (
            self._date(entry, "start_date", raw.get("start_date")) if "start_date" in raw else None
        )
        if "start_date" not in raw:
            self.problem(entry, "start_date", "missing: every initiative needs a start date")
        end = self._date(entry, "end_date", raw["end_date"]) if "end_date" in raw else None
        if start and end and end < start:
            self.problem(entry, "end_date", f"{end} is before start_date {start}")
        parties = self._strings(entry, "parties", raw.get("parties")) or []
        links = self._strings(entry, "links", raw.get("links")) or []
        for link_index, link in enumerate(links):
            if not link.startswith(("https://", "http://")):
                self.problem(
                    entry, f"links[{link_index}]", f"expected an http(s) URL, got {_describe(link)}"
                )
        slack = raw.get("slack_days", self.defaults["slack_days"])
        if not self._int(entry, "slack_days", slack, minimum=0):
            slack = 0
        retrospective = raw.get("retrospective", False)
        if not isinstance(retrospective, bool):
            self.problem(
                entry, "retrospective", f"expected true or false, got {_describe(retrospective)}"
            )
            retrospective = False
        rule = self._rule(entry, raw.get("rules"))
        events = self._events(entry, raw.get("events", []), rule)
        if rule is None or start is None or not isinstance(ident, str) or events is None:
            return None
        if events:
            rule = replace(rule, events=events)
        earliest = start - timedelta(days=slack)
        return Initiative(
            ident,
            name,
            description,
            start,
            end,
            tuple(parties),
            tuple(links),
            slack,
            rule,
            earliest,
            retrospective,
        )

    def _pattern_list(self, entry: str, key: str, raw: Any) -> list[int]:
        """A list of patterns or @concepts (the `[model]` section's `context`, ...): their ids."""
        ids: list[int] = []
        for index, pattern in enumerate(self._strings(entry, key, raw) or ()):
            ids.extend(self._pattern_or_ref(entry, f"{key}[{index}]", pattern, []))
        return ids

    def _events(self, entry: str, raw: Any, rule: Rule | None) -> tuple[Event, ...] | None:
        """[[initiative.events]] tables: dated events named by places, actors and actions."""
        if not isinstance(raw, list):
            self.problem(entry, "events", "expected [[initiative.events]] tables")
            return None
        before = len(self.problems)
        events: list[Event] = []
        known = {"name", "date", "until", "before", "after", "places", "actors", "leaders"}
        known.update(("venues", "sides", "met_at", "actions"))
        known.add("weight")
        for index, table in enumerate(raw):
            key = f"events[{index}]"
            if not isinstance(table, dict):
                self.problem(entry, key, "expected a table")
                continue
            self._unknown(entry, f"{key}.", table, known)
            name = self._text(entry, f"{key}.name", table.get("name"))
            if "date" not in table:
                self.problem(entry, f"{key}.date", "missing: every event needs its date")
                continue
            first = self._date(entry, f"{key}.date", table["date"])
            last = self._date(entry, f"{key}.until", table["until"]) if "until" in table else first
            if first and last and last < first:
                self.problem(entry, f"{key}.until", f"{last} is before date {first}")
            days_before = table.get("before", 2)
            days_after = table.get("after", 10)
            ok = self._int(entry, f"{key}.before", days_before, minimum=0)
            ok = self._int(entry, f"{key}.after", days_after, minimum=0) and ok
            threshold = rule.threshold if rule else 1.0
            weight = table.get("weight", threshold)
            ok = self._number(entry, f"{key}.weight", weight, minimum=0) and ok
            label = f"event: {name} ({first})"
            sets: dict[str, list[int]] = {}
            for part in ("venues", "places", "actors", "leaders", "sides", "met_at", "actions"):
                sets[part] = []
                if part not in table:
                    continue
                patterns = self._strings(entry, f"{key}.{part}", table[part])
                for i, pattern in enumerate(patterns or []):
                    found = self._pattern_or_ref(entry, f"{key}.{part}[{i}]", pattern, [])
                    sets[part].extend(found)
            if not sets.get("actions"):
                self.problem(entry, f"{key}.actions", "expected the event's actions (talks, ...)")
            if not any(sets.get(part) for part in ("venues", "places", "actors", "leaders")):
                self.problem(
                    entry, key, "expected venues, places, actors or leaders: what names the event"
                )
            if not ok or first is None or last is None or len(self.problems) > before:
                continue
            labels: dict[int, str] = {}
            for part, pids in sets.items():  # a pattern listed twice keeps its first part
                kind = "place" if part == "met_at" else part.removesuffix("s")
                for pid in pids:
                    labels.setdefault(pid, f"{label} {kind}: {self.patterns.pattern_sources[pid]}")
            events.append(
                Event(
                    label,
                    first - timedelta(days=days_before),
                    last + timedelta(days=days_after),
                    frozenset(sets.get("places", ())),
                    frozenset(sets.get("actors", ())),
                    frozenset(sets["actions"]),
                    float(weight),
                    MappingProxyType(labels),
                    frozenset(sets.get("leaders", ())),
                    frozenset(sets.get("venues", ())),
                    frozenset(sets.get("sides", ())),
                    frozenset(sets.get("met_at", ())),
                )
            )
        return None if len(self.problems) > before else tuple(events)

    def _theme(self, index: int, raw: Any, seen: set[str]) -> Theme | None:
        entry = f"theme #{index + 1}"
        if not isinstance(raw, dict):
            self.problem(entry, None, "expected a table")
            return None
        ident = raw.get("id")
        if isinstance(ident, str) and _ID_RE.match(ident):
            entry = f"theme '{ident}'"
            if ident in seen:
                self.problem(entry, "id", "duplicate id")
            seen.add(ident)
        else:
            self.problem(
                entry, "id", f"expected a lowercase slug like 'territory', got {_describe(ident)}"
            )
        self._unknown(entry, "", raw, {"id", "name", "description", "rules"})
        name = self._text(entry, "name", raw.get("name"))
        description = self._text(entry, "description", raw.get("description"), required=False)
        rule = self._rule(entry, raw.get("rules"))
        if rule is None or not isinstance(ident, str):
            return None
        return Theme(ident, name, description, rule)

    def _relevance(self, raw: Any) -> Rule | None:
        entry = "relevance"
        if not isinstance(raw, dict):
            self.problem(
                entry, None, "missing [relevance] table (rules for general peace coverage)"
            )
            return None
        self._unknown(entry, "", raw, {"description", "rules"})
        self._text(entry, "description", raw.get("description"), required=False)
        return self._rule(entry, raw.get("rules"))

    def _model(self, raw: Any, initiative_ids: set[str]) -> ModelSettings | None:
        # (an initiative the model does not know is never guessed, one the rules dropped neither)
        entry = "model"
        if not isinstance(raw, dict):
            self.problem(entry, None, "expected a table")
            return None
        before = len(self.problems)
        self._unknown(
            entry,
            "",
            raw,
            {
                "file",
                "threshold",
                "words_threshold",
                "veto_ratio",
                "undated_exclusive",
                "context",
                "threshold_without_context",
                "headline_cues",
            },
        )
        name = self._text(entry, "file", raw.get("file"))
        threshold = raw.get("threshold", 0.6)
        if self._number(entry, "threshold", threshold) and not 0 < threshold < 1:
            self.problem(entry, "threshold", f"must lie between 0 and 1, got {threshold}")
        words_threshold = raw.get("words_threshold", 0.0)
        if self._number(entry, "words_threshold", words_threshold) and not (
            0 <= words_threshold < 1
            and (not isinstance(threshold, int | float) or words_threshold <= threshold)
        ):
            self.problem(
                entry,
                "words_threshold",
                f"must lie between 0 and the threshold ({threshold}), got {words_threshold}",
            )
        without = raw.get("threshold_without_context", 1.0)
        if self._number(entry, "threshold_without_context", without) and not (
            (not isinstance(threshold, int | float) or threshold <= without) and without <= 1
        ):
            self.problem(
                entry,
                "threshold_without_context",
                f"must lie between the threshold ({threshold}) and 1, got {without}",
            )
        veto_ratio = raw.get("veto_ratio", 0.0)
        if self._number(entry, "veto_ratio", veto_ratio) and not 0 <= veto_ratio < 1:
            self.problem(entry, "veto_ratio", f"must lie between 0 and 1, got {veto_ratio}")
        exclusive = self._exclusive(entry, raw.get("undated_exclusive", []), initiative_ids)
        context = self._pattern_list(entry, "context", raw.get("context"))
        cues: list[int] = []
        if "headline_cues" in raw:
            cues = self._pattern_list(entry, "headline_cues", raw["headline_cues"])
        elif isinstance(without, int | float) and without < 1:
            self.problem(
                entry, "headline_cues", "missing: threshold_without_context needs headline cues"
            )
        if len(self.problems) > before or not name:
            return None
        if self.base_dir is None:
            self.problem(entry, "file", "a model file needs the rules file's folder to be known")
            return None
        try:
            model = load_model(self.base_dir / name, display=str(self.base_dir / name))
        except ConfigError as error:
            self.problem(entry, "file", f"{error} (train one with `peacewatch train-model`)")
            return None
        return ModelSettings(
            file=name,
            model=model,
            threshold=float(threshold),
            context=frozenset(context),
            words_threshold=float(words_threshold),
            veto_ratio=float(veto_ratio),
            undated_exclusive=exclusive,
            threshold_without_context=float(without),
            headline_cues=frozenset(cues),
        )

    def _exclusive(
        self, entry: str, raw: Any, initiative_ids: set[str]
    ) -> tuple[frozenset[str], ...]:
        """`undated_exclusive`: lists of two or more initiative ids, each known."""
        key = "undated_exclusive"
        if not isinstance(raw, list) or not all(
            isinstance(group, list) and len(group) >= 2 and all(isinstance(i, str) for i in group)
            for group in raw
        ):
            self.problem(entry, key, "expected a list of lists of two or more initiative ids")
            return ()
        for group in raw:
            for initiative_id in group:
                if initiative_id not in initiative_ids:
                    self.problem(entry, key, f"no initiative has the id {initiative_id!r}")
        return tuple(frozenset(group) for group in raw)

    # -- rules

    def _rule(self, entry: str, raw: Any) -> Rule | None:
        if not isinstance(raw, dict):
            self.problem(entry, "rules", "missing or not a table")
            return None
        before = len(self.problems)
        self._unknown(entry, "rules.", raw, {"threshold", "terms", "require", "exclude"})
        threshold = raw.get("threshold", self.defaults["threshold"])
        if self._number(entry, "rules.threshold", threshold) and threshold <= 0:
            self.problem(entry, "rules.threshold", "must be greater than 0")
        raw_terms = raw.get("terms")
        terms: list[Term] = []
        if not isinstance(raw_terms, list) or not raw_terms:
            self.problem(entry, "rules.terms", "expected a non-empty list of terms")
        else:
            for index, raw_term in enumerate(raw_terms):
                term = self._term(entry, f"rules.terms[{index}]", f"terms[{index}]", raw_term)
                if term:
                    terms.append(term)
            if terms and not any(t.weight > 0 for t in terms):
                self.problem(
                    entry, "rules.terms", "no term has a positive weight, so it can never match"
                )
        groups: dict[str, list[Group]] = {"require": [], "exclude": []}
        for kind in groups:
            raw_groups = raw.get(kind, [])
            if not isinstance(raw_groups, list):
                self.problem(entry, f"rules.{kind}", "expected a list of groups")
                continue
            for index, raw_group in enumerate(raw_groups):
                group = self._group(entry, f"rules.{kind}[{index}]", f"{kind}[{index}]", raw_group)
                if group:
                    groups[kind].append(group)
        if len(self.problems) > before:
            return None
        return Rule(
            float(threshold), tuple(terms), tuple(groups["require"]), tuple(groups["exclude"])
        )

    def _options(
        self, entry: str, key: str, raw: Mapping[str, Any]
    ) -> tuple[frozenset[int], int, frozenset[str]]:
        near: list[int] = []
        if "near" in raw:
            for index, pattern in enumerate(self._strings(entry, f"{key}.near", raw["near"]) or []):
                near.extend(self._pattern_or_ref(entry, f"{key}.near[{index}]", pattern, []))
        within = raw.get("within", self.defaults["within"])
        if not self._int(entry, f"{key}.within", within, minimum=0):
            within = 0
        if "within" in raw and "near" not in raw:
            self.problem(entry, f"{key}.within", "only makes sense together with 'near'")
        fields = frozenset(FIELDS)
        if "fields" in raw:
            names = self._strings(entry, f"{key}.fields", raw["fields"]) or []
            bad = [n for n in names if n not in FIELDS]
            if bad:
                self.problem(
                    entry,
                    f"{key}.fields",
                    f"unknown field {bad[0]!r} (expected {'/'.join(FIELDS)})",
                )
            fields = frozenset(n for n in names if n in FIELDS)
        return frozenset(near), within, fields

    def _term(self, entry: str, key: str, label: str, raw: Any) -> Term | None:
        if not isinstance(raw, dict):
            self.problem(
                entry,
                key,
                f'expected a table like {{ match = "...", weight = 1 }}, got {_describe(raw)}',
            )
            return None
        self._unknown(
            entry,
            f"{key}.",
            raw,
            {
                "match",
                "weight",
                "near",
                "within",
                "fields",
                "from",
                "until",
                "unless",
                "undated",
                "lift",
            },
        )
        if "match" not in raw:
            self.problem(entry, f"{key}.match", "missing")
            return None
        patterns: list[int] = []
        for index, pattern in enumerate(self._strings(entry, f"{key}.match", raw["match"]) or []):
            patterns.extend(self._pattern_or_ref(entry, f"{key}.match[{index}]", pattern, []))
        weight = raw.get("weight", 1.0)
        if not self._number(entry, f"{key}.weight", weight):
            weight = 0.0
        near, within, fields = self._options(entry, key, raw)
        unless: list[int] = []
        if "unless" in raw:
            for index, pattern in enumerate(
                self._strings(entry, f"{key}.unless", raw["unless"]) or []
            ):
                unless.extend(self._pattern_or_ref(entry, f"{key}.unless[{index}]", pattern, []))
        valid_from = self._date(entry, f"{key}.from", raw["from"]) if "from" in raw else None
        valid_until = self._date(entry, f"{key}.until", raw["until"]) if "until" in raw else None
        if valid_from and valid_until and valid_until < valid_from:
            self.problem(entry, f"{key}.until", f"{valid_until} is before 'from' {valid_from}")
        undated = raw.get("undated", False)
        if not isinstance(undated, bool):
            self.problem(
                entry, f"{key}.undated", f"expected true or false, got {_describe(undated)}"
            )
            undated = False
        elif undated and not (valid_from or valid_until):
            self.problem(entry, f"{key}.undated", "only means something with 'from' or 'until'")
        lift = raw.get("lift", False)
        if not isinstance(lift, bool):
            self.problem(entry, f"{key}.lift", f"expected true or false, got {_describe(lift)}")
            lift = False
        return Term(
            label,
            frozenset(patterns),
            float(weight),
            near,
            within,
            fields,
            valid_from,
            valid_until,
            frozenset(unless),
            self._labels(label, patterns),
            self._labels(f"{label}.near", near),
            undated=undated,
            lift=lift,
        )

    def _group(self, entry: str, key: str, label: str, raw: Any) -> Group | None:
        if not isinstance(raw, dict):
            self.problem(
                entry, key, f"expected a table like {{ any = [...] }}, got {_describe(raw)}"
            )
            return None
        known = {"any", "all", "near", "within", "fields", "unless", "undated", "from"}
        self._unknown(entry, f"{key}.", raw, known)
        modes = [m for m in ("any", "all") if m in raw]
        if len(modes) != 1:
            self.problem(entry, key, "needs exactly one of 'any' or 'all'")
            return None
        mode = modes[0]
        slots: list[frozenset[int]] = []
        for index, pattern in enumerate(self._strings(entry, f"{key}.{mode}", raw[mode]) or []):
            slot = self._pattern_or_ref(entry, f"{key}.{mode}[{index}]", pattern, [])
            if slot:
                slots.append(frozenset(slot))
        near, within, fields = self._options(entry, key, raw)
        if mode == "any":
            slots = [frozenset(pid for slot in slots for pid in slot)]
        labels = self._labels(label, [pid for slot in slots for pid in slot])
        unless: list[int] = []
        if "unless" in raw:
            if not label.startswith("exclude"):
                self.problem(entry, f"{key}.unless", "only an exclude group can have 'unless'")
            for index, pattern in enumerate(
                self._strings(entry, f"{key}.unless", raw["unless"]) or []
            ):
                unless.extend(self._pattern_or_ref(entry, f"{key}.unless[{index}]", pattern, []))
        undated = raw.get("undated", False)
        if not isinstance(undated, bool):
            self.problem(
                entry, f"{key}.undated", f"expected true or false, got {_describe(undated)}"
            )
            undated = False
        elif undated and not label.startswith("exclude"):
            self.problem(entry, f"{key}.undated", "only an exclude group can be 'undated'")
        valid_from = self._date(entry, f"{key}.from", raw["from"]) if "from" in raw else None
        if valid_from and not label.startswith("exclude"):
            self.problem(entry, f"{key}.from", "only an exclude group can have 'from'")
        elif valid_from and undated:
            self.problem(entry, f"{key}.from", "an 'undated' group vetoes no dated item")
        return Group(
            label,
            mode,
            tuple(slots),
            near,
            within,
            fields,
            labels,
            frozenset(unless),
            undated,
            valid_from,
        )

    def _labels(self, label: str, patterns: Iterable[int]) -> Mapping[int, str]:
        return MappingProxyType(
            {pid: f"{label}: {self.patterns.pattern_sources[pid]}" for pid in patterns}
        )

    def _pattern_or_ref(self, entry: str, key: str, pattern: str, stack: list[str]) -> list[int]:
        if pattern.startswith("@"):
            name = pattern[1:]
            if name not in self.concepts:
                self.problem(entry, key, f"unknown concept {pattern!r}")
                return []
            return self._resolve_concept(name, stack)
        pid = self.patterns.add(pattern)
        if isinstance(pid, str):
            self.problem(entry, key, pid)
            return []
        return [pid]
