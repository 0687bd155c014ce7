"""Making the refund a paid cancellation chose, through the payments adapter.

The cancellation and its choice commit first (scheduling/commands.py, scheduling/refunds.py);
then `settle` calls Stripe's Refunds API outside any transaction, with the idempotency key
of the session, choice and attempt, and writes the outcome back (the two units are the
scheduling service's: scheduling/refunding.py). Slack and the CLI call it at once and say
the outcome; the worker calls `settle_pending` on every round, so a refund whose face
crashed (or the conversation's) is made, and told to the clinician by DM. Two of them at
once make one refund: the key is the same. A refund Stripe refuses is `failed`, shown on
the dashboard with Retry refund, never retried behind the clinician's back (a declined
card or an already refunded payment needs a person).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from integrations.payments import Payments, RefundRefused
from scheduling import refunds
from scheduling.refunding import Outcome, Standing
from scheduling.service import Scheduler

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
    scheduler: Scheduler,
    payments: Payments | None,
    public_id: str,
    now: datetime,
    *,
    tell: bool = False,
) -> Settled:
    """Make the session's pending refund (or say where it stands). `tell`: also DM the
    clinician the outcome (for callers that have no one to answer, the worker)."""
    pending = scheduler.refund_to_make(public_id)
    if isinstance(pending, Standing):
        return Settled(pending.state, pending.text)
    try:
        if payments is None or pending.payment_intent is None:
            raise RefundRefused(NOT_SET_UP if payments is None else "no payment is on record")
        made = payments.refund(
            payment_intent=pending.payment_intent,
            amount_cents=pending.amount_cents,
            reference=public_id,
            idempotency_key=pending.idempotency_key,
        )
        outcome = Outcome(refund_id=made.id, amount_cents=made.amount_cents)
    except RefundRefused as exc:
        outcome = Outcome(reason=exc.reason)
        log.warning("session %s: refund refused (%s)", public_id, exc.code or "no code")
    standing = scheduler.refund_outcome(public_id, pending.attempt, outcome, now, tell=tell)
    return Settled(standing.state, standing.text)


def settle_pending(scheduler: Scheduler, payments: Payments | None, now: datetime) -> int:
    """The worker's round: every refund chosen and not made yet; each outcome DM'd."""
    if payments is None:
        return 0  # left pending: a worker with Stripe set up makes them
    waiting = scheduler.pending_refunds()
    for public_id in waiting:
        settle(scheduler, payments, public_id, now, tell=True)
    return len(waiting)
