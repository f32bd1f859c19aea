"""htmldate's reading of a page, as one more date witness (the only importer of htmldate).

htmldate (https://github.com/adbar/htmldate) knows many page templates peacewatch's own
rules do not, chiefly dates written only in the text. It gets the page as bytes (never a
string: a string starting with "http" would make htmldate download it) and the caller's `now`
as its latest acceptable date, so it stays pure: no network, no clock. It is asked for the
original publication date, with the URL's date deferred so that what it reports says
something the URL does not.
"""

from __future__ import annotations

import logging
import warnings
from datetime import datetime

from htmldate import find_date

from peacewatch.ingest.dates import FoundDate, parse_date

__all__ = ["htmldate_date"]

# Without `now` the latest acceptable date must still not come from htmldate's clock.
_FAR_FUTURE = "2100-12-31"

logging.getLogger("htmldate").setLevel(logging.CRITICAL)  # its misses are ours to report


def htmldate_date(content: bytes, url: str | None, now: datetime | None) -> FoundDate | None:
    """The publication day htmldate finds on the page, or None."""
    if not content:
        return None
    try:
        with warnings.catch_warnings():  # dateutil warns about zone names it cannot read
            warnings.simplefilter("ignore")
            day = find_date(
                bytes(content),
                url=url or None,
                original_date=True,
                deferred_url_extractor=True,
                outputformat="%Y-%m-%d",
                max_date=now.strftime("%Y-%m-%d") if now is not None else _FAR_FUTURE,
            )
    except Exception:  # a witness that fails says nothing; the page is still read
        return None
    if not day or day.endswith("-01-01"):
        return None  # htmldate pads a year found alone (a copyright line) to 1 January
    return parse_date(day)
