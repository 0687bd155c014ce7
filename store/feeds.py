"""The clinician's calendar feed in the store: its secret, and what the feed reads.

A feed's secret is looked up by its SHA-256 (as a participant's link token is), so the
database alone never gives a working URL; the secret is kept encrypted beside it to be
shown again to its clinician. The feed reads its sessions by the clinician's
(clinician_id, start_at) index, so a long history costs nothing, and in two steps: the
plain columns of every session in its window, then the two encrypted values an event
needs (the participant's name, for initials; the host token, for Enter Meeting) only of
the sessions whose event it has not built before.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.crypto import hash_token
from store.models import CalendarFeed, Clinician, ScheduledSession, utcnow

SECRET_BYTES = 24  # 192 bits, as the participant's link
FEED_WINDOW = timedelta(days=30)  # the past the feed keeps: the last 30 days


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def feed_secret(s: Session, clinician_id: int, *, rotate: bool = False) -> tuple[str, bool]:
    """The clinician's feed secret and whether it was made now: the one they have, made
    on first use, or (with `rotate`) a new one that replaces it at once."""
    row = s.scalars(
        select(CalendarFeed).where(CalendarFeed.clinician_id == clinician_id).with_for_update()
    ).one_or_none()
    if row is not None and not rotate:
        return row.token, False
    secret = new_secret()
    if row is None:
        row = CalendarFeed(clinician_id=clinician_id, token_hash=hash_token(secret), token=secret)
        try:
            with s.begin_nested():
                s.add(row)
        except IntegrityError:  # made at the same moment elsewhere: theirs stands
            found = s.scalars(
                select(CalendarFeed).where(CalendarFeed.clinician_id == clinician_id)
            ).one()
            return found.token, False
        return secret, True
    row.token_hash, row.token, row.created_at = hash_token(secret), secret, utcnow()
    s.flush()
    return secret, True


def clinician_by_feed(s: Session, secret: str) -> Clinician | None:
    """The clinician whose feed this secret opens (one indexed look-up; nothing decrypted)."""
    return s.scalars(
        select(Clinician)
        .join(CalendarFeed, CalendarFeed.clinician_id == Clinician.id)
        .where(CalendarFeed.token_hash == hash_token(secret))
    ).one_or_none()


@dataclass(frozen=True)
class FeedState:
    """What the feed's validators are made of, read without building it."""

    count: int
    changed: datetime | None  # the latest change to a session in it (or one leaving it)
    versions: int = 0  # the sum of their versions and cancellations: moves with any notice


def feed_state(s: Session, clinician_id: int, now: datetime) -> FeedState:
    """Two look-ups on the clinician's index: the sessions in the window (how many, their
    last change), and when the newest session older than the window left it."""
    since = now - FEED_WINDOW
    c = ScheduledSession
    count, updated, versions = s.execute(
        select(
            func.count(),
            func.max(c.updated_at),
            func.coalesce(func.sum(c.sequence), 0)
            + func.coalesce(func.sum(case((c.status == "cancelled", 1), else_=0)), 0),
        ).where(c.clinician_id == clinician_id, c.start_at >= since)
    ).one()
    left = s.execute(
        select(func.max(c.start_at)).where(c.clinician_id == clinician_id, c.start_at < since)
    ).scalar()
    left_at = _aware(left)
    times = [t for t in (_aware(updated), left_at + FEED_WINDOW if left_at else None) if t]
    return FeedState(
        count=int(count or 0), changed=max(times) if times else None, versions=int(versions or 0)
    )


def _aware(value: datetime | str | None) -> datetime | None:
    """An aggregate's time: SQLite gives it back as text, without the column's type."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class FeedRow:
    """A session as the feed lists it: plain columns, nothing decrypted."""

    id: int
    public_id: str
    sequence: int
    start_at: datetime
    duration_min: int
    status: str
    updated_at: datetime


def feed_rows(s: Session, clinician_id: int, now: datetime) -> list[FeedRow]:
    """The clinician's sessions of the last 30 days and to come, in time order."""
    c = ScheduledSession
    query = (
        select(c.id, c.public_id, c.sequence, c.start_at, c.duration_min, c.status, c.updated_at)
        .where(c.clinician_id == clinician_id, c.start_at >= now - FEED_WINDOW)
        .order_by(c.start_at, c.id)
    )
    return [FeedRow(*row) for row in s.execute(query)]


def feed_details(s: Session, ids: list[int]) -> dict[int, tuple[str, str]]:
    """The participant's name (for initials) and the host token (for Enter Meeting) of
    these sessions, decrypted: read only for events the feed has not built before."""
    c = ScheduledSession
    found: dict[int, tuple[str, str]] = {}
    for chunk in range(0, len(ids), 500):
        query = select(c.id, c.participant, c.host_token).where(c.id.in_(ids[chunk : chunk + 500]))
        found.update({row.id: (row.participant, row.host_token) for row in s.execute(query)})
    return found
