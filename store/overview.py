"""What an operator watches (sessionbot/observe.py): counts and ages, never a row's content."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import (
    OutboxMessage,
    ScheduledSession,
    SlackInbox,
)


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
