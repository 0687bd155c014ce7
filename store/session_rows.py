"""Scheduled sessions: made, found (by draft, token, host token, public id, payment),
listed, counted, and the plain columns the overlaps and the worker read."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from store.crypto import hash_token, keyring
from store.models import (
    Clinician,
    ScheduledSession,
    SessionGuest,
)
from store.outbox_rows import _indexes


def _new_session(fields: Mapping[str, object]) -> tuple[ScheduledSession, str]:
    """A session with its own secrets: the participant's link token (192 random bits),
    the clinician's host token and the room name; links are stored hashed. `fields`: its
    other columns by name (SessionSpec's stored fields among them, whatever they are; a
    name that is not a column is refused by the model)."""
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


def create_session(s: Session, **fields: object) -> tuple[ScheduledSession, str]:
    """Insert a session with fresh secrets; returns it and its participant token."""
    row, token = _new_session(fields)
    s.add(row)
    s.flush()
    return row, token


def create_sessions(s: Session, rows: Sequence[Mapping[str, object]]) -> list[ScheduledSession]:
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


def set_invite_status(s: Session, session_id: int, status: str) -> None:
    s.execute(
        update(ScheduledSession)
        .where(ScheduledSession.id == session_id)
        .values(invite_status=status)
    )


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
