"""Repository of the participants' requests for another time (`participant_requests`).

Every `select()` of that table lives here; callers get models (the request with its
session loaded) and never see ciphertext.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import ParticipantRequest

OPEN = "open"


def encode_times(times: Sequence[datetime]) -> str:
    """Starts as stored: a JSON list of ISO 8601 UTC strings."""
    return json.dumps([t.astimezone(UTC).isoformat() for t in times])


def decode_times(raw: str) -> list[datetime]:
    return [datetime.fromisoformat(x).astimezone(UTC) for x in json.loads(raw)]


def add(
    s: Session, *, session_id: int, clinician_id: int, times: Sequence[datetime], now: datetime
) -> ParticipantRequest:
    row = ParticipantRequest(
        session_id=session_id,
        clinician_id=clinician_id,
        times=encode_times(times),
        status=OPEN,
        created_at=now,
    )
    s.add(row)
    s.flush()
    return row


def for_session(s: Session, session_id: int, *, lock: bool = False) -> list[ParticipantRequest]:
    """A session's requests, newest first."""
    query = (
        select(ParticipantRequest)
        .where(ParticipantRequest.session_id == session_id)
        .order_by(ParticipantRequest.id.desc())
    )
    if lock:
        query = query.with_for_update(of=ParticipantRequest)
    return list(s.scalars(query))


def for_clinician(
    s: Session, clinician_id: int, request_id: int, *, lock: bool = False
) -> ParticipantRequest | None:
    """One request, only if it is about one of this clinician's sessions."""
    query = select(ParticipantRequest).where(
        ParticipantRequest.id == request_id, ParticipantRequest.clinician_id == clinician_id
    )
    if lock:
        query = query.with_for_update(of=ParticipantRequest)
    return s.scalars(query).one_or_none()


def by_id(s: Session, request_id: int) -> ParticipantRequest | None:
    return s.get(ParticipantRequest, request_id)


def listed(s: Session, clinician_id: int, *, everything: bool = False) -> list[ParticipantRequest]:
    """A clinician's open requests (all of them with `everything`), oldest first."""
    query = select(ParticipantRequest).where(ParticipantRequest.clinician_id == clinician_id)
    if not everything:
        query = query.where(ParticipantRequest.status == OPEN)
    return list(s.scalars(query.order_by(ParticipantRequest.id)))
