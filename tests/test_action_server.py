"""`sessionbot actions` is rasa-sdk's own action server serving the same actions: a
Rasa-shaped /webhook request gets the events the embedded runner applies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from conftest import TEST_KEY

from dialogue.runner import _run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def action_server(tmp_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "SESSIONBOT_DATA_DIR": str(tmp_path / "data"),
        "SESSIONBOT_ENCRYPTION_KEY": TEST_KEY,
        "SANIC_HOST": "127.0.0.1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sessionbot.cli", "actions", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Sanic runs a worker process: stop the whole group
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        stop(proc)
        pytest.fail("the action server did not start")
    yield url
    stop(proc)


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def rasa_request(text: str, slots: dict) -> dict:
    """What a Rasa server posts: its NLU found no entities, so our extract_ methods read text."""
    tracker = {
        "sender_id": "T_RASA:U_RASA",
        "slots": slots,
        "latest_message": {"text": text, "intent": {"name": "inform"}, "entities": []},
        "events": [{"event": "user", "text": text}],
        "active_loop": {"name": "schedule_form"},
        "latest_action_name": "action_listen",
        "paused": False,
        "followup_action": None,
    }
    from dialogue.domain import load_domain

    return {
        "next_action": "validate_schedule_form",
        "sender_id": "T_RASA:U_RASA",
        "tracker": tracker,
        "domain": load_domain(),
        "version": "3.10.0",
    }


def test_rasa_webhook_gives_the_same_events_as_the_embedded_runner(action_server, parts) -> None:
    today = datetime.now(ZoneInfo("America/New_York")).date().isoformat()
    slots = {
        "clinician_tz": "America/New_York",
        "requested_slot": "participant",
        "date": today,
        "draft_id": "d-1",
    }
    payload = rasa_request(
        "JD by text +1 617 555 0101, London time, intake packet, Dec 3 4pm", slots
    )

    over_http = httpx.post(f"{action_server}/webhook", json=payload, timeout=30).json()
    embedded = _run(parts.runner.executor.run(payload))

    assert over_http["events"] == embedded.events
    values = {e["name"]: e["value"] for e in over_http["events"]}
    assert values["participant"] == "JD"
    assert values["phone"] == "+16175550101"
    assert values["invite_channel"] == "sms"
    assert values["participant_tz"] == "Europe/London"
    assert values["documents"] == "intake"
    assert values["time"] == "16:00"
    assert values["requested_slot"] is None


def test_action_server_lists_every_action_of_the_domain(action_server) -> None:
    from dialogue.domain import load_domain

    served = {a["name"] for a in httpx.get(f"{action_server}/actions").json()}
    assert set(load_domain()["actions"]) <= served
