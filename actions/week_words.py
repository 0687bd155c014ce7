"""The clinician's week in the conversation's words: series, "same time next week", the agenda.

`read` wraps the slot extraction of one message: a repeating part ("every Tuesday for 6
weeks") is read by `recurrence.parse_recurrence` and blanked before the slots are read, so
its words are neither unread nor taken for a date ("until March 1") while the rest ("JD at
10am") fills the slots as usual; "just once" drops a series. "same time next week" and
"send me my agenda at 7:30" are whole requests of their own, given as an intent with their
value. Both the embedded runner's NLU and the Rasa path of the form read messages here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from actions import commands, recurrence
from actions.extraction import Extracted

# "just once", "no repeat": the draft is one session after all.
_ONCE = re.compile(
    r"\b(?:just|only)\s+once\b|\bno\s+repeats?\b|\bdon'?t\s+repeat\b|\bnot\s+a\s+series\b"
    r"|\bno\s+series\b|\bone[- ]off\b",
    re.IGNORECASE,
)
ONCE = "once"
WEEKDAY_NAMES = [name.capitalize() for name in recurrence.WEEKDAYS]
MAX_INTERVAL = 9  # "every 9 weeks" is the sparsest series `parse_recurrence` reads


@dataclass(frozen=True)
class Heard(Extracted):
    """A message's slots, plus the series it asks for (`ONCE`: none after all) and the
    value of a week request (`weeks` for Schedule Next, `agenda` 'HH:MM' or 'off')."""

    series: dict[str, Any] | str | None = None
    weeks: int | None = None
    agenda: str | None = None


def series_value(found: recurrence.Recurrence) -> dict[str, Any]:
    """A recurrence as a slot holds it (JSON: the tracker is stored and sent as JSON)."""
    return {
        "interval": found.interval,
        "weekday": found.weekday,
        "count": found.count,
        "until": found.until.isoformat() if found.until else None,
    }


def series_of(value: Any) -> recurrence.Recurrence | None:
    """The slot's value back as a recurrence; None for anything else."""
    if not isinstance(value, dict):
        return None
    try:
        until = value.get("until")
        found = recurrence.Recurrence(
            interval=int(1 if value.get("interval") is None else value["interval"]),
            weekday=None if value.get("weekday") is None else int(value["weekday"]),
            count=None if value.get("count") is None else int(value["count"]),
            until=date.fromisoformat(until) if isinstance(until, str) and until else None,
        )
    except (TypeError, ValueError, OverflowError):
        return None
    # A slot can be set by a button payload too: only what a clinician could have said.
    if not 1 <= found.interval <= MAX_INTERVAL or found.weekday not in (None, *range(7)):
        return None
    return found


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def read(text: str, now: datetime, extract: Callable[[str], Extracted]) -> Heard:
    """One message: a week request, or the slots with any series (see the module)."""
    weeks = recurrence.next_week_shift(text)
    if weeks is not None:
        return Heard(intent="schedule_next", weeks=weeks)
    agenda = commands.agenda_request(text)
    if agenda is not None:
        return Heard(intent="set_agenda", agenda=agenda)
    once = list(_ONCE.finditer(text))
    found = recurrence.parse_recurrence(text, now.date())
    spans = [m.span() for m in once] + list(found.spans if found else ())
    base = extract(_blank(text, spans) if spans else text)
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(Extracted)}
    if found is None:
        return Heard(**fields, series=ONCE if once else None)
    if found.weekday is not None:
        # "every Tuesday at 10am": the next Tuesday is the first session (after today, as
        # "Tuesday" alone is read on a Tuesday); "from Dec 3, every Friday": the first
        # Friday from then. The date slot says it, so the summary's first line is the
        # series' first session.
        start = base.date or now.date() + timedelta(days=1)
        fields["date"] = first = recurrence.first_day(found, start)
        if base.date is not None and first != base.date:
            said = f"{WEEKDAY_NAMES[found.weekday]}s, so it starts {first:%A, %B} {first.day}"
            fields["notes"] = (*base.notes, f"The series is on {said}, not {base.date:%A}.")
    if fields.get("intent") in ("deny", "affirm"):
        fields["intent"] = None  # "no", "ok" inside a series are not answers to the summary
    return Heard(**fields, series=series_value(found))
