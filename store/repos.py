"""Repositories: every `select()` of the store lives here.

Functions take an open unit of work (`Store.unit()`) and return models. Callers never
see ciphertext: encrypted columns decrypt on load.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, bindparam, delete, func, or_, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer
from sqlalchemy.sql.dml import Update

from store.crypto import keyring
from store.models import (
    ActionClaim,
    Clinician,
    Contact,
    OutboxMessage,
    ProcessedEvent,
    ScheduledSession,
    SessionGuest,
    SlackInbox,
    SlackPost,
    SlackReply,
    SlackRevocation,
    SmsOptOut,
    Tracker,
    utcnow,
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Statements of the hot path (every dialogue turn), built once.
_CLINICIAN = select(Clinician).where(
    Clinician.team_id == bindparam("team_id"), Clinician.user_id == bindparam("user_id")
)
_CLINICIAN_LOCKED = _CLINICIAN.with_for_update()
_TRACKER = (
    select(Tracker).where(Tracker.clinician_id == bindparam("clinician_id")).with_for_update()
)
_CONVERSATION = (
    select(Clinician, Tracker)
    .outerjoin(Tracker, Tracker.clinician_id == Clinician.id)
    .where(Clinician.team_id == bindparam("team_id"), Clinician.user_id == bindparam("user_id"))
)
_CONTACTS = (
    select(Contact)
    .where(Contact.clinician_id == bindparam("clinician_id"))
    .order_by(Contact.last_used_at.desc())
)


# Clinicians -------------------------------------------------------------------------


def get_clinician(
    s: Session,
    team_id: str,
    user_id: str,
    *,
    tz: str | None = None,
    display_name: str | None = None,
    lock: bool = False,
) -> Clinician:
    """The clinician with this Slack identity, made on first sight.

    With `lock`, their row stays locked to the end of the unit: one turn at a time.
    """
    query = _CLINICIAN_LOCKED if lock else _CLINICIAN
    ids = {"team_id": team_id, "user_id": user_id}
    found = s.scalars(query, ids).one_or_none()
    if found is None:
        found = Clinician(team_id=team_id, user_id=user_id, tz=tz, display_name=display_name)
        try:
            with s.begin_nested():
                s.add(found)
        except IntegrityError:  # made at the same moment by another process
            found = s.scalars(query, ids).one()
    else:
        if tz and not found.tz:
            found.tz = tz
        if display_name and found.display_name != display_name:
            found.display_name = display_name
    # Later look-ups in this unit (the actions of a turn) need no query.
    s.info.setdefault("clinicians", {})[(team_id, user_id)] = found
    return found


def open_conversation(
    s: Session,
    team_id: str,
    user_id: str,
    *,
    tz: str | None = None,
    display_name: str | None = None,
) -> tuple[Clinician, dict[str, Any] | None]:
    """A turn's start: the clinician, locked to the end of the unit, and their tracker.

    On SQLite the unit already holds the database's write lock (BEGIN IMMEDIATE), so one
    joined query reads the latest of both. On PostgreSQL a joined row read while waiting
    for the lock could be an older version of the tracker, so the tracker is read after
    the lock is held, by a statement of its own.
    """
    row = None
    if s.get_bind().dialect.name == "sqlite":
        row = s.execute(_CONVERSATION, {"team_id": team_id, "user_id": user_id}).one_or_none()
    if row is None:
        clinician = get_clinician(s, team_id, user_id, tz=tz, display_name=display_name, lock=True)
        return clinician, load_tracker(s, clinician.id)
    clinician, tracker = row
    if tz and not clinician.tz:
        clinician.tz = tz
    if display_name and clinician.display_name != display_name:
        clinician.display_name = display_name
    s.info.setdefault("clinicians", {})[(team_id, user_id)] = clinician
    s.info.setdefault("trackers", {})[clinician.id] = tracker
    return clinician, None if tracker is None else json.loads(tracker.state)


def find_clinician(s: Session, team_id: str, user_id: str) -> Clinician | None:
    known = s.info.get("clinicians", {}).get((team_id, user_id))
    if known is not None:
        return known
    return s.scalars(_CLINICIAN, {"team_id": team_id, "user_id": user_id}).one_or_none()


# Conversation trackers --------------------------------------------------------------


def _tracker_row(s: Session, clinician_id: int) -> Tracker | None:
    rows = s.info.setdefault("trackers", {})
    if clinician_id not in rows:
        rows[clinician_id] = s.scalars(_TRACKER, {"clinician_id": clinician_id}).one_or_none()
    return rows[clinician_id]


def load_tracker(s: Session, clinician_id: int) -> dict[str, Any] | None:
    """The saved conversation, locked for this unit of work (turns never interleave)."""
    row = _tracker_row(s, clinician_id)
    return None if row is None else json.loads(row.state)


def save_tracker(s: Session, clinician_id: int, state: dict[str, Any]) -> None:
    text = json.dumps(state, separators=(",", ":"))
    row = _tracker_row(s, clinician_id)  # usually already in the unit's identity map
    if row is None:
        row = Tracker(clinician_id=clinician_id, state=text)
        s.add(row)
        s.info["trackers"][clinician_id] = row
    else:
        row.state = text
    s.flush()


# Contacts ---------------------------------------------------------------------------


def find_contacts(
    s: Session, clinician_id: int, prefix: str = "", limit: int = 20
) -> list[Contact]:
    """The clinician's previous participants whose name (or a word of it) starts with prefix.

    Names are encrypted, so matching happens after decryption, on one clinician's own
    contacts only (most recently used first).
    """
    wanted = " ".join(prefix.casefold().split())
    rows = s.scalars(_CONTACTS, {"clinician_id": clinician_id})
    out: list[Contact] = []
    for contact in rows:
        name = contact.name.casefold()
        if not wanted or name.startswith(wanted) or any(w.startswith(wanted) for w in name.split()):
            out.append(contact)
            if len(out) >= limit:
                break
    return out


def contact_by_id(s: Session, clinician_id: int, contact_id: int) -> Contact | None:
    """One of this clinician's contacts (another clinician's id finds nothing)."""
    return s.scalars(
        select(Contact).where(Contact.id == contact_id, Contact.clinician_id == clinician_id)
    ).one_or_none()


def contact_by_name(s: Session, clinician_id: int, name: str) -> Contact | None:
    """Found by the name's blind index under any configured key (a contact saved before
    a key rotation is still this one, not a new row)."""
    return s.scalars(
        select(Contact)
        .where(
            Contact.clinician_id == clinician_id,
            Contact.name_index.in_(keyring().blind_indexes(name)),
        )
        .order_by(Contact.last_used_at.desc(), Contact.id.desc())
        .limit(1)
    ).one_or_none()


def upsert_contact(
    s: Session,
    clinician_id: int,
    *,
    name: str,
    invite_channel: str,
    email: str | None,
    phone: str | None,
    participant_tz: str | None,
) -> Contact:
    contact = contact_by_name(s, clinician_id, name)
    if contact is None:
        contact = Contact(
            clinician_id=clinician_id, name=name, name_index=keyring().blind_index(name)
        )
        s.add(contact)
    contact.invite_channel = invite_channel
    contact.email = email or contact.email
    contact.phone = phone or contact.phone
    contact.participant_tz = participant_tz or contact.participant_tz
    contact.last_used_at = utcnow()
    return contact


# Sessions ---------------------------------------------------------------------------


def _new_session(fields: dict[str, Any]) -> tuple[ScheduledSession, str]:
    """A session with its own secrets: the participant's link token (192 random bits),
    the clinician's host token and the room name; links are stored hashed."""
    token = secrets.token_urlsafe(24)
    host_token = secrets.token_urlsafe(24)
    row = ScheduledSession(
        public_id=secrets.token_hex(16),
        token=token,
        token_hash=hash_token(token),
        host_token=host_token,
        host_token_hash=hash_token(host_token),
        room_name=secrets.token_urlsafe(18),
        **fields,
    )
    return row, token


