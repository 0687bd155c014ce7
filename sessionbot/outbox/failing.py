"""A row that could not go out: retried later with backoff, or failed with a fixed reason,
counted in `sessionbot_outbox_failed_total`, audited, and its clinician told what to fix
(a number that said STOP, a text with no consent recorded, a row that cannot be prepared,
a provider's refusal)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from ground.channel import Channel
from ground.formatting import initials, when
from ground.metrics import OUTBOX_FAILED
from integrations.errors import DeliveryError, PermanentError, TransientError
from scheduling import booking, erasure, participants, sms_consent
from sessionbot.outbox.base import INVITE_KINDS, SESSION_KINDS, WorkerBase
from store import audit, outbox_rows, session_rows
from store.crypto import keyring
from store.models import OutboxMessage, ScheduledSession

log = logging.getLogger("sessionbot.outbox")

# Why a row could not be prepared: a fixed phrase each (never the address nor an
# exception's text, which may carry participant data), and what the clinician can do.
UNPREPARABLE = {
    "unreadable": (
        "its data is encrypted under a key this worker does not have",
        "Ask whoever runs sessionbot to check SESSIONBOT_ENCRYPTION_KEY; "
        "the participant was not told.",
    ),
    "unknown_channel": (
        "it is for a channel this worker has no way to send",
        "Tell whoever runs sessionbot; the participant was not told.",
    ),
    "bad_header": (
        "the e-mail address or subject has a line break, which no e-mail can carry",
        "Edit the session's e-mail address and send it again.",
    ),
    # Retried with backoff first (a fix may come); the clinician hears only at the end.
    "unexpected": (
        "it could not be prepared (an error of ours)",
        "We gave up after several tries; tell whoever runs sessionbot.",
    ),
}


class Failing(WorkerBase):
    """A row that could not go: failed, or retried later; its clinician told."""

    def _unpreparable(
        self,
        s: Session,
        message: OutboxMessage,
        session: ScheduledSession | None,
        reason: str,
        now: datetime,
    ) -> str:
        """A row that cannot be prepared: failed with its reason, its clinician told.

        A bug of ours ("unexpected") is retried with backoff like a network error, since
        a fix may come; the others cannot change by retrying.
        """
        phrase, fix = UNPREPARABLE[reason]
        message.last_error = phrase
        message.claimed_until = None
        if reason == "unexpected" and message.attempts < self.retry.max_attempts:
            message.status = "pending"
            message.due_at = now + self.retry.delay(message.attempts)
            log.info("outbox %s (%s): retry: %s", message.id, message.kind, phrase)
            return "retry"
        message.status = "failed"
        _audited(s, message.kind, message.session_id, "failed")
        _count_failed(reason)
        log.warning("outbox %s (%s): failed: %s", message.id, message.kind, phrase)
        if message.kind == "clinician_notice" or not message.session_id:
            return "failed"
        if session is not None:
            if message.kind in INVITE_KINDS:
                participants.set_invite_status(session, message.guest_id, "failed")
            self._tell_clinician(s, message, session, now, f"could not be sent: {phrase}. {fix}")
            return "failed"
        # The session itself cannot be read: no initials to name, only its time.
        brief = session_rows.session_brief(s, message.session_id)
        if brief is None:
            return "failed"
        clinician_id, start_at, tz = brief
        if message.kind in INVITE_KINDS:
            session_rows.set_invite_status(s, message.session_id, "failed")
        zone = self.practice.zone_of(tz)
        booking.notify_clinician(
            s,
            clinician_id,
            f"The {message.kind} for a session on {when(start_at, zone)} could not be sent: "
            f"{phrase}. {fix}",
            dedupe_key=f"notice:outbox:{message.id}:{message.attempts}",
            now=now,
            session_id=message.session_id,
        )
        return "failed"

    def _failed(self, message_id: int, error: DeliveryError) -> str:
        now = datetime.now(UTC)
        with self.store.unit() as s:
            message = outbox_rows.claimed_message(s, message_id, self.worker_id)
            if message is None:
                return "lost_claim"
            message.last_error = str(error)
            message.claimed_until = None
            if isinstance(error, TransientError) and message.attempts < self.retry.max_attempts:
                message.status = "pending"
                message.due_at = now + self.retry.delay(message.attempts)
                log.info(
                    "outbox %s (%s): retry at %s: %s",
                    message_id,
                    message.kind,
                    message.due_at.isoformat(),
                    error,
                )
                return "retry"
            message.status = "failed"
            _audited(s, message.kind, message.session_id, "failed")
            opted_out = isinstance(error, PermanentError) and error.opted_out
            if not opted_out:
                _count_failed("permanent" if isinstance(error, PermanentError) else "gave_up")
            log.warning("outbox %s (%s): failed: %s", message_id, message.kind, error)
            if message.kind == "clinician_notice":
                return "failed"
            session = (
                session_rows.session_by_id(s, message.session_id) if message.session_id else None
            )
            if session is None:
                return "failed"
            if isinstance(error, PermanentError) and error.opted_out:
                self._opted_out(s, message, session, now, record=True)
                return "opted_out"
            if message.kind in INVITE_KINDS:
                participants.set_invite_status(session, message.guest_id, "failed")
            fix = (
                error.fix
                if isinstance(error, PermanentError)
                else (
                    f"We gave up after {message.attempts} tries; check the "
                    f"{self._provider(message.channel)} settings."
                )
            )
            self._tell_clinician(
                s, message, session, now, f"could not be sent ({error}). {fix}".strip()
            )
            return "failed"

    def _provider(self, channel: str) -> str:
        adapter = self.senders.adapter(Channel.of(channel))
        return adapter.provider if adapter is not None else "sending"

    def _opted_out(
        self,
        s: Session,
        message: OutboxMessage,
        session: ScheduledSession,
        now: datetime,
        *,
        record: bool = False,
    ) -> None:
        message.status = "failed"
        message.last_error = "the number has opted out of texts (STOP)"
        message.claimed_until = None
        if not record:  # (recorded by `_failed` when the provider said so)
            _audited(s, message.kind, message.session_id, "failed")
        _count_failed("opted_out")
        who = participants.recipient(session, message.guest_id) or participants.first(session)
        if record and who.phone:  # the number that said STOP: theirs
            outbox_rows.set_sms_opt_out(
                s, keyring().blind_indexes(who.phone), True, phone=who.phone
            )
        status = participants.invite_status_of(session, message.guest_id)
        if message.kind in INVITE_KINDS or status != "failed":
            participants.set_invite_status(session, message.guest_id, "opted_out")
        self._tell_clinician(
            s,
            message,
            session,
            now,
            "was not texted: their number replied STOP to our texts. "
            "Reach them another way (reschedule with an e-mail invitation), or ask them "
            "to reply START.",
        )

    def _no_consent(
        self, s: Session, message: OutboxMessage, session: ScheduledSession, now: datetime
    ) -> str:
        """A text to a number with no recorded consent (`sms_consent = "ask"`): withheld,
        and the clinician told once per session (not once per reminder)."""
        message.status = "failed"
        message.last_error = "no consent to text messages is recorded for the number"
        message.claimed_until = None
        _audited(s, message.kind, message.session_id, "failed")
        _count_failed(sms_consent.WITHHELD)
        if message.kind in INVITE_KINDS or session.invite_status != "failed":
            session.invite_status = sms_consent.WITHHELD
        zone = self.practice.zone_of(session.clinician.tz)
        text = (
            f"The {message.kind} for your session with {initials(session.participant)} "
            f"on {when(session.start_at, zone)} {sms_consent.withheld_words()}"
        )
        sms_consent.tell_once(s, session.clinician_id, session.id, text, now)
        return sms_consent.WITHHELD

    def _tell_clinician(
        self,
        s: Session,
        message: OutboxMessage,
        session: ScheduledSession,
        now: datetime,
        what: str,
    ) -> None:
        zone = self.practice.zone_of(session.clinician.tz)
        who = participants.recipient(session, message.guest_id) or participants.first(session)
        text = (
            f"The {message.kind} for your session with {initials(who.name)} "
            f"on {when(session.start_at, zone)} {what}"
        )
        booking.notify_clinician(
            s,
            session.clinician_id,
            text,
            dedupe_key=f"notice:outbox:{message.id}:{message.attempts}",
            now=now,
            session_id=session.id,
        )


def _audited(s: Session, kind: str, session_id: int | None, outcome: str) -> None:
    """A message to a participant sent or given up on: an audit row (the system's); the
    last notice to a participant whose erasure waited for it lets the erasure finish."""
    if kind not in SESSION_KINDS or not session_id:
        return
    audit.record(s, actor=audit.SYSTEM, action=f"{kind}_{outcome}", session_id=session_id)
    if kind == "cancellation":
        erasure.finish_requested(s, session_id, datetime.now(UTC))


def _count_failed(reason: str) -> None:
    OUTBOX_FAILED.labels(reason=reason).inc()
