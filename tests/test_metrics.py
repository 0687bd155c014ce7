"""Metrics an operator reads: each moves when its event happens, and none carries a
participant's data, a session id or any other unbounded value as a label."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import TEST_KEY, make_settings
from fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, Person
from outbox_kit import book_many
from prometheus_client.parser import text_string_to_metric_families
from serve_process import serve_process

from sessionbot.wiring import build


def scrape(http: httpx.Client | str) -> dict[tuple[str, tuple], float]:
    text = (httpx.get(http) if isinstance(http, str) else http.get("/metrics")).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(metrics: dict, name: str, **labels: str) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for(fake: FakeSlack, channel: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(fake.channel(channel)) < count:
        assert time.monotonic() < deadline, f"only {len(fake.channel(channel))} messages"
        time.sleep(0.05)


@pytest.fixture
def served(tmp_path: Path, fake_slack: FakeSlack):
    with serve_process(
        tmp_path,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url,
    ) as served:
        yield served


def test_slack_turn_and_session_metrics_move_with_a_conversation(served, fake_slack):
    before = scrape(served.http)
    clinician = Person(served, fake_slack, "U_METRICS")
    turns = ["JD tomorrow 3pm by text +1 617 555 0101, intake packet", "Pacific", "save"]
    for i, text in enumerate(turns, 1):
        body, ctype = clinician.dm_body(text)
        assert clinician.post(body, ctype).status_code == 200
        wait_for(fake_slack, clinician.dm_channel, i)
    assert served.http.post("/slack/events", json={"type": "event_callback"}).status_code == 401

    deadline = time.monotonic() + 10
    while True:  # "processed" is counted just after the answer is posted
        after = scrape(served.http)
        moved = value(after, "sessionbot_slack_events_total", stage="processed") - value(
            before, "sessionbot_slack_events_total", stage="processed"
        )
        if moved >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.1)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("sessionbot_slack_requests_total", result="acked") == 3
    assert delta("sessionbot_slack_requests_total", result="refused") == 1
    assert delta("sessionbot_slack_ack_seconds_count") == 3
    assert delta("sessionbot_slack_events_total", stage="received") == 3
    assert delta("sessionbot_slack_events_total", stage="processed") == 3
    assert delta("sessionbot_turns_total", result="ok") == 3
    assert delta("sessionbot_turn_seconds_count") == 3
    assert delta("sessionbot_sessions_saved_total") == 1
    # The embedded store's writers' lock: every request's inbox write waited for it.
    assert delta("sessionbot_store_write_wait_seconds_count", kind="ack") >= 3
    # What the database says: the session, its invitation and reminders queued, nothing
    # left in the inbox.
    assert value(after, "sessionbot_sessions", status="scheduled") == 1
    assert value(after, "sessionbot_outbox_messages", status="pending", channel="sms") >= 1
    assert value(after, "sessionbot_inbox_depth") == 0
    assert value(after, "sessionbot_outbox_oldest_due_age_seconds") >= 0


def test_no_label_carries_participant_data_or_an_id(served, fake_slack):
    clinician = Person(served, fake_slack, "U_LABELS")
    body, ctype = clinician.dm_body("Dana Whitfield tomorrow 3pm by text +1 617 555 0101")
    clinician.post(body, ctype)
    wait_for(fake_slack, clinician.dm_channel, 1)
    text = served.http.get("/metrics").text
    labels = set(re.findall(r'(\w+)="([^"]*)"', text))
    allowed = {"result", "stage", "status", "channel", "reason", "provider", "kind", "le"}
    allowed |= {"version", "implementation", "major", "minor", "patchlevel", "generation"}
    assert {name for name, _ in labels} <= allowed, labels
    for bad in ("Dana", "Whitfield", "617", "U_LABELS", "T"):
        assert not any(v == bad or bad in v.split() for _, v in labels)
    assert "Dana" not in text and "5550101" not in text


def test_the_workers_send_counter_moves(tmp_path, fake_twilio):
    settings = make_settings(tmp_path, **fake_twilio.env())
    parts = build(settings)
    book_many(parts, 1)  # a texted session: its invitation is due now
    parts.store.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSIONBOT_", "SLACK_"))}
    env.update(
        SESSIONBOT_DATA_DIR=str(tmp_path / "data"),
        SESSIONBOT_ENCRYPTION_KEY=settings.encryption_keys[0],
        SESSIONBOT_PUBLIC_URL="https://sessions.example.test",
        **fake_twilio.env(),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "sessionbot.cli", "worker", "--poll", "0.2", "--metrics-port", "0"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = ""
        deadline = time.monotonic() + 60
        while not url and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("metrics: "):
                url = line.split(" ", 1)[1].strip()
        assert url, "the worker did not say where its metrics are"
        while time.monotonic() < deadline:
            if value(scrape(url), "sessionbot_outbox_sent_total", channel="sms") >= 1:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the invitation was never counted as sent")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_an_error_line_is_counted_by_the_part_that_logged_it(tmp_path):
    script = (
        "import logging\n"
        "from ground.logs import configure_logging\n"
        "from ground.metrics import ERRORS, ErrorCounter\n"
        "configure_logging(default='INFO')\n"
        "logging.getLogger().addHandler(ErrorCounter())\n"
        "logging.getLogger('sessionbot.outbox').error('could not send to jane@example.com')\n"
        "logging.getLogger('sessionbot.outbox').warning('only a warning')\n"
        "print(ERRORS.labels(kind='sessionbot.outbox')._value.get())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONBOT_")}
    done = subprocess.run(
        [sys.executable, "-c", script], env={**env, "SESSIONBOT_ENCRYPTION_KEY": TEST_KEY},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.stdout.strip() == "1.0", done.stderr
    assert json.loads(done.stderr.splitlines()[0])["message"] == "could not send to [email]"


def test_page_and_webhook_requests_are_counted_by_result(served):
    before = scrape(served.http)
    assert served.http.get("/j/not-a-real-token-at-all-123456").status_code == 404
    unsigned = served.http.post("/webhooks/twilio/sms", data={"Body": "STOP"})
    assert unsigned.status_code in (403, 404)
    after = scrape(served.http)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("sessionbot_page_requests_total", result="unknown") == 1
    moved = delta("sessionbot_webhook_requests_total", provider="twilio", result="refused")
    moved += delta("sessionbot_webhook_requests_total", provider="twilio", result="unknown")
    assert moved == 1
