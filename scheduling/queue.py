"""The outbox's front door for producers: one typed message, one `put`.

Every message the rules make (an invitation, an update, a reminder, a cancellation, a
clinician's notice, the agenda, a nudge, the waiting-room DM) is put here, in the
caller's unit of work: the transactional outbox, so a message exists exactly when the
change that makes it commits. Where it is kept is behind `Outbox`: today the SQL table the
worker polls (`SqlOutbox`); a real queue (a relay from this table to a broker, or a
broker with transactional producers) implements `put` and nothing that produces a
message changes. The worker consumes through the store's claim functions
(`sessionbot/outbox/claims.py`).

A message names its `Channel`; a value that is not a channel is refused here, never sent
by another channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from ground.channel import Channel
from store import outbox_rows


@dataclass(frozen=True)
class Message:
    kind: str  # invitation, update, reminder, cancellation, clinician_notice, ...
    channel: Channel
    due_at: datetime
    dedupe_key: str  # one message per key, ever
    session_id: int | None = None
    clinician_id: int | None = None
    payload: str | None = None  # a notice's words (encrypted at rest)
    guest_id: int | None = None  # to a session's other participant (None: the first)

    def __post_init__(self) -> None:
        if not isinstance(self.channel, Channel):
            raise ValueError(f"not a channel: {self.channel!r}")
        if self.due_at.tzinfo is None:
            raise ValueError("a message's due time carries its zone")


def notice(
    clinician_id: int, session_id: int | None, text: str, key: str, now: datetime
) -> Message:
    """A Slack DM to the clinician, due now."""
    return Message(
        kind="clinician_notice",
        channel=Channel.SLACK,
        due_at=now,
        dedupe_key=key,
        session_id=session_id,
        clinician_id=clinician_id,
        payload=text,
    )


class Outbox(Protocol):
    def put(self, s: Session, message: Message, *, once: bool = False) -> bool:
        """Queue `message` in the unit of work `s`. `once`: unless a message with its
        dedupe key exists (then False; another worker planned it first)."""
        ...


class SqlOutbox:
    """The outbox table the worker polls (`outbox_messages`)."""

    def put(self, s: Session, message: Message, *, once: bool = False) -> bool:
        fields: outbox_rows.OutboxFields = {
            "kind": message.kind,
            "channel": message.channel.value,
            "due_at": message.due_at,
            "dedupe_key": message.dedupe_key,
            "session_id": message.session_id,
            "clinician_id": message.clinician_id,
            "payload": message.payload,
            "guest_id": message.guest_id,
        }
        if once:
            return outbox_rows.add_outbox_once(s, **fields)
        outbox_rows.add_outbox(s, **fields)
        return True


_outbox: Outbox = SqlOutbox()


def use(outbox: Outbox) -> None:
    """Put every message into `outbox` from now on (a process chooses it at start)."""
    global _outbox
    _outbox = outbox


def put(s: Session, message: Message, *, once: bool = False) -> bool:
    return _outbox.put(s, message, once=once)


@dataclass(frozen=True)
class OutboxLine:
    """A message in the outbox as `sessionbot outbox` prints it."""

    id: int
    kind: str
    channel: str
    at: datetime  # when it was sent, else when it is due
    status: str
    payload: str | None  # what was kept instead of sending (the local outbox)
    last_error: str | None


def lines(s: Session, statuses: tuple[str, ...] | None, limit: int) -> list[OutboxLine]:
    """The messages with one of `statuses` (None: every one), due first."""
    return [
        OutboxLine(
            id=row.id,
            kind=row.kind,
            channel=row.channel,
            at=row.sent_at or row.due_at,
            status=row.status,
            payload=row.payload,
            last_error=row.last_error,
        )
        for row in outbox_rows.list_outbox(s, statuses=statuses, limit=limit)
    ]
