"""One worker sends many messages at once, bounded per channel, and backs off on a 429.

The local fakes answer each request after a delay, each in a thread (Twilio) or a task
(SMTP), as a real provider serves many requests at once. The bounds are generous: these
show that sends overlap, not how fast they go (bench/bench_sends.py measures that).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from outbox_kit import CLINICIAN, book_many, outbox, wired_parts, worker

from scheduling import commands
from sessionbot.outbox.base import Retry
from sessionbot.sending import Limits
from store import clinician_rows, outbox_rows
from store.models import ScheduledSession


def test_forty_texts_go_out_at_once_not_one_after_another(tmp_path, store, fake_twilio) -> None:
    parts = wired_parts(tmp_path, store, twilio=fake_twilio)
    book_many(parts, 40)
    fake_twilio.latency = 0.2  # one after another: 8 s
    w = worker(parts)
    try:
        stats = w.run_once()
    finally:
        w.close()
    # Side by side, not one after another (the time it takes is measured in bench/).
    assert fake_twilio.peak >= 8, fake_twilio.peak
    assert stats.counts["sent"] == 40
    per_number = Counter(m["To"] for m in fake_twilio.messages)
    assert len(per_number) == 40 and set(per_number.values()) == {1}
    assert {m.status for m in outbox(parts) if m.kind == "invitation"} == {"sent"}


def test_e_mails_go_out_at_once_each_once(tmp_path, store, smtp_server) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server)
    book_many(parts, 16, channel="email")
    smtp_server.recorder.latency = 0.2  # one after another: 3.2 s
    w = worker(parts, limits=Limits(email=8))
    try:
        stats = w.run_once()
    finally:
        w.close()
    # Side by side up to the limit, never past it (the time it takes is measured in bench/).
    assert 4 <= smtp_server.recorder.peak <= 8, smtp_server.recorder.peak
    assert stats.counts["sent"] == 16
    per_address = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert len(per_address) == 16 and set(per_address.values()) == {1}


def test_two_texts_to_one_participant_go_one_after_the_other_in_order(
    tmp_path, store, fake_twilio
) -> None:
    """An invitation and a "Remind now" for each of 3 sessions, all due at once: the 3
    participants are texted side by side, but each gets the invitation first and the
    reminder only once it went."""
    parts = wired_parts(tmp_path, store, twilio=fake_twilio)
    book_many(parts, 3)
    now = datetime.now(UTC)
    with parts.store.unit() as s:
        me = clinician_rows.get_clinician(s, CLINICIAN.team_id, CLINICIAN.user_id)
        for row in [m for m in outbox_rows.list_outbox(s) if m.kind == "invitation"]:
            found = s.get_one(ScheduledSession, row.session_id)
            assert commands.remind_now(s, me, found.public_id, parts.practice, now).changed
    fake_twilio.latency = 0.3
    w = worker(parts)
    try:
        assert w.run_once().counts["sent"] == 6
    finally:
        w.close()
    arrivals: dict[str, list[tuple[float, str]]] = {}
    for r in fake_twilio.requests:
        kind = "reminder" if "reminder" in r.form["Body"].lower() else "invitation"
        arrivals.setdefault(r.form["To"], []).append((r.at, kind))
    assert len(arrivals) == 3
    for texts in arrivals.values():
        (first_at, first), (second_at, second) = sorted(texts)
        assert (first, second) == ("invitation", "reminder")
        assert second_at - first_at >= 0.25  # after the first was answered
    firsts = sorted(min(texts)[0] for texts in arrivals.values())
    assert firsts[-1] - firsts[0] < 0.25  # the three participants side by side


def test_a_channel_throttled_for_a_while_slows_down_and_loses_nothing(
    tmp_path, store, fake_twilio
) -> None:
    """Twilio answers 429 for 1.5 s. The channel pauses (1 s, then 2 s) instead of
    hammering; each throttled text is retried as any transient error, and in the end
    every text went exactly once."""
    parts = wired_parts(tmp_path, store, twilio=fake_twilio)
    book_many(parts, 20)
    fake_twilio.busy_for(1.5)
    w = worker(parts, retry=Retry(base=timedelta(milliseconds=50)))
    deadline = time.monotonic() + 20
    try:
        while len(fake_twilio.messages) < 20 and time.monotonic() < deadline:
            w.run_once()
            time.sleep(0.05)
    finally:
        w.close()
    per_number = Counter(m["To"] for m in fake_twilio.messages)
    assert len(per_number) == 20 and set(per_number.values()) == {1}
    # Without the pause, texts retried every ~50 ms for 1.5 s: hundreds of 429s.
    assert 1 <= fake_twilio.throttled <= 3 * 20
    invitations = [m for m in outbox(parts) if m.kind == "invitation"]
    assert {m.status for m in invitations} == {"sent"}
    assert any(m.attempts > 1 for m in invitations)  # the throttled ones went again


def test_a_provider_that_refuses_one_text_fails_it_alone_among_concurrent_sends(
    tmp_path, store, fake_twilio
) -> None:
    parts = wired_parts(tmp_path, store, twilio=fake_twilio)
    book_many(parts, 10)
    fake_twilio.reject("+16175550003", 21211)
    fake_twilio.latency = 0.05
    w = worker(parts)
    try:
        stats = w.run_once()
    finally:
        w.close()
    assert stats.counts["sent"] == 9 and stats.counts["failed"] == 1
    assert len(fake_twilio.messages) == 9
