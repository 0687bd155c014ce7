"""Read scheduling slot values out of what a clinician typed.

Pure functions: no I/O, no Slack, no database. Every date is the clinician's wall time, read
relative to ``now`` (an aware datetime in the clinician's zone), so tests freeze nothing.

``extract`` finds every slot in one message by cutting spans out of the text in a fixed order
(e-mail, phone, amount, change request, time, date, zone, channel, documents, service, intent),
so nothing is read twice and a phone number is never read as a date; what is left over may be
the participant's name. The ``parse_*`` functions read one slot the conversation asked for and
raise ``ExtractionError`` with a sentence the clinician can act on.

Speed matters: spans are found with module-level regexes and the common dates are computed
here; ``dateparser`` is called at most once per span, only for what plain code cannot do well
(month arithmetic, free-form answers to "which date?").
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

import dateparser
import email_validator
import phonenumbers

SLOT_NAMES = (
    "date",
    "time",
    "phone",
    "email",
    "participant_tz",
    "invite_channel",
    "participant",
    "amount",
    "documents",
    "service",
)


class ExtractionError(ValueError):
    """A value that looked like a slot answer but is not valid; str(err) is one friendly
    sentence for the clinician."""


@dataclass(frozen=True)
class Extracted:
    date: datetime.date | None = None
    time: datetime.time | None = None
    phone: str | None = None
    email: str | None = None
    participant_tz: str | None = None
    invite_channel: str | None = None
    participant: str | None = None
    amount: Decimal | None = None
    documents: str | None = None
    service: str | None = None
    intent: str | None = None
    change: str | None = None
    problems: Mapping[str, str] = field(default_factory=dict)

    def slots(self) -> dict[str, object]:
        """The slot values that were found, by slot name."""
        found = ((name, getattr(self, name)) for name in SLOT_NAMES)
        return {name: value for name, value in found if value is not None}


@dataclass(frozen=True)
class _Context:
    now: datetime.datetime
    default_region: str = "US"
    packages: Mapping[str, str] = field(default_factory=dict)
    services: Mapping[str, str] = field(default_factory=dict)
    requested_slot: str | None = None

    @property
    def today(self) -> datetime.date:
        return self.now.date()

    @property
    def day_first(self) -> bool:
        return self.default_region.upper() not in ("US", "CA")


class _Reader:
    """The text still unread; taking a span replaces it with a space."""

    _NEGATION = re.compile(r"(?:instead\s+of|rather\s+than|\bnot)\s*$", re.IGNORECASE)

    def __init__(self, text: str) -> None:
        self.text = text
        self.rest = text

    def take_all(self, pattern: re.Pattern[str]) -> list[tuple[re.Match[str], bool]]:
        """Every match of pattern, each with whether it was negated ("instead of 3pm")."""
        matches = list(pattern.finditer(self.rest))
        if not matches:
            return []
        taken = [(m, bool(self._NEGATION.search(self.rest, 0, m.start()))) for m in matches]
        pieces, last = [], 0
        for match in matches:
            pieces.append(self.rest[last : match.start()])
            last = match.end()
        pieces.append(self.rest[last:])
        self.rest = " ".join(pieces)
        return taken

    def cut(self, start: int, end: int) -> None:
        self.rest = f"{self.rest[:start]} {self.rest[end:]}"


Converter = Callable[[re.Match[str], _Context], Any]
Rule = tuple[re.Pattern[str], Converter]


def _read_rules(reader: _Reader, rules: Iterable[Rule], ctx: _Context) -> Any:
    """Take every span the rules match; the first valid, non-negated value wins, else the
    first error is raised."""
    values: list[tuple[bool, Any]] = []
    errors: list[ExtractionError] = []
    for pattern, convert in rules:
        for match, negated in reader.take_all(pattern):
            try:
                value = convert(match, ctx)
            except ExtractionError as err:
                errors.append(err)
                continue
            if value is not None:
                values.append((negated, value))
    preferred = [value for negated, value in values if not negated] or [v for _, v in values]
    if preferred:
        return preferred[0]
    if errors:
        raise errors[0]
    return None


def _constant(value: object) -> Converter:
    return lambda _match, _ctx: value


def _words(*alternatives: str) -> str:
    """A regex alternation, longest first, so "time zone" wins over "time"."""
    return "|".join(sorted(alternatives, key=len, reverse=True))


# --- e-mail -------------------------------------------------------------------------------

_SLACK_LINK = re.compile(r"<(?:mailto|tel):([^|>]*)(?:\|([^>]*))?>")
_EMAIL = re.compile(r"[\w.+'\-]+@[\w\-]*(?:\.[\w\-]+)*")


def _email_from(match: re.Match[str], _ctx: _Context) -> str:
    return _email_address(match.group())


def _email_address(address: str) -> str:
    """One bare address, normalized; raises ExtractionError."""
    try:
        return email_validator.validate_email(address, check_deliverability=False).normalized
    except email_validator.EmailNotValidError as err:
        domain = address.partition("@")[2]
        if "." not in domain:
            raise ExtractionError(
                "That e-mail address has no domain; try something like jane@example.com."
            ) from err
        raise ExtractionError(
            f"“{address}” is not a valid e-mail address; try something like jane@example.com."
        ) from err


_EMAIL_RULES: tuple[Rule, ...] = ((_EMAIL, _email_from),)


# --- phone --------------------------------------------------------------------------------

# Digit groups joined by spaces, dots, dashes or parentheses; never right after a currency sign
# or a date/time separator, never followed by a letter ("3pm", "15th") or by "/" or ":".
_PHONE = re.compile(
    r"(?<![\w$€£/.:+\-])(?:\+\s?)?\(?\d+\)?(?:[ .\-]{1,2}\(?\d+\)?)*(?![\w/:%$]|[.,]\d)"
)
_PHONE_GROUP = re.compile(r"\+?\s?\(?\d+\)?")
_NOT_A_PHONE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-.]\d{1,2}[-.]\d{2,4}|\d+\.\d{1,2}")


def _example_phone(region: str) -> str:
    if region.upper() == "US":
        return "+1 617 555 0101"
    example = phonenumbers.example_number(region.upper())
    if example is None:
        return "+1 617 555 0101"
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _valid_phone(text: str, region: str) -> str | None:
    # phonenumbers' metadata counts the fictional 555-01xx numbers (+1 617 555 0101) as valid,
    # so is_valid_number is enough and still rejects numbers with impossible area codes.
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone_problem(text: str, region: str) -> ExtractionError:
    example = _example_phone(region)
    reasons = phonenumbers.ValidationResult
    try:
        reason = phonenumbers.is_possible_number_with_reason(phonenumbers.parse(text, region))
    except phonenumbers.NumberParseException as err:
        short = err.error_type in (
            phonenumbers.NumberParseException.TOO_SHORT_NSN,
            phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD,
        )
        reason = reasons.TOO_SHORT if short else reasons.INVALID_LENGTH
    if reason == reasons.INVALID_COUNTRY_CODE:
        return ExtractionError(f"I don't recognize that country code; try {example}.")
    if reason in (reasons.TOO_SHORT, reasons.INVALID_LENGTH) and _digit_count(text) < 8:
        return ExtractionError(f"That phone number looks too short; try {example}.")
    if reason == reasons.TOO_LONG:
        return ExtractionError(f"That phone number looks too long; try {example}.")
    return ExtractionError(f"That doesn't look like a working phone number; try {example}.")


def _digit_count(text: str) -> int:
    return sum(char.isdigit() for char in text)


def _looks_like_phone(text: str) -> bool:
    if _NOT_A_PHONE.fullmatch(text):
        return False
    digits = _digit_count(text)
    separated = digits >= 5 and ("-" in text or "." in text)
    return "+" in text or "(" in text or digits >= 7 or separated


def _find_phone(reader: _Reader, ctx: _Context) -> str | None:
    problem: ExtractionError | None = None
    for candidate in list(_PHONE.finditer(reader.rest)):
        text = candidate.group()
        if not _looks_like_phone(text):
            continue
        span = _longest_valid_run(candidate, ctx.default_region)
        if span is None:
            problem = problem or _phone_problem(text, ctx.default_region)
            reader.cut(*candidate.span())
            continue
        phone, start, end = span
        reader.cut(start, end)
        return phone
    if problem:
        raise problem
    return None


def _longest_valid_run(candidate: re.Match[str], region: str) -> tuple[str, int, int] | None:
    """The longest run of the candidate's digit groups that is a valid number, so a number
    that runs into a neighbouring figure ("+1 617 555 0101 15") is still found."""
    groups = [(m.start(), m.end()) for m in _PHONE_GROUP.finditer(candidate.group())]
    text, offset = candidate.group(), candidate.start()
    for length in range(len(groups), 0, -1):
        for first in range(len(groups) - length + 1):
            start, end = groups[first][0], groups[first + length - 1][1]
            piece = text[start:end]
            if _digit_count(piece) < 7:
                continue
            phone = _valid_phone(piece, region)
            if phone:
                return phone, offset + start, offset + end
    return None


# --- amount -------------------------------------------------------------------------------

_NUMBER = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
_AMOUNT_SIGN = re.compile(
    rf"(-\s*)?(?:US\$|\$|\busd\b)\s*(-\s*)?{_NUMBER}(?:\s*(?:dollars?|bucks|usd)\b)?",
    re.IGNORECASE,
)
_AMOUNT_WORD = re.compile(rf"(?<![\w.])(-\s*)?{_NUMBER}\s*(?:dollars?|bucks|usd)\b", re.I)
_AMOUNT_BARE = re.compile(rf"(?<![\w.])(-\s*)?{_NUMBER}(?![\w.%])")


def _amount_from_sign(match: re.Match[str], _ctx: _Context) -> Decimal:
    return _to_amount(match.group(3), negative=bool(match.group(1) or match.group(2)))


def _amount_from_word(match: re.Match[str], _ctx: _Context) -> Decimal:
    return _to_amount(match.group(2), negative=bool(match.group(1)))


def _to_amount(number: str, *, negative: bool) -> Decimal:
    cents = number.partition(".")[2]
    if len(cents) > 2:
        raise ExtractionError("An amount can have at most two decimals (cents), like 12.35.")
    try:
        amount = Decimal(number.replace(",", ""))
    except InvalidOperation as err:
        raise ExtractionError(f"I couldn't read “{number}” as an amount; try 120.") from err
    if negative or amount <= 0:
        raise ExtractionError("The amount must be more than $0.")
    return amount.quantize(Decimal("0.01"))


_AMOUNT_RULES: tuple[Rule, ...] = (
    (_AMOUNT_SIGN, _amount_from_sign),
    (_AMOUNT_WORD, _amount_from_word),
)
_AMOUNT_ANSWER_RULES = (*_AMOUNT_RULES, (_AMOUNT_BARE, _amount_from_word))


# --- change requests ----------------------------------------------------------------------

_CHANGE_WORDS = {
    "time zone": "participant_tz",
    "timezone": "participant_tz",
    "zone": "participant_tz",
    "channel": "invite_channel",
    "invitation": "invite_channel",
    "invite": "invite_channel",
    "e-mail": "email",
    "email": "email",
    "phone number": "phone",
    "phone": "phone",
    "number": "phone",
    "participant": "participant",
    "client": "participant",
    "name": "participant",
    "date": "date",
    "day": "date",
    "time": "time",
    "documents": "documents",
    "document": "documents",
    "package": "documents",
    "forms": "documents",
    "paperwork": "documents",
    "payment": "payment",
    "service": "service",
    "amount": "amount",
    "price": "amount",
    "fee": "amount",
}
_CHANGE = re.compile(
    r"\b(?:change|edit|update|fix|correct|modify|different|another|new|wrong)\s+"
    r"(?:the\s+|a\s+|my\s+|their\s+|his\s+|her\s+)?"
    rf"({_words(*(re.escape(word) for word in _CHANGE_WORDS))})s?\b",
    re.IGNORECASE,
)


def _change_from(match: re.Match[str], _ctx: _Context) -> str:
    return _CHANGE_WORDS[re.sub(r"\s+", " ", match.group(1).lower())]


_CHANGE_RULES: tuple[Rule, ...] = ((_CHANGE, _change_from),)


# --- time ---------------------------------------------------------------------------------

# "tonight" only peeks, so the date finder still reads it as today.
_PERIOD = r"(?:\s+(?:in\s+the\s+)?(morning|afternoon|evening)|(?=\s+(tonight)))?"
_TIME_MERIDIEM = re.compile(
    r"(?<![\d:.])\b(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?\s?m\b\.?", re.IGNORECASE
)
_TIME_CLOCK = re.compile(r"(?<![\d:./$])\b(\d{1,2}):(\d{2})(?![\d:])" + _PERIOD, re.IGNORECASE)
_TIME_OCLOCK = re.compile(r"\b(\d{1,2})\s*o'?\s?clock\b" + _PERIOD, re.IGNORECASE)
_TIME_AT = re.compile(
    r"(?:\bat|@)\s*(\d{1,2})(?!\d|:|/|\.\d|\s*(?:st|nd|rd|th)\b)\b" + _PERIOD, re.IGNORECASE
)
_TIME_WORD = re.compile(r"\b(noon|midday|midnight)\b", re.IGNORECASE)
_TIME_BARE = re.compile(r"(?<![\w.:/$])(\d{1,2})(?::(\d{2}))?(?![\w.:/%])" + _PERIOD, re.I)


def _time_of_day(hour: int, minute: int, spoken: str) -> datetime.time:
    if hour > 23 or minute > 59:
        raise ExtractionError(f"“{spoken}” isn't a time of day; try 3pm or 15:30.")
    return datetime.time(hour, minute)


def _time_from_meridiem(match: re.Match[str], _ctx: _Context) -> datetime.time:
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if not 1 <= hour <= 12:
        raise ExtractionError(
            f"“{match.group().strip()}” isn't a time of day; try 1pm, or 13:00 without am/pm."
        )
    pm = match.group(3).lower() == "p"
    return _time_of_day(hour % 12 + (12 if pm else 0), minute, match.group().strip())


def _bare_hour(hour: int, written: str, period: str | None) -> int:
    """Hours said without am/pm: 1..7 mean afternoon, 8..11 morning, 12 noon ("at 3" is 15:00);
    "07" written with a zero, or any hour past 12, is read as on a 24-hour clock."""
    if period:
        afternoon = period.lower() != "morning"
        if afternoon and hour < 12:
            return hour + 12
        return 0 if (not afternoon and hour == 12) else hour
    if 1 <= hour <= 7 and not written.startswith("0"):
        return hour + 12
    return hour


def _time_from_clock(match: re.Match[str], _ctx: _Context) -> datetime.time:
    written, minute = match.group(1), int(match.group(2))
    hour = _bare_hour(int(written), written, match.group(3) or match.group(4))
    return _time_of_day(hour, minute, match.group().strip())


def _time_from_hour(match: re.Match[str], _ctx: _Context) -> datetime.time:
    written, period = match.group(1), match.group(2) or match.group(3)
    return _time_of_day(_bare_hour(int(written), written, period), 0, match.group().strip())


def _time_from_bare(match: re.Match[str], _ctx: _Context) -> datetime.time:
    written, minute = match.group(1), int(match.group(2) or 0)
    hour = _bare_hour(int(written), written, match.group(3) or match.group(4))
    return _time_of_day(hour, minute, match.group().strip())


def _time_from_word(match: re.Match[str], _ctx: _Context) -> datetime.time:
    return datetime.time(0) if match.group(1).lower() == "midnight" else datetime.time(12)


_TIME_RULES: tuple[Rule, ...] = (
    (_TIME_MERIDIEM, _time_from_meridiem),
    (_TIME_CLOCK, _time_from_clock),
    (_TIME_OCLOCK, _time_from_hour),
    (_TIME_AT, _time_from_hour),
    (_TIME_WORD, _time_from_word),
)
_TIME_ANSWER_RULES = (*_TIME_RULES, (_TIME_BARE, _time_from_bare))


# --- date ---------------------------------------------------------------------------------

_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
_MONTHS |= {"sept": 9}
_MONTH = rf"({_words(*_MONTHS)})\b\.?"
_WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
_ORDINAL = r"(?:st|nd|rd|th)"
_YEAR = r"(?:,?\s+(\d{4}))?"

_DATE_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_DATE_SLASH = re.compile(r"(?<![\d/.:$])\b(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\d/])")
_DATE_MONTH_DAY = re.compile(
    rf"\b{_MONTH}\s+(?:the\s+)?(\d{{1,2}}){_ORDINAL}?(?![\d:])\b{_YEAR}", re.IGNORECASE
)
_DATE_DAY_MONTH = re.compile(
    rf"\b(?:the\s+)?(\d{{1,2}}){_ORDINAL}?\s+(?:of\s+)?{_MONTH}{_YEAR}", re.IGNORECASE
)
_DATE_ORDINAL = re.compile(
    rf"\b(?:on\s+)?(?:the\s+(\d{{1,2}}){_ORDINAL}?|(\d{{1,2}}){_ORDINAL})\b(?![:/])", re.I
)
_DATE_KEYWORD = re.compile(
    r"\b(?:(?:the\s+)?day\s+after\s+(?:tomorrow|tmrw)|today|tonight|tomorrow|tomorow|tmrw|tmr"
    r"|yesterday)\b",
    re.IGNORECASE,
)
_DATE_WEEKDAY = re.compile(
    rf"\b(?:(next|this|coming)\s+)?({_words(*_WEEKDAYS)})\b\.?", re.IGNORECASE
)
_COUNT_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "a few": 3,
}  # fmt: skip
_COUNT_WORD = rf"\d{{1,3}}|{_words(*(re.escape(word) for word in _COUNT_WORDS))}"
_COUNT = f"({_COUNT_WORD})"
_DATE_IN_DAYS = re.compile(
    rf"\b(?:in\s+{_COUNT}\s+(days?|weeks?)|{_COUNT}\s+(days?|weeks?)\s+(?:from|after)\s+"
    rf"(today|now|tomorrow|(?:next\s+|this\s+)?(?:{_words(*_WEEKDAYS)})))\b",
    re.IGNORECASE,
)
_DATE_NEXT_WEEK = re.compile(r"\bnext\s+week\b", re.IGNORECASE)
_DATE_MONTHS_AHEAD = re.compile(rf"\b(?:in\s+(?:{_COUNT_WORD})\s+months?|next\s+month)\b", re.I)
_DATE_BARE = re.compile(r"^\s*(\d{1,2})\s*$")


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _exact_date(year: int, month: int, day: int) -> datetime.date:
    if not 1 <= month <= 12:
        raise ExtractionError(f"There is no month {month}; try a date like Dec 3.")
    try:
        return datetime.date(year, month, day)
    except ValueError as err:
        name = calendar.month_name[month]
        if day <= 29 and month == 2:
            raise ExtractionError(f"February {year} has no 29th day.") from err
        raise ExtractionError(f"{name} has no {_ordinal(day)} day.") from err


def _next_month_day(month: int, day: int, today: datetime.date) -> datetime.date:
    """The next month/day on or after today, so "Jan 5" said in December is next January."""
    if not 1 <= month <= 12:
        raise ExtractionError(f"There is no month {month}; try a date like Dec 3.")
    if not 1 <= day <= (29 if month == 2 else calendar.monthrange(2001, month)[1]):
        raise ExtractionError(f"{calendar.month_name[month]} has no {_ordinal(day)} day.")
    for year in range(today.year, today.year + 9):
        if day <= calendar.monthrange(year, month)[1]:
            candidate = datetime.date(year, month, day)
            if candidate >= today:
                return candidate
    raise AssertionError("a valid month/day recurs within 8 years")


def _next_day_of_month(day: int, today: datetime.date) -> datetime.date:
    """The next date with this day of the month, on or after today ("the 15th")."""
    if not 1 <= day <= 31:
        raise ExtractionError(f"No month has a {_ordinal(day)} day.")
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


def _month_day(month: int, day: int, year: int | None, ctx: _Context) -> datetime.date:
    if year is None:
        return _next_month_day(month, day, ctx.today)
    return _exact_date(year, month, day)


def _date_from_iso(match: re.Match[str], _ctx: _Context) -> datetime.date:
    year, month, day = (int(part) for part in match.groups())
    return _exact_date(year, month, day)


def _date_from_slash(match: re.Match[str], ctx: _Context) -> datetime.date:
    first, second = int(match.group(1)), int(match.group(2))
    month, day = (second, first) if ctx.day_first else (first, second)
    if not 1 <= month <= 12:
        order = "day/month, like 3/12" if ctx.day_first else "month/day, like 12/3"
        raise ExtractionError(f"“{match.group()}” isn't a date; write it as {order}.")
    return _month_day(month, day, _year(match.group(3)), ctx)


def _date_from_month_day(match: re.Match[str], ctx: _Context) -> datetime.date:
    month = _MONTHS[match.group(1).lower()]
    return _month_day(month, int(match.group(2)), _year(match.group(3)), ctx)


def _date_from_day_month(match: re.Match[str], ctx: _Context) -> datetime.date:
    month = _MONTHS[match.group(2).lower()]
    return _month_day(month, int(match.group(1)), _year(match.group(3)), ctx)


def _date_from_ordinal(match: re.Match[str], ctx: _Context) -> datetime.date:
    return _next_day_of_month(int(match.group(1) or match.group(2)), ctx.today)


def _date_from_keyword(match: re.Match[str], ctx: _Context) -> datetime.date:
    word = match.group().lower()
    if "after" in word:
        shift = 2
    elif word.startswith("tom") or word.startswith("tmr"):
        shift = 1
    elif word == "yesterday":
        shift = -1
    else:
        shift = 0
    return ctx.today + datetime.timedelta(days=shift)


def _date_from_weekday(match: re.Match[str], ctx: _Context) -> datetime.date:
    """Like dateparser: "Tuesday" and "next Tuesday" are the next Tuesday after today, and
    "this Tuesday" may be today."""
    ahead = (_WEEKDAYS[match.group(2).lower()] - ctx.today.weekday()) % 7
    if ahead == 0 and (match.group(1) or "").lower() != "this":
        ahead = 7
    return ctx.today + datetime.timedelta(days=ahead)


def _count(written: str) -> int:
    return int(written) if written.isdigit() else _COUNT_WORDS[re.sub(r"\s+", " ", written)]


def _date_from_days(match: re.Match[str], ctx: _Context) -> datetime.date:
    """ "in 3 days", "two weeks from now", "a week from Friday"."""
    count, unit = (match.group(1), match.group(2)) if match.group(1) else match.group(3, 4)
    days = _count(count.lower()) * (7 if unit.lower().startswith("week") else 1)
    start = match.group(5) or "today"
    weekday = _DATE_WEEKDAY.fullmatch(start)
    if weekday:
        base = _date_from_weekday(weekday, ctx)
    else:
        base = ctx.today + datetime.timedelta(days=1 if start.lower() == "tomorrow" else 0)
    return base + datetime.timedelta(days=days)


def _date_from_next_week(_match: re.Match[str], ctx: _Context) -> datetime.date:
    return ctx.today + datetime.timedelta(days=7)


def _date_from_dateparser(match: re.Match[str], ctx: _Context) -> datetime.date | None:
    return _dateparse(match.group(), ctx)


def _dateparse(text: str, ctx: _Context) -> datetime.date | None:
    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": ctx.now.replace(tzinfo=None),
        "DATE_ORDER": "DMY" if ctx.day_first else "MDY",
    }
    parsed = dateparser.parse(text, languages=["en"], settings=settings)
    return parsed.date() if parsed else None


def _date_from_bare(match: re.Match[str], ctx: _Context) -> datetime.date:
    return _next_day_of_month(int(match.group(1)), ctx.today)


_DATE_RULES: tuple[Rule, ...] = (
    (_DATE_ISO, _date_from_iso),
    (_DATE_SLASH, _date_from_slash),
    (_DATE_MONTH_DAY, _date_from_month_day),
    (_DATE_DAY_MONTH, _date_from_day_month),
    (_DATE_ORDINAL, _date_from_ordinal),
    (_DATE_KEYWORD, _date_from_keyword),
    (_DATE_IN_DAYS, _date_from_days),
    (_DATE_NEXT_WEEK, _date_from_next_week),
    (_DATE_MONTHS_AHEAD, _date_from_dateparser),
    (_DATE_WEEKDAY, _date_from_weekday),
)
_DATE_ANSWER_RULES = (*_DATE_RULES, (_DATE_BARE, _date_from_bare))


# --- time zone ----------------------------------------------------------------------------

_ZONE_AREAS = (
    "Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe",
    "Indian", "Pacific",
)  # fmt: skip
# Region words and big cities, read in any case; a bare city is also a first name sometimes.
_ZONE_REGIONS = {
    "eastern": "America/New_York",
    "pacific": "America/Los_Angeles",
    "central": "America/Chicago",
    "mountain": "America/Denver",
    "arizona": "America/Phoenix",
    "alaska": "America/Anchorage",
    "alaskan": "America/Anchorage",
    "hawaii": "Pacific/Honolulu",
    "hawaiian": "Pacific/Honolulu",
    "india": "Asia/Kolkata",
    "utc": "UTC",
    "gmt": "UTC",
}
_ZONE_CITIES = {
    "new york": "America/New_York",
    "los angeles": "America/Los_Angeles",
    "chicago": "America/Chicago",
    "toronto": "America/Toronto",
    "london": "Europe/London",
    "paris": "Europe/Paris",
    "berlin": "Europe/Berlin",
    "tokyo": "Asia/Tokyo",
    "sydney": "Australia/Sydney",
}
# Cities that are not IANA names, read like the IANA cities: when the zone was asked for, or
# before "time" ("Boston time"); as bare words they are too often surnames.
_ZONE_CITY_ALIASES = {
    "boston": "America/New_York",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "dallas": "America/Chicago",
    "houston": "America/Chicago",
}
_ZONE_WORDS = _ZONE_REGIONS | _ZONE_CITIES
# Abbreviations, read only in upper case inside a longer message ("PT", not "pt").
_ZONE_ABBREVIATIONS = {
    "ET": "America/New_York", "EST": "America/New_York", "EDT": "America/New_York",
    "CT": "America/Chicago", "CST": "America/Chicago", "CDT": "America/Chicago",
    "MT": "America/Denver", "MST": "America/Denver", "MDT": "America/Denver",
    "PT": "America/Los_Angeles", "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles",
    "AKST": "America/Anchorage", "AKDT": "America/Anchorage", "HST": "Pacific/Honolulu",
    "GMT": "UTC", "UTC": "UTC", "BST": "Europe/London", "CET": "Europe/Paris",
    "CEST": "Europe/Paris", "IST": "Asia/Kolkata", "JST": "Asia/Tokyo",
    "AEST": "Australia/Sydney", "AEDT": "Australia/Sydney",
}  # fmt: skip
_ZONE_LABELS = {
    "America/New_York": "Eastern Time",
    "America/Chicago": "Central Time",
    "America/Denver": "Mountain Time",
    "America/Phoenix": "Arizona Time",
    "America/Los_Angeles": "Pacific Time",
    "America/Anchorage": "Alaska Time",
    "Pacific/Honolulu": "Hawaii Time",
    "UTC": "Coordinated Universal Time",
    "Europe/London": "London",
    "Europe/Paris": "Paris",
    "Europe/Berlin": "Berlin",
    "Asia/Kolkata": "India",
    "Asia/Tokyo": "Tokyo",
    "Australia/Sydney": "Sydney",
    "America/Toronto": "Toronto",
}
_ZONE_SUFFIX = r"(?:\s+(?:standard\s+|daylight\s+)?time)?(?:\s*zone)?"
_ZONE_IANA = re.compile(rf"\b(?:{'|'.join(_ZONE_AREAS)}|Etc|US)(?:/[A-Za-z0-9_+\-]+)+", re.I)
_ZONE_KNOWN = re.compile(
    rf"(?<![/\w])({_words(*(re.escape(word) for word in _ZONE_WORDS))})"
    rf"{_ZONE_SUFFIX}\b",
    re.IGNORECASE,
)
_ZONE_UPPER = re.compile(rf"\b({_words(*_ZONE_ABBREVIATIONS)})\b{_ZONE_SUFFIX}")
_ZONE_NAMED_TIME = re.compile(r"\b((?:[A-Za-z]+[ _\-]){0,2}[A-Za-z]+)\s+time(?:\s*zone)?\b", re.I)


@functools.cache
def _iana_zones() -> dict[str, str]:
    """Lower-case IANA name -> IANA name, for every zone tzdata knows."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


