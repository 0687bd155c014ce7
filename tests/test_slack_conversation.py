"""The scheduling conversation over signed Slack requests, typed and clicked."""

from __future__ import annotations

from fake_slack import FakeSlack, Person, find_element, option

from sessionbot.wiring import Parts
from store import clinician_rows, session_rows


def sessions_of(parts: Parts, user: str, team: str = "T1") -> list:
    with parts.store.unit() as s:
        found = clinician_rows.get_clinician(s, team, user)
        return session_rows.list_sessions(s, found.id, include_cancelled=True)


def enter_meeting_buttons(message) -> list[dict]:
    return [
        e
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == "Enter Meeting"
    ]


def test_whole_conversation_typed_in_a_dm(clinician: Person, slack_parts: Parts) -> None:
    assert "What date" in clinician.say("schedule").text
    assert "What time" in clinician.say("next Tuesday").text
    assert "Who is the session with" in clinician.say("9:30 am").text
    assert "How should I invite Jane Doe" in clinician.say("Jane Doe").text
    assert "e-mail address" in clinician.say("email").text
    assert "time zone" in clinician.say("jane.doe@example.com").text
    assert "documents" in clinician.say("same").text
    summary = clinician.say("Telehealth consent")
    assert "Tue, Dec 1, 2026, 9:30 AM EST" in summary.text
    saved = clinician.say("save")
    assert saved.text.startswith("Saved: session with Jane Doe")
    (button,) = enter_meeting_buttons(saved)
    assert button["url"].startswith("https://sessions.example.test/enter/")
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert session.email == "jane.doe@example.com"


