"""The participant page, payment webhook and Enter Meeting over HTTP (the ASGI app in
process, the fake Stripe on loopback), on each store backend where it matters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
import pytest
import time_machine
from conftest import at, make_settings
from fake_stripe import FakeStripe
from page_support import VIDEO_URL, Booked, book, page_parts, session_row
from serve_process import serve_process
from starlette.testclient import TestClient

from integrations.video import JitsiRooms
from scheduling import booking
from sessionbot.asgi import create_app
from sessionbot.wiring import Parts, build
from store import clinician_rows, outbox_rows, session_rows
from store.db import Store
from store.models import OutboxMessage, ProcessedEvent

PUBLIC = "https://sessions.example.test"
START = at("2026-11-25 15:00")  # 3 PM Eastern, the day after the frozen clock
SECRET = "jitsi-app-secret-of-at-least-32-bytes"


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


def csrf(client: TestClient, booked: Booked) -> str:
    page = client.get(booked.path)
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert match, "the page has no form token"
    return match.group(1)


def pay(client: TestClient, booked: Booked, token: str) -> httpx.Response:
    return client.post(f"{booked.path}/pay", data={"csrf": token})


def notices(parts: Parts, public_id: str) -> list[OutboxMessage]:
    with parts.store.unit() as s:
        row = session_rows.session_by_public_id(s, public_id)
        assert row is not None
        return [
            m for m in outbox_rows.outbox_for_session(s, row.id) if m.kind == "clinician_notice"
        ]


def processed(parts: Parts) -> int:
    with parts.store.unit() as s:
        return s.query(ProcessedEvent).count()


def test_page_shows_the_time_in_the_participants_zone(client: TestClient, booked: Booked) -> None:
    page = client.get(booked.path)
    assert page.status_code == 200
    assert "Wed, Nov 25, 2026, 12:00 PM PST" in page.text
    assert "Pacific (America/Los_Angeles)" in page.text
    assert "Your session with Dr. Rivera" in page.text
    assert "Example Practice" in page.text
    assert 'href="https://forms.example.org/intake"' in page.text
    assert "Pay Now $180.00" in page.text
    assert '<html lang="en">' in page.text
    assert "Jane" not in page.text  # the page never repeats the participant's name


def test_page_sets_no_store_no_referrer_and_a_strict_policy(
    client: TestClient, booked: Booked
) -> None:
    headers = client.get(booked.path).headers
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # no scripts at all: default-src 'none' covers them


def test_a_guessed_token_is_not_found_without_detail(client: TestClient, booked: Booked) -> None:
    for path in ("/j/not-a-real-token", "/j/not-a-real-token/enter", "/enter/guess"):
        response = client.get(path)
        assert response.status_code == 404
        assert "couldn't find this link" in response.text
        assert response.headers["cache-control"] == "no-store"


def test_a_cancelled_sessions_link_is_no_longer_available(
    client: TestClient, app_parts: Parts, booked: Booked
) -> None:
    token = csrf(client, booked)
    with app_parts.store.unit() as s:
        row = session_rows.session_by_public_id(s, booked.public_id)
        assert row is not None
        booking.cancel(s, row, app_parts.practice, at("2026-11-24 10:00"))
    page = client.get(booked.path)
    assert page.status_code == 410
    assert "no longer available" in page.text
    assert client.get(f"{booked.path}/enter").status_code == 410
    assert client.get(f"/enter/{booked.host_token}").status_code == 410
    assert pay(client, booked, token).status_code == 410


def test_the_link_closes_with_the_join_window(
    client: TestClient, booked: Booked, clock: time_machine.Traveller
) -> None:
    clock.move_to(START + timedelta(minutes=60 + 29))  # a 60-minute session, +30 min
    assert client.get(booked.path).status_code == 200
    clock.move_to(START + timedelta(minutes=60 + 31))
    assert client.get(booked.path).status_code == 410


def test_forms_without_the_page_token_or_from_elsewhere_are_refused(
    client: TestClient, app_parts: Parts, booked: Booked
) -> None:
    token = csrf(client, booked)
    assert client.post(f"{booked.path}/rsvp", data={"answer": "yes"}).status_code == 403
    assert (
        client.post(f"{booked.path}/rsvp", data={"answer": "yes", "csrf": "0" * 64}).status_code
        == 403
    )
    foreign = client.post(
        f"{booked.path}/rsvp",
        data={"answer": "yes", "csrf": token},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert session_row(app_parts, booked.public_id).rsvp is None
    ok = client.post(
        f"{booked.path}/rsvp", data={"answer": "yes", "csrf": token}, headers={"Origin": "null"}
    )
    assert ok.status_code == 303
    assert session_row(app_parts, booked.public_id).rsvp == "yes"


def test_the_emails_rsvp_link_asks_before_it_records(
    client: TestClient, app_parts: Parts, booked: Booked
) -> None:
    form = client.get(f"{booked.path}/rsvp?answer=no")
    assert form.status_code == 200
    assert "No, I can&#39;t attend" in form.text or "No, I can't attend" in form.text
    assert session_row(app_parts, booked.public_id).rsvp is None
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
    assert found is not None
    token = found.group(1)
    client.post(f"{booked.path}/rsvp", data={"answer": "no", "csrf": token})
    assert session_row(app_parts, booked.public_id).rsvp == "no"
    assert "Your answer: <strong>No</strong>" in client.get(booked.path).text
    with app_parts.store.unit() as s:
        session = session_rows.session_by_public_id(s, booked.public_id)
        assert session is not None
        notices = [
            m.payload
            for m in outbox_rows.outbox_for_session(s, session.id)
            if m.kind == "clinician_notice"
        ]
    assert len(notices) == 1 and notices[0] is not None and "can't make it" in notices[0]


def test_double_click_on_pay_now_makes_one_checkout_session(
    client: TestClient, fake: FakeStripe, app_parts: Parts, booked: Booked
) -> None:
    token = csrf(client, booked)
    first, second = pay(client, booked, token), pay(client, booked, token)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert first.headers["location"].startswith(f"{fake.url}/pay/cs_test_")
    assert len(fake.sessions) == 1
    created = fake.created()
    assert 1 <= len(created) <= 2
    assert len({r.headers["Idempotency-Key"] for r in created}) == 1
    request = created[0].form
    assert request["line_items[0][price_data][unit_amount]"] == "18000"
    assert request["line_items[0][price_data][currency]"] == "usd"
    assert request["line_items[0][price_data][product_data][name]"].startswith(
        "Initial consultation"
    )
    assert request["client_reference_id"] == booked.public_id
    assert request["success_url"] == f"{PUBLIC}{booked.path}/paid"
    assert session_row(app_parts, booked.public_id).payment_ref == next(iter(fake.sessions))


def test_two_clicks_before_the_first_is_remembered_share_one_key(
    app_parts: Parts, fake: FakeStripe, booked: Booked
) -> None:
    """Two processes racing: each creates, Stripe's idempotency makes them one session."""
    from integrations.providers import payments as make_payments
    from web.access import checkout_idempotency_key

    payments = make_payments(app_parts.settings)
    assert payments is not None
    row = session_row(app_parts, booked.public_id)
    made = [
        payments.create_checkout(
            reference=row.public_id,
            description="Initial consultation",
            amount_cents=18000,
            currency="usd",
            success_url=f"{PUBLIC}/ok",
            cancel_url=f"{PUBLIC}/no",
            idempotency_key=checkout_idempotency_key(row),
        )
        for _ in range(2)
    ]
    assert made[0].id == made[1].id
    assert len(fake.sessions) == 1


