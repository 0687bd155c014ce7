"""`sessionbot worker` as a deployment runs it: a process of its own, stopped by SIGTERM.

A stop must not cut a text in half nor strand the rest of a claimed batch: the worker
finishes the text in hand, gives the others back, and exits 0.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from conftest import _admin, make_settings
from cryptography.fernet import Fernet
from fake_twilio import FakeTwilio
from outbox_kit import book_many, outbox, run_worker

from sessionbot.wiring import Parts, build
from store.crypto import Keyring
from store.db import Store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def texting(tmp_path: Path, fake_twilio: FakeTwilio):
    """Parts on the SQLite store that the worker process will open too."""
    settings = make_settings(tmp_path, **fake_twilio.env())
    parts = build(settings)
    yield parts
    parts.store.dispose()


class Running:
    """The worker process and its output so far (read by a thread, line by line)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self) -> None:
        """Until the worker says it runs (its SIGTERM handler is in place by then)."""
        wait_for(lambda: "SIGTERM stops it" in self.output)


def start_worker(tmp_path: Path, fake_twilio: FakeTwilio, **extra: str) -> Running:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "SESSIONBOT_DATA_DIR": str(tmp_path / "data"),
        "SESSIONBOT_ENCRYPTION_KEY": make_settings(tmp_path).encryption_keys[0],
        "SESSIONBOT_PUBLIC_URL": "https://sessions.example.test",
        **fake_twilio.env(),
        **extra,
    }
    return Running(
        subprocess.Popen(
            [sys.executable, "-m", "sessionbot.cli", "worker", "--poll", "0.2"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    )


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sigterm_finishes_the_text_in_hand_and_gives_the_rest_back(
    tmp_path: Path, texting: Parts, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.latency = 1.0  # Twilio takes a second: the signal lands mid-request
    book_many(texting, 3)
    worker = start_worker(tmp_path, fake_twilio, SESSIONBOT_WORKER_SMS_CONCURRENCY="1")
    try:
        worker.wait_ready()
        wait_for(lambda: len(fake_twilio.requests) >= 1)
        worker.process.send_signal(signal.SIGTERM)
        assert worker.process.wait(timeout=30) == 0
    finally:
        worker.process.kill()
    time.sleep(0.2)  # the reader thread takes the last lines
    output = worker.output
    assert "finishing the message in hand" in output
    assert "Traceback" not in output
    assert len(fake_twilio.messages) == 1  # the text in hand was finished, no other begun
    invitations = [m for m in outbox(texting) if m.kind == "invitation"]
    statuses = sorted(m.status for m in invitations)
    assert statuses == ["pending", "pending", "sent"]  # none stranded in "sending"
    assert {m.attempts for m in invitations if m.status == "pending"} == {0}
    fake_twilio.latency = 0.0
    assert run_worker(texting).counts["sent"] == 2  # at once: no lease to wait out
    assert len({m["To"] for m in fake_twilio.messages}) == 3


def test_sigterm_mid_batch_finishes_the_texts_in_flight_and_gives_the_rest_back(
    tmp_path: Path, texting: Parts, fake_twilio: FakeTwilio
) -> None:
    """4 texts at once: the 4 begun are finished, the 8 others claimed with them go back
    at once, untried."""
    fake_twilio.latency = 1.0
    book_many(texting, 12)
    worker = start_worker(tmp_path, fake_twilio, SESSIONBOT_WORKER_SMS_CONCURRENCY="4")
    try:
        worker.wait_ready()
        wait_for(lambda: len(fake_twilio.requests) >= 4)
        worker.process.send_signal(signal.SIGTERM)
        assert worker.process.wait(timeout=30) == 0
    finally:
        worker.process.kill()
    assert len(fake_twilio.requests) == 4  # none begun after the signal
    assert len(fake_twilio.messages) == 4  # the ones in flight were finished
    invitations = [m for m in outbox(texting) if m.kind == "invitation"]
    assert sorted(m.status for m in invitations) == ["pending"] * 8 + ["sent"] * 4
    assert {m.attempts for m in invitations if m.status == "pending"} == {0}
    assert all(m.claimed_by is None for m in invitations if m.status == "pending")
    fake_twilio.latency = 0.0
    assert run_worker(texting).counts["sent"] == 8  # at once: no lease to wait out
    assert len({m["To"] for m in fake_twilio.messages}) == 12


def test_a_worker_killed_mid_batch_is_taken_over_without_duplicates(
    tmp_path: Path, texting: Parts, fake_twilio: FakeTwilio
) -> None:
    """kill -9 while 8 texts are in flight; a second worker, running all along, sends the
    rest once the dead worker's claims lapse (the default lease: its heartbeat stopped).
    Only a text the dead worker had handed to Twilio and not yet recorded can go twice
    (README: the one documented duplicate). How soon: bench/bench_recovery.py."""
    fake_twilio.latency = 0.3
    book_many(texting, 60)
    lanes = {"SESSIONBOT_WORKER_SMS_CONCURRENCY": "8"}
    first = start_worker(tmp_path, fake_twilio, **lanes)
    second: Running | None = None
    try:
        first.wait_ready()
        wait_for(lambda: len(fake_twilio.messages) >= 16)
        first.process.kill()  # SIGKILL: nothing is given back, nothing recorded after
        first.process.wait(timeout=10)
        # (A request cut by the kill may have reached the fake without its body.)
        asked_before_kill = {r.form.get("To") for r in list(fake_twilio.requests)}
        recorded = {
            m.session_id for m in outbox(texting) if m.kind == "invitation" and m.status == "sent"
        }
        assert 0 < len(recorded) < 60  # killed mid-batch
        held = [m for m in outbox(texting) if m.status == "sending"]
        assert held and {m.claimed_by for m in held} == {held[0].claimed_by}  # the dead one's
        second = start_worker(tmp_path, fake_twilio, **lanes)
        second.wait_ready()
        wait_for(lambda: len({m["To"] for m in fake_twilio.messages}) == 60, timeout=90)
        wait_for(lambda: {m.status for m in outbox(texting) if m.kind == "invitation"} == {"sent"})
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(timeout=30) == 0
    finally:
        first.process.kill()
        if second is not None:
            second.process.kill()
    per_number = Counter(m["To"] for m in fake_twilio.messages)
    twice = {number for number, n in per_number.items() if n > 1}
    assert max(per_number.values()) <= 2
    # Each duplicate was in flight at the kill: asked of Twilio by the dead worker.
    assert twice <= asked_before_kill
    assert len(twice) <= 8  # at most the texts in flight at once
    assert "Traceback" not in second.output


def test_two_live_workers_keep_their_claims_through_sends_longer_than_the_lease(
    tmp_path: Path, texting: Parts, fake_twilio: FakeTwilio
) -> None:
    """A 3-second lease and a Twilio that takes 7 s: each worker's heartbeat renews what
    it holds, so the other never takes it over (a lease alone would send each text twice)."""
    fake_twilio.latency = 7.0
    short = {"SESSIONBOT_OUTBOX_LEASE": "3", "SESSIONBOT_WORKER_SMS_CONCURRENCY": "4"}
    workers = [start_worker(tmp_path, fake_twilio, **short) for _ in range(2)]
    try:
        for w in workers:
            w.wait_ready()
        book_many(texting, 8)  # due now: both workers claim
        wait_for(lambda: len(fake_twilio.messages) >= 8, timeout=90)
        wait_for(lambda: {m.status for m in outbox(texting) if m.kind == "invitation"} == {"sent"})
        fake_twilio.latency = 0.0
        time.sleep(3)  # a takeover would have shown by now
        for w in workers:
            w.process.send_signal(signal.SIGTERM)
        for w in workers:
            assert w.process.wait(timeout=30) == 0
    finally:
        for w in workers:
            w.process.kill()
    per_number = Counter(m["To"] for m in fake_twilio.messages)
    assert len(per_number) == 8 and set(per_number.values()) == {1}
    assert len(fake_twilio.requests) == 8
    invitations = [m for m in outbox(texting) if m.kind == "invitation"]
    assert {m.attempts for m in invitations} == {1}  # none claimed a second time


def test_an_idle_worker_stops_at_once_on_sigterm(
    tmp_path: Path, texting: Parts, fake_twilio: FakeTwilio
) -> None:
    worker = start_worker(tmp_path, fake_twilio)
    try:
        worker.wait_ready()
        time.sleep(0.5)  # idle, waiting between looks
        began = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        assert worker.process.wait(timeout=10) == 0
        assert time.monotonic() - began < 3
    finally:
        worker.process.kill()


# A poison row among good ones; the database gone ---------------------------------------


def worker_env(tmp_path: Path, fake_twilio: FakeTwilio, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "SESSIONBOT_DATA_DIR": str(tmp_path / "data"),
        "SESSIONBOT_ENCRYPTION_KEY": make_settings(tmp_path).encryption_keys[0],
        "SESSIONBOT_PUBLIC_URL": "https://sessions.example.test",
        **fake_twilio.env(),
        **extra,
    }


def sessionbot(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sessionbot.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def poison_one_of_three(parts: Parts) -> int:
    """Three texts due; the middle session's number written under a key nobody has."""
    book_many(parts, 3)
    invitations = sorted((m for m in outbox(parts) if m.kind == "invitation"), key=lambda m: m.id)
    bad = invitations[1]
    token = Keyring([Fernet.generate_key().decode()]).encrypt("+16175550001")
    with parts.store.unit() as s:
        s.execute(
            sa.text("UPDATE scheduled_sessions SET phone = :t WHERE id = :i"),
            {"t": token, "i": bad.session_id},
        )
    return bad.id


def test_worker_once_sends_the_good_rows_and_fails_the_poison_one(
    tmp_path: Path, texting: Parts, fake_twilio: FakeTwilio
) -> None:
    bad = poison_one_of_three(texting)
    done = sessionbot(tmp_path, worker_env(tmp_path, fake_twilio), "worker", "--once")
    assert done.returncode == 0, done.stderr  # today: 1, a traceback, and nothing sent
    assert "Traceback" not in done.stdout + done.stderr
    assert "failed: 1" in done.stdout and "sent: 2" in done.stdout
    assert sorted(m["To"] for m in fake_twilio.messages) == ["+16175550000", "+16175550002"]
    rows = {m.id: m for m in outbox(texting)}
    assert rows[bad].status == "failed"
    assert rows[bad].last_error == "its data is encrypted under a key this worker does not have"
    notices = [m.payload or "" for m in rows.values() if m.kind == "clinician_notice"]
    assert len(notices) == 1 and "for a session on" in notices[0]
    assert "+1617" not in done.stdout + done.stderr  # no number in the log


def test_a_running_worker_counts_the_poison_row_in_its_metrics(
    tmp_path: Path, texting: Parts, fake_twilio: FakeTwilio
) -> None:
    bad = poison_one_of_three(texting)
    worker = Running(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sessionbot.cli",
                "worker",
                "--poll",
                "0.2",
                "--metrics-port",
                "0",
            ],
            cwd=tmp_path,
            env=worker_env(tmp_path, fake_twilio),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    )
    try:
        worker.wait_ready()
        wait_for(lambda: len(fake_twilio.messages) == 2)
        wait_for(lambda: {m.id: m.status for m in outbox(texting)}[bad] == "failed")
        found = re.search(r"metrics: (http://127\.0\.0\.1:\d+/metrics)", worker.output)
        assert found is not None, worker.output
        url = found.group(1)
        scraped = httpx.get(url, timeout=5).text
        assert 'sessionbot_outbox_failed_total{reason="unreadable"} 1.0' in scraped
        assert worker.process.poll() is None  # still running
        worker.process.send_signal(signal.SIGTERM)
        assert worker.process.wait(timeout=30) == 0
    finally:
        worker.process.kill()
    assert "Traceback" not in worker.output


def test_worker_without_its_database_says_so_in_one_line(
    tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    (tmp_path / "not-a-folder").write_text("")
    env = worker_env(
        tmp_path,
        fake_twilio,
        SESSIONBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'not-a-folder' / 'sessionbot.db'}",
    )
    done = sessionbot(tmp_path, env, "worker", "--once")
    assert done.returncode == 2  # a path where no database can be: bad configuration
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("sessionbot worker: the database cannot be reached")


def test_a_worker_whose_database_goes_away_stops_with_one_line(
    tmp_path: Path, pg_url: str, fake_twilio: FakeTwilio
) -> None:
    name = f"sessionbot_gone_{os.getpid()}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    url = sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    Store.open(url, [make_settings(tmp_path).encryption_keys[0]], upgrade=True).dispose()
    worker = Running(
        subprocess.Popen(
            [sys.executable, "-m", "sessionbot.cli", "worker", "--poll", "0.2"],
            cwd=tmp_path,
            env=worker_env(tmp_path, fake_twilio, SESSIONBOT_DATABASE_URL=url),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    )
    try:
        worker.wait_ready()
        _admin(f'DROP DATABASE "{name}" WITH (FORCE)')  # every connection cut, then gone
        assert worker.process.wait(timeout=30) == 1
    finally:
        worker.process.kill()
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    time.sleep(0.2)
    assert "Traceback" not in worker.output
    said = [x for x in worker.output.splitlines() if x.startswith("sessionbot worker:")]
    assert len(said) == 1 and said[0].startswith(
        "sessionbot worker: the database cannot be reached ("
    )
