"""Working hours: the days and times a clinician sees clients, in their own zone.

One reading of an hours spec for every path (the practice file, the conversation, App
Home, the command line): "Mon-Fri 08:00-18:00", "Mon-Thu 9-5", "weekdays 8:30-17:00",
"9 to 5 mon-thu", several ranges "Mon 9-12, Wed 13-17". `parse_hours` returns
`WorkingHours` or raises `HoursError`, one sentence saying what could not be read.
`WorkingHours.spec` is the stored form (read back by `parse_hours` to the same value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SHORT = tuple(d[:3] for d in DAY_NAMES)
_DAY_WORDS = {
    "mon": 0, "monday": 0, "mondays": 0, "tue": 1, "tues": 1, "tuesday": 1, "tuesdays": 1,
    "wed": 2, "weds": 2, "wednesday": 2, "wednesdays": 2, "thu": 3, "thur": 3, "thurs": 3,
    "thursday": 3, "thursdays": 3, "fri": 4, "friday": 4, "fridays": 4, "sat": 5,
    "saturday": 5, "saturdays": 5, "sun": 6, "sunday": 6, "sundays": 6,
}  # fmt: skip
_GROUPS = {
    "weekdays": frozenset(range(5)), "weekday": frozenset(range(5)),
    "weekends": frozenset({5, 6}), "weekend": frozenset({5, 6}),
    "daily": frozenset(range(7)), "every day": frozenset(range(7)),
    "everyday": frozenset(range(7)), "all week": frozenset(range(7)),
}  # fmt: skip
WEEKDAYS = frozenset(range(5))
MAX_CHARS = 200

_DAY = r"(?:" + "|".join(sorted(_DAY_WORDS, key=len, reverse=True)) + r")\.?"
_GROUP = "|".join(sorted((g.replace(" ", r"\s+") for g in _GROUPS), key=len, reverse=True))
_DAYS = re.compile(
    rf"\b(?:(?P<group>{_GROUP})|(?P<first>{_DAY})(?:\s*(?:-|–|to|through|thru|until)\s*"
    rf"(?P<last>{_DAY}))?)(?![\w])",
    re.IGNORECASE,
)
_CLOCK = r"(?:(\d{1,2})(?:[:.h](\d{2}))?\s*(?:([ap])\.?m?\.?\b)?|(noon|midnight))"
_TIMES = re.compile(
    rf"(?<![\w:]){_CLOCK}\s*(?:-|–|—|\bto\b|\buntil\b|\btill\b|\btil\b)\s*{_CLOCK}(?![\w:])",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"\b(?:from|on|and|at|my|working|work|hours|are|is|i|every|only|the)\b|[,;:&+/]",
    re.IGNORECASE,
)


class HoursError(ValueError):
    """An hours spec that cannot be read; str(err) is one sentence for the clinician."""


@dataclass(frozen=True)
class Span:
    """One range of hours on some days; minutes from midnight, `end` up to 24:00."""

    days: frozenset[int]
    start: int
    end: int


@dataclass(frozen=True)
class WorkingHours:
    spans: tuple[Span, ...]

    def contains(self, weekday: int, minute_of_day: int) -> bool:
        """Whether a start at this wall time on this weekday (0 = Monday) is inside."""
        return any(weekday in s.days and s.start <= minute_of_day < s.end for s in self.spans)

    def bounds(self) -> tuple[int, int]:
        """The hours (first, last) spanning every range: what close calls ("at 7") read."""
        first = min(s.start for s in self.spans) // 60
        last = -(-max(s.end for s in self.spans) // 60)
        return first, last

    @property
    def spec(self) -> str:
        """The stored form: "Mon-Thu 09:00-17:00, Fri 09:00-12:00"."""
        return ", ".join(f"{_days_text(s.days, _SHORT)} {_hhmm(s.start)}-{_hhmm(s.end)}"
                         for s in self.spans)  # fmt: skip

    def said(self) -> str:
        """In words: "Monday to Thursday, 9:00 AM to 5:00 PM"."""
        return "; ".join(
            f"{_days_text(s.days, DAY_NAMES, ' to ')}, {_clock(s.start)} to {_clock(s.end)}"
            for s in self.spans
        )


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _clock(minutes: int) -> str:
    if minutes in (0, 24 * 60):
        return "midnight"
    hour, minute = divmod(minutes, 60)
    return f"{hour % 12 or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}"


def _days_text(days: frozenset[int], names: tuple[str, ...], dash: str = "-") -> str:
    """Consecutive days as a range: {0,1,2,4} -> "Mon-Wed, Fri" (in `names`)."""
    runs: list[tuple[int, int]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    parts = [names[a] if a == b else f"{names[a]}{dash}{names[b]}" for a, b in runs]
    return " & ".join(parts) if dash != "-" else ",".join(parts)


def _day(word: str) -> int:
    return _DAY_WORDS[word.lower().rstrip(".")]


def _days_in(match: re.Match[str]) -> frozenset[int]:
    if match.group("group"):
        return _GROUPS[" ".join(match.group("group").lower().split())]
    first = _day(match.group("first"))
    if match.group("last") is None:
        return frozenset({first})
    last = _day(match.group("last"))
    count = (last - first) % 7 + 1
    return frozenset((first + i) % 7 for i in range(count))


def _minutes(hour: str | None, minute: str | None, word: str | None) -> tuple[int, bool]:
    """(minutes from midnight, whether am/pm or a 24-hour clock settled it)."""
    if word:
        return (12 * 60 if word.lower() == "noon" else 24 * 60), True
    assert hour is not None
    h, m = int(hour), int(minute or 0)
    if h > 24 or m > 59 or (h == 24 and m):
        raise HoursError(f"“{hour}:{minute or '00'}” isn't a time of day.")
    return h * 60 + m, h == 0 or h > 12 or hour.startswith("0")


def _with_meridiem(minutes: int, meridiem: str | None, spoken: str) -> int:
    if meridiem is None:
        return minutes
    hour = minutes // 60
    if not 1 <= hour <= 12:
        raise HoursError(f"“{spoken}” isn't a time of day; say 1pm, or 13:00 without am/pm.")
    return (hour % 12 + (12 if meridiem.lower() == "p" else 0)) * 60 + minutes % 60


def _range(match: re.Match[str]) -> tuple[int, int]:
    """ "9-5" is 9 AM to 5 PM, "8:30-17:00" as written, "9-5pm", "1-5" (1 PM to 5 PM)."""
    h1, m1, a1, w1, h2, m2, a2, w2 = match.groups()
    spoken = match.group().strip()
    start, start_sure = _minutes(h1, m1, w1)
    end, end_sure = _minutes(h2, m2, w2)
    if w1 and w1.lower() == "midnight":
        start = 0
    start, end = _with_meridiem(start, a1, spoken), _with_meridiem(end, a2, spoken)
    if end == 12 * 60 and a2 and a2.lower() == "a":
        end = 24 * 60  # "to 12am": midnight at the end of the day
    if not (a1 or start_sure):
        if a2 and a2.lower() == "p" and start + 12 * 60 < end:
            start += 12 * 60  # "1-5pm"
        elif not (a2 or end_sure) and start < 7 * 60:
            start += 12 * 60  # "1-5": an afternoon
    if not (a2 or end_sure) and end <= start and end + 12 * 60 > start:
        end += 12 * 60  # "9-5": ends in the afternoon
    if end <= start:
        raise HoursError(
            f"“{spoken}” ends before it starts; give the start first, like 9-5 or 08:00-18:00."
        )
    return start, end


EXAMPLE = "like “Mon-Fri 9-5”, “Mon-Thu 09:00-17:00” or “Mon 9-12, Wed 13-17”"


def parse_hours(text: str) -> WorkingHours:
    """Working hours from a spec; days said once apply to the ranges after them."""
    if len(text) > MAX_CHARS:
        raise HoursError(f"That's too long for working hours; say them {EXAMPLE}.")
    rest = text
    items: list[tuple[int, str, object]] = []
    for match in _TIMES.finditer(text):
        items.append((match.start(), "time", _range(match)))
    rest = _blank(rest, [m.span() for m in _TIMES.finditer(text)])
    for match in _DAYS.finditer(rest):
        items.append((match.start(), "days", _days_in(match)))
    rest = _blank(rest, [m.span() for m in _DAYS.finditer(rest)])
    left = " ".join(_FILLER.sub(" ", rest).split())
    if left and not any(kind == "time" for _, kind, _ in items):
        said = " ".join(text.split())
        raise HoursError(f"I couldn't read “{said}” as working hours; say them {EXAMPLE}.")
    if left:
        raise HoursError(f"I couldn't read “{left}” in your working hours; say them {EXAMPLE}.")
    items.sort(key=lambda item: item[0])
    times = [value for _, kind, value in items if kind == "time"]
    if not times:
        raise HoursError(f"Those have no hours in them; say them {EXAMPLE}.")
    spans: list[Span] = []
    days: set[int] = set()
    pending: list[tuple[int, int]] = []  # ranges said before their days ("9 to 5 mon-thu")
    last_kind = ""
    for _, kind, value in items:
        if kind == "days":
            assert isinstance(value, frozenset)
            if last_kind != "days":
                days = set()
            days |= value
            spans += [Span(frozenset(days), a, b) for a, b in pending]
            pending = []
        else:
            assert isinstance(value, tuple)
            if days and last_kind == "days":
                spans.append(Span(frozenset(days), *value))
            elif spans and not pending:
                spans.append(Span(spans[-1].days, *value))  # "Mon 9-12 and 13-17"
            else:
                pending.append(value)
        last_kind = kind
    spans += [Span(WEEKDAYS, a, b) for a, b in pending]  # no days said: Monday to Friday
    found = WorkingHours(tuple(spans))
    if len(found.spec) > MAX_CHARS:  # what the store keeps
        raise HoursError(f"That's too many ranges for working hours; say them {EXAMPLE}.")
    return found


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text
