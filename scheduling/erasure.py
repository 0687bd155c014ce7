"""Erasure (`sessionbot forget`) and retention of participant data.

A person is found by a phone, an e-mail or a contact, then by everything those rows
name: the same name at the same clinician (a contact is one name per clinician), any
session with one of their e-mails or phones. What they were is erased everywhere it is
stored: their sessions keep the time, status, payment state and the audit's ids, with
the name emptied (shown as "erased") and the e-mail, phone and its index gone; their
contacts are deleted; pending messages to them are withdrawn and every stored message
text of their sessions dropped; conversation drafts, Slack inbox bodies, Slack replies
and action results that mention them are deleted. A STOP keeps its keyed index (the
number is never texted again) but not the number.

Upcoming sessions are refused unless cancelled with it: the cancellation goes to the
participant as for any cancellation, so those sessions keep the address until their
notice has gone (`erase_requested_at`; the worker, then the retention run, finish them).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import unquote_plus

import phonenumbers
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Delete, Update

from ground.jsontypes import JSON
from ground.practice import Practice
from scheduling import booking, queue
from store import audit, clinician_rows, consents
from store.crypto import keyring
from store.models import (
    ActionClaim,
    Contact,
    OutboxMessage,
    ScheduledSession,
    SessionGuest,
    SlackInbox,
    SlackReply,
    SmsOptOut,
    Tracker,
)

ERASED = ""  # the stored name of an erased session's participant
ERASED_FIELDS = ("email", "participant", "phone")
WAITING = ("pending", "sending")


def is_erased(session: ScheduledSession) -> bool:
    return session.erased_at is not None


@dataclass
class Person:
    """What identifies the person: names (by clinician), e-mails, phones (E.164)."""

    names: set[tuple[int, str]] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)

    def add(
        self, clinician_id: int, name: str | None, email: str | None, phone: str | None
    ) -> bool:
        """Take a row's details; True when that taught something new."""
        before = (len(self.names), len(self.emails), len(self.phones))
        if name and name.strip():
            self.names.add((clinician_id, _fold(name)))
        if email:
            self.emails.add(email.strip().casefold())
        if phone:
            self.phones.add(phone)
        return before != (len(self.names), len(self.emails), len(self.phones))

    def is_row(
        self, clinician_id: int, name: str | None, email: str | None, phone: str | None
    ) -> bool:
        return (
            (clinician_id, _fold(name or "")) in self.names
            or (email or "").strip().casefold() in self.emails
            or (phone or "") in self.phones
        )

    def mentioned_in(self, text: str | None) -> bool:
        """Whether a stored text (JSON, a form body, plain words) names them anywhere."""
        if not text:
            return False
        for form in _readings(text):
            folded = _fold(form)
            if any(e in folded for e in self.emails):
                return True
            if any(_word(n).search(folded) for _, n in self.names if n):
                return True
            digits = re.sub(r"\D", "", form)
            if any(_national(p) in digits for p in self.phones):
                return True
        return False


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _word(name: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)")


def _national(phone: str) -> str:
    """+16175550101 → 6175550101: the digits of the number in any format."""
    try:
        return str(phonenumbers.parse(phone).national_number)
    except phonenumbers.NumberParseException:
        return re.sub(r"\D", "", phone)


def _readings(text: str) -> list[str]:
    """The text as stored, as a form body decoded, and the strings of its JSON."""
    out = [text, unquote_plus(text)]
    with contextlib.suppress(ValueError):
        out.append("\n".join(_strings(json.loads(text))))
    return out


def _strings(value: JSON) -> list[str]:
    if isinstance(value, str):
        return [value, *_readings(value)[1:]] if value[:1] in "{[" else [value]
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in (str(k), *_strings(v))]
    if isinstance(value, list):
        return [x for v in value for x in _strings(v)]
    return []


# Finding the person ------------------------------------------------------------------


