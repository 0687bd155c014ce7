"""Preparing a claimed row for its channel, in a savepoint of its own: the batch's
sessions and opt-outs read once, the row withdrawn when its session was cancelled or
moved, the message built by the channel's adapter (decrypted only in memory)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ground.channel import Channel
from ground.language import resolve
from integrations import calendar, local_outbox, messages
from integrations.channels import Letter
from integrations.slack_notify import DROPPED_BECAUSE
from scheduling import booking, daily, page_requests, participants, sms_consent, waiting
from scheduling import refunds as paid_cancellations
from sessionbot.outbox.base import SESSION_KINDS
from sessionbot.outbox.failing import Failing
from store import outbox_rows, session_rows, slack_rows
from store.crypto import UndecryptableError, keyring
from store.models import Clinician, OutboxMessage, ScheduledSession

log = logging.getLogger("sessionbot.outbox")


class Unpreparable(Exception):
    """A row that cannot become a message; `reason` is a key of UNPREPARABLE."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Batch:
    """What a claimed batch's rows need, read once: sessions, unreadable ones, opt-outs."""

    sessions: dict[int, ScheduledSession]
    unreadable: set[int]
    opted_out: set[str]
    payloads: dict[int, str] = field(default_factory=dict)  # notices' text, as stored


@dataclass
class Outgoing:
    """One prepared send: what goes where (decrypted only in memory).

    `session_id`, `kind` and `version` let the worker re-check, just before sending and
    without decrypting anything, that the session was not cancelled or moved meanwhile.
    """

    id: int
    channel: str
    send: Callable[[], str]
    preview: Callable[[], str]
    kind: str = "clinician_notice"
    session_id: int | None = None
    version: int | None = None
    on_demand: bool = False  # a "Remind now": wanted until the session ends
    guest_id: int | None = None  # to a session's other participant (None: the first)
    # Whose messages keep their order (a session's participant, a clinician): sent one
    # after another, never side by side (set by `claim_prepared`).
    order_key: str = ""


