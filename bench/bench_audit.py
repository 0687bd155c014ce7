"""Cost of the audit trail on Save: one session saved (`booking.book`, its own unit of
work: the session, its contact, its messages) with its audit row, against the same Save
with the row dropped before commit (no audit at all). Interleaved rounds, the median of
each; then the same with 4 threads saving at once (the chain's head row is one lock that
every audited commit takes: this is where it would show).

Run: python bench/bench_audit.py [--rounds N] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ground.channel import Channel  # noqa: E402
from ground.practice import Practice  # noqa: E402
from ground.session import SessionSpec  # noqa: E402
from scheduling import booking  # noqa: E402
from store import audit, clinician_rows  # noqa: E402
from store.db import Store  # noqa: E402

KEY = Fernet.generate_key().decode()
PRACTICE = Practice()


def fresh_store(url: str | None, folder: str) -> Store:
    if url is None:
        return Store.open(f"sqlite:///{folder}/bench.db", [KEY], upgrade=True)
    admin = sa.create_engine(sa.make_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql('DROP DATABASE IF EXISTS "sessionbot_bench_audit" WITH (FORCE)')
        conn.exec_driver_sql('CREATE DATABASE "sessionbot_bench_audit"')
    admin.dispose()
    bench = sa.make_url(url).set(database="sessionbot_bench_audit")
    return Store.open(bench.render_as_string(hide_password=False), [KEY], upgrade=True)


def save(store: Store, user: str, *, audited: bool) -> float:
    now = datetime.now(UTC)
    draft = SessionSpec.for_one(
        draft_id=uuid.uuid4().hex,
        start=now + timedelta(days=3),
        duration_min=50,
        participant="Jane Doe",
        invite_channel=Channel.EMAIL,
        email="jane.doe@example.com",
        phone=None,
        participant_tz="America/New_York",
        documents=None,
        service=None,
        amount=None,
    )
    began = time.perf_counter()
    with store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_BENCH", user)
        booking.book(s, clinician, draft, PRACTICE, now)
        if not audited:
            s.info.pop("audit_pending", None)  # Save as it was before the audit trail
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = fresh_store(args.database_url, folder)
        for _ in range(20):  # warm up both paths
            save(store, "U_WARM", audited=True)
            save(store, "U_WARM", audited=False)
        with_audit, without = [], []
        for _ in range(args.rounds):
            with_audit.append(save(store, "U_ONE", audited=True))
            without.append(save(store, "U_ONE", audited=False))
        a, b = statistics.median(with_audit), statistics.median(without)
        print(f"Save, one at a time: with audit {a * 1000:.3f} ms, without {b * 1000:.3f} ms, "
              f"ratio {a / b:.2f}x")  # fmt: skip

        def burst(audited: bool) -> float:
            began = time.perf_counter()
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda i: save(store, f"U_T{i % 4}", audited=audited),
                              range(args.rounds)))  # fmt: skip
            return time.perf_counter() - began

        bursts_a, bursts_b = [], []
        for _ in range(3):
            bursts_a.append(burst(True))
            bursts_b.append(burst(False))
        a, b = statistics.median(bursts_a), statistics.median(bursts_b)
        print(f"Save, 4 threads, {args.rounds} saves: with audit {a:.2f} s, without {b:.2f} s, "
              f"ratio {a / b:.2f}x")  # fmt: skip
        with store.reading() as s:
            verdict = audit.verify(s)
        print(f"audit verify after the run: intact={verdict.intact} ({verdict.rows} rows)")
        store.dispose()


if __name__ == "__main__":
    main()
