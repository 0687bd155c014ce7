"""What Stripe tells of a session's payment, recorded: a paid Checkout (by its webhook or
the participant's return to the page), a delayed payment that failed, a refund.

`Checkout` and `Refund` are what the payments adapter reports (integrations/payments.py),
read here through their fields. Every function works in the caller's unit; Stripe's
event ids make each event count once (`claim_rows.first_time`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from ground.formatting import initials, money_from_cents, when
from ground.practice import Practice
from scheduling import booking
from store import audit, claim_rows, session_rows
from store.models import ScheduledSession

log = logging.getLogger("sessionbot.payments")

# A session that requires payment and has none standing: Enter Meeting stays closed and
# Pay Now is offered (again, after a failed or fully refunded payment).
UNPAID = ("pending", "payment_failed", "refunded")


class Checkout(Protocol):
    """A hosted payment page as the provider reports it (integrations.payments.Checkout)."""

    @property
    def id(self) -> str: ...
    @property
    def paid(self) -> bool: ...
    @property
    def amount_cents(self) -> int | None: ...
    @property
    def currency(self) -> str | None: ...
    @property
    def reference(self) -> str | None: ...
    @property
    def payment_intent(self) -> str | None: ...


class Refund(Protocol):
    """A refunded charge as the provider reports it (integrations.payments.Refund)."""

    @property
    def payment_intent(self) -> str | None: ...
    @property
    def amount_cents(self) -> int: ...
    @property
    def refunded_cents(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def full(self) -> bool: ...


def record_payment(
    s: Session, session: ScheduledSession, checkout: Checkout, now: datetime, *, practice: Practice
) -> bool:
    """Mark the session paid once (webhook or return from Checkout) and tell the clinician.

    Only a session that requires payment and has none standing, and only a paid Checkout
    of this session for its amount and currency; after a full refund, only a new Checkout
    (the refunded one, replayed, is not a payment).
    """
    if session.amount_cents is None or session.payment_status not in UNPAID:
        return False
    if not checkout.paid or checkout.reference != session.public_id:
        return False
    if checkout.amount_cents != session.amount_cents or (
        (checkout.currency or "").lower() != session.currency.lower()
    ):
        log.warning("payment amount differs from session %s; not recorded", session.public_id)
        return False
    if session.payment_status == "refunded" and (
        checkout.id != session.payment_ref or checkout.payment_intent == session.payment_intent
    ):
        return False
    session.payment_status = "paid"
    session.paid_at = now
    session.payment_ref = checkout.id
    session.payment_intent = checkout.payment_intent
    session.refunded_cents = None
    audit.record(
        s, actor=audit.PARTICIPANT, action="payment_received", session_id=session.id,
        fields=["payment_status"],
    )  # fmt: skip
    _tell(
        s,
        session,
        f"Payment received: {_money(session, session.amount_cents)} "
        f"from {initials(session.participant)} for the session on {_start(session, practice)}.",
        key=f"paid:{checkout.id}",
        now=now,
    )
    log.info("session %s paid (checkout %s)", session.public_id, checkout.id)
    return True


def record_payment_failed(
    s: Session, session: ScheduledSession, checkout: Checkout, now: datetime, *, practice: Practice
) -> bool:
    """A delayed payment method (a bank debit) failed after Checkout: unpaid, and told."""
    if session.payment_status != "pending" or checkout.reference != session.public_id:
        return False
    if session.payment_ref not in (None, checkout.id):
        return False  # an older Checkout than the one the page now offers
    session.payment_status = "payment_failed"
    session.payment_ref = checkout.id
    audit.record(
        s, actor=audit.SYSTEM, action="payment_failed", session_id=session.id,
        fields=["payment_status"],
    )  # fmt: skip
    _tell(
        s,
        session,
        f"The payment of {_money(session, session.amount_cents)} from "
        f"{initials(session.participant)} for the session on {_start(session, practice)} did not "
        "go through (their bank declined it). Their session page asks them to pay again; "
        "Enter Meeting stays closed until they do.",
        key=f"payment_failed:{checkout.id}",
        now=now,
    )
    log.info("session %s: delayed payment failed (checkout %s)", session.public_id, checkout.id)
    return True


def record_refund(
    s: Session, session: ScheduledSession, refund: Refund, now: datetime, *, practice: Practice
) -> bool:
    """A refund of the session's payment, full or partial; told once per amount.

    Stripe's `amount_refunded` is the total so far, so a late event of an earlier, smaller
    refund changes nothing. A full refund leaves the session unpaid again.
    """
    if session.payment_intent is None or refund.payment_intent != session.payment_intent:
        return False
    if session.payment_status not in ("paid", "partially_refunded"):
        return False
    if refund.currency.lower() != session.currency.lower():
        log.warning("refund currency differs from session %s; not recorded", session.public_id)
        return False
    before = session.refunded_cents or 0
    if refund.refunded_cents <= before:
        return False
    paid = session.amount_cents or refund.amount_cents
    full = refund.full or refund.refunded_cents >= paid
    session.refunded_cents = refund.refunded_cents
    session.payment_status = "refunded" if full else "partially_refunded"
    audit.record(
        s, actor=audit.SYSTEM, action="refund", session_id=session.id,
        fields=["payment_status", "refunded_cents"],
    )  # fmt: skip
    who = initials(session.participant)
    amount = _money(session, refund.refunded_cents)
    if session.status == "cancelled":  # the usual refund: nothing about entering to say
        what = f"the cancelled session on {_start(session, practice)}"
        after = ""
    else:
        what = f"the session on {_start(session, practice)}"
        after = (
            " The session requires payment, so Enter Meeting is closed until they pay again."
            if full
            else " Enter Meeting stays open."
        )
    text = (
        f"Refunded: {amount} to {who} for {what}, the whole payment.{after}"
        if full
        else f"Partly refunded: {amount} of {_money(session, paid)} to {who} for {what}.{after}"
    )
    # A refund the clinician chose when cancelling is told by the one who made it
    # (sessionbot/refunds.py); this event only confirms it.
    if not (session.status == "cancelled" and session.refund_state in ("pending", "refunded")):
        key = f"refund:{refund.payment_intent}:{refund.refunded_cents}"
        _tell(s, session, text, key=key, now=now)
    log.info("session %s: %s", session.public_id, session.payment_status)
    return True


def _money(session: ScheduledSession, cents: int | None) -> str:
    return money_from_cents(cents, session.currency)


def _start(session: ScheduledSession, practice: Practice) -> str:
    return when(session.start_at, practice.zone_of(session.clinician.tz))


def _tell(s: Session, session: ScheduledSession, text: str, *, key: str, now: datetime) -> None:
    booking.notify_clinician(
        s,
        session.clinician_id,
        text,
        dedupe_key=f"{session.public_id}:{key}",
        now=now,
        session_id=session.id,
    )


Record = Callable[..., bool]

# What a Checkout Session's event does to its session (the rest are answered "ignored").
CHECKOUT_EVENTS: dict[str, Record] = {
    "checkout.session.completed": record_payment,
    "checkout.session.async_payment_succeeded": record_payment,
    "checkout.session.async_payment_failed": record_payment_failed,
}


def checkout_event(
    s: Session, event_id: str, kind: str, checkout: Checkout, practice: Practice, now: datetime
) -> str:
    """One verified Checkout event, once however often it arrives; the word says what it did."""
    record = CHECKOUT_EVENTS.get(kind)
    if record is None:
        return "ignored"
    if not claim_rows.first_time(s, f"stripe:{event_id}"):
        return "duplicate"
    session = session_rows.session_by_public_id(s, checkout.reference or "", lock=True)
    if session is None:
        return "unknown session"
    return "recorded" if record(s, session, checkout, now, practice=practice) else "ok"


def refund_event(
    s: Session, event_id: str, refund: Refund, practice: Practice, now: datetime
) -> str:
    """One verified `charge.refunded` event of a payment we know (its intent), once."""
    if not claim_rows.first_time(s, f"stripe:{event_id}"):
        return "duplicate"
    session = session_rows.session_by_payment_intent(s, refund.payment_intent or "", lock=True)
    if session is None:
        return "unknown payment"
    return "recorded" if record_refund(s, session, refund, now, practice=practice) else "ok"


def record_return(
    s: Session, public_id: str, checkout: Checkout, practice: Practice, now: datetime
) -> bool:
    """The participant is back from a paid Checkout before its webhook: recorded now."""
    session = session_rows.session_by_public_id(s, public_id, lock=True)
    return session is not None and record_payment(s, session, checkout, now, practice=practice)
