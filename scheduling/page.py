"""The participant's page (`/j/{token}`) and the clinician's Enter Meeting, as the rules see
them: what one link shows (`PageSession`, a value read in one unit, never a row), and what
its forms do (RSVP, documents, Pay Now's claim, Ask for another time, Cancel, Enter).

The faces call these through the `Scheduler` (scheduling/service.py), one unit a call;
every function here works in the caller's unit and never commits on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ground.practice import Practice
from scheduling import booking, guest_page, page_requests, results
from store import audit, claim_rows, session_rows
from store.claim_rows import ActionClaimed as PayClaim
from store.models import ScheduledSession

__all__ = ["HostRoom", "PageSession", "PayClaim"]


@dataclass(frozen=True)
class PageSession:
    """A session as one participant's link shows it, its fields decrypted."""

    public_id: str
    status: str
    start_at: datetime
    duration_min: int
    opens_at: datetime  # the join window (the practice's, around the session)
    closes_at: datetime
    cancelled_at: datetime | None
    documents: str | None
    documents_confirmed_at: datetime | None
    service: str | None
    amount_cents: int | None
    currency: str
    payment_status: str
    payment_ref: str | None
    paid_at: datetime | None
    refunded_cents: int | None
    sequence: int
    room_name: str
    token_hash: str  # the session's (the page's form field is keyed on it)
    language: str | None
    clinician: str | None  # their display name
    participant_tz: str  # the first participant's zone
    tz: str  # the zone of the participant whose link it is
    name: str  # that participant's name
    rsvp: str | None  # that link's own answer
    clinician_id: int


def page_session(row: ScheduledSession, token: str, practice: Practice) -> PageSession:
    opens_at, closes_at = booking.join_window(row, practice)
    return PageSession(
        public_id=row.public_id,
        status=row.status,
        start_at=row.start_at,
        duration_min=row.duration_min,
        opens_at=opens_at,
        closes_at=closes_at,
        cancelled_at=row.cancelled_at,
        documents=row.documents,
        documents_confirmed_at=row.documents_confirmed_at,
        service=row.service,
        amount_cents=row.amount_cents,
        currency=row.currency,
        payment_status=row.payment_status,
        payment_ref=row.payment_ref,
        paid_at=row.paid_at,
        refunded_cents=row.refunded_cents,
        sequence=row.sequence,
        room_name=row.room_name,
        token_hash=row.token_hash,
        language=row.language,
        clinician=row.clinician.display_name,
        participant_tz=row.participant_tz,
        tz=guest_page.zone_for(row, token),
        name=guest_page.name_for(row, token),
        rsvp=guest_page.answer_of(row, token),
        clinician_id=row.clinician_id,
    )


@dataclass(frozen=True)
class HostRoom:
    """The clinician's Enter Meeting: their room, until the join window ends."""

    session_id: int
    public_id: str
    room_name: str
    clinician: str | None  # their display name
    host: str  # who enters, as the audit names them
    cancelled: bool
    closes_at: datetime

    def gone(self, now: datetime) -> bool:
        return self.cancelled or now > self.closes_at


def load(
    s: Session, token: str, practice: Practice, *, disclosed: str | None = None
) -> PageSession | None:
    """The session of a participant link; `disclosed` names the audit action when what
    follows shows the participant something (the page, the room)."""
    row = session_rows.session_by_token(s, token)
    if row is None:
        return None
    if disclosed is not None:
        audit.record(s, actor=audit.PARTICIPANT, action=disclosed, session_id=row.id)
    return page_session(row, token, practice)


def host_room(s: Session, host_token: str, practice: Practice) -> HostRoom | None:
    row = session_rows.session_by_host_token(s, host_token)
    if row is None:
        return None
    _opens, closes_at = booking.join_window(row, practice)
    return HostRoom(
        session_id=row.id,
        public_id=row.public_id,
        room_name=row.room_name,
        clinician=row.clinician.display_name,
        host=audit.staff(row.clinician.team_id, row.clinician.user_id),
        cancelled=row.status == "cancelled",
        closes_at=closes_at,
    )


