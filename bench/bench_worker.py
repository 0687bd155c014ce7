"""Messages per second from the outbox to a local fake Twilio, 1 worker against 2.

PostgreSQL only (workers claim with FOR UPDATE SKIP LOCKED). Each worker is its own
process, as in production. The fake Twilio answers after a fixed latency (a real API
answers in tens to hundreds of milliseconds), so the figure is about claiming and
concurrency, not about this machine's loopback speed.

    python bench/bench_worker.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_twilio import start_fake_twilio  # noqa: E402

from ground.session import SessionSpec
from ground.settings import Settings  # noqa: E402
from integrations.providers import senders
from scheduling import booking  # noqa: E402
from sessionbot.outbox.worker import Worker  # noqa: E402
from sessionbot.wiring import build  # noqa: E402
from store import (
    clinician_rows,  # noqa: E402
)
from store.db import Store  # noqa: E402

KEY = Fernet.generate_key().decode()


def settings_for(url: str, twilio_url: str, data: str) -> Settings:
    return Settings.from_env(
        {
            "SESSIONBOT_DATA_DIR": data,
            "SESSIONBOT_DATABASE_URL": url,
            "SESSIONBOT_ENCRYPTION_KEY": KEY,
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "bench",
            "TWILIO_FROM_NUMBER": "+15005550006",
            "SESSIONBOT_TWILIO_API_URL": twilio_url,
        }
    )


def fresh_db(admin_url: str) -> str:
    url = sa.make_url(admin_url)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql('DROP DATABASE IF EXISTS "sessionbot_bench" WITH (FORCE)')
        conn.exec_driver_sql('CREATE DATABASE "sessionbot_bench"')
    engine.dispose()
    bench = url.set(database="sessionbot_bench").render_as_string(hide_password=False)
    Store.open(bench, [KEY], upgrade=True).dispose()
    return bench


def queue(settings: Settings, n: int, tag: str, channel: str = "sms") -> None:
    """`n` sessions booked as the conversation books them, invited by `channel`."""
    parts = build(settings)
    now = datetime.now(UTC)
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, "T_BENCH", "U_BENCH")
        for i in range(n):
            draft = SessionSpec.for_one(
                draft_id=f"{tag}-{i}",
                start=now + timedelta(days=3, minutes=i),
                duration_min=50,
                participant=f"P{i}",
                invite_channel=channel,
                email=f"p{tag}{i}@example.com" if channel == "email" else None,
                phone=f"+1{tag}{i:06d}" if channel == "sms" else None,
                participant_tz="America/Los_Angeles",
                documents=None,
                service=None,
                amount=None,
            )
            booking.book(s, clinician, draft, parts.practice, now)
    parts.store.dispose()


def work(settings: Settings, name: str, batch: int, out: mp.Queue) -> None:
    parts = build(settings)
    worker = Worker(
        parts.store,
        parts.practice,
        settings,
        senders(settings, parts.store),
        worker_id=name,
        batch=batch,
    )
    began = time.process_time()
    sent = worker.run_once().counts["sent"]
    out.put((sent, time.process_time() - began))
    parts.store.dispose()


def run(settings: Settings, workers: int, batch: int) -> tuple[float, int, float]:
    """Wall seconds, texts sent, and the workers' own CPU seconds (not PostgreSQL's)."""
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()
    procs = [ctx.Process(target=work, args=(settings, f"w{i}", batch, out)) for i in range(workers)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - start
    results = [out.get() for _ in procs]
    return elapsed, sum(r[0] for r in results), sum(r[1] for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="PostgreSQL URL (a bench db is made)")
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=10)
    args = parser.parse_args()

    fake, server = start_fake_twilio()
    fake.latency = args.latency_ms / 1000
    url = fresh_db(args.db)
    with tempfile.TemporaryDirectory() as data:
        settings = settings_for(url, fake.url, data)
        rates = {}
        for workers, tag in ((1, "617"), (2, "212")):
            queue(settings, args.messages, tag)
            elapsed, sent, cpu = run(settings, workers, args.batch)
            rates[workers] = sent / elapsed
            print(
                f"{workers} worker(s): {sent} texts in {elapsed:.2f} s = {rates[workers]:.1f}/s; "
                f"worker CPU {1000 * cpu / max(sent, 1):.1f} ms/text"
            )
    per_number = Counter(m["To"] for m in fake.messages)
    duplicates = sum(c - 1 for c in per_number.values())
    print(
        f"ratio 2/1: {rates[2] / rates[1]:.2f}x; duplicates: {duplicates}; "
        f"requests: {len(fake.requests)} for {2 * args.messages} messages"
    )
    server.shutdown()
    return 0 if duplicates == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