def create_session(s: Session, **fields: Any) -> tuple[ScheduledSession, str]:
    """Insert a session with fresh secrets; returns it and its participant token."""
    row, token = _new_session(fields)
    s.add(row)
    s.flush()
    return row, token


def create_sessions(s: Session, rows: list[dict[str, Any]]) -> list[ScheduledSession]:
    """Insert many sessions (a series) with one flush: the store batches the INSERTs."""
    made = [_new_session(fields)[0] for fields in rows]
    s.add_all(made)
    s.flush()
    return made


def new_series_id() -> str:
    return secrets.token_hex(16)


def series_sessions(
    s: Session, series_id: str, *, from_start: datetime | None = None, lock: bool = False
) -> list[ScheduledSession]:
    """A series' occurrences by start (from `from_start` on when given), cancelled too."""
    query = select(ScheduledSession).where(ScheduledSession.series_id == series_id)
    if from_start is not None:
        query = query.where(ScheduledSession.start_at >= from_start)
    if lock:
        query = query.with_for_update(of=ScheduledSession)
    return list(s.scalars(query.order_by(ScheduledSession.start_at, ScheduledSession.id)))


def busy_between(
    s: Session, clinician_id: int, windows: list[tuple[datetime, datetime]]
) -> list[tuple[int, datetime, int]]:
    """(id, start, minutes) of the clinician's live sessions starting in any of the
    windows [after, before), by start: plain columns, nothing decrypted (an overlap check
    of a series reads a year)."""
    found: dict[int, tuple[int, datetime, int]] = {}
    for chunk in range(0, len(windows), 100):
        within = or_(
            *(
                and_(ScheduledSession.start_at >= after, ScheduledSession.start_at < before)
                for after, before in windows[chunk : chunk + 100]
            )
        )
        rows = s.execute(
            select(
                ScheduledSession.id, ScheduledSession.start_at, ScheduledSession.duration_min
            ).where(
                ScheduledSession.clinician_id == clinician_id,
                ScheduledSession.status != "cancelled",
                within,
            )
        )
        for row in rows:
            found[row[0]] = (row[0], row[1], row[2])
    return sorted(found.values(), key=lambda row: (row[1], row[0]))


