"""`sessionbot serve` as a deployment runs it: a real process carrying a conversation
over signed Slack requests, the participant page and health on the same port."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import pytest
from fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, Person
from serve_process import serve_process


@pytest.fixture
def served(tmp_path: Path, fake_slack: FakeSlack):
    with serve_process(
        tmp_path,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url,
    ) as served:
        yield served
        served.proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught (exit -15).
        assert served.proc.wait(timeout=30) in (0, -signal.SIGTERM)
        assert "Finished server process" in served.log.read_text()


def wait_for_messages(fake: FakeSlack, channel: str, count: int) -> list:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        messages = fake.channel(channel)
        if len(messages) >= count:
            return messages
        time.sleep(0.05)
    raise AssertionError(f"only {len(fake.channel(channel))} messages in {channel}")


def test_serve_carries_a_conversation_to_an_enter_meeting_button(served, fake_slack) -> None:
    clinician = Person(served, fake_slack, "U_SERVE")
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
    # The phone in any format (digits only: a port number may well hold "617").
    assert "6175550101" not in re.sub(r"\D", "", log) and "JD" not in log
    assert enter.rsplit("/", 1)[-1] not in log


def test_serve_refuses_an_unsigned_request(served) -> None:
    response = served.http.post("/slack/events", json={"type": "event_callback"})
    assert response.status_code == 401


def test_serve_names_the_address_it_listens_on_and_masks_clients(served) -> None:
    assert served.http.get("/healthz").status_code == 200
    address = str(served.http.base_url).rstrip("/")
    deadline = time.monotonic() + 5
    while f"listening on {address}" not in served.log.read_text():
        assert time.monotonic() < deadline, served.log.read_text()
        time.sleep(0.05)
    # uvicorn's access log line for that request names the client only as [ip].
    access = [line for line in served.log.read_text().splitlines() if "GET /healthz" in line]
    assert access and all("[ip]:" in line and "127.0.0.1" not in line for line in access)


def test_serve_logs_no_access_line_for_an_acked_slack_request_but_one_for_a_refused(
    served, fake_slack
) -> None:
    clinician = Person(served, fake_slack, "U_QUIET")
    body, ctype = clinician.dm_body("schedule")
    assert clinician.post(body, ctype).status_code == 200
    wait_for_messages(fake_slack, clinician.dm_channel, 1)
    assert served.http.post("/slack/events", json={"type": "event_callback"}).status_code == 401
    assert served.http.get("/healthz").status_code == 200
    deadline = time.monotonic() + 5
    while "GET /healthz" not in served.log.read_text():
        assert time.monotonic() < deadline, served.log.read_text()
        time.sleep(0.05)
    lines = [line for line in served.log.read_text().splitlines() if "/slack/events" in line]
    # Slack's stream of events leaves no line each; the refusal keeps its line.
    assert lines and all("401" in line for line in lines if "POST /slack/events" in line), lines
    assert any("POST /slack/events" in line for line in lines)


def processes_of(data_dir: Path) -> list[int]:
    """The processes still running with this serve's data folder (its turn processes and
    multiprocessing's resource tracker inherit its environment)."""
    mark = f"SESSIONBOT_DATA_DIR={data_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if mark in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


@pytest.mark.parametrize(
    ("stop", "after"),
    [(signal.SIGTERM, None), (signal.SIGKILL, None)]
    + [(stop, after) for stop in (signal.SIGTERM, signal.SIGKILL) for after in (1.0, 2.0, 3.0)],
)
def test_serve_leaves_no_process_behind_however_it_ends(
    tmp_path: Path, stop: signal.Signals, after: float | None
) -> None:
    """Stopped or killed the moment it is healthy, or while it is still starting its
    turn processes: within a few seconds nothing of it runs, nothing holds its store."""
    with serve_process(tmp_path, healthy=after is None) as served:
        if after is not None:
            time.sleep(after)
        served.proc.send_signal(stop)
        served.proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while (left := processes_of(tmp_path / "data")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == [], f"still running after serve ended: {left}"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_reply_sent_to_another_process_while_slack_still_answers_the_last_is_answered_once(
    tmp_path: Path, fake_slack: FakeSlack, backend: str, request: pytest.FixtureRequest
) -> None:
    """Two `serve` processes on one store, turns spread over them (a load balancer): the
    clinician says "save" as soon as the summary shows, while the process that posted it
    still waits for Slack's answer (so has not recorded it delivered). The save must not be
    refused as unseen, and no answer may be posted twice (bench/bench_scale.py found both
    at 2 and 4 web processes)."""
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    env["SLACK_API_URL"] = fake_slack.url
    if backend == "postgresql":  # the database of a deployment with many web processes
        env["SESSIONBOT_DATABASE_URL"] = request.getfixturevalue("pg_url")
    with (
        serve_process(tmp_path, log_name="a.log", env=env) as a,
        serve_process(tmp_path, log_name="b.log", env=env) as b,
    ):
        at_a = Person(a, fake_slack, "U_RACE")
        at_b = Person(b, fake_slack, "U_RACE")
        channel = at_a.dm_channel
        assert at_a.dm_event("JD tomorrow 3pm by text +1 617 555 0101, intake packet").is_success
        wait_for_messages(fake_slack, channel, 1)
        fake_slack.hold("chat.postMessage", 2.5)
        assert at_a.dm_event("Pacific").is_success
        wait_for_messages(fake_slack, channel, 2)  # shown; A still waits for Slack
        fake_slack.hold("chat.postMessage", 0)
        assert at_b.dm_event("save").is_success
        wait_for_messages(fake_slack, channel, 3)
        fake_slack.quiet(1.5)
        said = fake_slack.channel(channel)
    assert said[1].text.startswith("*New scheduled session*: please check, then Save.")
    assert len(said) == 3, [m.text[:60] for m in said]
    assert "Enter Meeting" in json.dumps(said[2].blocks), said[2].text[:120]
