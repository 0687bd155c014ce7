"""The dashboard (Slack's App Home and `/sessions`): a page of the clinician's upcoming
sessions, participants as initials, and those under way whose participant is waiting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ground.formatting import initials
from ground.practice import Practice
from scheduling import booking, refunds, waiting
from scheduling.results import clinician_zone
from store import session_rows
from store.models import Clinician, ScheduledSession

DASHBOARD_PAGE = 5


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
    series_id: str | None = None
    reminded_at: datetime | None = None
    waiting: bool = False  # the participant pressed Enter in this join window
    paid: bool = False  # cancelling it asks what to refund (scheduling/refunds.py)


@dataclass(frozen=True)
class DashboardPage:
    rows: list[SessionRow]
    page: int
    total: int
    tz: str
    agenda_at: str | None = None  # the morning agenda DM's time, None: off
    # Sessions under way whose participant is in the waiting room (they have left the
    # upcoming list at their start; "waiting" holds until the session's end).
    waiting: tuple[SessionRow, ...] = ()
    refund_rows: Sequence[refunds.RefundRow] = ()  # recent cancellations' refunds, failed first
    admin: bool = False  # whoever looks is an admin of the practice (App Home's section)


WAITING_SHOWN = 3  # at most this many under way on a dashboard (Slack's 100 blocks)


UNDER_WAY_LOOKBACK = timedelta(days=1)  # longer than any session and its window


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
    total = session_rows.count_sessions(s, clinician.id, after=now)
    page = max(0, min(page, (total - 1) // size)) if total else 0
    found = session_rows.list_sessions(s, clinician.id, after=now, limit=size, offset=page * size)
    rows = [_session_row(x, now, practice, public_url) for x in found]
    under_way = [
        _session_row(x, now, practice, public_url)
        for x in session_rows.entered_under_way(s, clinician.id, now - UNDER_WAY_LOOKBACK, now)
        if waiting.is_waiting(x, practice, now)
    ]
    return DashboardPage(
        rows,
        page,
        total,
        clinician_zone(clinician, practice),
        clinician.agenda_at,
        tuple(under_way[-WAITING_SHOWN:]),
        refunds.dashboard_rows(s, clinician, practice, now),
    )


def _session_row(
    x: ScheduledSession, now: datetime, practice: Practice, public_url: str
) -> SessionRow:
    return SessionRow(
        public_id=x.public_id,
        start=x.start_at,
        participant=initials(x.participant),
        invite_channel=x.invite_channel,
        invite_status=x.invite_status,
        rsvp=x.rsvp,
        payment_status=x.payment_status,
        enter_meeting_url=booking.enter_meeting_url(public_url, x),
        series_id=x.series_id,
        reminded_at=x.reminded_at,
        waiting=waiting.is_waiting(x, practice, now),
        paid=x.payment_status in refunds.PAID and x.payment_intent is not None,
    )
