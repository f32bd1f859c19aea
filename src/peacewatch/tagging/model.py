"""The tagging model: a second opinion for items no rule tags. Pure: bytes in, scores out.

A logistic regression per initiative over the words of the headline and lead (whole words,
their first six letters, pairs of those, the headline's words apart, and each word's runs of
four letters, in its own letters and in plain Latin ones) and the quarter of its date
(coverage of one event gathers in a few weeks), trained on labelled pages by `training.py`
and stored as compressed numpy arrays (.npz). The rules stay the first word: the classifier
asks the model only about items that name Russia or Ukraine and that no rule tagged, and keeps
its answer only above the `[model]` threshold (see docs/tagging.md, "The model"). Every model
tag carries its probability and the words that weighed most, so an analyst sees why it fired.

The features and their weighting (sublinear tf x smoothed idf, L2-normalised) repeat
scikit-learn's TfidfVectorizer exactly, so a model scores here as it did when it was trained;
tests/test_tagging_model.py checks it against scikit-learn.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise, repeat
from pathlib import Path
from typing import Any

from peacewatch.errors import ConfigError
from peacewatch.tagging.normalize import CHARACTER, WORD, romanized, undotted_i

FORMAT = 2  # 2: the runs of letters of a word's plain Latin spelling too (`_word_keys`)
PREFIX = 6  # letters kept of a word: one key for most inflected forms (переговори/переговорів)
# letters in a 'c:' feature (words of GRAM letters or more). 5-fold on the 3,271 dev pages,
# rules + model: title + lead F1 0.912 -> 0.916 (recall 0.876 -> 0.883), headline alone 0.818
# -> 0.820; runs of 5 letters, or 4 without the edges marked, gained less
GRAM = 4
# words whose feature rows a model keeps: about 250 bytes a word, some 12 MB when full (a
# daemon's word stream never ends, and its memory must not grow with it)
WORD_CACHE = 50_000
# a Chinese, Japanese or Korean character is a word of its own (see normalize.CJK): pairs of them
# ('b:') then stand for the words these languages write without spaces or join to particles;
# a word's combining marks stay in it, as in the rules' tokens (normalize.CHARACTER and WORD)
_WORD_RE = re.compile(f"{CHARACTER}|{WORD}")


@dataclass(frozen=True, slots=True)
class Word:
    """A feature's first occurrence: where it was seen, so evidence can point at it."""

    field: str  # title | summary
    start: int
    end: int


def _grams(word: str) -> list[str]:
    """A word's runs of GRAM letters, its edges marked by spaces: what two spellings of one
    name or two inflections share beyond the first six letters ("Стамбулі" and "Стамбула",
    "Witkoff" and "Witkoffs", an address's "negociacoes" and "negociações" less its accents)."""
    padded = f" {word} "
    return [padded[i : i + GRAM] for i in range(len(padded) - GRAM + 1)]


def _lower(text: str) -> str:
    """`text` lowercased as the rules fold it: Turkish "İ" as a plain "i"."""
    return undotted_i(text.lower())


def _tokens(title: str, lead: str | None) -> tuple[list[str], int]:
    """The lowercased words of a headline and lead, and how many are the headline's."""
    title_tokens = _WORD_RE.findall(_lower(title))
    return (title_tokens + _WORD_RE.findall(_lower(lead)) if lead else title_tokens), len(
        title_tokens
    )


def _word_keys(word: str) -> list[str]:
    """The features one word makes whatever its neighbours: 'w:', 'p:' and 'c:'."""
    keys = ["w:" + word]
    if len(word[:PREFIX]) >= 4:
        keys.append("p:" + word[:PREFIX])
    if len(word) >= GRAM:
        keys.extend("c:" + gram for gram in _grams(word))
    # and the runs of its plain Latin spelling: a name or word the dev pages teach in one
    # script or accent counts in the other ("Мединский" and "Medinsky", Serbian "преговори" and
    # "pregovori", "negociações" and an address's "negociacoes"). 5-fold on the 8,711 dev
    # pages: F1 0.861 -> 0.864 with the lead, 0.766 -> 0.769 headline alone, 189 -> 190
    # negatives tagged; also the Latin word's first six letters: 201 negatives, no better F1
    latin = romanized(word)
    if latin != word and len(latin) >= GRAM and latin.isascii():
        keys.extend("c:" + gram for gram in _grams(latin))
    return keys


