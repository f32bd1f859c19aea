"""Train the tagging model (see model.py) from labelled items: the only scikit-learn importer.

Labelled items are the corpus's dev half (the held-out half is never trained on) and the
analysts' corrections, each of which speaks only of the initiatives it judged: an analyst's
"not about X" is a negative for X alone. One logistic regression per initiative, classes
weighed as balanced (an initiative has tens of positives among thousands of pages).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from peacewatch.errors import ConfigError
from peacewatch.tagging.evaluation import Labelled
from peacewatch.tagging.model import FORMAT, training_features

# inverse regularisation, by 5-fold cross-validation on the dev half. On its 9,056 pages (rules +
# model, title + lead) C 5, 10, 20, 40 gave F1 0.857, 0.860, 0.862, 0.861, negatives tagged
# 216, 202, 192, 201 of 2,820 (headline alone 0.766 at 10, 0.767 at 20); 20 was not taken: its
# larger weights put "Riyadh hosts OPEC+ meeting", which names neither side, over the 0.95
# that such a headline's words need (tests/fixtures/tagging/headlines.jsonl)
C = 10.0
MIN_DF = 2  # a word seen on one page only says nothing of the next
# Weights under this are left out of the file: a third of its size, and on the held-out half
# the same figures as the full model (precision and recall within 0.005)
PRUNE = 0.05
# Each page with a lead is also learnt from its headline alone: feeds often carry no summary,
# and a headline's words weigh differently alone than beside a lead (5-fold on dev, headline
# alone at 0.7: recall 0.725 -> 0.737, F1 0.821 -> 0.826; headline and lead unchanged)
HEADLINES_TOO = True
ABSENT_BIAS = -30.0  # an initiative without a positive to learn from is never guessed


def train_model(
    items: Sequence[Labelled],
    classes: Sequence[str],
    *,
    c: float = C,
    min_df: int = MIN_DF,
    sources: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A model (the dict `model.dump_model` writes) trained on `items` for `classes`."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    if len(items) < 2:
        raise ConfigError("training needs at least two labelled items")
    unknown = sorted({label for item in items for label in item.labels} - set(classes))
    if unknown:
        raise ConfigError(f"labelled items name unknown initiatives: {', '.join(unknown)}")
    vectorizer = TfidfVectorizer(
        analyzer=lambda item: training_features(item.title, item.lead, item.published),
        min_df=min(min_df, len(items)),
        sublinear_tf=True,
    )
    # the words and their idf from the pages as they are; then the headline copies beside them
    vectorizer.fit(items)
    if HEADLINES_TOO:
        items = [*items, *(replace(item, lead=None) for item in items if item.lead)]
    matrix = vectorizer.transform(items)
    vocabulary: list[str] = [""] * len(vectorizer.vocabulary_)
    for key, column in vectorizer.vocabulary_.items():
        vocabulary[column] = key
    entries: dict[int, list[list[float]]] = {}
    bias: list[float] = []
    positives: dict[str, int] = {}
    for index, name in enumerate(classes):
        rows = [row for row, item in enumerate(items) if item.judged is None or name in item.judged]
        target = [name in items[row].labels for row in rows]
        positives[name] = sum(target)
        if not any(target) or all(target):
            bias.append(ABSENT_BIAS if not any(target) else -ABSENT_BIAS)
            continue
        fitted = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(
            matrix[rows], target
        )
        bias.append(round(float(fitted.intercept_[0]), 4))
        for column, weight in enumerate(fitted.coef_[0].tolist()):
            if abs(weight) >= PRUNE:
                entries.setdefault(column, []).append([index, round(weight, 4)])
    features = {
        vocabulary[column]: [round(float(value), 4), entries.get(column, [])]
        for column, value in enumerate(vectorizer.idf_.tolist())
    }
    return {
        "format": FORMAT,
        "classes": list(classes),
        "bias": bias,
        "features": features,
        "trained": {
            "items": len(items),
            "sources": dict(sources or {}),
            "positives": positives,
            "c": c,
            "min_df": min_df,
        },
    }
