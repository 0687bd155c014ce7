"""Many workers side by side, and the worker and outbox commands as a new user sees them."""

from __future__ import annotations

import io
import os
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import TEST_KEY, _truncate
from cryptography.fernet import Fernet
from outbox_kit import book_many, clinician_notices, outbox, wired_parts, worker

from scheduling import booking
from store import clinician_rows
from store.crypto import Keyring
from store.db import Store
from store.models import OutboxMessage, ScheduledSession


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
    # The e-mail and the text write the time the same way (one renderer for every face).
    assert printed.count("12:00 PM PST") >= 2, printed
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


# One bad row never stops the others ----------------------------------------------------

BAD_ADDRESS = "jd@example.com\nBcc: everyone@example.net"


@pytest.fixture
def poisoned(store):
    """The store, emptied after the test: the next test's store must not meet a row
    under a key nobody has when it checks its key (store/db.py)."""
    yield store
    if store.engine.dialect.name == "postgresql":
        _truncate(store)


def failed_count(reason: str) -> float:
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value("sessionbot_outbox_failed_total", {"reason": reason})
    return value or 0.0


def corrupt_email(parts, session_id: int, address: str) -> None:
    """A row as a tracker posted from outside, or an older version, could have left it."""
    with parts.store.unit() as s:
        s.get(ScheduledSession, session_id).email = address


def under_another_key(parts, table: str, column: str, row_id: int, clear: str) -> None:
    """The row's value as a process with another key would have written it."""
    token = Keyring([Fernet.generate_key().decode()]).encrypt(clear)
    with parts.store.unit() as s:
        s.execute(
            sa.text(f"UPDATE {table} SET {column} = :t WHERE id = :i"), {"t": token, "i": row_id}
        )


def invitation_rows(parts) -> list:
    return sorted((m for m in outbox(parts) if m.kind == "invitation"), key=lambda m: m.id)


def test_an_address_with_a_line_feed_fails_alone_and_the_others_are_sent(
    tmp_path, poisoned, smtp_server
) -> None:
    parts = wired_parts(tmp_path, poisoned, smtp=smtp_server)
    book_many(parts, 3, channel="email")
    bad = invitation_rows(parts)[1]
    corrupt_email(parts, bad.session_id, BAD_ADDRESS)
    before = failed_count("bad_header")

    stats = worker(parts).run_once()  # today: ValueError out of the worker, nothing sent

    assert stats.counts["sent"] == 2 and stats.counts["failed"] == 1
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [
        "p0@example.com",
        "p2@example.com",
    ]
    rows = {m.id: m for m in invitation_rows(parts)}
    assert rows[bad.id].status == "failed"
    assert rows[bad.id].last_error == (
        "the e-mail address or subject has a line break, which no e-mail can carry"
    )
    (notice,) = clinician_notices(parts)
    assert "The invitation for your session with P1 on " in notice
    assert "line break" in notice and "Edit the session's e-mail address" in notice
    assert "example" not in notice  # the address is not repeated anywhere
    assert failed_count("bad_header") == before + 1
    with parts.store.unit() as s:
        assert s.get_one(ScheduledSession, bad.session_id).invite_status == "failed"


def test_a_session_under_another_key_fails_alone_and_its_clinician_is_told(
    tmp_path, poisoned, fake_twilio
) -> None:
    parts = wired_parts(tmp_path, poisoned, twilio=fake_twilio)
    book_many(parts, 3)
    bad = invitation_rows(parts)[0]
    under_another_key(parts, "scheduled_sessions", "phone", bad.session_id, "+16175550000")
    before = failed_count("unreadable")

    stats = worker(parts).run_once()  # today: ValueError (cannot be decrypted), exit 1

    assert stats.counts["sent"] == 2 and stats.counts["failed"] == 1, stats.counts
    assert sorted(m["To"] for m in fake_twilio.messages) == ["+16175550001", "+16175550002"]
    rows = {m.id: m for m in invitation_rows(parts)}
    assert rows[bad.id].status == "failed"
    assert rows[bad.id].last_error == "its data is encrypted under a key this worker does not have"
    (notice,) = clinician_notices(parts)
    assert "The invitation for a session on " in notice  # no initials to give
    assert "SESSIONBOT_ENCRYPTION_KEY" in notice
    assert failed_count("unreadable") == before + 1
    assert worker(parts).run_once().handled == 0  # and it stays failed


def test_a_notice_under_another_key_fails_alone(tmp_path, poisoned, fake_twilio) -> None:
    parts = wired_parts(tmp_path, poisoned, twilio=fake_twilio)
    book_many(parts, 2)
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1")
        for n in (1, 2):
            booking.notify_clinician(
                s, clinician.id, f"notice {n}", dedupe_key=f"notice:test:{n}", now=datetime.now(UTC)
            )
    (first, second) = sorted(
        (m for m in outbox(parts) if m.kind == "clinician_notice"), key=lambda m: m.id
    )
    under_another_key(parts, "outbox", "payload", first.id, "notice 1")

    stats = worker(parts).run_once()

    assert stats.counts["failed"] == 1
    assert len(fake_twilio.messages) == 2
    with parts.store.unit() as s:  # the rows' states only (one payload is unreadable here)
        statuses = dict(s.execute(sa.select(OutboxMessage.id, OutboxMessage.status)).all())
    assert statuses[first.id] == "failed"
    assert statuses[second.id] == "local"  # the other DM went (to the local outbox here)


def test_a_message_for_a_channel_without_an_adapter_fails_alone_and_is_never_emailed(
    tmp_path, poisoned, smtp_server
) -> None:
    """A channel the worker cannot send (a newer version's "whatsapp", a typo) is an
    error with a fixed reason, never an e-mail (today: it went out as an e-mail)."""
    parts = wired_parts(tmp_path, poisoned, smtp=smtp_server)
    book_many(parts, 3, channel="email")
    bad = invitation_rows(parts)[1]
    with parts.store.unit() as s:
        s.get_one(OutboxMessage, bad.id).channel = "whatsapp"
    before = failed_count("unknown_channel")

    stats = worker(parts).run_once()

    assert stats.counts["sent"] == 2 and stats.counts["failed"] == 1
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [
        "p0@example.com",
        "p2@example.com",
    ]
    rows = {m.id: m for m in invitation_rows(parts)}
    assert rows[bad.id].status == "failed"
    assert rows[bad.id].last_error == "it is for a channel this worker has no way to send"
    (notice,) = clinician_notices(parts)
    assert "The invitation for your session with P1 on " in notice
    assert "no way to send" in notice and "example" not in notice
    assert failed_count("unknown_channel") == before + 1


def test_a_clinician_notice_on_another_channel_fails_instead_of_going_to_slack(
    tmp_path, poisoned
) -> None:
    parts = wired_parts(tmp_path, poisoned)
    book_many(parts, 1)
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_TEST", "U_CLIN1")
        booking.notify_clinician(
            s, clinician.id, "notice", dedupe_key="notice:test:1", now=datetime.now(UTC)
        )
    (notice,) = (m for m in outbox(parts) if m.kind == "clinician_notice")
    with parts.store.unit() as s:
        s.get_one(OutboxMessage, notice.id).channel = "email"

    worker(parts).run_once()

    with parts.store.unit() as s:
        row = s.get_one(OutboxMessage, notice.id)
        assert (row.status, row.last_error) == (
            "failed",
            "it is for a channel this worker has no way to send",
        )
