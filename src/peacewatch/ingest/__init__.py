"""Stage 1, ingest: bytes in, items out.

Takes the configured sources (feeds, article pages, reading lists) and gives parsed items
(`models.ParsedItem`) and article metadata, ready for the store. `fetch` is the only network
user (httpx), behind the URL guard (`netguard`) and robots.txt (`robots`); the parsers
(`feeds`, `articles`, `readinglist`, `dates`) are pure: bytes and a URL in, data out, no clock,
network or database. `parsepool` runs the feed parser in a worker process; `outlets` is the
registry that names who published what; `urls` makes the canonical URL every item is keyed by.
"""