def longest_session(s: Session, clinician_id: int) -> int:
    """The most minutes any of the clinician's live sessions lasts (0 with none)."""
    return int(
        s.scalar(
            select(func.max(ScheduledSession.duration_min)).where(
                ScheduledSession.clinician_id == clinician_id,
                ScheduledSession.status != "cancelled",
            )
        )
        or 0
    )


def session_labels(s: Session, ids: set[int]) -> dict[int, tuple[str, str, datetime]]:
    """(public id, participant, start) of these sessions: only the name is decrypted."""
    if not ids:
        return {}
    rows = s.execute(
        select(
            ScheduledSession.id,
            ScheduledSession.public_id,
            ScheduledSession.participant,
            ScheduledSession.start_at,
        ).where(ScheduledSession.id.in_(ids))
    )
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def sessions_on(
    s: Session, clinician_id: int, after: datetime, before: datetime
) -> list[ScheduledSession]:
    """The clinician's sessions starting in [after, before), cancelled too (the agenda)."""
    return list(
        s.scalars(
            select(ScheduledSession)
            .where(
                ScheduledSession.clinician_id == clinician_id,
                ScheduledSession.start_at >= after,
                ScheduledSession.start_at < before,
            )
            .order_by(ScheduledSession.start_at, ScheduledSession.id)
        )
    )


def session_by_draft(s: Session, draft_id: str) -> ScheduledSession | None:
    return s.scalars(
        select(ScheduledSession).where(ScheduledSession.draft_id == draft_id)
    ).one_or_none()


def session_for_clinician(
    s: Session, clinician_id: int, public_id: str, *, lock: bool = False
) -> ScheduledSession | None:
    """A session by its public id, only if it is this clinician's own."""
    query = select(ScheduledSession).where(
        ScheduledSession.public_id == public_id, ScheduledSession.clinician_id == clinician_id
    )
    if lock:
        query = query.with_for_update(of=ScheduledSession)
    return s.scalars(query).one_or_none()


def session_by_token(s: Session, token: str, *, lock: bool = False) -> ScheduledSession | None:
    """The session of a participant link: the first participant's, or another's (0016)."""
    hashed = hash_token(token)
    guest = select(SessionGuest.session_id).where(SessionGuest.token_hash == hashed)
    query = select(ScheduledSession).where(
        (ScheduledSession.token_hash == hashed) | ScheduledSession.id.in_(guest.scalar_subquery())
    )
    if lock:
        query = query.with_for_update(of=ScheduledSession)
    return s.scalars(query).one_or_none()


def session_by_host_token(s: Session, token: str) -> ScheduledSession | None:
    return s.scalars(
        select(ScheduledSession).where(ScheduledSession.host_token_hash == hash_token(token))
    ).one_or_none()


def session_by_id(s: Session, session_id: int, *, lock: bool = False) -> ScheduledSession | None:
    query = select(ScheduledSession).where(ScheduledSession.id == session_id)
    if lock:
        query = query.with_for_update(of=ScheduledSession)
    return s.scalars(query).one_or_none()


def list_sessions(
    s: Session,
    clinician_id: int,
    *,
    after: datetime | None = None,
    include_cancelled: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[ScheduledSession]:
    """A clinician's sessions by start time (upcoming only when `after` is given)."""
    query = select(ScheduledSession).where(ScheduledSession.clinician_id == clinician_id)
    if after is not None:
        query = query.where(ScheduledSession.start_at >= after)
    if not include_cancelled:
        query = query.where(ScheduledSession.status != "cancelled")
    query = (
        query.order_by(ScheduledSession.start_at, ScheduledSession.id).limit(limit).offset(offset)
    )
    return list(s.scalars(query))


def entered_under_way(
    s: Session, clinician_id: int, begun_after: datetime, now: datetime
) -> list[ScheduledSession]:
    """The clinician's live sessions begun since `begun_after` whose participant pressed
    Enter (the waiting room's candidates once a session is under way), by start."""
    query = (
        select(ScheduledSession)
        .where(
            ScheduledSession.clinician_id == clinician_id,
            ScheduledSession.start_at >= begun_after,
            ScheduledSession.start_at < now,
            ScheduledSession.status != "cancelled",
            ScheduledSession.entered_at.is_not(None),
        )
        .order_by(ScheduledSession.start_at, ScheduledSession.id)
    )
    return list(s.scalars(query))


def cancelled_with_refund(
    s: Session, clinician_id: int, *, since: datetime, limit: int = 10
) -> list[ScheduledSession]:
    """A clinician's cancelled paid sessions with a refund chosen, cancelled since `since`
    (a refund that failed whenever it was cancelled), newest first."""
    query = (
        select(ScheduledSession)
        .where(
            ScheduledSession.clinician_id == clinician_id,
            ScheduledSession.status == "cancelled",
            ScheduledSession.refund_state.is_not(None),
            or_(ScheduledSession.cancelled_at >= since, ScheduledSession.refund_state == "failed"),
        )
        .order_by(ScheduledSession.cancelled_at.desc(), ScheduledSession.id.desc())
        .limit(limit)
    )
    return list(s.scalars(query))


def pending_refunds(s: Session, *, limit: int = 20) -> list[str]:
    """Public ids of cancelled sessions whose chosen refund is not made yet (the worker's)."""
    query = (
        select(ScheduledSession.public_id)
        .where(ScheduledSession.refund_state == "pending")
        .order_by(ScheduledSession.id)
        .limit(limit)
    )
    return list(s.scalars(query))


def count_sessions(
    s: Session, clinician_id: int, *, after: datetime | None = None, include_cancelled: bool = False
) -> int:
    query = (
        select(func.count())
        .select_from(ScheduledSession)
        .where(ScheduledSession.clinician_id == clinician_id)
    )
    if after is not None:
        query = query.where(ScheduledSession.start_at >= after)
    if not include_cancelled:
        query = query.where(ScheduledSession.status != "cancelled")
    return s.scalar(query) or 0


# Outbox -----------------------------------------------------------------------------


def add_outbox(s: Session, **fields: Any) -> OutboxMessage:
    message = OutboxMessage(**fields)
    s.add(message)
    return message


def outbox_has(s: Session, dedupe_key: str) -> bool:
    return (
        s.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)) is not None
    )