def test_a_forged_webhook_is_refused_and_nothing_is_recorded(
    client: TestClient, fake: FakeStripe, app_parts: Parts, booked: Booked
) -> None:
    pay(client, booked, csrf(client, booked))
    (cs_id,) = fake.sessions
    fake.sessions[cs_id].update(status="complete", payment_status="paid")
    event = fake.event("checkout.session.completed", fake.sessions[cs_id])
    body, headers = fake.signed(event, secret="whsec_someone_else")
    assert client.post("/webhooks/stripe", content=body, headers=headers).status_code == 400
    unsigned = client.post("/webhooks/stripe", content=body)
    assert unsigned.status_code == 400
    body, headers = fake.signed(event)
    tampered = body.replace(b"18000", b"1")
    assert client.post("/webhooks/stripe", content=tampered, headers=headers).status_code == 400
    assert processed(app_parts) == 0
    assert session_row(app_parts, booked.public_id).payment_status == "pending"
    assert notices(app_parts, booked.public_id) == []


def test_a_replayed_webhook_is_recorded_once(
    client: TestClient, fake: FakeStripe, app_parts: Parts, booked: Booked
) -> None:
    pay(client, booked, csrf(client, booked))
    (cs_id,) = fake.sessions
    fake.sessions[cs_id].update(status="complete", payment_status="paid")
    event = fake.event("checkout.session.completed", fake.sessions[cs_id])
    answers = []
    for _ in range(3):
        body, headers = fake.signed(event)
        answers.append(client.post("/webhooks/stripe", content=body, headers=headers))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.text for a in answers] == ["recorded", "duplicate", "duplicate"]
    # Stripe may also send the same payment under a new event id: still one payment.
    body, headers = fake.signed(fake.event("checkout.session.completed", fake.sessions[cs_id]))
    assert client.post("/webhooks/stripe", content=body, headers=headers).text == "ok"
    row = session_row(app_parts, booked.public_id)
    assert row.payment_status == "paid" and row.paid_at is not None
    (notice,) = notices(app_parts, booked.public_id)
    assert notice.channel == "slack"
    assert notice.payload is not None
    assert notice.payload.startswith("Payment received: $180.00 from J.D.")
    assert "✓ Paid $180.00 for Initial consultation" in client.get(booked.path).text


