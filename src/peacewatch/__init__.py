"""peacewatch: news monitoring for Russia-Ukraine peace initiatives."""

from peacewatch.errors import (
    ConfigError,
    FetchError,
    ParseError,
    PeacewatchError,
    RefusedURLError,
    StoreError,
)
from peacewatch.models import (
    FetchResult,
    ParsedFeed,
    ParsedItem,
    RunReport,
    SaveReport,
    Source,
    SourceReport,
    Validators,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "FetchError",
    "FetchResult",
    "ParseError",
    "ParsedFeed",
    "ParsedItem",
    "PeacewatchError",
    "RefusedURLError",
    "RunReport",
    "SaveReport",
    "Source",
    "SourceReport",
    "StoreError",
    "Validators",
    "__version__",
]