def add_outbox_once(s: Session, **fields: Any) -> bool:
    """Queue a message unless one with its dedupe key exists (another worker's planning
    of the same agenda or nudge); False when it did."""
    if outbox_has(s, fields["dedupe_key"]):
        return False
    try:
        with s.begin_nested():
            s.add(OutboxMessage(**fields))
    except IntegrityError:
        return False
    return True


def clinicians_with_agenda(s: Session) -> list[Clinician]:
    return list(s.scalars(select(Clinician).where(Clinician.agenda_at.is_not(None))))


def starting_between(s: Session, after: datetime, before: datetime) -> list[ScheduledSession]:
    """Scheduled sessions of every clinician starting in (after, before] (the nudges)."""
    return list(
        s.scalars(
            select(ScheduledSession).where(
                ScheduledSession.status == "scheduled",
                ScheduledSession.start_at > after,
                ScheduledSession.start_at <= before,
            )
        )
    )


def pending_outbox(s: Session, session_id: int) -> list[OutboxMessage]:
    return list(
        s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.session_id == session_id, OutboxMessage.status == "pending")
            .order_by(OutboxMessage.due_at)
        )
    )


def outbox_for_session(s: Session, session_id: int) -> list[OutboxMessage]:
    return list(
        s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.session_id == session_id)
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
        )
    )


# Inbound idempotency ----------------------------------------------------------------


def first_time(s: Session, key: str) -> bool:
    """Records `key`; False when it was already recorded (a retry or a replay)."""
    if s.get(ProcessedEvent, key) is not None:
        return False
    try:
        with s.begin_nested():
            s.add(ProcessedEvent(key=key))
    except IntegrityError:
        return False
    return True


# Actions taken once per window (a double click) -----------------------------------------


@dataclass
class ActionClaimed:
    """The outcome of `claim_action`: `mine` when this caller is to do the action (then
    `rows` are its claim, to `finish` or `release`); otherwise `result` is what the
    earlier one was told (None while it is still being done)."""

    mine: bool
    result: str | None = None
    rows: list[ActionClaim] = field(default_factory=list)


def claim_action(
    s: Session,
    clinician_id: int,
    action: str,
    subject: str,
    args: str,
    now: datetime,
    window: timedelta,
    *,
    superseded: bool = False,
) -> ActionClaimed:
    """Claim `action` on `subject` with `args` for `window`, in the caller's transaction.

    Two rows are written, for the window's slot and the next, so any two claims less
    than `window` apart meet on a slot: the unique constraint makes the second INSERT
    of two at once fail (on PostgreSQL it waits for the first to commit or roll back),
    and the loser reads the winner's row. A claim older than `window` is removed first;
    so is a recent one when `superseded` (the caller found that what it did no longer
    holds: the session was moved back since, say).
    """
    args_hash = keyring().blind_index(f"action:{action}:{subject}:{args}")
    seconds = max(1, int(window.total_seconds()))
    slot = int(now.timestamp()) // seconds
    key = (
        ActionClaim.clinician_id == clinician_id,
        ActionClaim.action == action,
        ActionClaim.subject == subject,
        ActionClaim.args_hash == args_hash,
    )
    nearby = select(ActionClaim).where(*key, ActionClaim.slot.in_((slot, slot + 1)))
    cutoff = now - window
    if superseded:
        s.execute(delete(ActionClaim).where(*key))
    for row in s.scalars(nearby.order_by(ActionClaim.created_at)):
        if row.created_at > cutoff:
            return ActionClaimed(mine=False, result=row.result)
    # Stale claims of this action, and any of this clinician's older than two windows.
    s.execute(delete(ActionClaim).where(*key, ActionClaim.created_at <= cutoff))
    s.execute(
        delete(ActionClaim).where(
            ActionClaim.clinician_id == clinician_id, ActionClaim.created_at < now - 2 * window
        )
    )
    rows = [
        ActionClaim(
            clinician_id=clinician_id,
            action=action,
            subject=subject,
            args_hash=args_hash,
            slot=x,
            created_at=now,
        )
        for x in (slot, slot + 1)
    ]
    try:
        with s.begin_nested():
            s.add_all(rows)
    except IntegrityError:
        first = s.scalars(nearby.order_by(ActionClaim.created_at)).first()
        return ActionClaimed(mine=False, result=first.result if first else None)
    return ActionClaimed(mine=True, rows=rows)