@functools.cache
def _zone_cities() -> dict[str, str]:
    """Lower-case city ("buenos aires") -> IANA name, from the last part of each name; the
    deeper path wins because it is the canonical one (America/Argentina/Buenos_Aires)."""
    cities: dict[str, str] = {}
    for name in sorted(_iana_zones().values(), key=lambda zone: zone.count("/")):
        area, _, place = name.partition("/")
        if area in _ZONE_AREAS:
            cities[_city_of(name).lower()] = name
    return cities | _ZONE_CITIES | _ZONE_CITY_ALIASES


def _city_of(zone: str) -> str:
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def _zone_named(text: str, *, loose: bool) -> str | None:
    """The zone a phrase names; loose also accepts lower-case abbreviations and any city.
    Our words come before IANA's legacy names, so "EST" is Eastern Time with its DST."""
    phrase = re.sub(r"\s+", " ", text.strip().strip(".,;:!?()"))
    phrase = re.sub(r" (?:(?:standard |daylight )?time)?(?: ?zone)?$", "", phrase, flags=re.I)
    lowered = phrase.lower()
    abbreviation = phrase.upper() if loose else phrase
    if lowered in _ZONE_WORDS:
        return _ZONE_WORDS[lowered]
    if abbreviation in _ZONE_ABBREVIATIONS:
        return _ZONE_ABBREVIATIONS[abbreviation]
    if lowered in _iana_zones():
        return _iana_zones()[lowered]
    if loose:
        return _zone_cities().get(lowered.replace("_", " "))
    return None


