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

from actions import booking
from actions.formatting import initials, money, when
from integrations.payments import Checkout
from sessionbot.practice import Document, DocumentPackage, Practice
from store.crypto import keyring
from store.models import ScheduledSession

log = logging.getLogger("sessionbot.web")


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
        payment_pending=session.payment_status == "pending",
        too_early=now < opens_at,
        gone=session.status == "cancelled" or now > closes_at,
    )


def csrf_token(session: ScheduledSession) -> str:
    """The hidden form field of this session's page: a keyed HMAC of its link token."""
    return keyring().blind_index(f"csrf:{session.token_hash}")


def csrf_ok(session: ScheduledSession, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(csrf_token(session), str(given))


def checkout_idempotency_key(session: ScheduledSession, replacing: str | None = None) -> str:
    """Same session, same version, same amount: the same key, so a double click makes one."""
    base = f"{session.public_id}:{session.sequence}:{session.amount_cents}:{replacing or ''}"
    return "sessionbot-checkout-" + hashlib.sha256(base.encode()).hexdigest()[:32]


def record_payment(
    s: Session, session: ScheduledSession, checkout: Checkout, now: datetime
) -> bool:
    """Mark the session paid once (webhook or return from Checkout) and tell the clinician."""
    if session.payment_status == "paid":
        return False
    if not checkout.paid or checkout.reference != session.public_id:
        return False
    if session.amount_cents is not None and checkout.amount_cents != session.amount_cents:
        log.warning("payment amount differs from session %s; not recorded", session.public_id)
        return False
    session.payment_status = "paid"
    session.paid_at = now
    session.payment_ref = checkout.id
    start = when(session.start_at, session.clinician.tz or "UTC")
    booking.notify_clinician(
        s,
        session.clinician_id,
        f"Payment received: {money((session.amount_cents or 0) / 100, session.currency)} "
        f"from {initials(session.participant)} for the session on {start}.",
        dedupe_key=f"{session.public_id}:paid",
        now=now,
        session_id=session.id,
    )
    log.info("session %s paid (checkout %s)", session.public_id, checkout.id)
    return True
