"""What a participant asks for on their page, and the clinician's answer.

"Ask for another time": up to three starts, typed in the participant's zone and checked
by the one rule for a new start (`scheduling.starts.check_start`); the clinician gets a DM with
each time in both zones and buttons, and answers from Slack or the command line: Accept
moves the session through `commands.reschedule` (the usual update and reminders), Decline
tells the participant. "Cancel": the session is cancelled as the clinician's Cancel
does, the clinician is told, and a cancellation inside the practice's notice
(`cancel_notice_hours`) is said to be late, with the practice's words on fees.

Every function works in the caller's unit of work and never commits on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from ground.channel import Channel
from ground.formatting import initials, when
from ground.practice import Practice
from scheduling import booking, clashes, commands, results
from scheduling import hours as working
from scheduling.starts import check_aware_start, check_start
from store import participant_requests as asks
from store.models import Clinician, ParticipantRequest, ScheduledSession

MAX_TIMES = 3
MAX_AHEAD = timedelta(days=365)
# The dedupe key of the clinician's DM about a request (the worker adds its buttons).
PREFIX = "ask:"
ACCEPT = "ask:accept:"  # + the time's number; the button's value is the request's id
DECLINE = "ask:decline"
STATUS_WORDS = {
    "accepted": "accepted",
    "declined": "declined",
    "replaced": "replaced by a newer request",
    "closed": "closed (the session was cancelled)",
}


# Reading what the participant typed -----------------------------------------------------


def read_times(
    fields: Sequence[tuple[str, str]],
    tz: str,
    now: datetime,
    session: ScheduledSession,
    practice: Practice,
) -> tuple[list[datetime], list[str]]:
    """The (date, time) pairs of the page's form, as typed in the participant's zone
    `tz` ("2026-11-26", "13:00"): the starts, or what is wrong with each (by its number).
    Blank pairs are skipped; at most `MAX_TIMES` are read."""
    starts: list[datetime] = []
    problems: list[str] = []
    # Only times inside the clinician's working hours are offered (theirs, else the
    # practice's; none set: any time).
    hours = working.hours_of(session.clinician, practice)
    clinician_tz = practice.zone_of(session.clinician.tz)
    for number, (day_text, clock_text) in enumerate(fields[:MAX_TIMES], start=1):
        day_text, clock_text = day_text.strip(), clock_text.strip()
        if not day_text and not clock_text:
            continue
        label = f"Time {number}"
        if not day_text or not clock_text:
            problems.append(f"{label}: give both a date and a time.")
            continue
        try:
            day, at = date.fromisoformat(day_text), time.fromisoformat(clock_text)
        except ValueError:
            problems.append(f"{label}: that is not a date and a time.")
            continue
        check = check_start(day, at.hour, at.minute, tz, now)
        start = check.start
        if start is None:
            problems.append(f"{label}: {check.problem}")
        elif start > now + MAX_AHEAD:
            problems.append(f"{label}: that is more than a year ahead.")
        elif start == session.start_at:
            problems.append(f"{label}: that is the session's current time.")
        elif hours is not None and not working.inside(start, clinician_tz, hours):
            problems.append(
                f"{label}: that is outside the hours sessions are held; please pick another."
            )
        elif start in starts:
            problems.append(f"{label}: the same as time {starts.index(start) + 1}.")
        else:
            starts.append(start)
    if not starts and not problems:
        problems.append("Give at least one date and time that would suit you.")
    return starts, problems


# The participant's side -------------------------------------------------------------------


class Dated(Protocol):
    """A session's row, or the page's view of it (scheduling/page.py)."""

    @property
    def status(self) -> str: ...

    @property
    def start_at(self) -> datetime: ...


def can_change(session: Dated, now: datetime) -> bool:
    """Whether the page offers asking and cancelling: a live session not yet begun."""
    return session.status != "cancelled" and now < session.start_at


def is_late(session: Dated, practice: Practice, now: datetime) -> bool:
    """A cancellation now would come inside the practice's notice."""
    return now > session.start_at - timedelta(hours=practice.cancel_notice_hours)


