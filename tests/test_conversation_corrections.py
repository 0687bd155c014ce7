"""Whole conversations typed the way a busy clinician types: corrections of every slot at
the summary, each said back old → new, the summary marking what changed, and the session
stored being the one on the last summary the clinician saw. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import Chat, make_settings

from dialogue.turn_io import Reply, Who
from sessionbot.wiring import Parts, build
from store import clinician_rows, session_rows
from store.db import Store

EASTERN_ZONE = ZoneInfo("America/New_York")


@pytest.fixture
def paying(tmp_path: Path, store: Store) -> Chat:
    """A practice that takes payments, on each store."""
    settings = make_settings(tmp_path, STRIPE_API_KEY="sk_test_not_a_real_key")
    return Chat(build(settings, store=store), Who("T_TEST", "U_CLIN1", tz="America/New_York"))


@pytest.fixture
def chat(parts_any: Parts) -> Chat:
    """Every conversation here runs on SQLite and, when it is set up, PostgreSQL."""
    return Chat(parts_any, Who("T_TEST", "U_CLIN1", tz="America/New_York"))


def saved_sessions(chat: Chat) -> list:
    with chat.parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, chat.who.team_id, chat.who.user_id)
        return session_rows.list_sessions(s, clinician.id, include_cancelled=True)


def acks(reply: Reply) -> list[str]:
    return [m.text for m in reply.messages if m.kind == "ack"]


def notes(reply: Reply) -> list[str]:
    return [m.text for m in reply.messages if m.kind == "note"]


def summary(reply: Reply) -> str:
    (shown,) = [m.text for m in reply.messages if m.kind == "summary"]
    return shown


def changed_lines(reply: Reply) -> list[str]:
    return [line for line in summary(reply).splitlines() if "changed" in line]


def to_summary(chat: Chat) -> Reply:
    reply = chat.say("JD tomorrow 3pm by text 617 555 0101, intake packet, he's in LA")
    assert reply.requested_slot == "payment_required", reply.text
    reply = chat.say("yes")
    reply = chat.click(reply, "Initial consultation")
    reply = chat.say("ok")
    assert reply.phase == "confirm", reply.text
    assert changed_lines(reply) == []
    return reply


def test_every_slot_corrected_at_the_summary_is_said_back_and_stored(paying: Chat, clock) -> None:
    to_summary(paying)
    corrections = [
        ("actually make it friday", "Date: Wednesday, November 25 → Friday, November 27.", "When"),
        ("make it 4pm instead", "Time: 3:00 PM → 4:00 PM.", "When"),
        ("push it back 30 minutes", "Time: 4:00 PM → 4:30 PM.", "When"),
        ("an hour earlier", "Time: 4:30 PM → 3:30 PM.", "When"),
        ("not JD, it should be JT", "Participant: JD → JT.", "Participant"),
        ("her cell is actually 212 555 0188", "Phone: +1 617-555-0101 → +1 212-555-0188.",
         "Invitation"),
        ("he's in Phoenix",
         "Participant's time zone: Pacific (America/Los_Angeles) → Arizona (America/Phoenix).",
         "time zone"),
        ("no paperwork", "Documents: Intake packet → none.", "Documents"),
        ("include the consent form", "Documents: none → Telehealth consent.", "Documents"),
        ("make it a follow-up", "Service: Initial consultation → Follow-up session.", "Payment"),
        ("charge 75 instead", "Amount: $120.00 → $75.00.", "Payment"),
    ]  # fmt: skip
    for text, ack, line in corrections:
        reply = paying.say(text)
        assert ack in acks(reply), (text, reply.text)
        assert reply.phase == "confirm", (text, reply.text)
        assert [changed for changed in changed_lines(reply) if line in changed], (text, reply.text)
    assert "Follow-up session, $75.00" in reply.text
    assert saved_sessions(paying) == []
    paying.say("save")
    (session,) = saved_sessions(paying)
    assert session.participant == "JT"
    assert session.start_at.isoformat() == "2026-11-27T20:30:00+00:00"  # Fri 3:30 PM Eastern
    assert (session.invite_channel, session.phone) == ("sms", "+12125550188")
    assert session.participant_tz == "America/Phoenix"
    assert session.documents == "consent"
    assert (session.service, session.amount_cents) == ("followup", 7500)


def test_switching_channel_asks_for_the_missing_address_then_keeps_both(
    chat_any: Chat, clock
) -> None:
    chat_any.say("JD tomorrow 3pm by text 617 555 0101, no forms")
    reply = chat_any.say("same")
    assert reply.phase == "confirm"
    reply = chat_any.say("switch to e-mail")
    assert "Invitation: text message → e-mail." in acks(reply)
    assert reply.requested_slot == "email" and "e-mail address" in reply.text
    reply = chat_any.say("jd@example.com")
    assert reply.phase == "confirm"
    assert "E-mail to jd@example.com" in summary(reply)
    reply = chat_any.say("send it by text instead")
    assert "Invitation: e-mail → text message." in acks(reply)
    assert "Text message to +1 617-555-0101" in summary(reply)
    chat_any.say("save")
    (session,) = saved_sessions(chat_any)
    assert (session.invite_channel, session.phone) == ("sms", "+16175550101")


def test_a_switch_with_its_address_in_the_same_message_asks_nothing(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 3pm no invitation, no documents")
    chat.say("same")
    reply = chat.say("switch to e-mail, jd.new@example.com")
    assert reply.phase == "confirm"
    assert "Invitation: no invitation → e-mail." in acks(reply)
    assert "E-mail to jd.new@example.com" in summary(reply)


def test_the_email_correction_at_the_summary(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 3pm by email jd@example.com, no forms")
    chat.say("same")
    reply = chat.say("the address should be dana.k@clinic.example")
    assert "E-mail: jd@example.com → dana.k@clinic.example." in acks(reply)
    chat.say("save")
    (session,) = saved_sessions(chat)
    assert session.email == "dana.k@clinic.example"


def test_change_the_x_to_y_changes_that_slot_and_no_other(chat: Chat, clock) -> None:
    """ "change the zone to London" once made London the participant's name, and "change
    the time to 11" dropped the 11 and asked the time again: what follows "change the X
    to" answers X."""
    chat.say("JD tomorrow 3pm by email jd@example.com, no forms")
    reply = chat.say("same")
    assert reply.phase == "confirm", reply.text
    reply = chat.say("change the zone to London")
    assert reply.phase == "confirm", reply.text
    assert "Participant's time zone: Eastern (America/New_York) → London (Europe/London)." in acks(
        reply
    )
    assert "• Participant: JD" in summary(reply)
    reply = chat.say("change the time to 11")
    assert reply.phase == "confirm", reply.text
    assert "Time: 3:00 PM → 11:00 AM." in acks(reply)
    chat.say("save")
    (session,) = saved_sessions(chat)
    assert (session.participant, session.participant_tz) == ("JD", "Europe/London")
    assert session.start_at.astimezone(EASTERN_ZONE).hour == 11


