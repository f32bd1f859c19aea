"""The one error tree of peacewatch.

The library raises these; the pipeline records them per source and the CLI turns them
into messages and exit codes. Nothing else should escape to a caller.
"""

from __future__ import annotations


class PeacewatchError(Exception):
    """Base class of every error peacewatch raises on purpose."""


class ConfigError(PeacewatchError):
    """A configuration file is missing, unreadable or invalid.

    `problems` holds one message per mistake, each naming file, entry and key, so a user
    can fix all of them in one pass.
    """

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class InputError(PeacewatchError):
    """What a user asked for names nothing that exists (an item id, an initiative id) or
    contradicts itself; `problems` holds one message per mistake. The CLI exits with 2."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class FetchError(PeacewatchError):
    """A fetch did not produce a usable body.

    `outcome` is the short code recorded in the fetches table (timeout, http_error, ...).
    """

    def __init__(
        self,
        outcome: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        url: str | None = None,
        bytes_read: int = 0,
    ) -> None:
        self.outcome = outcome
        self.status = status
        self.retry_after = retry_after
        self.url = url
        self.bytes_read = bytes_read
        super().__init__(message)


class ParseError(PeacewatchError):
    """Bytes could not be read as the expected document (feed, page, list)."""

    def __init__(self, outcome: str, message: str) -> None:
        self.outcome = outcome
        super().__init__(message)

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # keep `outcome` when the error crosses from a parser process
        return (type(self), (self.outcome, str(self)))


class StoreError(PeacewatchError):
    """The database cannot be opened or used (locked, wrong schema, another daemon)."""


class RefusedURLError(FetchError):
    """A URL was refused before any request: bad scheme, private address, robots.txt."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__("refused", message, url=url)
