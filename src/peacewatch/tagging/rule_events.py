"""Compiling `[[initiative.events]]`: dated events named by their venues, places, actors,
leaders and sides, with the actions (talks, a summit...) that make a headline about them.

Separate from `rule_compiler` because an event is its own small language (a window around
its dates, the parts that name it, its actions); its patterns and @concepts resolve through
`rule_terms` as a term's do.
"""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType
from typing import Any

from peacewatch.tagging.rule_terms import TermCompiler
from peacewatch.tagging.ruleset import Event, Rule


class EventCompiler(TermCompiler):
    """Adds the initiatives' dated events to the terms and groups of `TermCompiler`."""

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
