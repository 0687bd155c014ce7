"""The morning agenda: a day's sessions in the clinician's zone, the DM's words, and the
clinician's choice of when (or whether) it comes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ground.formatting import clock, initials, short_zone, when
from ground.practice import Practice
from scheduling import booking
from scheduling.results import Done, clinician_zone
from store import session_rows
from store.models import Clinician


@dataclass(frozen=True)
class AgendaRow:
    start: datetime
    participant: str  # initials
    participant_tz: str
    status: str
    rsvp: str | None
    payment_status: str
    enter_meeting_url: str


@dataclass(frozen=True)
class Agenda:
    day: date
    tz: str
    rows: list[AgendaRow]


def agenda(
    s: Session, clinician: Clinician, day: date, practice: Practice, public_url: str
) -> Agenda:
    """The clinician's sessions on `day` (midnight to midnight in their zone, 23 or 25
    hours on a day the clocks change), in time order, cancelled ones too."""
    tz = clinician_zone(clinician, practice)
    zone = ZoneInfo(tz)
    begin = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    rows = [
        AgendaRow(
            start=x.start_at,
            participant=initials(x.participant),
            participant_tz=x.participant_tz,
            status=x.status,
            rsvp=x.rsvp,
            payment_status=x.payment_status,
            enter_meeting_url=booking.enter_meeting_url(public_url, x),
        )
        for x in session_rows.sessions_on(s, clinician.id, begin, end)
    ]
    return Agenda(day, tz, rows)


PAYMENT_WORDS = {
    "not_required": "no payment",
    "pending": "payment pending",
    "paid": "paid",
    "payment_failed": "payment failed",
    "partially_refunded": "paid, partly refunded",
    "refunded": "refunded",
}


def agenda_lines(found: Agenda) -> list[str]:
    """One line a session: both zones, status, RSVP and payment."""
    heading = f"{found.day.strftime('%A, %B')} {found.day.day}, {found.day.year}"
    if not found.rows:
        return [f"{heading}: no sessions."]
    count = len(found.rows)
    lines = [f"{heading}: {count} session{'s' if count != 1 else ''} ({short_zone(found.tz)})"]
    for row in found.rows:
        yours = when(row.start, found.tz, with_date=False)
        theirs = ""
        if row.participant_tz != found.tz:
            clock = when(row.start, row.participant_tz, with_date=False)
            local = row.start.astimezone(ZoneInfo(row.participant_tz)).date()
            if local != found.day:  # their evening before, or their morning after
                clock = f"{local.strftime('%a')} {clock}"
            theirs = f" ({clock} theirs)"
        rsvp = {"yes": "will attend", "no": "can't make it"}.get(row.rsvp or "", "no RSVP yet")
        lines.append(
            f"{yours}{theirs} · {row.participant} · {row.status} · {rsvp} · "
            f"{PAYMENT_WORDS.get(row.payment_status, row.payment_status)}"
        )
    return lines


_AGENDA_TIME = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?\s*$", re.IGNORECASE)


_AGENDA_ASK = re.compile(
    r"\b(?:send|give|dm|message)\s+me\s+(?:my|the)\s+(?:daily\s+|morning\s+)?agenda"
    r"(?:\s+(?:every\s+(?:morning|day)\s+)?at\s+(?P<at>\d{1,2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?))?",
    re.IGNORECASE,
)


_AGENDA_STOP = re.compile(
    r"\b(?:stop|no\s+more|turn\s+off|cancel)\s+(?:sending\s+)?(?:my|the)\s+(?:daily\s+|"
    r"morning\s+)?agenda\b",
    re.IGNORECASE,
)


DEFAULT_AGENDA_AT = "07:30"


def agenda_clock(text: str) -> str | None:
    """'7:30', '7:30am', '19:00', '7 am' as 'HH:MM' (24-hour); None if not a clock time."""
    found = _AGENDA_TIME.match(text)
    if found is None:
        return None
    hour, minute = int(found.group(1)), int(found.group(2) or 0)
    meridiem = (found.group(3) or "").lower().replace(".", "")
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def agenda_request(text: str) -> str | None:
    """What a message asks of the morning agenda: 'HH:MM' ("send me my agenda at 7:30"),
    'off' ("stop my agenda"), or None when it asks nothing of it."""
    if _AGENDA_STOP.search(text):
        return "off"
    asked = _AGENDA_ASK.search(text)
    if asked is None:
        return None
    return agenda_clock(asked.group("at")) if asked.group("at") else DEFAULT_AGENDA_AT


def set_agenda(s: Session, clinician: Clinician, at: str | None) -> Done:
    """Turn the morning agenda DM on at `at` ('HH:MM' in the clinician's zone), or off."""
    if at is not None and agenda_clock(at) != at:
        return Done("Give the agenda time as HH:MM, like 07:30. Nothing was changed.", False)
    if clinician.agenda_at == at:
        said = "off" if at is None else f"at {clock(time.fromisoformat(at))}"
        return Done(f"Your morning agenda is already {said}.", changed=False)
    clinician.agenda_at = at
    if at is None:
        return Done("I'll stop sending your morning agenda.", changed=True)
    zone = clinician.tz or "your zone"
    return Done(
        f"I'll send your agenda every morning at {clock(time.fromisoformat(at))} ({zone}): "
        "the day's sessions, and nothing on a day without any.",
        changed=True,
    )
