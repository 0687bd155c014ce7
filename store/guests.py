"""A session's other participants (`session_guests`, 0016): participants 2..N of a
couples or family session. The session's own columns stay the first participant's."""

from __future__ import annotations

import secrets
from typing import TypedDict, Unpack

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.crypto import hash_token
from store.models import ScheduledSession, SessionGuest


class GuestFields(TypedDict):
    """A participant 2..N's columns (`SessionGuest`); their token is made here."""

    participant: str
    invite_channel: str
    email: str | None
    phone: str | None
    phone_index: str | None  # the phone's blind index (store.crypto)
    participant_tz: str
    invite_status: str


def add_guest(s: Session, session: ScheduledSession, **fields: Unpack[GuestFields]) -> SessionGuest:
    """Another participant with their own page token (192 random bits, stored hashed)."""
    token = secrets.token_urlsafe(24)
    position = 2 + max((g.position - 1 for g in session.guests), default=0)
    guest = SessionGuest(position=position, token=token, token_hash=hash_token(token), **fields)
    session.guests.append(guest)
    return guest


def guest_by_token(s: Session, token: str, *, lock: bool = False) -> SessionGuest | None:
    query = select(SessionGuest).where(SessionGuest.token_hash == hash_token(token))
    if lock:
        query = query.with_for_update()
    return s.scalars(query).first()


def set_invite_status(s: Session, guest_id: int, status: str) -> None:
    """A plain UPDATE (nothing loaded or decrypted), as for the first participant's."""
    s.execute(update(SessionGuest).where(SessionGuest.id == guest_id).values(invite_status=status))


def guest_of(session: ScheduledSession, guest_id: int | None) -> SessionGuest | None:
    return next((g for g in session.guests if g.id == guest_id), None)
