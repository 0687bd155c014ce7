"""Dates as clinicians type them: "tomorrow", "thu", "next Tuesday", "Dec 3", "the 15th",
"the second of January", "12/3", "in ten days", "two weeks from tomorrow", "a week from
Monday", and typos of weekday and month names (rapidfuzz, see ``typos``).

Every date is the clinician's wall date, read relative to ``ctx.now``; the common forms are
computed here, and ``dateparser`` is called at most once, only for month arithmetic and for
free-form answers when the date was asked for.
"""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass

import dateparser

from actions.extraction.intents import has_intent
from actions.extraction.reader import (
    Ambiguous,
    Context,
    ExtractionError,
    Reader,
    Rule,
    read_all_rules,
    words,
)
from actions.extraction.vocabulary import leftover_words

MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
MONTHS |= {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
MONTHS |= {"sept": 9}
WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "wed": 2,
    "weds": 2, "thursday": 3, "thurs": 3, "thur": 3, "thu": 3, "thr": 3, "friday": 4,
    "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
for _unit, _value in list(ORDINAL_WORDS.items())[:9]:
    ORDINAL_WORDS[f"twenty {_unit}"] = ORDINAL_WORDS[f"twenty-{_unit}"] = 20 + _value
ORDINAL_WORDS["thirty first"] = ORDINAL_WORDS["thirty-first"] = 31
COUNT_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14,
    "twenty": 20, "thirty": 30, "a couple of": 2, "a couple": 2, "couple of": 2, "a few": 3,
}  # fmt: skip

_MONTH = rf"({words(*MONTHS)})\b\.?"
_WEEKDAY = words(*WEEKDAYS)
_ORDINAL = r"(?:st|nd|rd|th)"
_DAY = rf"(\d{{1,2}}{_ORDINAL}?|{words(*(re.escape(w) for w in ORDINAL_WORDS))})"
_YEAR = r"(?:,?\s+(?:in\s+|of\s+)?(\d{4}))?"
_COUNT_WORD = rf"\d{{1,3}}|{words(*(re.escape(word) for word in COUNT_WORDS))}"
_COUNT = f"({_COUNT_WORD})"

_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_SLASH = re.compile(r"(?<![\d/.:$])\b(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\d/])")
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+(?:the\s+)?{_DAY}(?![\d:])\b{_YEAR}", re.IGNORECASE)
_DAY_MONTH = re.compile(rf"\b(?:the\s+)?{_DAY}\s+(?:of\s+|day\s+of\s+)?{_MONTH}{_YEAR}", re.I)
_DAY_OF_MONTH = re.compile(
    rf"\b(?:on\s+)?(?:the\s+(\d{{1,2}}){_ORDINAL}?|(\d{{1,2}}){_ORDINAL}"
    rf"|the\s+({words(*(re.escape(w) for w in ORDINAL_WORDS))}))\b(?![:/])"
    r"(?!\s+(?:of\s+)?(?:week|month|day))",
    re.IGNORECASE,
)
_KEYWORD = re.compile(
    r"\b(?:(?:the\s+)?day\s+after\s+(?:tomorrow|tmrw)|today|tonight|tomorrow|tmrw|tmr|tmw"
    r"|yesterday|this(?=\s+(?:morning|afternoon|evening)\b))\b",
    re.IGNORECASE,
)
_WEEKDAY_RE = re.compile(rf"\b(?:(next|this|coming)\s+)?({_WEEKDAY})\b\.?", re.IGNORECASE)
_FROM_BASE = rf"(today|now|tomorrow|tmrw|(?:next\s+|this\s+)?(?:{_WEEKDAY}))"
_IN_DAYS = re.compile(
    rf"\b(?:in\s+{_COUNT}\s+(days?|weeks?)|{_COUNT}\s+(days?|weeks?)\s+(?:from|after)\s+"
    rf"{_FROM_BASE}|{_COUNT}\s+(days?|weeks?)\s+(?:from\s+now|out|hence))\b",
    re.IGNORECASE,
)
# "the 20th of next month", "the second Monday of next month", "the last Friday in March",
# "Nov/3", "2027-jan-05", "3-14" (a date: no clock range ends at 14 when it starts at 3).
_NTH = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
        "4th": 4, "fifth": 5, "5th": 5, "last": -1}  # fmt: skip
