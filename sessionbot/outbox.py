"""The outbox worker: claim due messages, send them outside any transaction, record how it went.

Each message goes through three short steps: claim (one transaction, many rows, SKIP
LOCKED on PostgreSQL), send (no transaction open), finish (one transaction: sent, retry
later with backoff and jitter, or failed with a DM to the clinician saying what to fix).
A worker killed between send and finish leaves the row `sending`; when its lease runs out
another worker sends it again, so that one message can arrive twice (README).

The lease is short (`SESSIONBOT_OUTBOX_LEASE`, 8 s) and a live worker renews it every
quarter of it for the rows it still holds (a heartbeat thread, `sessionbot/sending.py`):
a killed worker's claims are taken over within one lease, while a live one keeps its
claims however long its sends or a provider's 429 pause take.

Each row is prepared in a savepoint of its own: a row that cannot be prepared (its data
under a key this worker lacks, an address with a line break that no e-mail header can
hold) is marked failed with a fixed reason, its clinician is told, it is counted in
`sessionbot_outbox_failed_total`, and the rest of the batch goes on. Only what stops every
row (the database gone) stops the worker.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ground.channel import Channel
from ground.formatting import initials, when
from ground.language import resolve
from ground.logs import request_context
from ground.metrics import OUTBOX_FAILED, OUTBOX_SENT
from ground.practice import Practice
from ground.settings import Settings
from integrations import calendar, local_outbox, messages
from integrations.channels import Letter
from integrations.errors import DeliveryError, PermanentError, TransientError
from integrations.payments import Payments
from integrations.providers import Senders
from integrations.slack_notify import (
    DROPPED_BECAUSE,
    token_hash,
)
from scheduling import booking, daily, erasure, page_requests, participants, sms_consent, waiting
from scheduling import refunds as paid_cancellations
from sessionbot import refunds
from sessionbot.sending import Heartbeat, Lanes, Limits, per_thread
from store import audit, claim_rows, guests, outbox_rows, session_rows, slack_rows
from store.crypto import UndecryptableError, keyring
from store.db import Store
from store.models import Clinician, OutboxMessage, ScheduledSession

log = logging.getLogger(__name__)

SESSION_KINDS = ("invitation", "update", "cancellation", "reminder", "declined")
INVITE_KINDS = ("invitation", "update")


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


@dataclass(frozen=True)
class Retry:
    """Exponential backoff with jitter: base * 2^(attempt-1), capped, times 0.5..1.5."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 12

    def delay(self, attempts: int, rand: Callable[[], float] = random.random) -> timedelta:
        raw = min(self.cap, self.base * (2 ** max(0, attempts - 1)))
        return raw * (0.5 + rand())


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


@dataclass
class Stats:
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    @property
    def handled(self) -> int:
        return sum(self.counts.values())


