"""The clinician's commands on their own sessions, for every face.

Slack's dashboard, the command line and the conversation call these and say what they
return: the rules (whose session it is, whether a new start is possible, what the
participant will hear) and the words of the answer live here once. Each command works in
the caller's unit of work and never commits on its own.

One rule for a new start everywhere (`check_start`): in the future; not a wall time that
the clocks skip (spring forward); for a wall time that happens twice (fall back), the
first of the two, said so; and a start so near that the join window is already open is
allowed, and said so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from actions import booking
from actions.formatting import initials, when
from sessionbot.practice import Practice
from store import repos
from store.models import Clinician, ScheduledSession

DASHBOARD_PAGE = 5


@dataclass(frozen=True)
class StartCheck:
    """A new start as the clinician gave it: the start, or why there is none; and a note
    to add to the answer (the repeated hour taken, the window already open)."""

    start: datetime | None
    problem: str | None = None
    note: str | None = None
    field: str = "time"  # which of a form's fields the problem is about: "date" or "time"


def check_start(
    day: date, hour: int, minute: int, tz: str, now: datetime, practice: Practice | None = None
) -> StartCheck:
    """The wall time `day hour:minute` in zone `tz`, checked against `now`."""
    zone = ZoneInfo(tz)
    wall = datetime(day.year, day.month, day.day, hour, minute)
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    shown = first.strftime("%-I:%M %p")
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        return StartCheck(
            None,
            f"{shown} doesn't exist on {day.strftime('%B %-d')}: the clocks move forward then.",
        )
    note = None
    if first.utcoffset() != second.utcoffset():
        note = (
            f"{shown} happens twice on {day.strftime('%B %-d')} (the clocks go back); "
            f"I took the first, {first.tzname()}."
        )
    start = first.astimezone(UTC)
    if start <= now:
        if day < now.astimezone(zone).date():
            return StartCheck(
                None, "That date has passed: pick today or a later date.", None, "date"
            )
        return StartCheck(None, "That time has passed: pick a later time.")
    if practice is not None and start - practice.join_before <= now:
        opens = "The join window is already open: Enter Meeting works from now."
        note = f"{note} {opens}" if note else opens
    return StartCheck(start, None, note)


def check_aware_start(start: datetime, now: datetime, practice: Practice) -> StartCheck:
    """A start given with its offset (ISO 8601 with +hh:mm): only the future is checked."""
    if start <= now:
        return StartCheck(None, "That time has passed: pick a later time.")
    note = None
    if start - practice.join_before <= now:
        note = "The join window is already open: Enter Meeting works from now."
    return StartCheck(start.astimezone(UTC), None, note)


@dataclass(frozen=True)
class Done:
    """What a command did, in the words to tell the clinician."""

    text: str
    changed: bool
    found: bool = True


def _what(session: ScheduledSession, tz: str) -> str:
    return f"the session with {initials(session.participant)} on {when(session.start_at, tz)}"


def clinician_zone(clinician: Clinician, practice: Practice) -> str:
    return clinician.tz or practice.default_timezone


NOT_FOUND = Done("I couldn't find that session among yours.", changed=False, found=False)


def cancel(
    s: Session, clinician: Clinician, public_id: str, practice: Practice, now: datetime
) -> Done:
    session = repos.session_for_clinician(s, clinician.id, public_id, lock=True)
    if session is None:
        return NOT_FOUND
    what = _what(session, clinician_zone(clinician, practice))
    if not booking.cancel(s, session, practice, now):
        return Done(f"{what[0].upper()}{what[1:]} was already cancelled.", changed=False)
    if booking.invitation_left(s, session):
        told = " The participant will be told."
    elif session.invite_channel != "none":
        told = " Their invitation hadn't gone out yet, so they get no notice."
    else:
        told = ""
    return Done(f"Cancelled {what}.{told}", changed=True)


def reschedule(
    s: Session,
    clinician: Clinician,
    public_id: str,
    check: StartCheck,
    practice: Practice,
    now: datetime,
) -> Done:
    """Move a session to the start `check` found (or say why not: nothing changes)."""
    session = repos.session_for_clinician(s, clinician.id, public_id, lock=True)
    if session is None or session.status == "cancelled":
        return NOT_FOUND
    if check.start is None:
        return Done(f"{check.problem} Nothing was changed.", changed=False)
    if session.start_at == check.start:
        return Done("The session is already at that time; nothing changed.", changed=False)
    try:
        booking.reschedule(s, session, check.start, practice, now)
    except ValueError:  # the start passed between the check and now
        return Done("That time has passed: pick a later time. Nothing was changed.", False)
    tz = clinician_zone(clinician, practice)
    said = f"Moved the session with {initials(session.participant)} to {when(check.start, tz)}."
    return Done(f"{said} {check.note}" if check.note else said, changed=True)


def reschedule_prompt(
    s: Session, clinician: Clinician, public_id: str, practice: Practice
) -> tuple[ScheduledSession, str] | None:
    """The session to move and the words above the form, or None when it can't be moved."""
    session = repos.session_for_clinician(s, clinician.id, public_id)
    if session is None or session.status == "cancelled":
        return None
    tz = clinician_zone(clinician, practice)
    text = f"Move {_what(session, tz)}."
    if session.invite_channel != "none":
        text += (
            " The participant will get an update."
            if booking.invitation_left(s, session)
            else " The participant will get the invitation for the new time."
        )
    return session, text


@dataclass(frozen=True)
class SessionRow:
    """One upcoming session as a dashboard shows it (the participant as initials)."""

    public_id: str
    start: datetime
    participant: str
    invite_channel: str
    invite_status: str
    rsvp: str | None
    payment_status: str
    enter_meeting_url: str


@dataclass(frozen=True)
class DashboardPage:
    rows: list[SessionRow]
    page: int
    total: int
    tz: str


def dashboard(
    s: Session,
    clinician: Clinician,
    page: int,
    now: datetime,
    practice: Practice,
    public_url: str,
    *,
    size: int = DASHBOARD_PAGE,
) -> DashboardPage:
    """One page of the clinician's upcoming sessions (a page past the end shows the last)."""
    total = repos.count_sessions(s, clinician.id, after=now)
    page = max(0, min(page, (total - 1) // size)) if total else 0
    found = repos.list_sessions(s, clinician.id, after=now, limit=size, offset=page * size)
    rows = [
        SessionRow(
            public_id=x.public_id,
            start=x.start_at,
            participant=initials(x.participant),
            invite_channel=x.invite_channel,
            invite_status=x.invite_status,
            rsvp=x.rsvp,
            payment_status=x.payment_status,
            enter_meeting_url=booking.enter_meeting_url(public_url, x),
        )
        for x in found
    ]
    return DashboardPage(rows, page, total, clinician_zone(clinician, practice))
