"""The tagging model: a second opinion for items no rule tags. Pure: bytes in, scores out.

A logistic regression per initiative over the words of the headline and lead (whole words,
their first six letters, pairs of those, and the headline's words apart), trained on labelled
pages by `training.py` and stored as JSON (gzip). The rules stay the first word: the classifier
asks the model only about items that name Russia or Ukraine and that no rule tagged, and keeps
its answer only above the `[model]` threshold and not before the initiative began (see
docs/tagging.md, "The model"). Every model tag carries its probability and the words that
weighed most, so an analyst sees why it fired.

The features and their weighting (sublinear tf x smoothed idf, L2-normalised) repeat
scikit-learn's TfidfVectorizer exactly, so a model scores here as it did when it was trained;
tests/test_tagging_model.py checks it against scikit-learn.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peacewatch.errors import ConfigError

FORMAT = 1
PREFIX = 6  # letters kept of a word: one key for most inflected forms (переговори/переговорів)
_WORD_RE = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Word:
    """A feature's first occurrence: where it was seen, so evidence can point at it."""

    field: str  # title | summary
    start: int
    end: int


def features(title: str, summary: str | None) -> dict[str, tuple[int, Word]]:
    """The features of a headline and lead: feature -> (count, first occurrence).

    'w:' whole words, 'p:' their first six letters (four letters or more), 'b:' adjacent pairs
    of those prefixes, 't:' the headline's prefixes again (a headline says what the page is
    about)."""
    found: dict[str, tuple[int, Word]] = {}

    def add(key: str, where: Word) -> None:
        seen = found.get(key)
        found[key] = (seen[0] + 1, seen[1]) if seen else (1, where)

    # The training text is "title \n lead": pairs run across the two fields, as they did there
    words: list[tuple[str, Word]] = []
    for name, text in (("title", title), ("summary", summary or "")):
        for match in _WORD_RE.finditer(text):
            words.append((match.group().lower(), Word(name, match.start(), match.end())))
    # A word lowercases to one or more \w+ runs (rarely: 'İ' -> 'i̇'); training split the
    # lowercased text, so split the same way
    tokens: list[tuple[str, Word]] = []
    for word, where in words:
        if _WORD_RE.fullmatch(word):
            tokens.append((word, where))
        else:
            tokens.extend((part, where) for part in _WORD_RE.findall(word))
    prefixes = [word[:PREFIX] for word, _ in tokens]
    for word, where in tokens:
        add("w:" + word, where)
    for (_, where), prefix in zip(tokens, prefixes, strict=True):
        if len(prefix) >= 4:
            add("p:" + prefix, where)
    for index in range(len(tokens) - 1):
        add(f"b:{prefixes[index]}_{prefixes[index + 1]}", tokens[index][1])
    for (_, where), prefix in zip(tokens, prefixes, strict=True):
        if where.field == "title":
            add("t:" + prefix, where)
    return found


def training_features(title: str, lead: str | None) -> list[str]:
    """The features of one labelled page as a list with repeats (the trainer's analyzer)."""
    return [key for key, (count, _) in features(title, lead).items() for _ in range(count)]


@dataclass(frozen=True, slots=True)
class Guess:
    """The model's best initiative for an item, and the words that weighed most for it."""

    initiative: str
    probability: float
    words: tuple[tuple[str, Word, float], ...]  # (feature, first occurrence, contribution)


