"""What the participant page may show and allow, as pure functions of a session and now.

The one place that decides when Enter Meeting opens: inside the practice's join window,
after payment where it is required, after the required documents are confirmed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ground.formatting import initials, money_from_cents, when
from ground.practice import Document, DocumentPackage, Practice
from integrations.payments import Checkout, Refund
from scheduling import booking
from store.crypto import keyring
from store.models import ScheduledSession

log = logging.getLogger("sessionbot.web")

# A session that requires payment and has none standing: Enter Meeting stays closed and
# Pay Now is offered (again, after a failed or fully refunded payment).
UNPAID = ("pending", "payment_failed", "refunded")


@dataclass(frozen=True)
class Access:
    """The session's state as the participant sees it at one moment."""

    opens_at: datetime
    closes_at: datetime
    package: DocumentPackage | None
    documents_pending: bool
    payment_pending: bool
    too_early: bool
    gone: bool

    @property
    def required_documents(self) -> tuple[Document, ...]:
        return tuple(d for d in self.package.items if d.required) if self.package else ()

    @property
    def can_enter(self) -> bool:
        return not (self.gone or self.too_early or self.payment_pending or self.documents_pending)


def access(session: ScheduledSession, practice: Practice, now: datetime) -> Access:
    opens_at, closes_at = booking.join_window(session, practice)
    package = practice.package(session.documents)
    needs_documents = bool(package and any(d.required for d in package.items))
    return Access(
        opens_at=opens_at,
        closes_at=closes_at,
        package=package,
        documents_pending=needs_documents and session.documents_confirmed_at is None,
        payment_pending=session.payment_status in UNPAID,
        too_early=now < opens_at,
        gone=session.status == "cancelled" or now > closes_at,
    )


def csrf_token(session: ScheduledSession) -> str:
    """The hidden form field of this session's page: a keyed HMAC of its link token."""
    return keyring().blind_index(f"csrf:{session.token_hash}")


def csrf_ok(session: ScheduledSession, given: str | None) -> bool:
    """The page's field under any configured key (a page opened before a key rotation)."""
    if not given:
        return False
    wanted = keyring().blind_indexes(f"csrf:{session.token_hash}")
    return any(hmac.compare_digest(w, str(given)) for w in wanted)


def checkout_idempotency_key(session: ScheduledSession, replacing: str | None = None) -> str:
    """Same session, same version, same amount: the same key, so a double click makes one."""
    base = f"{session.public_id}:{session.sequence}:{session.amount_cents}:{replacing or ''}"
    return "sessionbot-checkout-" + hashlib.sha256(base.encode()).hexdigest()[:32]


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
    _tell(s, session, text, key=f"refund:{refund.payment_intent}:{refund.refunded_cents}", now=now)
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
