"""A story's core: what most of its members carry. Evidence and vetoes read a story as a
whole through it, so one member never speaks for a story of several and A~B and B~C never
chain into one story about two events."""

from __future__ import annotations


def core(count: int, size: int) -> bool:
    """Whether a key carried by `count` of a story's `size` members is the story's: a strict
    majority of up to three members, else at least two members and a third of them. One
    member alone never speaks for a story of several, so A~B~C cannot chain."""
    if size <= 3:
        return count * 2 > size
    return count >= max(2, -(-size // 3))


def need(size: int) -> int:
    """The fewest members that make a key the core of a story of `size` members (`core`)."""
    return size // 2 + 1 if size <= 3 else max(2, -(-size // 3))
