"""Without Slack (the embedded default): the waiting DM and a participant's request reach
the local outbox, `sessionbot outbox` shows them, and `sessionbot requests` answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from conftest import at
from page_support import Booked, book, session_row
from starlette.testclient import TestClient

from ground.settings import Settings
from sessionbot import cli
from sessionbot.asgi import create_app
from sessionbot.wiring import Parts, build

START = at("2026-11-25 15:00")
WHO = ["--team", "T_TEST", "--user", "U_CLIN1"]


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Parts:
    """The parts the command line builds too: the same environment, the same store."""
    monkeypatch.setenv("SESSIONBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SESSIONBOT_PUBLIC_URL", "https://sessions.example.test")
    for name in ("SESSIONBOT_ENCRYPTION_KEY", "SESSIONBOT_DATABASE_URL", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return build(Settings.from_env())


@pytest.fixture
def client(parts: Parts) -> Iterator[TestClient]:
    app = create_app(parts)
    with TestClient(app, base_url=parts.settings.public_url, follow_redirects=False) as c:
        yield c


@pytest.fixture
def booked(parts: Parts, clock: time_machine.Traveller) -> Booked:
    return book(parts, START, documents=None, service=None, amount=None)


def run(args: list[str], capsys: pytest.CaptureFixture[str], status: int = 0) -> str:
    assert cli.main(args) == status
    return capsys.readouterr().out


def test_the_waiting_dm_is_in_the_local_outbox(
    client: TestClient,
    booked: Booked,
    clock: time_machine.Traveller,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock.move_to(START - timedelta(minutes=10))
    client.get(f"{booked.path}/enter")
    client.get(f"{booked.path}/enter")
    run(["worker", "--once"], capsys)
    shown = run(["outbox"], capsys)
    assert shown.count("J.D. is waiting: your session on Wed, Nov 25, 2026, 3:00 PM EST.") == 1
    assert "LOCAL OUTBOX (not sent: no Slack (SLACK_BOT_TOKEN) configured)" in shown
    assert f"[Enter Meeting: https://sessions.example.test/enter/{booked.host_token}]" in shown


def test_a_request_is_listed_and_accepted_from_the_command_line(
    client: TestClient, parts: Parts, booked: Booked, capsys: pytest.CaptureFixture[str]
) -> None:
    page = client.get(booked.path).text
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert token
    form = {"csrf": token.group(1), "date1": "2026-11-27", "time1": "09:00"}
    form |= {"date2": "2026-11-28", "time2": "11:00"}
    assert client.post(f"{booked.path}/ask", data=form).status_code == 303

    run(["worker", "--once"], capsys)
    shown = run(["outbox"], capsys)
    assert "J.D. asks to move your session" in shown
    assert "[Accept Fri, Nov 27, 2026, 12:00 PM EST] [Accept Sat, Nov 28" in shown
    assert "[Decline]" in shown

    (listed,) = json.loads(run(["requests", "--json", *WHO], capsys))
    assert listed["session"] == booked.public_id and listed["participant"] == "J.D."
    assert listed["times"] == ["2026-11-27T17:00:00Z", "2026-11-28T19:00:00Z"]
    assert listed["status"] == "open"
    words = run(["requests", *WHO], capsys)
    assert "1. Fri, Nov 27, 2026, 12:00 PM EST (Fri, Nov 27, 2026, 9:00 AM PST theirs)" in words

    said = run(["requests", *WHO, "accept", str(listed["id"]), "--time", "2"], capsys)
    assert said.startswith("Accepted J.D.'s request. Moved the session with J.D. to Sat, Nov 28")
    assert session_row(parts, booked.public_id).start_at == at("2026-11-28 14:00")
    assert run(["requests", *WHO], capsys) == "No open requests.\n"
    again = run(["requests", "decline", str(listed["id"]), *WHO], capsys, status=1)
    assert again == "That request was already accepted.\n"
    assert run(["requests", "decline", "999", *WHO], capsys, status=1).startswith(
        "I couldn't find that request"
    )
