"""Scanning one field of an item: its normalized text split into tokens, and every pattern
occurrence among them found in one pass over the rule set's token index (the field's hits).

Separate from the classifier because it is the matcher's own work, the same for every rule:
the tokenizers, the walk over the index and where a quoted token starts. Scoring
(`scoring`, `event_cues`) only reads the `_Field`s it gives.
"""

from __future__ import annotations

import re
from itertools import compress

from peacewatch.tagging.normalize import (
    CJK_RE,
    FAST_TOKEN_RE,
    TOKEN_RE,
    Normalized,
    normalize_text,
)
from peacewatch.tagging.results import Evidence, new_tuple
from peacewatch.tagging.ruleset import GAP, RuleSet

# A pattern occurrence: first token index, token index after the last one.
_Span = tuple[int, int]
# A field's occurrences: pattern id -> its spans, patterns in order of first occurrence.
_Hits = dict[int, list[_Span]]


# The tokenizers with their match captured: split() returns [separator, token, separator, ...,
# separator], so token i is piece 2i+1 and starts where piece 2i ends.
_FAST_PIECES_RE = re.compile(f"({FAST_TOKEN_RE.pattern})")
_EXACT_PIECES_RE = re.compile(f"({TOKEN_RE.pattern})")
# FAST_TOKEN_RE's tokens are the runs of word characters, joined across single apostrophes.
# Turning every other ASCII character into a space (bytes.translate on the UTF-8 text: a plain
# table, far faster than str.translate's dict) and splitting on spaces finds them two to three
# times faster than the regex engine, whenever the pieces turn out to be words (see _tokens).
# The spaced copy keeps every character's offset (see _Field.locate).
_SPACE_OUT = bytes(c if chr(c).isalnum() or chr(c) in "_'" else ord(" ") for c in range(128))
_SPACE_OUT += bytes(range(128, 256))  # the bytes of other characters stay as they are


class _Field:
    """One field's normalized text, tokens and pattern hits. `layout` is what token offsets
    derive from: the spaced copy of the text, or the regex engine's pieces (see _tokens)."""

    __slots__ = ("hits", "layout", "name", "norm", "offsets", "weight", "words")

    def __init__(
        self,
        name: str,
        norm: Normalized,
        weight: float,
        tokens: tuple[list[str], str | list[str]],
        hits: _Hits,
    ) -> None:
        self.name = name
        self.norm = norm
        self.weight = weight
        self.words, self.layout = tokens
        self.hits = hits
        self.offsets: dict[int, int] = {}  # token index -> offset, for evidence (see locate)

    def locate(self, index: int) -> int:
        """Where token `index` starts in the normalized text (remembered in `offsets`).

        Only the few tokens that evidence quotes are located, each by C-level string work:
        summing offsets for every token of every field that fires cost more than all the rest
        of building evidence."""
        layout = self.layout
        if isinstance(layout, str):  # the spaced copy
            word = self.words[index]
            if layout.count(word) == 1:  # usually: then it is where the token is
                found = layout.find(word)
            else:  # the rest after `index` tokens
                found = len(layout) - len(layout.split(None, index)[-1])
        else:  # separator, token, ...: token i starts where piece 2i ends
            found = sum(map(len, layout[: 2 * index + 1]))
        self.offsets[index] = found
        return found

    def evidence(self, rule: str, span: _Span, weight: float) -> Evidence:
        first, last = span[0], span[1] - 1
        offsets = self.offsets
        start = offsets.get(first)
        if start is None:
            start = self.locate(first)
        if last == first:
            end = start + len(self.words[first])
        else:
            found = offsets.get(last)
            end = (self.locate(last) if found is None else found) + len(self.words[last])
        norm = self.norm
        if norm.starts is not None:
            start, end = norm.span(start, end)
        return new_tuple(Evidence, (rule, self.name, norm.original[start:end], start, end, weight))


def _tokens(text: str, exact: bool = False) -> tuple[list[str], str | list[str]]:
    """A normalized text's tokens, and what their offsets derive from (see _Field.locate)."""
    if exact:  # "28pt", "G8": the exact tokenizer splits digits from letters
        pieces = _EXACT_PIECES_RE.split(text)
        return pieces[1::2], pieces
    spaced = text.encode(_UTF8, _RAW).translate(_SPACE_OUT).decode(_UTF8, _RAW)
    words = spaced.split()  # on any whitespace: no whitespace is part of a word
    # Characters beyond ASCII were left alone: the split holds if the pieces are words, with
    # apostrophes only between two word characters, and no Chinese, Japanese or Korean character
    # (each a token of its own) stands among them.
    if spaced.isascii() or CJK_RE.search(spaced) is None:
        if "'" not in spaced:
            if spaced.isascii() or "".join(words).isalnum():  # ASCII: only [A-Za-z0-9_ ] left
                return words, spaced
        else:
            joined = " ".join(words)
            edge = "''" in joined or " '" in joined or "' " in joined
            edge = edge or joined[0] == "'" or joined[-1] == "'"
            if not edge and joined.replace("'", "").replace(" ", "").isalnum():
                return words, spaced
    pieces = _FAST_PIECES_RE.split(text)
    return pieces[1::2], pieces


_UTF8, _RAW = "utf-8", "surrogatepass"  # lone surrogates in bad input survive the round trip


def _scan(name: str, text: str, weight: float, ruleset: RuleSet) -> _Field | None:
    """Normalize and find every pattern occurrence, or None when nothing can match.

    Each word is looked up once in the rule set's memo (see ruleset.WordMemo): the patterns that
    start with it. Only words that start patterns are visited, and only multi-word patterns
    look at the atoms of the following words.
    """
    norm = normalize_text(text)
    tokens = _tokens(norm.text)
    words = tokens[0]
    memo = ruleset.memo  # held for the whole text, even if another thread renews it
    if len(memo) > memo.LIMIT:
        memo = ruleset.fresh_memo()
    starts = list(map(memo.__getitem__, words))  # C speed; new words are worked out on the way
    if not memo.mixed.isdisjoint(words):  # "28pt", "G8": the exact tokenizer splits them
        tokens = _tokens(norm.text, exact=True)
        words = tokens[0]
        starts = list(map(memo.__getitem__, words))
    atoms = memo.atoms
    count = len(words)
    hits: _Hits = {}
    for i, (singles, phrases) in compress(enumerate(starts), starts):  # words that start some
        found: list[tuple[int, int, _Span]] | None = None
        if phrases and i + 1 < count:  # only the phrases whose second atom the next word has
            for second in (*atoms[words[i + 1]], GAP):
                for k, pid, rest in phrases.get(second, ()):
                    j = i + 2  # the words after it must satisfy the rest of the atoms
                    for needed in rest:
                        if j >= count or (needed != GAP and needed not in atoms[words[j]]):
                            break
                        j += 1
                    else:
                        if found is None:
                            found = []
                        found.append((k, pid, (i, j)))
        if found is None:
            for _, pid in singles:
                hits.setdefault(pid, []).append((i, i + 1))
        else:  # in the word's own order of patterns, as hits were always filed
            found.extend((k, pid, (i, i + 1)) for k, pid in singles)
            for _, pid, span in sorted(found):
                hits.setdefault(pid, []).append(span)
    return _Field(name, norm, weight, tokens, hits) if hits else None
