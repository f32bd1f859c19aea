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

from py3langid.langid import MODEL_FILE, LanguageIdentifier

__all__ = ["CANDIDATES", "Detection", "detect_language", "detection_text"]

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


def _model() -> Any:
    global _identifier
    with _lock:
        if _identifier is None:
            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier.set_languages(list(CANDIDATES))
            _identifier = identifier
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
