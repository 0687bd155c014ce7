"""The two units around Stripe's Refunds call (sessionbot/refunds.py makes the call between
them, outside any transaction): what a pending refund asks Stripe for, and its outcome
written back. Each works in the caller's unit, reached through the `Scheduler`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ground.practice import Practice
from scheduling import booking, refunds
from store import session_rows

log = logging.getLogger("sessionbot.refunds")


@dataclass(frozen=True)
class Standing:
    """Where a session's refund stands (`state`: scheduling/refunds.py), in the
    clinician's words; None and no words: no such session."""

    state: str | None
    text: str


@dataclass(frozen=True)
class ToMake:
    """A refund chosen and not made yet, as Stripe is to be asked for it."""

    payment_intent: str | None
    amount_cents: int
    idempotency_key: str
    attempt: int  # the outcome is written only while this attempt is still the pending one


def to_make(s: Session, public_id: str, practice: Practice) -> ToMake | Standing:
    session = session_rows.session_by_public_id(s, public_id)
    if session is None:
        return Standing(None, "")
    if session.refund_state != refunds.PENDING:
        return Standing(session.refund_state, refunds.outcome_words(session, practice))
    return ToMake(
        session.payment_intent,
        session.refund_cents or 0,
        refunds.idempotency_key(session),
        session.refund_attempt,
    )


@dataclass(frozen=True)
class Outcome:
    """What Stripe answered: the refund made (its id and amount), or why not."""

    refund_id: str | None = None
    amount_cents: int = 0
    reason: str = ""


def write_outcome(
    s: Session,
    public_id: str,
    attempt: int,
    outcome: Outcome,
    practice: Practice,
    now: datetime,
    *,
    tell: bool,
) -> Standing:
    """The outcome of `attempt`, unless another attempt (or a webhook) settled it since;
    `tell`: the clinician gets it by DM (once per attempt and state)."""
    session = session_rows.session_by_public_id(s, public_id, lock=True)
    assert session is not None
    if session.refund_state == refunds.PENDING and session.refund_attempt == attempt:
        if outcome.refund_id is not None:
            refunds.made(session, outcome.refund_id, outcome.amount_cents)
            log.info("session %s: refunded (%s)", public_id, outcome.refund_id)
        else:
            refunds.refused(session, outcome.reason)
        if tell:
            booking.notify_clinician(
                s,
                session.clinician_id,
                refunds.outcome_words(session, practice),
                dedupe_key=f"{public_id}:refund:{attempt}:{session.refund_state}",
                now=now,
                session_id=session.id,
            )
    return Standing(session.refund_state, refunds.outcome_words(session, practice))
