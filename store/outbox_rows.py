"""The outbox table: messages added (once per dedupe key), claimed by a worker, recorded
sent or failed, released; and the numbers that replied STOP."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Required, TypedDict, Unpack

from sqlalchemy import String, and_, or_, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer
from sqlalchemy.sql.dml import Update

from store.models import (
    OutboxMessage,
    SmsOptOut,
)


class OutboxFields(TypedDict, total=False):
    """A new message's columns (`OutboxMessage`); the first four are required."""

    kind: Required[str]
    channel: Required[str]
    due_at: Required[datetime]
    dedupe_key: Required[str]
    session_id: int | None
    clinician_id: int | None
    payload: str | None
    guest_id: int | None
    status: str


def add_outbox(s: Session, **fields: Unpack[OutboxFields]) -> OutboxMessage:
    message = OutboxMessage(**fields)
    s.add(message)
    return message


def outbox_has(s: Session, dedupe_key: str) -> bool:
    return (
        s.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)) is not None
    )


def add_outbox_once(s: Session, **fields: Unpack[OutboxFields]) -> bool:
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
    sent = _claimed(message_id, worker_id).values(
        status=status,
        sent_at=sent_at,
        provider_ref=provider_ref,
        claimed_until=None,
        last_error=None,
    )
    if payload is not None:
        sent = sent.values(payload=payload)
    result = s.execute(sent)
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


def _opt_out_row(
    s: Session, phone_indexes: list[str], *, populate_existing: bool = False
) -> SmsOptOut | None:
    """The number's opt-out row under whichever key's index it was written."""
    return s.scalars(
        select(SmsOptOut)
        .where(SmsOptOut.phone_index.in_(phone_indexes))
        .order_by(SmsOptOut.updated_at.desc())
        .limit(1)
        .execution_options(populate_existing=populate_existing)
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


def renew_claims(s: Session, message_ids: list[int], worker_id: str, lease_until: datetime) -> int:
    """The heartbeat of a live worker: extend its claim on the messages it still holds
    (not yet recorded, not taken over); returns how many.

    A row locked by another transaction is skipped (PostgreSQL's SKIP LOCKED): it is
    being recorded as sent or failed (store/grouped.py's groups lock many at once, in
    their own order), and a heartbeat waiting for it could deadlock with that group; the
    next beat renews it if it is still held."""
    held = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.id.in_(message_ids),
            OutboxMessage.claimed_by == worker_id,
            OutboxMessage.status == "sending",
        )
        .with_for_update(skip_locked=True)
    )
    result = s.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(held.scalar_subquery()))
        .values(claimed_until=lease_until)
        .execution_options(**_PLAIN)
    )
    return int(getattr(result, "rowcount", 0) or 0)
