"""Whole conversations as a clinician has them, on the embedded runner and store."""

from __future__ import annotations

from pathlib import Path

import pytest
import time_machine
from conftest import Chat, at, make_settings

from dialogue.turn_io import Who
from sessionbot.wiring import build
from store import clinician_rows, session_rows
from store.db import Store


def saved_sessions(chat: Chat) -> list:
    with chat.parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, chat.who.team_id, chat.who.user_id)
        return session_rows.list_sessions(s, clinician.id, include_cancelled=True)


def errors(reply) -> list[str]:
    return [m.text for m in reply.messages if m.kind == "error"]


def test_one_shot_message_asks_only_for_what_is_missing(chat_any: Chat, clock) -> None:
    reply = chat_any.say("JD tomorrow 3pm by text +1 617 555 0101, intake packet")
    assert reply.requested_slot == "participant_tz"
    assert "time zone" in reply.text
    reply = chat_any.say("Pacific")
    assert reply.phase == "confirm"
    assert "12:00 PM PST for JD" in reply.text
    reply = chat_any.say("save")
    assert reply.saved_session_id
    (session,) = saved_sessions(chat_any)
    assert session.phone == "+16175550101"
    assert session.participant_tz == "America/Los_Angeles"
    assert session.start_at.isoformat() == "2026-11-25T20:00:00+00:00"
    assert session.documents == "intake"
    saved = reply.messages[-1].custom
    enter = saved["enter_meeting_url"]
    assert isinstance(enter, str) and enter.startswith("https://sessions.example.test/enter/")


def test_answering_one_question_at_a_time_with_an_email_invitation(chat: Chat, clock) -> None:
    reply = chat.say("schedule")
    assert reply.requested_slot == "date"
    assert chat.say("next Tuesday").requested_slot == "time"
    assert chat.say("9:30 am").requested_slot == "participant"
    reply = chat.say("Jane Doe")
    assert reply.requested_slot == "invite_channel"
    reply = chat.click(reply, "E-mail")
    assert reply.requested_slot == "email"
    assert chat.say("jane.doe@example.com").requested_slot == "participant_tz"
    reply = chat.say("same")
    assert reply.requested_slot == "documents"
    reply = chat.click(reply, "Telehealth consent")
    assert reply.phase == "confirm"
    assert "E-mail to jane.doe@example.com" in reply.text
    assert "Tue, Dec 1, 2026, 9:30 AM EST" in reply.text
    chat.click(reply, "Save")
    (session,) = saved_sessions(chat)
    assert (session.participant, session.email, session.invite_channel) == (
        "Jane Doe",
        "jane.doe@example.com",
        "email",
    )
    assert session.phone is None
    assert session.documents == "consent"