@dataclass
class Found:
    person: Person
    sessions: list[ScheduledSession]
    contacts: list[Contact]
    contact_id: int | None = None  # the contact the erasure was asked for (or the first)
    # Where they are another participant of someone's session (a couple, a family): only
    # their own details go; the session and the others' stay.
    guests: list[tuple[ScheduledSession, SessionGuest]] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return bool(self.sessions or self.contacts or self.guests)


def find(
    s: Session,
    *,
    phone: str | None = None,
    email: str | None = None,
    contact_id: int | None = None,
    clinician_id: int | None = None,
) -> Found:
    """The person's sessions (not erased yet) and contacts, within one clinician's when
    given. Rows are decrypted to compare: erasure is rare and must miss nothing."""
    person = Person()
    if phone:
        person.phones.add(phone)
    if email:
        person.emails.add(email.strip().casefold())
    sessions_q = select(ScheduledSession).where(ScheduledSession.erased_at.is_(None))
    contacts_q = select(Contact)
    if clinician_id is not None:
        sessions_q = sessions_q.where(ScheduledSession.clinician_id == clinician_id)
        contacts_q = contacts_q.where(Contact.clinician_id == clinician_id)
    sessions = list(s.scalars(sessions_q.order_by(ScheduledSession.id)))
    contacts = list(s.scalars(contacts_q.order_by(Contact.id)))
    asked = None
    if contact_id is not None:
        asked = next((c for c in contacts if c.id == contact_id), None)
        if asked is not None:
            person.add(asked.clinician_id, asked.name, asked.email, asked.phone)
    found_s: dict[int, ScheduledSession] = {}
    found_c: dict[int, Contact] = {} if asked is None else {asked.id: asked}
    found_g: dict[int, tuple[ScheduledSession, SessionGuest]] = {}
    others = [(x, g) for x in sessions for g in x.guests if g.participant != ERASED]
    learning = bool(person.names or person.emails or person.phones)
    while learning:  # until no row teaches anything new
        learning = False
        for x in sessions:
            if x.id not in found_s and person.is_row(
                x.clinician_id, x.participant, x.email, x.phone
            ):
                found_s[x.id] = x
                learning |= person.add(x.clinician_id, x.participant, x.email, x.phone)
        for x, g in others:
            if g.id not in found_g and person.is_row(
                x.clinician_id, g.participant, g.email, g.phone
            ):
                found_g[g.id] = (x, g)
                learning |= person.add(x.clinician_id, g.participant, g.email, g.phone)
        for c in contacts:
            if c.id not in found_c and person.is_row(c.clinician_id, c.name, c.email, c.phone):
                found_c[c.id] = c
                learning |= person.add(c.clinician_id, c.name, c.email, c.phone)
    chosen = contact_id if asked is not None else min(found_c, default=None)
    # A session erased whole (they are its first participant) takes its others with it.
    guests = [(x, g) for x, g in found_g.values() if x.id not in found_s]
    return Found(person, list(found_s.values()), list(found_c.values()), chosen, guests)


def _ahead(x: ScheduledSession, now: datetime) -> bool:
    return x.status != "cancelled" and x.start_at + timedelta(minutes=x.duration_min) > now


def upcoming(found: Found, now: datetime) -> list[ScheduledSession]:
    """Their sessions still to come, as the first participant or as another."""
    sessions = {x.id: x for x in found.sessions if _ahead(x, now)}
    for x, _ in found.guests:
        if x.id not in sessions and _ahead(x, now):
            sessions[x.id] = x
    return sorted(sessions.values(), key=lambda x: x.id)


# Erasing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Forgotten:
    """What `forget` did (counts only), or the upcoming sessions that stopped it."""

    refused: list[ScheduledSession] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    nobody: bool = False  # no one was found with what was given