def _unknown_zone(text: str) -> ExtractionError:
    return ExtractionError(
        f"I don't know the time zone “{text.strip()}”. Try a city (London), a US zone (Eastern) "
        "or an IANA name (America/Chicago)."
    )


def _zone_from_iana(match: re.Match[str], _ctx: _Context) -> str:
    zone = _iana_zones().get(match.group().lower())
    if zone is None:
        raise _unknown_zone(match.group())
    return zone


def _zone_from_known(match: re.Match[str], _ctx: _Context) -> str | None:
    return _zone_named(match.group(1), loose=False)


def _zone_from_abbreviation(match: re.Match[str], _ctx: _Context) -> str:
    return _ZONE_ABBREVIATIONS[match.group(1)]


def _find_zone(reader: _Reader, ctx: _Context) -> str | None:
    asked = ctx.requested_slot == "participant_tz"
    rules: list[Rule] = [(_ZONE_IANA, _zone_from_iana), (_ZONE_UPPER, _zone_from_abbreviation)]
    if ctx.requested_slot != "participant":  # "Paris Hilton" is a name when a name was asked
        rules.append((_ZONE_KNOWN, _zone_from_known))
    zone = _read_rules(reader, rules, ctx)
    if zone is None:
        zone = _zone_before_time_word(reader)
    if zone is None and asked:
        zone = _zone_answer(reader)
    return zone


