"""Booking rules shared by the conversation, the dashboard, the CLI and the web page.

Saving a session writes it, its contact and its outgoing messages (invitation now,
reminders at the practice's offsets) in the caller's one unit of work: the transactional
outbox that the worker sends from.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ground.channel import Channel
from ground.formatting import initials, when
from ground.practice import Practice
from ground.session import Money, Participant, SessionSpec
from scheduling import participants as others
from scheduling import queue as outbox
from store import audit, clinician_rows, outbox_rows, session_rows
from store.crypto import keyring
from store.models import Clinician, ScheduledSession, SessionGuest

# What a participant may have heard of the session, and the outbox states of "it left".
TOLD_KINDS = ("invitation", "update", "reminder")
LEFT_STATUSES = ("sent", "sending", "local")
# A series' later occurrences are invited this long before each (the first ones at once):
# a year of weekly sessions is not 52 e-mails or texts in one minute.
SERIES_INVITE_AHEAD = timedelta(days=7)


def spec_from_session(session: ScheduledSession, draft_id: str, start: datetime) -> SessionSpec:
    """A new session like `session` at `start`: the same participants (each with their
    channel, address and zone), documents, service, price and length (Schedule Next)."""
    price = None
    if session.amount_cents is not None:
        price = Money(session.amount_cents, session.currency)
    lead, *rest = others.recipients(session)
    return SessionSpec(
        draft_id=draft_id,
        start=start,
        participants=(
            # The first participant's language is the session's (the others': the practice's).
            Participant(
                lead.name, lead.channel, lead.email, lead.phone, ZoneInfo(lead.tz), session.language
            ),
            *(
                Participant(who.name, who.channel, who.email, who.phone, ZoneInfo(who.tz))
                for who in rest
            ),
        ),  # fmt: skip
        price=price,
        **{name: getattr(session, name) for name in SessionSpec.stored_names()},
    )


def participant_of(session: ScheduledSession) -> Participant:
    """The session's participant as the typed value (the store keeps one per session)."""
    return Participant(
        name=session.participant,
        channel=Channel(session.invite_channel),
        email=session.email,
        phone=session.phone,
        zone=ZoneInfo(session.participant_tz),
        language=session.language,
    )


def _session_fields(
    clinician: Clinician, spec: SessionSpec, practice: Practice, draft_id: str, start: datetime
) -> dict[str, object]:
    """The new session's columns by name."""
    lead = spec.lead
    return {
        "clinician_id": clinician.id,
        "draft_id": draft_id,
        "start_at": start,
        **spec.stored(),  # the length, the documents, the service: as they are
        "participant": lead.name,
        "invite_channel": lead.channel,
        "email": lead.email if lead.channel.address == "email" else None,
        "phone": lead.phone if lead.channel.address == "phone" else None,
        "phone_index": phone_index(lead.phone if lead.channel.address == "phone" else None),
        "participant_tz": lead.tz,
        "language": lead.language,
        "amount_cents": spec.price.cents if spec.price is not None else None,
        "currency": spec.price.currency if spec.price is not None else practice.currency,
        "invite_status": "queued" if lead.channel != Channel.NONE else "not_sent",
        "payment_status": "pending" if spec.price is not None else "not_required",
    }


def book(
    s: Session, clinician: Clinician, spec: SessionSpec, practice: Practice, now: datetime
) -> tuple[ScheduledSession, bool]:
    """Store the session once per draft; returns it and whether it was made now.

    The idempotency key is the clinician's own (see `draft_key`), so a draft id that came
    with another clinician's tracker finds nothing of theirs.
    """
    key = draft_key(clinician.id, spec.draft_id)
    existing = session_rows.session_by_draft(s, key)
    if existing is not None and existing.clinician_id == clinician.id:
        return existing, False
    others.check_limit(len(spec.participants), practice.max_participants)
    session, _token = session_rows.create_session(
        s, **_session_fields(clinician, spec, practice, key, spec.start)
    )
    others.add_others(s, session, spec.participants[1:])
    _remember_contact(s, clinician, spec)
    plan_messages(s, session, practice, now, first="invitation")
    audit.session_event(s, session, "session_created")
    return session, True


def series_draft_id(draft_id: str, index: int) -> str:
    """The first occurrence keeps the draft's id (so a second Save finds it)."""
    return draft_id if index == 0 else f"{draft_id}#{index}"


