"""Text-message consent (`sms_consent = "ask"`, issue 20): the conversation asks once per
new mobile number, records the answer with the time and who recorded it, and nothing is
texted to a number without a recorded Yes; an inbound STOP withdraws it. SQLite and
PostgreSQL; frozen at Tuesday 2026-11-24 10:00 Eastern."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import TEST_KEY, Chat, at
from cryptography.fernet import Fernet
from outbox_kit import CLINICIAN, clinician_notices, outbox, run_worker, session, wired_parts
from starlette.applications import Starlette
from starlette.testclient import TestClient
from test_outbox_webhooks import text_in

from ground.practice import PracticeFileError, parse_practice
from scheduling import erasure, sms_consent
from sessionbot.webhooks import routes
from store import clinician_rows, consents, session_rows
from store.crypto import keyring
from store.db import Store
from store.models import AuditRow
from store.rotation import rotate

PHONE = "+16175550101"
# The example practice (its document packages), asking.
EXAMPLE = Path(__file__).parents[1] / "ground" / "example_practice.toml"
ASKING = EXAMPLE.read_text().replace('# sms_consent = "ask"', 'sms_consent = "ask"')
BOOKING = "JD tomorrow 3pm by text +1 617 555 0101, intake packet"
QUESTION = "Has JD agreed to get text messages at +1 617-555-0101?"
NOW = at("2026-11-24 10:00")


def asking_parts(tmp_path: Path, store, fake_twilio, text: str = ASKING):
    practice = tmp_path / "practice.toml"
    practice.write_text(text)
    return wired_parts(tmp_path, store, twilio=fake_twilio, SESSIONBOT_PRACTICE_FILE=str(practice))


def consent(parts) -> consents.Consent | None:
    with parts.store.reading() as s:
        return consents.consent_of(s, keyring().blind_indexes(PHONE))


def saved(parts) -> list:
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, CLINICIAN.team_id, CLINICIAN.user_id)
        return session_rows.list_sessions(s, clinician.id, include_cancelled=True)


def audit_rows(parts) -> list[tuple[str, str]]:
    with parts.store.reading() as s:
        return [(r.actor, r.action) for r in s.scalars(sa.select(AuditRow).order_by(AuditRow.id))]


def texts_to_jd(fake_twilio) -> list:
    return [m for m in fake_twilio.messages if m["To"] == PHONE]


def test_the_setting_is_read_and_a_wrong_value_is_named() -> None:
    assert parse_practice({}).sms_consent is False
    assert parse_practice({"sms_consent": "ask"}).sms_consent is True
    assert parse_practice({"sms_consent": "off"}).sms_consent is False
    with pytest.raises(PracticeFileError, match="sms_consent"):
        parse_practice({"sms_consent": "always"})


def test_a_new_number_is_asked_and_yes_records_consent_and_the_text_goes(
    tmp_path, store, fake_twilio, clock
) -> None:
    parts = asking_parts(tmp_path, store, fake_twilio)
    chat = Chat(parts, CLINICIAN)
    reply = chat.say(BOOKING)
    assert QUESTION in reply.text
    assert chat.state().slots["phone"] is None  # held back until answered
    reply = chat.say("save")
    assert saved(parts) == [] and consent(parts) is None
    reply = chat.click(chat.say(BOOKING), "Yes, they agreed")
    assert "JD agreed to get text messages" in reply.text
    recorded = consent(parts)
    assert recorded == consents.Consent(True, "T_TEST:U_CLIN1", NOW.astimezone(UTC))
    if reply.requested_slot == "participant_tz":
        reply = chat.say("Pacific")
    assert reply.phase == "confirm", reply.text
    booked = chat.say("save")
    assert booked.saved_session_id
    run_worker(parts)
    assert len(texts_to_jd(fake_twilio)) == 1
    assert session(parts, booked.saved_session_id).invite_status in ("sent", "delivered")
    assert ("T_TEST:U_CLIN1", "sms_consent_recorded") in audit_rows(parts)

    # The same number next time: not asked again.
    reply = chat.say("JD friday 3pm by text +1 617 555 0101, intake packet")
    assert "agreed to get text messages" not in reply.text
    assert chat.state().slots["phone"] == PHONE


def test_a_typed_yes_is_taken_too(tmp_path, sqlite_store, fake_twilio, clock) -> None:
    parts = asking_parts(tmp_path, sqlite_store, fake_twilio)
    chat = Chat(parts, CLINICIAN)
    assert QUESTION in chat.say(BOOKING).text
    reply = chat.say("yes")
    assert "Sorry" not in reply.text
    assert chat.state().slots["phone"] == PHONE
    assert consent(parts) is not None and consent(parts).agreed  # type: ignore[union-attr]


def test_no_offers_email_or_no_invitation_and_nothing_is_ever_texted(
    tmp_path, store, fake_twilio, clock
) -> None:
    parts = asking_parts(tmp_path, store, fake_twilio)
    chat = Chat(parts, CLINICIAN)
    reply = chat.click(chat.say(BOOKING), "No")
    assert "Then no text messages to JD" in reply.text
    titles = [b.title for m in reply.messages for b in m.buttons]
    assert titles == ["E-mail invitation", "No invitation"]
    assert consent(parts) == consents.Consent(False, "T_TEST:U_CLIN1", NOW.astimezone(UTC))
    assert chat.state().slots["invite_channel"] is None and chat.state().slots["phone"] is None
    reply = chat.click(reply, "No invitation")
    if reply.requested_slot == "participant_tz":
        reply = chat.say("Pacific")
    assert reply.phase == "confirm", reply.text
    assert chat.say("save").saved_session_id
    (booked,) = saved(parts)
    assert booked.invite_channel == "none" and booked.phone is None
    run_worker(parts)
    assert fake_twilio.messages == []
    assert not [m for m in outbox(parts) if m.channel == "sms"]


def test_a_stale_button_of_another_number_takes_nothing(
    tmp_path, sqlite_store, fake_twilio, clock
) -> None:
    parts = asking_parts(tmp_path, sqlite_store, fake_twilio)
    chat = Chat(parts, CLINICIAN)
    first = chat.say(BOOKING)
    reply = chat.say("+1 617 555 0199")
    assert "+1 617-555-0199" in reply.text  # the new number is asked about
    reply = chat.click(first, "Yes, they agreed")  # the first question's button
    assert chat.state().slots["phone"] is None
    assert consent(parts) is None


def test_the_worker_withholds_a_text_without_consent_and_tells_the_clinician_once(
    tmp_path, store, fake_twilio, clock
) -> None:
    # Booked before the practice asked: the invitation and reminders are queued.
    before = wired_parts(tmp_path, store, twilio=fake_twilio)
    chat = Chat(before, CLINICIAN)
    chat.say(BOOKING)
    chat.say("Pacific")
    booked = chat.say("save")
    assert booked.saved_session_id
    parts = asking_parts(tmp_path, store, fake_twilio)
    stats = run_worker(parts)
    assert stats.counts["no_consent"] == 1
    clock.move_to(at("2026-11-24 15:00"))  # the 24-hour reminder is due
    run_worker(parts)
    assert texts_to_jd(fake_twilio) == []
    told = [n for n in clinician_notices(parts) if "no consent to text messages" in n]
    assert len(told) == 1
    assert "invitation for your session with JD" in told[0]
    assert PHONE not in told[0] and "617" not in told[0]
    assert session(parts, booked.saved_session_id).invite_status == "no_consent"
    assert ("system", "invitation_failed") in audit_rows(parts)

    # Setting off: the same kind of booking is texted as before.
    off = wired_parts(tmp_path / "off", store, twilio=fake_twilio)
    chat = Chat(off, CLINICIAN)
    chat.say("JD friday 3pm by text +1 617 555 0102, intake packet")
    chat.say("Pacific")
    assert chat.say("save").saved_session_id
    run_worker(off)
    assert [m["To"] for m in fake_twilio.messages] == ["+16175550102"]


def test_stop_withdraws_consent_and_start_gives_it_back(
    tmp_path, store, fake_twilio, clock
) -> None:
    parts = asking_parts(tmp_path, store, fake_twilio)
    client = TestClient(Starlette(routes=routes(parts)))
    chat = Chat(parts, CLINICIAN)
    chat.click(chat.say(BOOKING), "Yes, they agreed")
    chat.say("Pacific")
    assert chat.say("save").saved_session_id
    run_worker(parts)
    assert len(texts_to_jd(fake_twilio)) == 1
    clock.move_to(at("2026-11-24 11:00"))
    assert text_in(client, "STOP", "SM1").status_code == 200
    assert consent(parts) == consents.Consent(
        False, "participant", at("2026-11-24 11:00").astimezone(UTC)
    )
    assert ("participant", "sms_consent_withdrawn") in audit_rows(parts)
    # The number is asked about again in the next conversation.
    chat = Chat(parts, CLINICIAN)
    assert QUESTION in chat.say("JD friday 3pm by text +1 617 555 0101").text
    text_in(client, "START", "SM2")
    recorded = consent(parts)
    assert recorded is not None and recorded.agreed and recorded.recorded_by == "participant"


def test_no_audit_row_holds_the_number(tmp_path, store, fake_twilio, clock) -> None:
    parts = asking_parts(tmp_path, store, fake_twilio)
    client = TestClient(Starlette(routes=routes(parts)))
    chat = Chat(parts, CLINICIAN)
    chat.click(chat.say(BOOKING), "Yes, they agreed")
    text_in(client, "STOP", "SM1")
    with parts.store.reading() as s:
        dumped = " ".join(
            str(v)
            for r in s.scalars(sa.select(AuditRow))
            for v in (r.actor, r.action, r.fields, r.session_id, r.contact_id, r.for_clinician)
        )
    assert "sms_consent_recorded" in dumped and "sms_consent_withdrawn" in dumped
    for digits in ("6175550101", "617-555-0101", "617 555", "0101"):
        assert digits not in dumped


def test_a_typed_no_is_taken_and_a_later_number_is_asked(
    tmp_path, sqlite_store, fake_twilio, clock
) -> None:
    parts = asking_parts(tmp_path, sqlite_store, fake_twilio)
    chat = Chat(parts, CLINICIAN)
    chat.say(BOOKING)
    reply = chat.say("no")
    assert "Then no text messages to JD" in reply.text
    reply = chat.say("by text +1 617 555 0101")  # changed their mind: asked again
    assert QUESTION in reply.text
    assert chat.state().slots["phone"] is None


def test_consent_survives_a_key_rotation_and_forget_keeps_it_without_the_number(
    tmp_path, clock
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    old, new = TEST_KEY, Fernet.generate_key().decode()
    store = Store.open(url, [old], upgrade=True)
    with store.unit() as s:
        sms_consent.record_answer(s, "T_TEST:U_CLIN1", PHONE, True, NOW)
    store.dispose()
    store = Store.open(url, [new, old])
    assert rotate(store)["blind indexes recomputed"] >= 1
    store.dispose()
    store = Store.open(url, [new])  # the old key gone: the consent still found
    with store.reading() as s:
        assert consents.agreed_among(s, keyring().blind_indexes(PHONE))
    with store.unit() as s:
        found = erasure.find(s, phone=PHONE)
        erasure.forget(s, found, parse_practice({}), NOW, actor="system")
    with store.reading() as s:
        assert consents.agreed_among(s, keyring().blind_indexes(PHONE))  # kept by index
        assert s.execute(sa.text("SELECT phone FROM sms_consents")).scalars().all() == [None]
    store.dispose()