def _zone_before_time_word(reader: _Reader) -> str | None:
    """Any IANA city followed by "time": "Denver time", "Buenos Aires time"."""
    for match in _ZONE_NAMED_TIME.finditer(reader.rest):
        words = match.group(1).split()
        for first in range(len(words)):
            zone = _zone_cities().get(" ".join(words[first:]).lower().replace("_", " "))
            if zone:
                start = match.start(1) + match.group(1).index(words[first])
                reader.cut(start, match.end())
                return zone
    return None


def _zone_answer(reader: _Reader) -> str | None:
    """When the zone was asked for: the whole answer, in any case, or a lower-case
    abbreviation or city word inside it."""
    answer = reader.rest.strip(" .,;:!?")
    if not answer:
        return None
    zone = _zone_named(answer, loose=True)
    if zone:
        reader.rest = ""
        return zone
    for match in re.finditer(r"(?<![/\w])[A-Za-z_]+(?:[ _][A-Za-z]+){0,2}(?![/\w])", reader.rest):
        zone = _zone_named(match.group(), loose=True)
        if zone:
            reader.cut(*match.span())
            return zone
    return None


def parse_zone(text: str) -> str:
    """An IANA zone name from a city, a US zone word, an abbreviation or an IANA name."""
    zone = _zone_named(text, loose=True)
    if zone is None:
        reader = _Reader(text)
        zone = _find_zone(reader, _Context(now=_EPOCH, requested_slot="participant_tz"))
        if zone is None or _leftover_words(reader.rest):
            raise _unknown_zone(text)
    return zone