_WHICH_MONTH = rf"(next|this|the\s+following)\s+month|{_MONTH}(?:\s+(\d{{4}}))?"
_DAY_OF_WHICH_MONTH = re.compile(
    rf"\b(?:the\s+)?{_DAY}\s+(?:of|in)\s+(?:(next|this|the\s+following)\s+month)\b", re.I
)
_NTH_WEEKDAY = re.compile(
    rf"\b(?:the\s+)?({words(*_NTH)})\s+({_WEEKDAY})\s+(?:of|in)\s+(?:{_WHICH_MONTH})",
    re.IGNORECASE,
)
_MONTH_SLASH = re.compile(
    rf"\b{_MONTH}[/\-](\d{{1,2}})(?:[/\-](\d{{4}}|\d{{2}}))?(?![\d/\-])", re.I
)
_ISO_MONTH = re.compile(rf"\b(\d{{4}})-{_MONTH}-(\d{{1,2}})\b", re.IGNORECASE)
_DASH = re.compile(r"(?<![\d/.:$\-])\b(\d{1,2})-(\d{1,2})(?![\d\-/:])")
_FORTNIGHT = re.compile(rf"\b(?:in\s+a\s+fortnight|a\s+fortnight\s+from\s+{_FROM_BASE})\b", re.I)
_NEXT_WEEK = re.compile(r"\b(?:next\s+week|this\s+time\s+next\s+week)\b", re.IGNORECASE)
# "Monday after next", "the Tuesday after next": a week after the next one.
_AFTER_NEXT = re.compile(rf"\b(?:the\s+)?({_WEEKDAY})\s+after\s+next\b", re.IGNORECASE)
# "next week Tuesday", "Tuesday next week", "Tuesday of next week": that day of the
# calendar week after this one (weeks start on Monday).
_DAY_NEXT_WEEK = re.compile(
    rf"\bnext\s+week\s*,?\s+(?:on\s+)?({_WEEKDAY})\b|\b({_WEEKDAY})\s+(?:of\s+)?next\s+week\b",
    re.IGNORECASE,
)
_MONTHS_AHEAD = re.compile(rf"\b(?:in\s+(?:{_COUNT_WORD})\s+months?|next\s+month)\b", re.I)
_BARE = re.compile(r"^\s*(\d{1,2})\s*$")


@dataclass(frozen=True)
class DateChoice:
    """A date, and the other date the words could mean ("next Thursday")."""

    date: datetime.date
    other: datetime.date | None = None
    weekday_only: bool = False  # read from a weekday's name alone ("Friday")


def ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _day_number(written: str) -> int:
    written = written.lower()
    if written in ORDINAL_WORDS:
        return ORDINAL_WORDS[written]
    return int(re.sub(r"\D", "", written))


def exact_date(year: int, month: int, day: int) -> datetime.date:
    if not 1 <= month <= 12:
        raise ExtractionError(f"There is no month {month}; try a date like Dec 3.")
    try:
        return datetime.date(year, month, day)
    except ValueError as err:
        name = calendar.month_name[month]
        if day <= 29 and month == 2:
            raise ExtractionError(f"February {year} has no 29th day.") from err
        raise ExtractionError(f"{name} has no {ordinal(day)} day.") from err


def next_month_day(month: int, day: int, today: datetime.date) -> datetime.date:
    """The next month/day on or after today, so "Jan 5" said in December is next January."""
    if not 1 <= month <= 12:
        raise ExtractionError(f"There is no month {month}; try a date like Dec 3.")
    if not 1 <= day <= (29 if month == 2 else calendar.monthrange(2001, month)[1]):
        raise ExtractionError(f"{calendar.month_name[month]} has no {ordinal(day)} day.")
    for year in range(today.year, today.year + 9):
        if day <= calendar.monthrange(year, month)[1]:
            candidate = datetime.date(year, month, day)
            if candidate >= today:
                return candidate
    raise AssertionError("a valid month/day recurs within 8 years")


def next_day_of_month(day: int, today: datetime.date) -> datetime.date:
    """The next date with this day of the month, on or after today ("the 15th")."""
    if not 1 <= day <= 31:
        raise ExtractionError(f"No month has a {ordinal(day)} day.")
    year, month = today.year, today.month
    for _ in range(13):
        if day <= calendar.monthrange(year, month)[1]:
            candidate = datetime.date(year, month, day)
            if candidate >= today:
                return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise AssertionError("every day 1..31 recurs within a year")


def _year(written: str | None) -> int | None:
    if not written:
        return None
    return 2000 + int(written) if len(written) == 2 else int(written)


def _month_day(month: int, day: int, year: int | None, ctx: Context) -> datetime.date:
    if year is None:
        return next_month_day(month, day, ctx.today)
    return exact_date(year, month, day)


def _from_iso(match: re.Match[str], _ctx: Context) -> datetime.date:
    year, month, day = (int(part) for part in match.groups())
    return exact_date(year, month, day)


def _from_slash(match: re.Match[str], ctx: Context) -> datetime.date:
    first, second = int(match.group(1)), int(match.group(2))
    month, day = (second, first) if ctx.day_first else (first, second)
    if not 1 <= month <= 12:
        order = "day/month, like 3/12" if ctx.day_first else "month/day, like 12/3"
        raise ExtractionError(f"“{match.group()}” isn't a date; write it as {order}.")
    return _month_day(month, day, _year(match.group(3)), ctx)