def _neighbour_keys(tokens: list[str], title_tokens: int) -> list[str]:
    """The features a word makes with its place: 'b:' its prefix paired with the next one's,
    't:' its prefix again when it is one of the first `title_tokens` (the headline's)."""
    prefixes = [word[:PREFIX] for word in tokens]
    return [
        *[f"b:{a}_{b}" for a, b in pairwise(prefixes)],
        *["t:" + prefix for prefix in prefixes[:title_tokens]],
    ]


def _keys(tokens: list[str], title_tokens: int) -> list[str]:
    """The features of lowercased tokens, with repeats: each word's own, in token order, then
    the pairs and the headline's (`_neighbour_keys`)."""
    return [
        *(key for word in tokens for key in _word_keys(word)),
        *_neighbour_keys(tokens, title_tokens),
    ]


_DATE_KINDS = ("q:",)


def date_keys(published: str | None) -> list[str]:
    """The feature of a date ('YYYY-MM...'): its quarter, 'q:2025q1'; none when unknown.

    It tells apart neighbours in time that share their words (Istanbul 2022 and 2025, the US
    plan and its revision, Jeddah 2023 and the Saudi talks of 2025). Not the year: a quarter
    after the newest training page has no weight, so today's items are judged by their words,
    while the year of the newest pages would lean every item of the current year towards that
    year's initiatives."""
    if not published or len(published) < 7 or not published[:4].isdigit():
        return []
    month = published[5:7]
    if not month.isdigit() or not 1 <= int(month) <= 12:
        return []
    return [f"q:{published[:4]}q{(int(month) - 1) // 3 + 1}"]


def feature_counts(title: str, summary: str | None, published: str | None = None) -> Counter[str]:
    """The features of a headline, lead and date with their counts: the fast path (no places).

    'w:' whole words, 'p:' their first six letters (four letters or more), 'b:' adjacent pairs
    of those prefixes (they run from the headline into the lead, as in the training text
    "title \\n lead"), 't:' the headline's prefixes again (a headline says what the page is
    about), 'c:' each word's runs of four letters (`_grams`), 'q:' the date's quarter
    (`date_keys`)."""
    return Counter(training_features(title, summary, published))


def training_features(title: str, lead: str | None, published: str | None = None) -> list[str]:
    """The features of one labelled page as a list with repeats (the trainer's analyzer)."""
    tokens, title_tokens = _tokens(title, lead)
    return [*_keys(tokens, title_tokens), *date_keys(published)]


def first_places(title: str, summary: str | None, published: str | None = None) -> dict[str, Word]:
    """Where each feature first occurs (the slow path: only for the evidence of a tag); the
    date's features point at the date ('published')."""
    words: list[tuple[str, Word]] = []
    for name, text in (("title", title), ("summary", summary or "")):
        for match in _WORD_RE.finditer(text):
            where = Word(name, match.start(), match.end())
            # a word may lowercase to several runs: split as the fast path does
            words.extend((part, where) for part in _WORD_RE.findall(_lower(match.group())))
    title_tokens = sum(1 for _, where in words if where.field == "title")
    places: dict[str, Word] = {}
    tokens = [word for word, _ in words]
    for word, where in words:
        for key in _word_keys(word):
            places.setdefault(key, where)
    # _neighbour_keys lists the pairs (each owned by its first word), then the headline's
    owners = [*range(max(len(words) - 1, 0)), *range(title_tokens)]
    for key, owner in zip(_neighbour_keys(tokens, title_tokens), owners, strict=True):
        places.setdefault(key, words[owner][1])
    for key in date_keys(published):
        places[key] = Word("published", 0, 10 if len(published or "") >= 10 else 7)
    return places


@dataclass(frozen=True, slots=True)
class Guess:
    """The model's best initiative for an item, and the words that weighed most for it."""

    initiative: str
    probability: float
    words: tuple[tuple[str, Word, float], ...]  # (feature, first occurrence, contribution)