def finish_claim(s: Session, claimed: ActionClaimed, result: str) -> None:
    """What the claimed action told: what a repeat within the window is answered."""
    ids = [row.id for row in claimed.rows]
    s.execute(update(ActionClaim).where(ActionClaim.id.in_(ids)).values(result=result))


def release_claim(s: Session, claimed: ActionClaimed) -> None:
    """The claimed action did nothing (refused, not found): a repeat may try again."""
    ids = [row.id for row in claimed.rows]
    s.execute(delete(ActionClaim).where(ActionClaim.id.in_(ids)))


# The Slack inbox and the bot's own posts ----------------------------------------------


def inbox_add(s: Session, rows: list[tuple[str, str]], now: datetime) -> None:
    """Records inbound Slack requests (key, body) before their ack, in one statement; a
    key already there (Slack's retry of an event, a double click) is left as it was."""
    if not rows:
        return
    values = [
        {"key": key, "body": body, "received_at": now, "claimed_at": now, "attempts": 1}
        for key, body in rows
    ]
    dialect = s.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    s.execute(insert(SlackInbox).on_conflict_do_nothing(index_elements=["key"]), values)


def inbox_done(s: Session, key: str, now: datetime) -> None:
    s.execute(
        update(SlackInbox)
        .where(SlackInbox.key == key, SlackInbox.processed_at.is_(None))
        .values(processed_at=now)
    )


