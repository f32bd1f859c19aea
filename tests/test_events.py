"""Dated events, undated-capable terms, lift terms and the first-seen stand-in date."""

from __future__ import annotations

import tomllib

import pytest

from peacewatch.errors import ConfigError
from peacewatch.tagging.classifier import ItemText, classify
from peacewatch.tagging.rules import compile_rules
from peacewatch.tagging.ruleset import RuleSet

RULES = """
[concepts]
talks = ["talk*", "negotiat*", "meeting", "переговор*"]

[[initiative]]
id = "lakeside-talks"
name = "Lakeside talks"
description = "A round of talks in Lakeside, a town no other talks were held in."
start_date = 2025-05-16
parties = ["North", "South"]
links = ["https://example.org/lakeside"]
[initiative.rules]
terms = [
  { match = "lakeside accord", weight = 2 },
  { match = ["lakeside"], near = "@talks", within = 4, from = 2025-05-10, until = 2025-05-31, weight = 1 },
  { match = ["swap*"], near = ["lakeside"], within = 6, from = 2025-05-10, until = 2025-05-31, undated = true, weight = 1 },
  { match = ["peace", "talks"], fields = ["title"], weight = 0.25, lift = true },
]
exclude = [ { any = ["gaza"] } ]

[[initiative.events]]
name = "Lakeside round"
date = 2025-05-16
until = 2025-05-17
before = 2
after = 5
places = ["riverton", "northland"]
venues = ["old mill"]
sides = ["north and south", "northern delegation"]
met_at = ["riverton"]
actors = ["ivanova", "petrenko"]
leaders = ["president smith", "president jones"]
actions = ["@talks", "swap*"]

[relevance.rules]
terms = [ { match = "@talks" } ]
"""


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return compile_rules(tomllib.loads(RULES), display="events.toml")


def tags(rules: RuleSet, title: str, published: str | None = None, **extra: str) -> list[str]:
    item = ItemText(title=title, published=published, **extra)
    return [t.id for t in classify(item, rules).initiatives]


def test_an_event_counts_inside_its_window_with_one_named_cue(rules: RuleSet) -> None:
    assert tags(rules, "Petrenko arrives for talks", "2025-05-15") == ["lakeside-talks"]
    assert tags(rules, "Talks open in Riverton", "2025-05-20") == ["lakeside-talks"]
    assert tags(rules, "Talks open in Riverton", "2025-05-13") == []  # before the window
    assert tags(rules, "Talks open in Riverton", "2025-06-30") == []  # after it
    assert tags(rules, "Petrenko visits Riverton", "2025-05-16") == []  # no action


def test_leaders_count_only_in_pairs(rules: RuleSet) -> None:
    assert tags(rules, "President Smith calls for talks", "2025-05-16") == []
    assert tags(rules, "President Smith and President Jones hold talks", "2025-05-16") == [
        "lakeside-talks"
    ]


def test_undated_items_need_a_strong_cue(rules: RuleSet) -> None:
    assert tags(rules, "Talks open in Riverton") == []  # a place alone
    assert tags(rules, "Petrenko talks") == []  # an actor alone
    assert tags(rules, "Petrenko and Ivanova start talks") == ["lakeside-talks"]  # two actors
    assert tags(rules, "Ivanova opens talks in Riverton") == ["lakeside-talks"]  # place + actor
    assert tags(rules, "Talks at the Old Mill") == ["lakeside-talks"]  # a venue