def forget(
    s: Session,
    found: Found,
    practice: Practice,
    now: datetime,
    *,
    actor: str,
    cancel_upcoming: bool = False,
) -> Forgotten:
    """Erase the person `find` found; one audit row records it (by `actor`)."""
    ahead = upcoming(found, now)
    if ahead and not cancel_upcoming:
        return Forgotten(refused=ahead)
    counts: Counter[str] = Counter()
    audit.acting_as(s, actor)
    waiting: set[int] = set()
    mine = {x.id for x in found.sessions}
    for x in ahead:
        if booking.cancel(s, x, practice, now):
            counts["upcoming sessions cancelled"] += 1
        if x.id in mine and _notice_waiting(s, x.id):
            x.erase_requested_at = now
            waiting.add(x.id)
    # An earlier `forget`'s sessions still waiting for their notice stay waiting.
    waiting |= {x.id for x in found.sessions if x.erase_requested_at is not None}
    ids = [x.id for x in found.sessions]
    if ids:
        counts["messages withdrawn"] += _withdraw(s, ids, keep=waiting)
    for x in found.sessions:
        if x.id not in waiting:
            _erase_session(s, x, now)
            counts["sessions erased"] += 1
    counts["sessions erased once their cancellation has gone"] = len(waiting)
    for c in found.contacts:
        s.delete(c)
        counts["contacts deleted"] += 1
    counts.update(_forget_guests(s, found.guests, now))
    counts.update(scrub(s, found.person, now))
    # One row for each clinician whose records held them: a practice's admin sees in their
    # audit trail (filtered by their workspace) an erasure an operator ran for everyone.
    whose = {x.clinician_id for x in found.sessions} | {c.clinician_id for c in found.contacts}
    whose |= {x.clinician_id for x, _ in found.guests}
    held: list[str | None] = [
        f"{c.team_id}:{c.user_id}" for c in clinician_rows.clinicians_by_id(s, whose)
    ]
    for for_clinician in held or [None]:
        audit.record(
            s, actor=actor, action="contact_erased", contact_id=found.contact_id,
            for_clinician=for_clinician, fields=ERASED_FIELDS,
        )  # fmt: skip
    return Forgotten(counts=+counts)


def forget_asked(
    s: Session,
    practice: Practice,
    now: datetime,
    *,
    phone: str | None = None,
    email: str | None = None,
    contact_id: int | None = None,
    team: str | None = None,
    user: str | None = None,
    cancel_upcoming: bool = False,
) -> Forgotten | None:
    """`sessionbot forget`: find the person (within one clinician's when `team` and
    `user` are given: they are then the actor, else the operator) and erase them; None
    when there is no such clinician."""
    clinician_id, actor = None, audit.SYSTEM
    if team is not None and user is not None:
        clinician = clinician_rows.find_clinician(s, team, user)
        if clinician is None:
            return None
        clinician_id, actor = clinician.id, audit.staff(team, user)
    found = find(s, phone=phone, email=email, contact_id=contact_id, clinician_id=clinician_id)
    if not found.anything:
        return Forgotten(nobody=True)
    return forget(s, found, practice, now, actor=actor, cancel_upcoming=cancel_upcoming)


def _notice_waiting(s: Session, session_id: int, guest_id: int | None = None) -> bool:
    """Whether a cancellation of the session (to this other participant, when given)
    has still to go."""
    query = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.session_id == session_id,
            OutboxMessage.kind == "cancellation",
            OutboxMessage.status.in_(WAITING),
        )
    )
    if guest_id is not None:
        query = query.where(OutboxMessage.guest_id == guest_id)
    return bool(s.scalar(query))


