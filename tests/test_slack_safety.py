"""What must hold over Slack: signatures, retries, double clicks, privacy, ownership."""

from __future__ import annotations

import json
import threading
import time

from fake_slack import SIGNING_SECRET, FakeSlack, Person, find_button, signed_headers

from sessionbot.wiring import Parts
from store import clinician_rows, session_rows


def sessions_of(parts: Parts, user: str, team: str = "T1") -> list:
    with parts.store.unit() as s:
        found = clinician_rows.get_clinician(s, team, user)
        return session_rows.list_sessions(s, found.id, include_cancelled=True)


def schedule_jd(person: Person) -> None:
    person.say("JD tomorrow 3pm by text +1 617 555 0101, intake packet")
    person.say("Pacific")
    assert person.say("save").text.startswith("Saved")


def test_forged_or_stale_signature_gets_401_and_does_nothing(
    clinician: Person, fake_slack: FakeSlack
) -> None:
    event = {"type": "message", "channel_type": "im", "channel": "D1", "user": "U1", "text": "hi"}
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "E1", "event": event})
    forged = signed_headers(body, "application/json", secret="not-" + SIGNING_SECRET)
    stale = signed_headers(body, "application/json", age=10 * 60)
    for headers in (forged, stale, {"Content-Type": "application/json"}):
        response = clinician.app.http.post("/slack/events", content=body, headers=headers)
        assert response.status_code == 401
    fake_slack.quiet()
    assert not fake_slack.of("chat.postMessage")


def test_a_slack_retry_does_nothing_again(clinician: Person, fake_slack: FakeSlack) -> None:
    clinician.dm_event("schedule", event_id="EvSAME")
    clinician.replies()
    assert clinician.dm_event("schedule", event_id="EvSAME", retry=1).status_code == 200
    fake_slack.quiet()
    assert len(clinician.messages()) == 1


