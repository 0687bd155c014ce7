"""A participant's own page link, for every participant of a session: the first's (the
session's token) or another's (`session_guests`). The page is the session's (one room,
one payment); the zone it shows, the RSVP it records, the name the room shows and the
"is waiting" DM are that participant's own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ground.formatting import initials, when
from ground.practice import Practice
from scheduling import booking, waiting
from scheduling import queue as outbox
from store.crypto import hash_token
from store.models import ScheduledSession, SessionGuest


def guest_of(session: ScheduledSession, token: str) -> SessionGuest | None:
    """The other participant whose link this is (None: the first participant's)."""
    hashed = hash_token(token)
    return next((g for g in session.guests if g.token_hash == hashed), None)


def zone_for(session: ScheduledSession, token: str) -> str:
    guest = guest_of(session, token)
    return guest.participant_tz if guest is not None else session.participant_tz


def name_for(session: ScheduledSession, token: str) -> str:
    guest = guest_of(session, token)
    return guest.participant if guest is not None else session.participant


def answer_of(session: ScheduledSession, token: str) -> str | None:
    """This link's own yes or no (None: not answered)."""
    guest = guest_of(session, token)
    return guest.rsvp if guest is not None else session.rsvp


def rsvp_of(session: ScheduledSession, token: str) -> str:
    """The answer this link gave so far, named by whose it is (a double click is one)."""
    guest = guest_of(session, token)
    return f"g{guest.id}:{guest.rsvp}" if guest is not None else str(session.rsvp)


def record_rsvp(
    s: Session,
    session: ScheduledSession,
    token: str,
    answer: str,
    now: datetime,
    *,
    via: str,
    practice: Practice,
) -> bool:
    """This participant's yes or no; the clinician gets a DM when it changes."""
    return booking.record_rsvp(
        s, session, answer, now, via=via, practice=practice, guest=guest_of(session, token)
    )


def entered(
    s: Session, session: ScheduledSession, token: str, practice: Practice, now: datetime
) -> bool:
    """This participant pressed Enter: recorded, and the clinician told once per
    participant per window ("MK is waiting")."""
    guest = guest_of(session, token)
    if guest is None:
        return waiting.participant_entered(s, session, practice, now)
    opens, closes = booking.join_window(session, practice)
    if guest.entered_at is None or not opens <= guest.entered_at <= closes:
        guest.entered_at = now
    zone = practice.zone_of(session.clinician.tz)
    text = (
        f"{initials(guest.participant)} is waiting: your session on {when(session.start_at, zone)}."
    )
    key = f"{waiting.PREFIX}{session.public_id}:{session.sequence}:g{guest.id}"
    return outbox.put(s, outbox.notice(session.clinician_id, session.id, text, key, now), once=True)
