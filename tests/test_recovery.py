"""A Slack request held by a dead process is taken over; a live one keeps its own.

Two real `sessionbot serve` processes on one store (as behind a load balancer). Their
claims on inbox rows are short and renewed by a heartbeat while the work runs: a
process killed mid-turn leaves its request to the other one, which answers it once; a
process whose turn takes longer than the lease keeps it, and nobody runs it twice.
How soon the takeover comes is measured in bench/bench_recovery.py, not here.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from fake_slack import FakeSlack, Person, slack_env
from serve_process import serve_process

FIRST = "JD tomorrow 3pm by text +1 617 555 0101, intake packet"


def settled(fake: FakeSlack, channel: str, count: int, timeout: float) -> list:
    """The DM once it has `count` messages and nothing more arrived for 3 s."""
    deadline = time.monotonic() + timeout
    while len(fake.channel(channel)) < count:
        assert time.monotonic() < deadline, f"{len(fake.channel(channel))} of {count} arrived"
        time.sleep(0.1)
    while True:
        before = len(fake.channel(channel))
        time.sleep(3)
        if len(fake.channel(channel)) == before:
            return fake.channel(channel)


def test_a_dm_held_by_a_killed_process_is_answered_once_by_the_other(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """The default lease: A acknowledged the DM and hangs on Slack when it is killed; B,
    running all along, answers it (the words were in the store before the ack)."""
    env = slack_env(fake_slack)
    with (
        serve_process(tmp_path, log_name="a.log", env=env) as a,
        serve_process(tmp_path, log_name="b.log", env=env) as b,
    ):
        clinician = Person(a, fake_slack, "U_TAKEN_OVER")
        fake_slack.fail_for("conversations.open", 60.0, hang=60.0)
        assert clinician.dm_event(FIRST).is_success
        fake_slack.wait_calls("conversations.open", 1, timeout=30)  # A is inside the turn
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(timeout=10)
        fake_slack.outages.clear()  # Slack is well again; B's turn gets through
        (reply,) = settled(fake_slack, clinician.dm_channel, 1, timeout=90)
        assert reply.text.startswith("What time zone is JD in?")
        log = b.log.read_text()
        deadline = time.monotonic() + 10  # written on a logging thread
        while "replaying Slack request event" not in log:
            assert time.monotonic() < deadline, log
            time.sleep(0.1)
            log = b.log.read_text()


def test_a_turn_longer_than_the_lease_is_not_run_again_while_its_process_lives(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """A 3-second lease, and Slack takes 8 s to open the DM: A's heartbeat keeps the claim,
    so B (sweeping all along) never replays it, and the clinician gets one answer."""
    env = slack_env(fake_slack, SESSIONBOT_SLACK_INBOX_LEASE="3")
    with (
        serve_process(tmp_path, log_name="a.log", env=env) as a,
        serve_process(tmp_path, log_name="b.log", env=env) as b,
    ):
        clinician = Person(a, fake_slack, "U_SLOW_TURN")
        fake_slack.slow_down("conversations.open", 8.0)
        assert clinician.dm_event(FIRST).is_success
        (reply,) = settled(fake_slack, clinician.dm_channel, 1, timeout=60)
        fake_slack.slow_down("conversations.open", 0)
        assert reply.text.startswith("What time zone is JD in?")
        assert len(fake_slack.of("conversations.open")) == 1  # nobody else began it
        assert "replaying" not in a.log.read_text() + b.log.read_text()
