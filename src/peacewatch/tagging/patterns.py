"""Patterns (words and phrases, never regular expressions) compiled into atoms.

A pattern becomes a tuple of atom ids: one per exact word (by its inflection-folded key), one per
prefix (`negotiat*`), and GAP for a standalone `*`. Equal patterns share one id, and the finished
table indexes every pattern by its first atom so that matching is one pass over an item's words.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from peacewatch.tagging.normalize import TOKEN_RE, normalize_text, token_key, without_elision
from peacewatch.tagging.ruleset import GAP, MIN_PREFIX, PatternTable

# the words of TOKEN_RE (as the matcher splits text), each with an optional prefix star, or a
# lone star
_PATTERN_PART_RE = re.compile(f"({TOKEN_RE.pattern})(\\*?)|(\\*)")
_REGEX_CHARS = set("()|[]{}\\^$+?")


class PatternCompiler:
    """Assigns pattern and atom ids while the rule file is compiled."""

    def __init__(self) -> None:
        self.pattern_ids: dict[tuple[int, ...], int] = {}
        self.pattern_sources: list[str] = []
        self.exact_atoms: dict[str, int] = {}
        self.prefix_atoms: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.pattern_sources)

    def add(self, pattern: str) -> int | str:
        """The id of `pattern` (equal patterns share one), or what is wrong with it."""
        bad = sorted(set(pattern) & _REGEX_CHARS)
        if bad:
            return (
                f"pattern {pattern!r} contains {''.join(bad)!r}: patterns are words and phrases, "
                "not regular expressions (use a list for alternatives, 'word*' for a prefix)"
            )
        text = normalize_text(pattern).text
        atoms: list[int] = []
        for match in _PATTERN_PART_RE.finditer(text):
            word, star, gap = match.groups()
            if gap:
                atoms.append(GAP)
            elif star:
                word = without_elision(word)  # (matched against words without them too)
                if len(word) < MIN_PREFIX:
                    return (
                        f"prefix {word + '*'!r} in {pattern!r} is shorter than {MIN_PREFIX} letters"
                    )
                atoms.append(self.prefix_atoms.setdefault(word, self._next_atom()))
            else:
                atoms.append(self.exact_atoms.setdefault(token_key(word), self._next_atom()))
        if not atoms or all(a == GAP for a in atoms):
            return f"pattern {pattern!r} has no words"
        if atoms[0] == GAP or atoms[-1] == GAP:
            return f"pattern {pattern!r} cannot start or end with a '*' gap"
        signature = tuple(atoms)
        if signature not in self.pattern_ids:
            self.pattern_ids[signature] = len(self.pattern_sources)
            self.pattern_sources.append(pattern)
        return self.pattern_ids[signature]

    def table(self) -> PatternTable:
        """The finished table: every pattern's atoms and the patterns each atom starts."""
        atoms_by_pid = [atoms for atoms, _ in sorted(self.pattern_ids.items(), key=lambda x: x[1])]
        first: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
        for pid, atoms in enumerate(atoms_by_pid):
            first.setdefault(atoms[0], []).append((pid, atoms[1:]))
        return PatternTable(
            sources=tuple(self.pattern_sources),
            atoms=tuple(atoms_by_pid),
            exact_atoms=MappingProxyType(dict(self.exact_atoms)),
            prefix_atoms=MappingProxyType(self._prefix_index()),
            starts=tuple(tuple(first.get(atom, ())) for atom in range(self._next_atom())),
        )

    def _prefix_index(self) -> dict[str, tuple[tuple[str, int], ...]]:
        index: dict[str, list[tuple[str, int]]] = {}
        for prefix, atom in sorted(self.prefix_atoms.items()):
            index.setdefault(prefix[:MIN_PREFIX], []).append((prefix, atom))
        return {key: tuple(entries) for key, entries in index.items()}

    def _next_atom(self) -> int:
        return len(self.exact_atoms) + len(self.prefix_atoms)