def _forget_guests(
    s: Session, found: list[tuple[ScheduledSession, SessionGuest]], now: datetime
) -> Counter[str]:
    """Erase them where they are another participant: what was still to go to them is
    withdrawn (but a cancellation, which they are told first) and the texts of their
    messages dropped; their name, e-mail and phone go now, or once that notice has gone."""
    counts: Counter[str] = Counter()
    if not found:
        return counts
    s.flush()
    ids = [g.id for _, g in found]
    result = s.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.guest_id.in_(ids),
            OutboxMessage.status == "pending",
            OutboxMessage.kind != "cancellation",
        )
        .values(status="withdrawn")
        .execution_options(synchronize_session=False)
    )
    counts["messages withdrawn"] += int(result.rowcount or 0)  # type: ignore[attr-defined]
    for x, g in found:
        if _notice_waiting(s, x.id, g.id):
            g.erase_requested_at = now
            counts["other participants erased once their cancellation has gone"] += 1
        else:
            _erase_guest(s, g)
            counts["other participants erased"] += 1
    return counts


def _erase_guest(s: Session, guest: SessionGuest) -> None:
    guest.participant, guest.email, guest.phone, guest.phone_index = ERASED, None, None, None
    guest.erase_requested_at = None
    s.execute(
        update(OutboxMessage)
        .where(OutboxMessage.guest_id == guest.id)
        .values(payload=None, last_error=None)
        .execution_options(synchronize_session=False)
    )


def _withdraw(s: Session, session_ids: list[int], *, keep: set[int]) -> int:
    """Withdraw what was still to go to them (but the cancellations of `keep`), and drop
    the stored text of every message of their sessions."""
    s.flush()
    result = s.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.session_id.in_(session_ids),
            OutboxMessage.status == "pending",
            ~(OutboxMessage.session_id.in_(keep) & (OutboxMessage.kind == "cancellation")),
        )
        .values(status="withdrawn")
        .execution_options(synchronize_session=False)
    )
    done = set(session_ids) - keep
    if done:
        _drop_texts(s, done)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _drop_texts(s: Session, session_ids: set[int]) -> None:
    s.execute(
        update(OutboxMessage)
        .where(OutboxMessage.session_id.in_(session_ids))
        .values(payload=None, last_error=None)
        .execution_options(synchronize_session=False)
    )


def _erase_session(s: Session, session: ScheduledSession, now: datetime) -> None:
    session.participant = ERASED
    session.email = session.phone = session.phone_index = None
    for guest in session.guests:  # a couples or family session's others, with it
        guest.participant, guest.email, guest.phone, guest.phone_index = ERASED, None, None, None
        guest.erase_requested_at = None
    session.erased_at = now
    session.erase_requested_at = None


# Told to a clinician whose conversation named the person: their draft vanishing without a
# word would look like a fault (and they would type it all again). No name: it is erased.
CONVERSATION_CLEARED = (
    "I cleared our conversation: it named a person whose data was erased at their request. "
    "A session you were drafting was not saved; the sessions you saved are kept as they "
    "are (with that person's details erased)."
)


def scrub(s: Session, person: Person, now: datetime) -> Counter[str]:
    """Delete the stored texts that mention the person: conversation drafts (their
    clinician told), Slack inbox bodies and replies, action results, notices' texts; a STOP
    keeps only its index."""
    counts: Counter[str] = Counter()
    for tracker in s.scalars(select(Tracker)):
        if person.mentioned_in(tracker.state):
            s.delete(tracker)
            counts["conversation drafts deleted"] += 1
            key = f"conversation-cleared:{tracker.clinician_id}:{now.isoformat()}"
            queue.put(s, queue.notice(tracker.clinician_id, None, CONVERSATION_CLEARED, key, now))
    for inbound in s.scalars(select(SlackInbox)):
        if person.mentioned_in(inbound.body):
            s.delete(inbound)
            counts["Slack inbox bodies deleted"] += 1
    for reply in s.scalars(select(SlackReply)):
        if person.mentioned_in(reply.body):
            s.delete(reply)
            counts["Slack replies deleted"] += 1
    for claim in s.scalars(select(ActionClaim).where(ActionClaim.result.is_not(None))):
        if person.mentioned_in(claim.result):
            s.delete(claim)
            counts["action results deleted"] += 1
    for message in s.scalars(select(OutboxMessage).where(OutboxMessage.payload.is_not(None))):
        if person.mentioned_in(message.payload) or person.mentioned_in(message.last_error):
            message.payload = message.last_error = None
            counts["message texts dropped"] += 1
    indexes = [i for p in person.phones for i in keyring().blind_indexes(p)]
    if indexes:
        result = s.execute(
            update(SmsOptOut)
            .where(SmsOptOut.phone_index.in_(indexes), SmsOptOut.phone.is_not(None))
            .values(phone=None)
            .execution_options(synchronize_session=False)
        )
        counts["text opt-outs kept without the number"] += int(result.rowcount or 0)  # type: ignore[attr-defined]
        consents.forget_numbers(s, indexes)
    return counts