def book_series(
    s: Session,
    clinician: Clinician,
    spec: SessionSpec,
    starts: list[datetime],
    practice: Practice,
    now: datetime,
) -> tuple[list[ScheduledSession], bool]:
    """Store every occurrence of a series in the caller's one unit of work: one insert of
    the sessions (each its own links, room and reminders), one of their messages, all
    sharing a `series_id`. Once per draft: a second Save returns what the first stored."""
    existing = session_rows.session_by_draft(s, draft_key(clinician.id, spec.draft_id))
    if existing is not None and existing.clinician_id == clinician.id:
        if existing.series_id is None:
            return [existing], False
        return session_rows.series_sessions(s, existing.series_id), False
    others.check_limit(len(spec.participants), practice.max_participants)
    series_id = session_rows.new_series_id()
    rows = [
        _session_fields(
            clinician,
            spec,
            practice,
            draft_key(clinician.id, series_draft_id(spec.draft_id, i)),
            start,
        )
        | {"series_id": series_id}
        for i, start in enumerate(starts)
    ]
    sessions = session_rows.create_sessions(s, rows)
    _remember_contact(s, clinician, spec)
    for session in sessions:
        others.add_others(s, session, spec.participants[1:])
        ahead = max(now, session.start_at - SERIES_INVITE_AHEAD)
        plan_messages(s, session, practice, now, first="invitation", first_due=ahead)
        audit.session_event(s, session, "session_created")
    return sessions, True


def _remember_contact(s: Session, clinician: Clinician, spec: SessionSpec) -> None:
    for participant in spec.participants:
        contact = clinician_rows.upsert_contact(
            s,
            clinician.id,
            name=participant.name,
            invite_channel=participant.channel,
            email=participant.email,
            phone=participant.phone,
            participant_tz=participant.tz,
        )
        contact.language = participant.language or contact.language


def draft_key(clinician_id: int, draft_id: str) -> str:
    """The stored idempotency key of a draft: its id within this clinician's drafts.

    A tracker (from a Rasa server, say) carries the draft id; keying it by the clinician
    means two clinicians' drafts can never meet, whatever ids their trackers hold.
    """
    return hashlib.sha256(f"{clinician_id}:{draft_id}".encode()).hexdigest()


def plan_messages(
    s: Session,
    session: ScheduledSession,
    practice: Practice,
    now: datetime,
    *,
    first: str,
    first_due: datetime | None = None,
) -> None:
    """Queue `first` (invitation, update, cancellation) now (or at `first_due`) and the
    reminders still ahead, to every participant invited (each on their own channel)."""
    version = session.sequence
    for who in others.recipients(session):
        if who.channel == Channel.NONE:
            continue
        channel, guest = who.channel.value, who.guest_id
        key = f"{first}:{version}"
        queue(s, session, first, due_at=first_due or now, key=key, channel=channel, guest_id=guest)
        if first == "cancellation":
            continue
        for offset in practice.reminder_offsets:
            due = session.start_at - offset
            if due > now:
                seconds = int(offset.total_seconds())
                key = f"reminder:{seconds}:{version}"
                queue(s, session, "reminder", due_at=due, key=key, channel=channel, guest_id=guest)


def queue(
    s: Session,
    session: ScheduledSession,
    kind: str,
    *,
    due_at: datetime,
    key: str,
    channel: str | None = None,
    guest_id: int | None = None,
) -> None:
    """One message to the participant in the outbox: by the session's channel unless
    `channel` says otherwise; `key` (after the session's public id) makes it once only.
    `guest_id`: to that other participant of the session (not the first)."""
    if guest_id is not None:
        key = f"g{guest_id}:{key}"
    outbox.put(
        s,
        outbox.Message(
            kind=kind,
            channel=Channel(channel or session.invite_channel),
            due_at=due_at,
            dedupe_key=f"{session.public_id}:{key}",
            session_id=session.id,
            clinician_id=session.clinician_id,
            guest_id=guest_id,
        ),
    )


def notify_clinician(
    s: Session,
    clinician_id: int,
    text: str,
    *,
    dedupe_key: str,
    now: datetime,
    session_id: int | None = None,
) -> None:
    """A Slack DM to the clinician, sent by the worker (text is encrypted at rest)."""
    outbox.put(
        s,
        outbox.Message(
            kind="clinician_notice",
            channel=Channel.SLACK,
            due_at=now,
            dedupe_key=dedupe_key,
            session_id=session_id,
            clinician_id=clinician_id,
            payload=text,
        ),
    )