def inbox_claim_lapsed(
    s: Session, now: datetime, lapsed_before: datetime, *, max_attempts: int, limit: int = 20
) -> list[tuple[str, str]]:
    """Unprocessed requests whose claim lapsed (their process died, or their turn failed),
    claimed again for this process: (key, body), oldest first."""
    rows = list(
        s.scalars(
            select(SlackInbox)
            .where(
                SlackInbox.processed_at.is_(None),
                SlackInbox.claimed_at < lapsed_before,
                SlackInbox.attempts < max_attempts,
            )
            .order_by(SlackInbox.received_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        row.claimed_at = now
        row.attempts += 1
    return [(row.key, row.body) for row in rows]


def inbox_prune(s: Session, before: datetime) -> int:
    """Forget requests received before `before` (processed, or given up on)."""
    result = s.execute(delete(SlackInbox).where(SlackInbox.received_at < before))
    s.execute(delete(SlackPost).where(SlackPost.created_at < before))
    s.execute(delete(SlackReply).where(SlackReply.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


def inbox_later(s: Session, key: str, at: datetime, lease: float) -> None:
    """Run request `key` again at `at` (its answer could not be posted yet): its claim
    lapses then, and the try is not counted against the request's attempts."""
    s.execute(
        update(SlackInbox)
        .where(SlackInbox.key == key, SlackInbox.processed_at.is_(None))
        .values(
            claimed_at=at - timedelta(seconds=lease),
            attempts=func.max(SlackInbox.attempts - 1, 1)
            if s.get_bind().dialect.name == "sqlite"
            else func.greatest(SlackInbox.attempts - 1, 1),
        )
    )


def reply_record(s: Session, turn_id: str, team_id: str, user_id: str, body: str) -> None:
    """The answer of a turn, to post (in the turn's own unit: committed with it); one
    statement, and an id recorded before (long ago) keeps its row."""
    insert = postgresql_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {
        "turn_id": turn_id,
        "team_id": team_id,
        "user_id": user_id,
        "body": body,
        "status": "pending",
        "attempts": 0,
        "created_at": utcnow(),
    }
    s.execute(insert(SlackReply).on_conflict_do_nothing(index_elements=["turn_id"]), values)


def reply_undelivered(s: Session, turn_id: str) -> bool:
    """Whether the turn's answer was recorded and Slack has not taken it (yet, or ever)."""
    found = s.get(SlackReply, turn_id)
    return found is not None and found.status != "delivered"


def replies_pending(s: Session, team_id: str, user_id: str, limit: int = 10) -> list[SlackReply]:
    """A clinician's answers still to post, oldest first."""
    return list(
        s.scalars(
            select(SlackReply)
            .where(
                SlackReply.team_id == team_id,
                SlackReply.user_id == user_id,
                SlackReply.status == "pending",
            )
            .order_by(SlackReply.created_at, SlackReply.turn_id)
            .limit(limit)
        )
    )


def replies_in_flight(
    s: Session, team_id: str, user_id: str, *, besides: str, since: datetime
) -> int:
    """How many of a clinician's answers, recorded since `since` by turns other than
    `besides` (and its resumed part), are pending and never refused by Slack: being
    posted by the process that ran their turn."""
    return (
        s.scalar(
            select(func.count())
            .select_from(SlackReply)
            .where(
                SlackReply.team_id == team_id,
                SlackReply.user_id == user_id,
                SlackReply.status == "pending",
                SlackReply.attempts == 0,
                SlackReply.created_at >= since,
                SlackReply.turn_id != besides,
                SlackReply.turn_id != f"{besides}:resumed",
            )
        )
        or 0
    )


def reply_delivered(
    s: Session, turn_id: str, now: datetime, posts: list[tuple[str, str, str, str]]
) -> None:
    """Slack took the answer: marked delivered, its messages (team, user, channel, ts)
    recorded as ours."""
    s.execute(
        update(SlackReply)
        .where(SlackReply.turn_id == turn_id)
        .values(status="delivered", delivered_at=now)
    )
    for team_id, user_id, channel_id, ts in posts:
        record_post(s, team_id, user_id, channel_id, ts)


def reply_not_delivered(
    s: Session, turn_id: str, error: str, *, final: bool, max_tries: int
) -> int:
    """A try that Slack refused: counted, and given up when `final` or after `max_tries`;
    returns the tries so far."""
    row = s.get(SlackReply, turn_id)
    if row is None:
        return max_tries
    row.attempts += 1
    row.last_error = error[:64]
    if final or row.attempts >= max_tries:
        row.status = "failed"
    return row.attempts


def record_post(s: Session, team_id: str, user_id: str, channel_id: str, ts: str) -> None:
    if s.get(SlackPost, (channel_id, ts)) is None:
        s.add(SlackPost(channel_id=channel_id, ts=ts, team_id=team_id, user_id=user_id))


def posted_to(s: Session, team_id: str, user_id: str, channel_id: str, ts: str) -> bool:
    """Whether the bot posted message `ts` in `channel_id` to this clinician."""
    post = s.get(SlackPost, (channel_id, ts))
    return post is not None and (post.team_id, post.user_id) == (team_id, user_id)


# Participant page -------------------------------------------------------------------


def session_by_public_id(
    s: Session, public_id: str, *, lock: bool = False
) -> ScheduledSession | None:
    """A session by its public id (payment references carry it), for any clinician."""
    query = select(ScheduledSession).where(ScheduledSession.public_id == public_id)
    if lock:
        query = query.with_for_update(of=ScheduledSession)
    return s.scalars(query).one_or_none()


def session_by_payment_intent(
    s: Session, payment_intent: str, *, lock: bool = False
) -> ScheduledSession | None:
    """The session whose payment was this PaymentIntent (a refund's charge names it)."""
    query = select(ScheduledSession).where(ScheduledSession.payment_intent == payment_intent)
    if lock:
        query = query.with_for_update(of=ScheduledSession)
    return s.scalars(query).first()


# Outbox claims (the worker) ---------------------------------------------------------


def claim_due(
    s: Session, worker_id: str, now: datetime, lease_until: datetime, limit: int = 10
) -> list[OutboxMessage]:
    """Take up to `limit` due messages (and ones whose claim lease ran out) for this worker.

    On PostgreSQL the rows are locked with SKIP LOCKED, so concurrent workers take
    different rows; on SQLite the unit's BEGIN IMMEDIATE serializes claims.
    """
    due = or_(
        and_(OutboxMessage.status == "pending", OutboxMessage.due_at <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now),
    )
    rows = list(
        s.scalars(
            select(OutboxMessage)
            .options(defer(OutboxMessage.payload))  # read by `outbox_payloads`, row by row
            .where(due)
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        row.status = "sending"
        row.claimed_by = worker_id
        row.claimed_until = lease_until
        row.attempts += 1
    s.flush()
    return rows


def claimed_message(s: Session, message_id: int, worker_id: str) -> OutboxMessage | None:
    """The message, only while this worker still holds its claim (locked)."""
    return s.scalars(
        select(OutboxMessage)
        .options(defer(OutboxMessage.payload))
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.claimed_by == worker_id,
            OutboxMessage.status == "sending",
        )
        .with_for_update()
    ).one_or_none()


def outbox_payloads(s: Session, message_ids: list[int]) -> dict[int, str]:
    """The payloads of these messages as stored (ciphertext: `keyring().decrypt` each),
    so one written under a key this process lacks fails alone, not the whole batch."""
    if not message_ids:
        return {}
    rows = s.execute(
        select(OutboxMessage.id, type_coerce(OutboxMessage.payload, String)).where(
            OutboxMessage.id.in_(message_ids), OutboxMessage.payload.is_not(None)
        )
    )
    return {row[0]: row[1] for row in rows}


def sessions_by_ids(
    s: Session, ids: set[int], *, fresh: bool = False
) -> dict[int, ScheduledSession]:
    """`fresh`: read again even if loaded (after a load that failed half-way)."""
    if not ids:
        return {}
    query = select(ScheduledSession).where(ScheduledSession.id.in_(ids))
    if fresh:
        query = query.execution_options(populate_existing=True)
    rows = s.scalars(query)
    return {row.id: row for row in rows}


def session_brief(s: Session, session_id: int) -> tuple[int, datetime, str | None] | None:
    """(clinician id, start, clinician's zone): plain columns, nothing decrypted."""
    row = s.execute(
        select(ScheduledSession.clinician_id, ScheduledSession.start_at, Clinician.tz)
        .join(Clinician, Clinician.id == ScheduledSession.clinician_id)
        .where(ScheduledSession.id == session_id)
    ).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


def session_state(s: Session, session_id: int) -> tuple[str, int, datetime] | None:
    """(status, sequence, start) of a session: plain columns, nothing decrypted."""
    row = s.execute(
        select(ScheduledSession.status, ScheduledSession.sequence, ScheduledSession.start_at).where(
            ScheduledSession.id == session_id
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


# Plain UPDATEs of the worker's hot path: no ORM objects to keep in step with them.
_PLAIN = {"synchronize_session": False}


def _claimed(message_id: int, worker_id: str) -> Update:
    return (
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.claimed_by == worker_id,
            OutboxMessage.status == "sending",
        )
        .execution_options(**_PLAIN)
    )


def record_sent(
    s: Session,
    message_id: int,
    worker_id: str,
    *,
    status: str,
    sent_at: datetime,
    provider_ref: str | None,
    payload: str | None,
) -> bool:
    """Mark a message this worker still holds as sent; False if its claim was lost."""
    values: dict[str, Any] = {
        "status": status,
        "sent_at": sent_at,
        "provider_ref": provider_ref,
        "claimed_until": None,
        "last_error": None,
    }
    if payload is not None:
        values["payload"] = payload
    result = s.execute(_claimed(message_id, worker_id).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def withdraw_claimed(s: Session, message_id: int, worker_id: str) -> None:
    s.execute(_claimed(message_id, worker_id).values(status="withdrawn", claimed_until=None))


def release_claims(s: Session, message_ids: list[int], worker_id: str) -> None:
    """Hand claimed, unsent messages back as they were (this try did not count)."""
    s.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(message_ids),
            OutboxMessage.claimed_by == worker_id,
            OutboxMessage.status == "sending",
        )
        .values(
            status="pending",
            claimed_by=None,
            claimed_until=None,
            attempts=OutboxMessage.attempts - 1,
        )
    )


def set_invite_status(s: Session, session_id: int, status: str) -> None:
    s.execute(
        update(ScheduledSession)
        .where(ScheduledSession.id == session_id)
        .values(invite_status=status)
    )


def sms_opted_out_among(s: Session, phone_indexes: list[str]) -> set[str]:
    """Which of these numbers (blind indexes) said STOP."""
    if not phone_indexes:
        return set()
    return set(
        s.scalars(
            select(SmsOptOut.phone_index).where(
                SmsOptOut.phone_index.in_(phone_indexes), SmsOptOut.opted_out.is_(True)
            )
        )
    )


def outbox_by_provider_ref(s: Session, provider_ref: str) -> OutboxMessage | None:
    return s.scalars(
        select(OutboxMessage).where(OutboxMessage.provider_ref == provider_ref)
    ).first()


def list_outbox(
    s: Session, *, statuses: tuple[str, ...] | None = None, limit: int = 200
) -> list[OutboxMessage]:
    query = select(OutboxMessage)
    if statuses:
        query = query.where(OutboxMessage.status.in_(statuses))
    return list(s.scalars(query.order_by(OutboxMessage.due_at, OutboxMessage.id).limit(limit)))


def _indexes(phone_indexes: str | Sequence[str]) -> list[str]:
    return [phone_indexes] if isinstance(phone_indexes, str) else list(phone_indexes)


def _opt_out_row(s: Session, phone_indexes: list[str], **options: Any) -> SmsOptOut | None:
    """The number's opt-out row under whichever key's index it was written."""
    return s.scalars(
        select(SmsOptOut)
        .where(SmsOptOut.phone_index.in_(phone_indexes))
        .order_by(SmsOptOut.updated_at.desc())
        .limit(1)
        .execution_options(**options)
        .with_for_update()
    ).one_or_none()


def sms_opted_out(s: Session, phone_indexes: str | Sequence[str]) -> bool:
    """Whether the number (its blind indexes, every key's) said STOP."""
    return bool(sms_opted_out_among(s, _indexes(phone_indexes)))


def set_sms_opt_out(
    s: Session, phone_indexes: str | Sequence[str], opted_out: bool, *, phone: str | None = None
) -> bool:
    """Record a number's STOP (or START); False when it already stood so (nothing changed).

    `phone_indexes`: the number's blind indexes, the first key's first (a new row takes
    it; a row under an older key's index is updated where it is). `phone`, when known,
    is kept encrypted so a key rotation can index the row again.

    Two processes recording the first STOP of a number at once: one inserts, the other
    meets the primary key, reads the row and finds it already set.
    """
    indexes = _indexes(phone_indexes)
    row = _opt_out_row(s, indexes)
    if row is None:
        if not opted_out:
            return False  # never opted out: a START changes nothing
        try:
            with s.begin_nested():
                s.add(SmsOptOut(phone_index=indexes[0], phone=phone, opted_out=True))
            return True
        except IntegrityError:
            row = _opt_out_row(s, indexes, populate_existing=True)
            assert row is not None
    if phone and row.phone is None:
        row.phone = phone
    if row.opted_out == opted_out:
        return False
    row.opted_out = opted_out
    s.flush()
    return True


def upcoming_sms_sessions(
    s: Session, after: datetime, phone_indexes: str | Sequence[str]
) -> list[ScheduledSession]:
    """Scheduled text-invited sessions of this number not over yet, soonest first.

    Found by the phone's blind indexes (every key's), so no other participant's row is
    decrypted. Rows from before the index (NULL) are decrypted once here and given their
    index.
    """
    indexes = _indexes(phone_indexes)
    upcoming = and_(
        ScheduledSession.invite_channel == "sms",
        ScheduledSession.status == "scheduled",
        ScheduledSession.start_at >= after,
    )
    found = list(
        s.scalars(
            select(ScheduledSession).where(upcoming, ScheduledSession.phone_index.in_(indexes))
        )
    )
    legacy = s.scalars(
        select(ScheduledSession).where(upcoming, ScheduledSession.phone_index.is_(None))
    )
    for row in legacy:
        if row.phone:
            row.phone_index = keyring().blind_index(row.phone)
            if row.phone_index in indexes:
                found.append(row)
    return sorted(found, key=lambda x: (x.start_at, x.id))


# Slack workspaces that let the app go -------------------------------------------------


def revoke_slack_workspace(
    s: Session, team_id: str, *, reason: str, token_hash: str | None, dropped_because: str
) -> int:
    """Record that nothing is to be posted to this workspace, and drop its pending Slack
    notices with `dropped_because` as their reason; returns how many were dropped."""
    row = s.get(SlackRevocation, team_id, with_for_update=True)
    if row is None:
        try:
            with s.begin_nested():
                s.add(SlackRevocation(team_id=team_id, reason=reason, token_hash=token_hash))
        except IntegrityError:  # the other of the two events, at the same moment
            row = s.get(SlackRevocation, team_id, with_for_update=True, populate_existing=True)
    if row is not None:
        row.reason, row.token_hash, row.revoked_at = reason, token_hash, utcnow()
    clinicians = select(Clinician.id).where(Clinician.team_id == team_id)
    result = s.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == "slack",
            OutboxMessage.status == "pending",
            OutboxMessage.clinician_id.in_(clinicians),
        )
        .values(status="dropped", last_error=dropped_because, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def slack_revocation(s: Session, team_id: str, token_hash: str | None) -> SlackRevocation | None:
    """The workspace's revocation, if it still holds for the token in use."""
    row = s.get(SlackRevocation, team_id)
    if row is None or (row.token_hash is not None and row.token_hash != token_hash):
        return None
    return row


def clear_slack_revocation(s: Session, team_id: str) -> None:
    """The app was installed again into this workspace."""
    row = s.get(SlackRevocation, team_id)
    if row is not None:
        s.delete(row)


# What an operator watches (sessionbot/observe.py): counts and ages, never a row's content.


def inbox_overview(s: Session, now: datetime) -> tuple[int, float]:
    """(Slack requests not yet processed, seconds since the oldest of them arrived)."""
    count, oldest = s.execute(
        select(func.count(), func.min(SlackInbox.received_at)).where(
            SlackInbox.processed_at.is_(None)
        )
    ).one()
    return int(count), _age(now, oldest)


def outbox_overview(s: Session, now: datetime) -> tuple[list[tuple[str, str, int]], float]:
    """((status, channel, messages) for every pair, seconds the oldest due message waits)."""
    counts = s.execute(
        select(OutboxMessage.status, OutboxMessage.channel, func.count()).group_by(
            OutboxMessage.status, OutboxMessage.channel
        )
    ).all()
    oldest = s.execute(
        select(func.min(OutboxMessage.due_at)).where(
            OutboxMessage.status.in_(("pending", "sending")), OutboxMessage.due_at <= now
        )
    ).scalar()
    return [(str(a), str(b), int(c)) for a, b, c in counts], _age(now, oldest)


def sessions_by_status(s: Session) -> list[tuple[str, int]]:
    rows = s.execute(
        select(ScheduledSession.status, func.count()).group_by(ScheduledSession.status)
    ).all()
    return [(str(status), int(count)) for status, count in rows]


def _age(now: datetime, then: datetime | None) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:  # SQLite hands back naive UTC
        then = then.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - then).total_seconds())