def test_returning_from_checkout_records_the_payment_when_the_webhook_is_late(
    client: TestClient, fake: FakeStripe, app_parts: Parts, booked: Booked
) -> None:
    pay(client, booked, csrf(client, booked))
    (cs_id,) = fake.sessions
    fake.sessions[cs_id].update(status="complete", payment_status="paid")
    back = client.get(f"{booked.path}/paid")
    assert back.headers["location"] == f"{booked.path}?m=paid"
    assert session_row(app_parts, booked.public_id).payment_status == "paid"
    assert len(notices(app_parts, booked.public_id)) == 1


def test_enter_meeting_opens_only_in_the_window_after_payment_and_documents(
    client: TestClient,
    fake: FakeStripe,
    app_parts: Parts,
    booked: Booked,
    clock: time_machine.Traveller,
) -> None:
    token = csrf(client, booked)
    page = client.get(booked.path).text
    assert "Opens at <strong>Wed, Nov 25, 2026, 11:45 AM PST</strong>" in page
    assert "Opens after payment" in page
    assert "Opens after you confirm the required documents" in page
    assert client.get(f"{booked.path}/enter").headers["location"].endswith("?m=not-yet")

    clock.move_to(START - timedelta(minutes=10))
    assert client.get(f"{booked.path}/enter").headers["location"].endswith("?m=not-yet")
    client.post(f"{booked.path}/documents", data={"csrf": token, "confirm": "yes"})
    assert "Opens after you confirm" not in client.get(booked.path).text
    pay(client, booked, token)
    (cs_id,) = fake.sessions
    fake.sessions[cs_id].update(status="complete", payment_status="paid")
    body, headers = fake.signed(fake.event("checkout.session.completed", fake.sessions[cs_id]))
    client.post("/webhooks/stripe", content=body, headers=headers)

    page = client.get(booked.path).text
    assert f'href="{booked.path}/enter"' in page
    enter = client.get(f"{booked.path}/enter")
    assert enter.status_code == 303
    assert enter.headers["location"] == f"{VIDEO_URL}/{booked.room_name}"


def test_a_session_without_payment_or_documents_opens_in_the_window(
    client: TestClient, app_parts: Parts, clock: time_machine.Traveller
) -> None:
    free = book(app_parts, START, documents=None, service=None, amount=None)
    page = client.get(free.path).text
    assert "Payment" not in page and "Documents" not in page
    assert "Opens at <strong>Wed, Nov 25, 2026, 11:45 AM PST</strong>" in page
    clock.move_to(START - timedelta(minutes=15))
    assert client.get(f"{free.path}/enter").status_code == 303


def test_the_clinicians_enter_link_leads_to_the_same_room(
    client: TestClient, app_parts: Parts, clock: time_machine.Traveller
) -> None:
    free = book(app_parts, START, documents=None, service=None, amount=None)
    clock.move_to(START - timedelta(minutes=5))
    host = client.get(f"/enter/{free.host_token}")
    guest = client.get(f"{free.path}/enter")
    assert host.status_code == guest.status_code == 303
    assert host.headers["location"] == guest.headers["location"] == f"{VIDEO_URL}/{free.room_name}"
    assert host.headers["referrer-policy"] == "no-referrer"
    assert booking.enter_meeting_url(PUBLIC, session_row(app_parts, free.public_id)) == (
        f"{PUBLIC}/enter/{free.host_token}"
    )


def test_jitsi_links_carry_a_room_bound_token_when_an_app_secret_is_set() -> None:
    rooms = JitsiRooms("https://meet.example.test/", "sessionbot", SECRET)
    url = rooms.join_url(
        "Room_abc",
        display_name="Dr. Rivera",
        host=True,
        not_before=START - timedelta(minutes=15),
        expires=START + timedelta(minutes=90),
    )
    base, token = url.split("?jwt=")
    assert base == "https://meet.example.test/Room_abc"
    claims = jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience="jitsi",
        options={"verify_nbf": False, "verify_exp": False},
    )
    assert claims["room"] == "Room_abc" and claims["moderator"] is True
    assert claims["sub"] == "meet.example.test" and claims["iss"] == "sessionbot"
    assert claims["exp"] == int((START + timedelta(minutes=90)).timestamp())
    plain = JitsiRooms("https://meet.example.test").join_url(
        "Room_abc", display_name="x", host=False, not_before=START, expires=START
    )
    assert plain == "https://meet.example.test/Room_abc"


