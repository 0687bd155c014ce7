"""Many workers side by side, and the worker and outbox commands as a new user sees them."""

from __future__ import annotations

import io
import os
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from conftest import TEST_KEY
from outbox_kit import book_many, outbox, wired_parts, worker

from store.db import Store


def test_two_workers_over_1000_due_messages_send_each_exactly_once(
    tmp_path,
    pg_url,
    fake_twilio,
) -> None:
    store = Store.open(pg_url, [TEST_KEY], upgrade=False)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "TRUNCATE outbox, scheduled_sessions, contacts, clinicians RESTART IDENTITY CASCADE"
        )
    parts = wired_parts(tmp_path, store, twilio=fake_twilio)
    book_many(parts, 1000)
    workers = [worker(parts, worker_id=f"w{i}") for i in range(2)]
    results = {}

    def run(w) -> None:
        results[w.worker_id] = w.run_once()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    per_number = Counter(m["To"] for m in fake_twilio.messages)
    assert len(per_number) == 1000
    assert set(per_number.values()) == {1}
    assert len(fake_twilio.requests) == 1000
    assert all(results[w.worker_id].counts["sent"] > 100 for w in workers)  # both worked
    invitations = [m for m in outbox(parts) if m.kind == "invitation"]
    assert {m.status for m in invitations} == {"sent"}
    store.dispose()


def test_a_killed_workers_claim_is_taken_over_when_its_lease_runs_out(
    tmp_path,
    store,
    fake_twilio,
    clock,
) -> None:
    parts = wired_parts(tmp_path, store, twilio=fake_twilio)
    book_many(parts, 1)
    dead = worker(parts, worker_id="dead", lease=timedelta(minutes=5))
    assert len(dead.claim()) == 1  # ...and the process dies before sending
    assert worker(parts, worker_id="alive").run_once().handled == 0
    clock.shift(timedelta(minutes=6))
    assert worker(parts, worker_id="alive").run_once().counts["sent"] == 1
    assert len(fake_twilio.messages) == 1


@pytest.fixture
def sessionbot(tmp_path, monkeypatch, capsys):
    """The `sessionbot` command as a new user runs it (no SMTP, Twilio or Slack set up)."""
    from sessionbot.cli import main

    for name in list(os.environ):
        if name.startswith(("SESSIONBOT_", "TWILIO_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SESSIONBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SESSIONBOT_ENCRYPTION_KEY", TEST_KEY)
    monkeypatch.chdir(tmp_path)

    def run(*args: str, stdin: str = "") -> str:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        assert main(list(args)) == 0
        return capsys.readouterr().out

    return run


def test_without_credentials_messages_land_in_the_labelled_local_outbox(sessionbot) -> None:
    sessionbot(
        "shell",
        stdin="JD tomorrow 3pm by email jd@example.com, intake packet\nPacific\nsave\n",
    )
    sessionbot(
        "shell",
        stdin="Robin tomorrow 4pm by text +1 617 555 0101, no documents\nPacific\nsave\n",
    )
    first = sessionbot("worker", "--once")
    assert "local: 2" in first
    assert "nothing due" in sessionbot("worker", "--once")
    printed = sessionbot("outbox")
    assert "LOCAL OUTBOX (not sent: no SMTP (SESSIONBOT_SMTP_URL) configured)" in printed
    assert "LOCAL OUTBOX (not sent: no Twilio (TWILIO_*) configured)" in printed
    assert "To: jd@example.com" in printed and "Attachments: invite.ics" in printed
    assert "12:00 PM PST" in printed and "PT" in printed
    sessions = sessionbot("sessions", "--json")
    assert sessions.count('"invite_status": "local_outbox"') == 2


def test_cancel_and_reschedule_commands_tell_the_participant(sessionbot) -> None:
    import json

    sessionbot(
        "shell",
        stdin="JD in 3 days at 3pm by email jd@example.com, intake packet\nPacific\nsave\n",
    )
    (record,) = json.loads(sessionbot("sessions", "--json"))
    sessionbot("worker", "--once")
    future = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0).isoformat()
    assert "Moved the session with JD to" in sessionbot("reschedule", record["id"], "--to", future)
    sessionbot("worker", "--once")
    assert "participant will be told" in sessionbot("cancel", record["id"])
    sessionbot("worker", "--once")
    printed = sessionbot("outbox")
    assert printed.count("Subject: Invitation:") == 1
    assert printed.count("Subject: Updated:") == 1
    assert printed.count("Subject: Cancelled:") == 1
    assert "Subject: Reminder" not in printed