def test_nothing_is_stored_before_save_and_save_twice_makes_one_session(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 3pm no invitation, no documents")
    reply = chat.say("same")
    assert reply.phase == "confirm"
    assert saved_sessions(chat) == []
    first = chat.say("save")
    second = chat.say("save")
    assert first.saved_session_id
    assert "already saved" in second.text
    assert len(saved_sessions(chat)) == 1


@pytest.mark.parametrize(
    ("slot_answers", "bad", "expected"),
    [
        ([], "yesterday", "in the past"),
        ([], "Feb 30", "30"),
        (["tomorrow", "3pm"], "J", "at least 2 characters"),
        (["tomorrow", "3pm", "JD", '/inform{"invite_channel":"sms"}'], "555-01", "phone"),
        (["tomorrow", "3pm", "JD", '/inform{"invite_channel":"email"}'], "jd@", "domain"),
        (["tomorrow", "3pm", "JD", "no invitation"], "Mars", "time zone"),
    ],
)
def test_a_bad_answer_gets_one_friendly_message_and_loses_nothing(
    chat: Chat, clock, slot_answers: list[str], bad: str, expected: str
) -> None:
    chat.say("schedule")
    for answer in slot_answers:
        chat.say(answer)
    before = chat.state().slots
    asked = before["requested_slot"]
    reply = chat.say(bad)
    assert len(reply.messages) == 1, reply.text
    assert expected.lower() in reply.text.lower()
    after = chat.state().slots
    assert after["requested_slot"] == asked
    for slot in ("date", "time", "participant", "invite_channel"):
        assert after.get(slot) == before.get(slot)


def test_past_time_today_is_refused(chat: Chat, clock) -> None:
    chat.say("today")
    reply = chat.say("9am")
    assert errors(reply) and "already passed" in reply.text
    assert chat.say("11am").requested_slot == "participant"


def test_a_correction_mid_form_changes_the_earlier_answer(chat: Chat, clock) -> None:
    chat.say("tomorrow 3pm")
    reply = chat.say("make it 4pm instead")
    assert "Time: 3:00 PM → 4:00 PM." in reply.text
    assert reply.requested_slot == "participant"
    assert chat.state().slots["time"] == "16:00"


def test_change_from_the_summary_asks_that_slot_again(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 3pm no invitation no documents")
    reply = chat.say("same")
    assert reply.phase == "confirm"
    reply = chat.say("change the date")
    assert reply.requested_slot == "date"
    reply = chat.say("Dec 3")
    assert reply.phase == "confirm"
    assert "Thu, Dec 3, 2026, 3:00 PM" in reply.text


def test_three_misses_explain_the_accepted_forms(chat: Chat, clock) -> None:
    chat.say("schedule")
    chat.say("blurg")
    chat.say("florp")
    reply = chat.say("zzz")
    assert "Dates I understand" in reply.text
    assert "cancel" in reply.text


def test_empty_line_and_gibberish_get_one_message(chat: Chat, clock) -> None:
    chat.say("schedule")
    reply = chat.say("   ")
    assert len(reply.messages) == 1 and "didn't get anything" in reply.text
    assert chat.state().slots["requested_slot"] == "date"


def test_back_start_over_cancel_and_help(chat: Chat, clock) -> None:
    chat.say("tomorrow")
    chat.say("3pm")
    reply = chat.say("back")
    assert reply.requested_slot == "time"
    assert "help" not in reply.text.lower()
    assert "Answer each question" in chat.say("help").text
    reply = chat.say("start over")
    assert reply.requested_slot == "date"
    assert chat.state().slots.get("date") is None
    assert "Nothing was saved" in chat.say("cancel").text
    assert "nothing in progress" in chat.say("cancel").text


def test_restart_in_the_middle_continues_where_it_was(settings, sqlite_store: Store, clock) -> None:
    who = Who("T_TEST", "U_CLIN1", tz="America/New_York")
    build(settings, store=sqlite_store).runner.handle(who, "JD tomorrow 3pm")
    restarted = build(settings, store=sqlite_store)  # a new process on the same store
    reply = restarted.runner.handle(who, "by text 617 555 0101")
    assert reply.requested_slot == "participant_tz"
    state = restarted.runner.state_of(who)
    assert state is not None and state.slots["participant"] == "JD"


def test_a_retried_turn_does_nothing_twice(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 3pm no invitation no documents")
    chat.say("same")
    first = chat.say("save", turn_id="Ev1")
    retry = chat.say("save", turn_id="Ev1")
    assert first.saved_session_id and retry.duplicate and not retry.messages
    assert len(saved_sessions(chat)) == 1


def test_a_known_contact_fills_channel_phone_and_zone(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 3pm by text +1 617 555 0101, intake packet")
    chat.say("Pacific")
    chat.say("save")
    reply = chat.say("JD Friday 10am")
    assert reply.requested_slot == "documents"
    slots = chat.state().slots
    assert slots["invite_channel"] == "sms"
    assert slots["phone"] == "+16175550101"
    assert slots["participant_tz"] == "America/Los_Angeles"


def test_two_clinicians_never_share_a_conversation_or_sessions(parts, clock) -> None:
    one = Chat(parts, Who("T_TEST", "U_ONE", tz="America/New_York"))
    two = Chat(parts, Who("T_TEST", "U_TWO", tz="America/Chicago"))
    one.say("AB tomorrow 3pm")
    two.say("CD Friday 9am")
    assert parts.runner.state_of(one.who).slots["participant"] == "AB"
    assert parts.runner.state_of(two.who).slots["participant"] == "CD"
    one.say("no invitation")
    one.say("same")
    one.say("none")
    one.say("save")
    assert len(saved_sessions(one)) == 1 and saved_sessions(two) == []
    assert "no upcoming sessions" in two.say("sessions").text


def test_around_midnight_tomorrow_is_the_next_calendar_day(chat: Chat) -> None:
    with time_machine.travel(at("2026-11-24 23:50"), tick=False):
        reply = chat.say("tomorrow 9am")
        assert reply.requested_slot == "participant"
        assert chat.state().slots["date"] == "2026-11-25"


def test_a_time_skipped_by_daylight_saving_is_refused(chat: Chat) -> None:
    with time_machine.travel(at("2027-03-01 10:00"), tick=False):
        reply = chat.say("March 14 2:30am")
        assert "doesn't exist" in reply.text
        assert chat.say("3:30am").requested_slot == "participant"


def test_payment_is_asked_when_the_practice_takes_payments(
    tmp_path: Path, sqlite_store, clock
) -> None:
    settings = make_settings(tmp_path, STRIPE_API_KEY="sk_test_not_a_real_key")
    chat = Chat(
        build(settings, store=sqlite_store), Who("T_TEST", "U_CLIN1", tz="America/New_York")
    )
    chat.say("JD tomorrow 3pm no invitation no documents")
    reply = chat.say("same")
    assert reply.requested_slot == "payment_required"
    reply = chat.say("yes")
    assert reply.requested_slot == "service"
    reply = chat.click(reply, "Follow-up session")
    assert "$120.00" in reply.text
    assert "more than $0" in chat.say("-20").text
    assert "maximum" in chat.say("$50000").text
    reply = chat.say("ok")
    assert reply.phase == "confirm"
    assert "Follow-up session, $120.00" in reply.text
    chat.say("save")
    (session,) = saved_sessions(chat)
    assert session.amount_cents == 12000 and session.payment_status == "pending"


def test_no_payment_step_without_stripe(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 3pm no invitation no documents")
    assert chat.say("same").phase == "confirm"


def test_concurrent_turns_of_one_clinician_never_lose_each_other(chat_any: Chat, clock) -> None:
    from concurrent.futures import ThreadPoolExecutor

    chat_any.say("schedule")
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(
            pool.map(
                lambda i: chat_any.parts.runner.handle(chat_any.who, "help", turn_id=f"t{i}"),
                range(12),
            )
        )
    assert all(not r.duplicate for r in replies)
    state = chat_any.state()
    assert {f"t{i}" for i in range(12)} <= set(state.turn_ids)


def test_an_error_offers_the_questions_choices_again_in_one_message(chat: Chat, clock) -> None:
    chat.say("JD tomorrow 3pm no invitation")
    reply = chat.say("Narnia")
    (message,) = reply.messages
    assert message.kind == "error" and "time zone" in message.text
    assert any(b.title.startswith("Pacific") for b in message.buttons)
    assert chat.click(reply, "Pacific").requested_slot == "documents"


def test_another_clinicians_contact_cannot_be_chosen(parts, clock) -> None:
    mine = Chat(parts, Who("T_TEST", "U_ONE", tz="America/New_York"))
    theirs = Chat(parts, Who("T_TEST", "U_TWO", tz="America/New_York"))
    theirs.say("Jane Doe tomorrow 3pm by text +1 617 555 0101, no documents")
    theirs.say("same")
    theirs.say("save")
    with parts.store.unit() as s:
        other = clinician_rows.get_clinician(s, "T_TEST", "U_TWO")
        (contact,) = clinician_rows.find_contacts(s, other.id)
        contact_id = contact.id
    mine.say("tomorrow 4pm")
    reply = mine.say(f'/inform{{"contact_id": {contact_id}}}')
    assert "can't find that contact" in reply.text
    assert parts.runner.state_of(mine.who).slots.get("phone") is None


def test_a_time_given_in_the_participants_zone_is_said_back_and_saved(
    chat_any: Chat, clock
) -> None:
    reply = chat_any.say(
        "set up a session next mon 9am with Priya, she's in London, text her on 07911 123456"
    )
    assert reply.requested_slot == "documents"  # the UK number was read as one
    reply = chat_any.say("consent")
    assert "Text message to +44 7911 123456" in reply.text
    reply = chat_any.say("make it 3pm her time")
    assert reply.messages[0].text == "3:00 PM London is 10:00 AM your time."
    assert "Time: 9:00 AM → 10:00 AM." in reply.text
    assert "Mon, Nov 30, 2026, 3:00 PM GMT for Priya" in reply.text
    chat_any.say("save")
    (session,) = saved_sessions(chat_any)
    assert session.start_at == at("2026-11-30 10:00")
    assert (session.phone, session.participant_tz) == ("+447911123456", "Europe/London")