def test_sides_and_leader_pairs_name_the_event_undated_only_where_they_met(rules: RuleSet) -> None:
    # undated: the two sides (or a delegation) and the city, with the action
    assert tags(rules, "North and South resume talks in Riverton") == ["lakeside-talks"]
    assert tags(rules, "Northern delegation arrives for talks in Riverton") == ["lakeside-talks"]
    assert tags(rules, "North and South resume talks") == []  # no city: any of their rounds
    # a country of the event's places is not where they met: other meetings were held there
    assert tags(rules, "North and South resume talks in Northland") == []
    # dated inside the window, the sides alone name it; outside, never
    assert tags(rules, "North and South resume talks", "2025-05-17") == ["lakeside-talks"]
    assert tags(rules, "North and South resume talks in Riverton", "2025-08-01") == []
    # the sides in the headline let the lead count
    lead = "North and South held talks in Riverton."
    assert tags(rules, "Corridors agreed", summary=lead) == []
    assert tags(rules, "North and South agree on corridors", summary=lead) == ["lakeside-talks"]
    # undated, two leaders name it too, but only in a city where they met
    assert tags(rules, "President Smith and President Jones hold talks in Riverton") == [
        "lakeside-talks"
    ]
    assert tags(rules, "President Smith and President Jones hold talks in Northland") == []
    assert tags(rules, "President Smith and President Jones hold talks") == []
    result = classify(ItemText(title="North and South resume talks in Riverton"), rules)
    assert [e.rule for e in result.initiatives[0].evidence][:2] == [
        "event: Lakeside round (2025-05-16) place: riverton",
        "event: Lakeside round (2025-05-16) side: north and south",
    ]


def test_the_headline_must_name_a_cue_or_the_action(rules: RuleSet) -> None:
    lead = "Ivanova and Petrenko held talks in Riverton."
    assert tags(rules, "A quiet weekend", "2025-05-16", summary=lead) == []
    assert tags(rules, "What the talks achieved", "2025-05-16", summary=lead) == ["lakeside-talks"]
    # a peace headline (a lift pattern) with no cue or action of its own lets the lead count
    swap = "Ivanova arrived in Riverton for a swap."
    assert tags(rules, "Peace, at last?", "2025-05-16", summary=swap) == ["lakeside-talks"]
    assert tags(rules, "A quiet weekend", "2025-05-16", summary=swap) == []


def test_event_evidence_names_the_event(rules: RuleSet) -> None:
    result = classify(ItemText(title="Ivanova opens talks in Riverton"), rules)
    labels = [e.rule for e in result.initiatives[0].evidence]
    assert labels == [
        "event: Lakeside round (2025-05-16) place: riverton",
        "event: Lakeside round (2025-05-16) actor: ivanova",
        "event: Lakeside round (2025-05-16) action: talk*",
    ]


def test_excludes_still_veto_an_event(rules: RuleSet) -> None:
    assert tags(rules, "Ivanova and Petrenko discuss Gaza talks") == []


def test_undated_terms_count_without_a_date_but_keep_their_window(rules: RuleSet) -> None:
    assert tags(rules, "Swap agreed at Lakeside") == ["lakeside-talks"]
    assert tags(rules, "Swap agreed at Lakeside", "2025-05-20") == ["lakeside-talks"]
    assert tags(rules, "Swap agreed at Lakeside", "2026-01-20") == []
    # a dated term without `undated` stays silent for an undated item
    assert tags(rules, "Lakeside talks resume") == []


def test_a_lift_term_only_lifts_a_cue_over_the_threshold(rules: RuleSet) -> None:
    lead = "Negotiators gathered in Lakeside for talks."
    # the cue is in the lead (0.8): a peace headline lifts it
    assert tags(rules, "Peace within reach", "2025-05-20", summary=lead) == ["lakeside-talks"]
    assert tags(rules, "Weather turns", "2025-05-20", summary=lead) == []
    # alone it never tags, and a tag that fires without it keeps its score and evidence
    assert tags(rules, "Peace talks", "2025-05-20") == []
    (tag,) = classify(ItemText(title="Peace under the Lakeside Accord"), rules).initiatives
    assert tag.score == 2.0 and [e.text for e in tag.evidence] == ["Lakeside Accord"]