@dataclass(frozen=True, eq=False)  # (numpy arrays have no single truth value to compare by)
class Model:
    """A trained model: per feature (a row) its idf and per-initiative weights (a column each),
    per initiative a bias. Scored with numpy: an item's hundred-odd features are one gather and
    one small matrix product, not a Python loop per weight."""

    classes: tuple[str, ...]
    bias: Any = field(repr=False)  # numpy array (classes,)
    index: Mapping[str, int] = field(repr=False)  # feature -> row
    names: tuple[str, ...] = field(repr=False)  # row -> feature
    idf: Any = field(repr=False)  # numpy array (features,)
    weights: Any = field(repr=False)  # numpy array (features, classes)
    dated: Any = field(repr=False)  # numpy bool array (features,): the date's features
    version: str = ""  # a hash of the file: part of the rules version
    trained: Mapping[str, Any] = field(default_factory=dict)  # what it was trained on
    # word -> the rows of its own features ('w:', 'p:', 'c:'): a word's dozen letter runs are
    # cut and looked up once, not on every item (emptied when it reaches WORD_CACHE words)
    _word_rows: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def _rows_of(self, word: str) -> Any:
        import numpy as np

        rows = self._word_rows.get(word)
        if rows is None:
            if len(self._word_rows) >= WORD_CACHE:
                self._word_rows.clear()
            keys = _word_keys(word)
            rows = np.fromiter(map(self.index.get, keys, repeat(-1)), np.intp, len(keys))
            rows = self._word_rows[word] = rows[rows >= 0]
        return rows

    def _scores(
        self, title: str, summary: str | None, published: str | None
    ) -> tuple[Any, Any, Any] | None:
        """(rows, normalised values, class scores) of an item, None without a known feature.

        The features are `feature_counts`'s: each word's own (`_word_keys`) from the cache,
        the pairs, headline words and date looked up here; a feature's count is how often its row
        comes up (one row per feature)."""
        import numpy as np

        tokens, title_tokens = _tokens(title, summary)
        others = [*_neighbour_keys(tokens, title_tokens), *date_keys(published)]
        # (C-level passes: a Python loop over an item's hundreds of features cost more than
        # the arithmetic)
        looked_up = np.fromiter(map(self.index.get, others, repeat(-1)), np.intp, len(others))
        found = np.concatenate([*map(self._rows_of, tokens), looked_up[looked_up >= 0]])
        if not found.size:
            return None
        rows, counts = np.unique(found, return_counts=True)
        values = (1.0 + np.log(counts)) * self.idf[rows]
        values /= np.sqrt(values @ values)
        return rows, values, self.bias + values @ self.weights[rows]

    def guess(
        self,
        title: str,
        summary: str | None,
        allowed: Callable[[str], bool],
        threshold: float = 0.0,
        published: str | None = None,
        words_threshold: float = 0.0,
    ) -> Guess | None:
        """The most probable initiative that `allowed` accepts, when its probability reaches
        `threshold`; None otherwise or without any known word. `allowed` is asked only about
        initiatives over the threshold, best first (most items have none). `published` is
        the item's date (or the day it stands in for), None when unknown. The words alone,
        without the date's part, must reach `words_threshold`: a date may lift a guess over
        the threshold, not make one."""
        scored = self._scores(title, summary, published)
        if scored is None:
            return None
        rows, values, scores = scored
        best = -1
        probability = 0.0
        for index in scores.argsort()[::-1].tolist():
            probability = _sigmoid(float(scores[index]))
            if probability < threshold:
                return None
            if allowed(self.classes[index]):
                best = index
                break
        if best < 0:
            return None
        # the words that weighed most, and where they stand (only for a guess that tags)
        contributions = values * self.weights[rows, best]
        if words_threshold > 0:
            from_date = float(contributions[self.dated[rows]].sum())
            if _sigmoid(float(scores[best]) - from_date) < words_threshold:
                return None
        places = first_places(title, summary, published)
        words = []
        for position in contributions.argsort()[::-1][:3]:
            if contributions[position] <= 0:
                break
            key = self.names[rows[position]]
            words.append((key, places[key], float(contributions[position])))
        return Guess(self.classes[best], probability, tuple(words))

    def known_probabilities(
        self, title: str, summary: str | None, published: str | None = None
    ) -> dict[str, float] | None:
        """Every initiative's probability, None when the model knows none of the item's
        features (its biases alone would be no judgement of the item)."""
        scored = self._scores(title, summary, published)
        return None if scored is None else self._named(scored[2])

    def probabilities(
        self, title: str, summary: str | None, published: str | None = None
    ) -> dict[str, float]:
        """Every initiative's probability (for tests, tuning and `candidates`)."""
        scored = self._scores(title, summary, published)
        return self._named(self.bias if scored is None else scored[2])

    def _named(self, scores: Any) -> dict[str, float]:
        return {
            name: _sigmoid(float(score)) for name, score in zip(self.classes, scores, strict=True)
        }


def _sigmoid(score: float) -> float:
    if score >= 0:
        return 1.0 / (1.0 + math.exp(-score))
    exp = math.exp(score)
    return exp / (1.0 + exp)


