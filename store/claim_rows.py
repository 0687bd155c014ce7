"""Idempotency: an inbound event processed once (`first_time`), and an action claimed
once per window (a double click: `claim_action`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.crypto import keyring
from store.models import (
    ActionClaim,
    ProcessedEvent,
)


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
