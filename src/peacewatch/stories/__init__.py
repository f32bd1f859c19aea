"""Stage 2, stories: which stored items report the same event, and why.

Takes an item's headline, lead, language, outlet, time and initiative tags (read from the
store by `store.stories`) and gives its story: the story it joins, with the kinds of evidence,
the member or centroid it matched and the shared names and numbers, or a new singleton.
`words` stems and lemmatizes (the only home of snowballstemmer and pymorphy3), `aliases`
reads `config/aliases.toml`, `features` turns an item into comparable keys, `cluster` is the
incremental clusterer over a time window (its stories held as `story`, found through `index`)
and `evaluation` scores it on labelled events.
Pure: no database (story storage is `store.stories`), no clock, no network.
"""
