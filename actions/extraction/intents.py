"""What the clinician wants besides slot values: an intent (cancel, back, save, ...), a slot
they want to change ("change the date"), or a shift of the time or date they gave ("push it
back 30 minutes", "an hour later", "a day earlier")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from actions.extraction.reader import Context, Reader, words

CHANGE_WORDS = {
    "time zone": "participant_tz", "timezone": "participant_tz", "zone": "participant_tz",
    "channel": "invite_channel", "invitation": "invite_channel", "invite": "invite_channel",
    "e-mail": "email", "email": "email", "e-mail address": "email", "email address": "email",
    "address": "email", "phone number": "phone", "phone": "phone", "number": "phone",
    "mobile": "phone", "cell": "phone", "participant": "participant", "client": "participant",
    "patient": "participant", "name": "participant", "date": "date", "day": "date",
    "time": "time", "documents": "documents", "document": "documents", "package": "documents",
    "forms": "documents", "paperwork": "documents", "payment": "payment", "service": "service",
    "amount": "amount", "price": "amount", "fee": "amount",
}  # fmt: skip
_CHANGE = re.compile(
    r"\b(?:change|edit|update|fix|correct|modify|different|another|new|wrong)\s+"
    r"(?:the\s+|a\s+|my\s+|their\s+|his\s+|her\s+)?"
    rf"({words(*(re.escape(word) for word in CHANGE_WORDS))})s?\b"
    # "... to 11", "... to London": the words after it answer that slot (message.py).
    r"(?:\s+(?:to|is|should\s+be)\b|\s*:)?",
    re.IGNORECASE,
)

# A refusal is read before any intent: "don't save", "do not send it yet", "no, not yet",
# "hold off", "wait", "don't cancel it" do nothing, and say so. A negation word reaches
# over at most two words to the verb ("I don't want to save"); "send" refused with what
# would be sent named ("don't send an invite", "don't notify her") is no invitation
# (channels), not a refusal.
_NEGATOR = r"(?:don'?t|dont|don’t|do\s+not|doesn'?t|never|no\s+need\s+to|not\s+going\s+to|won'?t)"
_REFUSED_VERB = (
    r"(?:save|book|submit|confirm|finali[sz]e|schedule|go\s+ahead|cancel|delete|remove|drop"
    r"|discard|abort|stop|turn\s+off|change|undo|start\s+over|restart|reset"
    r"|send(?!\s+(?:an?\s+|the\s+|any\s+|them\s+|her\s+|him\s+)?(?:invit|anything|e-?mail"
    r"|text|sms|link|reminder|message|notification)))"
)
REFUSAL = re.compile(
    rf"\b{_NEGATOR}\s+(?:[\w'’]+\s+){{0,2}}?{_REFUSED_VERB}\b(?:\s+(?:it|this|that|them))?"
    r"(?:\s+(?:just\s+)?yet)?"
    r"|\bnot\s+(?:just\s+)?(?:yet|ready|so\s+fast)\b|\bhold\s+(?:off|on|up|it)\b|\bhang\s+on\b"
    r"|^\W*(?:no\W+)?wait\b(?:\s+(?:a\s+)?(?:sec|second|moment|minute|min|bit))?"
    r"|\b(?:one|a|just\s+a)\s+(?:sec|second|moment|min|minute)\b"
    r"|\bgive\s+me\s+a\s+(?:sec|second|moment|minute)\b"
    r"|^\W*(?:maybe\s+|ok\W+)?later\W*$|\blet\s+me\s+(?:check|think|confirm|double[\s-]check)\b"
    r"|\bi'?ll\s+(?:check|confirm|get\s+back)\b",
    re.IGNORECASE,
)
# What a refusal refuses when it names cancelling ("don't cancel it", "no need to delete").
_CANCEL_WORD = re.compile(r"\b(?:cancel|delete|remove|drop|discard|abort)", re.IGNORECASE)


def refusal(text: str) -> str | None:
    """ "save" when the message refuses to save (or to go on: "wait", "not yet"),
    "cancel" when it refuses to cancel, None when it refuses nothing."""
    found = REFUSAL.search(text)
    if found is None:
        return None
    return "cancel" if _CANCEL_WORD.search(found.group()) else "save"


INTENTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (intent, re.compile(pattern, re.IGNORECASE))
    for intent, pattern in (
        ("hold", REFUSAL.pattern),
        ("cancel", r"\b(?:cancel|never\s*mind|forget\s+it|abort|quit)\b"),
        ("restart", r"\b(?:start(?:\s+all)?\s+over|start\s+again|restart|reset|from\s+scratch)\b"),
        # "back" alone, not "push it back": a shift is taken before intents are looked for.
        ("back", r"\b(?:go\s+back|undo|previous\s+question)\b|^\W*back\W*$"),
        ("help", r"\b(?:help|what\s+can\s+i\s+(?:say|do|type)|how\s+does\s+this\s+work)\b"),
        (
            "save",
            r"\b(?:save|confirm|book\s+it|looks\s+(?:good|great|right|fine)|lgtm|submit"
            r"|sounds\s+(?:good|great|right)|go\s+ahead|all\s+good|that\s+works|ship\s+it)\b"
            r"|^\W*(?:perfect|great|good|done)\W*$",
        ),
        ("affirm", r"\b(?:yes|yeah|yep|yup|sure|ok|okay|correct|affirmative|that'?s\s+right)\b"),
        ("deny", r"\b(?:no|nope|nah|not\s+now|no\s+thanks)\b"),
    )
)
_SINGLE_LETTER_INTENTS = {
    "y": "affirm", "n": "deny", "?": "help", "??": "help",
    # Emoji typed alone: a thumbs up is a yes (at the summary it saves, as "yes" does).
    "👍": "affirm", "👍🏻": "affirm", "👍🏼": "affirm", "👍🏽": "affirm", "👍🏾": "affirm",
    "👍🏿": "affirm", "✅": "affirm", "👌": "affirm", "👎": "deny", "❌": "deny", "✋": "hold",
    "🛑": "hold", "⏸️": "hold", "⏸": "hold",
}  # fmt: skip


def has_intent(text: str) -> bool:
    return any(pattern.search(text) for _, pattern in INTENTS)


def find_intent(reader: Reader, ctx: Context) -> str | None:
    whole = reader.text.strip().lower()
    if whole in _SINGLE_LETTER_INTENTS:
        reader.clear("intent")
        return _SINGLE_LETTER_INTENTS[whole]
    found = [intent for intent, pattern in INTENTS if reader.take_all(pattern, "intent")]
    refused = REFUSAL.search(reader.text)
    if "hold" not in found and refused and _only_service_inside(reader, refused.span()):
        return "hold"  # "let me check": a refusal, though the service finder took "check"
    return found[0] if found else None


def _only_service_inside(reader: Reader, span: tuple[int, int]) -> bool:
    """Whether the words of this span were taken by nothing but the service finder (a
    distinctive word of a service's name, like "check" of "Brief check-in")."""
    start, end = span
    inside = {slot for a, b, slot in reader.claims if a < end and b > start}
    return inside <= {"service", "intent"}


def find_change(reader: Reader, ctx: Context) -> str | None:
    taken = reader.take_all(_CHANGE, "change")
    if not taken:
        return None
    return CHANGE_WORDS[" ".join(taken[0][0].group(1).lower().split())]


# --- shifts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shift:
    """Move the start by this much: minutes for the time, days for the date."""

    minutes: int = 0
    days: int = 0


_AMOUNTS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10,
    "fifteen": 15, "twenty": 20, "thirty": 30, "forty five": 45, "forty-five": 45,
    "a couple of": 2, "a couple": 2, "couple of": 2, "half an": 0.5, "half a": 0.5,
    "a half": 0.5, "a quarter of an": 0.25, "quarter of an": 0.25, "an hour and a half": 1.5,
}  # fmt: skip
_UNITS = {
    "minute": 1, "minutes": 1, "min": 1, "mins": 1, "m": 1, "hour": 60, "hours": 60, "hr": 60,
    "hrs": 60, "h": 60, "day": 1440, "days": 1440, "week": 10080, "weeks": 10080,
}  # fmt: skip
_AMOUNT = rf"(\d{{1,3}}(?:\.5)?|{words(*(re.escape(a) for a in _AMOUNTS))})"
_UNIT = rf"({words(*_UNITS)})\b"
_VERB = r"(?:push|move|bump|shift|slide|make|put|set|take|bring)(?:\s+(?:it|that|the\s+\w+|this))?"
_SHIFT = re.compile(
    rf"\b(?:{_VERB}\s+(back|later|forward|up|earlier|ahead|down|out)\s+(?:by\s+)?{_AMOUNT}\s*{_UNIT}"
    rf"|(?:{_VERB}\s+)?(?:by\s+)?{_AMOUNT}\s*{_UNIT}\s+(later|earlier|sooner|after|before|back"
    r"|forward|ahead)(?!\s+(?:tomorrow|today|tonight|next|this|that|the|\w+day\b|\d|(?:jan|feb"
    r"|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b)))"
    r"|\ban\s+hour\s+and\s+a\s+half\s+(later|earlier|sooner)\b",
    re.IGNORECASE,
)


