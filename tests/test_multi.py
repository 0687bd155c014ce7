"""Couples and family sessions: several participants, each invited on their own channel
in their own zone with their own page link; one room, one payment for the session."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import TEST_KEY, at
from fake_stripe import FakeStripe
from outbox_kit import CLINICIAN, outbox, run_worker, wired_parts
from page_support import VIDEO_URL, page_parts
from starlette.testclient import TestClient

from bot import modals
from ground.channel import Channel
from ground.session import Money, Participant, SessionSpec
from scheduling import booking, participants
from scheduling.service import Actor
from sessionbot.asgi import create_app
from sessionbot.cli import main
from store import clinician_rows, outbox_rows, session_rows
from store.crypto import keyring

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


def book_couple(parts, spec: SessionSpec):
    now = datetime.now(UTC)
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, CLINICIAN.team_id, CLINICIAN.user_id)
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
    body = mail.message.get_body(("plain",)).get_content()
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
        "language": "en",  # the session's, else the practice's
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
        found = session_rows.session_by_id(s, session.id)
        assert found is not None
        booking.reschedule(s, found, found.start_at + timedelta(days=1), parts.practice,
                           datetime.now(UTC))  # fmt: skip
    run_worker(parts)
    assert len(smtp_server.received) == 2 and len(fake_twilio.messages) == 2
    with parts.store.unit() as s:
        found = session_rows.session_by_id(s, session.id)
        assert found is not None
        booking.cancel(s, found, parts.practice, datetime.now(UTC))
    run_worker(parts)
    assert "cancel" in fake_twilio.messages[-1]["Body"].lower()
    assert len(smtp_server.received) == 3


def test_a_removed_participant_gets_nothing_more(tmp_path, store, smtp_server, fake_twilio) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server, twilio=fake_twilio)
    session = book_couple(parts, couple())
    with parts.store.unit() as s:
        found = session_rows.session_by_id(s, session.id)
        assert found is not None
        assert participants.remove_guest(s, found, found.guests[0].id)
    run_worker(parts)
    assert len(smtp_server.received) == 1 and fake_twilio.messages == []


# The conversation ---------------------------------------------------------------------


def test_a_couples_session_in_the_conversation_asks_each_ones_invitation(
    chat_any, clock, store
) -> None:
    reply = chat_any.say("with JD and MK tomorrow 3pm by text +1 617 555 0101, intake packet")
    assert "Added MK" in reply.text
    assert reply.requested_slot == "participant_tz", reply.text
    reply = chat_any.say("Pacific")
    assert reply.requested_slot == "others", reply.text
    assert "How should MK get their invitation?" in reply.text
    reply = chat_any.say("mk@example.com in London")
    assert reply.phase == "confirm", reply.text
    assert "• MK: E-mail to mk@example.com" in reply.text
    assert "for MK" in reply.text  # their time in their own zone
    assert "Participant: JD, MK" in reply.text

    reply = chat_any.say("also invite the mother, AL")
    assert "Added AL" in reply.text and reply.requested_slot == "others"
    reply = chat_any.say("no invitation")
    assert reply.phase == "confirm", reply.text
    assert "• AL: No invitation" in reply.text or "• AL:" in reply.text
    reply = chat_any.say("remove MK")
    assert "Removed MK." in reply.text and reply.phase == "confirm"
    assert "• MK:" not in reply.text
    reply = chat_any.say("save")
    assert reply.saved_session_id, reply.text
    with chat_any.parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, CLINICIAN.team_id, CLINICIAN.user_id)
        (session,) = session_rows.list_sessions(s, clinician.id, after=None, include_cancelled=True)
        assert session.participant == "JD"
        assert [(g.participant, g.invite_channel) for g in session.guests] == [("AL", "none")]


@pytest.mark.parametrize(
    ("typed", "added"),
    [
        ("with jd and mk tmrw three pm, no invitation", "mk"),
        ("w/ jane and sam tomorrow 3pm, no invitation", "sam"),
        ("with jd and her partner sam tomorrow at 3pm, no invitation", "sam"),
    ],
)
def test_a_couple_typed_in_lower_case_is_two_participants(chat, clock, typed, added) -> None:
    """As clinicians type: the names after "with" are a list in any case."""
    reply = chat.say(typed)
    assert f"Added {added}" in reply.text, reply.text
    assert "didn't understand" not in reply.text, reply.text


def test_the_practices_limit_is_said_never_a_silent_cut(chat, clock) -> None:
    reply = chat.say("with JD, MK, AL, LR, SB, TC and PQ tomorrow 3pm, no invitation")
    assert "at most 6 participants" in reply.text, reply.text
    assert "Added" not in reply.text
    assert "MK" in reply.text and "PQ" in reply.text  # who was not added, named
    reply = chat.say("add MK")
    assert "Added MK" in reply.text


# The pages ----------------------------------------------------------------------------


def test_each_participants_link_opens_the_page_and_one_payment_opens_every_enter(
    tmp_path, store, clock
) -> None:

    public = "https://sessions.example.test"
    start = at("2026-11-25 15:00")
    with FakeStripe() as fake:
        parts = page_parts(tmp_path, store, fake, public)
        people = (
            Participant("Jane Doe", Channel.NONE, None, None, ZoneInfo("America/Los_Angeles")),
            Participant("Mark Kay", Channel.NONE, None, None, ZoneInfo("Europe/London")),
        )
        spec = SessionSpec("pages-1", start, 50, people, service="initial",
                           price=Money.of("180.00"))  # fmt: skip
        with parts.store.unit() as s:
            clinician = clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1", tz="America/New_York")
            session, _ = booking.book(s, clinician, spec, parts.practice, datetime.now(UTC))
            lead, guest = f"/j/{session.token}", f"/j/{session.guests[0].token}"
            room = session.room_name
        with TestClient(create_app(parts), base_url=public, follow_redirects=False) as client:
            assert client.get("/j/not-a-guest-token").status_code == 404
            page = client.get(guest)
            assert page.status_code == 200 and "Pay" in page.text
            assert "8:00 PM GMT" in page.text  # the time in the partner's own zone
            assert "12:00 PM PST" in client.get(lead).text and "GMT" not in client.get(lead).text
            # Each one's own RSVP: the partner's yes is theirs, not the first participant's.
            csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
            assert csrf
            client.post(f"{guest}/rsvp", data={"csrf": csrf.group(1), "answer": "yes"})
            assert "Your answer: <strong>Yes</strong>" in client.get(guest).text
            assert "Your answer:" not in client.get(lead).text
            clock.move_to(start - timedelta(minutes=10))
            for path in (lead, guest):
                assert client.get(f"{path}/enter").headers["location"].endswith("?m=not-yet")
            # The partner pays, once, for the session.
            token = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(guest).text)
            assert token
            client.post(f"{guest}/pay", data={"csrf": token.group(1)})
            (cs_id,) = fake.sessions
            fake.sessions[cs_id].update(status="complete", payment_status="paid")
            body, headers = fake.signed(
                fake.event("checkout.session.completed", fake.sessions[cs_id])
            )
            client.post("/webhooks/stripe", content=body, headers=headers)
            for path in (lead, guest):  # every participant's Enter opens, into one room
                enter = client.get(f"{path}/enter")
                assert enter.status_code == 303
                assert enter.headers["location"] == f"{VIDEO_URL}/{room}"
        with parts.store.unit() as s:
            found = session_rows.session_by_public_id(s, session.public_id)
            assert found is not None
            assert found.rsvp is None and found.guests[0].rsvp == "yes"
            assert found.entered_at is not None and found.guests[0].entered_at is not None
            notices = [m.payload or "" for m in outbox_rows.list_outbox(s, limit=100)]
            waiting = [text for text in notices if "is waiting" in text]
            assert sorted(waiting) == sorted(
                ["J.D. is waiting: your session on Wed, Nov 25, 2026, 3:00 PM EST.",
                 "M.K. is waiting: your session on Wed, Nov 25, 2026, 3:00 PM EST."]
            )  # fmt: skip
            # The partner's yes reached the clinician under the partner's initials.
            assert [t for t in notices if "will attend" in t] == [
                "M.K. will attend: your session on Wed, Nov 25, 2026, 3:00 PM EST "
                "(answered by the session page)."
            ]


def test_the_slack_edit_form_lists_the_other_participants(tmp_path, store) -> None:
    parts = wired_parts(tmp_path, store)
    session = book_couple(parts, couple())
    with parts.store.unit() as s:
        found = session_rows.session_by_id(s, session.id)
        assert found is not None
        view = modals.edit_modal(found, "America/New_York", parts.practice, "Edit", payments=False)
    text = json.dumps(view.to_dict())
    assert "Also in this session" in text
    assert "Mark Kay: text message, London (Europe/London)" in text


def test_a_partners_stop_is_theirs_alone_and_the_clinician_hears_whose(
    tmp_path, store, smtp_server, fake_twilio
) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server, twilio=fake_twilio)
    spec = couple()
    lead = Participant("Jane Doe", Channel.SMS, None, "+16175550101", ZoneInfo("America/Chicago"))
    spec = SessionSpec("stop-1", spec.start, 50, (lead, spec.participants[1]))
    session = book_couple(parts, spec)
    fake_twilio.reject(GUEST_PHONE, 21610)  # the partner's number said STOP
    run_worker(parts)
    assert [m["To"] for m in fake_twilio.messages] == ["+16175550101"]
    with parts.store.unit() as s:
        found = session_rows.session_by_id(s, session.id)
        assert found is not None
        assert found.invite_status == "sent" and found.guests[0].invite_status == "opted_out"
        indexes = keyring().blind_indexes
        assert outbox_rows.sms_opted_out(s, indexes(GUEST_PHONE))
        assert not outbox_rows.sms_opted_out(s, indexes("+16175550101"))
    told = [m.payload or "" for m in outbox(parts) if m.kind == "clinician_notice"]
    assert any("with M.K." in text and "STOP" in text for text in told), told


def test_remind_now_and_schedule_next_reach_every_participant(tmp_path, store) -> None:
    """Remind now reminds each participant on their own channel; Schedule Next books the
    same couple a week later, each with their own invitation."""
    parts = wired_parts(tmp_path, store)
    session = book_couple(parts, couple())
    scheduler, who = parts.scheduler, Actor(CLINICIAN.team_id, CLINICIAN.user_id)
    reminded = scheduler.remind(who, session.public_id)
    assert reminded is not None and reminded.changed
    assert reminded.text.endswith("on its way to J.D. by e-mail and M.K. by text message.")
    now_reminders = [m for m in outbox(parts) if m.kind == "reminder" and ":now:" in m.dedupe_key]
    assert sorted((m.channel, m.guest_id is not None) for m in now_reminders) == [
        ("email", False), ("sms", True)
    ]  # fmt: skip
    nxt = scheduler.schedule_next(who, session.public_id, 1, draft_id="next-couple")
    assert nxt is not None and nxt.new_id is not None
    with parts.store.unit() as s:
        later = session_rows.session_by_public_id(s, nxt.new_id)
        assert later is not None
        names = [p.name for p in participants.recipients(later)]
        assert names == ["Jane Doe", "Mark Kay"]
        invites = [m for m in outbox_rows.outbox_for_session(s, later.id) if m.kind == "invitation"]
    assert sorted(m.channel for m in invites) == ["email", "sms"]
