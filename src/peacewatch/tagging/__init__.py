"""Stage 4, tagging: which initiatives and themes an item is about, with the evidence.

Takes an item's text (headline, summary, page text, date) and gives its tags. `rules` reads
and validates `config/initiatives.toml` into the compiled `ruleset` (its compiler in
`rule_compiler`, `rule_events` and `rule_terms`); `classifier` matches an item against it in
one pass over its words (`scan`), scoring each candidate rule (`scoring`, `event_cues`);
`normalize` is the text folding both share.
Pure: no database (tag storage is `store.tags`), no clock, no network.
"""
