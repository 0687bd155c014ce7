"""Times of day as people say them: "3pm", "11a", "15:30", "noon", "a quarter past 4",
"twenty to six", "half 3" (British: 3:30), "at 5" (the practice's working hours decide
am or pm, or the clinician is asked), and a zone named beside the time ("4:30pm central").

A time is returned with the zone it was said in, when one was named; ``message`` turns it
into the clinician's wall time once the date is known (daylight saving needs the date).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from actions.extraction.reader import Ambiguous, Context, ExtractionError, Reader, words
from actions.extraction.zones import zone_after_time


@dataclass(frozen=True)
class SaidTime:
    """A time of day, and the zone it was said in when the clinician named one."""

    time: datetime.time
    zone: str | None = None
    mine: bool = False  # "3pm my time": the clinician's own zone, not the participant's
    until: datetime.time | None = None  # "3-4pm": the end said with it (the start is taken)


NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_MINUTE_WORDS = {
    "quarter": 15, "a quarter": 15, "half": 30, "five": 5, "ten": 10, "twenty": 20,
    "twenty five": 25, "twenty-five": 25,
}  # fmt: skip
_HOUR = rf"(\d{{1,2}}|{words(*NUMBER_WORDS)})"
_MERIDIEM = r"(?:\s*([ap])\.?\s?m\b\.?|([ap])\b)"
# "tonight" only peeks, so the date finder still reads it as today.
_PERIOD = r"(?:\s+(?:in\s+the\s+)?(morning|afternoon|evening)|(?=\s+(tonight)))?"

# "4 45 pm" (dictation writes a space for the colon), "at 4 10", "at 10.15", "16h45",
# "at 8h": the minutes are read with the hour, never left behind.
_SPACED_MERIDIEM_TIME = re.compile(
    rf"(?<![\d:.])\b(\d{{1,2}})\s([0-5]\d)(?!\d){_MERIDIEM}", re.IGNORECASE
)
_AT_SPACED = re.compile(
    r"(?:\bat|@)\s*(\d{1,2})(?:\s|\.)([0-5]\d)(?![\d:/.\-]|\s*(?:st|nd|rd|th|min|hour|hr|day|week)\b)"
    + _PERIOD,
    re.IGNORECASE,
)
_H_CLOCK = re.compile(r"(?<![\w.:/$])(\d{1,2})\s?h(?:(\d{2})|\b)(?![\w:/])", re.IGNORECASE)
# "at 0900", "0930", "1500 hrs": a four-figure 24-hour clock, when a leading zero, "at"
# or "hrs" says it is one (not a year nor an amount).
_MILITARY = re.compile(
    r"(?:(?:\bat|@)\s*([01]\d|2[0-3])([0-5]\d)"
    r"|(?<![\d:./$,])\b(0\d)([0-5]\d)"
    r"|(?<![\d:./$,])\b([01]\d|2[0-3])([0-5]\d)\s*(?:hrs?|hours)\b)(?![\d:/]|[.,]\d)",
    re.IGNORECASE,
)


def _from_military(match: re.Match[str], ctx: Context) -> datetime.time:
    hour, minute = (int(g) for g in match.groups() if g is not None)
    return datetime.time(hour, minute)


_SPACED_ANSWER = re.compile(r"^\W*(\d{1,2})(?:\s|\.)([0-5]\d)\W*$")
_MERIDIEM_TIME = re.compile(
    rf"(?<![\d:.])\b(\d{{1,2}})(?:[:.](\d{{2}}))?{_MERIDIEM}", re.IGNORECASE
)
_CLOCK = re.compile(r"(?<![\d:./$])\b(\d{1,2}):(\d{2})(?![\d:])" + _PERIOD, re.IGNORECASE)
_OCLOCK = re.compile(rf"\b{_HOUR}\s*o'?\s?clock\b" + _PERIOD, re.IGNORECASE)
_AT = re.compile(
    r"(?:\bat|@)\s*(\d{1,2})(?!\d|:|/|\.\d|\s*(?:st|nd|rd|th)\b|\s*(?:min|hour|hr|day|week)"
    r"|\s\d{1,2}(?![\d/.\-:]|\s*(?:st|nd|rd|th|min|hour|hr|day|week)))\b" + _PERIOD,
    re.IGNORECASE,
)
_WITH_PERIOD = re.compile(
    r"(?<![\w.:/$])(\d{1,2})(?::(\d{2}))?\s+(?:in\s+the\s+)?(morning|afternoon|evening)\b"
    r"|(?<![\w.:/$])(\d{1,2})(?::(\d{2}))?(?=\s+tonight\b)",
    re.IGNORECASE,
)
# "make it 11", "make it 4:30": a bare hour after "make it" is a time.
_MAKE_IT = re.compile(r"\bmake\s+it\s+(\d{1,2})(?::(\d{2}))?(?![\w:/.%])", re.IGNORECASE)
_WORD = re.compile(r"\b(noon|midday|midnight)(?:ish)?\b", re.IGNORECASE)
_RELATIVE = re.compile(
    rf"\b(?:(a\s+quarter|quarter|half|\d{{1,2}}|{words(*_MINUTE_WORDS)})(?:\s+minutes?)?\s+"
    rf"(past|after|to|before|till|til)\s+{_HOUR}|half\s+{_HOUR}(?!\s*(?:hours?|hrs?)\b))"
    rf"(?:{_MERIDIEM})?" + _PERIOD,
    re.IGNORECASE,
)
# A day beside its month ("jan 9", "9 january") is a date, even while the time is asked.
_MONTH_WORDS = (
    "jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june",
    "jul", "july", "aug", "august", "sep", "sept", "september", "oct", "october", "nov",
    "november", "dec", "december",
)  # fmt: skip
_NOT_AFTER_MONTH = "".join(rf"(?<!\b{m}\s)(?<!\b{m}\.\s)" for m in _MONTH_WORDS)
_NOT_BEFORE_MONTH = rf"(?!\s+(?:of\s+)?(?:{'|'.join(_MONTH_WORDS)})\b)"
_BARE = re.compile(
    rf"(?<![\w.:/$]){_NOT_AFTER_MONTH}(\d{{1,2}})(?::(\d{{2}}))?(?![\w.:/%]){_NOT_BEFORE_MONTH}"
    + _PERIOD,
    re.IGNORECASE,
)
# "3-4pm", "from 3 to 4", "between 2:30 and 3:30": a start and an end. Without "from" or
# "between", "to" makes a range only for the next hour or so ("3 to 4"; "5 to 4" is 3:55).
_RANGE = re.compile(
    rf"(?:\b(from|between)\s+)?(?<![\w.:/$\-])(\d{{1,2}})(?::(\d{{2}}))?(?:{_MERIDIEM})?"
    rf"\s*(-|–|—|\bto\b|\buntil\b|\btill\b|\band\b)\s*"
    rf"(\d{{1,2}})(?::(\d{{2}}))?(?:{_MERIDIEM})?(?![\w:/\-]|\.\d)",
    re.IGNORECASE,
)


def _time_of_day(hour: int, minute: int, spoken: str) -> datetime.time:
    if hour > 23 or minute > 59:
        raise ExtractionError(f"“{spoken}” isn't a time of day; try 3pm or 15:30.")
    return datetime.time(hour, minute)


def _clock(hour: int, minute: int) -> str:
    return datetime.time(hour, minute).strftime("%-I:%M %p")


def hour_of_day(hour: int, minute: int, written: str, period: str | None, ctx: Context) -> int:
    """An hour said without am/pm. A period word decides ("in the evening"); "07" or any
    hour past 12 is a 24-hour clock; otherwise the reading inside the practice's working
    hours wins, and when both or neither fit, the clinician is asked."""
    if period:
        afternoon = period.lower() != "morning"
        if afternoon and hour < 12:
            return hour + 12
        return 0 if (not afternoon and hour == 12) else hour
    if hour == 0 or hour > 12 or written.startswith("0") or hour == 12:
        return hour
    start, end = ctx.working_hours
    morning, evening = hour, hour + 12
    fits = [h for h in (morning, evening) if start * 60 <= h * 60 + minute < end * 60]
    if len(fits) == 1:
        return fits[0]
    if not fits and evening * 60 + minute < 24 * 60 and hour <= 7:
        return evening
    if not fits:
        return morning
    raise Ambiguous(
        f"Do you mean {_clock(morning, minute)} or {_clock(evening, minute)}?",
        "time",
        [(_clock(h, minute), f"{h:02d}:{minute:02d}") for h in (morning, evening)],
    )


def _meridiem_hour(hour: int, meridiem: str, spoken: str) -> int:
    if not 1 <= hour <= 12:
        raise ExtractionError(f"“{spoken}” isn't a time of day; try 1pm, or 13:00 without am/pm.")
    return hour % 12 + (12 if meridiem.lower() == "p" else 0)


def _hour_number(written: str) -> int:
    return int(written) if written.isdigit() else NUMBER_WORDS[written.lower()]


def _from_meridiem(match: re.Match[str], ctx: Context) -> datetime.time:
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    meridiem = match.group(3) or match.group(4)
    spoken = match.group().strip()
    return _time_of_day(_meridiem_hour(hour, meridiem, spoken), minute, spoken)


def _from_clock(match: re.Match[str], ctx: Context) -> datetime.time:
    written, minute = match.group(1), int(match.group(2))
    period = match.group(3) or match.group(4) or period_before(match)
    hour = hour_of_day(int(written), minute, written, period, ctx)
    return _time_of_day(hour, minute, match.group().strip())


_PERIOD_BEFORE = re.compile(r"\b(morning|afternoon|evening|night)\W{0,3}$", re.IGNORECASE)


def period_before(match: re.Match[str]) -> str | None:
    """ "this morning at 6", "tomorrow evening at 7": the part of the day said before."""
    found = _PERIOD_BEFORE.search(match.string, max(0, match.start() - 14), match.start())
    if found is None:
        return None
    return "evening" if found.group(1).lower() == "night" else found.group(1)


def _from_hour(match: re.Match[str], ctx: Context) -> datetime.time:
    written, period = match.group(1), match.group(2) or match.group(3) or period_before(match)
    hour = _hour_number(written)
    if hour > 23:
        raise ExtractionError(f"“{match.group().strip()}” isn't a time of day; try 3pm or 15:30.")
    return _time_of_day(hour_of_day(hour, 0, written, period, ctx), 0, match.group().strip())


def _from_bare(match: re.Match[str], ctx: Context) -> datetime.time:
    written, minute = match.group(1), int(match.group(2) or 0)
    if int(written) > 23 or minute > 59:
        raise ExtractionError(f"“{match.group().strip()}” isn't a time of day; try 3pm or 15:30.")
    hour = hour_of_day(int(written), minute, written, match.group(3) or match.group(4), ctx)
    return _time_of_day(hour, minute, match.group().strip())


def _from_clock_parts(
    written: str, minutes: str | None, match: re.Match[str], ctx: Context
) -> datetime.time:
    minute = int(minutes or 0)
    if int(written) > 23 or minute > 59:
        raise ExtractionError(f"“{match.group().strip()}” isn't a time of day; try 3pm or 15:30.")
    hour = hour_of_day(int(written), minute, written, None, ctx)
    return _time_of_day(hour, minute, match.group().strip())


def _from_with_period(match: re.Match[str], ctx: Context) -> datetime.time:
    """ "4 in the afternoon", "9 tonight": the period says am or pm."""
    written = match.group(1) or match.group(4)
    minute = int(match.group(2) or match.group(5) or 0)
    period = match.group(3) or "tonight"
    hour = hour_of_day(int(written), minute, written, period, ctx)
    return _time_of_day(hour, minute, match.group().strip())


def _from_word(match: re.Match[str], _ctx: Context) -> datetime.time:
    return datetime.time(0) if match.group(1).lower() == "midnight" else datetime.time(12)


def _from_relative(match: re.Match[str], ctx: Context) -> datetime.time:
    """ "a quarter past 4", "twenty to six", "10 after 9", "half 3" (half past three)."""
    spoken = match.group().strip()
    amount, direction, written = match.group(1), match.group(2), match.group(3)
    if written is None:  # "half 3"
        amount, direction, written = "half", "past", match.group(4)
    amount = " ".join(amount.lower().replace("-", " ").split())
    minutes = int(amount) if amount.isdigit() else _MINUTE_WORDS[amount]
    if amount.isdigit() and minutes % 5:
        # "3 to 7" is no clock phrase (that would be 6:57): a span, or a slip.
        raise ExtractionError(f"I couldn't read “{spoken}” as one time; give the start, like 3pm.")
    if minutes >= 60:
        raise ExtractionError(f"“{spoken}” isn't a time of day; try 3pm or 15:30.")
    hour = _hour_number(written)
    if not 1 <= hour <= 12:
        raise ExtractionError(f"“{spoken}” isn't a time of day; try 3pm or 15:30.")
    if direction.lower() in ("to", "before", "till", "til"):
        hour, minutes = (hour - 1) or 12, 60 - minutes
    meridiem = match.group(5) or match.group(6)
    if meridiem:
        return _time_of_day(_meridiem_hour(hour, meridiem, spoken), minutes, spoken)
    period = match.group(7) or match.group(8)
    return _time_of_day(hour_of_day(hour, minutes, written, period, ctx), minutes, spoken)


def _range(match: re.Match[str], ctx: Context) -> tuple[datetime.time, datetime.time] | None:
    """(start, end) of "3-4pm", or None when the words are no range ("5 to 4" is 3:55). The
    start takes the end's am/pm unless it is a later hour ("11-1pm" starts at 11 AM)."""
    (lead, h1, m1, a1, b1, sep, h2, m2, a2, b2) = match.groups()
    first, last = int(h1), int(h2)
    start_mer, end_mer = a1 or b1, a2 or b2
    spoken = match.group().strip()
    if first > 23 or last > 23 or int(m1 or 0) > 59 or int(m2 or 0) > 59:
        return None
    if sep.lower() == "and" and (lead or "").lower() != "between":
        return None
    if sep in "-–—" and not (lead or start_mer or end_mer) and (first > 12) != (last > 12):
        return None  # "3-14" is a date (March 14), no clock range
    said_so = lead or sep in "-–—" or start_mer or end_mer
    if not said_so and not 0 < last - first <= 3:
        return None
    if start_mer:
        start_hour = _meridiem_hour(first, start_mer, spoken)
    elif end_mer and first <= 12:
        same = first % 12 <= last % 12
        mer = end_mer if same else ("a" if end_mer.lower() == "p" else "p")
        start_hour = _meridiem_hour(first, mer, spoken)
    else:
        start_hour = hour_of_day(first, int(m1 or 0), h1, None, ctx)
    if end_mer:
        end_hour = _meridiem_hour(last, end_mer, spoken)
    else:
        later = [h for h in (last, last + 12) if start_hour < h < 24]
        end_hour = later[0] if later else last
    start = _time_of_day(start_hour, int(m1 or 0), spoken)
    return start, _time_of_day(end_hour, int(m2 or 0), spoken)


