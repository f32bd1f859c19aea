"""The compiled rules: an immutable RuleSet of initiatives, themes and the relevance rule,
with the pattern table the classifier walks (atoms, the patterns each word starts, prefixes).

Built only by `rules.compile_rules` from a fully valid file; read by `classifier`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import cast

from peacewatch.tagging.model import Model
from peacewatch.tagging.normalize import is_pure, token_key, without_elision

FIELDS = ("title", "summary", "text")
GAP = -1  # atom id of a standalone "*" inside a phrase: any one token
# The patterns that start with a word: (pattern id, the pattern's remaining atoms), ...
Starts = tuple[tuple[int, tuple[int, ...]], ...]
# What the matcher keeps per word (see WordMemo): its one-word patterns, and its phrases by
# their second atom, each with its place k in the word's Starts (hits keep that order):
# ((k, pattern id), ...), {second atom: ((k, pattern id, the atoms after the second), ...)}
WordStarts = tuple[
    tuple[tuple[int, int], ...], dict[int, tuple[tuple[int, int, tuple[int, ...]], ...]]
]
STARTS_NOTHING = cast(WordStarts, ())  # a word that starts no pattern: falsy, for compress()
# The rules an item may match: initiatives, themes, and whether the relevance rule
Candidates = tuple[tuple["Initiative", ...], tuple["Theme", ...], bool]
# Part of the rules version: bump when a change to normalization or matching alters results,
# so stored tags are recomputed even if the rule file did not change.
# 9: Arabic letters folded and the Arabic article set apart; 8: Thai, Lao, Khmer and Burmese
# letters are tokens, as Chinese ones
MATCHER_VERSION = "9"

MIN_PREFIX = 3  # letters before the '*' of a prefix pattern


@dataclass(frozen=True, slots=True)
class Term:
    """A weighted pattern list; `near` (if any) must occur within `within` tokens in a field."""

    label: str  # e.g. 'terms[2]'
    patterns: frozenset[int]
    weight: float
    near: frozenset[int] = frozenset()
    within: int = 5
    fields: frozenset[str] = frozenset(FIELDS)
    valid_from: date | None = None
    valid_until: date | None = None
    unless: frozenset[int] = frozenset()  # the term does not count in a field with one of these
    # Evidence labels by pattern id, written once here rather than for every match:
    # 'terms[2]: 28-point plan' for `patterns`, 'terms[2].near: talks' for `near`.
    labels: Mapping[int, str] = field(default_factory=dict, repr=False, compare=False)
    near_labels: Mapping[int, str] = field(default_factory=dict, repr=False, compare=False)
    # A dated term that also counts for an item with no date (its cue is distinctive enough)
    undated: bool = False
    # Counts only to lift the other terms' score over the threshold: it never tags alone, and a
    # tag that fires without it keeps its score and evidence
    lift: bool = False
    # Derived: no near, unless, dates or field limit, so the term counts in the best-weighted
    # field holding any of its patterns. Most terms are plain; the classifier has a fast path.
    plain: bool = field(init=False, repr=False, compare=False)
    dated: bool = field(init=False, repr=False, compare=False)  # has `from` or `until`

    def __post_init__(self) -> None:
        dated = bool(self.valid_from or self.valid_until)
        plain = not (self.near or self.unless or dated or self.lift) and self.fields == frozenset(
            FIELDS
        )
        object.__setattr__(self, "plain", plain)
        object.__setattr__(self, "dated", dated)


@dataclass(frozen=True, slots=True)
class Group:
    """A required or excluding condition: `any` of its slots, or `all` of them.

    Each slot is a set of alternative pattern ids (a concept reference is one slot).
    """

    label: str  # e.g. 'require[0]'
    mode: str  # 'any' | 'all'
    slots: tuple[frozenset[int], ...]
    near: frozenset[int] = frozenset()
    within: int = 5
    fields: frozenset[str] = frozenset(FIELDS)
    # Evidence labels by pattern id, like 'require[0]: talks' (see Term.labels)
    labels: Mapping[int, str] = field(default_factory=dict, repr=False, compare=False)
    # An exclude group does not veto an item that holds one of these anywhere
    unless: frozenset[int] = frozenset()
    # An exclude group that vetoes only an item without a date of its own (see docs/tagging.md)
    undated: bool = False
    # An exclude group that vetoes only an item dated (or first seen) on or after this day
    valid_from: date | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A dated event of an initiative (a round of talks, a visit, a signing), named by the
    press through its places, actors and actions rather than the initiative's name.

    An item dated from `opens` to `closes` counts the event when it names one of its venues,
    places or actors, or two of its leaders, together with one of its actions; an item dated
    outside never does. An undated item counts it only on a strong cue with an action: a venue
    (a place only this event is known by), a place and an actor, or two actors. Either way the
    headline must hold a cue or the action, or be a peace headline (one of the rule's lift
    patterns). A place or an actor alone never counts, nor do, in an undated item, the sides
    named together or two leaders without one of the cities where they met: "Russia-Ukraine
    talks" are every direct round, Witkoff and Kushner met everyone."""

    label: str  # e.g. 'event: Istanbul round 1 (2025-05-16)'
    opens: date
    closes: date
    places: frozenset[int]
    actors: frozenset[int]
    actions: frozenset[int]
    weight: float
    labels: Mapping[int, str] = field(default_factory=dict, repr=False, compare=False)
    # People who meet often (heads of state): they name the event inside its window only
    leaders: frozenset[int] = frozenset()
    venues: frozenset[int] = frozenset()  # places only this event is known by (Bürgenstock)
    # The two sides named together ("Russian-Ukrainian talks", "the Ukrainian delegation"):
    # inside the window they name the event; undated, only in one of `met_at`, the cities
    # where the event's people met, where two of its leaders also name it
    sides: frozenset[int] = frozenset()
    met_at: frozenset[int] = frozenset()
    cues: frozenset[int] = field(init=False, repr=False, compare=False)  # all of the above
    named: frozenset[int] = field(init=False, repr=False, compare=False)  # all but leaders

    def __post_init__(self) -> None:
        named = self.places | self.actors | self.venues
        object.__setattr__(self, "named", named)
        object.__setattr__(self, "cues", named | self.leaders | self.sides | self.met_at)


