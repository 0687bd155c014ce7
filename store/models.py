"""The SQL store's tables as SQLAlchemy 2.0 typed models.

Times are UTC at rest (`UTCDateTime` returns aware datetimes on every backend).
Participant name, e-mail, phone and the conversation tracker are `EncryptedText`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from store.crypto import EncryptedText


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, also on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; times must carry a zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), str: String(255)}


class Clinician(Base):
    __tablename__ = "clinicians"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str | None]
    tz: Mapped[str | None] = mapped_column(String(64))
    # The local wall time ("07:30") of the morning agenda DM; None: not wanted (0007).
    agenda_at: Mapped[str | None] = mapped_column(String(5))
    # Their own working hours, as ground.hours writes them ("Mon-Thu 09:00-17:00");
    # None: the practice's default (0011).
    working_hours: Mapped[str | None] = mapped_column(String(200))
    # The bot's DM with them, as Slack's conversations.open gave it (0021): no call after
    # a restart, and a /schedule typed there is told from one typed elsewhere.
    dm_channel: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contact(Base):
    """A participant the clinician has scheduled before, offered again as they type."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("clinician_id", "name_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(EncryptedText(512))
    name_index: Mapped[str] = mapped_column(String(64))
    invite_channel: Mapped[str] = mapped_column(String(8), default="none")
    email: Mapped[str | None] = mapped_column(EncryptedText(512))
    phone: Mapped[str | None] = mapped_column(EncryptedText(512))
    participant_tz: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))  # None: the practice's (0016)
    sms_opted_out: Mapped[bool] = mapped_column(default=False)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduledSession(Base):
    """One video session between a clinician and a participant."""

    __tablename__ = "scheduled_sessions"
    __table_args__ = (
        Index("ix_sessions_clinician_start", "clinician_id", "start_at"),
        # The dashboard's count reads only this index (migration 0003).
        Index("ix_sessions_clinician_start_status", "clinician_id", "start_at", "status"),
        Index("ix_sessions_phone_index", "phone_index"),
        Index("ix_sessions_payment_intent", "payment_intent"),
        # The worker's round looks for refunds still to make (migration 0014).
        Index("ix_sessions_refund_state", "refund_state"),
        Index("ix_sessions_series", "series_id", "start_at"),
        Index("ix_sessions_start", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique and given by us for every row: the sentinel that lets many rows (a series)
    # go in one INSERT … RETURNING, matched back to their objects.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, insert_sentinel=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id", ondelete="CASCADE"))
    draft_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    start_at: Mapped[datetime]
    duration_min: Mapped[int] = mapped_column(Integer)
    participant: Mapped[str] = mapped_column(EncryptedText(512))
    invite_channel: Mapped[str] = mapped_column(String(8))
    email: Mapped[str | None] = mapped_column(EncryptedText(512))
    phone: Mapped[str | None] = mapped_column(EncryptedText(512))
    # Keyed blind index of `phone` (E.164) for inbound texts; NULL on rows made before it.
    phone_index: Mapped[str | None] = mapped_column(String(64))
    participant_tz: Mapped[str] = mapped_column(String(64))
    # What the participant reads ("es"); None: the practice's default (0016).
    language: Mapped[str | None] = mapped_column(String(16))
    documents: Mapped[str | None] = mapped_column(String(64))
    service: Mapped[str | None] = mapped_column(String(64))
    amount_cents: Mapped[int | None]
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    invite_status: Mapped[str] = mapped_column(String(16), default="pending")
    rsvp: Mapped[str | None] = mapped_column(String(8))
    # not_required | pending | paid | payment_failed | partially_refunded | refunded
    payment_status: Mapped[str] = mapped_column(String(24), default="not_required")
    payment_ref: Mapped[str | None]  # the current Checkout Session
    # The paid Checkout's PaymentIntent (a refund's charge names it) and the cents refunded
    # so far (migration 0006).
    payment_intent: Mapped[str | None] = mapped_column(String(64))
    refunded_cents: Mapped[int | None]
    # What the clinician chose for the payment when cancelling (migration 0014): the
    # choice (full | none | less_fee), the cents to refund, where the refund stands
    # (pending | refunded | failed | kept), Stripe's refund id, the words of a refusal,
    # and the attempt (each Retry refund after a refusal is a new idempotency key).
    refund_choice: Mapped[str | None] = mapped_column(String(8))
    refund_cents: Mapped[int | None]
    refund_state: Mapped[str | None] = mapped_column(String(16))
    refund_ref: Mapped[str | None] = mapped_column(String(64))
    refund_error: Mapped[str | None] = mapped_column(String(200))
    refund_attempt: Mapped[int] = mapped_column(default=0, server_default="0")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token: Mapped[str] = mapped_column(EncryptedText(512))
    host_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    host_token: Mapped[str] = mapped_column(EncryptedText(512))
    room_name: Mapped[str] = mapped_column(EncryptedText(512))
    sequence: Mapped[int] = mapped_column(default=0)
    # The series this occurrence was saved in (shared by its occurrences), and the last
    # "Remind now" (migration 0007).
    series_id: Mapped[str | None] = mapped_column(String(32))
    reminded_at: Mapped[datetime | None]
    documents_confirmed_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None]
    # When the participant last pressed Enter Meeting on their page (0011): "waiting" on
    # the dashboard while it falls in the session's current join window.
    entered_at: Mapped[datetime | None]
    # The participant's name, e-mail and phone were erased (`sessionbot forget`, or the
    # retention run); `erase_requested_at`: erased once its last notice has gone (0013).
    erased_at: Mapped[datetime | None]
    erase_requested_at: Mapped[datetime | None]

    clinician: Mapped[Clinician] = relationship(lazy="joined")
    # Participants 2..N of a couples or family session (0016); the columns above are the
    # first's.
    guests: Mapped[list[SessionGuest]] = relationship(
        lazy="selectin", order_by="SessionGuest.position", cascade="all, delete-orphan"
    )


class SessionGuest(Base):
    """Another participant of a session (migration 0016): their own name, channel,
    address, zone, page link (stored hashed, like the session's), RSVP and Enter; the
    room and the payment are the session's."""

    __tablename__ = "session_guests"
    __table_args__ = (
        Index("ix_session_guests_session", "session_id"),
        Index("ix_session_guests_phone_index", "phone_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("scheduled_sessions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 2, 3, ...: the order they were named
    participant: Mapped[str] = mapped_column(EncryptedText(512))
    invite_channel: Mapped[str] = mapped_column(String(8))
    email: Mapped[str | None] = mapped_column(EncryptedText(512))
    phone: Mapped[str | None] = mapped_column(EncryptedText(512))
    phone_index: Mapped[str | None] = mapped_column(String(64))
    participant_tz: Mapped[str] = mapped_column(String(64))
    invite_status: Mapped[str] = mapped_column(String(16), default="pending")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token: Mapped[str] = mapped_column(EncryptedText(512))
    rsvp: Mapped[str | None] = mapped_column(String(8))
    entered_at: Mapped[datetime | None]
    # Erased alone once their cancellation notice has gone (0020; scheduling/erasure.py).
    erase_requested_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ParticipantRequest(Base):
    """Other times a participant asked for on their page (0011): up to three starts
    (ISO 8601, UTC, as a JSON list); open until the clinician accepts one or declines."""

    __tablename__ = "participant_requests"
    __table_args__ = (
        Index("ix_participant_requests_clinician", "clinician_id", "status"),
        Index("ix_participant_requests_session", "session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("scheduled_sessions.id", ondelete="CASCADE"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id", ondelete="CASCADE"))
    times: Mapped[str] = mapped_column(Text)
    # open | accepted | declined | replaced (a newer request) | closed (the session
    # was cancelled)
    status: Mapped[str] = mapped_column(String(16), default="open")
    chosen: Mapped[int | None]  # which time (1-based) was accepted
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]

    session: Mapped[ScheduledSession] = relationship(lazy="joined")


class Tracker(Base):
    """A clinician's conversation state, saved after every turn (encrypted JSON)."""

    __tablename__ = "trackers"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(
        ForeignKey("clinicians.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[str] = mapped_column(EncryptedText())
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class OutboxMessage(Base):
    """A message to send later (invitation, reminder, notice), written with its session."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("scheduled_sessions.id", ondelete="CASCADE")
    )
    clinician_id: Mapped[int | None] = mapped_column(
        ForeignKey("clinicians.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str] = mapped_column(String(8))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_ref: Mapped[str | None]
    payload: Mapped[str | None] = mapped_column(EncryptedText())
    # The session's other participant this message is for (0016); NULL: the first.
    guest_id: Mapped[int | None] = mapped_column(
        ForeignKey("session_guests.id", ondelete="CASCADE")
    )
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True, insert_sentinel=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessedEvent(Base):
    """Inbound events already handled (Slack retries, Stripe and Twilio webhooks)."""

    __tablename__ = "processed_events"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlackInbox(Base):
    """Every Slack event, click and command, written before the ack and marked processed
    after; a process that starts, or finds a row whose claim has lapsed, runs it again.
    The key is the turn id, so a retry or a replay never doubles a turn."""

    __tablename__ = "slack_inbox"
    __table_args__ = (Index("ix_slack_inbox_pending", "processed_at", "claimed_at"),)

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    body: Mapped[str] = mapped_column(EncryptedText())  # the payload: participant words
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=1)
    processed_at: Mapped[datetime | None]


class SlackReply(Base):
    """The answer to a dialogue turn, written in the turn's own transaction and marked
    delivered once Slack took it: a failed post, or a process killed before it, is posted
    again (by the inbox's replay of the turn) instead of lost. The body is where it goes
    and the bot's messages (participant words: encrypted)."""

    __tablename__ = "slack_replies"
    __table_args__ = (Index("ix_slack_replies_pending", "team_id", "user_id", "status"),)

    turn_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(EncryptedText())
    status: Mapped[str] = mapped_column(String(16), default="pending")  # delivered, failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class SlackPost(Base):
    """A message the bot posted to a clinician: a click may edit only one of these."""

    __tablename__ = "slack_posts"

    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ts: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SmsOptOut(Base):
    """A phone number that said STOP (keyed by blind index; applies to every clinician)."""

    __tablename__ = "sms_opt_outs"

    phone_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The number itself, encrypted, so a key rotation can index it again (0008; NULL on
    # older rows: `keys rotate` finds their number among the sessions and contacts).
    phone: Mapped[str | None] = mapped_column(EncryptedText(512))
    opted_out: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SmsConsent(Base):
    """Whether a number's owner agreed to texts (the practice's `sms_consent = "ask"`),
    keyed by blind index like `SmsOptOut`. `recorded_by`: the
    clinician ("T:U") who recorded the answer, or "participant" (an inbound STOP)."""

    __tablename__ = "sms_consents"

    phone_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The number, encrypted, only so `keys rotate` can index the row again (as for
    # `sms_opt_outs`); `forget` empties it and the row stays by its index.
    phone: Mapped[str | None] = mapped_column(EncryptedText(512))
    agreed: Mapped[bool] = mapped_column()
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlackRevocation(Base):
    """A workspace that uninstalled the app or revoked its bot token: nothing is posted there.

    `token_hash` (single-workspace mode) is the SHA-256 of the `SLACK_BOT_TOKEN` that was
    revoked, so a new token (the app installed again) is not held back; with OAuth it is
    NULL and a new installation clears the row.
    """

    __tablename__ = "slack_revocations"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)


class KeyCheck(Base):
    """One row: a canary encrypted under the first key (store/db.py checks it at open)."""

    __tablename__ = "key_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    canary: Mapped[str] = mapped_column(String(255))  # Fernet token, read raw by the check
    written_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionClaim(Base):
    """A dashboard or page action taken: the same one again (the same clinician, action,
    session and arguments) within its window finds this row and is answered "already
    done" with `result` instead of being done twice. Two rows per action, for the
    window's slot and the next, so any two within one window share a slot; the unique
    constraint makes the second of two at once lose, in any process."""

    __tablename__ = "action_claims"
    __table_args__ = (
        UniqueConstraint("clinician_id", "action", "subject", "args_hash", "slot"),
        Index("ix_action_claims_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))  # the session's public id
    args_hash: Mapped[str] = mapped_column(String(64))  # keyed: arguments may be private
    slot: Mapped[int] = mapped_column(Integer)  # seconds since 1970 // window
    result: Mapped[str | None] = mapped_column(EncryptedText())  # what the first was told
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarFeed(Base):
    """A clinician's live calendar feed (`/cal/<secret>.ics`, migration 0012).

    The secret (192 random bits) is found by its SHA-256 alone, so the database does not
    hold the URL; the secret itself is kept encrypted, so its clinician can be shown it
    again (App Home, `sessionbot calendar-url`). A new secret replaces the row's: the
    old URL answers 404 at once.
    """

    __tablename__ = "calendar_feeds"

    clinician_id: Mapped[int] = mapped_column(
        ForeignKey("clinicians.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token: Mapped[str] = mapped_column(EncryptedText(512))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditRow(Base):
    """One change or disclosure, append-only (store/audit.py): who, what, which session or
    contact, for which clinician, the names of the fields changed; never a value. `hash`
    is over the row's content and the previous row's hash (`prev_hash`), in `seq` order."""

    __tablename__ = "audit"
    __table_args__ = (
        Index("ix_audit_session", "session_id"),
        Index("ix_audit_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(80))  # "T:U", "participant", "system"
    action: Mapped[str] = mapped_column(String(40))
    session_id: Mapped[int | None]  # no foreign key: the row outlives what it names
    contact_id: Mapped[int | None]
    for_clinician: Mapped[str | None] = mapped_column(String(80))  # "T:U"
    fields: Mapped[str | None] = mapped_column(String(255))  # names, comma-separated
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row: the chain's last `seq` and hash. Writers lock it, so rows chain in order
    in any number of processes, and a row cut off the end shows."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class StaffRole(Base):
    """A role in a practice (a Slack team): `admin`, `scheduler` or `supervisor` of
    `user_id`; a scheduler's or supervisor's row names the clinician they are assigned to
    (`clinician_user`, "" for a role over nobody yet, or for an admin)."""

    __tablename__ = "staff_roles"
    __table_args__ = (UniqueConstraint("team_id", "user_id", "role", "clinician_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    clinician_user: Mapped[str] = mapped_column(String(64), default="")
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_by: Mapped[str] = mapped_column(String(80))  # "T:U" or "operator"


class StaffActing(Base):
    """The clinician a staff member is working for in Slack ("/schedule for @Dr Lee"):
    their conversation, App Home and buttons act for that clinician until they switch
    back ("/schedule" alone). Each call is checked against their role again."""

    __tablename__ = "staff_acting"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    clinician_user: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime] = mapped_column(default=utcnow)
