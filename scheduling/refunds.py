"""Paid cancellations: what may be refunded when a paid session is cancelled, the choice the
one who cancels makes, and where the refund stands, in words for each side.

The choice is one of three: the whole payment back (`full`), nothing back (`none`), or,
when the practice file sets a late-cancellation fee and the cancellation comes less than
`cancel_notice_hours` before the start, the payment less the fee (`less_fee`). It is
stored with the cancellation in the caller's unit of work (`choose`); the refund itself
is made afterwards, outside the transaction, by `sessionbot.refunds` through the payments
adapter, and its outcome written back here (`made`, `refused`). A refund Stripe refuses
stays `failed` on the dashboard, with Retry refund (`retry`), until one goes through.

No Stripe here: this module is rules and words, used by every face.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ground.formatting import cents, initials, money_from_cents, when
from ground.practice import Practice
from store import session_rows
from store.models import Clinician, ScheduledSession

FULL, NONE, LESS_FEE = "full", "none", "less_fee"
CHOICES = (FULL, NONE, LESS_FEE)
# Where a chosen refund stands: to be made, made, refused by Stripe, nothing to make.
PENDING, REFUNDED, FAILED, KEPT = "pending", "refunded", "failed", "kept"
PAID = ("paid", "partially_refunded")
# How long the dashboard keeps showing a cancelled session's refund.
SHOWN_FOR = timedelta(days=30)


def read_choice(text: str | None) -> str | None:
    """'full', 'none', 'less-fee' (the CLI's words) or a button's value; None otherwise."""
    if text is None:
        return None
    value = text.strip().lower().replace("-", "_")
    return value if value in CHOICES else None


@dataclass(frozen=True)
class Option:
    choice: str
    refund_cents: int
    label: str  # "Full refund ($180.00)"


@dataclass(frozen=True)
class Offer:
    """What the one who cancels a paid session chooses among."""

    paid_cents: int  # what is left of the payment to refund
    currency: str
    fee_cents: int | None  # the late-cancellation fee, when it applies now
    options: tuple[Option, ...]
    question: str

    def option(self, choice: str) -> Option | None:
        return next((o for o in self.options if o.choice == choice), None)


def offer(session: ScheduledSession, practice: Practice, now: datetime) -> Offer | None:
    """The refund choices for cancelling `session` now; None when nothing was paid."""
    if session.status == "cancelled" or session.payment_status not in PAID:
        return None
    if not session.payment_intent or not session.amount_cents:
        return None
    left = session.amount_cents - (session.refunded_cents or 0)
    if left <= 0:
        return None
    currency = session.currency
    fee = late_fee_cents(session, practice, now)
    options = [
        Option(FULL, left, f"Full refund ({money_from_cents(left, currency)})"),
        Option(NONE, 0, "No refund"),
    ]
    if fee is not None and 0 < fee < left:
        options.append(
            Option(
                LESS_FEE,
                left - fee,
                f"Refund less the late-cancellation fee ({money_from_cents(left - fee, currency)}"
                f"; {money_from_cents(fee, currency)} kept)",
            )
        )
    late = ""
    if fee is not None:
        hours = _hours(practice.cancel_notice)
        late = f" It is less than {hours} before the start, so the late-cancellation fee applies."
    question = (
        f"{initials(session.participant)} paid {money_from_cents(left, currency)} for this "
        f"session.{late} Refund it?"
    )
    return Offer(left, currency, fee, tuple(options), question)


def late_fee_cents(session: ScheduledSession, practice: Practice, now: datetime) -> int | None:
    """The practice's late-cancellation fee when cancelling now is late (and the session is
    charged in the practice's currency); None otherwise."""
    if practice.late_cancel_fee is None or session.currency.lower() != practice.currency:
        return None
    if now < session.start_at - practice.cancel_notice:
        return None
    return cents(practice.late_cancel_fee)


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    shown = f"{hours:g}"
    return f"{shown} hour" if shown == "1" else f"{shown} hours"


def needs_choice(offered: Offer) -> str:
    """The answer when a paid session is cancelled without saying what to refund."""
    words = ", ".join(o.label for o in offered.options)
    return f"{offered.question} Choose one: {words}. Nothing was changed."


def choose(session: ScheduledSession, option: Option) -> None:
    """Store the choice with the cancellation (in the caller's unit of work)."""
    session.refund_choice = option.choice
    session.refund_cents = option.refund_cents
    session.refund_state = PENDING if option.refund_cents > 0 else KEPT
    session.refund_error = None
    session.refund_ref = None


def choice_words(session: ScheduledSession) -> str:
    """What the clinician's answer adds once the choice is stored: ' Refunding $180.00.'"""
    amount = money_from_cents(session.refund_cents, session.currency)
    if session.refund_state == KEPT:
        return " No refund: the payment is kept."
    return f" Refunding {amount} to the participant's card."


def idempotency_key(session: ScheduledSession) -> str:
    """One refund per session, choice, amount and attempt: a double click or a retry of
    the same attempt makes one; Retry refund after a refusal is a new attempt."""
    base = (
        f"{session.public_id}:{session.payment_intent}:{session.refund_choice}:"
        f"{session.refund_cents}:{session.refund_attempt}"
    )
    return "sessionbot-refund-" + hashlib.sha256(base.encode()).hexdigest()[:32]


def made(session: ScheduledSession, refund_id: str, amount_cents: int) -> None:
    """Stripe made the refund: recorded, and the payment's state follows when no webhook
    has said it yet (a later `charge.refunded` of it then changes nothing)."""
    session.refund_state = REFUNDED
    session.refund_ref = refund_id
    session.refund_error = None
    if session.payment_status == "paid" and not session.refunded_cents:
        session.refunded_cents = amount_cents
        full = amount_cents >= (session.amount_cents or 0)
        session.payment_status = "refunded" if full else "partially_refunded"


def refused(session: ScheduledSession, reason: str) -> None:
    """Stripe refused: the session stays cancelled, the refund `failed` until retried."""
    session.refund_state = FAILED
    session.refund_error = reason[:200]


def outcome_words(session: ScheduledSession, practice: Practice) -> str:
    """Where the refund of a cancelled session stands, for the clinician."""
    amount = money_from_cents(session.refund_cents, session.currency)
    who = initials(session.participant)
    if session.refund_state == REFUNDED:
        return f"Refunded {amount} to {who}'s card{_fee_note(session)}."
    if session.refund_state == KEPT:
        return "No refund was made: the payment is kept."
    if session.refund_state == FAILED:
        return (
            f"The refund of {amount} to {who} did not go through: {session.refund_error}. "
            "The session is still cancelled; the refund shows as failed on your dashboard "
            "with Retry refund (or `sessionbot cancel ID --retry-refund`)."
        )
    if session.refund_state == PENDING:
        return f"The refund of {amount} to {who} is being made."
    return ""


def _fee_note(session: ScheduledSession) -> str:
    if session.refund_choice != LESS_FEE or session.amount_cents is None:
        return ""
    kept = session.amount_cents - (session.refund_cents or 0)
    return f" ({money_from_cents(kept, session.currency)} kept as the late-cancellation fee)"


def participant_words(session: ScheduledSession) -> str | None:
    """The cancellation notice's line about the money; None for an unpaid session."""
    state = session.refund_state
    if state is None:
        return None
    paid = session.amount_cents or 0
    currency = session.currency
    back = money_from_cents(session.refund_cents, currency)
    total = money_from_cents(paid, currency)
    if state == KEPT:
        return f"Your payment of {total} was not refunded."
    if state == REFUNDED and session.refund_choice == LESS_FEE:
        kept = money_from_cents(paid - (session.refund_cents or 0), currency)
        return (
            f"{back} of your {total} payment has been refunded to the card you paid with; "
            f"the late-cancellation fee of {kept} was kept."
        )
    if state == REFUNDED:
        return f"Your payment of {total} has been refunded in full to the card you paid with."
    return f"A refund of {back} is being arranged; you will get a confirmation when it is made."


# Retry refund ----------------------------------------------------------------------------


def retry(
    s: Session, clinician: Clinician, public_id: str, practice: Practice, now: datetime
) -> tuple[ScheduledSession | None, str | None]:
    """Make a refused refund pending again, as a new attempt (a new idempotency key: Stripe
    answers a key it refused with the same refusal). Returns the session to settle, or
    None and why not. A second click while it is pending changes nothing."""
    session = session_rows.session_for_clinician(s, clinician.id, public_id, lock=True)
    if session is None:
        return None, "I couldn't find that session among yours."
    if session.refund_state == FAILED:
        session.refund_state = PENDING
        session.refund_error = None
        session.refund_attempt += 1
        return session, None
    if session.refund_state == PENDING:
        return session, None
    said = outcome_words(session, practice) or "That session has no refund to make."
    return None, said


@dataclass(frozen=True)
class RefundRow:
    """A cancelled paid session's refund as the dashboard shows it."""

    public_id: str
    start: datetime
    participant: str  # initials
    state: str
    text: str


def dashboard_rows(
    s: Session, clinician: Clinician, practice: Practice, now: datetime
) -> list[RefundRow]:
    """The refunds of the clinician's recent cancellations, failed ones first."""
    tz = practice.zone_of(clinician.tz)
    found = session_rows.cancelled_with_refund(s, clinician.id, since=now - SHOWN_FOR)
    found.sort(key=lambda x: (x.refund_state != FAILED, x.start_at))
    return [
        RefundRow(
            public_id=x.public_id,
            start=x.start_at,
            participant=initials(x.participant),
            state=x.refund_state or "",
            text=f"Cancelled {when(x.start_at, tz)} · {dashboard_state(x)}",
        )
        for x in found
    ]


def dashboard_state(session: ScheduledSession) -> str:
    amount = money_from_cents(session.refund_cents, session.currency)
    return {
        REFUNDED: f"refunded {amount}{_fee_note(session)}",
        KEPT: "no refund (payment kept)",
        PENDING: f"refund of {amount} being made",
        FAILED: f"refund failed: {session.refund_error}",
    }.get(session.refund_state or "", "")