def _from_month_day(match: re.Match[str], ctx: Context) -> datetime.date:
    month = MONTHS[match.group(1).lower()]
    return _month_day(month, _day_number(match.group(2)), _year(match.group(3)), ctx)


def _from_day_month(match: re.Match[str], ctx: Context) -> datetime.date:
    month = MONTHS[match.group(2).lower()]
    return _month_day(month, _day_number(match.group(1)), _year(match.group(3)), ctx)


def _from_day_of_month(match: re.Match[str], ctx: Context) -> datetime.date:
    written = match.group(1) or match.group(2) or match.group(3)
    return next_day_of_month(_day_number(written), ctx.today)


def _from_keyword(match: re.Match[str], ctx: Context) -> datetime.date:
    word = match.group().lower()
    if "after" in word:
        shift = 2
    elif word.startswith("tom") or word.startswith("tm"):
        shift = 1
    elif word == "yesterday":
        shift = -1
    else:
        shift = 0
    return ctx.today + datetime.timedelta(days=shift)


def _weekday(when: str | None, name: str, ctx: Context) -> DateChoice:
    """Like dateparser: "Tuesday" and "next Tuesday" are the next Tuesday after today, and
    "this Tuesday" may be today. "next Thursday" said on a Tuesday may also mean the week
    after; that other date is offered."""
    target = WEEKDAYS[name.lower()]
    ahead = (target - ctx.today.weekday()) % 7
    if ahead == 0 and (when or "").lower() != "this":
        ahead = 7
    date = ctx.today + datetime.timedelta(days=ahead)
    if (when or "").lower() == "next" and target > ctx.today.weekday():
        return DateChoice(date, date + datetime.timedelta(days=7))
    return DateChoice(date)


def _from_weekday(match: re.Match[str], ctx: Context) -> DateChoice:
    found = _weekday(match.group(1), match.group(2), ctx)
    return DateChoice(found.date, found.other, weekday_only=True)


def _count(written: str) -> int:
    written = " ".join(written.lower().split())
    return int(written) if written.isdigit() else COUNT_WORDS[written]


def _base(start: str | None, ctx: Context) -> datetime.date:
    start = (start or "today").lower()
    weekday = _WEEKDAY_RE.fullmatch(start)
    if weekday:
        return _weekday(weekday.group(1), weekday.group(2), ctx).date
    return ctx.today + datetime.timedelta(
        days=1 if start.startswith("t") and start != "today" else 0
    )


def _from_days(match: re.Match[str], ctx: Context) -> datetime.date:
    """ "in 3 days", "two weeks from tomorrow", "a week from Friday", "ten days out"."""
    groups = match.groups()
    if groups[0]:
        count, unit, start = groups[0], groups[1], None
    elif groups[2]:
        count, unit, start = groups[2], groups[3], groups[4]
    else:
        count, unit, start = groups[5], groups[6], None
    days = _count(count) * (7 if unit.lower().startswith("week") else 1)
    return _base(start, ctx) + datetime.timedelta(days=days)


def _from_fortnight(match: re.Match[str], ctx: Context) -> datetime.date:
    return _base(match.group(1), ctx) + datetime.timedelta(days=14)


def _from_next_week(_match: re.Match[str], ctx: Context) -> datetime.date:
    return ctx.today + datetime.timedelta(days=7)


def _from_after_next(match: re.Match[str], ctx: Context) -> datetime.date:
    return _weekday(None, match.group(1), ctx).date + datetime.timedelta(days=7)


def _from_day_next_week(match: re.Match[str], ctx: Context) -> datetime.date:
    monday = ctx.today + datetime.timedelta(days=7 - ctx.today.weekday())
    return monday + datetime.timedelta(days=WEEKDAYS[(match.group(1) or match.group(2)).lower()])


def _from_dateparser(match: re.Match[str], ctx: Context) -> datetime.date | None:
    return dateparse(match.group(), ctx)


def dateparse(text: str, ctx: Context) -> datetime.date | None:
    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": ctx.now.replace(tzinfo=None),
        "DATE_ORDER": "DMY" if ctx.day_first else "MDY",
    }
    parsed = dateparser.parse(text[:200], languages=["en"], settings=settings)
    return parsed.date() if parsed else None


def _month_after(today: datetime.date, months: int) -> tuple[int, int]:
    total = today.year * 12 + today.month - 1 + months
    return total // 12, total % 12 + 1


def _from_day_of_which_month(match: re.Match[str], ctx: Context) -> datetime.date:
    year, month = _month_after(ctx.today, 0 if match.group(2).lower() == "this" else 1)
    return exact_date(year, month, _day_number(match.group(1)))