@functools.cache
def _zone_entries() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(IANA, label, search keys) for every zone a participant is likely to live in,
    the well-known ones first."""
    aliases: dict[str, list[str]] = {}
    for word, zone in _ZONE_WORDS.items():
        aliases.setdefault(zone, []).append(word)
    for abbreviation, zone in _ZONE_ABBREVIATIONS.items():
        aliases.setdefault(zone, []).append(abbreviation.lower())
    entries = [
        (zone, f"{name} ({zone})", (name.lower(), zone.lower(), *aliases.get(zone, ())))
        for zone, name in _ZONE_LABELS.items()
    ]
    seen = set(_ZONE_LABELS)
    for zone in sorted(set(_zone_cities().values()) - seen):
        city = _city_of(zone)
        entries.append((zone, f"{city} ({zone})", (city.lower(), zone.lower())))
    return tuple(entries)


def zone_choices(prefix: str, limit: int = 50) -> list[tuple[str, str]]:
    """(IANA, label) pairs for a type-ahead: zones whose name, alias or IANA name starts with
    the prefix, then those with a word starting with it; the well-known zones first in each."""
    wanted = prefix.strip().lower()
    ranked: list[tuple[int, int, str, str]] = []
    for position, (zone, label, keys) in enumerate(_zone_entries()):
        if not wanted or any(key.startswith(wanted) for key in keys):
            closeness = 0
        elif any(word.startswith(wanted) for key in keys for word in re.split(r"[\s/_]+", key)):
            closeness = 1
        else:
            continue
        fame = position if zone in _ZONE_LABELS else len(_ZONE_LABELS)
        ranked.append((closeness, fame, label, zone))
    ranked.sort()
    return [(zone, label) for _, _, label, zone in ranked[:limit]]


# --- invitation channel -------------------------------------------------------------------

_CHANNEL_NONE = re.compile(
    r"\b(?:(?:no|without(?:\s+an?)?|skip(?:\s+the)?)\s+invit(?:e|es|ation|ations)"
    r"|(?:don'?t|do\s+not)\s+(?:send\s+(?:an?\s+|the\s+)?invit\w*|invite(?:\s+them)?))\b",
    re.IGNORECASE,
)
_CHANNEL_SMS = re.compile(
    r"\b(?:(?:by|via|over|through|send\s+(?:a|an))\s+(?:text(?:\s+message)?|sms)"
    r"|text\s+message|sms|texting)\b",
    re.IGNORECASE,
)
_CHANNEL_EMAIL = re.compile(r"\b(?:(?:by|via|over|through)\s+)?e-?mail\b", re.IGNORECASE)
_CHANNEL_ANSWER_SMS = re.compile(r"^\W*(?:text|txt|phone|mobile|cell)\W*$", re.IGNORECASE)
_CHANNEL_ANSWER_EMAIL = re.compile(r"^\W*mail\W*$", re.IGNORECASE)
_CHANNEL_ANSWER_NONE = re.compile(
    r"^\W*(?:none|no|nope|neither|nothing|skip|no thanks|don'?t)\W*$", re.IGNORECASE
)
_CHANNEL_RULES: tuple[Rule, ...] = (
    (_CHANNEL_NONE, _constant("none")),
    (_CHANNEL_SMS, _constant("sms")),
    (_CHANNEL_EMAIL, _constant("email")),
)
_CHANNEL_ANSWER_RULES = (
    *_CHANNEL_RULES,
    (_CHANNEL_ANSWER_SMS, _constant("sms")),
    (_CHANNEL_ANSWER_EMAIL, _constant("email")),
    (_CHANNEL_ANSWER_NONE, _constant("none")),
)


# --- documents and services ---------------------------------------------------------------

_GENERIC_NAME_WORDS = frozenset({
    "packet", "package", "packages", "forms", "form", "documents", "document", "paperwork",
    "session", "sessions", "the", "and", "of", "for", "a", "an", "new", "visit", "appointment",
})  # fmt: skip
_NO_DOCUMENTS = re.compile(
    r"\b(?:no|without(?:\s+any)?|skip(?:\s+the)?)\s+"
    r"(?:documents?|forms?|paperwork|packages?|packets?)\b",
    re.IGNORECASE,
)
_NO_DOCUMENTS_ANSWER = re.compile(
    r"^\W*(?:none|no|nope|nothing|skip|n/?a|no thanks)\W*$", re.IGNORECASE
)


def _name_pattern(name: str) -> str:
    """A display name or key as a regex: any spacing, hyphens optional, plural optional."""
    words = re.findall(r"[^\W_]+", name.lower())
    pattern = r"[\s_\-]*".join(re.escape(word) for word in words)
    return pattern[:-1] + "s?" if pattern.endswith("s") else pattern + "s?"


@functools.lru_cache(maxsize=64)
def _choice_pattern(
    choices: tuple[tuple[str, str], ...], others: tuple[str, ...]
) -> tuple[re.Pattern[str], dict[str, str]] | None:
    """One regex over the keys, display names and distinctive words of the choices, with a
    lookup from each lower-case group name back to its key."""
    if not choices:
        return None
    other_words = {w for name in others for w in re.findall(r"[^\W_]+", name.lower())}
    counts: dict[str, int] = {}
    for _, name in choices:
        for word in set(re.findall(r"[^\W_]+", name.lower())):
            counts[word] = counts.get(word, 0) + 1
    alternatives: list[tuple[str, str]] = []
    for key, name in choices:
        alternatives += [(_name_pattern(name), key), (_name_pattern(key), key)]
        for word in re.findall(r"[^\W_]+", name.lower()):
            distinctive = counts[word] == 1 and word not in other_words
            if distinctive and word not in _GENERIC_NAME_WORDS and len(word) >= 3:
                alternatives.append((_name_pattern(word), key))
    alternatives.sort(key=lambda item: len(item[0]), reverse=True)
    groups = {f"c{index}": key for index, (_, key) in enumerate(alternatives)}
    body = "|".join(f"(?P<c{index}>{pattern})" for index, (pattern, _) in enumerate(alternatives))
    return re.compile(rf"\b(?:the\s+)?(?:{body})\b", re.IGNORECASE), groups


def _find_choice(
    reader: _Reader, choices: Mapping[str, str], others: Mapping[str, str]
) -> str | None:
    compiled = _choice_pattern(tuple(choices.items()), tuple(others.values()))
    if compiled is None:
        return None
    pattern, keys = compiled
    taken = reader.take_all(pattern)
    if not taken:
        return None
    match = taken[0][0]
    return keys[match.lastgroup or ""]


def _find_documents(reader: _Reader, ctx: _Context) -> str | None:
    if reader.take_all(_NO_DOCUMENTS):
        return "none"
    key = _find_choice(reader, ctx.packages, ctx.services)
    if key is None and ctx.requested_slot == "documents" and reader.take_all(_NO_DOCUMENTS_ANSWER):
        return "none"
    return key


def _find_service(reader: _Reader, ctx: _Context) -> str | None:
    return _find_choice(reader, ctx.services, ctx.packages)


# --- intents ------------------------------------------------------------------------------

_INTENTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (intent, re.compile(pattern, re.IGNORECASE))
    for intent, pattern in (
        ("cancel", r"\b(?:cancel|never\s*mind|forget\s+it|abort|quit)\b"),
        ("restart", r"\b(?:start(?:\s+all)?\s+over|start\s+again|restart|reset|from\s+scratch)\b"),
        ("back", r"\b(?:go\s+back|back|undo|previous\s+question)\b"),
        ("help", r"\b(?:help|what\s+can\s+i\s+(?:say|do|type)|how\s+does\s+this\s+work)\b"),
        ("save", r"\b(?:save|confirm|book\s+it|looks\s+(?:good|great|right)|lgtm|submit)\b"),
        ("affirm", r"\b(?:yes|yeah|yep|yup|sure|ok|okay|correct|affirmative|that'?s\s+right)\b"),
        ("deny", r"\b(?:no|nope|nah|not\s+now|no\s+thanks)\b"),
    )
)
_SINGLE_LETTER_INTENTS = {"y": "affirm", "n": "deny", "?": "help", "??": "help"}


def _find_intent(reader: _Reader, ctx: _Context) -> str | None:
    whole = reader.text.strip().lower()
    if whole in _SINGLE_LETTER_INTENTS:
        reader.rest = ""
        return _SINGLE_LETTER_INTENTS[whole]
    found = [intent for intent, pattern in _INTENTS if reader.take_all(pattern)]
    return found[0] if found else None


# --- participant --------------------------------------------------------------------------

_FILLER = frozenset({
    "schedule", "session", "sessions", "with", "for", "on", "at", "by", "a", "an", "the", "new",
    "book", "please", "invite", "via", "and", "send", "to", "it", "make", "instead", "actually",
    "change", "set", "up", "setup", "appointment", "video", "call", "meeting", "client",
    "patient", "can", "could", "would", "you", "i", "i'd", "want", "like", "need", "let's",
    "lets", "let", "me", "my", "her", "him", "them", "their", "his", "is", "of", "in", "next",
    "hi", "hey", "hello", "thanks", "thank", "time", "date", "from", "invitation", "link",
    "should", "be", "i'm", "we", "also", "us", "our", "name", "participant", "called", "named",
    "or", "oh", "um", "uh", "rather", "than", "not", "move", "reschedule", "put", "push",
    "shift", "see", "meet", "do", "get", "have", "will", "that", "this", "there",
    "forms", "form", "packet", "package", "documents", "paperwork",
})  # fmt: skip
_TOKEN = re.compile(r"[^\s,;:!?()\[\]{}\"“”<>*_]+")
_NAME_TOKEN = re.compile(r"[^\W\d_](?:[^\W\d_]|['’.\-])*")


def _leftover_words(rest: str) -> list[str]:
    words = []
    for token in _TOKEN.findall(rest):
        token = token.strip("-–—'’")
        if token.count(".") == 1 and token.endswith("."):
            token = token[:-1]  # sentence end, not initials like "J.D."
        if token and token.lower() not in _FILLER:
            words.append(token)
    return words


def _find_participant(reader: _Reader, ctx: _Context) -> str | None:
    words = _leftover_words(reader.rest)
    if not words:
        return None
    if ctx.requested_slot == "participant":
        return parse_participant(" ".join(words))
    if len(words) <= 4 and all(_looks_like_name(word, ctx) for word in words):
        return parse_participant(" ".join(words))
    # "with Jane Smith, consent forms": a name often stands in a list of its own.
    for part in re.split(r"[,;]", reader.rest):
        words = _leftover_words(part)
        if words and len(words) <= 4 and all(_looks_like_name(word, ctx) for word in words):
            return parse_participant(" ".join(words))
    return None


def _looks_like_name(word: str, ctx: _Context) -> bool:
    """Capitalized, or short initials ("jd"); a lower-case word ("move") is not a name, nor
    a lower-case leftover when another slot was asked for (it is an unreadable answer)."""
    if not _NAME_TOKEN.fullmatch(word):
        return False
    return word[0].isupper() or (ctx.requested_slot is None and len(word) <= 3)


def parse_participant(text: str) -> str:
    """A name or initials, trimmed, whitespace collapsed, surrounding quotes removed."""
    name = " ".join(text.split()).strip("\"'“”‘’` ")
    if len(name) < 2:
        raise ExtractionError("Please give at least 2 characters: a name or initials like JD.")
    if len(name) > 80:
        raise ExtractionError("That name is too long; please keep it under 80 characters.")
    if not any(char.isalpha() for char in name):
        raise ExtractionError("A name needs at least one letter: a name or initials like JD.")
    return name


# --- putting it together ------------------------------------------------------------------

Finder = Callable[[_Reader, _Context], Any]


def _rules_finder(rules: tuple[Rule, ...], answer_rules: tuple[Rule, ...], slot: str) -> Finder:
    """A finder over rules, widened to bare answers ("15", "3") when the slot was asked for."""

    def find(reader: _Reader, ctx: _Context) -> Any:
        return _read_rules(reader, answer_rules if ctx.requested_slot == slot else rules, ctx)

    return find


def _find_date(reader: _Reader, ctx: _Context) -> datetime.date | None:
    date = _rules_finder(_DATE_RULES, _DATE_ANSWER_RULES, "date")(reader, ctx)
    if date is None and ctx.requested_slot == "date":
        return _date_answer(reader, ctx)
    return date


def _date_answer(reader: _Reader, ctx: _Context) -> datetime.date | None:
    """When the date was asked for, dateparser reads whatever is left, once."""
    words = _leftover_words(reader.rest)
    if not words or any(pattern.search(reader.rest) for _, pattern in _INTENTS):
        return None
    date = _dateparse(" ".join(words), ctx)
    if date is None:
        raise ExtractionError(
            "I couldn't read that as a date; try tomorrow, Tuesday, Dec 3 or 12/3."
        )
    reader.rest = ""
    return date


_FINDERS: tuple[tuple[str, Finder], ...] = (
    ("email", _rules_finder(_EMAIL_RULES, _EMAIL_RULES, "email")),
    ("phone", _find_phone),
    ("amount", _rules_finder(_AMOUNT_RULES, _AMOUNT_ANSWER_RULES, "amount")),
    ("change", _rules_finder(_CHANGE_RULES, _CHANGE_RULES, "change")),
    ("time", _rules_finder(_TIME_RULES, _TIME_ANSWER_RULES, "time")),
    ("date", _find_date),
    ("participant_tz", _find_zone),
    ("invite_channel", _rules_finder(_CHANNEL_RULES, _CHANNEL_ANSWER_RULES, "invite_channel")),
    ("documents", _find_documents),
    ("service", _find_service),
    ("intent", _find_intent),
    ("participant", _find_participant),
)


_NO_CHOICES: Mapping[str, str] = MappingProxyType({})


def _unwrap_slack_links(text: str) -> str:
    return _SLACK_LINK.sub(lambda m: m.group(2) or m.group(1), text)


def extract(
    text: str,
    *,
    now: datetime.datetime,
    default_region: str = "US",
    packages: Mapping[str, str] = _NO_CHOICES,
    services: Mapping[str, str] = _NO_CHOICES,
    requested_slot: str | None = None,
) -> Extracted:
    """Every slot value one message gives, plus intent, change request and problems."""
    ctx = _Context(now, default_region, packages, services, requested_slot)
    reader = _Reader(_unwrap_slack_links(text))
    found: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for slot, finder in _FINDERS:
        try:
            value = finder(reader, ctx)
        except ExtractionError as err:
            problems[slot] = str(err)
            continue
        if value is not None:
            found[slot] = value
    words = _leftover_words(reader.rest)
    if requested_slot in _MISSING and words and not found.keys() - {"participant"} and not problems:
        found.pop("participant", None)
        problems[requested_slot] = _MISSING[requested_slot](" ".join(words))
    return Extracted(**found, problems=problems)


_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
# What to say when the slot asked for is not in the answer, given the words left unread.
_MISSING: dict[str, Callable[[str], str]] = {
    "date": lambda _: "I couldn't read that as a date; try tomorrow, Tuesday, Dec 3 or 12/3.",
    "time": lambda _: "I couldn't read that as a time; try 3pm, 9:30 am or 15:30.",
    "phone": lambda _: "I couldn't find a phone number there; try +1 617 555 0101.",
    "email": lambda _: "I couldn't find an e-mail address there; try jane@example.com.",
    "amount": lambda _: "I couldn't read that as an amount; try 120 or $120.50.",
    "invite_channel": lambda _: "Please answer email, text or none.",
    "participant_tz": lambda words: str(_unknown_zone(words)),
}


def _parse_one(slot: str, text: str, ctx: _Context) -> Any:
    finder = dict(_FINDERS)[slot]
    value = finder(_Reader(_unwrap_slack_links(text)), ctx)
    if value is None:
        raise ExtractionError(_MISSING[slot](text))
    return value


def parse_date(text: str, now: datetime.datetime) -> datetime.date:
    """The date a clinician means, in their wall time; past dates are the caller's concern."""
    return _parse_one("date", text, _Context(now=now, requested_slot="date"))


