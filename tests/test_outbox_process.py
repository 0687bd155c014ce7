"""`sessionbot worker` as a deployment runs it: a process of its own, stopped by SIGTERM.

A stop must not cut a text in half nor strand the rest of a claimed batch: the worker
finishes the text in hand, gives the others back, and exits 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import make_settings
from fake_twilio import FakeTwilio
from outbox_kit import book_many, outbox, run_worker

from sessionbot.wiring import Parts, build

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


def start_worker(tmp_path: Path, fake_twilio: FakeTwilio) -> Running:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "SESSIONBOT_DATA_DIR": str(tmp_path / "data"),
        "SESSIONBOT_ENCRYPTION_KEY": make_settings(tmp_path).encryption_keys[0],
        "SESSIONBOT_PUBLIC_URL": "https://sessions.example.test",
        **fake_twilio.env(),
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
    worker = start_worker(tmp_path, fake_twilio)
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
