"""Series in the clinician's words: parse a recurrence, expand it into starts, and say it.

"every Tuesday at 10am for 6 weeks", "weekly for 8 sessions", "every other Thursday until
March 1", "same time next week": `parse_recurrence` reads the repeating part of a message
into a typed `Recurrence` (weekday, interval in weeks, count or until) with the spans it
claimed, so the rest ("at 10am") is left to the time slot; `expand` turns it into starts
through the one rule for a new start (`starts.check_start`), refusing the whole series
(nothing half-written) when it is longer than the practice allows or any occurrence is past
or skipped by the clocks; `summary_lines` lists the first few dates, the count and the
overlaps for the summary before Save. Pure: no store, no Slack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ground.formatting import when
from ground.practice import Practice
from scheduling.starts import check_start

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekday(name: str) -> str:
    """A weekday word ("Tue", "Thursdays") as the named group `name`."""
    return (
        rf"(?P<{name}>mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)"
        r"(?:day|nesday|sday|rsday|urday)?s?"
    )


_DAY = _weekday("day")
_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}
_NUMBERS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_N = r"(?P<n>\d{1,3}|" + "|".join(_NUMBERS) + r")"

# The repeating part: what repeats and how often.
_EVERY = re.compile(
    r"\b(?:"
    r"every\s+(?P<other>other|second|2nd)\s+(?:week\s+on\s+)?" + _DAY + r"|"
    r"every\s+(?P<other_week>other|second)\s+week|"
    r"every\s+(?P<k>[1-9]|two|three|four)\s+weeks(?:\s+on\s+" + _weekday("day2") + r")?|"
    r"(?:every|each)\s+" + _weekday("day3") + r"|"
    r"(?P<fortnightly>fortnightly|biweekly|bi-weekly)|"
    r"(?P<weekly>weekly|every\s+week|each\s+week)"
    r")\b",
    re.IGNORECASE,
)
_ON_DAYS = re.compile(r"\bon\s+" + _DAY + r"\b", re.IGNORECASE)
_FOR = re.compile(
    r"\bfor\s+(?:the\s+next\s+)?" + _N + r"\s+(?P<unit>weeks?|sessions?|times|occurrences|visits)\b"
    r"|\b" + _N.replace("?P<n>", "?P<n2>") + r"\s+(?P<unit2>times|sessions)\b",
    re.IGNORECASE,
)
_UNTIL = re.compile(
    r"\b(?:until|till|til|through|thru)\s+(?:(?P<mname>[a-z]{3,9})\.?\s+(?P<mday>\d{1,2})"
    r"(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{4}))?|(?P<num_m>\d{1,2})/(?P<num_d>\d{1,2})"
    r"(?:/(?P<num_y>\d{2,4}))?)\b",
    re.IGNORECASE,
)
_NEXT_WEEK = re.compile(
    r"\bsame\s+time\s+(?:next\s+week|in\s+(?P<n>\d|two|three|four)\s+weeks)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Recurrence:
    """A weekly series: every `interval` weeks (on `weekday`, 0 = Monday, when said),
    for `count` occurrences or until `until` (inclusive); `spans` are the parts of the
    text it was read from."""

    interval: int = 1
    weekday: int | None = None
    count: int | None = None
    until: date | None = None
    spans: tuple[tuple[int, int], ...] = ()

    def describe(self) -> str:
        """'every week', 'every other Thursday', 'every 3 weeks on Monday'."""
        day = WEEKDAYS[self.weekday].capitalize() if self.weekday is not None else None
        if self.interval == 1:
            return f"every {day}" if day else "every week"
        if self.interval == 2:
            return f"every other {day}" if day else "every other week"
        return f"every {self.interval} weeks" + (f" on {day}" if day else "")


def _day(word: str | None) -> int | None:
    if not word:
        return None
    return next(i for i, name in enumerate(WEEKDAYS) if name.startswith(word.lower()[:3]))


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.lower()]


def next_week_shift(text: str) -> int | None:
    """'same time next week' -> 1, 'same time in two weeks' -> 2; None otherwise."""
    found = _NEXT_WEEK.search(text)
    if found is None:
        return None
    return _number(found.group("n")) if found.group("n") else 1


def parse_recurrence(text: str, today: date) -> Recurrence | None:
    """The series a message asks for, or None when it asks for none.

    Only a word of repetition makes a series ("for 6 weeks" alone is not one). `today`
    (in the clinician's zone) places an "until" without a year on its next occurrence.
    """
    every = _EVERY.search(text)
    if every is None:
        return None
    g = every.groupdict()
    spans = [every.span()]
    interval = 1
    if g["other"] or g["other_week"] or g["fortnightly"]:
        interval = 2
    elif g["k"]:
        interval = _number(g["k"])
    weekday = _day(g.get("day") or g.get("day2") or g.get("day3"))
    if weekday is None:
        on = _ON_DAYS.search(text)
        if on is not None:
            weekday = _day(on.group("day"))
            spans.append(on.span())
    count = until = None
    length = _FOR.search(text)
    if length is not None:
        spans.append(length.span())
        n = _number(length.group("n") or length.group("n2"))
        unit = (length.group("unit") or length.group("unit2")).lower()
        count = -(-n // interval) if unit.startswith("week") else n
    end = _UNTIL.search(text)
    if end is not None:
        found = _until(end, today)
        if found is not None:
            until = found
            spans.append(end.span())
    return Recurrence(interval, weekday, count, until, tuple(sorted(spans)))


def _until(match: re.Match[str], today: date) -> date | None:
    if match.group("mname"):
        month = _MONTHS.get(match.group("mname").lower())
        day, year = int(match.group("mday")), match.group("year")
    else:
        month, day = int(match.group("num_m")), int(match.group("num_d"))
        year = match.group("num_y")
    if month is None:
        return None
    try:
        if year:
            return date(int(year) + (2000 if len(year) == 2 else 0), month, day)
        found = date(today.year, month, day)
        return found if found >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def first_day(recurrence: Recurrence, day: date) -> date:
    """The first occurrence: `day` itself, or the next of the recurrence's weekday."""
    if recurrence.weekday is None:
        return day
    return day + timedelta(days=(recurrence.weekday - day.weekday()) % 7)


@dataclass(frozen=True)
class Expansion:
    """The starts of a series, or why there are none; and notes for the summary."""

    starts: tuple[datetime, ...] = ()
    problem: str | None = None
    notes: tuple[str, ...] = ()


def expand(
    recurrence: Recurrence,
    first: date,
    hour: int,
    minute: int,
    tz: str,
    now: datetime,
    practice: Practice,
) -> Expansion:
    """Every occurrence from `first` at `hour:minute` in `tz`, each checked by the one rule
    for a new start; any problem refuses the whole series."""
    first = first_day(recurrence, first)
    step = timedelta(weeks=recurrence.interval)
    if recurrence.count is not None:
        count = recurrence.count
    elif recurrence.until is not None:
        if recurrence.until < first:
            return Expansion(
                problem=f"{_day_text(recurrence.until)} is before the first session "
                f"({_day_text(first)}): pick a later end date."
            )
        count = (recurrence.until - first).days // step.days + 1
    else:
        return Expansion(
            problem="How long should the series run? Say how many sessions "
            "(“for 6 weeks”, “for 8 sessions”) or until when (“until March 1”)."
        )
    if count < 1:
        return Expansion(problem="A series needs at least one session.")
    if count > practice.max_series:
        return Expansion(
            problem=f"That would be {count} sessions; a series here has at most "
            f"{practice.max_series}. Make it shorter (or book a second series later)."
        )
    starts: list[datetime] = []
    notes: list[str] = []
    for i in range(count):
        day = first + step * i
        check = check_start(day, hour, minute, tz, now, practice if i == 0 else None)
        if check.start is None:
            if i == 0:
                return Expansion(problem=check.problem)
            return Expansion(
                problem=f"The session on {_day_text(day)} can't be booked: {check.problem} "
                "Pick another time for the series."
            )
        if check.note:
            notes.append(check.note)
        starts.append(check.start)
    return Expansion(tuple(starts), None, tuple(notes))


def _day_text(day: date) -> str:
    return f"{day.strftime('%a, %b')} {day.day}, {day.year}"


def summary_lines(
    starts: Sequence[datetime],
    tz: str,
    recurrence: Recurrence | None = None,
    overlaps: Mapping[int, str] | None = None,
    *,
    shown: int = 3,
) -> list[str]:
    """The series as the summary before Save shows it: how many and how often, the first
    few dates, the last, and every occurrence that overlaps another session (by index:
    the words of `clashes.overlap_text`)."""
    if not starts:
        return []
    how = f", {recurrence.describe()}" if recurrence is not None else ""
    lines = [f"{len(starts)} sessions{how}:"]
    lines += [f"• {when(start, tz)}" for start in starts[:shown]]
    rest = len(starts) - shown
    if rest == 1:
        lines.append(f"• {when(starts[-1], tz)}")
    elif rest > 1:
        lines.append(f"• … and {rest} more, the last on {when(starts[-1], tz)}")
    for index, said in sorted((overlaps or {}).items()):
        lines.append(f"⚠ {when(starts[index], tz)}: {said}")
    return lines