def parse_time(text: str) -> datetime.time:
    """A time of day; bare hours 1..7 mean afternoon ("3" is 15:00)."""
    return _parse_one("time", text, _Context(now=_EPOCH, requested_slot="time"))


def parse_phone(text: str, default_region: str = "US") -> str:
    """A phone number in E.164 form, read in default_region when it has no country code."""
    ctx = _Context(now=_EPOCH, default_region=default_region, requested_slot="phone")
    reader = _Reader(_unwrap_slack_links(text))
    phone = _find_phone(reader, ctx)
    if phone is None:
        phone = _valid_phone(text, default_region)
        if phone is None:
            if _digit_count(text) >= 3:
                raise _phone_problem(text, default_region)
            raise ExtractionError(_MISSING["phone"](text))
    return phone


def parse_email(text: str) -> str:
    """An e-mail address, normalized by email-validator."""
    return _parse_one("email", text, _Context(now=_EPOCH, requested_slot="email"))


def parse_amount(text: str) -> Decimal:
    """A positive amount quantized to cents; the practice maximum is the caller's concern."""
    return _parse_one("amount", text, _Context(now=_EPOCH, requested_slot="amount"))


def parse_channel(text: str) -> str:
    """How the participant is invited: "email", "sms" or "none"."""
    return _parse_one("invite_channel", text, _Context(now=_EPOCH, requested_slot="invite_channel"))