@dataclass(frozen=True)
class PageAsks:
    """What the page shows of asking and cancelling at one moment."""

    can_change: bool
    late: bool
    open_times: tuple[datetime, ...] = ()  # what the participant asked, not yet answered
    declined: bool = False  # their latest request was declined


def page_state(
    s: Session, session: ScheduledSession, practice: Practice, now: datetime
) -> PageAsks:
    found = asks.for_session(s, session.id)
    latest = next((r for r in found if r.status != "replaced"), None)
    open_times = (
        tuple(asks.decode_times(latest.times)) if latest and latest.status == asks.OPEN else ()
    )
    return PageAsks(
        can_change=can_change(session, now),
        late=is_late(session, practice, now),
        open_times=open_times,
        declined=latest is not None and latest.status == "declined",
    )


def ask(
    s: Session,
    session: ScheduledSession,
    starts: Sequence[datetime],
    practice: Practice,
    now: datetime,
) -> ParticipantRequest | None:
    """Store the participant's times (the caller holds the session's row lock) and DM the
    clinician. The same times as the open request (a double click, a reload) store and
    send nothing more; other times replace it. None when the session can't be changed."""
    if not can_change(session, now) or not starts:
        return None
    wanted = asks.encode_times(starts)
    for earlier in asks.for_session(s, session.id, lock=True):
        if earlier.status != asks.OPEN:
            continue
        if earlier.times == wanted:
            return earlier
        earlier.status, earlier.answered_at = "replaced", now
    request = asks.add(
        s, session_id=session.id, clinician_id=session.clinician_id, times=starts, now=now
    )
    booking.notify_clinician(
        s,
        session.clinician_id,
        request_text(request, session, practice),
        dedupe_key=f"{PREFIX}{request.id}",
        now=now,
        session_id=session.id,
    )
    return request


def request_text(request: ParticipantRequest, session: ScheduledSession, practice: Practice) -> str:
    """The clinician's DM: whose session, and each time in both zones, numbered."""
    zone, theirs = practice.zone_of(session.clinician.tz), session.participant_tz
    lines = [
        f"{initials(session.participant)} asks to move your session on "
        f"{when(session.start_at, zone)} (request {request.id}). The times they proposed:"
    ]
    for number, start in enumerate(asks.decode_times(request.times), start=1):
        both = f" ({when(start, theirs)} theirs)" if theirs != zone else ""
        lines.append(f"{number}. {when(start, zone)}{both}")
    lines.append("Accept one, or Decline: they will be told.")
    return "\n".join(lines)