def test_whole_conversation_clicked(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    ask_date = clinician.say("schedule")
    ask_time = clinician.pick(ask_date, "turn:date", selected_date="2026-12-01")
    time_select = find_element(ask_time, "turn:time")
    assert len(time_select["options"]) == 96
    ask_who = clinician.pick(ask_time, "turn:time", selected_option=option(time_select, "3:15 PM"))
    assert "Who is the session with" in ask_who.text
    ask_channel = clinician.say("Jane Doe")
    clinician.click(ask_channel, "Text message invitation")
    ask_zone = clinician.say("617 555 0101")
    ask_documents = clinician.pick(
        ask_zone,
        "turn:zone",
        selected_option={
            "value": "America/Chicago",
            "text": {"type": "plain_text", "text": "Central"},
        },
    )
    select = find_element(ask_documents, "turn:pick")
    summary = clinician.pick(
        ask_documents, "turn:pick", selected_option=option(select, "Intake packet")
    )
    assert "Tue, Dec 1, 2026, 3:15 PM EST" in summary.text
    assert "2:15 PM CST for Jane Doe" in summary.text
    saved = clinician.click(summary, "Save")
    assert "Participant's time:* Tue, Dec 1, 2026, 2:15 PM CST" in str(saved.blocks)
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert session.phone == "+16175550101" and session.documents == "intake"
    # Each clicked message was updated in place: its widgets are gone, the answer shown.
    for answered in (ask_date, ask_time, ask_channel, ask_zone, ask_documents, summary):
        assert answered.updates == 1
        assert not [b for b in answered.blocks if b["type"] in ("actions", "input")]
    assert "✓ Text message invitation" in str(ask_channel.blocks)
    # App Home was republished with the new session.
    home = fake_slack.wait_calls("views.publish", 1)[-1]
    assert "J.D." in str(home.args["view"])


def test_previous_contact_is_offered_in_the_type_ahead(
    clinician: Person, fake_slack: FakeSlack
) -> None:
    clinician.say("JD tomorrow 3pm by text +1 617 555 0101, intake packet")
    clinician.say("Pacific")
    clinician.say("save")
    ask_who = clinician.say("schedule Friday at 10am")
    assert find_element(ask_who, "turn:contact")["type"] == "external_select"
    response = clinician.interact(
        {"type": "block_suggestion", "action_id": "turn:contact", "block_id": "b", "value": "j"}
    )
    (choice,) = response.json()["options"]
    assert choice["text"]["text"] == "JD"
    ask_next = clinician.pick(ask_who, "turn:contact", selected_option=choice)
    # The contact filled channel, number and zone: only the documents are left.
    assert "documents" in ask_next.text


def test_one_shot_schedule_command(clinician: Person, slack_parts: Parts) -> None:
    response = clinician.command("/schedule", "JD tomorrow 3pm by text +1 617 555 0101")
    assert response.status_code == 200
    (ask,) = clinician.replies()
    assert "What time zone is JD in" in ask.text
    ask_documents = clinician.say("Pacific")
    summary = (
        clinician.click(ask_documents, "No documents")
        if "turn:pick" not in str(ask_documents.blocks)
        else None
    )
    if summary is None:
        select = find_element(ask_documents, "turn:pick")
        summary = clinician.pick(
            ask_documents, "turn:pick", selected_option=option(select, "No documents")
        )
    assert "12:00 PM PST for JD" in summary.text
    clinician.click(summary, "Save")
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert session.start_at.isoformat() == "2026-11-25T20:00:00+00:00"


def test_a_bad_input_is_answered_once(clinician: Person, fake_slack: FakeSlack) -> None:
    clinician.say("schedule")
    clinician.say("tomorrow")
    reply = clinician.say("25 o'clock")
    assert "time" in reply.text.lower()
    fake_slack.quiet()
    assert len(clinician.messages()) == 3


def stored_zone(parts: Parts, user: str, team: str = "T1") -> str | None:
    with parts.store.unit() as s:
        return clinician_rows.get_clinician(s, team, user).tz


def test_clinician_without_a_slack_zone_is_asked_once_then_the_conversation_goes_on(
    running, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    fake_slack.zones["U_NOZONE"] = None  # users.info without `tz`
    doctor = Person(running, fake_slack, "U_NOZONE")
    question = doctor.say("schedule")
    assert "which time zone are you in" in question.text
    assert find_element(question, "me:zone")["type"] == "external_select"
    again = doctor.say("somewhere nice")
    assert "didn't recognise that as a time zone" in again.text
    going_on = doctor.say("Central")
    assert "Thanks: I'll show your times in Central (America/Chicago)." in going_on.text
    assert "What date" in going_on.text  # the held “schedule” went on in the same reply
    assert stored_zone(slack_parts, "U_NOZONE") == "America/Chicago"
    # Never asked again: the next answers go straight to the conversation.
    assert "What time" in doctor.say("tomorrow").text
    assert "Who is the session with" in doctor.say("3pm").text


def test_zone_picked_from_the_question_goes_on_with_the_one_shot_command(
    running, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    fake_slack.zones["U_NOZONE"] = None
    doctor = Person(running, fake_slack, "U_NOZONE")
    doctor.command("/schedule", "JD tomorrow 3pm by text +1 617 555 0101")
    (question,) = doctor.replies()
    going_on = doctor.click(question, "Pacific")
    assert question.updates == 1 and "✓ Pacific" in str(question.blocks)
    assert "Thanks: I'll show your times in Pacific (America/Los_Angeles)." in going_on.text
    assert "What time zone is JD in" in going_on.text
    assert "Pacific (same as you)" in str(going_on.blocks)
    assert stored_zone(slack_parts, "U_NOZONE") == "America/Los_Angeles"
    ask_documents = doctor.say("same")
    select = find_element(ask_documents, "turn:pick")
    summary = doctor.pick(
        ask_documents, "turn:pick", selected_option=option(select, "No documents")
    )
    # "3pm" was read in the zone the clinician just gave.
    assert "Wed, Nov 25, 2026, 3:00 PM PST" in summary.text


def test_a_retry_while_the_zone_is_asked_does_nothing_again(running, fake_slack: FakeSlack) -> None:
    fake_slack.zones["U_NOZONE"] = None
    doctor = Person(running, fake_slack, "U_NOZONE")
    doctor.dm_event("schedule", event_id="EvZONE")
    doctor.replies()
    assert doctor.dm_event("schedule", event_id="EvZONE", retry=1).status_code == 200
    fake_slack.quiet()
    assert len(doctor.messages()) == 1


def test_a_past_date_picked_is_refused_with_the_datepicker_offered_again(
    clinician: Person,
) -> None:
    ask_date = clinician.say("schedule")
    refused = clinician.pick(ask_date, "turn:date", selected_date="2026-11-20")
    assert "in the past" in refused.text
    again = find_element(refused, "turn:date")
    assert again["type"] == "datepicker"
    ask_time = clinician.pick(refused, "turn:date", selected_date="2026-12-01")
    assert "What time" in ask_time.text


def test_a_series_and_same_time_next_week_typed_in_a_dm(
    clinician: Person, slack_parts: Parts
) -> None:
    clinician.say("JD every Tuesday at 10am for 3 weeks, no invitation, no documents")
    summary = clinician.say("same")
    assert "3 sessions, every Tuesday" in summary.text
    saved = clinician.say("save")
    assert saved.text.startswith("Saved 3 sessions with JD")
    (button,) = enter_meeting_buttons(saved)  # the first session's
    assert button["url"].startswith("https://sessions.example.test/enter/")
    booked = clinician.say("same time next week")
    assert booked.text.startswith("Booked the session with JD on ")
    assert enter_meeting_buttons(booked) == []
    sessions = sessions_of(slack_parts, "U_CLIN1")
    assert len(sessions) == 4 and len({x.series_id for x in sessions[:3]}) == 1
    assert sessions[3].series_id is None
