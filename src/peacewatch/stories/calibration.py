"""Fitting the weights of the evidence (`evidence.FEATURES`) on labelled events.

The labelled reports are met in arrival order, as the clusterer meets them, but every report
is then put into the story of its own event (the labels' clustering), so what is measured is
what an item shares with the real stories of its window: with its own event's story (a
positive pair) and with the other stories the index offers it (negative pairs). Logistic
regression over those pairs (Newton's method with an L2 penalty, in plain Python: a score is
a sum of a couple of dozen weighed numbers) gives the weights; the threshold is then chosen by
clustering with them (`scripts/evaluate_stories.py --sweep`), precision first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from peacewatch.stories.aliases import AliasTable
from peacewatch.stories.cluster import Clusterer, Settings
from peacewatch.stories.evaluation import Row, arrival_order, features_of
from peacewatch.stories.evidence import AGAINST, FEATURES


@dataclass(frozen=True)
class Pair:
    values: dict[str, float]
    same: bool  # the item and the story report one event


def pairs(
    rows: Sequence[Row],
    aliases: AliasTable,
    tags: Sequence[frozenset[str]],
    settings: Settings | None = None,
) -> list[Pair]:
    """Item-story pairs met in arrival order with every report put into its event's story."""
    clusterer = Clusterer(settings)
    story_of: dict[str, int] = {}
    found = []
    for i in arrival_order(rows):
        item = features_of(i, rows[i], aliases, tags[i])
        own = story_of.get(rows[i].event)
        offered = {story.id: story for story in clusterer.candidates(item)}
        if own is not None:
            offered[own] = clusterer.stories[own]
        for story_id, story in sorted(offered.items()):
            evidence = clusterer.measure(item, story)
            if evidence is None:
                continue  # may not join whatever the weights: not a pair to learn from
            found.append(Pair(evidence.values, story_id == own))
        if own is None:
            own = story_of[rows[i].event] = len(story_of) + 1
        clusterer.place(item, own)
    return found


def fit(
    samples: Sequence[Pair],
    *,
    negative_weight: float = 1.0,
    l2: float = 1.0,
    iterations: int = 25,
) -> dict[str, float]:
    """Logistic regression weights ('bias' and one per feature) by Newton's method; negative
    pairs count `negative_weight` times (more than one: a false merge costs more than a
    miss). A feature whose weight comes out with the wrong sign (shared terms against a join,
    another day for it: collinear features trade weight) is left out and the rest fitted
    again, so every weight says what its evidence means."""
    kept = list(FEATURES)
    while True:
        weights = _fit(samples, kept, negative_weight, l2, iterations)
        wrong = [f for f in kept if (weights[f] > 0) == (f in AGAINST) and weights[f]]
        if not wrong:
            return {"bias": weights["bias"], **{f: weights.get(f, 0.0) for f in FEATURES}}
        worst = max(wrong, key=lambda f: abs(weights[f]))
        kept.remove(worst)


def _fit(
    samples: Sequence[Pair],
    features: Sequence[str],
    negative_weight: float,
    l2: float,
    iterations: int,
) -> dict[str, float]:
    names = ("bias", *features)
    xs = [[1.0, *(p.values.get(f, 0.0) for f in features)] for p in samples]
    ys = [1.0 if p.same else 0.0 for p in samples]
    ws = [1.0 if p.same else negative_weight for p in samples]
    d = len(names)
    beta = [0.0] * d
    for _ in range(iterations):
        grad = [-l2 * b for b in beta]
        grad[0] = 0.0
        hess = [[0.0] * d for _ in range(d)]
        for k in range(1, d):
            hess[k][k] = l2
        for x, y, w in zip(xs, ys, ws, strict=True):
            z = sum(b * v for b, v in zip(beta, x, strict=True))
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            r, q = w * (y - p), w * p * (1.0 - p)
            for a in range(d):
                if x[a]:
                    grad[a] += r * x[a]
                    qa = q * x[a]
                    row = hess[a]
                    for b in range(d):
                        if x[b]:
                            row[b] += qa * x[b]
        step = _solve(hess, grad)
        beta = [b + s for b, s in zip(beta, step, strict=True)]
        if max(abs(s) for s in step) < 1e-6:
            break
    return dict(zip(names, beta, strict=True))


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """x with a x = b (Gaussian elimination with partial pivoting; a is positive definite)."""
    n = len(b)
    m = [[*row, rhs] for row, rhs in zip(a, b, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        if abs(m[col][col]) < 1e-12:
            continue
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            if f:
                for c in range(col, n + 1):
                    m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        if abs(m[r][r]) < 1e-12:
            continue
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x
