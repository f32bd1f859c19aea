"""Compiling a `rules` table: its terms, `require` and `exclude` groups, and the patterns and
@concepts they name, into `Rule`, `Term` and `Group` with their evidence labels.

The lowest layer of the rule file's compiler (see `rules`): it owns what every section shares,
the pattern table, the resolved concepts and the file's `[defaults]`, so initiatives, themes,
the relevance rule, events and the model's cues all name patterns the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from peacewatch.problems import describe as _describe
from peacewatch.tagging.checks import Checks
from peacewatch.tagging.patterns import PatternCompiler
from peacewatch.tagging.ruleset import FIELDS, Group, Rule, Term

_CONCEPT_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class TermCompiler(Checks):
    """The problem list, the pattern table, the concepts and defaults, and what compiles a
    rule's terms and groups."""

    def __init__(self, display: str) -> None:
        super().__init__(display)
        self.patterns = PatternCompiler()
        self.concepts: dict[str, Any] = {}
        self.resolved_concepts: dict[str, list[int]] = {}
        self.defaults: dict[str, Any] = {
            "threshold": 1.0,
            "slack_days": 3,
            "within": 5,
            "field_weights": {"title": 1.0, "summary": 0.8, "text": 0.5},
        }

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

    def _pattern_list(self, entry: str, key: str, raw: Any) -> list[int]:
        """A list of patterns or @concepts (the `[model]` section's `context`, ...): their ids."""
        ids: list[int] = []
        for index, pattern in enumerate(self._strings(entry, key, raw) or ()):
            ids.extend(self._pattern_or_ref(entry, f"{key}[{index}]", pattern, []))
        return ids

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
