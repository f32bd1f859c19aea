"""The clusterer's candidate index, bucketed by the time of each story's earliest member."""

from __future__ import annotations

from peacewatch.stories.index import StoryIndex

DAY = 86400.0


def test_a_story_is_counted_once_per_key_and_filed_by_its_earliest_member() -> None:
    index = StoryIndex(DAY)
    index.add(1, 5 * DAY + 10, ["a", "b"], [])
    index.add(1, 5 * DAY + 10, ["c"], ["a", "b"])  # a member with a and c: c is new
    index.add(2, 7 * DAY, ["a"], [])
    assert (index.count("a"), index.count("b"), index.count("c"), index.count("d")) == (2, 1, 1, 0)
    assert [set(ids) for ids in index.within("a", 5, 6)] == [{1}]
    assert sorted(i for ids in index.within("a", 0, 9) for i in ids) == [1, 2]


def test_an_earlier_member_moves_the_story_keys_to_its_bucket() -> None:
    index = StoryIndex(DAY)
    index.add(1, 5 * DAY, ["a", "b"], [])
    index.add(1, 3 * DAY, ["c"], ["a", "b"])  # a member two days earlier joined
    assert index.placed[1] == 3
    assert all(list(by_time) == [3] for by_time in index.buckets.values())
    assert (index.count("a"), index.count("c")) == (1, 1)
    assert list(index.within("b", 4, 9)) == []


def test_removing_a_story_forgets_keys_no_story_carries() -> None:
    index = StoryIndex(DAY)
    index.add(1, DAY, ["a", "b"], [])
    index.add(2, 2 * DAY, ["a"], [])
    index.remove(1, {"a", "b"})
    assert (len(index), index.count("a"), index.count("b")) == (1, 1, 0)
    assert 1 not in index.placed


def test_keys_of_twice_the_limit_are_counted_not_filed_until_they_are_few_again() -> None:
    index = StoryIndex(DAY, limit=2)
    for story in (1, 2, 3, 4):
        index.add(story, DAY, ["a", "b"] if story == 1 else ["a"], [])
    assert sorted(i for ids in index.within("a", 0, 9) for i in ids) == [1, 2, 3, 4]
    index.add(5, 2 * DAY, ["a"], [])  # a fifth story: "a" is never looked up now
    assert index.count("a") == 5 and "a" not in index.buckets and index.unfiled == {"a"}
    index.add(6, 2 * DAY, ["a"], [])
    index.remove(6, ["a"], counted=True)  # retired: still counted, nothing to file again
    assert index.count("a") == 6 and not index.stale
    index.uncount(["a"])
    for story in (5, 4, 3):
        index.remove(story, ["a"])
    assert index.count("a") == 2 and index.stale == {"a"}  # to be filed before a lookup
    index.add(7, 3 * DAY, ["b"], [])  # other keys go on as before
    index.file("a", [1, 2])
    assert not index.stale and not index.unfiled
    assert [set(ids) for ids in index.within("a", 0, 9)] == [{1, 2}]
    assert sorted(i for ids in index.within("b", 0, 9) for i in ids) == [1, 7]