def test_the_day_first_seen_stands_in_and_says_so(rules: RuleSet) -> None:
    item = ItemText(title="Talks open in Riverton", first_seen="2025-05-16T08:00:00+00:00")
    (tag,) = classify(item, rules).initiatives
    note = tag.evidence[-1]
    assert (note.rule, note.field, note.text) == (
        "date: first seen (no published date)",
        "first_seen",
        "2025-05-16",
    )
    # a published date wins over the stand-in
    dated = ItemText(
        title="Talks open in Riverton", published="2025-07-01", first_seen="2025-05-16"
    )
    assert classify(dated, rules).initiatives == ()


def test_a_late_first_seen_day_matches_as_undated(rules: RuleSet) -> None:
    # a page imported months later: outside the window, strong cues still count
    late = "2026-02-01T00:00:00+00:00"
    assert tags(rules, "Ivanova opens talks in Riverton", first_seen=late) == ["lakeside-talks"]
    assert tags(rules, "Talks open in Riverton", first_seen=late) == []
    assert tags(rules, "Swap agreed at Lakeside", first_seen=late) == ["lakeside-talks"]


def test_the_window_never_opens_before_the_initiative(rules: RuleSet) -> None:
    assert tags(rules, "Petrenko and Ivanova start talks", "2024-01-01") == []


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ('name = "x"\nactions = ["talks"]\nplaces = ["a"]', "'events[0].date': missing"),
        ('name = "x"\ndate = 2025-05-16\nplaces = ["a"]', "expected the event's actions"),
        ('name = "x"\ndate = 2025-05-16\nactions = ["talks"]', "expected venues, places, actors"),
        (
            'name = "x"\ndate = 2025-05-16\nuntil = 2025-05-01\nactions = ["t"]\nplaces = ["a"]',
            "2025-05-01 is before date 2025-05-16",
        ),
        (
            'name = "x"\ndate = 2025-05-16\nactions = ["talks"]\nplaces = ["a"]\nwhen = 1',
            "'events[0].when': unknown key",
        ),
        (
            'name = "x"\ndate = 2025-05-16\nactions = ["(a|b)"]\nplaces = ["a"]',
            "not regular expressions",
        ),
    ],
)
def test_event_mistakes_name_the_file_entry_and_key(event: str, message: str) -> None:
    text = RULES.split("[[initiative.events]]")[0] + "[[initiative.events]]\n" + event + "\n"
    text += '\n[relevance.rules]\nterms = [ { match = "@talks" } ]\n'
    with pytest.raises(ConfigError) as caught:
        compile_rules(tomllib.loads(text), display="events.toml")
    problems = "\n".join(caught.value.problems)
    assert "events.toml: initiative 'lakeside-talks'" in problems
    assert message in problems


def test_undated_and_lift_must_be_booleans_and_undated_needs_a_window() -> None:
    text = RULES.replace("undated = true", 'undated = "yes"').replace("lift = true", "lift = 1")
    with pytest.raises(ConfigError) as caught:
        compile_rules(tomllib.loads(text), display="events.toml")
    problems = "\n".join(caught.value.problems)
    assert "'rules.terms[2].undated': expected true or false" in problems
    assert "'rules.terms[3].lift': expected true or false" in problems
    text = RULES.replace(
        '{ match = "lakeside accord", weight = 2 }',
        '{ match = "lakeside accord", weight = 2, undated = true }',
    )
    with pytest.raises(ConfigError, match="only means something with 'from' or 'until'"):
        compile_rules(tomllib.loads(text), display="events.toml")


def test_an_exclude_group_can_name_what_cancels_its_veto() -> None:
    text = RULES.replace(
        'exclude = [ { any = ["gaza"] } ]',
        'exclude = [ { any = ["forum"], unless = ["petrenko"] } ]',
    )
    rules = compile_rules(tomllib.loads(text), display="events.toml")
    assert tags(rules, "Lakeside talks at the forum", "2025-05-16") == []
    assert tags(rules, "Petrenko at the forum: Lakeside talks", "2025-05-16") == ["lakeside-talks"]
    wrong = RULES.replace(
        "[[initiative.events]]",
        'require = [ { any = ["north"], unless = ["south"] } ]\n\n[[initiative.events]]',
        1,
    )
    with pytest.raises(ConfigError, match="only an exclude group can have 'unless'"):
        compile_rules(tomllib.loads(wrong), display="events.toml")