class Worker:
    def __init__(
        self,
        store: Store,
        practice: Practice,
        settings: Settings,
        senders: Senders,
        *,
        worker_id: str | None = None,
        batch: int | None = None,
        lease: timedelta | None = None,
        retry: Retry = Retry(),
        limits: Limits | None = None,
        payments: Payments | None = None,
    ) -> None:
        self.store = store
        self.payments = payments  # paid cancellations' refunds left to make (`settle_refunds`)
        self.practice = practice
        self.settings = settings
        self.limits = limits or Limits(
            sms=settings.worker_sms_concurrency,
            email=settings.worker_email_concurrency,
            slack=settings.worker_slack_concurrency,
            sms_rate=settings.worker_sms_rate,
            email_rate=settings.worker_email_rate,
            slack_rate=settings.worker_slack_rate,
        )
        # Senders that keep a connection (SMTP) get one per sending thread.
        self.senders = per_thread(senders)
        self.lanes = Lanes(self.limits)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        # Rows claimed and not yet done: as many as the lanes send at once. A batch of
        # one channel may wait several rounds of sends plus a 429 pause (at most 60 s),
        # longer than the lease: the heartbeat renews the claims it still holds.
        self.batch = batch or self.limits.total
        self.lease = lease or timedelta(seconds=settings.outbox_lease_seconds)
        self._retained_on: str | None = None  # the day (UTC) retention was applied
        self.held: set[int] = set()  # claimed by `run_once`, not yet recorded or given back
        self._held_lock = threading.Lock()
        self.retry = retry
        # Single-workspace mode: which bot token is in use (a revoked one is not used).
        self._slack_token_hash = (
            None if settings.slack_client_id else token_hash(settings.slack_bot_token)
        )

    # The loop ------------------------------------------------------------------------

    def run_once(self, stop: threading.Event | None = None) -> Stats:
        """Send everything due now (including notices queued on the way), then return.

        Claimed messages go to their channel's lane and are sent concurrently (bounded per
        channel, sessionbot/sending.py); more are claimed as the lanes free up. With `stop`
        set meanwhile, it returns once the sends already begun are finished, and gives
        the rest of what it claimed back at once (no waiting for the lease).
        """
        try:
            with Heartbeat(self.lease.total_seconds() / 4, self.renew, name="outbox-heartbeat"):
                return self._run_once(stop)
        finally:  # what is still held (a failure half-way) lapses with its lease
            with self._held_lock:
                self.held.clear()

    def _hold(self, ids: list[int]) -> None:
        with self._held_lock:
            self.held.update(ids)

    def _let_go(self, ids: list[int]) -> None:
        with self._held_lock:
            self.held.difference_update(ids)

    def renew(self) -> int:
        """Extend the lease of the rows this worker still holds (the heartbeat's beat)."""
        with self._held_lock:
            ids = sorted(self.held)
        if not ids:
            return 0
        with self.store.unit() as s:
            return outbox_rows.renew_claims(s, ids, self.worker_id, datetime.now(UTC) + self.lease)

    def _run_once(self, stop: threading.Event | None) -> Stats:
        stats = Stats()
        self.plan_day()
        self.apply_retention()
        self.settle_refunds()  # first: a cancellation notice says what was refunded
        inflight: dict[Future[str | None], Outgoing] = {}
        held: list[Outgoing] = []  # waiting for an earlier message to the same person
        busy: set[str] = set()
        unsent: list[int] = []

        def start(item: Outgoing) -> None:
            if item.order_key in busy:
                held.append(item)
                return
            busy.add(item.order_key)
            future = self.lanes.submit(item.channel, partial(self._send_in_lane, item, stop))
            inflight[future] = item

        def finished(future: Future[str | None]) -> None:
            item = inflight.pop(future)
            busy.discard(item.order_key)
            outcome = future.result()  # the database gone: raised here, stops all
            self._let_go([item.id])
            if outcome is None:
                unsent.append(item.id)
            else:
                stats.add(outcome)
            waiting = next((x for x in held if x.order_key == item.order_key), None)
            if waiting is not None and not (stop and stop.is_set()):
                held.remove(waiting)
                start(waiting)

        try:
            while not (stop and stop.is_set()):
                if len(inflight) + len(held) <= self.batch // 2:
                    batch = self.claim_prepared(self.batch - len(inflight) - len(held))
                    if not batch and not inflight:
                        break
                    self._hold([x.id for x in batch if isinstance(x, Outgoing)])
                    for item in batch:
                        if isinstance(item, str):
                            stats.add(item)
                        else:
                            start(item)
                    if not inflight:
                        continue
                done, _ = wait(inflight, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    finished(future)
        finally:
            # Stopping (or failing): what has not begun is not begun; what has, finishes.
            unsent.extend(x.id for x in held)
            for future in list(inflight):
                if future.cancel():
                    unsent.append(inflight.pop(future).id)
            if inflight:
                wait(inflight)
            for future, item in inflight.items():
                self._let_go([item.id])
                if future.exception() is None:
                    outcome = future.result()
                    if outcome is None:
                        unsent.append(item.id)
                    else:
                        stats.add(outcome)
        self.release(unsent)
        return stats

    def _send_in_lane(self, item: Outgoing, stop: threading.Event | None) -> str | None:
        """In the channel's lane: wait out a pause of the channel, then deliver. None: not
        begun because of a stop (the message is given back)."""
        self.lanes.throttle(item.channel).wait(stop)
        if stop is not None and stop.is_set():
            return None
        with request_context(f"outbox-{item.id}"):  # its lines, searchable together
            return self.deliver(item)

    def run_forever(self, stop: threading.Event, poll: float = 2.0) -> Stats:
        total = Stats()
        try:
            while not stop.is_set():
                stats = self.run_once(stop)
                total.counts.update(stats.counts)
                if not stats.handled:
                    stop.wait(poll)
        finally:
            self.close()
        return total

    def close(self) -> None:
        """Stop the sending threads and let go of kept connections (the SMTP sessions)."""
        self.lanes.shutdown()
        for sender in (self.senders.mail, self.senders.sms, self.senders.slack):
            close = getattr(sender, "close", None)
            if close is not None:
                close()

    def settle_refunds(self) -> int:
        """Make the refunds chosen with a cancellation and not made yet (a face that
        stopped before Stripe answered, or one that had no Stripe): each outcome DM'd."""
        return refunds.settle_pending(self.store, self.payments, self.practice, datetime.now(UTC))

    def plan_day(self) -> int:
        """Queue the clinicians' morning agendas and pre-session nudges due now.

        A session under a key this worker lacks holds the agendas back (logged), never
        the messages."""
        try:
            with self.store.unit() as s:
                return daily.plan_day(s, datetime.now(UTC), self.practice, self.settings.public_url)
        except UndecryptableError:
            log.warning("agendas not planned: a session is under a key this worker lacks")
            return 0

    def apply_retention(self) -> Counter[str] | None:
        """The practice's retention, once a day across every worker (the first to see
        the day does it); None when it was done today already."""
        now = datetime.now(UTC)
        day = now.date().isoformat()
        if self._retained_on == day:
            return None
        with self.store.unit() as s:
            counts = (
                erasure.retention(s, self.practice, now)
                if claim_rows.first_time(s, f"retention:{day}")
                else None
            )
        self._retained_on = day
        if counts is not None:
            log.info("retention: %s", ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
        return counts

    def claim(self) -> list[int]:
        """Claim due messages without preparing them (their ids, for `process`)."""
        now = datetime.now(UTC)
        with self.store.unit() as s:
            rows = outbox_rows.claim_due(s, self.worker_id, now, now + self.lease, self.batch)
            return [row.id for row in rows]

    def claim_prepared(self, limit: int | None = None) -> list[Outgoing | str]:
        """Claim a batch and prepare every send in the same transaction.

        The batch's sessions, clinicians, opt-outs and notices' text are read with one
        query each; a message's own cost before it is sent is its savepoint (SAVEPOINT
        and RELEASE), so one that cannot be prepared fails alone.
        """
        now = datetime.now(UTC)
        with self.store.unit() as s:
            rows = outbox_rows.claim_due(
                s, self.worker_id, now, now + self.lease, limit or self.batch
            )
            if not rows:
                return []
            batch = _read_batch(
                s, {r.session_id for r in rows if r.session_id and _of_a_session(r)}
            )
            notices = [r.id for r in rows if r.kind == "clinician_notice"]
            batch.payloads = outbox_rows.outbox_payloads(s, notices)
            prepared = [self._prepare_one(s, row, now, batch) for row in rows]
        for row, item in zip(rows, prepared, strict=True):
            if isinstance(item, Outgoing):
                item.order_key = (
                    f"session:{row.session_id}"
                    if _of_a_session(row)
                    else f"clinician:{row.clinician_id}"
                )
        return prepared

    def release(self, message_ids: list[int]) -> None:
        """Give claimed, unsent messages back (a stop in the middle of a batch)."""
        if message_ids:
            with self.store.unit() as s:
                outbox_rows.release_claims(s, message_ids, self.worker_id)
            self._let_go(message_ids)

    # One message ---------------------------------------------------------------------

    def process(self, message_id: int) -> str:
        """Prepare and deliver one message already claimed by this worker."""
        now = datetime.now(UTC)
        with self.store.unit() as s:
            message = outbox_rows.claimed_message(s, message_id, self.worker_id)
            if message is None:
                return "lost_claim"
            ids = {message.session_id} if message.session_id and _of_a_session(message) else set()
            batch = _read_batch(s, ids)
            batch.payloads = outbox_rows.outbox_payloads(s, [message.id])
            outcome = self._prepare_one(s, message, now, batch)
        return outcome if isinstance(outcome, str) else self.deliver(outcome)

    def deliver(self, outgoing: Outgoing) -> str:
        """Re-check, send with no transaction open, record the outcome."""
        if outgoing.session_id is not None and not self._still_current(outgoing):
            return "withdrawn"
        throttle = self.lanes.throttle(outgoing.channel)
        try:
            ref = outgoing.send()
        except DeliveryError as exc:
            if isinstance(exc, TransientError) and exc.rate_limited:
                pause = throttle.throttled()
                log.warning(
                    "%s: the provider says too many; paused %.0f s", outgoing.channel, pause
                )
            return self._failed(outgoing.id, exc)
        except Exception as exc:  # a bug or an unexpected library error: retry, log type only
            log.exception("outbox %s: unexpected error", outgoing.id)
            return self._failed(outgoing.id, TransientError(f"unexpected {type(exc).__name__}"))
        throttle.succeeded()
        return self._sent(outgoing, ref)

    def _still_current(self, outgoing: Outgoing) -> bool:
        """The session's state now (a cheap read: no participant data is decrypted)."""
        now = datetime.now(UTC)
        with self.store.unit() as s:
            state = session_rows.session_state(s, outgoing.session_id or 0)
            if state is not None and self._wanted(
                outgoing.kind, outgoing.version, *state, now, on_demand=outgoing.on_demand
            ):
                return True
            outbox_rows.withdraw_claimed(s, outgoing.id, self.worker_id)
        log.info("outbox %s (%s): withdrawn", outgoing.id, outgoing.kind)
        return False

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

    # Outcomes ------------------------------------------------------------------------

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

    def _sent(self, outgoing: Outgoing, ref: str) -> str:
        """One short transaction of plain UPDATEs: nothing is loaded or decrypted."""
        local = ref == "local"
        status = local_outbox.LOCAL_STATUS if local else "sent"
        with self.store.unit() as s:
            recorded = outbox_rows.record_sent(
                s,
                outgoing.id,
                self.worker_id,
                status=status,
                sent_at=datetime.now(UTC),
                provider_ref=None if local else ref,
                payload=outgoing.preview() if local else None,
            )
            if not recorded:  # the lease ran out and another worker took it over
                log.warning("outbox %s: sent, but the claim had expired", outgoing.id)
                return "sent_late"
            sent = "local_outbox" if local else "sent"
            if outgoing.kind in INVITE_KINDS and outgoing.guest_id is not None:
                guests.set_invite_status(s, outgoing.guest_id, sent)
            elif outgoing.kind in INVITE_KINDS and outgoing.session_id is not None:
                session_rows.set_invite_status(s, outgoing.session_id, sent)
            _audited(s, outgoing.kind, outgoing.session_id, "sent")
        OUTBOX_SENT.labels(channel=outgoing.channel).inc()
        log.info("outbox %s (%s/%s): %s", outgoing.id, outgoing.kind, outgoing.channel, status)
        return status

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


def _count_failed(reason: str) -> None:
    OUTBOX_FAILED.labels(reason=reason).inc()


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
