"""The language of an item's text (headline + summary), for items that declare none.

The only module that imports py3langid (a maintained fork of langid.py, BSD; its model ships
inside the package, 4.6 MB, and loads in under a second on first use: nothing is fetched at
run time). Detection is restricted to `CANDIDATES`, the languages of the outlets peacewatch
follows and the other large news languages: over all 97 of the model's languages short
headlines drift to look-alikes (English to Nigerian Pidgin, Latin or Tagalog), and among
Cyrillic languages only Ukrainian, Russian, Belarusian and Kazakh are kept because Bulgarian
takes short Russian headlines (measured by scripts/evaluate_language.py: Russian 1.000 ->
0.947 with Bulgarian added).

Pure: text in, `Detection` out.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
from py3langid.modelio import load_model

__all__ = [
    "CANDIDATES",
    "Detection",
    "detect_language",
    "detection_text",
    "restricted_identifier",
]

CANDIDATES: tuple[str, ...] = (
    "en", "uk", "ru", "be", "kk", "de", "fr", "es", "it", "pt", "pl", "nl", "ro", "cs", "sv",
    "tr", "ar", "fa", "he", "hi", "bn", "ur", "zh", "ja", "ko", "ka", "hy", "az",
)  # fmt: skip
SUMMARY_CHARS = 500  # enough text to decide; long summaries only cost time
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Detection:
    lang: str  # ISO 639-1 code
    confidence: float  # the model's probability among CANDIDATES, 0..1


_lock = threading.Lock()
_identifier: Any = None


def restricted_identifier(languages: tuple[str, ...] = CANDIDATES) -> Any:
    """py3langid's identifier over `languages` only, built from their columns of the model.
    The same as its `set_languages(languages)`, without keeping the model's other 114
    columns beside them for a later reset (28 MB of the 75 MB the model takes in memory)."""
    ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
    wanted = set(languages)
    unknown = wanted - set(classes)
    if unknown:
        raise ValueError(f"unknown language codes: {sorted(unknown)}")
    columns = [i for i, name in enumerate(classes) if name in wanted]
    return LanguageIdentifier(
        ptc[:, columns], pc[columns], [classes[i] for i in columns], nextmove, output,
        norm_probs=True, tk_row=row,
    )  # fmt: skip


def _model() -> Any:
    global _identifier
    with _lock:
        if _identifier is None:
            _identifier = restricted_identifier()
        return _identifier


def detection_text(title: str | None, summary: str | None) -> str:
    """The text detection reads: the headline and the start of the summary."""
    return "\n".join(part for part in (title, (summary or "")[:SUMMARY_CHARS]) if part)


def detect_language(title: str | None, summary: str | None = None) -> Detection | None:
    """The most likely language of a headline and summary; None for text without letters."""
    text = detection_text(title, summary)
    if not _LETTER.search(text):
        return None
    lang, confidence = _model().classify(text)
    return Detection(str(lang), round(float(confidence), 4))