def address_on(session: ScheduledSession, channel: Channel) -> str | None:
    """The participant's address on `channel` (None for no invitation)."""
    if channel.address == "email":
        return session.email
    return session.phone if channel.address == "phone" else None


def withdraw_pending(s: Session, session: ScheduledSession) -> int:
    """Take back every message not sent yet (old reminders after a change)."""
    pending = outbox_rows.pending_outbox(s, session.id)
    for message in pending:
        message.status = "withdrawn"
    return len(pending)


def record_rsvp(
    s: Session,
    session: ScheduledSession,
    answer: str,
    now: datetime,
    *,
    via: str,
    practice: Practice,
    guest: SessionGuest | None = None,
) -> bool:
    """A participant's yes/no (the first's, or `guest`'s: another participant's); the
    clinician gets a DM when it changes. False if unchanged."""
    answer = answer.strip().lower()
    if answer not in ("yes", "no"):
        raise ValueError("an RSVP is yes or no")
    held = session.rsvp if guest is None else guest.rsvp
    if session.status == "cancelled" or held == answer:
        return False
    if guest is None:
        session.rsvp = answer
    else:
        guest.rsvp = answer
    audit.record(s, actor=audit.PARTICIPANT, action="rsvp", session_id=session.id, fields=["rsvp"])
    zone = practice.zone_of(session.clinician.tz)
    said = "will attend" if answer == "yes" else "can't make it"
    name = session.participant if guest is None else guest.participant
    whose = "" if guest is None else f"g{guest.id}:"
    notify_clinician(
        s,
        session.clinician_id,
        f"{initials(name)} {said}: your session on "
        f"{when(session.start_at, zone)} (answered by {via}).",
        dedupe_key=f"notice:rsvp:{session.public_id}:{whose}{session.sequence}:{answer}:"
        f"{now.isoformat()}",
        now=now,
        session_id=session.id,
    )
    return True


def phone_index(phone: str | None) -> str | None:
    """The keyed blind index of an E.164 number: inbound texts find sessions by it."""
    return keyring().blind_index(phone) if phone else None


def invitation_left(s: Session, session: ScheduledSession) -> bool:
    """Whether anything about this session has reached (or may be reaching) the participant.

    `sending` counts: a worker holds it and the provider may already have accepted it.
    """
    return any(
        m.kind in TOLD_KINDS and m.status in LEFT_STATUSES
        for m in outbox_rows.outbox_for_session(s, session.id)
    )


def cancel(s: Session, session: ScheduledSession, practice: Practice, now: datetime) -> bool:
    """Cancel; a notice goes only to a participant who was told of the session.

    An invitation still waiting (or never sent) is withdrawn, and nothing else goes: a
    participant who never heard of the session must not get a cancellation of it.
    False if already cancelled.
    """
    if session.status == "cancelled":
        return False
    withdraw_pending(s, session)
    session.status = "cancelled"
    session.cancelled_at = now
    session.sequence += 1
    if invitation_left(s, session):
        plan_messages(s, session, practice, now, first="cancellation")
    elif session.invite_channel != Channel.NONE:
        session.invite_status = "withdrawn"
    audit.session_event(s, session, "session_cancelled", fields=["status"])
    return True


def reschedule(
    s: Session, session: ScheduledSession, new_start: datetime, practice: Practice, now: datetime
) -> None:
    """Move the session; the participant gets an update and fresh reminders."""
    if new_start <= now:
        raise ValueError("the new start must be in the future")
    told = invitation_left(s, session)
    withdraw_pending(s, session)
    session.start_at = new_start
    session.sequence += 1
    session.rsvp = None
    for guest in session.guests:  # every participant answers again for the new time
        guest.rsvp = None
    if session.phone and session.phone_index is None:  # a row from before the index
        session.phone_index = phone_index(session.phone)
    # Someone never invited gets the invitation at the new time, not an "update".
    plan_messages(s, session, practice, now, first="update" if told else "invitation")
    audit.session_event(s, session, "session_rescheduled", fields=["start_at"])


def join_window(session: ScheduledSession, practice: Practice) -> tuple[datetime, datetime]:
    start = session.start_at - practice.join_before
    end = session.start_at + timedelta(minutes=session.duration_min) + practice.join_after_end
    return start, end


def participant_url(public_url: str, session: ScheduledSession) -> str:
    return f"{public_url}/j/{session.token}"


def enter_meeting_url(public_url: str, session: ScheduledSession) -> str:
    """The clinician's own Enter Meeting link (never the participant's)."""
    return f"{public_url}/enter/{session.host_token}"
