"""Stage 6, surfaces: what analysts and readers see of the store.

Takes the SQLite file and gives the Datasette instance with its views and canned queries
(`datasette_app`, with `search` turning typed text into FTS5 queries), and the daily digest:
built from the store (`digest`), rendered to an email (`digest_render`, Jinja templates), sent
over SMTP (`mailer`), configured by the `[digest]` section (`digest_config`); and monthly
export files for DuckDB and pandas (`export`). Reads the store; never writes items or tags.
"""
