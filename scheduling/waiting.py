"""The waiting room: a participant pressed Enter Meeting on their page.

The clinician hears of it at once by a Slack DM with their own Enter Meeting (through the
outbox, so a Slack hiccup is retried; the local outbox without Slack), once per session
and time: a double click or a reload sends one. The dashboard says "waiting" until the
session's end while the entry falls in its current join window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ground.formatting import initials, when
from ground.practice import Practice
from scheduling import booking, queue
from store.models import ScheduledSession

# The dedupe key of the DM (the worker adds the clinician's Enter Meeting to it).
PREFIX = "waiting:"


def is_waiting(session: ScheduledSession, practice: Practice, now: datetime) -> bool:
    """The participant entered in this session's current join window (not a window of
    an earlier time), and the session has not ended."""
    if session.entered_at is None or session.status == "cancelled":
        return False
    opens, closes = booking.join_window(session, practice)
    ends = session.start_at + timedelta(minutes=session.duration_min)
    return opens <= session.entered_at <= closes and now < ends


def participant_entered(
    s: Session, session: ScheduledSession, practice: Practice, now: datetime
) -> bool:
    """Record the entry (the caller holds the session's row lock) and queue the DM; False
    when this entry was already told (the same window: a second click, a reload)."""
    already = is_waiting(session, practice, now)
    if not already:
        session.entered_at = now
    zone = practice.zone_of(session.clinician.tz)
    text = (
        f"{initials(session.participant)} is waiting: your session on "
        f"{when(session.start_at, zone)}."
    )
    key = f"{PREFIX}{session.public_id}:{session.sequence}"
    return queue.put(s, queue.notice(session.clinician_id, session.id, text, key, now), once=True)
