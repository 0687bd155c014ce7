"""Cost of a family session: Save of a session with six participants (each with their own
encrypted name and address, page token, invitation and reminders) / Save of a session
with one, each in its own transaction (`booking.book`), interleaved rounds, same store.

Aim: about the work added (6 participants' rows and 18 messages vs 1 and 3), well under
6x, since the session row, its secrets, the audit row and the commit are shared.

Run: python bench/bench_multi.py [--rounds N] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ground.channel import Channel  # noqa: E402
from ground.practice import Practice  # noqa: E402
from ground.session import Participant, SessionSpec  # noqa: E402
from scheduling import booking  # noqa: E402
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
        conn.exec_driver_sql('DROP DATABASE IF EXISTS "sessionbot_bench_multi" WITH (FORCE)')
        conn.exec_driver_sql('CREATE DATABASE "sessionbot_bench_multi"')
    admin.dispose()
    bench = sa.make_url(url).set(database="sessionbot_bench_multi")
    return Store.open(bench.render_as_string(hide_password=False), [KEY], upgrade=True)


def person(i: int) -> Participant:
    zone = ZoneInfo(("America/Los_Angeles", "Europe/London", "America/New_York")[i % 3])
    if i % 2:
        return Participant(f"Person {i}", Channel.SMS, None, f"+1617555{i:04d}", zone)
    return Participant(f"Person {i}", Channel.EMAIL, f"p{i}@example.com", None, zone)


def spec(count: int, start: datetime) -> SessionSpec:
    people = tuple(person(i) for i in range(count))
    return SessionSpec(uuid.uuid4().hex, start, 50, people)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = fresh_store(args.database_url, folder)
        with store.unit() as s:
            clinician_rows.get_clinician(s, "T_BENCH", "U_BENCH", tz="America/New_York")

        def save(count: int, i: int) -> float:
            start = NOW + timedelta(days=3, minutes=i)
            began = time.perf_counter()
            with store.unit() as s:
                clinician = clinician_rows.get_clinician(s, "T_BENCH", "U_BENCH")
                booking.book(s, clinician, spec(count, start), PRACTICE, NOW)
            return time.perf_counter() - began

        for i in range(5):  # warm up
            save(1, i), save(6, i)
        one, six = [], []
        for i in range(args.rounds):
            one.append(save(1, 1000 + 2 * i))
            six.append(save(6, 1001 + 2 * i))
        a, b = statistics.median(one), statistics.median(six)
        backend = "PostgreSQL" if args.database_url else "SQLite"
        print(f"{backend}, {args.rounds} rounds (median):")
        print(f"  Save, 1 participant:  {a * 1000:.2f} ms")
        print(f"  Save, 6 participants: {b * 1000:.2f} ms  ({b / a:.2f}x)")
        store.dispose()


if __name__ == "__main__":
    main()
