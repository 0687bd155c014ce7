"""The clinician's calendar feed (`GET /cal/<secret>.ics`): a clinician with 2,000
sessions against one with 20, in the same run and store; time and memory.

    python bench/bench_feed.py [--rounds 30] [--db postgresql+psycopg://...]

Three clinicians in one store, each with their own feed:
- `small`: 20 sessions, all in the feed's window (the last 30 days and to come);
- `history`: 2,000 sessions, a practice's two years at 20 a week, the last on the books
  four weeks ahead: the feed holds the ~170 of its window, and the index skips the rest;
- `all ahead`: 2,000 sessions all to come (a year of a full practice booked ahead, the
  worst case): the feed holds all 2,000.

Timed: `Feed.answer` (the secret's look-up, the validators' aggregate, the rows, the
events and the body: everything of a 200 but the HTTP framing), three ways: cold (a
fresh process's feed, every event built), kept (the same feed polled again without
validators: events kept built since the last poll, as for a calendar that sends none),
and the conditional repeat answered 304. Memory: tracemalloc's peak while one cold body
is built. Median of the rounds, the three clinicians interleaved so load swings hit
them alike.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from ground.settings import Settings
from scheduling import calendar_link
from sessionbot.wiring import build
from store import clinician_rows, feeds, session_rows
from store.db import Store
from web.feed import Feed

KEY = Fernet.generate_key().decode()
PUBLIC = "https://sessions.example.test"


def fill(store: Store, user: str, starts: list[datetime]) -> str:
    """A clinician with sessions at `starts`; returns their feed's secret."""
    with store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_BENCH", user, tz="America/New_York")
        rows = [
            dict(
                clinician_id=clinician.id,
                start_at=start,
                duration_min=50,
                participant=f"Participant Number{i}",
                invite_channel="email",
                email=f"p{i}@example.com",
                phone=None,
                participant_tz="America/Los_Angeles",
                status="cancelled" if i % 25 == 0 else "scheduled",
            )
            for i, start in enumerate(starts)
        ]
        for chunk in range(0, len(rows), 500):
            session_rows.create_sessions(s, rows[chunk : chunk + 500])
        secret, _ = feeds.feed_secret(s, clinician.id)
    return secret


def weekly(now: datetime, count: int, last: datetime) -> list[datetime]:
    """`count` sessions at 20 a week (4 a weekday, 9:00-15:00), the last at `last`."""
    starts: list[datetime] = []
    day = last.replace(hour=9, minute=0, second=0, microsecond=0)
    while len(starts) < count:
        if day.weekday() < 5:
            starts.extend(day + timedelta(hours=2 * h) for h in range(4))
        day -= timedelta(days=1)
    return starts[:count]


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def peak_kib(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1024
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--db", help="a database URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-feed-"))
    url = args.db or f"sqlite:///{folder / 'feed.db'}"
    store = Store.open(url, [KEY], upgrade=True)
    settings = Settings.from_env(
        {
            "SESSIONBOT_DATA_DIR": str(folder),
            "SESSIONBOT_ENCRYPTION_KEY": KEY,
            "SESSIONBOT_PUBLIC_URL": PUBLIC,
            "HOME": str(folder),
        }
    )
    parts = build(settings, store=store)
    now = datetime.now(UTC).replace(microsecond=0)
    secrets = {
        "small (20)": fill(store, "U_SMALL", [now + timedelta(days=d) for d in range(-5, 15)]),
        "history (2,000)": fill(store, "U_HISTORY", weekly(now, 2000, now + timedelta(days=28))),
        "all ahead (2,000)": fill(
            store, "U_AHEAD", [now + timedelta(hours=4 * i + 1) for i in range(2000)]
        ),
    }
    feed = Feed(parts)  # one process's feed: its built events kept between polls

    def fresh(secret: str) -> object:  # a fresh process's feed, built inside the timing
        return Feed(parts).answer(secret, None, None)

    events, etags = {}, {}
    for name, secret in secrets.items():  # warm up: imports, zoneinfo, statements
        answer = Feed(parts).answer(secret, None, None)
        events[name] = answer.body.count(b"BEGIN:VEVENT")
        etags[name] = answer.etag
    cold: dict[str, list[float]] = {name: [] for name in secrets}
    warm: dict[str, list[float]] = {name: [] for name in secrets}
    repeat: dict[str, list[float]] = {name: [] for name in secrets}
    for _ in range(args.rounds):
        for name, secret in secrets.items():
            # A fresh process (nothing built yet), a poll without validators (every event
            # kept built), a conditional poll (304).
            cold[name].append(timed(partial(fresh, secret)))
            warm[name].append(timed(partial(feed.answer, secret, None, None)))
            repeat[name].append(timed(partial(feed.answer, secret, etags[name], None)))
    cold_base = statistics.median(cold["small (20)"])
    warm_base = statistics.median(warm["small (20)"])
    print(f"store: {store.engine.dialect.name}; rounds: {args.rounds}; median ms per request")
    print(
        f"{'clinician':<19}{'events':>7}{'cold 200':>10}{'ratio':>7}{'kept 200':>10}"
        f"{'ratio':>7}{'304':>7}{'peak KiB':>10}"
    )
    for name, secret in secrets.items():
        c, w = statistics.median(cold[name]), statistics.median(warm[name])
        peak = peak_kib(partial(fresh, secret))
        print(
            f"{name:<19}{events[name]:>7}{c:>10.2f}{c / cold_base:>6.1f}x{w:>10.2f}"
            f"{w / warm_base:>6.1f}x{statistics.median(repeat[name]):>7.2f}{peak:>10.0f}"
        )
    # The link a clinician is shown is the one measured.
    with store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_BENCH", "U_SMALL")
        shown, _ = calendar_link.show(s, clinician, PUBLIC)
    assert secrets["small (20)"] in shown.text
    store.dispose()


if __name__ == "__main__":
    main()