@dataclass(frozen=True)
class Model:
    """A trained model: per feature its idf and per-initiative weights, per initiative a bias."""

    classes: tuple[str, ...]
    bias: tuple[float, ...]
    idf: Mapping[str, float] = field(repr=False)
    weights: Mapping[str, tuple[tuple[int, float], ...]] = field(repr=False)
    version: str = ""  # a hash of the file: part of the rules version
    trained: Mapping[str, Any] = field(default_factory=dict)  # what it was trained on

    def guess(self, title: str, summary: str | None, allowed: frozenset[str]) -> Guess | None:
        """The most probable initiative among `allowed`, or None without any known word."""
        found = features(title, summary)
        known = [(key, count, where) for key, (count, where) in found.items() if key in self.idf]
        if not known:
            return None
        values = [
            (key, (1.0 + math.log(count)) * self.idf[key], where) for key, count, where in known
        ]
        norm = math.sqrt(sum(value * value for _, value, _ in values))
        scores = list(self.bias)
        for key, value, _ in values:
            for index, weight in self.weights.get(key, ()):
                scores[index] += weight * value / norm
        best = max(
            (i for i, name in enumerate(self.classes) if name in allowed),
            key=scores.__getitem__,
            default=None,
        )
        if best is None:
            return None
        contributions = []
        for key, value, where in values:
            for index, weight in self.weights.get(key, ()):
                if index == best and weight > 0:
                    contributions.append((key, where, weight * value / norm))
        contributions.sort(key=lambda entry: -entry[2])
        return Guess(self.classes[best], _sigmoid(scores[best]), tuple(contributions[:3]))

    def probabilities(self, title: str, summary: str | None) -> dict[str, float]:
        """Every initiative's probability (for tests and tuning)."""
        found = features(title, summary)
        values = [
            (key, (1.0 + math.log(count)) * self.idf[key])
            for key, (count, _) in found.items()
            if key in self.idf
        ]
        norm = math.sqrt(sum(value * value for _, value in values)) or 1.0
        scores = list(self.bias)
        for key, value in values:
            for index, weight in self.weights.get(key, ()):
                scores[index] += weight * value / norm
        return {name: _sigmoid(score) for name, score in zip(self.classes, scores, strict=True)}


def _sigmoid(score: float) -> float:
    if score >= 0:
        return 1.0 / (1.0 + math.exp(-score))
    exp = math.exp(score)
    return exp / (1.0 + exp)


def dump_model(data: Mapping[str, Any], path: Path) -> None:
    """Write a model (the trainer's dict) as gzip JSON; mtime 0, so equal models are equal bytes."""
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    tmp = path.with_name(path.name + ".tmp")
    with (
        tmp.open("wb") as handle,
        gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0) as stream,
    ):
        stream.write(raw.encode("utf-8"))
    tmp.replace(path)


def load_model(path: Path, *, display: str | None = None) -> Model:
    """Read a model file; a missing, unreadable or malformed file is a ConfigError naming it."""
    shown = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{shown}: cannot read: {error.strerror or error}") from error
    try:
        data = json.loads(gzip.decompress(raw))
    except (OSError, EOFError, ValueError) as error:
        raise ConfigError(f"{shown}: not a gzip JSON model file: {error}") from error
    return model_from_data(data, display=shown, version=hashlib.sha256(raw).hexdigest()[:16])


def model_from_data(data: Any, *, display: str = "model", version: str = "") -> Model:
    """Build a Model from the trainer's dict, checking its shape."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{display}: not a peacewatch tagging model (format {FORMAT})")
    try:
        classes = tuple(str(name) for name in data["classes"])
        bias = tuple(float(value) for value in data["bias"])
        idf: dict[str, float] = {}
        weights: dict[str, tuple[tuple[int, float], ...]] = {}
        for key, (value, entries) in data["features"].items():
            idf[key] = float(value)
            if entries:
                weights[key] = tuple((int(index), float(weight)) for index, weight in entries)
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"{display}: malformed model: {error!r}") from error
    if len(bias) != len(classes) or any(
        not 0 <= index < len(classes) for entries in weights.values() for index, _ in entries
    ):
        raise ConfigError(f"{display}: malformed model: classes, bias and weights disagree")
    return Model(
        classes=classes,
        bias=bias,
        idf=idf,
        weights=weights,
        version=version,
        trained=dict(data.get("trained") or {}),
    )