@dataclass(frozen=True, slots=True)
class Rule:
    threshold: float
    terms: tuple[Term, ...]
    require: tuple[Group, ...] = ()
    exclude: tuple[Group, ...] = ()
    events: tuple[Event, ...] = ()
    # Derived: only plain terms, no groups and no events (most themes), for the classifier's
    # fast path; and the lift terms (see Term.lift).
    plain: bool = field(init=False, repr=False, compare=False)
    lifts: tuple[Term, ...] = field(init=False, repr=False, compare=False)
    # Pattern -> the positions of the (non-lift) terms matching it, so the classifier visits
    # only the few terms an item can satisfy instead of testing every term of the rule
    term_positions: Mapping[int, tuple[int, ...]] = field(init=False, repr=False, compare=False)
    term_patterns: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lifts", tuple(t for t in self.terms if t.lift))
        positions: dict[int, list[int]] = {}
        for index, term in enumerate(self.terms):
            if not term.lift:
                for pid in term.patterns:
                    positions.setdefault(pid, []).append(index)
        object.__setattr__(
            self, "term_positions", MappingProxyType({p: tuple(i) for p, i in positions.items()})
        )
        object.__setattr__(self, "term_patterns", frozenset(positions))
        plain = all(term.plain for term in self.terms) and not (
            self.require or self.exclude or self.events
        )
        object.__setattr__(self, "plain", plain)


