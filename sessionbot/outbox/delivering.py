"""Sending a prepared message with no transaction open: re-checked first (no decryption),
sent through its channel's adapter, a provider's "too many" pausing the channel, the
outcome recorded in one short transaction."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from ground.metrics import OUTBOX_SENT
from integrations import local_outbox
from integrations.errors import DeliveryError, TransientError
from sessionbot.outbox.base import INVITE_KINDS
from sessionbot.outbox.failing import _audited
from sessionbot.outbox.preparing import Outgoing, Preparing, _of_a_session, _read_batch
from store import guests, outbox_rows, session_rows

log = logging.getLogger("sessionbot.outbox")


class Delivering(Preparing):
    """Send a prepared message with no transaction open, and record it sent."""

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

    def _sent(self, outgoing: Outgoing, ref: str) -> str:
        """Plain UPDATEs and the audit row, nothing loaded or decrypted, committed with the
        other sending threads' records that come meanwhile (`store.grouped`: one lock of
        the audit chain's head for them all)."""
        local = ref == "local"
        status = local_outbox.LOCAL_STATUS if local else "sent"
        sent_at = datetime.now(UTC)
        preview = outgoing.preview() if local else None

        def record(s: Session) -> bool:
            recorded = outbox_rows.record_sent(
                s,
                outgoing.id,
                self.worker_id,
                status=status,
                sent_at=sent_at,
                provider_ref=None if local else ref,
                payload=preview,
            )
            if not recorded:
                return False
            sent = "local_outbox" if local else "sent"
            if outgoing.kind in INVITE_KINDS and outgoing.guest_id is not None:
                guests.set_invite_status(s, outgoing.guest_id, sent)
            elif outgoing.kind in INVITE_KINDS and outgoing.session_id is not None:
                session_rows.set_invite_status(s, outgoing.session_id, sent)
            _audited(s, outgoing.kind, outgoing.session_id, "sent")
            return True

        # In a group, the sessions' rows are locked in the order of their ids.
        order = (outgoing.session_id or 0, outgoing.id)
        if not self.records.write(record, order=order):  # the lease ran out: taken over
            log.warning("outbox %s: sent, but the claim had expired", outgoing.id)
            return "sent_late"
        OUTBOX_SENT.labels(channel=outgoing.channel).inc()
        log.info("outbox %s (%s/%s): %s", outgoing.id, outgoing.kind, outgoing.channel, status)
        return status
