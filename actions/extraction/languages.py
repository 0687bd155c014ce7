"""The participant's language, as a clinician says it: "she speaks Spanish", "in Spanish",
"en español", "Spanish-speaking", "language: Spanish". A language is offered once its
catalog is in ground/locale (ground/language.py): its names come from there, in English
and in itself, so a new catalog needs no words here."""

from __future__ import annotations

import re
import unicodedata

from actions.extraction.reader import Context, Reader, words
from ground.language import available, by_name, name_of


def _plain(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", name) if unicodedata.category(c) != "Mn")


def _names() -> str:
    said: set[str] = set()
    for code in available():
        for name in (name_of(code), name_of(code, in_language=code)):
            said |= {name.lower(), _plain(name).lower()}
    return words(*(re.escape(name) for name in said))


_NAME = rf"(?P<name>{_names()})"
_WHO = r"(?:she|he|they|who|the\s+(?:client|patient|participant)|client|patient)"
_SAID = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        rf"\b(?:{_WHO}\s+)?(?:only\s+)?(?:speaks?|prefers?|reads?)\s+{_NAME}\b",
        rf"\b(?:in|en)\s+{_NAME}\b",
        rf"\b{_NAME}[-\s](?:speaking|speaker)\b",
        rf"\blanguage\s*(?:[:=]|is|to)?\s*{_NAME}\b",
    )
)
# The language alone, when it was asked (the Edit form's or a button's answer).
_ANSWER = re.compile(rf"^\W*{_NAME}\W*$", re.IGNORECASE)


def find_language(reader: Reader, ctx: Context) -> str | None:
    """The first language said; "she doesn't speak Spanish" gives none (its words are
    taken all the same, so nobody reads "Spanish" as a name)."""
    patterns = (*_SAID, _ANSWER) if ctx.requested_slot == "language" else _SAID
    found: list[str] = []
    for pattern in patterns:
        for match, negated in reader.take_all(pattern, "language"):
            code = by_name(match.group("name"))
            if code and not negated:
                found.append(code)
    return found[0] if found else None
