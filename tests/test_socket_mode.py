"""`sessionbot serve` over Socket Mode, as a deployment runs it: a real process with
SLACK_APP_TOKEN and no signing secret, opening its connection through the fake Web API's
`apps.connections.open` and carrying a conversation in envelopes over a real WebSocket."""

from __future__ import annotations

import json
import re
import signal
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY
from fake_slack import BOT_TOKEN, FakeSlack, Message, Person
from fake_socket_mode import FakeSocketMode
from serve_process import serve_process
from sqlalchemy import select

from store.db import Store
from store.models import SlackInbox

APP_TOKEN = "xapp-fake-1-A_SESSIONBOT-1-secret"


@pytest.fixture
def fake_socket(fake_slack: FakeSlack) -> Iterator[FakeSocketMode]:
    socket = FakeSocketMode().start()
    fake_slack.socket_url = socket.url
    yield socket
    socket.stop()


@pytest.fixture
def served(tmp_path: Path, fake_slack: FakeSlack, fake_socket: FakeSocketMode):
    with serve_process(
        tmp_path, SLACK_APP_TOKEN=APP_TOKEN, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=fake_slack.url
    ) as served:
        fake_socket.connected()
        yield served


def say(socket: FakeSocketMode, clinician: Person, text: str, *, retry: int = 0) -> str:
    """The clinician's DM as an Events API envelope; the envelope's id."""
    body, _ = clinician.dm_body(text)
    return socket.event(json.loads(body), retry=retry)


def enter_meeting_url(message: Message) -> str:
    return next(
        e["url"]
        for block in message.blocks
        for e in block.get("elements", []) + [block.get("accessory") or {}]
        if isinstance(e, dict) and "/enter/" in str(e.get("url", ""))
    )


def test_socket_mode_carries_a_conversation_to_an_enter_meeting_button(
    tmp_path: Path,
    served: Any,
    fake_slack: FakeSlack,
    fake_socket: FakeSocketMode,
) -> None:
    # The connection was opened with the app-level token, through SLACK_API_URL.
    (opened,) = fake_slack.of("apps.connections.open")
    assert opened.token == APP_TOKEN
    assert fake_socket.paths == ["/link"]

    clinician = Person(served, fake_slack, "U_SOCKET")
    envelopes = []
    for text in ("JD tomorrow 3pm by text +1 617 555 0101, intake packet", "Pacific", "save"):
        envelopes.append(say(fake_socket, clinician, text))
        assert fake_socket.ack(envelopes[-1]) == {"envelope_id": envelopes[-1]}
        (reply,) = clinician.replies()
        assert reply.channel == clinician.dm_channel
    assert "Enter Meeting" in json.dumps(reply.blocks)
    enter = enter_meeting_url(reply)
    assert enter.startswith(str(served.http.base_url).rstrip("/") + "/enter/")

    # Replies go out with the bot token; only apps.connections.open used the app token.
    posts = fake_slack.of("chat.postMessage")
    assert posts and all(c.token == BOT_TOKEN for c in posts)

    # /sessions as a slash_commands envelope: acked, then the dashboard opens with the session.
    form, _ = clinician.command_body("/sessions", "")
    envelopes.append(fake_socket.slash_command(dict(urllib.parse.parse_qsl(form))))
    assert fake_socket.ack(envelopes[-1]) == {"envelope_id": envelopes[-1]}
    (opened_view,) = fake_slack.wait_calls("views.open", 1)
    assert enter in json.dumps(opened_view.args["view"])

    # Every envelope acknowledged exactly once.
    fake_slack.quiet()
    assert [len(fake_socket.acks_of(e)) for e in envelopes] == [1] * len(envelopes)

    # Nothing of the participant, nor a link token, in the process's log.
    log = served.log.read_text()
    # The phone in any format (digits only: a port number may well hold "617").
    assert "6175550101" not in re.sub(r"\D", "", log) and "JD" not in log
    assert enter.rsplit("/", 1)[-1] not in log

    # Each envelope went through the durable inbox: kept before the ack, then processed.
    store = Store.open(f"sqlite:///{tmp_path / 'data' / 'sessionbot.db'}", [TEST_KEY])
    try:
        with store.reading() as s:
            kept = list(s.scalars(select(SlackInbox)))
        assert len(kept) == 4 and all(row.processed_at is not None for row in kept)
        assert "JD" not in str([row.key for row in kept])
    finally:
        store.dispose()


def test_a_retried_envelope_is_acked_and_done_once(
    served: Any,
    fake_slack: FakeSlack,
    fake_socket: FakeSocketMode,
) -> None:
    clinician = Person(served, fake_slack, "U_RETRY")
    say(fake_socket, clinician, "JD tomorrow 3pm by text +1 617 555 0101, intake packet")
    clinician.replies()
    say(fake_socket, clinician, "Pacific")
    clinician.replies()
    body, _ = clinician.dm_body("save")
    first = fake_socket.event(json.loads(body))
    (confirmation,) = clinician.replies()
    assert "Enter Meeting" in json.dumps(confirmation.blocks)
    fake_slack.quiet()
    calls = len(fake_slack.calls)

    # Slack did not see the ack in time and sends the same event again, in a new envelope.
    again = fake_socket.event(json.loads(body), retry=1)
    assert fake_socket.ack(again) == {"envelope_id": again}
    fake_slack.quiet()
    assert len(fake_slack.calls) == calls, [c.method for c in fake_slack.calls[calls:]]
    assert len(clinician.messages()) == clinician.seen
    assert len(fake_socket.acks_of(first)) == 1


def test_socket_mode_closes_its_connection_on_sigterm(
    served: Any, fake_socket: FakeSocketMode
) -> None:
    served.proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught (exit -15).
    assert served.proc.wait(timeout=30) in (0, -signal.SIGTERM)
    # A close frame (1000), not a dropped socket (1006): Slack stops sending at once.
    assert fake_socket.wait(lambda: fake_socket.close_codes) == [1000]
    assert "Finished server process" in served.log.read_text()


def test_socket_mode_opens_no_unsigned_http_door(served: Any) -> None:
    response = served.http.post("/slack/events", json={"type": "event_callback"})
    assert response.status_code == 503
