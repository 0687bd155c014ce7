"""Making the refund a paid cancellation chose, through the payments adapter.

The cancellation and its choice commit first (actions/commands.py, scheduling/refunds.py);
then `settle` calls Stripe's Refunds API outside any transaction, with the idempotency key
of the session, choice and attempt, and writes the outcome back. Slack and the CLI call it
at once and say the outcome; the worker calls `settle_pending` on every round, so a refund
whose face crashed (or the conversation's) is made, and told to the clinician by DM. Two of
them at once make one refund: the key is the same. A refund Stripe refuses is `failed`,
shown on the dashboard with Retry refund, never retried behind the clinician's back (a
declined card or an already refunded payment needs a person).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from ground.practice import Practice
from integrations.payments import Payments, RefundMade, RefundRefused
from scheduling import booking, refunds
from store import session_rows
from store.db import Store

log = logging.getLogger("sessionbot.refunds")

NOT_SET_UP = "payments are not set up here (STRIPE_API_KEY is not set)"


@dataclass(frozen=True)
class Settled:
    """Where a session's refund stands after trying, in the clinician's words."""

    state: str | None
    text: str

    @property
    def failed(self) -> bool:
        return self.state == refunds.FAILED


def settle(
    store: Store,
    payments: Payments | None,
    practice: Practice,
    public_id: str,
    now: datetime,
    *,
    tell: bool = False,
) -> Settled:
    """Make the session's pending refund (or say where it stands). `tell`: also DM the
    clinician the outcome (for callers that have no one to answer, the worker)."""
    with store.unit() as s:
        session = session_rows.session_by_public_id(s, public_id)
        if session is None:
            return Settled(None, "")
        if session.refund_state != refunds.PENDING:
            return Settled(session.refund_state, refunds.outcome_words(session, practice))
        intent, amount = session.payment_intent, session.refund_cents or 0
        key, attempt = refunds.idempotency_key(session), session.refund_attempt
    made: RefundMade | None = None
    reason = ""
    try:
        if payments is None or intent is None:
            raise RefundRefused(NOT_SET_UP if payments is None else "no payment is on record")
        made = payments.refund(
            payment_intent=intent, amount_cents=amount, reference=public_id, idempotency_key=key
        )
    except RefundRefused as exc:
        reason = exc.reason
        log.warning("session %s: refund refused (%s)", public_id, exc.code or "no code")
    with store.unit() as s:
        session = session_rows.session_by_public_id(s, public_id, lock=True)
        assert session is not None
        if session.refund_state == refunds.PENDING and session.refund_attempt == attempt:
            if made is not None:
                refunds.made(session, made.id, made.amount_cents)
                log.info("session %s: refunded (%s)", public_id, made.id)
            else:
                refunds.refused(session, reason)
            if tell:
                booking.notify_clinician(
                    s,
                    session.clinician_id,
                    refunds.outcome_words(session, practice),
                    dedupe_key=f"{public_id}:refund:{attempt}:{session.refund_state}",
                    now=now,
                    session_id=session.id,
                )
        return Settled(session.refund_state, refunds.outcome_words(session, practice))


def settle_pending(
    store: Store, payments: Payments | None, practice: Practice, now: datetime
) -> int:
    """The worker's round: every refund chosen and not made yet; each outcome DM'd."""
    if payments is None:
        return 0  # left pending: a worker with Stripe set up makes them
    with store.unit() as s:
        waiting = session_rows.pending_refunds(s)
    for public_id in waiting:
        settle(store, payments, practice, public_id, now, tell=True)
    return len(waiting)
