"""One worker's texts/s and e-mails/s against providers answering in 200 ms: concurrent
sends (the default lanes: 16 texts, 8 e-mails at once) against one at a time, same run.

The worker is a process of its own (forked), as in production; the fake Twilio (a thread
per request) and the local SMTP server (aiosmtpd, a task per connection) stay in this
process and answer after `--latency-ms`. Every number and address received is counted:
a duplicate fails the run.

    PYTHONPATH=$PWD python bench/bench_sends.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test
    PYTHONPATH=$PWD python bench/bench_sends.py --db sqlite   # the embedded store
    ... --texts 0 --emails 0 --baseline 0 --burst 10000       # 10,000 due at once, 2 workers
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_worker import KEY, fresh_db, queue  # noqa: E402
from fake_twilio import start_fake_twilio  # noqa: E402
from smtp_server import BoundController, Recorder  # noqa: E402

from ground.settings import Settings  # noqa: E402
from integrations.providers import senders  # noqa: E402
from sessionbot.outbox.worker import Worker  # noqa: E402
from sessionbot.sending import Limits  # noqa: E402
from sessionbot.wiring import build  # noqa: E402
from store.db import Store  # noqa: E402

ONE_AT_A_TIME = Limits(sms=1, email=1, slack=1)


def settings_for(url: str, twilio_url: str, smtp_url: str, data: str) -> Settings:
    return Settings.from_env(
        {
            "SESSIONBOT_DATA_DIR": data,
            "SESSIONBOT_DATABASE_URL": url,
            "SESSIONBOT_ENCRYPTION_KEY": KEY,
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "bench",
            "TWILIO_FROM_NUMBER": "+15005550006",
            "SESSIONBOT_TWILIO_API_URL": twilio_url,
            "SESSIONBOT_SMTP_URL": smtp_url,
            "SESSIONBOT_MAIL_FROM": "Bench Practice <sessions@practice.example>",
        }
    )


def work(settings: Settings, limits: Limits, batch: int | None, out: mp.Queue, name: str) -> None:
    parts = build(settings)
    worker = Worker(
        parts.store,
        parts.practice,
        settings,
        senders(settings, parts.store),
        worker_id=name,
        batch=batch,
        limits=limits,
    )
    began, cpu = time.perf_counter(), time.process_time()
    sent = worker.run_once().counts["sent"]
    out.put((sent, time.perf_counter() - began, time.process_time() - cpu))
    worker.close()
    parts.store.dispose()


def run(
    settings: Settings, limits: Limits, batch: int | None, workers: int = 1
) -> tuple[int, float, float]:
    """Texts sent, wall seconds until the last worker is done, and the workers' CPU."""
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()
    procs = [
        ctx.Process(target=work, args=(settings, limits, batch, out, f"bench{i}"))
        for i in range(workers)
    ]
    began = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    elapsed = time.perf_counter() - began
    for p in procs:
        p.join()
    return sum(r[0] for r in results), elapsed, sum(r[2] for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", required=True, help="PostgreSQL URL (a bench db is made), or sqlite"
    )
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--emails", type=int, default=400)
    parser.add_argument("--baseline", type=int, default=40, help="messages for one at a time")
    parser.add_argument(
        "--burst", type=int, default=0, help="then this many texts due at once, 2 workers"
    )
    args = parser.parse_args()

    fake, server = start_fake_twilio()
    fake.latency = args.latency_ms / 1000
    recorder = Recorder(latency=args.latency_ms / 1000)
    smtp = BoundController(recorder)
    smtp.start()
    smtp_url = f"smtp://127.0.0.1:{smtp.port}"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.2f}; "
        f"provider latency {args.latency_ms:.0f} ms"
    )
    with tempfile.TemporaryDirectory() as data:
        if args.db == "sqlite":
            url = f"sqlite:///{data}/bench.db"
            Store.open(url, [KEY], upgrade=True).dispose()
        else:
            url = fresh_db(args.db)
        settings = settings_for(url, fake.url, smtp_url, data)
        rates: dict[tuple[str, str], float] = {}
        for channel, n, tags in (
            ("sms", args.texts, ("617", "212")),
            ("email", args.emails, ("a", "b")),
        ):
            if not n or not args.baseline:
                continue
            for (mode, limits, batch, count), tag in zip(
                (
                    ("one at a time", ONE_AT_A_TIME, 10, args.baseline),
                    ("concurrent", Limits(), None, n),
                ),
                tags,
                strict=True,
            ):
                queue(settings, count, tag, channel)
                sent, elapsed, cpu = run(settings, limits, batch)
                rates[channel, mode] = sent / elapsed
                print(
                    f"{channel:5} {mode:13}: {sent} in {elapsed:.2f} s = "
                    f"{rates[channel, mode]:.1f}/s; "
                    f"worker CPU {1000 * cpu / max(sent, 1):.1f} ms each"
                )
            ratio = rates[channel, "concurrent"] / rates[channel, "one at a time"]
            print(f"{channel:5} ratio concurrent / one at a time: {ratio:.1f}x")
        if args.burst:
            queue(settings, args.burst, "312", "sms")
            sent, elapsed, cpu = run(settings, Limits(), None, workers=2)
            print(
                f"burst: {sent} texts due at once, 2 workers: all sent {elapsed:.1f} s after "
                f"they started ({sent / elapsed:.1f}/s); worker CPU {1000 * cpu / sent:.1f} ms each"
            )
    texts = Counter(m["To"] for m in fake.messages)
    mails = Counter(r.rcpt_tos[0] for r in recorder.received)
    duplicates = sum(c - 1 for c in texts.values()) + sum(c - 1 for c in mails.values())
    expected = 2 * args.baseline + args.texts + args.emails + args.burst
    print(
        f"duplicates: {duplicates}; "
        f"received {sum(texts.values()) + sum(mails.values())} of {expected}"
    )
    server.shutdown()
    smtp.stop()
    return 0 if duplicates == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