def test_without_stripe_the_page_shows_the_amount_without_pay_now(
    tmp_path: Path, sqlite_store: Store, clock
) -> None:
    parts = page_parts(tmp_path, sqlite_store, None, PUBLIC)
    booked = book(parts, START)
    with TestClient(create_app(parts), base_url=PUBLIC) as client:
        page = client.get(booked.path).text
        assert "The practice will contact you about payment" in page
        assert "Pay Now" not in page
        assert client.post("/webhooks/stripe", content=b"{}").status_code == 404


def test_a_client_guessing_links_is_throttled_and_other_clients_are_not(
    client: TestClient, booked: Booked
) -> None:
    for i in range(30):
        assert client.get(f"/j/guess-number-{i:04d}-of-many").status_code == 404
    refused = client.get("/j/guess-number-0031-of-many")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "wait a minute" in refused.text
    assert client.get("/enter/another-guess-of-a-host-token").status_code == 429
    # Another client, with its own real link, is not slowed at all.
    with TestClient(client.app, base_url=PUBLIC, client=("203.0.113.9", 50000)) as other:
        assert other.get(booked.path).status_code == 200


def test_after_thirty_wrong_links_a_real_link_from_the_same_address_still_opens(
    client: TestClient, booked: Booked
) -> None:
    """A clinic behind one NAT: someone there guessing does not lock the patients out."""
    for i in range(30):
        assert client.get(f"/j/guess-number-{i:04d}-of-many").status_code == 404
    assert client.get(booked.path).status_code == 200
    refused = client.get("/j/guess-number-0031-of-many")
    assert refused.status_code == 429
    # The same headers as every page: no framing, the strict policy, HSTS behind https.
    assert refused.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in refused.headers["content-security-policy"]
    assert refused.headers["strict-transport-security"].startswith("max-age=")
    assert refused.headers["cache-control"] == "no-store"
    assert client.get(booked.path).status_code == 200
    assert client.get(f"{booked.path}/rsvp?answer=yes").status_code == 200
    assert client.get(f"/enter/{booked.host_token}").status_code == 303


def test_a_configured_proxys_forwarded_for_names_the_client(
    tmp_path: Path, store: Store, fake: FakeStripe, clock
) -> None:
    """Behind a trusted proxy each participant counts as their own address; the proxy's
    own address is never the one throttled."""
    parts = build(
        make_settings(
            tmp_path,
            SESSIONBOT_PUBLIC_URL=PUBLIC,
            SESSIONBOT_VIDEO_URL=VIDEO_URL,
            SESSIONBOT_TRUSTED_PROXIES="10.0.0.0/8, 192.0.2.1",
        ),
        store=store,
    )
    proxy = ("10.1.2.3", 40000)
    with TestClient(create_app(parts), base_url=PUBLIC, client=proxy) as via_proxy:
        guesser = {"X-Forwarded-For": "198.51.100.7"}
        for i in range(30):
            assert via_proxy.get(f"/j/guess-{i:04d}", headers=guesser).status_code == 404
        assert via_proxy.get("/j/guess-0031", headers=guesser).status_code == 429
        # Another participant through the same proxy: their miss is a plain 404.
        other = {"X-Forwarded-For": "198.51.100.8"}
        assert via_proxy.get("/j/a-mistyped-link", headers=other).status_code == 404
        # A forged entry to the left of the real one changes nothing.
        forged = {"X-Forwarded-For": "203.0.113.50, 198.51.100.7"}
        assert via_proxy.get("/j/guess-0032", headers=forged).status_code == 429


def test_rotating_x_forwarded_for_does_not_escape_the_throttle(tmp_path: Path) -> None:
    """`sessionbot serve` with no trusted proxy: the header is ignored, whoever sends it."""
    with serve_process(tmp_path) as served:
        answers = [
            served.http.get(
                f"/j/guess-{i:04d}-of-many", headers={"X-Forwarded-For": f"198.51.100.{i}"}
            ).status_code
            for i in range(32)
        ]
    assert answers[:30] == [404] * 30
    assert answers[30:] == [429, 429]


def test_a_clinician_without_a_zone_hears_of_a_payment_in_the_practices_zone(
    client: TestClient, fake: FakeStripe, app_parts: Parts, booked: Booked
) -> None:
    """No zone from Slack: the practice's (New York), as everywhere else; it said UTC."""
    with app_parts.store.unit() as s:
        clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1").tz = None
    pay(client, booked, csrf(client, booked))
    (cs_id,) = fake.sessions
    fake.sessions[cs_id].update(status="complete", payment_status="paid")
    body, headers = fake.signed(fake.event("checkout.session.completed", fake.sessions[cs_id]))
    assert client.post("/webhooks/stripe", content=body, headers=headers).text == "recorded"
    (notice,) = notices(app_parts, booked.public_id)
    assert notice.payload is not None
    assert notice.payload.endswith(" EST.") and "UTC" not in notice.payload