def _from_h_clock(match: re.Match[str], ctx: Context) -> datetime.time:
    """ "16h", "16h45", "8h": a 24-hour clock, the hour as written."""
    return _time_of_day(int(match.group(1)), int(match.group(2) or 0), match.group().strip())


# "in 45 minutes", "in an hour and a half", "in 2 hours": a start that soon from now.
_SOON = re.compile(
    r"\bin\s+(?:(\d{1,3}(?:\.5)?)\s*(minutes?|mins?|hours?|hrs?)"
    r"|(an?\s+hour\s+and\s+a\s+half|an?\s+hour|half\s+an\s+hour|a\s+quarter\s+of\s+an\s+hour"
    r"|an?\s+(?:hour\s+)?and\s+a\s+half\s+hours?))\b",
    re.IGNORECASE,
)
_SOON_WORDS = {"an hour": 60, "a hour": 60, "half an hour": 30, "a quarter of an hour": 15}


def find_soon(reader: Reader, ctx: Context) -> datetime.datetime | None:
    """The start a short offset from now names, to the minute."""
    if "in" not in reader.rest.lower():
        return None
    taken = reader.take_all(_SOON, "time")
    if not taken:
        return None
    match = taken[0][0]
    if match.group(1):
        unit = 60 if match.group(2).lower().startswith("h") else 1
        minutes = round(float(match.group(1)) * unit)
    else:
        said = " ".join(match.group(3).lower().split())
        minutes = _SOON_WORDS.get(said, 90)
    if not 0 < minutes < 24 * 60:
        raise ExtractionError(f"“{match.group().strip()}” is too far for a time; give the date.")
    return (ctx.now + datetime.timedelta(minutes=minutes)).replace(second=0, microsecond=0)


