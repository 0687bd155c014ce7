"""What the participant page may show and allow, as pure functions of the page's session
(scheduling/page.py) and now.

The one place that decides when Enter Meeting opens: inside the practice's join window,
after payment where it is required, after the required documents are confirmed.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ground.practice import Document, DocumentPackage, Practice
from scheduling.page import PageSession
from scheduling.payments_in import UNPAID
from store.crypto import keyring

__all__ = ["UNPAID", "Access", "access", "checkout_idempotency_key", "csrf_ok", "csrf_token"]


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


def access(session: PageSession, practice: Practice, now: datetime) -> Access:
    opens_at, closes_at = session.opens_at, session.closes_at
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


def csrf_token(session: PageSession) -> str:
    """The hidden form field of this session's page: a keyed HMAC of its link token."""
    return keyring().blind_index(f"csrf:{session.token_hash}")


def csrf_ok(session: PageSession, given: str | None) -> bool:
    """The page's field under any configured key (a page opened before a key rotation)."""
    if not given:
        return False
    wanted = keyring().blind_indexes(f"csrf:{session.token_hash}")
    return any(hmac.compare_digest(w, str(given)) for w in wanted)


class Versioned(Protocol):
    """A session (its row, or the page's view of it) at one version and amount."""

    @property
    def public_id(self) -> str: ...
    @property
    def sequence(self) -> int: ...
    @property
    def amount_cents(self) -> int | None: ...


def checkout_idempotency_key(session: Versioned, replacing: str | None = None) -> str:
    """Same session, same version, same amount: the same key, so a double click makes one."""
    base = f"{session.public_id}:{session.sequence}:{session.amount_cents}:{replacing or ''}"
    return "sessionbot-checkout-" + hashlib.sha256(base.encode()).hexdigest()[:32]
