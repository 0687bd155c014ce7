"""Builders for the paid-cancellation tests: a practice with a late-cancellation fee, and
a session invited by e-mail and paid at the fake Stripe (real HTTP, the payments adapter)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from fake_stripe import FakeStripe
from outbox_kit import worker

from ground.session import SessionSpec
from integrations.providers import payments
from scheduling import booking, payments_in
from sessionbot.wiring import Parts
from store import clinician_rows, session_rows

PRACTICE = """
name = "Example Practice"
default_timezone = "America/New_York"
currency = "usd"
late_cancel_fee = "50.00"
cancel_notice_hours = 24

[[services]]
key = "initial"
name = "Initial consultation"
price = "180.00"
minutes = 60
"""


def paid_session(app: Parts, fake: FakeStripe, start: datetime, *, team: str) -> str:
    """A $180.00 session, invited by e-mail (the invitation sent), and paid at Stripe."""
    draft = SessionSpec.for_one(
        draft_id=uuid.uuid4().hex,
        start=start,
        duration_min=60,
        participant="Jane Doe",
        invite_channel="email",
        email="jane.doe@example.com",
        phone=None,
        participant_tz="America/Los_Angeles",
        documents=None,
        service="initial",
        amount=Decimal("180.00"),
    )
    now = datetime.now(UTC)
    with app.store.unit() as s:
        who = clinician_rows.get_clinician(s, team, "U_CLIN1", tz="America/New_York")
        session, _ = booking.book(s, who, draft, app.practice, now)
        public_id = session.public_id
    worker(app).run_once()  # the invitation goes out
    stripe = payments(app.settings)
    assert stripe is not None
    checkout = stripe.create_checkout(
        reference=public_id,
        description="Initial consultation",
        amount_cents=18000,
        currency="usd",
        success_url="https://sessions.example.test/ok",
        cancel_url="https://sessions.example.test/no",
        idempotency_key=f"test-{public_id}",
    )
    fake.pay(checkout.id)
    with app.store.unit() as s:
        row = session_rows.session_by_public_id(s, public_id, lock=True)
        assert row is not None
        assert payments_in.record_payment(
            s, row, stripe.retrieve_checkout(checkout.id), now, practice=app.practice
        )
    return public_id