def test_double_click_on_save_makes_one_session_and_one_confirmation(
    clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    clinician.say("JD tomorrow 3pm by text +1 617 555 0101, intake packet")
    summary = clinician.say("Pacific")
    save = find_button(summary, "Save")
    clicks = [threading.Thread(target=clinician.act, args=(summary, save)) for _ in range(2)]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    first, second = clinician.replies(2)
    fake_slack.quiet()
    texts = sorted([first.text, second.text])
    assert texts[0].startswith("Saved: session with JD")
    assert texts[1] == "That session is already saved. Say “schedule” to start another."
    assert len(clinician.messages()) == 4
    assert len(sessions_of(slack_parts, "U_CLIN1")) == 1


def test_two_clinicians_at_once_never_mix(
    running, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    ann = Person(running, fake_slack, "U_ANN")
    bob = Person(running, fake_slack, "U_BOB")
    fake_slack.zones["U_BOB"] = "America/Los_Angeles"

    def conversation(person: Person, who: str, phone: str) -> None:
        person.say(f"{who} tomorrow 3pm by text {phone}, intake packet")
        person.say("same")
        person.say("save")

    threads = [
        threading.Thread(target=conversation, args=(ann, "Alice Smith", "+1 617 555 0101")),
        threading.Thread(target=conversation, args=(bob, "Brian Jones", "+1 415 555 0199")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (a,) = sessions_of(slack_parts, "U_ANN")
    (b,) = sessions_of(slack_parts, "U_BOB")
    assert (a.participant, a.phone, a.participant_tz) == (
        "Alice Smith",
        "+16175550101",
        "America/New_York",
    )
    assert (b.participant, b.phone, b.participant_tz) == (
        "Brian Jones",
        "+14155550199",
        "America/Los_Angeles",
    )
    assert "Brian" not in str([m.blocks for m in ann.messages()])
    assert "Alice" not in str([m.blocks for m in bob.messages()])


def test_schedule_in_a_channel_is_ephemeral_and_names_no_participant(
    clinician: Person, fake_slack: FakeSlack
) -> None:
    response = clinician.command(
        "/schedule", "JD tomorrow 3pm by text +1 617 555 0101", channel="C_GENERAL"
    )
    said = response.text
    assert "direct messages" in said
    assert "JD" not in said and "617" not in said
    (question,) = clinician.replies()
    assert "What time zone is JD in" in question.text
    fake_slack.quiet()
    assert all(c.args.get("channel") != "C_GENERAL" for c in fake_slack.calls)


def test_a_clinician_cannot_cancel_another_clinicians_session(
    running, clinician: Person, fake_slack: FakeSlack, slack_parts: Parts
) -> None:
    schedule_jd(clinician)
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    intruder = Person(running, fake_slack, "U_OTHER")
    cancel = {
        "type": "button",
        "action_id": "dash:cancel",
        "value": session.public_id,
        "action_ts": "1.1",
    }
    home = {"type": "view", "view_id": "V9"}
    intruder.interact(
        {
            "type": "block_actions",
            "container": home,
            "view": {"type": "home", "id": "V9"},
            "actions": [cancel],
        }
    )
    (told,) = intruder.replies()
    assert told.text == "I couldn't find that session among yours."
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert session.status == "scheduled"
    # Its owner can.
    clinician.interact(
        {
            "type": "block_actions",
            "container": home,
            "view": {"type": "home", "id": "V9"},
            "actions": [{**cancel, "action_ts": "1.2"}],
        }
    )
    (told,) = clinician.replies()
    assert told.text.startswith("Cancelled the session with JD on Wed, Nov 25, 2026, 3:00 PM EST")
    (session,) = sessions_of(slack_parts, "U_CLIN1")
    assert session.status == "cancelled"


def test_rate_limited_reply_is_retried_after_retry_after(
    clinician: Person, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_once("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    assert "What date" in clinician.say("schedule").text
    assert time.monotonic() - started >= 1
    assert len(fake_slack.of("chat.postMessage")) == 2


def test_a_failed_dashboard_is_told_to_the_clinician(
    clinician: Person, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_once("views.open", error="expired_trigger_id")
    clinician.command("/sessions")
    (told,) = clinician.replies()
    assert "couldn't open your sessions" in told.text


def test_a_click_edits_only_a_message_the_bot_posted_to_that_clinician(
    clinician: Person, fake_slack: FakeSlack
) -> None:
    asked = clinician.say("JD tomorrow 3pm")  # "How should I invite JD?" with buttons
    # The same buttons, claimed to sit on another clinician's message in another channel.
    other = Person(clinician.app, fake_slack, "U_VICTIM")
    other_question = other.say("schedule")
    button = find_button(asked, "No invitation")
    forged = type(asked)(other.dm_channel, other_question.ts, asked.text, asked.blocks)
    assert clinician.act(forged, button).status_code == 200
    (answer,) = clinician.replies()
    assert answer.channel == clinician.dm_channel  # the answer goes to the clicker's own DM
    assert other.messages()[-1].updates == 0  # and the other clinician's message is untouched
    assert len(other.messages()) == 1
    assert asked.updates == 0  # not the clicked message either: it was not named


def test_a_reply_in_a_dm_thread_is_answered_in_that_thread(
    clinician: Person, fake_slack: FakeSlack
) -> None:
    first = clinician.say("schedule")
    assert clinician.dm_event("tomorrow", thread_ts=first.ts).status_code == 200
    fake_slack.wait(
        lambda: [
            c for c in fake_slack.of("chat.postMessage") if c.args.get("thread_ts") == first.ts
        ]
    )
    threaded = [c for c in fake_slack.of("chat.postMessage") if c.args.get("thread_ts")]
    assert len(threaded) == 1 and "time" in threaded[0].args["text"].lower()


def test_an_event_naming_a_channel_that_is_not_the_clinicians_dm_is_not_answered_there(
    clinician: Person, fake_slack: FakeSlack
) -> None:
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "D_SOMEONE_ELSE",
        "user": clinician.user,
        "text": "schedule",
        "ts": "1700000000.000001",
    }
    assert clinician.event(event).status_code == 200
    fake_slack.quiet()
    assert fake_slack.channel("D_SOMEONE_ELSE") == []
