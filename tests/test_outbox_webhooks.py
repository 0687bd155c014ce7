"""What participants text back (STOP, START, HELP, Y, N) and Twilio's delivery reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import TEST_KEY, at
from fake_twilio import sign
from outbox_kit import (
    clinician_notices,
    outbox,
    reschedule,
    run_worker,
    schedule,
    session,
    wired_parts,
)
from starlette.applications import Starlette
from starlette.testclient import TestClient

from ground.session import SessionSpec
from scheduling import booking
from sessionbot.webhooks import routes
from store import clinician_rows, outbox_rows, session_rows
from store.crypto import Keyring, keyring, set_keyring
from store.models import ProcessedEvent, ScheduledSession

TEXT_BOOKING = "JD tomorrow 3pm by text +1 617 555 0101, intake packet"
PHONE = "+16175550101"
SMS_URL = "https://sessions.example.test/webhooks/twilio/sms"
STATUS_URL = "https://sessions.example.test/webhooks/twilio/status"


@pytest.fixture
def texting(tmp_path, store, fake_twilio, clock):
    parts = wired_parts(tmp_path, store, twilio=fake_twilio)
    client = TestClient(Starlette(routes=routes(parts)))
    return parts, client


def text_in(client: TestClient, body: str, sid: str, *, signature: str | None = None):
    form = {"From": PHONE, "To": "+15005550006", "Body": body, "MessageSid": sid}
    return client.post(
        "/webhooks/twilio/sms",
        data=form,
        headers={"X-Twilio-Signature": signature or sign(SMS_URL, form)},
    )


def test_stop_then_a_reminder_sends_no_text_and_the_clinician_is_told(
    texting,
    fake_twilio,
    clock,
) -> None:
    parts, client = texting
    booked = schedule(parts, TEXT_BOOKING)
    run_worker(parts)
    assert len(fake_twilio.messages) == 1
    assert text_in(client, "STOP", "SM1").status_code == 200
    with parts.store.unit() as s:
        assert outbox_rows.sms_opted_out(s, keyring().blind_index(PHONE))
    clock.move_to(at("2026-11-24 15:00"))  # the 24-hour reminder is due
    run_worker(parts)
    assert len(fake_twilio.messages) == 1
    notices = clinician_notices(parts)
    assert any("replied STOP" in n for n in notices)
    assert any("reminder for your session with JD" in n and "was not texted" in n for n in notices)
    assert session(parts, booked.public_id).invite_status == "opted_out"


def test_start_after_stop_lets_texts_through_again(texting, fake_twilio, clock) -> None:
    parts, client = texting
    schedule(parts, TEXT_BOOKING)
    run_worker(parts)
    text_in(client, "stop", "SM1")
    reply = text_in(client, "START", "SM2")
    assert "receive session texts again" in reply.text
    clock.move_to(at("2026-11-24 15:00"))
    run_worker(parts)
    assert len(fake_twilio.messages) == 2


def test_y_records_rsvp_yes_and_the_clinician_hears_of_it(texting, clock) -> None:
    parts, client = texting
    booked = schedule(parts, TEXT_BOOKING)
    run_worker(parts)
    reply = text_in(client, "Y", "SM1")
    assert reply.status_code == 200 and "Thanks" in reply.text
    assert session(parts, booked.public_id).rsvp == "yes"
    assert any("JD will attend" in n for n in clinician_notices(parts))
    text_in(client, "n", "SM2")
    assert session(parts, booked.public_id).rsvp == "no"


def test_help_gets_an_answer(texting) -> None:
    _, client = texting
    assert "STOP to opt out" in text_in(client, "HELP", "SM1").text


def test_a_retried_webhook_is_handled_once(texting) -> None:
    parts, client = texting
    schedule(parts, TEXT_BOOKING)
    text_in(client, "Y", "SM1")
    text_in(client, "Y", "SM1")
    assert sum("will attend" in n for n in clinician_notices(parts)) == 1


def test_a_forged_twilio_signature_gets_403_and_nothing_is_recorded(texting) -> None:
    parts, client = texting
    booked = schedule(parts, TEXT_BOOKING)
    before = len(outbox(parts))
    forged = sign(SMS_URL, {"Body": "Y"}, token="not-the-token")
    assert text_in(client, "STOP", "SM1", signature=forged).status_code == 403
    assert text_in(client, "Y", "SM2", signature=forged).status_code == 403
    unsigned = client.post("/webhooks/twilio/sms", data={"From": PHONE, "Body": "STOP"})
    assert unsigned.status_code == 403
    status = client.post(
        "/webhooks/twilio/status",
        data={"MessageSid": "SMx", "MessageStatus": "failed"},
        headers={"X-Twilio-Signature": forged},
    )
    assert status.status_code == 403
    with parts.store.unit() as s:
        assert not outbox_rows.sms_opted_out(s, keyring().blind_index(PHONE))
        assert s.query(ProcessedEvent).count() == 0
    assert session(parts, booked.public_id).rsvp is None
    assert len(outbox(parts)) == before


def test_delivery_reports_update_the_invitation_status(texting, clock) -> None:
    parts, client = texting
    booked = schedule(parts, TEXT_BOOKING)
    run_worker(parts)
    (invitation,) = [m for m in outbox(parts) if m.kind == "invitation"]
    assert invitation.provider_ref is not None
    form = {"MessageSid": invitation.provider_ref, "MessageStatus": "delivered"}
    response = client.post(
        "/webhooks/twilio/status", data=form, headers={"X-Twilio-Signature": sign(STATUS_URL, form)}
    )
    assert response.status_code == 204
    assert session(parts, booked.public_id).invite_status == "delivered"
    form = {
        "MessageSid": invitation.provider_ref,
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
    }
    client.post(
        "/webhooks/twilio/status", data=form, headers={"X-Twilio-Signature": sign(STATUS_URL, form)}
    )
    assert session(parts, booked.public_id).invite_status == "failed"
    assert any("30003" in n for n in clinician_notices(parts))
    clock.shift(timedelta(minutes=1))


class CountingKeyring(Keyring):
    """The real keyring, counting decryptions (to see which rows a look-up opened)."""

    decrypted = 0

    def decrypt(self, token: str) -> str:
        CountingKeyring.decrypted += 1
        return super().decrypt(token)


@pytest.fixture
def counting_keyring():
    original = keyring()
    counting = CountingKeyring([TEST_KEY])
    set_keyring(counting)
    yield CountingKeyring
    set_keyring(original)


def book_texts_to_others(parts, n: int) -> None:
    now = datetime.now(UTC)
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_TEST", "U_OTHER")
        for i in range(n):
            draft = SessionSpec.for_one(
                draft_id=f"other-{i}",
                start=now + timedelta(days=2, minutes=i),
                duration_min=50,
                participant=f"Other {i}",
                invite_channel="sms",
                email=None,
                phone=f"+1212555{i:04d}",
                participant_tz="America/New_York",
                documents=None,
                service=None,
                amount=None,
            )
            booking.book(s, clinician, draft, parts.practice, now)


def test_a_reply_finds_its_session_without_opening_other_participants_rows(
    texting,
    counting_keyring,
) -> None:
    parts, client = texting
    booked = schedule(parts, TEXT_BOOKING)
    book_texts_to_others(parts, 40)
    with parts.store.unit() as s:
        stored = session_rows.session_by_id(s, booked.id)
        assert stored is not None
        assert stored.phone_index == keyring().blind_index(PHONE)
    counting_keyring.decrypted = 0
    reply = text_in(client, "Y", "SM1")
    assert "Thanks" in reply.text
    assert counting_keyring.decrypted < 20  # one session's fields, not 41 sessions'
    assert session(parts, booked.public_id).rsvp == "yes"


def test_a_session_booked_before_the_phone_index_still_gets_its_reply(texting) -> None:
    parts, client = texting
    booked = schedule(parts, TEXT_BOOKING)
    book_texts_to_others(parts, 3)
    with parts.store.unit() as s:
        s.execute(sa.update(ScheduledSession).values(phone_index=None))
    assert "Thanks" in text_in(client, "N", "SM1").text
    assert session(parts, booked.public_id).rsvp == "no"
    with parts.store.unit() as s:  # the old rows were given their index on the way
        rows = s.scalars(sa.select(ScheduledSession)).all()
        assert all(r.phone_index == keyring().blind_index(r.phone) for r in rows)


def test_moving_an_old_session_gives_it_its_phone_index(texting, clock) -> None:
    parts, _ = texting
    booked = schedule(parts, TEXT_BOOKING)
    with parts.store.unit() as s:
        s.execute(sa.update(ScheduledSession).values(phone_index=None))
    reschedule(parts, booked.public_id, at("2026-11-27 16:00"))
    assert session(parts, booked.public_id).phone_index == keyring().blind_index(PHONE)


def test_a_repeated_stop_is_recorded_once_and_told_once(texting, clock) -> None:
    parts, client = texting
    schedule(parts, TEXT_BOOKING)
    for sid in ("SM1", "SM2", "SM3"):  # three texts: new MessageSids, not Twilio retries
        assert text_in(client, "STOP", sid).status_code == 200
    with parts.store.unit() as s:
        assert outbox_rows.sms_opted_out(s, keyring().blind_index(PHONE))
    assert sum("replied STOP" in n for n in clinician_notices(parts)) == 1
    text_in(client, "START", "SM4")
    text_in(client, "start", "SM5")
    assert sum("replied START" in n for n in clinician_notices(parts)) == 1
    text_in(client, "STOP", "SM6")  # a new opt-out after opting in again is news
    assert sum("replied STOP" in n for n in clinician_notices(parts)) == 2


def _bytes_signature(url: str, fields: list[tuple[bytes, bytes]], token: str) -> str:
    """Twilio's documented scheme, over bytes: base64(HMAC-SHA1(url + sorted name+value))."""
    import base64
    import hashlib
    import hmac

    data = url.encode() + b"".join(n + v for n, v in sorted(fields))
    return base64.b64encode(hmac.new(token.encode(), data, hashlib.sha1).digest()).decode()