def test_words_the_bot_cannot_place_are_said_back_and_change_nothing(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 3pm no invitation, no documents")
    before = summary(chat.say("same"))
    reply = chat.say("blorp zing")
    assert "I didn't understand “blorp zing”." in notes(reply)
    assert summary(reply) == before
    assert acks(reply) == []


def test_a_change_and_save_in_one_message_shows_the_change_before_saving(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 3pm no invitation, no documents")
    chat.say("same")
    reply = chat.say("make it 4pm and save")
    assert reply.saved_session_id is None and reply.phase == "confirm"
    assert "4:00 PM" in summary(reply)
    assert saved_sessions(chat) == []
    chat.say("save")
    (session,) = saved_sessions(chat)
    assert session.start_at.isoformat() == "2026-11-25T21:00:00+00:00"


def test_next_thursday_offers_the_week_after_with_a_button(chat: Chat, clock) -> None:
    reply = chat.say("JD next thursday 3pm, no invitation, no documents")
    (offer,) = [m for m in reply.messages if m.kind == "note" and m.buttons]
    assert "Thursday, November 26" in offer.text and "Thursday, December 3" in offer.text
    reply = chat.click(reply, "Thursday, December 3")
    reply = chat.say("same")
    assert "Thu, Dec 3, 2026, 3:00 PM" in summary(reply)


def test_a_city_in_several_zones_is_asked_with_buttons(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 3pm no invitation, no documents")
    reply = chat.say("Springfield")
    assert "Which Springfield" in reply.text
    reply = chat.click(reply, "Springfield, MA")
    assert reply.phase == "confirm"
    assert "Eastern (America/New_York)" in summary(reply)


def test_a_time_with_another_zone_is_that_zones_time(chat: Chat, clock) -> None:
    reply = chat.say("JD tomorrow 4:30pm central, no invitation, no documents")
    assert "4:30 PM Central is 5:30 PM your time." in notes(reply)
    assert reply.phase == "confirm"
    assert "Wed, Nov 25, 2026, 5:30 PM EST (your time)" in summary(reply)
    assert "Central (America/Chicago)" in summary(reply)


def test_stray_words_never_become_the_participant(chat: Chat, clock) -> None:
    reply = chat.say("book a session please")
    assert reply.requested_slot == "date"
    reply = chat.say("schedule sth for thu 4pm")
    assert reply.requested_slot == "participant"
    reply = chat.say("that's for Mr. Alvarez")
    assert chat.state().slots["participant"] == "Mr. Alvarez"
    chat.say("no invite")
    reply = chat.say("same as mine")
    reply = chat.say("skip documents")
    assert reply.phase == "confirm"
    reply = chat.say("include the consent form")
    assert "Participant: Mr. Alvarez" in summary(reply)
    assert "Documents: Telehealth consent" in summary(reply)


def test_a_known_contact_typed_in_lower_case_is_recognised(chat: Chat, clock) -> None:
    chat.say("Jane Doe tomorrow 3pm by text 617 555 0101, no forms")
    chat.say("same")
    chat.say("save")
    reply = chat.say("jane doe friday 10am")
    slots = chat.state().slots
    assert slots["participant"] == "Jane Doe"
    assert slots["phone"] == "+16175550101"
    assert not any("didn't understand" in n for n in notes(reply))


def test_moving_a_time_before_there_is_one_says_so(chat: Chat, clock) -> None:
    chat.say("schedule")
    reply = chat.say("an hour later")
    assert "no time yet" in reply.text


def test_a_shift_past_midnight_moves_the_date(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 11pm no invitation, no documents")
    chat.say("same")
    reply = chat.say("push it back 2 hours")
    assert "Time: 11:00 PM → 1:00 AM." in acks(reply)
    assert "Thu, Nov 26, 2026, 1:00 AM" in summary(reply)


def test_save_refuses_a_draft_that_differs_from_the_summary_shown(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 3pm no invitation, no documents")
    chat.say("same")
    state = chat.state()
    shown = state.slots["summary_shown"]
    assert isinstance(shown, dict) and shown["time"] == "15:00"
    with chat.parts.store.unit() as s:  # a draft changed behind the clinician's back
        clinician = clinician_rows.get_clinician(s, chat.who.team_id, chat.who.user_id)
        state.slots["time"] = "16:00"
        clinician_rows.save_tracker(s, clinician.id, state.to_json())
    reply = chat.say("save")
    assert reply.saved_session_id is None
    assert "changed since the summary" in reply.text
    assert "4:00 PM" in summary(reply)
    assert saved_sessions(chat) == []
    assert chat.say("save").saved_session_id


def test_an_address_for_another_channel_is_not_dropped_without_a_word(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 3pm by email jd@example.com, no forms")
    chat.say("same")
    reply = chat.say("her cell is actually 212 555 0188")
    assert any("goes by e-mail, so I didn't use that number" in n for n in notes(reply))
    reply = chat.say("send it by text, 212 555 0188")
    assert "Invitation: e-mail → text message." in acks(reply)
    assert "Text message to +1 212-555-0188" in summary(reply)


def test_an_unplaced_word_may_be_named_the_participant_with_a_button(chat: Chat, clock) -> None:
    reply = chat.say("tmrw 2p blorpx no invite no forms")
    (offer,) = [m for m in reply.messages if m.kind == "note"]
    assert offer.text == "I didn't understand “blorpx”."
    reply = chat.click(reply, "“blorpx” is the participant")
    assert chat.state().slots["participant"] == "blorpx"
    assert reply.requested_slot == "participant_tz"


def test_lower_case_initials_opening_a_message_are_the_participant(chat: Chat, clock) -> None:
    reply = chat.say("jd tmrw 2p no invite no forms")
    assert chat.state().slots["participant"] == "jd"
    assert not notes(reply)


def test_a_name_stops_at_a_comma(chat: Chat, clock) -> None:
    reply = chat.say("tomorrow 9am with Lee Chen, text +1 (415) 555-0123, she's in SF, no docs")
    slots = chat.state().slots
    assert (slots["participant"], slots["invite_channel"]) == ("Lee Chen", "sms")
    assert slots["participant_tz"] == "America/Los_Angeles"
    assert reply.phase == "confirm"
    reply = chat.say("she's actually in Phoenix")
    assert (
        "Participant's time zone: Pacific (America/Los_Angeles) → Arizona (America/Phoenix)."
        in (acks(reply))
    )


def test_at_7_is_asked_when_the_practice_sees_clients_at_both_7s(
    tmp_path: Path, sqlite_store, clock
) -> None:
    practice = tmp_path / "practice.toml"
    practice.write_text('name = "Early and late"\n[working_hours]\nstart = 6\nend = 22\n')
    settings = make_settings(tmp_path, SESSIONBOT_PRACTICE_FILE=str(practice))
    chat = Chat(
        build(settings, store=sqlite_store), Who("T_TEST", "U_CLIN1", tz="America/New_York")
    )
    reply = chat.say("JD tomorrow at 7, no invite, no documents")
    assert "Do you mean 7:00 AM or 7:00 PM?" in reply.text
    reply = chat.click(reply, "7:00 PM")
    assert chat.state().slots["time"] == "19:00"


def test_payment_dropped_and_added_back_at_the_summary(paying: Chat, clock) -> None:
    to_summary(paying)
    reply = paying.say("actually no payment for this one")
    assert "Payment: required → not required." in acks(reply)
    assert "Payment: not required" in summary(reply)
    reply = paying.say("require payment")
    assert reply.requested_slot == "service"


def test_an_answer_to_another_question_is_said_not_taken_silently(chat: Chat, clock) -> None:
    chat.say("with JD tomorrow at 3 by text")
    reply = chat.say("he's in Berlin")
    assert "Participant's time zone: Berlin (Europe/Berlin)." in acks(reply)
    assert reply.requested_slot == "phone"
    reply = chat.say("030 1234567")  # a Berlin number, read in the participant's country
    assert chat.state().slots["phone"] == "+49301234567"


def test_back_at_the_summary_marks_the_line_it_changed_back(chat_any: Chat, clock) -> None:
    chat_any.say("JD tomorrow 3pm no invitation, no documents")
    chat_any.say("same")
    moved = chat_any.say("actually the day after")
    assert "Date: Wednesday, November 25 → Thursday, November 26." in moved.text
    reply = chat_any.say("back")
    assert reply.messages[0].text == "Going back."
    lines = summary(reply).splitlines()
    when = next(line for line in lines if "When:" in line)
    assert "Wed, Nov 25, 2026, 3:00 PM EST" in when and "changed" in when
    assert not any("changed" in line for line in lines if "When:" not in line)
    assert chat_any.say("save").saved_session_id


def test_pm_alone_moves_the_drafts_time_to_the_other_half_of_the_day(chat: Chat, clock) -> None:
    chat.say("JD tomorrow at 8, no invitation, eastern, no documents")
    reply = chat.say("pm")
    assert "Time: 8:00 AM → 8:00 PM." in reply.text
    assert "8:00 PM EST" in summary(reply)
    again = chat.say("pm")  # already in the afternoon: nothing changes, nothing is said
    assert [m.kind for m in again.messages] == ["summary"]
    assert "Time: 8:00 PM → 8:00 AM." in chat.say("in the morning").text
    chat.say("save")
    (session,) = saved_sessions(chat)
    assert session.start_at.astimezone(EASTERN_ZONE).hour == 8


def test_an_amount_given_while_the_service_is_asked_is_said_back(paying: Chat, clock) -> None:
    paying.say("JD tomorrow 3pm no invitation, eastern, no documents")
    assert paying.say("yes").requested_slot == "service"
    reply = paying.say("change the price to 110.50")
    assert reply.messages[0].text == "Amount: $110.50."
    assert reply.requested_slot == "service"
    reply = paying.click(reply, "Follow-up session")
    assert "Follow-up session, $110.50" in summary(reply)
