"""Text clean-up shared by parsers and the store: plain text out of feed HTML, headline keys."""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser

_WS = re.compile(r"\s+")
_TAGLIKE = re.compile(r"<[A-Za-z/!?]")
_BLOCK_TAGS = frozenset(
    [
        "p",
        "br",
        "div",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "td",
        "th",
        "table",
        "blockquote",
        "section",
        "article",
        "figure",
    ]
)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


_SIMPLE_TAG = re.compile(
    r"</?(p|br|b|i|em|strong|a|span|div|li|ul|ol|h[1-6]|img|small)\b[^<>]*>", re.I
)
_BLOCK_TAG = re.compile(r"</?(p|br|div|li|ul|ol|h[1-6])\b", re.I)


def strip_tags(value: str) -> str:
    """Text of an HTML fragment: tags dropped, entities decoded, script/style removed."""
    if not _TAGLIKE.search(value):
        return html.unescape(value)
    # Most feed summaries hold only a few simple tags: a regex is ten times faster than a
    # parser for them. Anything else (scripts, comments, odd markup) goes to the parser.
    simple = _SIMPLE_TAG.sub(lambda m: " " if _BLOCK_TAG.match(m.group(0)) else "", value)
    if "<" not in simple:
        return html.unescape(simple)
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    return "".join(parser.parts)


def fold_ws(value: str) -> str:
    return _WS.sub(" ", value).strip()


def clean_text(value: str | None) -> str | None:
    """Plain, single-spaced text from a possibly HTML, possibly entity-encoded string.

    Entities are decoded twice over at most: feeds often double-escape (`&amp;amp;`).
    """
    if value is None:
        return None
    text = strip_tags(value)
    if "&" in text and re.search(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);", text):
        text = html.unescape(text)
    text = fold_ws(text.replace("\u00a0", " "))
    return text or None


_NON_WORD = re.compile(r"[\W_]+")


def title_key(title: str) -> str:
    """A headline reduced to what identifies it: NFKC, case folded, punctuation and
    symbols dropped, whitespace folded. 'Ukraine: talks “resume”' == 'ukraine talks resume'."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", title).casefold()).strip()