def test_a_body_that_is_not_utf8_is_refused_after_the_signature_and_stores_nothing(
    texting,
) -> None:
    from fake_twilio import AUTH_TOKEN

    parts, client = texting
    booked = schedule(parts, TEXT_BOOKING)
    before = len(outbox(parts))
    fields = [(b"Body", b"STOP\xff"), (b"From", PHONE.encode()), (b"MessageSid", b"SM9")]
    body = b"Body=STOP%FF&From=%2B16175550101&MessageSid=SM9"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    signed = _bytes_signature(SMS_URL, fields, AUTH_TOKEN)
    answer = client.post(
        "/webhooks/twilio/sms", content=body, headers={**headers, "X-Twilio-Signature": signed}
    )
    assert (answer.status_code, answer.text) == (400, "the body is not UTF-8")
    raw = b"Body=STOP\xff&From=%2B16175550101&MessageSid=SM9"  # not even percent-encoded
    answer = client.post(
        "/webhooks/twilio/sms", content=raw, headers={**headers, "X-Twilio-Signature": signed}
    )
    assert answer.status_code == 400
    forged = _bytes_signature(SMS_URL, fields, "not-the-token")
    answer = client.post(
        "/webhooks/twilio/sms", content=body, headers={**headers, "X-Twilio-Signature": forged}
    )
    assert (answer.status_code, answer.text) == (403, "invalid signature")
    status = client.post(
        "/webhooks/twilio/status",
        content=b"MessageSid=SM%FE&MessageStatus=failed",
        headers={**headers, "X-Twilio-Signature": forged},
    )
    assert status.status_code == 403
    with parts.store.unit() as s:
        assert not outbox_rows.sms_opted_out(s, keyring().blind_index(PHONE))
        assert s.query(ProcessedEvent).count() == 0
    assert len(outbox(parts)) == before
    assert session(parts, booked.public_id).rsvp is None