def _from_nth_weekday(match: re.Match[str], ctx: Context) -> datetime.date:
    nth, weekday = _NTH[match.group(1).lower()], WEEKDAYS[match.group(2).lower()]
    if match.group(3):
        year, month = _month_after(ctx.today, 0 if match.group(3).lower() == "this" else 1)
    else:
        month = MONTHS[match.group(4).lower()]
        year = int(match.group(5)) if match.group(5) else ctx.today.year
        if not match.group(5) and (year, month) < (ctx.today.year, ctx.today.month):
            year += 1
    days = [
        day
        for day in range(1, calendar.monthrange(year, month)[1] + 1)
        if datetime.date(year, month, day).weekday() == weekday
    ]
    if nth > len(days):
        raise ExtractionError(
            f"{calendar.month_name[month]} {year} has no {match.group(1).lower()} "
            f"{calendar.day_name[weekday]}."
        )
    return datetime.date(year, month, days[nth - 1 if nth > 0 else -1])


def _from_month_slash(match: re.Match[str], ctx: Context) -> datetime.date:
    month = MONTHS[match.group(1).lower()]
    return _month_day(month, int(match.group(2)), _year(match.group(3)), ctx)


def _from_iso_month(match: re.Match[str], _ctx: Context) -> datetime.date:
    return exact_date(int(match.group(1)), MONTHS[match.group(2).lower()], int(match.group(3)))


def _from_dash(match: re.Match[str], ctx: Context) -> datetime.date | None:
    first, second = int(match.group(1)), int(match.group(2))
    month, day = (second, first) if ctx.day_first else (first, second)
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    return _month_day(month, day, None, ctx)


def _from_bare(match: re.Match[str], ctx: Context) -> datetime.date:
    return next_day_of_month(int(match.group(1)), ctx.today)


RULES: tuple[Rule[datetime.date | DateChoice], ...] = (
    (_ISO, _from_iso),
    (_ISO_MONTH, _from_iso_month),
    (_NTH_WEEKDAY, _from_nth_weekday),
    (_DAY_OF_WHICH_MONTH, _from_day_of_which_month),
    (_MONTH_SLASH, _from_month_slash),
    (_SLASH, _from_slash),
    (_IN_DAYS, _from_days),
    (_FORTNIGHT, _from_fortnight),
    (_MONTH_DAY, _from_month_day),
    (_DAY_MONTH, _from_day_month),
    (_DAY_OF_MONTH, _from_day_of_month),
    (_KEYWORD, _from_keyword),
    (_AFTER_NEXT, _from_after_next),
    (_DAY_NEXT_WEEK, _from_day_next_week),
    (_NEXT_WEEK, _from_next_week),
    (_MONTHS_AHEAD, _from_dateparser),
    (_WEEKDAY_RE, _from_weekday),
    (_DASH, _from_dash),
)
ANSWER_RULES: tuple[Rule[datetime.date | DateChoice], ...] = (*RULES, (_BARE, _from_bare))


def find_date(reader: Reader, ctx: Context) -> DateChoice | None:
    rules = ANSWER_RULES if ctx.requested_slot == "date" else RULES
    said: list[datetime.date | DateChoice] = read_all_rules(reader, rules, ctx, "date")
    exact = [v for v in said if not (isinstance(v, DateChoice) and v.weekday_only)]
    # "Friday, Dec 4": the weekday names the date's own day, and is no other date.
    said = [
        v
        for v in said
        if not (isinstance(v, DateChoice) and v.weekday_only)
        or not any(_day_of(e).weekday() == v.date.weekday() for e in exact)
    ]
    days = list(dict.fromkeys(_day_of(v) for v in said))
    if len(days) > 1:
        # "tomorrow and Friday", "Friday Dec 5" (a Saturday): two sessions, or a slip.
        raise Ambiguous(
            "You gave more than one date: which one is this session?",
            "date",
            [(d.strftime("%A, %B %-d"), d.isoformat()) for d in days[:4]],
        )
    found = said[0] if said else None
    if found is None and ctx.requested_slot == "date":
        found = _date_answer(reader, ctx)
    if isinstance(found, datetime.date):
        return DateChoice(found)
    return found


def _day_of(value: DateChoice | datetime.date) -> datetime.date:
    return value.date if isinstance(value, DateChoice) else value


def _date_answer(reader: Reader, ctx: Context) -> datetime.date | None:
    """When the date was asked for, dateparser reads whatever is left, once."""
    left = leftover_words(reader.rest)
    if not left or has_intent(reader.rest):
        return None
    date = dateparse(" ".join(left), ctx)
    if date is None:
        raise ExtractionError(
            "I couldn't read that as a date; try tomorrow, Tuesday, Dec 3 or 12/3."
        )
    reader.clear("date")
    return date
