"""Whole conversations in the styles clinicians really type in: dictated into a phone,
terse mobile typing, English as a second language; and the paths that must never store a
session silently (a refusal at the summary, a second thought inside one answer, a role or
short form next to a name, a non-answer to the name question, a value typed at the wrong
question). Judged by the session stored, on SQLite and PostgreSQL.

The phrases are our own, written from issue 18's descriptions."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import Chat

from dialogue.turn_io import ParseData, Reply
from store import clinician_rows, session_rows
from store.models import ScheduledSession


def stored(chat: Chat) -> list:
    with chat.parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, chat.who.team_id, chat.who.user_id)
        return session_rows.list_sessions(s, clinician.id, include_cancelled=True)


def start(session: ScheduledSession) -> datetime:
    return session.start_at.astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None)


def to_summary(chat: Chat) -> Reply:
    reply = chat.say("JD tomorrow 3pm by text 617 555 0101, no forms, same zone as me")
    assert reply.phase == "confirm", reply.text
    return reply


# --- never stored silently ---------------------------------------------------------------

REFUSALS = [
    "don't save",
    "Don't save it yet",
    "do not send it yet",
    "no, not yet",
    "not yet",
    "hold off",
    "hold on a sec",
    "wait",
    "wait, I need to check something",
    "no",
    "dont save this",
    "I don't want to save it yet",
    "do not book it",
    "don’t submit",
    "hang on",
    "later",
    "let me check with her first",
    "not now",
    "✋",
]


@pytest.mark.parametrize("refusal", REFUSALS)
def test_a_refusal_at_the_summary_saves_nothing_and_says_so(
    chat_any: Chat, clock, refusal: str
) -> None:
    to_summary(chat_any)
    reply = chat_any.say(refusal)
    assert stored(chat_any) == [], (refusal, reply.text)
    assert "not saved" in reply.text.lower(), (refusal, reply.text)
    reply = chat_any.say("save")  # the draft is still there, and saves when told
    (session,) = stored(chat_any)
    assert session.participant == "JD"


def test_dont_cancel_it_keeps_the_draft(chat_any: Chat, clock) -> None:
    to_summary(chat_any)
    reply = chat_any.say("don't cancel it")
    assert "not cancelled" in reply.text.lower(), reply.text
    assert reply.phase == "confirm"
    chat_any.say("save")
    assert [s.participant for s in stored(chat_any)] == ["JD"]


def test_a_refusal_in_the_middle_of_the_form_keeps_the_answers(chat_any: Chat, clock) -> None:
    chat_any.say("JD tomorrow 3pm")
    reply = chat_any.say("don't cancel, wait")
    assert reply.phase == "form" and reply.requested_slot == "invite_channel", reply.text
    assert stored(chat_any) == []


def test_dashboard_words_refused_do_nothing(chat_any: Chat, clock) -> None:
    to_summary(chat_any)
    chat_any.say("save")
    reply = chat_any.say("don't book the same time next week")
    assert len(stored(chat_any)) == 1, reply.text


def test_a_second_thought_inside_one_answer_takes_the_last_value_and_says_both(
    chat_any: Chat, clock
) -> None:
    reply = chat_any.say("JD tomorrow at 3, sorry, 4")
    assert "You said 3:00 PM, then 4:00 PM: I took 4:00 PM." in reply.text
    reply = chat_any.say("text her... actually e-mail")
    assert "You said text message, then e-mail" in reply.text
    assert reply.requested_slot == "email", reply.text
    chat_any.say("jd@example.com")
    reply = chat_any.say("Austin, no wait, Phoenix")
    assert "You said Central (America/Chicago), then Arizona (America/Phoenix)" in reply.text
    chat_any.say("no forms")
    chat_any.say("save")
    (session,) = stored(chat_any)
    assert start(session) == datetime(2026, 11, 25, 16, 0)
    assert (session.invite_channel, session.email) == ("email", "jd@example.com")
    assert session.participant_tz == "America/Phoenix"


@pytest.mark.parametrize("non_answer", ["none", "n/a", "skip", "idk", "same", "pt"])
def test_a_non_answer_to_the_name_question_is_no_name(
    chat_any: Chat, clock, non_answer: str
) -> None:
    reply = chat_any.say("tomorrow 3pm")
    assert reply.requested_slot == "participant", reply.text
    reply = chat_any.say(non_answer)
    assert reply.requested_slot == "participant", (non_answer, reply.text)
    assert "isn't a name" in reply.text
    chat_any.say("Ana Ruiz")
    chat_any.say("no invite")
    chat_any.say("same")
    chat_any.say("none")
    chat_any.say("save")
    (session,) = stored(chat_any)
    assert session.participant == "Ana Ruiz"


def test_a_date_typed_at_the_time_question_is_the_date(chat_any: Chat, clock) -> None:
    reply = chat_any.say("schedule a session")
    reply = chat_any.say("tomorrow")
    assert reply.requested_slot == "time"
    reply = chat_any.say("jan 9")
    assert reply.requested_slot == "time", reply.text  # not 9 AM
    assert "January 9" in reply.text
    reply = chat_any.say("4 45 pm")
    assert reply.requested_slot == "participant", reply.text
    for answer in ("JD", "no invitation", "same", "none", "save"):
        chat_any.say(answer)
    (session,) = stored(chat_any)
    assert start(session) == datetime(2027, 1, 9, 16, 45)


# --- dictated ----------------------------------------------------------------------------


def test_dictated_conversation(chat_any: Chat, clock) -> None:
    reply = chat_any.say(
        "Schedule a session with Jane Smith comma tomorrow at four fifteen p m period"
    )
    assert reply.requested_slot == "invite_channel", reply.text
    reply = chat_any.say("by text comma her number is six one seven five five five zero one "
                         "zero one period")  # fmt: skip
    assert reply.requested_slot == "participant_tz", reply.text
    reply = chat_any.say("Chicago period")
    reply = chat_any.say("no forms period")
    assert reply.phase == "confirm", reply.text
    reply = chat_any.say("save period")
    (session,) = stored(chat_any)
    assert session.participant == "Jane Smith"
    assert start(session) == datetime(2026, 11, 25, 16, 15)
    assert (session.invite_channel, session.phone) == ("sms", "+16175550101")
    assert session.participant_tz == "America/Chicago"


def test_dictated_date_and_time_words(chat_any: Chat, clock) -> None:
    reply = chat_any.say("Sam Lee on the twenty third at half past six in the evening new line")
    assert reply.requested_slot == "invite_channel", reply.text
    for answer in ("no invite period", "same", "none period", "save"):
        chat_any.say(answer)
    (session,) = stored(chat_any)
    assert session.participant == "Sam Lee"
    assert start(session) == datetime(2026, 12, 23, 18, 30)


# --- terse mobile typing -----------------------------------------------------------------


def test_terse_one_line_booking_fills_every_slot_it_names(chat_any: Chat, clock) -> None:
    reply = chat_any.say("tmw 10a with CD eml cd@example.com cst no docs")
    assert reply.phase == "confirm", reply.text
    reply = chat_any.say("👍")
    (session,) = stored(chat_any)
    assert session.participant == "CD"
    assert start(session) == datetime(2026, 11, 25, 10, 0)
    assert (session.invite_channel, session.email) == ("email", "cd@example.com")
    assert session.participant_tz == "America/Chicago"
    assert session.documents is None or session.documents == "none"


def test_terse_roles_and_short_forms_are_never_the_name(chat_any: Chat, clock) -> None:
    reply = chat_any.say("appt w/ pt JD thurs 2p pls")
    assert reply.requested_slot == "invite_channel", reply.text
    reply = chat_any.say("txt 617 555 0101 w/o docs")
    assert reply.requested_slot == "participant_tz", reply.text
    reply = chat_any.say("mst")
    chat_any.say("save thx")
    (session,) = stored(chat_any)
    assert session.participant == "JD"
    assert start(session) == datetime(2026, 11, 26, 14, 0)
    assert session.participant_tz in ("America/Denver", "America/Phoenix")


# --- English as a second language --------------------------------------------------------


def test_second_language_conversation(chat_any: Chat, clock) -> None:
    reply = chat_any.say("I want to make session with Mr. Ahmed the 4 of december at 16h45")
    assert reply.requested_slot == "invite_channel", reply.text
    reply = chat_any.say("please to send e-mail, ahmed@example.com")
    assert reply.requested_slot == "participant_tz", reply.text
    reply = chat_any.say("he is staying in Bombay")
    assert reply.requested_slot == "documents", reply.text
    reply = chat_any.say("no need of forms")
    assert reply.phase == "confirm", reply.text
    chat_any.say("save")
    (session,) = stored(chat_any)
    assert session.participant == "Mr. Ahmed"
    assert start(session) == datetime(2026, 12, 4, 16, 45)
    assert session.participant_tz == "Asia/Kolkata"


def test_european_clock_and_day_month_dates(chat_any: Chat, clock) -> None:
    reply = chat_any.say("Lina, 4th december, at 10.15, no invitation")
    assert reply.requested_slot == "participant_tz", reply.text
    chat_any.say("she lives in Madras")
    chat_any.say("none")
    chat_any.say("save")
    (session,) = stored(chat_any)
    assert session.participant == "Lina"
    assert start(session) == datetime(2026, 12, 4, 10, 15)
    assert session.participant_tz == "Asia/Kolkata"


# --- dates and times as people write them; "her time"; bare answers ------------------------

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("America/New_York"))
WRITTEN = [
    ("the second monday of next month", "date", "2026-12-14"),
    ("the 20th of next month", "date", "2026-12-20"),
    ("the last friday in january", "date", "2027-01-29"),
    ("2 weeks from friday", "date", "2026-12-11"),
    ("three days after tomorrow", "date", "2026-11-28"),
    ("a week hence", "date", "2026-12-01"),
    ("Nov/3", "date", "2027-11-03"),
    ("2027-jan-05", "date", "2027-01-05"),
    ("3-14", "date", "2027-03-14"),
    ("the 5th of may in 2028", "date", "2028-05-05"),
    ("the 4 of april", "date", "2027-04-04"),
    ("4th april", "date", "2027-04-04"),
    ("this morning at 6", "time", "06:00"),
    ("tomorrow evening at 7", "time", "19:00"),
    ("a quarter to one", "time", "12:45"),
    ("at 4 10", "time", "16:10"),
    ("4 45 pm", "time", "16:45"),
    ("16h", "time", "16:00"),
    ("16h45", "time", "16:45"),
    ("at 8h", "time", "08:00"),
    ("at 10.15", "time", "10:15"),
    ("eight a m", "time", "08:00"),
    ("four fifteen p m", "time", "16:15"),
    ("half past six in the evening", "time", "18:30"),
    ("in 45 minutes", "time", "10:45"),
    ("at 0900", "time", "09:00"),
    ("1500 hrs", "time", "15:00"),
    ("in an hour and a half", "time", "11:30"),
    ("the twenty third", "date", "2026-12-23"),
    ("charge one hundred twenty", "amount", "120.00"),
    ("call six one seven five five five zero one zero one", "phone", "+16175550101"),
    ("e-mail her at maria dot lopez at gmail dot com", "email", "maria.lopez@gmail.com"),
    ("jane underscore doe at example dot org period", "email", "jane_doe@example.org"),
]


@pytest.mark.parametrize(("text", "slot", "value"), WRITTEN)
def test_dates_and_times_as_people_write_them(text: str, slot: str, value: str) -> None:
    from actions.extraction import extract
    from dialogue.slots import encode

    found = extract(text, now=NOW)
    assert encode(found.slots()).get(slot) == value, (text, found)


@pytest.mark.parametrize("text", ["4 45 pm", "at 4 15", "four fifteen p m"])
def test_a_time_is_never_stored_as_its_hour_alone(text: str) -> None:
    from actions.extraction import extract

    found = extract(f"JD {text}", now=NOW)
    assert found.time is None or found.time.minute != 0, (text, found)


def test_her_time_with_the_zone_in_the_same_message(chat_any: Chat, clock) -> None:
    reply = chat_any.say("Sam is in chicago, the 20th at 10am her time")
    assert "10:00 AM Central is 11:00 AM your time." in reply.text
    for answer in ("no invite", "none", "save"):
        chat_any.say(answer)
    (session,) = stored(chat_any)
    assert session.participant == "Sam"
    assert session.participant_tz == "America/Chicago"
    assert start(session) == datetime(2026, 12, 20, 11, 0)


def test_the_bots_own_hint_shape_is_read(chat_any: Chat, clock) -> None:
    chat_any.say("JD tomorrow 9am seattle, no invite, no forms")
    chat_any.say("save")
    (session,) = stored(chat_any)
    assert session.participant_tz == "America/Los_Angeles"
    assert start(session) == datetime(2026, 11, 25, 12, 0)


def test_a_bare_city_opening_a_message_is_asked_about(chat_any: Chat, clock) -> None:
    reply = chat_any.say("Paris, tomorrow 3pm")
    assert "Is “Paris” the participant, or the city they're in?" in reply.text
    reply = chat_any.click(reply, "Paris is where they are")
    assert reply.requested_slot == "participant", reply.text
    for answer in ("Jo", "don't notify her", "none", "save"):
        chat_any.say(answer)
    (session,) = stored(chat_any)
    assert (session.participant, session.participant_tz) == ("Jo", "Europe/Paris")
    assert session.invite_channel == "none"


def test_a_city_alone_at_the_zone_question_is_the_zone(chat_any: Chat, clock) -> None:
    reply = chat_any.say("JD tomorrow 3pm, don't send anything")
    assert reply.requested_slot == "participant_tz", reply.text
    chat_any.say("Osaka")
    chat_any.say("none")
    chat_any.say("save")
    (session,) = stored(chat_any)
    assert (session.participant, session.participant_tz) == ("JD", "Asia/Tokyo")
    assert session.invite_channel == "none"


def test_a_classifiers_hold_for_a_booking_hands_it_to_the_form(chat_any: Chat, clock) -> None:
    """On a Rasa server, a classifier may call a dictated booking a refusal: the hold
    action finds no refusal in the words and hands them to the form, which reads them."""
    chat_any.say("schedule")
    state = chat_any.parts.runner.state_of(chat_any.who)
    assert state is not None
    text = "with JD tomorrow at four fifteen p m comma no forms period"
    latest: ParseData = {
        "text": text,
        "intent": {"name": "hold", "confidence": 0.6},
        "entities": [],
    }
    events, responses = chat_any.parts.runner.call_action("action_hold", state, latest)
    assert events == [{"event": "followup", "timestamp": None, "name": "schedule_form"}]
    assert responses == []
    events, _ = chat_any.parts.runner.call_action("validate_schedule_form", state, latest)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert (slots.get("participant"), slots.get("time")) == ("JD", "16:15"), events
    # A refusal the classifier calls a hold stays one.
    latest = {"text": "don't save", "intent": {"name": "hold", "confidence": 0.9}, "entities": []}
    events, responses = chat_any.parts.runner.call_action("action_hold", state, latest)
    assert events == [] and responses[0]["response"] == "utter_not_saved_yet"


def test_answers_at_each_question_in_terse_and_second_language_forms(chat_any: Chat, clock) -> None:
    chat_any.say("schedule")
    chat_any.say("the 4 of december")
    chat_any.say("at 4 in afternoon")
    reply = chat_any.say("with Mr Ahmed pls")
    assert reply.requested_slot == "invite_channel", reply.text
    reply = chat_any.say("mumbai")  # the city, typed at the invitation question
    assert "Participant's time zone: India (Asia/Kolkata)." in reply.text
    assert reply.requested_slot == "invite_channel", reply.text
    reply = chat_any.say("txt pls")
    assert reply.requested_slot == "phone", reply.text
    reply = chat_any.say("+1 six one seven five five five zero one zero one")
    reply = chat_any.say("not necessary")
    assert reply.phase == "confirm", reply.text
    chat_any.say("ok thx")
    (session,) = stored(chat_any)
    assert session.participant == "Mr Ahmed"
    assert start(session) == datetime(2026, 12, 4, 16, 0)
    assert (session.invite_channel, session.phone) == ("sms", "+16175550101")
    assert session.participant_tz == "Asia/Kolkata"


@pytest.mark.parametrize("text", ["April, tomorrow 3pm", "with June tomorrow", "May 3 at 4pm"])
def test_a_month_name_is_never_a_participant(text: str) -> None:
    from actions.extraction import extract

    found = extract(text, now=NOW)
    assert found.participant is None, (text, found)


def test_a_number_valid_in_both_countries_is_taken_in_one_and_the_other_offered(
    chat_any: Chat, clock
) -> None:
    """ "617 555 0102" for a participant in Mumbai is a US number and an Indian one: the
    bot says which it took and offers the other with a button, never settling it silently."""
    reply = chat_any.say("Maria tomorrow 5pm, she is in bombay, by text 617 555 0102, no docs")
    assert "I read 617 555 0102 as +1 617-555-0102; if you meant +91 61755 50102, say so." in (
        reply.text
    )
    reply = chat_any.click(reply, "+91 61755 50102")
    assert "Phone: +1 617-555-0102 → +91 61755 50102." in reply.text
    chat_any.say("save")
    (session,) = stored(chat_any)
    assert session.phone == "+916175550102"


def test_a_number_valid_only_in_one_country_is_taken_without_a_question(
    chat_any: Chat, clock
) -> None:
    reply = chat_any.say("Sam tomorrow 5pm, he is in London, by text 07911 123456, no docs")
    assert "I read" not in reply.text and "if you meant" not in reply.text
    chat_any.say("save")
    (session,) = stored(chat_any)
    assert session.phone == "+447911123456"
