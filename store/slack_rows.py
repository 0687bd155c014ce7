"""Slack's bookkeeping: the durable inbox of requests, the turns' replies until posted,
the bot's own posts, and the workspaces that let the app go."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Insert, Table, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.models import (
    Clinician,
    OutboxMessage,
    SlackInbox,
    SlackPost,
    SlackReply,
    SlackRevocation,
    utcnow,
)

# The statements of every Slack request's path (its ack, its answer), built once: building
# a statement and its cache key costs more than SQLite takes to run it.
_INBOX = cast(Table, SlackInbox.__table__)
_REPLIES = cast(Table, SlackReply.__table__)
_POSTS = cast(Table, SlackPost.__table__)


def _insert_new(table: Table, dialect: str, key: list[str]) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING on `key` (a row already there is left as it was)."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(table).on_conflict_do_nothing(index_elements=key)


_INBOX_ADD = {d: _insert_new(_INBOX, d, ["key"]) for d in ("sqlite", "postgresql")}
_POSTS_ADD = {d: _insert_new(_POSTS, d, ["channel_id", "ts"]) for d in ("sqlite", "postgresql")}
_INBOX_DONE = (
    update(_INBOX)
    .where(_INBOX.c.key.in_(bindparam("keys", expanding=True)), _INBOX.c.processed_at.is_(None))
    .values(processed_at=bindparam("now"))
)
_DELIVERED = (
    update(_REPLIES)
    .where(_REPLIES.c.turn_id == bindparam("of_turn"))
    .values(status="delivered", delivered_at=bindparam("now"))
)
_PENDING = (  # columns of the table, not entities: no ORM objects made for a read
    select(_REPLIES.c.turn_id, _REPLIES.c.body)
    .where(
        _REPLIES.c.team_id == bindparam("team_id"),
        _REPLIES.c.user_id == bindparam("user_id"),
        _REPLIES.c.status == "pending",
    )
    .order_by(_REPLIES.c.created_at, _REPLIES.c.turn_id)
    .limit(bindparam("limit"))
)
_REPLY_ADD = {d: _insert_new(_REPLIES, d, ["turn_id"]) for d in ("sqlite", "postgresql")}
_IN_FLIGHT = (
    select(func.count())
    .select_from(_REPLIES)
    .where(
        _REPLIES.c.team_id == bindparam("team_id"),
        _REPLIES.c.user_id == bindparam("user_id"),
        _REPLIES.c.status == "pending",
        _REPLIES.c.attempts == 0,
        _REPLIES.c.created_at >= bindparam("since"),
        _REPLIES.c.turn_id.not_in(bindparam("besides", expanding=True)),
    )
)


def _dialect(s: Session | Connection) -> str:
    bind = s.get_bind() if isinstance(s, Session) else s
    return "postgresql" if bind.dialect.name == "postgresql" else "sqlite"


def inbox_add(s: Session | Connection, rows: list[tuple[str, str]], now: datetime) -> None:
    """Records inbound Slack requests (key, body) before their ack, in one statement; a
    key already there (Slack's retry of an event, a double click) is left as it was."""
    if not rows:
        return
    values = [
        {"key": key, "body": body, "received_at": now, "claimed_at": now, "attempts": 1}
        for key, body in rows
    ]
    s.execute(_INBOX_ADD[_dialect(s)], values)


def inbox_done(s: Session | Connection, keys: list[str], now: datetime) -> None:
    """Marks these requests processed (one statement)."""
    if keys:
        s.execute(_INBOX_DONE, {"keys": keys, "now": now})


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
    values = {
        "turn_id": turn_id,
        "team_id": team_id,
        "user_id": user_id,
        "body": body,
        "status": "pending",
        "attempts": 0,
        "created_at": utcnow(),
    }
    s.execute(_REPLY_ADD[_dialect(s)], values)


def reply_undelivered(s: Session, turn_id: str) -> bool:
    """Whether the turn's answer was recorded and Slack has not taken it (yet, or ever)."""
    found = s.get(SlackReply, turn_id)
    return found is not None and found.status != "delivered"


def replies_pending(
    s: Session, team_id: str, user_id: str, limit: int = 10
) -> list[tuple[str, str]]:
    """A clinician's answers still to post (turn id, body), oldest first."""
    rows = s.execute(_PENDING, {"team_id": team_id, "user_id": user_id, "limit": limit})
    return [(turn_id, body) for turn_id, body in rows]


def replies_in_flight(
    s: Session, team_id: str, user_id: str, *, besides: str, since: datetime
) -> int:
    """How many of a clinician's answers, recorded since `since` by turns other than
    `besides` (and its resumed part), are pending and never refused by Slack: being
    posted by the process that ran their turn."""
    besides_both = [besides, f"{besides}:resumed"]
    params = {"team_id": team_id, "user_id": user_id, "since": since, "besides": besides_both}
    return s.scalar(_IN_FLIGHT, params) or 0


def reply_delivered(
    s: Session | Connection, turn_id: str, now: datetime, posts: list[tuple[str, str, str, str]]
) -> None:
    """Slack took the answer: marked delivered, its messages (team, user, channel, ts)
    recorded as ours."""
    s.execute(_DELIVERED, {"of_turn": turn_id, "now": now})
    if posts:
        at = utcnow()
        rows = [
            {"team_id": team, "user_id": user, "channel_id": channel, "ts": ts, "created_at": at}
            for team, user, channel, ts in posts
        ]
        s.execute(_POSTS_ADD[_dialect(s)], rows)


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


def inbox_renew(s: Session, keys: list[str], now: datetime) -> None:
    """The heartbeat of a live web process: the requests it still works on stay claimed
    (a processed one is left as it is)."""
    s.execute(
        update(SlackInbox)
        .where(SlackInbox.key.in_(keys), SlackInbox.processed_at.is_(None))
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