def finish_requested(s: Session, session_id: int, now: datetime) -> bool:
    """Erase a session whose erasure waited for its cancellation notice, once no notice
    is left to go (sent or given up); True when it was erased now."""
    session = s.get(ScheduledSession, session_id)
    if session is None:
        return False
    for guest in session.guests:  # another participant erased alone, told first
        if guest.erase_requested_at is not None and not _notice_waiting(s, session_id, guest.id):
            _erase_guest(s, guest)
            audit.record(
                s, actor=audit.SYSTEM, action="participant_erased", session_id=session_id,
                fields=ERASED_FIELDS,
            )  # fmt: skip
    if session.erase_requested_at is None or _notice_waiting(s, session_id):
        return False
    _erase_session(s, session, now)
    _drop_texts(s, {session_id})
    audit.record(
        s, actor=audit.SYSTEM, action="session_erased", session_id=session_id, fields=ERASED_FIELDS
    )
    return True


# Retention ---------------------------------------------------------------------------


def retention(s: Session, practice: Practice, now: datetime) -> Counter[str]:
    """Erase what the practice keeps no longer (counts of what was erased)."""
    counts: Counter[str] = Counter()
    cutoff = now - timedelta(days=practice.retention_days)
    ended = s.scalars(
        select(ScheduledSession).where(
            ScheduledSession.erased_at.is_(None), ScheduledSession.start_at < cutoff
        )
    )
    for x in ended:
        if x.start_at + timedelta(minutes=x.duration_min) < cutoff:
            _erase_session(s, x, now)
            _drop_texts(s, {x.id})
            counts["sessions erased"] += 1
    # An erasure whose cancellation notice was given up on long ago.
    day_ago = now - timedelta(days=1)
    stale = s.scalars(
        select(ScheduledSession.id).where(ScheduledSession.erase_requested_at < day_ago)
    )
    for guest in s.scalars(select(SessionGuest).where(SessionGuest.erase_requested_at < day_ago)):
        _erase_guest(s, guest)
        counts["other participants erased"] += 1
    for session_id in list(stale):
        counts["sessions erased"] += finish_requested(s, session_id, now)
    counts["contacts deleted"] = _deleted(s, delete(Contact).where(Contact.last_used_at < cutoff))
    inbox = now - timedelta(days=practice.inbox_retention_days)
    counts["Slack inbox bodies deleted"] = _deleted(
        s, delete(SlackInbox).where(SlackInbox.received_at < inbox)
    )
    counts["Slack replies deleted"] = _deleted(
        s, delete(SlackReply).where(SlackReply.created_at < inbox)
    )
    counts["conversation drafts deleted"] = _deleted(
        s, delete(Tracker).where(Tracker.updated_at < inbox)
    )
    counts["notice texts dropped"] = _deleted(
        s,
        update(OutboxMessage)
        .where(
            OutboxMessage.kind == "clinician_notice",
            OutboxMessage.created_at < inbox,
            OutboxMessage.status.not_in(WAITING),
            OutboxMessage.payload.is_not(None),
        )
        .values(payload=None),
    )
    audit.record(s, actor=audit.SYSTEM, action="retention_applied")
    return counts


def _deleted(s: Session, statement: Update | Delete) -> int:
    result = s.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
