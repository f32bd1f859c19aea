"""The rule file's compiler: its top-level sections (defaults, initiatives, themes, relevance,
model) validated and compiled into a RuleSet, and the rules version that identifies it.

Compilation turns every pattern (a word or phrase) into a tuple of "atoms" and builds a token
index (atom -> patterns starting with it), so matching an item costs one pass over its tokens
instead of one scan per rule. See docs/tagging.md for the rule language.

Separate from `rules` (reading the file) and layered over `rule_events` and `rule_terms`, which
compile what the sections hold; every layer adds its problems to the one list, in place.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from peacewatch.errors import ConfigError
from peacewatch.problems import describe as _describe
from peacewatch.tagging.model import load_model
from peacewatch.tagging.rule_events import EventCompiler
from peacewatch.tagging.ruleset import (
    FIELDS,
    MATCHER_VERSION,
    Initiative,
    ModelSettings,
    Rule,
    RuleSet,
    Theme,
)

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


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


# ---------------------------------------------------------------- validation + compilation


class _Compiler(EventCompiler):
    """The whole file: its top-level sections, over the events and terms they hold."""

    def __init__(self, display: str, base_dir: Path | None = None) -> None:
        super().__init__(display)
        self.base_dir = base_dir

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

    def _entry(
        self, kind: str, example: str, index: int, raw: dict[str, Any], seen: set[str]
    ) -> str:
        """The name an initiative or theme is reported by: its id once valid and unseen."""
        entry = f"{kind} #{index + 1}"
        ident = raw.get("id")
        if isinstance(ident, str) and _ID_RE.match(ident):
            entry = f"{kind} '{ident}'"
            if ident in seen:
                self.problem(entry, "id", "duplicate id")
            seen.add(ident)
        else:
            self.problem(
                entry, "id", f"expected a lowercase slug like '{example}', got {_describe(ident)}"
            )
        return entry

    def _initiative(self, index: int, raw: Any, seen: set[str]) -> Initiative | None:
        if not isinstance(raw, dict):
            self.problem(f"initiative #{index + 1}", None, "expected a table")
            return None
        ident = raw.get("id")
        entry = self._entry("initiative", "us-28pt-plan", index, raw, seen)
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

    def _theme(self, index: int, raw: Any, seen: set[str]) -> Theme | None:
        if not isinstance(raw, dict):
            self.problem(f"theme #{index + 1}", None, "expected a table")
            return None
        ident = raw.get("id")
        entry = self._entry("theme", "territory", index, raw, seen)
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