@dataclass(frozen=True, slots=True)
class Initiative:
    id: str
    name: str
    description: str
    start_date: date
    end_date: date | None
    parties: tuple[str, ...]
    links: tuple[str, ...]
    slack_days: int
    rule: Rule
    earliest: date  # start_date - slack_days: no tag for items published before
    # what is written long after its end is still about it (the Istanbul communiqué's draft
    # treaty, cited for years): the model may name it then too (referee.AFTER_END)
    retrospective: bool = False


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """The `[model]` section: the trained model and when its guess may tag (docs/tagging.md)."""

    file: str  # as written in the rules file, relative to its folder
    model: Model
    threshold: float  # the least probability that tags
    context: frozenset[int]  # patterns of which the item must name one (Russia or Ukraine)
    # the least probability from the words alone, without the date's part (0: no floor)
    words_threshold: float = 0.0
    # when the rules give several initiatives, one the model finds less likely than this share
    # of the likeliest one's probability is dropped (0: the model never overrules a rule)
    veto_ratio: float = 0.0
    # initiatives an undated item is seldom about together (Istanbul 2022 and 2025): of those
    # the rules give it, only the one the model finds likeliest stays
    undated_exclusive: tuple[frozenset[str], ...] = ()
    # the least probability that tags an item naming none of `context` (1: never asked), from
    # its words alone; such an item's headline must name a tracked event's place, actor or
    # venue and one of `headline_cues`
    threshold_without_context: float = 1.0
    headline_cues: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Theme:
    id: str
    name: str
    description: str
    rule: Rule
    earliest: date = date.min  # themes have no start: like Initiative.earliest, never binding


@dataclass(frozen=True, slots=True)
class PatternTable:
    """Every distinct compiled pattern and the token index over them."""

    sources: tuple[str, ...]  # pattern id -> the pattern as first written
    atoms: tuple[tuple[int, ...], ...]  # pattern id -> atom ids
    exact_atoms: Mapping[str, int]  # token key -> atom id
    # first three letters -> ((normalized prefix, atom id), ...): prefixes are at least 3 long
    prefix_atoms: Mapping[str, tuple[tuple[str, int], ...]]
    # atom id -> ((pattern id, the pattern's remaining atoms), ...) for patterns starting with it
    starts: tuple[Starts, ...]


