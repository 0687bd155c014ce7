"""How long the session lasts, when the clinician says it: "for 90 minutes", "a 50-minute
session", "for an hour and a half", "make it 45 minutes long", "length: 60". Said back in
words; the summary's When line shows it (marked when it changed), and Save books it.
Unsaid, a session lasts as long as its service, else the practice's `session_minutes`."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal, InvalidOperation

from actions.extraction.reader import Context, Reader
from actions.slot_table import SlotDef
from dialogue.slots import read_id
from ground.practice import Practice

SHORTEST, LONGEST = 10, 240  # minutes: a check-in to a long intensive session

_HOURS_SAID = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4}
_COUNT = r"(?P<n>\d{1,3}(?:\.\d{1,2})?|an?|one|two|three|four)"
_HALF = r"(?P<half>\s+and\s+a\s+half)?"
_THEN_HALF = r"(?P<half2>\s+and\s+a\s+half)?"  # "an hour and a half"
_MIN = r"(?:minutes?|mins?|min\.?)"
_HOUR = r"(?:hours?|hrs?|hr\.?)"
_KIND = r"(?:session|appointment|visit|call|meeting|slot)s?"
# Each: a count and its unit, in words that can only mean the session's length ("in 90
# minutes" is a start, "30 minutes later" a shift, "for 6 weeks" a series: none match).
_SAID = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        rf"\b(?:for\s+)?(?P<halfhour>half\s+an\s+hour)[-\s]+(?:long\b|{_KIND}\b)",
        r"\bfor\s+(?P<halfhour2>half\s+an\s+hour)\b",
        rf"\b(?:for|lasting|lasts?|make\s+it|(?:length|duration)\s*(?:[:=]|is|of)?)\s+"
        rf"(?:about\s+)?{_COUNT}{_HALF}[-\s]*(?P<unit>{_MIN}|{_HOUR}){_THEN_HALF}"
        rf"(?!\s+(?:later|earlier|before|after|sooner|ago|from\s+now))\b(?:[-\s]+long\b)?",
        rf"\b{_COUNT}{_HALF}[-\s]*(?P<unit>{_MIN}|{_HOUR}){_THEN_HALF}[-\s]+"
        rf"(?:long\b|{_KIND}\b)",
        rf"\b(?:length|duration)\s*(?:[:=]|is|of)?\s*(?P<bare>\d{{1,3}})\b"
        rf"(?!\s*(?:{_HOUR}|{_MIN}|:))",
    )
)


def _minutes(match: re.Match[str]) -> int | None:
    """The length a match says, in minutes; None when it is not a whole minute."""
    said = match.groupdict()
    phrase = said.get("halfhour") or said.get("halfhour2")
    if phrase:
        return 30
    if said.get("bare"):
        return int(said["bare"])
    count = said["n"].lower()
    try:
        amount = Decimal(_HOURS_SAID.get(count, count))
    except InvalidOperation:
        return None
    if said.get("half") or said.get("half2"):
        amount += Decimal("0.5")
    minutes = amount * 60 if said["unit"].lower().startswith("h") else amount
    return int(minutes) if minutes == minutes.to_integral_value() else None


def find_length(reader: Reader, ctx: Context) -> int | None:
    """The length said (the last one, when a second thought gives another); "not 60
    minutes" gives none. Its words are taken, so no other slot reads them."""
    found: list[int] = []
    for pattern in _SAID:
        for match, negated in reader.take_all(pattern, "length"):
            minutes = _minutes(match)
            if minutes is not None and not negated:
                found.append(minutes)
    return found[-1] if found else None


def _refuse(minutes: int, practice: Practice) -> str | None:
    """Within the bounds, or one of the practice's own lengths (a service's may be longer)."""
    own = {practice.session_minutes, *(service.minutes for service in practice.services)}
    if SHORTEST <= minutes <= LONGEST or minutes in own:
        return None
    return (
        f"A session can last {SHORTEST} minutes to {LONGEST // 60} hours, not {minutes} "
        "minutes; say a length like “for 50 minutes”."
    )


def _said(minutes: int, _practice: Practice) -> str:
    hours, rest = divmod(minutes, 60)
    words = f"{minutes} minutes"
    if hours and minutes > 60:
        words += f" ({hours} h {rest:02d})" if rest else f" ({hours} hours)"
    return f"The session will last {words}."


SLOT: SlotDef[int] = SlotDef(
    name="length",
    find=find_length,
    before="amount",  # its words have a unit: never an amount, a phone or a shift
    read=read_id,
    refuse=_refuse,
    said=_said,
    apply=lambda spec, minutes: dataclasses.replace(spec, duration_min=minutes),
    shown_in="when",
)
