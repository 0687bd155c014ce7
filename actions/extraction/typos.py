"""Typos of weekday, month and "tomorrow" words, corrected before reading ("thrusday",
"wednsday", "decmber 3", "tommorow"), with rapidfuzz's optimal-string-alignment distance.

Only lower-case words are corrected, and month names only beside a day number, so a
name ("Marcy", "Monda") is never turned into a date.
"""

from __future__ import annotations

import calendar
import re

from rapidfuzz.distance import OSA
from rapidfuzz.process import extractOne

_WEEKDAYS = tuple(name.lower() for name in calendar.day_name)
_MONTHS = tuple(name.lower() for name in calendar.month_name if name)
_OTHERS = ("tomorrow", "tonight", "today", "morning", "afternoon", "evening", "o'clock")
_KNOWN = frozenset((*_WEEKDAYS, *_MONTHS, *_OTHERS, "tomorrows"))
# A lower-case word standing alone: not part of an address, a link or a name ("jane.doe@").
_WORD = re.compile(r"(?<![\w'.@/\-])[a-z]{4,12}(?![\w'.@/\-])")
_DAY_BEFORE = re.compile(r"\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?$")
_DAY_AFTER = re.compile(r"^\s+(?:the\s+)?\d{1,2}(?!\d)")


def _allowed(word: str) -> int:
    return 1 if len(word) <= 6 else 2


def correct(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text with typos fixed, and each (typo, fix) made."""
    fixes: list[tuple[str, str]] = []
    pieces: list[str] = []
    last = 0
    for match in _WORD.finditer(text):
        word = match.group()
        if word in _KNOWN:
            continue
        choices = (*_WEEKDAYS, *_OTHERS)
        before = text[max(0, match.start() - 10) : match.start()]
        if _DAY_BEFORE.search(before) or _DAY_AFTER.match(text[match.end() : match.end() + 10]):
            choices = (*choices, *_MONTHS)
        best = extractOne(word, choices, scorer=OSA.distance, score_cutoff=_allowed(word))
        if best is None or best[0][0] != word[0]:
            continue
        fix = best[0]
        pieces += [text[last : match.start()], fix]
        last = match.end()
        fixes.append((word, fix))
    if not fixes:
        return text, []
    pieces.append(text[last:])
    return "".join(pieces), fixes