_ARRAYS = ("format", "classes", "bias", "features", "idf", "rows", "cols", "weights", "trained")


def _arrays(data: Mapping[str, Any]) -> dict[str, Any]:
    """The trainer's dict as the arrays of the model file (weights as sparse triplets)."""
    import numpy as np

    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise ConfigError(f"not a peacewatch tagging model (format {FORMAT})")
    names = list(data["features"])
    rows: list[int] = []
    cols: list[int] = []
    values: list[float] = []
    for row, name in enumerate(names):
        for column, weight in data["features"][name][1]:
            rows.append(row)
            cols.append(int(column))
            values.append(float(weight))
    return {
        "format": np.array([FORMAT]),
        "classes": np.array(list(data["classes"]), dtype=str),
        "bias": np.array(data["bias"], dtype=np.float64),
        "features": np.array(names, dtype=str),
        "idf": np.array([data["features"][name][0] for name in names], dtype=np.float64),
        "rows": np.array(rows, dtype=np.int32),
        "cols": np.array(cols, dtype=np.int32),
        "weights": np.array(values, dtype=np.float64),
        "trained": np.array(json.dumps(data.get("trained") or {}, sort_keys=True)),
    }


def _from_arrays(arrays: Mapping[str, Any], shown: str) -> Model:
    """A Model from the file's arrays, checked; its version is a hash of their contents, so
    retraining to the same weights keeps the version (and the stored tags)."""
    import numpy as np

    found = arrays["format"].tolist()
    if found != [FORMAT]:
        if len(found) == 1 and isinstance(found[0], int) and 0 < found[0] < FORMAT:
            raise ConfigError(
                f"{shown}: a tagging model of format {found[0]}, whose features this version no "
                f"longer makes (format {FORMAT}): train it again with `peacewatch train-model`"
            )
        raise ConfigError(f"{shown}: not a peacewatch tagging model (format {FORMAT})")
    digest = hashlib.sha256()
    for name in _ARRAYS:
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    classes = tuple(arrays["classes"].tolist())
    names = tuple(arrays["features"].tolist())
    rows, cols = arrays["rows"], arrays["cols"]
    if (
        len(arrays["bias"]) != len(classes)
        or len(arrays["idf"]) != len(names)
        or not len(rows) == len(cols) == len(arrays["weights"])
        or (len(rows) and (rows.min() < 0 or rows.max() >= len(names)))
        or (len(cols) and (cols.min() < 0 or cols.max() >= len(classes)))
    ):
        raise ConfigError(f"{shown}: malformed model: its arrays disagree in size")
    weights = np.zeros((len(names), len(classes)))
    weights[rows, cols] = arrays["weights"]
    try:
        trained = json.loads(str(arrays["trained"]))
    except ValueError as error:
        raise ConfigError(f"{shown}: malformed model: {error}") from error
    return Model(
        classes=classes,
        bias=arrays["bias"].astype(np.float64),
        index={name: row for row, name in enumerate(names)},
        names=names,
        idf=arrays["idf"].astype(np.float64),
        weights=weights,
        dated=np.array([name.startswith(_DATE_KINDS) for name in names], dtype=bool),
        version=digest.hexdigest()[:16],
        trained=trained if isinstance(trained, dict) else {},
    )


def dump_model(data: Mapping[str, Any], path: Path) -> None:
    """Write a model (the trainer's dict) as compressed numpy arrays (.npz): the weights as
    sparse triplets, so loading builds no Python object per weight (a JSON file of the same
    model took about 50 MB more memory to read)."""
    import numpy as np

    try:
        arrays = _arrays(data)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from error
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        np.savez_compressed(handle, **arrays)
    tmp.replace(path)


def load_model(path: Path, *, display: str | None = None) -> Model:
    """Read a model file; a missing, unreadable or malformed file is a ConfigError naming it."""
    import zipfile

    import numpy as np

    shown = display or str(path)
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in _ARRAYS}
    except FileNotFoundError as error:
        raise ConfigError(f"{shown}: cannot read: {error.strerror or error}") from error
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise ConfigError(
            f"{shown}: not a peacewatch tagging model file (.npz): {error}"
        ) from error
    return _from_arrays(arrays, shown)


def model_from_data(data: Mapping[str, Any], *, display: str = "model") -> Model:
    """A Model from the trainer's dict, as it would load from its file."""
    try:
        return _from_arrays(_arrays(data), display)
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise ConfigError(f"{display}: malformed model: {error!r}") from error