RULES = (
    (_MILITARY, _from_military),
    (_SPACED_MERIDIEM_TIME, _from_meridiem),
    (_AT_SPACED, _from_clock),
    (_H_CLOCK, _from_h_clock),
    (_RELATIVE, _from_relative),
    (_MERIDIEM_TIME, _from_meridiem),
    (_CLOCK, _from_clock),
    (_OCLOCK, _from_hour),
    (_AT, _from_hour),
    (_WORD, _from_word),
    (_WITH_PERIOD, _from_with_period),
    (_MAKE_IT, lambda match, ctx: _from_clock_parts(match.group(1), match.group(2), match, ctx)),
)
ANSWER_RULES = (
    (
        _SPACED_ANSWER,
        lambda match, ctx: _from_clock_parts(match.group(1), match.group(2), match, ctx),
    ),
    *RULES,
    (_BARE, _from_bare),
)


_HINT = re.compile(r"\d|noon|midday|midnight|past|half|o'?clock|\bto\b|after|before|til", re.I)


def find_time(reader: Reader, ctx: Context) -> SaidTime | None:
    """The first time not replaced ("4pm instead of 3pm"), and the zone beside it."""
    if not _HINT.search(reader.rest):
        return None  # every time has a figure or one of these words
    rules = ANSWER_RULES if ctx.requested_slot == "time" else RULES
    found: list[tuple[bool, SaidTime]] = []
    problems: list[ExtractionError] = []
    ranges: list[tuple[int, int]] = []
    for match in _RANGE.finditer(reader.rest):
        try:
            span = _range(match, ctx)
        except ExtractionError as err:
            problems.append(err)
            ranges.append(match.span())
            continue
        if span is None:
            continue
        zone, length, mine = zone_after_time(reader.rest, match.end(), ctx)
        ranges.append((match.start(), match.end() + length))
        negated = reader.negated_at(match.start())
        found.append((negated, SaidTime(span[0], zone, mine, span[1])))
    reader.cut_many(ranges, "time")
    for pattern, convert in rules:
        zones: list[tuple[int, int]] = []
        for match, negated in reader.take_all(pattern, "time"):
            try:
                value = convert(match, ctx)
            except ExtractionError as err:
                problems.append(err)
                continue
            zone, length, mine = zone_after_time(reader.rest, match.end(), ctx)
            if length:
                zones.append((match.end(), match.end() + length))
            found.append((negated, SaidTime(value, zone, mine)))
        reader.cut_many(zones, "time")
    preferred = [said for negated, said in found if not negated] or [s for _, s in found]
    distinct = list(dict.fromkeys(said.time for said in preferred))
    if len(distinct) > 1:
        # "3pm and Friday 4pm", "3pm, or maybe 4": two sessions, or a second thought.
        raise Ambiguous(
            "You gave more than one time: which one is this session?",
            "time",
            [(_clock(t.hour, t.minute), f"{t.hour:02d}:{t.minute:02d}") for t in distinct[:4]],
        )
    if preferred:
        return preferred[0]
    if problems:
        raise problems[0]
    return None