def _signed(direction: str) -> int:
    return 1 if direction.lower() in ("back", "later", "after", "down", "out") else -1


_SHIFT_HINT = re.compile(r"hour|min|day|week|hr|\d\s*[hm]\b", re.IGNORECASE)


# "the day after", "the next day", "the week before": the draft's date moved (not "the day
# after tomorrow" nor "the day after Dec 3", which are dates of their own).
_NEIGHBOUR = re.compile(
    r"\bthe\s+(?:(day|week)\s+(after|before)"
    r"(?!\s+(?:tomorrow|today|tonight|next|this|that|\w+day\b|\d|(?:jan|feb|mar|apr|may|jun"
    r"|jul|aug|sep|oct|nov|dec)[a-z]*\b))"
    r"|(next|following|previous)\s+(day|week))\b",
    re.IGNORECASE,
)


def find_shift(reader: Reader, ctx: Context) -> Shift | None:
    if not _SHIFT_HINT.search(reader.rest):
        return None  # every shift names its unit
    taken = reader.take_all(_SHIFT, "shift")
    if not taken:
        neighbour = reader.take_all(_NEIGHBOUR, "shift")
        if not neighbour:
            return None
        match = neighbour[0][0]
        unit = (match.group(1) or match.group(4)).lower()
        later = (match.group(2) or match.group(3)).lower() in ("after", "next", "following")
        return Shift(days=(1 if unit == "day" else 7) * (1 if later else -1))
    match = taken[0][0]
    if match.group(7):
        amount, unit, direction = "1.5", "hour", match.group(7)
    elif match.group(1):
        direction, amount, unit = match.group(1), match.group(2), match.group(3)
    else:
        amount, unit, direction = match.group(4), match.group(5), match.group(6)
    amount = " ".join(amount.lower().split())
    count = float(amount) if amount[0].isdigit() else float(_AMOUNTS[amount])
    minutes = round(count * _UNITS[unit.lower()]) * _signed(direction)
    if abs(minutes) >= 1440 and minutes % 1440 == 0:
        return Shift(days=minutes // 1440)
    return Shift(minutes=minutes)
