"""What Slack said of a clinician outlives the process: after a restart (or on another web
process) a known clinician's next DM is answered without asking Slack who they are or
where their DM is, and a `/schedule` typed in that DM is taken there, not sent away."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fake_slack import FakeSlack, Person, SlackApp

from sessionbot.asgi import create_app
from sessionbot.wiring import Parts, build
from store import clinician_rows

ELSEWHERE = "continue in our direct messages"


@contextmanager
def started(parts: Parts) -> Iterator[SlackApp]:
    """A web process of its own (its own parts and Slack face: nothing in memory) on the
    same store."""
    app = SlackApp(create_app(build(parts.settings, store=parts.store))).start()
    try:
        yield app
    finally:
        app.stop()


def known(parts: Parts, fake: FakeSlack, user: str) -> Person:
    """A clinician who began a conversation on a web process that has ended since."""
    with started(parts) as app:
        clinician = Person(app, fake, user)
        clinician.say("schedule")
    return clinician


def stored_dm(parts: Parts, user: str) -> str | None:
    with parts.store.reading() as s:
        return clinician_rows.slack_known(s, "T1", user)[1]


def test_a_known_clinicians_dm_after_a_restart_asks_slack_nothing(
    slack_parts: Parts, fake_slack: FakeSlack, clock: Any
) -> None:
    with started(slack_parts) as first:
        clinician = Person(first, fake_slack, "U_KNOWN")
        assert "What date" in clinician.say("schedule").text
    assert len(fake_slack.of("conversations.open")) == 1
    assert len(fake_slack.of("users.info")) == 1
    assert stored_dm(slack_parts, "U_KNOWN") == clinician.dm_channel

    with started(slack_parts) as second:
        clinician.app = second
        assert "What time" in clinician.say("next Tuesday").text
    with started(slack_parts) as third:  # a /schedule typed in the DM, first thing
        clinician.app = third
        ack = clinician.command("/schedule")
        assert ack.status_code == 200
        assert ELSEWHERE not in ack.text
        reply = clinician.replies()[-1]  # the conversation goes on where it was, in the DM
        assert reply.channel == clinician.dm_channel
        assert "What time on Tuesday" in reply.text
    assert len(fake_slack.of("conversations.open")) == 1
    assert len(fake_slack.of("users.info")) == 1


def test_a_schedule_typed_in_a_channel_is_still_sent_to_the_dm(
    slack_parts: Parts, fake_slack: FakeSlack, clock: Any
) -> None:
    clinician = known(slack_parts, fake_slack, "U_KNOWN")
    with started(slack_parts) as app:
        clinician.app = app
        ack = clinician.command("/schedule", channel="C_GENERAL")
        assert ELSEWHERE in ack.text


def test_a_stored_dm_the_event_contradicts_is_asked_of_slack_again(
    slack_parts: Parts, fake_slack: FakeSlack, clock: Any
) -> None:
    clinician = known(slack_parts, fake_slack, "U_MOVED")
    with slack_parts.store.unit() as s:  # kept from before, say, a reinstall
        clinician_rows.get_clinician(s, "T1", "U_MOVED").dm_channel = "D_STALE"

    with started(slack_parts) as app:
        clinician.app = app
        assert "What time" in clinician.say("next Tuesday").text
    assert len(fake_slack.of("conversations.open")) == 2  # asked again, once
    assert fake_slack.channel("D_STALE") == []
    assert stored_dm(slack_parts, "U_MOVED") == clinician.dm_channel


def test_an_event_naming_another_channel_still_gets_nothing(
    slack_parts: Parts, fake_slack: FakeSlack, clock: Any
) -> None:
    with started(slack_parts) as app:
        clinician = Person(app, fake_slack, "U_KNOWN")
        clinician.say("schedule")
        before = len(fake_slack.calls)
        event = {
            "type": "message",
            "channel_type": "im",
            "channel": "D_SOMEONE_ELSE",
            "user": clinician.user,
            "text": "next Tuesday",
            "ts": "1700000000.000100",
            "client_msg_id": "msg-elsewhere",
        }
        assert clinician.event(event).status_code == 200
        fake_slack.quiet()
    posted = [c for c in fake_slack.calls[before:] if c.method == "chat.postMessage"]
    assert posted == []
    assert stored_dm(slack_parts, "U_KNOWN") == clinician.dm_channel
