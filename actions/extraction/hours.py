"""A clinician's working hours asked for in words: "my hours are 9 to 5 mon-thu", "set my
working hours to Mon-Fri 8:30-17:00", "clear my working hours", "what are my hours?".

Only the request is found here; its hours are read by the one parser of hours specs
(`ground.hours.parse_hours`), so the conversation, App Home and the command line read
them alike. Every pattern is linear in the text (reader.py).
"""

from __future__ import annotations

import re

CLEAR = "clear"
SHOW = "show"

_SET = re.compile(
    r"^\W{0,3}(?:(?:please\s+)?(?:set|change|update|make)\s+my\s+(?:working\s+|work\s+|office\s+)?"
    r"hours\s*(?:to|as|:|=)?|my\s+(?:working\s+|work\s+|office\s+)?hours\s*(?:are|is|:|=|will\s+be)"
    r"|i\s+work\s+(?=\S*\d))\s*(?P<spec>\S.{0,200}?)\W{0,3}$",
    re.IGNORECASE | re.DOTALL,
)
_CLEAR = re.compile(
    r"^\W{0,3}(?:clear|reset|remove|delete|forget)\s+my\s+(?:working\s+|work\s+|office\s+)?"
    r"hours\W{0,3}$|\buse\s+the\s+practice(?:'s)?\s+(?:working\s+)?hours\b",
    re.IGNORECASE,
)
_SHOW = re.compile(
    r"^\W{0,3}(?:what\s+are|show(?:\s+me)?|tell\s+me)\s+my\s+(?:working\s+|work\s+|office\s+)?"
    r"hours\W{0,3}$",
    re.IGNORECASE,
)


def hours_request(text: str) -> str | None:
    """What a message asks of the clinician's working hours: the hours as said (to be
    read by `parse_hours`), `CLEAR`, `SHOW`, or None when it asks nothing of them."""
    if len(text) > 300:
        return None
    if _CLEAR.search(text):
        return CLEAR
    if _SHOW.search(text):
        return SHOW
    found = _SET.search(text)
    return found.group("spec").strip() if found else None
