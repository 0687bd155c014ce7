"""Working hours: a start outside them is asked, never refused, in the conversation, the
Edit and Reschedule forms and for each occurrence of a series; a clinician's own hours
(said in words, or by `sessionbot hours`) win over the practice's default, in their own
zone. Frozen time: Tuesday 2026-11-24 10:00 Eastern (so "Sunday" is November 29)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Chat, at, make_settings
from fake_slack import FakeSlack, Person
from test_slack_home import (
    click_on_home,
    home_button,
    inputs,
    new_time,
    schedule_jd,
    sessions_of,
    submitted,
)
from test_slack_week import edit_values, latest_home

from dialogue.turn_io import Who
from ground.hours import HoursError, parse_hours
from scheduling import hours
from sessionbot import cli
from sessionbot.wiring import Parts, build
from store import clinician_rows, session_rows

WEEKDAYS_8_TO_6 = 'name = "Weekday practice"\nworking_hours = "Mon-Fri 08:00-18:00"\n'


def practice_chat(tmp_path: Path, store, text: str = WEEKDAYS_8_TO_6, *, user: str = "U_CLIN1",
                  tz: str = "America/New_York") -> Chat:  # fmt: skip
    practice = tmp_path / "practice.toml"
    practice.write_text(text)
    settings = make_settings(tmp_path, SESSIONBOT_PRACTICE_FILE=str(practice))
    return Chat(build(settings, store=store), Who("T_TEST", user, tz=tz))


def saved(chat: Chat) -> list:
    with chat.parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, chat.who.team_id, chat.who.user_id)
        return session_rows.list_sessions(s, clinician.id, include_cancelled=True)


def slots(chat: Chat) -> dict:
    state = chat.parts.runner.state_of(chat.who)
    assert state is not None
    return state.slots


# The one reading of an hours spec ----------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "spec"),
    [
        ("Mon-Thu 9-5", "Mon-Thu 09:00-17:00"),
        ("weekdays 8:30-17:00", "Mon-Fri 08:30-17:00"),
        ("Mon 9-12, Wed 13-17", "Mon 09:00-12:00, Wed 13:00-17:00"),
        ("9 to 5 mon-thu", "Mon-Thu 09:00-17:00"),
        ("Mon-Fri 9:00 AM - 5:00 PM", "Mon-Fri 09:00-17:00"),
        ("tue, thu 1-7pm", "Tue,Thu 13:00-19:00"),
        ("Sat 10-2", "Sat 10:00-14:00"),
        ("Mon-Fri 6-14", "Mon-Fri 06:00-14:00"),
        ("Mon 1-5", "Mon 13:00-17:00"),
    ],
)
def test_hours_are_read_as_people_write_them(said: str, spec: str) -> None:
    hours = parse_hours(said)
    assert hours.spec == spec
    assert parse_hours(hours.spec) == hours  # the stored form reads back the same


@pytest.mark.parametrize(
    ("said", "why"),
    [
        ("whenever", "I couldn't read “whenever” as working hours"),
        ("Mon-Thu", "no hours"),
        ("Mon 25-26", "“25:00” isn't a time of day"),
        ("Funday 9-5", "I couldn't read “Funday”"),
        ("Mon 17:00-09:00", "ends before it starts"),
        ("Mon 7-8, " * 20, "too many ranges"),
        ("Mon-Fri 9-5 " * 30, "too long"),
    ],
)
def test_hours_that_cannot_be_read_say_why(said: str, why: str) -> None:
    with pytest.raises(HoursError, match=why):
        parse_hours(said)


# The conversation --------------------------------------------------------------------------


def test_a_start_outside_the_practice_hours_is_asked_and_booked_with_yes(
    tmp_path: Path, sqlite_store, clock
) -> None:
    chat = practice_chat(tmp_path, sqlite_store)
    reply = chat.say("JD sunday 3am, no invite, no documents")
    assert "Sunday 3:00 AM is outside your working hours. Book it anyway?" in reply.text
    assert "Monday to Friday, 8:00 AM to 6:00 PM" in reply.text
    assert slots(chat)["time"] is None  # nothing kept until it is answered
    assert "save" not in reply.text.lower() or saved(chat) == []
    reply = chat.say("save")
    assert saved(chat) == []
    reply = chat.click(chat.say("3am"), "Yes")
    assert "outside your working hours, as you said" in reply.text
    reply = chat.say("same")
    assert reply.phase == "confirm"
    chat.say("save")
    (session,) = saved(chat)
    assert session.start_at == at("2026-11-29 03:00")


def test_a_typed_yes_books_it_too(tmp_path: Path, sqlite_store, clock) -> None:
    chat = practice_chat(tmp_path, sqlite_store)
    reply = chat.say("JD sunday 3am, no invite, no documents")
    assert "Book it anyway?" in reply.text
    reply = chat.say("yes")
    assert "Booking it outside your working hours, as you said." in reply.text
    assert slots(chat)["time"] == "03:00"
    chat.say("same")
    chat.say("save")
    (session,) = saved(chat)
    assert session.start_at == at("2026-11-29 03:00")


def test_a_hand_made_yes_payload_takes_nothing(tmp_path: Path, sqlite_store, clock) -> None:
    chat = practice_chat(tmp_path, sqlite_store)
    chat.say("JD sunday 3am, no invite, no documents")
    chat.say('/inform{"hours_ok": "?not a key"}')
    reply = chat.say("yes")
    assert "Sorry" not in reply.text
    assert slots(chat)["time"] is None and saved(chat) == []


def test_a_start_outside_the_hours_changed_to_a_time_inside(
    tmp_path: Path, sqlite_store, clock
) -> None:
    chat = practice_chat(tmp_path, sqlite_store)
    reply = chat.say("JD tomorrow 7pm, no invite, no documents")
    assert "Wednesday 7:00 PM is outside your working hours" in reply.text
    reply = chat.click(reply, "Change the time")
    state = chat.parts.runner.state_of(chat.who)
    assert state is not None
    assert state.requested_slot == "time"
    reply = chat.say("4pm")
    assert "outside" not in reply.text
    reply = chat.say("same")
    chat.say("save")
    (session,) = saved(chat)
    assert session.start_at == at("2026-11-25 16:00")


def test_a_start_inside_the_hours_is_not_asked(tmp_path: Path, sqlite_store, clock) -> None:
    chat = practice_chat(tmp_path, sqlite_store)
    reply = chat.say("JD tomorrow 3pm, no invite, no documents")
    assert "outside" not in reply.text
    assert slots(chat)["time"] == "15:00"


def test_no_hours_anywhere_asks_nothing(chat: Chat, clock) -> None:
    reply = chat.say("JD sunday 3am, no invite, no documents")
    assert "outside" not in reply.text
    assert slots(chat)["time"] == "03:00"


def test_a_date_moved_onto_a_weekend_asks_again(tmp_path: Path, sqlite_store, clock) -> None:
    chat = practice_chat(tmp_path, sqlite_store)
    chat.say("JD tomorrow 3pm, no invite, no documents")
    reply = chat.say("same")
    assert reply.phase == "confirm"
    reply = chat.say("make it saturday")
    assert "Saturday 3:00 PM is outside your working hours" in reply.text
    chat.say("save")
    assert saved(chat) == []


def test_a_series_says_its_occurrences_outside_and_yes_books_them_all(
    tmp_path: Path, sqlite_store, clock
) -> None:
    chat = practice_chat(tmp_path, sqlite_store)
    chat.say("my hours are Mon-Fri 9-5, Sat 10-2")
    reply = chat.say("JD every Saturday at 1pm for 3 weeks, no invitation, no documents")
    assert "outside" not in reply.text and slots(chat)["time"] == "13:00"
    reply = chat.say("make it 3pm")
    assert "All 3 sessions are outside your working hours" in reply.text
    assert "Sat, Nov 28 3:00 PM; Sat, Dec 5 3:00 PM; Sat, Dec 12 3:00 PM" in reply.text
    assert slots(chat)["time"] is None
    reply = chat.click(reply, "Yes, book them anyway")
    assert "Booking them outside your working hours, as you said." in reply.text
    reply = chat.say("same")
    assert reply.phase == "confirm" and "3 sessions, every Saturday" in reply.text
    assert "Saved 3 sessions" in chat.say("save").text
    assert [x.start_at for x in saved(chat)] == [
        at(f"{day} 15:00") for day in ("2026-11-28", "2026-12-05", "2026-12-12")
    ]


def test_the_question_names_only_the_occurrences_outside() -> None:
    week = parse_hours("Mon-Fri 9-5")
    starts = [at("2026-11-27 10:00"), at("2026-11-28 10:00"), at("2026-11-30 10:00")]
    asked = hours.outside_question(starts, "America/New_York", week, at("2026-11-24 10:00"))
    assert asked is not None
    assert asked.startswith("1 of the 3 sessions are outside your working hours: Sat, Nov 28 ")
    assert "Nov 27" not in asked and "Nov 30" not in asked
    assert hours.outside_question(starts[:1], "America/New_York", week, starts[0]) is None


# A clinician's own hours: said in words, and they win over the practice's ---------------


def test_own_hours_said_in_words_are_said_back_and_win_over_the_practice(
    tmp_path: Path, sqlite_store, clock
) -> None:
    chat = practice_chat(tmp_path, sqlite_store)
    reply = chat.say("my hours are 9 to 5 mon-thu")
    assert "Your working hours are now Monday to Thursday, 9:00 AM to 5:00 PM" in reply.text
    with sqlite_store.unit() as s:
        me = clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1")
        assert me.working_hours == "Mon-Thu 09:00-17:00"
    # Friday is inside the practice's hours, not inside hers: hers apply.
    reply = chat.say("JD friday 10am, no invite, no documents")
    assert "Friday 10:00 AM is outside your working hours" in reply.text
    assert "Monday to Thursday, 9:00 AM to 5:00 PM" in reply.text
    chat.say("cancel")
    reply = chat.say("clear my working hours")
    assert "Your own working hours are cleared" in reply.text
    assert "Monday to Friday, 8:00 AM to 6:00 PM" in reply.text
    reply = chat.say("JD friday 10am, no invite, no documents")
    assert "outside" not in reply.text and slots(chat)["time"] == "10:00"


def test_hours_it_cannot_read_are_said_back_and_not_stored(
    tmp_path: Path, sqlite_store, clock
) -> None:
    chat = practice_chat(tmp_path, sqlite_store)
    chat.say("my hours are Mon-Fri 9-5")
    reply = chat.say("my hours are whenever the kids are at school")
    assert "I couldn't read “whenever the kids are at school” as working hours" in reply.text
    assert "Nothing was changed" in reply.text
    with sqlite_store.unit() as s:
        assert (
            clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1").working_hours
            == "Mon-Fri 09:00-17:00"
        )


def test_hours_said_in_the_middle_of_a_draft_keep_the_draft(
    tmp_path: Path, sqlite_store, clock
) -> None:
    chat = practice_chat(tmp_path, sqlite_store)
    chat.say("JD tomorrow 3pm")
    reply = chat.say("my hours are Mon-Fri 10-4")
    assert "Monday to Friday, 10:00 AM to 4:00 PM" in reply.text
    state = slots(chat)
    assert state["participant"] == "JD" and state["time"] == "15:00"


def test_at_7_reads_the_clinicians_own_hours(tmp_path: Path, sqlite_store, clock) -> None:
    chat = practice_chat(tmp_path, sqlite_store, 'name = "Plain"\n')  # 8 AM-8 PM: 7 PM
    chat.say("JD tomorrow at 7, no invite, no documents")
    assert slots(chat)["time"] == "19:00"
    chat.say("cancel")
    assert "now Monday to Friday, 6:00 AM to 2:00 PM" in chat.say("my hours are Mon-Fri 6-14").text
    chat.say("JD tomorrow at 7, no invite, no documents")
    assert slots(chat)["time"] == "07:00"
    chat.say("cancel")
    chat.say("my hours are Mon-Fri 6:00-22:00")  # both 7s: asked
    reply = chat.say("JD tomorrow at 7, no invite, no documents")
    assert "Do you mean 7:00 AM or 7:00 PM?" in reply.text


def test_hours_are_in_the_clinicians_own_zone_not_the_practices(
    tmp_path: Path, sqlite_store, clock
) -> None:
    # The practice is in New York (Mon-Fri 8-6); this clinician works from London.
    chat = practice_chat(tmp_path, sqlite_store, tz="Europe/London")
    reply = chat.say("JD tomorrow 9am, no invite, no documents")  # 4 AM in New York
    assert "outside" not in reply.text and slots(chat)["time"] == "09:00"
    chat.say("cancel")
    reply = chat.say("JD tomorrow 7pm, no invite, no documents")  # 2 PM in New York
    assert "Wednesday 7:00 PM is outside your working hours" in reply.text


# The command line -------------------------------------------------------------------------


def test_the_command_line_sets_shows_and_clears_hours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("SESSIONBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SESSIONBOT_PUBLIC_URL", "https://sessions.example.test")
    monkeypatch.delenv("SESSIONBOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("SESSIONBOT_PRACTICE_FILE", raising=False)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str]:
        code = cli.main(["hours", "--user", "U_CAL", "--team", "T_CLI", *args])
        return code, capsys.readouterr().out

    assert run("--show") == (
        0,
        "You have no working hours of your own; the practice sets none, "
        "so no start is asked about.\n",
    )
    code, out = run("--set", "Mon-Thu 09:00-17:00")
    assert code == 0 and "Your working hours are now Monday to Thursday, 9:00 AM to 5:00 PM" in out
    assert run("--show")[1] == (
        "Your working hours: Monday to Thursday, 9:00 AM to 5:00 PM (America/New_York).\n"
    )
    code, out = run("--set", "Mon-Thu 17:00-09:00")
    assert code == 2 and "ends before it starts" in out and "Nothing was changed" in out
    assert "Monday to Thursday" in run("--show")[1]
    code, out = run("--clear")
    assert code == 0 and "Your own working hours are cleared" in out
    assert "no working hours of your own" in run("--show")[1]


# The Slack forms: Edit, Reschedule and App Home -------------------------------------------


def set_own_hours(parts: Parts, spec: str, user: str = "U_CLIN1") -> None:
    with parts.store.unit() as s:
        me = clinician_rows.get_clinician(s, "T1", user)
        assert hours.set_hours(me, spec, parts.practice).changed


def test_reschedule_outside_the_hours_is_asked_in_the_form_then_done_if_meant(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)  # Wed Nov 25, 3 PM
    set_own_hours(slack_parts, "Mon-Fri 9-5")
    click_on_home(clinician, home_button(latest_home(fake_slack), "dash:reschedule"))
    form = fake_slack.wait_calls("views.open", 1)[0].args["view"]
    warned = submitted(clinician, form, new_time("2026-11-29", "15:00"))
    assert "Sunday 3:00 PM is outside your working hours. Book it anyway?" in str(warned)
    assert "Press Reschedule again to move it anyway." in str(warned)
    fake_slack.quiet()
    assert sessions_of(slack_parts, "U_CLIN1")[0].start_at == at("2026-11-25 15:00")
    again = submitted(clinician, warned, new_time("2026-11-29", "15:00"))
    assert "Moved the session with JD to Sun, Nov 29, 2026, 3:00 PM EST." in str(again)
    (told,) = [m for m in clinician.replies() if m.text.startswith("Moved")]
    assert "Sun, Nov 29, 2026, 3:00 PM EST" in told.text
    assert sessions_of(slack_parts, "U_CLIN1")[0].start_at == at("2026-11-29 15:00")


def test_reschedule_inside_the_hours_moves_at_once(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    set_own_hours(slack_parts, "Mon-Fri 9-5")
    click_on_home(clinician, home_button(latest_home(fake_slack), "dash:reschedule"))
    form = fake_slack.wait_calls("views.open", 1)[0].args["view"]
    done = submitted(clinician, form, new_time("2026-11-27", "10:00"))
    assert "Moved the session with JD to Fri, Nov 27, 2026, 10:00 AM EST." in str(done)
    (told,) = [m for m in clinician.replies() if m.text.startswith("Moved")]
    assert sessions_of(slack_parts, "U_CLIN1")[0].start_at == at("2026-11-27 10:00")


def test_edit_to_a_time_outside_the_hours_is_asked_and_a_change_of_time_saves(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    set_own_hours(slack_parts, "Mon-Fri 9-5")
    click_on_home(clinician, home_button(latest_home(fake_slack), "dash:edit"))
    form = fake_slack.wait_calls("views.open", 1)[0].args["view"]
    warned = submitted(clinician, form, edit_values(form, time="19:00"))
    shown = str(warned)
    assert "Wednesday 7:00 PM is outside your working hours. Book it anyway?" in shown
    assert "Press Save changes again to keep it, or change the time." in shown
    assert inputs(warned) == inputs(form)  # every field kept, so what was typed stays
    fake_slack.quiet()
    assert sessions_of(slack_parts, "U_CLIN1")[0].start_at == at("2026-11-25 15:00")
    changed = submitted(clinician, warned, edit_values(form, time="16:00"))
    assert "Updated the session with JD" in str(changed)
    (told,) = [m for m in clinician.replies() if m.text.startswith("Updated")]
    assert "Wed, Nov 25, 2026, 4:00 PM EST" in told.text
    assert sessions_of(slack_parts, "U_CLIN1")[0].start_at == at("2026-11-25 16:00")


def test_edit_outside_the_hours_is_saved_when_submitted_again(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    set_own_hours(slack_parts, "Mon-Fri 9-5")
    click_on_home(clinician, home_button(latest_home(fake_slack), "dash:edit"))
    form = fake_slack.wait_calls("views.open", 1)[0].args["view"]
    warned = submitted(clinician, form, edit_values(form, time="19:00"))
    assert "outside your working hours" in str(warned)
    fake_slack.quiet()
    again = submitted(clinician, warned, edit_values(form, time="19:00"))
    assert "Updated the session with JD" in str(again)
    (told,) = [m for m in clinician.replies() if m.text.startswith("Updated")]
    assert sessions_of(slack_parts, "U_CLIN1")[0].start_at == at("2026-11-25 19:00")


def test_app_home_sets_own_hours_in_a_small_form(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    clinician.event({"type": "app_home_opened", "user": clinician.user, "tab": "home"})
    click_on_home(clinician, home_button(latest_home(fake_slack), "dash:hours"))
    form = fake_slack.wait_calls("views.open", 1)[0].args["view"]
    assert form["callback_id"] == "hours"
    assert "no working hours of your own" in str(form)

    def typed(text: str) -> dict:
        return {"hours": {"hours": {"type": "plain_text_input", "value": text}}}

    bad = clinician.submit(form, typed("Mon-Funday 9-5"))
    assert "I couldn't read" in bad.json()["errors"]["hours"]
    fake_slack.quiet()
    with slack_parts.store.unit() as s:
        assert clinician_rows.get_clinician(s, "T1", "U_CLIN1").working_hours is None
    good = clinician.submit(form, typed("Mon 9-12, Wed 13-17"))
    assert good.status_code == 200 and not good.text
    (told,) = [m for m in clinician.replies() if m.text.startswith("Your working hours")]
    assert "Monday, 9:00 AM to 12:00 PM; Wednesday, 1:00 PM to 5:00 PM" in told.text
    with slack_parts.store.unit() as s:
        saved_spec = clinician_rows.get_clinician(s, "T1", "U_CLIN1").working_hours
    assert saved_spec == "Mon 09:00-12:00, Wed 13:00-17:00"
