"""Couples and family sessions: several participants, each invited on their own channel
in their own zone with their own page link; one room, one payment for the session."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import TEST_KEY
from outbox_kit import CLINICIAN, outbox, run_worker, wired_parts

from ground.channel import Channel
from ground.session import Money, Participant, SessionSpec
from scheduling import booking, participants
from sessionbot.cli import main
from store import repos

LEAD_EMAIL = "jd@example.com"
GUEST_PHONE = "+16175550142"


def couple(draft: str = "couple-1", *, extra: int = 0, price: Money | None = None) -> SessionSpec:
    people = (
        Participant("Jane Doe", Channel.EMAIL, LEAD_EMAIL, None, ZoneInfo("America/Los_Angeles")),
        Participant("Mark Kay", Channel.SMS, None, GUEST_PHONE, ZoneInfo("Europe/London")),
        *(
            Participant(
                f"Kid {i}", Channel.EMAIL, f"kid{i}@example.com", None, ZoneInfo("America/New_York")
            )  # fmt: skip
            for i in range(extra)
        ),
    )
    start = datetime(2030, 3, 4, 15, 0, tzinfo=ZoneInfo("America/New_York"))
    return SessionSpec(draft, start, 50, people, price=price)


def book_couple(parts, spec: SessionSpec):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with parts.store.unit() as s:
        clinician = repos.get_clinician(s, CLINICIAN.team_id, CLINICIAN.user_id)
        session, made = booking.book(s, clinician, spec, parts.practice, now)
        assert made
        return session


def test_a_couples_session_invites_each_on_their_own_channel_with_their_own_link(
    tmp_path, store, smtp_server, fake_twilio, monkeypatch, capsys
) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server, twilio=fake_twilio)
    session = book_couple(parts, couple(price=Money.of("120.00")))

    stats = run_worker(parts)
    assert stats.counts["sent"] == 2
    (mail,) = smtp_server.received
    assert mail.rcpt_tos == [LEAD_EMAIL]
    (text,) = fake_twilio.messages
    assert text["To"] == GUEST_PHONE
    body = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    lead_link = f"/j/{session.token}"
    assert lead_link in body and lead_link not in text["Body"]
    guest_link = f"/j/{session.guests[0].token}"
    assert guest_link in text["Body"] and guest_link not in body
    # Each in their own zone: 3 PM in New York is noon in Los Angeles, 8 PM in London.
    assert "12:00" in body or "12 PM" in body or "12:00 PM" in body
    assert "8:00 PM" in text["Body"] or "20:00" in text["Body"], text["Body"]

    # Reminders for each, on their own channel.
    reminders = [m for m in outbox(parts) if m.kind == "reminder"]
    assert sorted((m.channel, m.guest_id is not None) for m in reminders) == [
        ("email", False), ("email", False), ("sms", True), ("sms", True)
    ]  # fmt: skip

    # One session (one room, one payment), and the export lists both participants.
    url = parts.store.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("SESSIONBOT_DATABASE_URL", url)
    monkeypatch.setenv("SESSIONBOT_ENCRYPTION_KEY", TEST_KEY)
    monkeypatch.setenv("SESSIONBOT_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("SESSIONBOT_PUBLIC_URL", "https://sessions.example.test")
    monkeypatch.chdir(tmp_path)
    assert main(["sessions", "--json", "--team", CLINICIAN.team_id,
                 "--user", CLINICIAN.user_id]) == 0  # fmt: skip
    (record,) = json.loads(capsys.readouterr().out)
    assert record["participant"] == "Jane Doe" and record["email"] == LEAD_EMAIL
    assert record["payment_status"] == "pending"
    first, second = record["participants"]
    assert first["participant"] == "Jane Doe" and first["invite_channel"] == "email"
    assert second == {
        "participant": "Mark Kay",
        "invite_channel": "sms",
        "email": None,
        "phone": GUEST_PHONE,
        "participant_tz": "Europe/London",
        "language": None,
        "participant_url": f"https://sessions.example.test{guest_link}",
        "rsvp": None,
        "entered_at": None,
    }
    assert first["participant_url"] != second["participant_url"]


def test_a_session_over_the_practices_limit_is_refused_in_words(tmp_path, store) -> None:
    parts = wired_parts(tmp_path, store)
    with pytest.raises(participants.TooManyParticipants, match="at most 6 participants"):
        book_couple(parts, couple(extra=5))  # 7
    assert book_couple(parts, couple("six", extra=4)).guests[-1].position == 6


def test_a_moved_session_tells_every_participant_and_a_cancelled_one_too(
    tmp_path, store, smtp_server, fake_twilio
) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server, twilio=fake_twilio)
    session = book_couple(parts, couple())
    run_worker(parts)
    with parts.store.unit() as s:
        found = repos.session_by_id(s, session.id)
        assert found is not None
        booking.reschedule(s, found, found.start_at + timedelta(days=1), parts.practice,
                           datetime.now(UTC))  # fmt: skip
    run_worker(parts)
    assert len(smtp_server.received) == 2 and len(fake_twilio.messages) == 2
    with parts.store.unit() as s:
        found = repos.session_by_id(s, session.id)
        assert found is not None
        booking.cancel(s, found, parts.practice, datetime.now(UTC))
    run_worker(parts)
    assert "cancel" in fake_twilio.messages[-1]["Body"].lower()
    assert len(smtp_server.received) == 3


def test_a_removed_participant_gets_nothing_more(tmp_path, store, smtp_server, fake_twilio) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server, twilio=fake_twilio)
    session = book_couple(parts, couple())
    with parts.store.unit() as s:
        found = repos.session_by_id(s, session.id)
        assert found is not None
        assert participants.remove_guest(s, found, found.guests[0].id)
    run_worker(parts)
    assert len(smtp_server.received) == 1 and fake_twilio.messages == []