def host_entered(s: Session, room: HostRoom) -> None:
    """An audit row of its own (a disclosure decided after the session was read)."""
    audit.record(s, actor=room.host, action="enter_meeting", session_id=room.session_id)


def rsvp(s: Session, token: str, answer: str, practice: Practice, now: datetime) -> None:
    """This link's yes or no; the clinician hears of a changed answer by DM."""
    row = session_rows.session_by_token(s, token, lock=True)
    if row is None:
        return

    def record() -> results.Done:
        changed = guest_page.record_rsvp(
            s, row, token, answer, now, via="the session page", practice=practice
        )
        return results.Done(f"rsvp-{answer}", changed=changed)

    # The same answer twice within the window (a double click) is recorded once; a change
    # of mind back is another intent (the answer it replaces differs).
    change = f"{guest_page.rsvp_of(row, token)}->{answer}"
    results.once(s, row.clinician_id, "rsvp", row.public_id, change, now, record)


def confirm_documents(s: Session, token: str, now: datetime) -> None:
    row = session_rows.session_by_token(s, token, lock=True)
    if row is not None and row.documents_confirmed_at is None:
        row.documents_confirmed_at = now
        audit.record(
            s, actor=audit.PARTICIPANT, action="documents_confirmed", session_id=row.id,
            fields=["documents_confirmed_at"],
        )  # fmt: skip


def claim_pay(s: Session, seen: PageSession, now: datetime) -> PayClaim:
    """Pay Now's claim: a double click (or two tabs) makes one Checkout."""
    # The state it starts from: after an expiry, a failure or a refund (or once the first
    # click's Checkout is remembered) another Pay Now is another intent.
    version = ":".join(
        str(x) for x in (seen.sequence, seen.amount_cents, seen.payment_status, seen.payment_ref)
    )
    return claim_rows.claim_action(
        s, seen.clinician_id, "pay", seen.public_id, version, now, results.CLAIM_WINDOW
    )


def settle_pay(s: Session, claimed: PayClaim, url: str | None) -> None:
    """The Checkout page a repeat is sent to; None: failed, the next click tries again."""
    if url is None:
        claim_rows.release_claim(s, claimed)
    else:
        claim_rows.finish_claim(s, claimed, url)


def remember_checkout(s: Session, token: str, checkout_id: str, unpaid: Sequence[str]) -> None:
    """The Checkout the page now offers, while the session still waits for a payment."""
    row = session_rows.session_by_token(s, token, lock=True)
    if row is not None and row.payment_status in unpaid:
        row.payment_ref = checkout_id


def entered(s: Session, token: str, practice: Practice, now: datetime) -> None:
    """The waiting room: the clinician is told once (scheduling/waiting.py)."""
    row = session_rows.session_by_token(s, token, lock=True)
    if row is not None:
        guest_page.entered(s, row, token, practice, now)
        audit.record(s, actor=audit.PARTICIPANT, action="enter_meeting", session_id=row.id)


# Ask for another time, Cancel (the rules: scheduling/page_requests.py) ----------------------


def asks(s: Session, token: str, practice: Practice, now: datetime) -> page_requests.PageAsks:
    """What the page shows of asking and cancelling."""
    row = session_rows.session_by_token(s, token)
    if row is None:
        return page_requests.PageAsks(can_change=False, late=False)
    return page_requests.page_state(s, row, practice, now)


def ask(
    s: Session, token: str, typed: Sequence[tuple[str, str]], practice: Practice, now: datetime
) -> list[str] | None:
    """None: the request stored (and the clinician told); else what is wrong with the
    times (none: the session can no longer be moved from the page)."""
    row = session_rows.session_by_token(s, token, lock=True)
    if row is None or not page_requests.can_change(row, now):
        return []
    starts, problems = page_requests.read_times(typed, row.participant_tz, now, row, practice)
    if problems:
        return problems
    page_requests.ask(s, row, starts, practice, now)
    return None


def cancel(s: Session, token: str, practice: Practice, now: datetime) -> bool | None:
    """Cancelled now: whether it was late; None when it could not be."""
    row = session_rows.session_by_token(s, token, lock=True)
    if row is None:
        return None
    late = page_requests.is_late(row, practice, now)
    return late if page_requests.cancel(s, row, practice, now) else None