class WordMemo(dict[str, WordStarts]):
    """What a rule set knows about each normalized word, worked out on first sight
    (__missing__) because news vocabulary repeats: word -> the patterns starting with it
    (WordStarts; STARTS_NOTHING when none does). A word such as "ukraine" starts dozens of
    phrases; filed by their second atom, only those the next word can continue are walked.

    `atoms` maps each seen word to the atom ids it satisfies; `mixed` holds the seen words that
    mix digits and letters ("28pt"), which the matcher re-tokenizes with the exact tokenizer.
    Only saves work, never changes a result. A dict subclass so that a text's words are looked
    up in one C-level pass: `map(memo.__getitem__, words)`. Threads may share one (the daemon
    tags new items while a background thread retags): entries are only ever added, and a memo
    grown past LIMIT is replaced (RuleSet.fresh_memo), never emptied under a reader.
    """

    __slots__ = ("atoms", "mixed", "table")
    LIMIT = 500_000  # words: beyond this the rule set starts a fresh memo, bounding memory

    def __init__(self, table: PatternTable) -> None:
        super().__init__()
        self.table = table
        self.atoms: dict[str, tuple[int, ...]] = {}
        self.mixed: set[str] = set()

    def __missing__(self, word: str) -> WordStarts:
        atoms: list[int] = []
        if not is_pure(word):
            self.mixed.add(word)
        else:
            exact = self.table.exact_atoms.get(token_key(word))
            if exact is not None:
                atoms.append(exact)
            bare = without_elision(word)  # (the exact key above drops the elision too)
            for prefix, atom in self.table.prefix_atoms.get(bare[:MIN_PREFIX], ()):
                if bare.startswith(prefix):
                    atoms.append(atom)
        starts = [start for atom in atoms for start in self.table.starts[atom]]
        self.atoms[word] = tuple(atoms)
        found = STARTS_NOTHING
        if starts:
            phrases: dict[int, list[tuple[int, int, tuple[int, ...]]]] = {}
            for k, (pid, rest) in enumerate(starts):
                if rest:
                    phrases.setdefault(rest[0], []).append((k, pid, rest[1:]))
            singles = tuple((k, pid) for k, (pid, rest) in enumerate(starts) if not rest)
            found = (singles, {atom: tuple(group) for atom, group in phrases.items()})
        self[word] = found
        return found


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The validated, compiled contents of initiatives.toml.

    Immutable apart from `memo`, which only saves work and never changes a result.
    """

    path: str
    version: str
    field_weights: Mapping[str, float]
    initiatives: tuple[Initiative, ...]
    themes: tuple[Theme, ...]
    relevance: Rule
    # initiatives' rules, then themes', then relevance: the order `rules_by_pattern` indexes
    rules: tuple[Rule, ...]
    table: PatternTable
    # pattern id -> indexes into `rules` of the rules whose terms use it
    rules_by_pattern: tuple[tuple[int, ...], ...]  # indexed by pattern id
    # The statistical second opinion for items no rule tags (None: rules only)
    model: ModelSettings | None = None
    # Derived: field_weights in FIELDS order, and the word memo (see WordMemo).
    weights: tuple[float, ...] = field(init=False, repr=False, compare=False)
    memo: WordMemo = field(init=False, repr=False, compare=False)
    # Derived: pattern id -> the rules whose terms use it, as a bit mask (bit i: rules[i]), so
    # an item's candidate rules are one OR over its patterns; and the candidates of each mask
    # seen so far (items about one story share them).
    rule_masks: dict[int, int] = field(init=False, repr=False, compare=False)
    initiative_index: Mapping[str, Initiative] = field(init=False, repr=False, compare=False)
    # Derived: the places, actors and venues of every initiative's events (what may bring an
    # item that names neither side of the war to the model)
    event_names: frozenset[int] = field(init=False, repr=False, compare=False)
    _candidates: dict[int, Candidates] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", tuple(self.field_weights[name] for name in FIELDS))
        object.__setattr__(self, "memo", WordMemo(self.table))
        masks = {pid: sum(1 << i for i in rules) for pid, rules in enumerate(self.rules_by_pattern)}
        object.__setattr__(self, "rule_masks", masks)
        object.__setattr__(self, "initiative_index", {i.id: i for i in self.initiatives})
        names = frozenset().union(*(e.named for i in self.initiatives for e in i.rule.events))
        object.__setattr__(self, "event_names", names)
        object.__setattr__(self, "_candidates", {})

    def fresh_memo(self) -> WordMemo:
        """Start an empty word memo (for bounded memory, or a cold benchmark); a scan running in
        another thread keeps the one it holds."""
        memo = WordMemo(self.table)
        object.__setattr__(self, "memo", memo)
        return memo

    def candidates(self, mask: int) -> Candidates:
        """The rules a mask of rule bits selects: its initiatives and themes (in file order)
        and whether it holds the relevance rule."""
        found = self._candidates.get(mask)
        if found is None:
            if len(self._candidates) > 100_000:
                self._candidates.clear()
            count = len(self.initiatives)
            chosen = [i for i in range(len(self.rules)) if mask >> i & 1]
            found = (
                tuple(self.initiatives[i] for i in chosen if i < count),
                tuple(self.themes[i - count] for i in chosen if count <= i < len(self.rules) - 1),
                len(self.rules) - 1 in chosen,
            )
            self._candidates[mask] = found
        return found

    def initiative(self, initiative_id: str) -> Initiative:
        for initiative in self.initiatives:
            if initiative.id == initiative_id:
                return initiative
        raise KeyError(initiative_id)


# ---------------------------------------------------------------- loading
