"""No answer lost when Slack's API fails, and a dead turn process is replaced.

Real `sessionbot serve` processes on the store of each backend, the fake Slack failing
`chat.postMessage` for a while (or holding it while the process is killed): the
clinician gets each answer once Slack is back, exactly once; a "save" that arrives while
the summary never reached them stores nothing; a turn process killed outright is
replaced, the next messages are answered, and /healthz says 503 meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fake_slack import FakeSlack, Message, Person, slack_env
from serve_process import Served, serve_process
from sqlalchemy import func, select

from store.db import Store
from store.models import ScheduledSession

LEASE = "1"  # seconds: a lapsed claim (a killed process's, a retry's backoff) is soon due
FIRST = "JD tomorrow 3pm by text +1 617 555 0101, intake packet"


@contextmanager
def served_on(
    tmp_path: Path, fake: FakeSlack, store: Store, log_name: str = "serve.log"
) -> Iterator[Served]:
    url = store.engine.url.render_as_string(hide_password=False)
    env = slack_env(fake, SESSIONBOT_DATABASE_URL=url, SESSIONBOT_SLACK_INBOX_LEASE=LEASE)
    with serve_process(tmp_path, log_name=log_name, env=env) as served:
        yield served


def dm(clinician: Person, text: str) -> None:
    body, ctype = clinician.dm_body(text)
    assert clinician.post(body, ctype).status_code == 200


def wait_messages(fake: FakeSlack, channel: str, count: int, timeout: float = 30) -> list[Message]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = fake.channel(channel)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{len(fake.channel(channel))} of {count} messages reached the DM")


def settled(fake: FakeSlack, channel: str, seconds: float = 3.0) -> list[Message]:
    """The DM once nothing more arrived for `seconds` (a late duplicate would show)."""
    while True:
        before = len(fake.channel(channel))
        time.sleep(seconds)
        found = fake.channel(channel)
        if len(found) == before:
            return found


def sessions(store: Store) -> int:
    with store.reading() as s:
        return int(s.scalar(select(func.count()).select_from(ScheduledSession)) or 0)


def test_an_answer_slack_refused_for_a_while_arrives_once_slack_is_back(
    tmp_path: Path, fake_slack: FakeSlack, store: Store
) -> None:
    with served_on(tmp_path, fake_slack, store) as served:
        clinician = Person(served, fake_slack, "U_OUTAGE")
        # Slack answers 500 for a while: slack_sdk's own retries are spent too. Long enough
        # to cover the turn's first post and its retries on a loaded machine (4 s did not:
        # a slow turn posted after the outage and the sweeper's retry was never needed).
        fake_slack.fail_for("chat.postMessage", 10.0, status=500)
        dm(clinician, FIRST)
        fake_slack.wait_calls("chat.postMessage", 1)
        (reply,) = wait_messages(fake_slack, clinician.dm_channel, 1)
        assert reply.text.startswith("What time zone is JD in?")
        assert len(fake_slack.of("chat.postMessage")) > 1  # it was tried again
        assert len(settled(fake_slack, clinician.dm_channel)) == 1  # and posted once
        # The conversation goes on from there.
        dm(clinician, "Pacific")
        assert "Save" in json.dumps(wait_messages(fake_slack, clinician.dm_channel, 2)[-1].blocks)
    assert "reply not delivered (internal_error); trying again" in served.log.read_text()


def test_a_save_while_the_summary_never_arrived_stores_nothing(
    tmp_path: Path, fake_slack: FakeSlack, store: Store
) -> None:
    with served_on(tmp_path, fake_slack, store) as served:
        clinician = Person(served, fake_slack, "U_UNSEEN")
        dm(clinician, FIRST)
        wait_messages(fake_slack, clinician.dm_channel, 1)
        # Slack's own trouble (200, ok: false) while the summary is posted.
        fake_slack.fail_for("chat.postMessage", 6.0, status=200, error="service_unavailable")
        posts = len(fake_slack.of("chat.postMessage"))
        dm(clinician, "Pacific")
        fake_slack.wait_calls("chat.postMessage", posts + 1)  # the summary's turn committed
        dm(clinician, "save")  # from habit: the summary never reached them
        replies = wait_messages(fake_slack, clinician.dm_channel, 3)
        summary, asked_again = replies[1], replies[2]
        assert "Save" in json.dumps(summary.blocks)
        assert "nothing is saved yet" in asked_again.text
        assert "Save" in json.dumps(asked_again.blocks)  # the summary again, to check
        assert sessions(store) == 0
        assert len(settled(fake_slack, clinician.dm_channel)) == 3
        # Seen now: Save stores it.
        dm(clinician, "save")
        (saved,) = wait_messages(fake_slack, clinician.dm_channel, 4)[3:]
        assert "Enter Meeting" in json.dumps(saved.blocks)
        assert sessions(store) == 1


def test_a_reply_cut_off_by_a_kill_is_posted_by_the_next_serve(
    tmp_path: Path, fake_slack: FakeSlack, store: Store
) -> None:
    # The answer's post hangs (and never lands): the turn committed, the post did not.
    fake_slack.fail_for("chat.postMessage", 60.0, hang=60.0)
    with served_on(tmp_path, fake_slack, store, "first.log") as first:
        clinician = Person(first, fake_slack, "U_KILLED")
        dm(clinician, FIRST)
        fake_slack.wait_calls("chat.postMessage", 1)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
    fake_slack.outages.clear()  # Slack is well again
    assert fake_slack.channel(clinician.dm_channel) == []
    with served_on(tmp_path, fake_slack, store, "second.log") as second:
        (reply,) = wait_messages(fake_slack, clinician.dm_channel, 1)
        assert reply.text.startswith("What time zone is JD in?")
        assert len(settled(fake_slack, clinician.dm_channel)) == 1
        # The log is written on a logging thread: give it a moment on a loaded machine.
        deadline = time.monotonic() + 10
        while "replaying Slack request event" not in second.log.read_text():
            assert time.monotonic() < deadline, second.log.read_text()
            time.sleep(0.1)


def turn_processes(parent: int) -> list[int]:
    """The pids of `parent`'s turn processes: multiprocessing's workers, forked at start
    (the parent's own command line) or spawned later (`spawn_main`)."""
    own = (Path("/proc") / str(parent) / "cmdline").read_bytes().replace(b"\0", b" ")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and (b"spawn_main" in cmdline or cmdline == own):
            found.append(int(entry.name))
    return sorted(found)


def test_a_killed_turn_process_is_replaced_and_health_says_so_meanwhile(
    tmp_path: Path, fake_slack: FakeSlack, sqlite_store: Store
) -> None:
    with served_on(tmp_path, fake_slack, sqlite_store) as served:
        clinician = Person(served, fake_slack, "U_POOL")
        workers = turn_processes(served.proc.pid)
        assert len(workers) == 2, workers
        os.kill(workers[0], signal.SIGKILL)
        dm(clinician, FIRST)  # at once: its turn may meet the broken pool
        statuses: list[tuple[int, str]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answer = served.http.get("/healthz")
            statuses.append((answer.status_code, answer.text))
            if answer.status_code == 200 and any(code == 503 for code, _ in statuses):
                break
            time.sleep(0.02)
        unhealthy = [text for code, text in statuses if code == 503]
        assert unhealthy, "health said 200 throughout"
        assert all(len(text) < 80 and "turn process" in text for text in unhealthy)
        assert statuses[-1][0] == 200
        (reply,) = wait_messages(fake_slack, clinician.dm_channel, 1)
        assert reply.text.startswith("What time zone is JD in?")
        # The next messages are answered normally, by a full set of new processes.
        dm(clinician, "Pacific")
        assert "Save" in json.dumps(wait_messages(fake_slack, clinician.dm_channel, 2)[-1].blocks)
        assert len(turn_processes(served.proc.pid)) == 2
        assert "Something went wrong" not in json.dumps([m.text for m in clinician.messages()])
    assert "a turn process died; started new turn processes" in served.log.read_text()


@pytest.mark.parametrize(
    ("outage", "expected"),
    [
        ({"status": 500}, ("internal_error", True, 0.0)),
        ({"status": 429, "retry_after": 1}, ("ratelimited", True, 1.0)),
        ({"status": 200, "error": "fatal_error"}, ("fatal_error", True, 0.0)),
        ({"status": 200, "error": "channel_not_found"}, ("channel_not_found", False, 0.0)),
        ({"status": 200, "error": "token_revoked"}, ("token_revoked", False, 0.0)),
        ({"status": 200, "error": "account_inactive"}, ("account_inactive", False, 0.0)),
    ],
)
def test_a_failed_post_is_tried_again_only_when_that_can_help(
    fake_slack: FakeSlack, outage: dict, expected: tuple[str, bool, float]
) -> None:
    """What Slack answered, through the bot's own client: worth trying again (and when)
    or given up."""
    fake_slack.fail_for("chat.postMessage", 30, **outage)
    assert failure_of_post(fake_slack.url) == expected


def test_a_post_that_never_reached_slack_is_tried_again(fake_slack: FakeSlack) -> None:
    fake_slack.stop()  # nobody answers: a network error
    error, transient, _ = failure_of_post(fake_slack.url)
    assert transient and "Error" in error


def failure_of_post(url: str) -> tuple[str, bool, float]:
    from bot.app import web_client
    from bot.delivery import _post_failure

    async def post() -> BaseException:
        client = web_client(url, "xoxb-test-token")
        try:
            await client.chat_postMessage(channel="D1", text="hello")
        except Exception as exc:  # noqa: BLE001
            return exc
        raise AssertionError("the post went through")

    return _post_failure(asyncio.run(post()))


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_the_turn_a_killed_process_was_running_is_run_again(
    tmp_path: Path, fake_slack: FakeSlack, store: Store
) -> None:
    """The clinician's row is held by another transaction, so the turn waits inside its
    turn process; every turn process is killed meanwhile: the turn is run once more."""
    with served_on(tmp_path, fake_slack, store) as served:
        clinician = Person(served, fake_slack, "U_INFLIGHT")
        dm(clinician, FIRST)
        wait_messages(fake_slack, clinician.dm_channel, 1)
        with store.engine.connect() as conn:
            conn.exec_driver_sql(
                "SELECT id FROM clinicians WHERE user_id = 'U_INFLIGHT' FOR UPDATE"
            )
            dm(clinician, "Pacific")
            time.sleep(1.5)  # acknowledged; its turn is waiting for the row
            for pid in turn_processes(served.proc.pid):
                os.kill(pid, signal.SIGKILL)
            time.sleep(1.0)
            conn.rollback()
        replies = wait_messages(fake_slack, clinician.dm_channel, 2)
        assert "Save" in json.dumps(replies[1].blocks)
        assert len(settled(fake_slack, clinician.dm_channel)) == 2
        assert "Something went wrong" not in replies[1].text
