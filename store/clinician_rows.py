"""Clinicians, their conversations (the embedded runner's tracker) and their contacts."""

from __future__ import annotations

import json
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from ground.jsontypes import JSON
from store.crypto import keyring
from store.models import (
    Clinician,
    Contact,
    Tracker,
    utcnow,
)

# Statements of the hot path (every dialogue turn), built once.
_CLINICIAN = select(Clinician).where(
    Clinician.team_id == bindparam("team_id"), Clinician.user_id == bindparam("user_id")
)


_CLINICIAN_LOCKED = _CLINICIAN.with_for_update()


_TRACKER = (
    select(Tracker).where(Tracker.clinician_id == bindparam("clinician_id")).with_for_update()
)


_TRACKERS = cast(Table, Tracker.__table__)
_TRACKER_SAVE = (
    update(_TRACKERS)
    .where(_TRACKERS.c.id == bindparam("tracker"), _TRACKERS.c.version == bindparam("seen"))
    .values(state=bindparam("saved"), version=bindparam("next"), updated_at=bindparam("at"))
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


def get_clinician(
    s: Session,
    team_id: str,
    user_id: str,
    *,
    tz: str | None = None,
    display_name: str | None = None,
    dm_channel: str | None = None,
    lock: bool = False,
) -> Clinician:
    """The clinician with this Slack identity, made on first sight; what Slack said of
    them (zone, name, DM channel) kept.

    With `lock`, their row stays locked to the end of the unit: one turn at a time.
    """
    query = _CLINICIAN_LOCKED if lock else _CLINICIAN
    ids = {"team_id": team_id, "user_id": user_id}
    found = s.scalars(query, ids).one_or_none()
    if found is None:
        found = Clinician(
            team_id=team_id,
            user_id=user_id,
            tz=tz,
            display_name=display_name,
            dm_channel=dm_channel,
        )
        try:
            with s.begin_nested():
                s.add(found)
        except IntegrityError:  # made at the same moment by another process
            found = s.scalars(query, ids).one()
    else:
        _slack_said(found, tz, display_name, dm_channel)
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
    dm_channel: str | None = None,
) -> tuple[Clinician, dict[str, JSON] | None]:
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
        clinician = get_clinician(
            s, team_id, user_id, tz=tz, display_name=display_name, dm_channel=dm_channel, lock=True
        )
        return clinician, load_tracker(s, clinician.id)
    clinician, tracker = row
    _slack_said(clinician, tz, display_name, dm_channel)
    s.info.setdefault("clinicians", {})[(team_id, user_id)] = clinician
    s.info.setdefault("trackers", {})[clinician.id] = tracker
    return clinician, None if tracker is None else json.loads(tracker.state)


def _slack_said(
    clinician: Clinician, tz: str | None, display_name: str | None, dm_channel: str | None
) -> None:
    """Keep what Slack says of a known clinician: a zone only where none is stored (the
    one they gave wins), the name and the DM channel as they are now."""
    if tz and not clinician.tz:
        clinician.tz = tz
    if display_name and clinician.display_name != display_name:
        clinician.display_name = display_name
    if dm_channel and clinician.dm_channel != dm_channel:
        clinician.dm_channel = dm_channel


def slack_known(s: Session, team_id: str, user_id: str) -> tuple[str | None, str | None]:
    """The zone and the DM channel stored for a Slack user (None, None: never seen)."""
    row = s.execute(
        select(Clinician.tz, Clinician.dm_channel).where(
            Clinician.team_id == team_id, Clinician.user_id == user_id
        )
    ).one_or_none()
    return (None, None) if row is None else (row.tz, row.dm_channel)


def find_clinician(s: Session, team_id: str, user_id: str) -> Clinician | None:
    known = s.info.get("clinicians", {}).get((team_id, user_id))
    if known is not None:
        return known
    return s.scalars(_CLINICIAN, {"team_id": team_id, "user_id": user_id}).one_or_none()


def _tracker_row(s: Session, clinician_id: int) -> Tracker | None:
    rows = s.info.setdefault("trackers", {})
    if clinician_id not in rows:
        rows[clinician_id] = s.scalars(_TRACKER, {"clinician_id": clinician_id}).one_or_none()
    return rows[clinician_id]


def load_tracker(s: Session, clinician_id: int) -> dict[str, JSON] | None:
    """The saved conversation, locked for this unit of work (turns never interleave)."""
    row = _tracker_row(s, clinician_id)
    return None if row is None else json.loads(row.state)


def save_tracker(s: Session, clinician_id: int, state: dict[str, JSON]) -> None:
    """The conversation saved (with whatever else the unit holds, flushed): a new
    tracker by the ORM, an existing one by one UPDATE of its version as read (a stale
    one fails, as the ORM's version check does), without the ORM's unit of work for it:
    every turn ends here (bench/README.md, "third session")."""
    text = json.dumps(state, separators=(",", ":"))
    row = _tracker_row(s, clinician_id)  # usually already in the unit's identity map
    if row is None:
        row = Tracker(clinician_id=clinician_id, state=text)
        s.add(row)
        s.info["trackers"][clinician_id] = row
    elif row not in s.dirty:  # else the ORM writes it, with its other changes
        now = utcnow()
        params = {"tracker": row.id, "seen": row.version, "saved": text, "next": row.version + 1}
        done = s.execute(_TRACKER_SAVE, {**params, "at": now})
        if getattr(done, "rowcount", 0) != 1:  # an UPDATE: a CursorResult
            raise StaleDataError("the tracker changed since it was read")
        for key, value in (("state", text), ("version", row.version + 1), ("updated_at", now)):
            set_committed_value(row, key, value)
    else:
        row.state = text
    s.flush()


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


def clinicians_with_agenda(s: Session) -> list[Clinician]:
    return list(s.scalars(select(Clinician).where(Clinician.agenda_at.is_not(None))))


def clinicians_by_id(s: Session, ids: set[int]) -> list[Clinician]:
    """These clinicians, in the order of their ids."""
    if not ids:
        return []
    return list(s.scalars(select(Clinician).where(Clinician.id.in_(ids)).order_by(Clinician.id)))