def test_a_non_ascii_text_with_a_good_signature_is_read(texting) -> None:
    parts, client = texting
    booked = schedule(parts, TEXT_BOOKING)
    reply = text_in(client, "très bien, à demain ✓", "SM1")  # signed by RequestValidator
    assert reply.status_code == 200 and "STOP to opt out" in reply.text  # the HELP answer
    assert text_in(client, "Yes!", "SM2").status_code == 200
    assert session(parts, booked.public_id).rsvp == "yes"


def test_an_oversized_twilio_body_gets_413(texting) -> None:
    _, client = texting
    form = {"From": PHONE, "Body": "x" * 40_000, "MessageSid": "SM1"}
    answer = client.post(
        "/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": sign(SMS_URL, form)}
    )
    assert answer.status_code == 413


def test_a_clinician_without_a_zone_hears_of_an_rsvp_in_the_practices_zone(texting, clock) -> None:
    """Slack gave no zone for the clinician: the practice's default (New York) is theirs,
    as everywhere else; the RSVP notice said the time in UTC."""
    parts, client = texting
    booked = schedule(parts, TEXT_BOOKING)  # tomorrow 3pm, New York
    session_id = session(parts, booked.public_id).id
    with parts.store.unit() as s:
        s.get(ScheduledSession, session_id).clinician.tz = None
    text_in(client, "Y", "SM1")
    (notice,) = [n for n in clinician_notices(parts) if "will attend" in n]
    assert "3:00 PM EST" in notice and "UTC" not in notice