class Preparing(Failing):
    """A claimed row into a send on its channel, or the reason it is not sent."""

    def _prepare_one(
        self, s: Session, message: OutboxMessage, now: datetime, batch: Batch
    ) -> Outgoing | str:
        """Prepare one row in a savepoint: a row that cannot be prepared is failed alone,
        and the batch's other claims stand. Database errors stop the worker."""
        try:
            with s.begin_nested():
                if _of_a_session(message) and message.session_id in batch.unreadable:
                    raise Unpreparable("unreadable")
                return self._prepare(s, message, now, batch)
        except SQLAlchemyError:
            raise
        except Unpreparable as exc:
            reason = exc.reason
        except UndecryptableError:
            reason = "unreadable"
        except Exception as exc:  # a bug: the type only (its text may carry data)
            log.error("outbox %s: could not be prepared: %s", message.id, type(exc).__name__)
            reason = "unexpected"
        readable = batch.sessions.get(message.session_id or 0)
        return self._unpreparable(s, message, readable, reason, now)

    def _prepare(
        self, s: Session, message: OutboxMessage, now: datetime, batch: Batch
    ) -> Outgoing | str:
        if message.kind == "clinician_notice":
            if Channel.of(message.channel) is not Channel.SLACK:
                raise Unpreparable("unknown_channel")
            return self._notice(s, message, batch.payloads.get(message.id))
        sessions, opted_out = batch.sessions, batch.opted_out
        session = sessions.get(message.session_id) if message.session_id else None
        version = _version_of(message)
        on_demand = _on_demand(message)
        if session is None or not self._wanted(
            message.kind,
            version,
            session.status,
            session.sequence,
            session.start_at,
            now,
            on_demand=on_demand,
        ):
            message.status = "withdrawn"
            message.claimed_until = None
            log.info("outbox %s (%s): withdrawn", message.id, message.kind)
            return "withdrawn"
        who = participants.recipient(session, message.guest_id)
        if who is None:  # a participant taken off the session
            message.status, message.claimed_until = "withdrawn", None
            return "withdrawn"
        adapter = self.senders.adapter(Channel.invitation(message.channel))
        if adapter is None:
            raise Unpreparable("unknown_channel")
        if adapter.texts_phone and opted_out.intersection(_phone_indexes(who)):
            self._opted_out(s, message, session, now)
            return "opted_out"
        if adapter.texts_phone and not sms_consent.may_text(
            s, self.practice, _phone_indexes(session)
        ):
            return self._no_consent(s, message, session, now)
        letter = Letter(
            kind=message.kind,
            view=self._view(session, who),
            email=who.email or "",
            phone=who.phone or "",
            uid=calendar.uid_of(session.public_id),
            sequence=session.sequence,
            mail_from=self.settings.mail_from,
            now=now,
        )
        try:
            prepared = adapter.prepare(letter)
        except ValueError:  # the email package refuses a header with CR or LF in it
            raise Unpreparable("bad_header") from None
        return Outgoing(
            id=message.id,
            channel=message.channel,
            send=prepared.send,
            preview=prepared.preview,
            kind=message.kind,
            session_id=session.id,
            version=version,
            on_demand=on_demand,
            guest_id=message.guest_id,
        )

    def _notice(self, s: Session, message: OutboxMessage, stored: str | None) -> Outgoing | str:
        clinician = s.get(Clinician, message.clinician_id)
        assert clinician is not None
        revoked = slack_rows.slack_revocation(s, clinician.team_id, self._slack_token_hash)
        if revoked is not None:  # the workspace let the app go (bot/lifecycle.py)
            message.status = "dropped"
            message.last_error = DROPPED_BECAUSE.get(revoked.reason, revoked.reason)
            message.claimed_until = None
            log.info("outbox %s (clinician_notice): dropped, %s", message.id, revoked.reason)
            return "dropped"
        team, user = clinician.team_id, clinician.user_id
        text = keyring().decrypt(stored) if stored else ""  # UndecryptableError: failed alone
        button = None
        key = message.dedupe_key
        if key.startswith((daily.NUDGE_PREFIX, waiting.PREFIX)) and message.session_id:
            session = s.get(ScheduledSession, message.session_id)
            if session is not None:  # the nudge, the waiting room: its Enter Meeting
                url = booking.enter_meeting_url(self.settings.public_url, session)
                button = ("Enter Meeting", url)
        # A participant's request: Accept each time, Decline (none once answered).
        actions = page_requests.notice_buttons(s, key, self.practice)
        slack = self.senders.slack
        return Outgoing(
            id=message.id,
            channel=Channel.SLACK,
            send=lambda: slack.send(team, user, text, button=button, actions=actions),
            preview=lambda: local_outbox.preview_slack(user, text, button, actions),
        )

    @staticmethod
    def _wanted(
        kind: str,
        version: int | None,
        status: str,
        sequence: int,
        start_at: datetime,
        now: datetime,
        *,
        on_demand: bool = False,
    ) -> bool:
        if kind == "cancellation":
            return True
        if status == "cancelled":
            return False
        # A message planned for an older version of the session (before a reschedule).
        if version is not None and version != sequence:
            return False
        # A planned reminder after the start is stale; one the clinician asked for now
        # (refused once the session is over) is still wanted in the session.
        return on_demand or not (kind == "reminder" and start_at <= now)

    def _view(self, session: ScheduledSession, who: participants.Recipient) -> messages.SessionView:
        page = participants.participant_url(self.settings.public_url, who)
        language = resolve(session.language, self.practice.language)
        return messages.SessionView(
            start=session.start_at,
            duration_min=session.duration_min,
            participant_tz=who.tz,
            host=self.practice.name,
            page_url=page,
            rsvp_yes_url=f"{page}/rsvp?answer=yes",
            rsvp_no_url=f"{page}/rsvp?answer=no",
            clinician=session.clinician.display_name,
            refund=paid_cancellations.participant_words(session, language),
            language=language,
        )


def _version_of(message: OutboxMessage) -> int | None:
    """The session version a message was planned for (the end of its dedupe key)."""
    version = message.dedupe_key.rsplit(":", 1)[-1]
    return int(version) if message.kind in SESSION_KINDS and version.isdigit() else None


def _on_demand(message: OutboxMessage) -> bool:
    """A reminder the clinician asked for (`commands.remind_now`), not one planned."""
    return message.kind == "reminder" and ":reminder:now:" in message.dedupe_key


def _of_a_session(message: OutboxMessage) -> bool:
    """A message to a session's participant (a notice needs no participant data)."""
    return bool(message.session_id) and message.kind != "clinician_notice"


def _phone_indexes(session: ScheduledSession | participants.Recipient) -> set[str]:
    """The number's blind indexes: the stored one and every configured key's."""
    found = set(keyring().blind_indexes(session.phone)) if session.phone else set()
    if session.phone_index:
        found.add(session.phone_index)
    return found


def _read_batch(s: Session, session_ids: set[int]) -> Batch:
    """The sessions of a batch in one query; when one cannot be decrypted, one by one,
    so only the rows of that session fail."""
    unreadable: set[int] = set()
    try:
        sessions = session_rows.sessions_by_ids(s, session_ids)
    except UndecryptableError:
        sessions = {}
        for session_id in sorted(session_ids):
            try:
                sessions.update(session_rows.sessions_by_ids(s, {session_id}, fresh=True))
            except UndecryptableError:
                unreadable.add(session_id)
    indexes = [
        i
        for x in sessions.values()
        for who in participants.recipients(x)
        if who.phone
        for i in _phone_indexes(who)
    ]
    return Batch(sessions, unreadable, outbox_rows.sms_opted_out_among(s, indexes))
