"""What Stripe tells us after Checkout: payments only for what is owed, refunds, expired and
failed Checkouts, and signed events that are not events. Stripe's signature scheme and
payload shapes, from the local fake Stripe; the ASGI app in process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from conftest import at
from fake_stripe import FakeStripe, sign
from page_support import Booked, book, page_parts, session_row
from starlette.testclient import TestClient

from sessionbot.asgi import create_app
from sessionbot.cli import SessionRecord, session_record
from sessionbot.wiring import Parts
from store import outbox_rows, session_rows
from store.db import Store
from store.models import ProcessedEvent

PUBLIC = "https://sessions.example.test"
START = at("2026-11-25 15:00")


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with FakeStripe() as running:
        yield running


@pytest.fixture
def app_parts(tmp_path: Path, store: Store, fake: FakeStripe) -> Parts:
    return page_parts(tmp_path, store, fake, PUBLIC)


@pytest.fixture
def client(app_parts: Parts) -> Iterator[TestClient]:
    with TestClient(create_app(app_parts), base_url=PUBLIC, follow_redirects=False) as c:
        yield c


@pytest.fixture
def booked(app_parts: Parts, clock) -> Booked:
    return book(app_parts, START)


def post(client: TestClient, fake: FakeStripe, event: dict) -> str:
    body, headers = fake.signed(event)
    answer = client.post("/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.text


def pay_now(client: TestClient, booked: Booked) -> str:
    """Click Pay Now on the page; returns where it leads (the Checkout page)."""
    page = client.get(booked.path)
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert token, "no Pay Now form on the page"
    answer = client.post(f"{booked.path}/pay", data={"csrf": token.group(1)})
    assert answer.status_code == 303
    return answer.headers["location"]


def paid(client: TestClient, fake: FakeStripe, booked: Booked) -> str:
    """Pay Now, pay at Stripe, Stripe's webhook: returns the Checkout's id."""
    cs_id = pay_now(client, booked).rsplit("/", 1)[1]
    session = fake.pay(cs_id)
    assert post(client, fake, fake.event("checkout.session.completed", session)) == "recorded"
    return cs_id


def notices(parts: Parts, public_id: str) -> list[str]:
    """The clinician's notices of the session's money (the waiting-room DM left out)."""
    with parts.store.unit() as s:
        row = session_rows.session_by_public_id(s, public_id)
        assert row is not None
        return [
            m.payload or ""
            for m in outbox_rows.outbox_for_session(s, row.id)
            if m.kind == "clinician_notice" and " is waiting: " not in (m.payload or "")
        ]


def record(parts: Parts, public_id: str) -> SessionRecord:
    with parts.store.unit() as s:
        row = session_rows.session_by_public_id(s, public_id)
        assert row is not None
        return session_record(row, parts.practice, PUBLIC)


def can_enter(client: TestClient, booked: Booked, clock: time_machine.Traveller) -> bool:
    clock.move_to(START - timedelta(minutes=5))
    try:
        return client.get(f"{booked.path}/enter").headers["location"].startswith("https://meet.")
    finally:
        clock.move_to(at("2026-11-24 10:00"))


def confirm_documents(client: TestClient, booked: Booked) -> None:
    page = client.get(booked.path).text
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found is not None
    token = found.group(1)
    client.post(f"{booked.path}/documents", data={"csrf": token, "confirm": "yes"})


# Only what is owed ---------------------------------------------------------------------


def test_a_payment_for_a_session_that_requires_none_is_not_recorded(
    client: TestClient, fake: FakeStripe, app_parts: Parts, clock
) -> None:
    free = book(app_parts, START, service=None, amount=None)
    forged_target = {
        "id": "cs_test_elsewhere",
        "object": "checkout.session",
        "status": "complete",
        "payment_status": "paid",
        "amount_total": 0,
        "currency": "usd",
        "client_reference_id": free.public_id,
        "payment_intent": "pi_test_elsewhere",
        "metadata": {},
    }
    assert post(client, fake, fake.event("checkout.session.completed", forged_target)) == "ok"
    row = session_row(app_parts, free.public_id)
    assert row.payment_status == "not_required" and row.paid_at is None
    assert notices(app_parts, free.public_id) == []  # no "Payment received: $0.00"


@pytest.mark.parametrize(("amount", "currency"), [(100, "usd"), (18000, "eur")])
def test_a_payment_of_another_amount_or_currency_is_not_recorded(
    client: TestClient, fake: FakeStripe, app_parts: Parts, booked: Booked, amount, currency
) -> None:
    cs_id = pay_now(client, booked).rsplit("/", 1)[1]
    session = fake.pay(cs_id) | {"amount_total": amount, "currency": currency}
    assert post(client, fake, fake.event("checkout.session.completed", session)) == "ok"
    assert session_row(app_parts, booked.public_id).payment_status == "pending"
    assert notices(app_parts, booked.public_id) == []


# Refunds -------------------------------------------------------------------------------


def test_a_full_refund_leaves_the_session_unpaid_and_the_clinician_is_told(
    client: TestClient,
    fake: FakeStripe,
    app_parts: Parts,
    booked: Booked,
    clock: time_machine.Traveller,
) -> None:
    confirm_documents(client, booked)
    cs_id = paid(client, fake, booked)
    assert can_enter(client, booked, clock)
    refund = fake.refund(cs_id)
    assert refund["data"]["object"]["refunded"] is True
    assert post(client, fake, refund) == "recorded"
    assert post(client, fake, refund) == "duplicate"

    row = record(app_parts, booked.public_id)
    assert row["payment_status"] == "refunded" and row["amount_refunded"] == "180.00"
    told = notices(app_parts, booked.public_id)
    assert told[-1].startswith("Refunded: $180.00 to J.D. for the session on Wed, Nov 25")
    assert "Enter Meeting is closed until they pay again" in told[-1]
    assert not can_enter(client, booked, clock)
    page = client.get(booked.path).text
    assert "Your payment of $180.00 was refunded to you" in page
    assert "Pay Now $180.00" in page and "Opens after payment" in page


def test_a_partial_refund_keeps_enter_meeting_open_and_a_later_one_completes_it(
    client: TestClient,
    fake: FakeStripe,
    app_parts: Parts,
    booked: Booked,
    clock: time_machine.Traveller,
) -> None:
    confirm_documents(client, booked)
    cs_id = paid(client, fake, booked)
    first = fake.refund(cs_id, 5000)
    assert post(client, fake, first) == "recorded"
    row = record(app_parts, booked.public_id)
    assert row["payment_status"] == "partially_refunded" and row["amount_refunded"] == "50.00"
    assert notices(app_parts, booked.public_id)[-1].startswith(
        "Partly refunded: $50.00 of $180.00 to J.D."
    )
    assert can_enter(client, booked, clock)
    assert "$50.00 of it was refunded to you" in client.get(booked.path).text

    rest = fake.refund(cs_id)
    # Stripe may deliver out of order: the earlier, smaller total again under a new id.
    late = fake.event("charge.refunded", first["data"]["object"])
    assert post(client, fake, rest) == "recorded"
    assert post(client, fake, late) == "ok"
    row = record(app_parts, booked.public_id)
    assert row["payment_status"] == "refunded" and row["amount_refunded"] == "180.00"
    told = notices(app_parts, booked.public_id)
    assert sum(n.startswith(("Refunded", "Partly refunded")) for n in told) == 2
    assert not can_enter(client, booked, clock)


def test_a_refund_after_the_session_was_cancelled_is_told_as_such(
    client: TestClient, fake: FakeStripe, app_parts: Parts, booked: Booked
) -> None:
    from scheduling import booking

    cs_id = paid(client, fake, booked)
    with app_parts.store.unit() as s:
        row = session_rows.session_by_public_id(s, booked.public_id, lock=True)
        assert row is not None
        booking.cancel(s, row, app_parts.practice, at("2026-11-24 10:00"))
    assert post(client, fake, fake.refund(cs_id)) == "recorded"
    assert notices(app_parts, booked.public_id)[-1] == (
        "Refunded: $180.00 to J.D. for the cancelled session on Wed, Nov 25, 2026, "
        "3:00 PM EST, the whole payment."
    )
    assert record(app_parts, booked.public_id)["payment_status"] == "refunded"


def test_a_refund_of_a_payment_we_do_not_know_changes_nothing(
    client: TestClient, fake: FakeStripe, app_parts: Parts, booked: Booked
) -> None:
    cs_id = paid(client, fake, booked)
    other = fake.refund(cs_id)["data"]["object"] | {"payment_intent": "pi_test_someone_else"}
    assert post(client, fake, fake.event("charge.refunded", other)) == "unknown payment"
    assert session_row(app_parts, booked.public_id).payment_status == "paid"


def test_after_a_full_refund_pay_now_makes_a_new_checkout_and_the_old_one_is_no_payment(
    client: TestClient, fake: FakeStripe, app_parts: Parts, booked: Booked
) -> None:
    old = paid(client, fake, booked)
    post(client, fake, fake.refund(old))
    replayed = fake.event("checkout.session.completed", fake.sessions[old])
    assert post(client, fake, replayed) == "ok"  # the refunded payment is not paid again
    assert session_row(app_parts, booked.public_id).payment_status == "refunded"

    new = pay_now(client, booked).rsplit("/", 1)[1]
    assert new != old
    keys = [r.headers["Idempotency-Key"] for r in fake.created()]
    assert len(set(keys)) == 2
    assert post(client, fake, fake.event("checkout.session.completed", fake.pay(new))) == (
        "recorded"
    )
    row = record(app_parts, booked.public_id)
    assert row["payment_status"] == "paid" and row["amount_refunded"] is None


def test_coming_back_from_a_refunded_checkout_says_refunded_not_received_or_processing(
    client: TestClient, fake: FakeStripe, app_parts: Parts, booked: Booked
) -> None:
    old = paid(client, fake, booked)
    assert client.get(f"{booked.path}/paid").headers["location"].endswith("?m=paid")
    post(client, fake, fake.refund(old))
    back = client.get(f"{booked.path}/paid").headers["location"]  # a reload, an old tab
    assert "?m=" not in back
    page = client.get(back).text
    assert "Your payment of $180.00 was refunded to you" in page
    assert "Payment received" not in page and "being processed" not in page
    assert session_row(app_parts, booked.public_id).payment_status == "refunded"


# Expired and failed Checkouts ----------------------------------------------------------


def test_an_expired_checkout_is_replaced_on_the_next_pay_now(
    client: TestClient, fake: FakeStripe, app_parts: Parts, booked: Booked
) -> None:
    first = pay_now(client, booked)
    cs_first = first.rsplit("/", 1)[1]
    assert post(client, fake, fake.expire(cs_first)) == "ok"
    second = pay_now(client, booked)
    assert second != first and second.startswith(f"{fake.url}/pay/cs_test_")
    assert fake.sessions[second.rsplit("/", 1)[1]]["status"] == "open"
    assert len({r.headers["Idempotency-Key"] for r in fake.created()}) == 2
    assert pay_now(client, booked) == second  # the open one is reused
    assert session_row(app_parts, booked.public_id).payment_ref == second.rsplit("/", 1)[1]


def test_a_delayed_payment_that_fails_is_shown_and_told_and_can_be_paid_again(
    client: TestClient, fake: FakeStripe, app_parts: Parts, booked: Booked
) -> None:
    cs_id = pay_now(client, booked).rsplit("/", 1)[1]
    failed = fake.fail_async(cs_id)
    assert post(client, fake, failed) == "recorded"
    assert post(client, fake, failed) == "duplicate"
    assert record(app_parts, booked.public_id)["payment_status"] == "payment_failed"
    (told,) = notices(app_parts, booked.public_id)
    assert told.startswith("The payment of $180.00 from J.D. for the session on Wed, Nov 25")
    assert "did not go through" in told
    page = client.get(booked.path).text
    assert "Your payment did not go through" in page and "Pay Now $180.00" in page
    again = pay_now(client, booked).rsplit("/", 1)[1]
    assert again != cs_id
    assert post(client, fake, fake.event("checkout.session.completed", fake.pay(again))) == (
        "recorded"
    )
    assert session_row(app_parts, booked.public_id).payment_status == "paid"


# Signed, but not an event --------------------------------------------------------------


def malformed(fake: FakeStripe) -> list[bytes]:
    charge_without_amount = {
        "id": "evt_x",
        "object": "event",
        "type": "charge.refunded",
        "data": {"object": {"id": "ch_x", "object": "charge", "amount": "lots"}},
    }
    return [
        b"{}",
        b"[]",
        b"null",
        b"not json",
        json.dumps({"id": "evt_x", "object": "event", "type": "charge.refunded"}).encode(),
        json.dumps({"id": "evt_x", "object": "event", "type": "x", "data": 5}).encode(),
        json.dumps({"id": "evt_x", "object": "event", "data": {"object": "cs"}}).encode(),
        json.dumps(charge_without_amount).encode(),
        json.dumps(
            {"id": 7, "object": "event", "type": "x", "data": {"object": {"object": "charge"}}}
        ).encode(),
        b'{"id": "evt_\xff", "object": "event"}',  # not UTF-8
        *(
            json.dumps(
                {
                    "id": "evt_x",
                    "object": "event",
                    "type": "checkout.session.completed",
                    "data": {"object": {"id": "cs_x", "object": "checkout.session", **wrong}},
                }
            ).encode()
            for wrong in (
                {"client_reference_id": 5},
                {"currency": 840},
                {"metadata": "session"},
                {"amount_total": 18000.0},
                {"payment_intent": ["pi_x"]},
            )
        ),
    ]


def test_a_signed_body_that_is_not_a_stripe_event_gets_400_and_stores_nothing(
    client: TestClient, fake: FakeStripe, app_parts: Parts, booked: Booked
) -> None:
    for body in malformed(fake):
        answer = client.post(
            "/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": sign(body, fake.webhook_secret)},
        )
        assert answer.status_code == 400, body
        assert answer.text in ("not a Stripe event", "bad signature")
    with app_parts.store.unit() as s:
        assert s.query(ProcessedEvent).count() == 0
    assert notices(app_parts, booked.public_id) == []
