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

from dialogue.runner import Reply
from store import repos


def stored(chat: Chat) -> list:
    with chat.parts.store.unit() as s:
        clinician = repos.get_clinician(s, chat.who.team_id, chat.who.user_id)
        return repos.list_sessions(s, clinician.id, include_cancelled=True)


def start(session) -> datetime:  # type: ignore[no-untyped-def]
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
