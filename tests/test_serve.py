"""`sessionbot serve` as a deployment runs it: a real process carrying a conversation
over signed Slack requests, the participant page and health on the same port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from conftest import TEST_KEY
from fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, Person, fake_slack  # noqa: F401


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path, fake_slack: FakeSlack):  # noqa: F811
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSIONBOT_", "SLACK_"))}
    env.update(
        SESSIONBOT_DATA_DIR=str(tmp_path / "data"),
        SESSIONBOT_ENCRYPTION_KEY=TEST_KEY,
        SESSIONBOT_PUBLIC_URL=f"http://127.0.0.1:{port}",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url,
    )
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sessionbot.cli", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    for _ in range(300):
        try:
            if http.get("/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("sessionbot serve did not start:\n" + (tmp_path / "serve.log").read_text())
    yield SimpleNamespace(http=http, log=tmp_path / "serve.log")
    proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught (exit -15).
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    assert "Finished server process" in (tmp_path / "serve.log").read_text()
    http.close()


def wait_for_messages(fake: FakeSlack, channel: str, count: int) -> list:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        messages = fake.channel(channel)
        if len(messages) >= count:
            return messages
        time.sleep(0.05)
    raise AssertionError(f"only {len(fake.channel(channel))} messages in {channel}")


def test_serve_carries_a_conversation_to_an_enter_meeting_button(served, fake_slack) -> None:  # noqa: F811
    clinician = Person(served, fake_slack, "U_SERVE")  # type: ignore[arg-type]
    turns = [
        "JD tomorrow 3pm by text +1 617 555 0101, intake packet",
        "Pacific",
        "save",
    ]
    for i, text in enumerate(turns, 1):
        body, ctype = clinician.dm_body(text)
        assert clinician.post(body, ctype).status_code == 200
        wait_for_messages(fake_slack, clinician.dm_channel, i)
    confirmation = json.dumps(fake_slack.channel(clinician.dm_channel)[-1].blocks)
    assert "Enter Meeting" in confirmation
    enter = next(
        e["url"]
        for block in fake_slack.channel(clinician.dm_channel)[-1].blocks
        for e in block.get("elements", []) + [block.get("accessory") or {}]
        if isinstance(e, dict) and "/enter/" in str(e.get("url", ""))
    )
    assert enter.startswith(str(served.http.base_url).rstrip("/") + "/enter/")
    # The participant's page is served by the same process.
    assert served.http.get("/j/not-a-real-token-at-all-123456").status_code == 404
    # Nothing of the participant, nor a link token, in the process's log.
    log = served.log.read_text()
    assert "617" not in log and "JD" not in log
    assert enter.rsplit("/", 1)[-1] not in log


def test_serve_refuses_an_unsigned_request(served) -> None:
    response = served.http.post("/slack/events", json={"type": "event_callback"})
    assert response.status_code == 401
