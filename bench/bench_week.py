"""Cost of the clinician's week: saving a series, and the dashboard among many series.

Each figure is a ratio against a baseline measured in the same run (interleaved rounds):

1. saving a 52-week series (`series_plans.book_series`: 52 sessions, each with its own links,
   room and three messages, in one transaction with one outbox plan) / saving one session
   (`booking.book`, its own transaction); aim <= 20x;
2. the overlap check of a 52-week series before Save (`clashes.find_overlaps` against a
   year of the clinician's sessions) / the same check of one start;
3. the dashboard's first page (`dashboards.dashboard`) for a clinician with 100 series of
   52 occurrences (5,200 sessions) / one with 20 single sessions.

Run: python bench/bench_week.py [--rounds N] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ground.practice import Practice  # noqa: E402
from ground.session import SessionSpec
from scheduling import booking, clashes, dashboards, series_plans  # noqa: E402
from store import (
    clinician_rows,  # noqa: E402
)
from store.db import Store  # noqa: E402

KEY = Fernet.generate_key().decode()
PRACTICE = Practice()
NOW = datetime(2026, 11, 24, 15, tzinfo=UTC)


def fresh_store(url: str | None, folder: str) -> Store:
    if url is None:
        return Store.open(f"sqlite:///{folder}/bench.db", [KEY], upgrade=True)
    admin = sa.create_engine(sa.make_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql('DROP DATABASE IF EXISTS "sessionbot_bench_week" WITH (FORCE)')
        conn.exec_driver_sql('CREATE DATABASE "sessionbot_bench_week"')
    admin.dispose()
    bench = sa.make_url(url).set(database="sessionbot_bench_week")
    return Store.open(bench.render_as_string(hide_password=False), [KEY], upgrade=True)


def draft(start: datetime) -> SessionSpec:
    return SessionSpec.for_one(
        draft_id=uuid.uuid4().hex,
        start=start,
        duration_min=50,
        participant="Jane Doe",
        invite_channel="email",
        email="jane.doe@example.com",
        phone=None,
        participant_tz="America/Los_Angeles",
        documents=None,
        service=None,
        amount=None,
    )


def weekly(first: datetime, count: int) -> list[datetime]:
    return [first + timedelta(weeks=i) for i in range(count)]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(
    a: Callable[[], object], b: Callable[[], object], rounds: int
) -> tuple[float, float]:
    """Medians of a and b, run alternately (a busy moment slows both alike)."""
    a(), b()
    xs, ys = [], []
    for _ in range(rounds):
        xs.append(timed(a))
        ys.append(timed(b))
    return statistics.median(xs), statistics.median(ys)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database-url", help="PostgreSQL (emptied) instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = fresh_store(args.database_url, folder)
        with store.unit() as s:
            saver = clinician_rows.get_clinician(s, "T_BENCH", "U_SAVE", tz="America/New_York")
            busy = clinician_rows.get_clinician(s, "T_BENCH", "U_BUSY", tz="America/New_York")
            light = clinician_rows.get_clinician(s, "T_BENCH", "U_LIGHT", tz="America/New_York")
            ids = (saver.id, busy.id, light.id)
        first = NOW + timedelta(days=7)
        slot = iter(range(10**6))

        def save_one() -> None:
            with store.unit() as s:
                me = s.get_one(type(saver), ids[0])
                start = first + timedelta(minutes=next(slot))
                booking.book(s, me, draft(start), PRACTICE, NOW)

        def save_series() -> None:
            with store.unit() as s:
                me = s.get_one(type(saver), ids[0])
                start = first + timedelta(minutes=next(slot))
                series_plans.book_series(s, me, draft(start), weekly(start, 52), PRACTICE, NOW)

        one, series = interleaved(save_one, save_series, args.rounds)

        # A year of the busy clinician: 100 series of 52 weekly occurrences.
        with store.unit() as s:
            me = s.get_one(type(saver), ids[1])
            for i in range(100):
                start = first + timedelta(hours=i % 10, days=i // 10)
                series_plans.book_series(s, me, draft(start), weekly(start, 52), PRACTICE, NOW)
            other = s.get_one(type(saver), ids[2])
            for i in range(20):
                booking.book(s, other, draft(first + timedelta(hours=i)), PRACTICE, NOW)

        if store.engine.dialect.name == "postgresql":
            # What autovacuum does soon after a bulk load (statistics, visibility map).
            with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("VACUUM ANALYZE scheduled_sessions")

        def overlaps(count: int) -> Callable[[], object]:
            def check() -> object:
                with store.reading() as s:
                    starts = weekly(first + timedelta(hours=3, minutes=30), count)
                    return clashes.find_overlaps(s, ids[1], starts, 50)

            return check

        check_one, check_series = interleaved(overlaps(1), overlaps(52), args.rounds)

        def page(clinician_id: int) -> Callable[[], object]:
            def show() -> object:
                with store.reading() as s:
                    me = s.get_one(type(saver), clinician_id)
                    return dashboards.dashboard(s, me, 0, NOW, PRACTICE, "https://x.example")

            return show

        light_page, busy_page = interleaved(page(ids[2]), page(ids[1]), args.rounds)
        backend = store.engine.dialect.name
        store.dispose()
    ms = 1000
    print(f"backend: {backend}, rounds: {args.rounds} (medians)")
    print("| measure | time | baseline | ratio |")
    print("|---|---|---|---|")
    print(
        f"| save a 52-week series | {series * ms:.1f} ms | one session {one * ms:.1f} ms "
        f"| {series / one:.1f}x |"
    )
    print(
        f"| overlap check of a 52-week series, among 5,200 sessions | {check_series * ms:.1f} ms "
        f"| one start {check_one * ms:.1f} ms | {check_series / check_one:.1f}x |"
    )
    print(
        f"| dashboard page, 100 series (5,200 sessions) | {busy_page * ms:.1f} ms "
        f"| 20 single sessions {light_page * ms:.1f} ms | {busy_page / light_page:.1f}x |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