def cancel(s: Session, session: ScheduledSession, practice: Practice, now: datetime) -> bool:
    """The participant cancels from their page (the caller holds the row lock): cancelled
    as by the clinician's Cancel (the participant's usual notice), open requests closed,
    and the clinician told, late or not. False when it can't be (begun, cancelled)."""
    if not can_change(session, now):
        return False
    late = is_late(session, practice, now)
    booking.cancel(s, session, practice, now)
    for request in asks.for_session(s, session.id, lock=True):
        if request.status == asks.OPEN:
            request.status, request.answered_at = "closed", now
    zone = practice.zone_of(session.clinician.tz)
    text = (
        f"{initials(session.participant)} cancelled your session on "
        f"{when(session.start_at, zone)} from their session page."
    )
    if late:
        hours = max(0, int((session.start_at - now).total_seconds() // 3600))
        text += (
            f" It is a late cancellation: {hours} hours before the start; the practice asks "
            f"for {practice.cancel_notice_hours}."
        )
    booking.notify_clinician(
        s,
        session.clinician_id,
        text,
        dedupe_key=f"notice:participant-cancel:{session.public_id}",
        now=now,
        session_id=session.id,
    )
    return True


# The clinician's answer ---------------------------------------------------------------------

NO_REQUEST = results.Done("I couldn't find that request among yours.", changed=False, found=False)


def _open(
    s: Session, clinician: Clinician, request_id: int
) -> tuple[ParticipantRequest | None, results.Done | None]:
    request = asks.for_clinician(s, clinician.id, request_id, lock=True)
    if request is None:
        return None, NO_REQUEST
    if request.status != asks.OPEN:
        said = STATUS_WORDS.get(request.status, request.status)
        return None, results.Done(f"That request was already {said}.", changed=False)
    if request.session.status == "cancelled":
        request.status = "closed"
        return None, results.Done(
            "That session was cancelled, so there is nothing to move.", changed=False
        )
    return request, None


def accept(
    s: Session,
    clinician: Clinician,
    request_id: int,
    number: int,
    practice: Practice,
    now: datetime,
) -> results.Done:
    """Move the session to the request's time `number` (1-based) by the one reschedule
    rule; the participant gets the usual update and fresh reminders."""
    request, refused = _open(s, clinician, request_id)
    if request is None:
        return refused or NO_REQUEST
    times = asks.decode_times(request.times)
    if not 1 <= number <= len(times):
        return results.Done(f"Pick a time from 1 to {len(times)}. Nothing was changed.", False)
    session = request.session
    check = check_aware_start(times[number - 1], now, practice)
    overlap = None
    if check.start is not None:  # said with the move: the clinician chose this time
        overlap = clashes.move_overlap(s, clinician, session.public_id, check.start, practice)
    done = commands.reschedule(s, clinician, session.public_id, check, practice, now)
    if check.start is not None and session.start_at == check.start:
        request.status, request.chosen, request.answered_at = "accepted", number, now
        told = " The participant will get an update." if booking.invitation_left(s, session) else ""
        said = f"Accepted {initials(session.participant)}'s request. {done.text}{told}"
        return results.Done(f"{said} {overlap}" if overlap else said, changed=True)
    return results.Done(
        f"{done.text} You can accept another of their times, or decline.", changed=False
    )


def decline(
    s: Session, clinician: Clinician, request_id: int, practice: Practice, now: datetime
) -> results.Done:
    """Decline the request: the session stays; the participant is told on their channel
    (and on their page)."""
    request, refused = _open(s, clinician, request_id)
    if request is None:
        return refused or NO_REQUEST
    session = request.session
    request.status, request.answered_at = "declined", now
    zone = practice.zone_of(clinician.tz)
    who = initials(session.participant)
    text = f"Declined {who}'s request: the session stays on {when(session.start_at, zone)}."
    channel = Channel.invitation(session.invite_channel)
    if channel is not None and channel is not Channel.NONE:
        booking.queue(
            s, session, "declined", due_at=now, key=f"declined:{request.id}:{session.sequence}"
        )
        text += f" They will be told by {channel.said}."
    else:
        text += " They will see it on their session page (they have no invitation channel)."
    return results.Done(text, changed=True)


# The DM's buttons --------------------------------------------------------------------------


def notice_buttons(s: Session, dedupe_key: str, practice: Practice) -> list[tuple[str, str, str]]:
    """The buttons under a request's DM, (label, action id, value): Accept each time (in
    the clinician's zone) and Decline; none once the request is answered."""
    if not dedupe_key.startswith(PREFIX):
        return []
    raw = dedupe_key.removeprefix(PREFIX)
    request = asks.by_id(s, int(raw)) if raw.isdigit() else None
    if request is None or request.status != asks.OPEN:
        return []
    zone = practice.zone_of(request.session.clinician.tz)
    value = str(request.id)
    buttons = [
        (f"Accept {when(start, zone)}", f"{ACCEPT}{number}", value)
        for number, start in enumerate(asks.decode_times(request.times), start=1)
    ]
    return [*buttons, ("Decline", DECLINE, value)]


# The command line ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """One request as `sessionbot requests` shows it (the participant as initials)."""

    id: int
    session: str  # its public id
    participant: str
    current_start: datetime
    times: tuple[datetime, ...]
    participant_tz: str
    status: str
    created_at: datetime


def listed(s: Session, clinician: Clinician, *, everything: bool = False) -> list[Listed]:
    return [
        Listed(
            id=r.id,
            session=r.session.public_id,
            participant=initials(r.session.participant),
            current_start=r.session.start_at,
            times=tuple(asks.decode_times(r.times)),
            participant_tz=r.session.participant_tz,
            status=r.status,
            created_at=r.created_at,
        )
        for r in asks.listed(s, clinician.id, everything=everything)
    ]