def test_an_undated_exclude_group_tells_same_place_rounds_apart_only_without_a_date() -> None:
    text = RULES.replace(
        'exclude = [ { any = ["gaza"] } ]',
        'exclude = [ { any = ["gaza"] }, { any = ["memorandum"], undated = true } ]',
    )
    rules = compile_rules(tomllib.loads(text), display="events.toml")
    undated = "Swap agreed at Lakeside"
    assert tags(rules, undated) == ["lakeside-talks"]
    # without a date, the other round's cue vetoes; with the item's own date it does not
    assert tags(rules, undated, summary="A memorandum was handed over.") == []
    dated = tags(rules, undated, "2025-05-16", summary="A memorandum was handed over.")
    assert dated == ["lakeside-talks"]
    # a day first seen is not the item's own date: the veto holds
    first_seen = tags(rules, undated, first_seen="2025-05-16", summary="A memorandum, too.")
    assert first_seen == []
    wrong = text.replace("undated = true }", 'undated = "yes" }')
    with pytest.raises(ConfigError, match=r"exclude\[1\]\.undated': expected true or false"):
        compile_rules(tomllib.loads(wrong), display="events.toml")
    wrong = RULES.replace(
        "[[initiative.events]]",
        'require = [ { any = ["north"], undated = true } ]\n\n[[initiative.events]]',
        1,
    )
    with pytest.raises(ConfigError, match="only an exclude group can be 'undated'"):
        compile_rules(tomllib.loads(wrong), display="events.toml")


def test_an_exclude_group_from_a_day_vetoes_only_what_came_after() -> None:
    # after a day, an item naming none of the round's own cues is about later talks
    text = RULES.replace(
        'exclude = [ { any = ["gaza"] } ]',
        'exclude = [ { any = ["gaza"] }, { any = ["talks"], unless = ["accord"],'
        " from = 2025-05-18 } ]",
    )
    rules = compile_rules(tomllib.loads(text), display="events.toml")
    headline = "Swap agreed at Lakeside, talks go on"
    assert tags(rules, headline, "2025-05-16") == ["lakeside-talks"]
    assert tags(rules, headline, "2025-05-20") == []
    assert tags(rules, "Lakeside accord: talks go on", "2026-05-16") == ["lakeside-talks"]
    # with no date at all it never vetoes; a day first seen stands in for the date
    assert tags(rules, headline) == ["lakeside-talks"]
    assert tags(rules, headline, first_seen="2025-05-20") == []
    wrong = RULES.replace(
        "[[initiative.events]]",
        'require = [ { any = ["north"], from = 2025-01-01 } ]\n\n[[initiative.events]]',
        1,
    )
    with pytest.raises(ConfigError, match="only an exclude group can have 'from'"):
        compile_rules(tomllib.loads(wrong), display="events.toml")
    wrong = text.replace("from = 2025-05-18", 'from = "soon"')
    with pytest.raises(ConfigError, match=r"exclude\[1\]\.from'"):
        compile_rules(tomllib.loads(wrong), display="events.toml")


def test_two_patterns_on_the_same_words_are_not_two_people() -> None:
    # 'president smith' and 'smith*' both match one mention: one leader, not a pair
    text = RULES.replace(
        'leaders = ["president smith", "president jones"]',
        'leaders = ["president smith", "smith*", "president jones"]',
    )
    rules = compile_rules(tomllib.loads(text), display="events.toml")
    assert tags(rules, "President Smith calls for talks", "2025-05-16") == []
    assert tags(rules, "President Smith and President Jones hold talks", "2025-05-16") == [
        "lakeside-talks"
    ]
