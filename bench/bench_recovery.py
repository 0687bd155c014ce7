"""How soon a claim of a killed process is taken over, and what it costs (issue 24).

    python bench/bench_recovery.py [--db sqlite|postgresql+psycopg://...] [--rounds 3]
        [--part outbox|inbox|both] [--texts 300] [--latency-ms 200]

1. Outbox: two real `sessionbot worker` processes (A and B) on one store, a fake Twilio
   answering after `--latency-ms`; `--texts` invitations queued at once. Once A has sent
   a quarter of them it is killed with SIGKILL while its lanes are full. Timed: from the
   kill to the moment none of the rows A held (status `sending`, claimed by A) is A's any
   more (B claimed them again). Counted: every number Twilio got (a duplicate is a number
   texted twice; lost is a text never sent).
2. Slack inbox: two real `sessionbot serve` processes (A and B) on one store. A DM goes
   to A, whose turn hangs on Slack's `conversations.open`; A is killed; Slack is well
   again. Timed: from the kill to B's answer in the clinician's DM. Counted: answers
   posted (1 is right).

The lease and heartbeat are the defaults of `ground.settings` (8 s, renewed every
2 s) unless `--lease` is given. Only 127.0.0.1; a PostgreSQL database of its own
(`sessionbot_bench_recovery`), made and dropped. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_scale as kit  # noqa: E402
from fake_slack import FakeSlack, Person  # noqa: E402
from fake_twilio import start_fake_twilio  # noqa: E402

from store.db import Store  # noqa: E402

kit.DB_NAME = "sessionbot_bench_recovery"
FIRST = "JD tomorrow 3pm by text +1 617 555 0101, intake packet"


def open_db(args: argparse.Namespace, folder: Path) -> str:
    if args.db == "sqlite":
        url = f"sqlite:///{folder / 'bench.db'}"
        Store.open(url, [kit.KEY], upgrade=True).dispose()
        return url
    return kit.fresh_db(args.db)


def wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.02)


def with_env(extra: dict[str, str]) -> None:
    """Every process this bench starts gets `extra` (the lease, when given)."""
    base = kit.base_env

    def env(folder: Path, db_url: str, **more: str) -> dict[str, str]:
        return base(folder, db_url, **{**extra, **more})

    kit.base_env = env


# The outbox -------------------------------------------------------------------------------


def outbox_round(
    args: argparse.Namespace, folder: Path, db_url: str, twilio: Any, area: int
) -> dict[str, Any]:
    engine = sa.create_engine(db_url, poolclass=sa.NullPool)
    a = kit.start_worker(folder, db_url, twilio.url, 2 * area)
    b = kit.start_worker(folder, db_url, twilio.url, 2 * area + 1)
    prefix = f"+1{area}"
    try:
        kit.wait_running(a)
        kit.wait_running(b)
        kit.queue_texts(db_url, folder, args.texts, area)

        def mine() -> list[str]:
            return [m["To"] for m in list(twilio.messages) if m["To"].startswith(prefix)]

        wait(lambda: len(mine()) >= args.texts // 4, 120, "a quarter of the texts")
        with engine.connect() as conn:  # A's id is host:pid:...
            ids = conn.execute(
                sa.text("SELECT DISTINCT claimed_by FROM outbox WHERE status = 'sending'")
            ).scalars()
            a_id = next((i for i in ids if f":{a.proc.pid}:" in i), None)
        a.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        a.proc.wait(timeout=10)
        with engine.connect() as conn:
            held = conn.execute(
                sa.text("SELECT count(*) FROM outbox WHERE status = 'sending' AND claimed_by = :a"),
                {"a": a_id},
            ).scalar_one()

        def still_held() -> int:
            with engine.connect() as conn:
                return int(
                    conn.execute(
                        sa.text(
                            "SELECT count(*) FROM outbox WHERE status = 'sending'"
                            " AND claimed_by = :a"
                        ),
                        {"a": a_id},
                    ).scalar_one()
                )

        wait(lambda: still_held() == 0, 120, "B to take A's claims over")
        took_over = time.monotonic() - killed
        wait(lambda: len(set(mine())) >= args.texts, 120 + args.texts / 5, "every text")
        time.sleep(1.0)  # a late duplicate would show
        per_number = Counter(mine())
    finally:
        kit.stop_all([a, b])
        engine.dispose()
    return {
        "held": held,
        "takeover": took_over,
        "sent": len(per_number),
        "lost": args.texts - len(per_number),
        "duplicates": sum(n - 1 for n in per_number.values()),
    }


def run_outbox(args: argparse.Namespace, folder: Path, db_url: str) -> list[dict[str, Any]]:
    twilio, server = start_fake_twilio()
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]  # A's cut calls
    twilio.latency = args.latency_ms / 1000
    results = []
    try:
        for r in range(args.rounds):
            res = outbox_round(args, folder, db_url, twilio, 600 + r)
            print(
                f"outbox round {r + 1}: A held {res['held']} rows at the kill; taken over in "
                f"{res['takeover']:.1f} s; sent {res['sent']}/{args.texts}, lost {res['lost']}, "
                f"duplicates {res['duplicates']}",
                flush=True,
            )
            results.append(res)
    finally:
        server.shutdown()
        server.server_close()
    return results


# The Slack inbox --------------------------------------------------------------------------


def inbox_round(folder: Path, db_url: str, fake: FakeSlack, b: kit.Proc, n: int) -> dict[str, Any]:
    a = kit.start_web(folder, db_url, fake, 2, 100 + n)
    engine = sa.create_engine(db_url, poolclass=sa.NullPool)

    def replayed() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text("SELECT count(*) FROM slack_inbox WHERE attempts >= 2")
                ).scalar_one()
            )

    try:
        kit.wait_healthy(a)
        with httpx.Client(base_url=a.url, timeout=10) as http:
            clinician = Person(SimpleNamespace(http=http), fake, f"U_RECOVER{n}")
            opened = len(fake.of("conversations.open"))
            fake.fail_for("conversations.open", 120.0, hang=120.0)
            assert clinician.dm_event(FIRST).is_success
            fake.wait_calls("conversations.open", opened + 1, timeout=60)
        before = replayed()
        a.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        a.proc.wait(timeout=10)
        fake.outages.clear()
        wait(lambda: replayed() > before, 120, "B to claim the request again")
        claimed = time.monotonic() - killed
        wait(lambda: fake.channel(clinician.dm_channel), 120, "B's answer")
        answered = time.monotonic() - killed
        time.sleep(3)  # a second answer would show
        answers = len(fake.channel(clinician.dm_channel))
        was = "replaying Slack request event" in b.log.read_text()
    finally:
        kit.stop_all([a])
        engine.dispose()
    return {"claimed": claimed, "takeover": answered, "answers": answers, "replayed_by_b": was}


def run_inbox(args: argparse.Namespace, folder: Path, db_url: str) -> list[dict[str, Any]]:
    fake = kit.quiet_server(FakeSlack().start())
    b = kit.start_web(folder, db_url, fake, 2, 99)
    results = []
    try:
        kit.wait_healthy(b)
        for n in range(args.rounds):
            res = inbox_round(folder, db_url, fake, b, n)
            print(
                f"inbox round {n + 1}: claimed again by B {res['claimed']:.1f} s and answered "
                f"{res['takeover']:.1f} s after the kill; "
                f"answers {res['answers']}; replayed by B: {res['replayed_by_b']}",
                flush=True,
            )
            results.append(res)
    finally:
        kit.stop_all([b])
        fake.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL admin URL")
    parser.add_argument("--part", choices=("outbox", "inbox", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--lease", type=float, default=None, help="seconds (default: settings)")
    args = parser.parse_args()
    if args.lease is not None:
        with_env(
            {
                "SESSIONBOT_OUTBOX_LEASE": str(args.lease),
                "SESSIONBOT_SLACK_INBOX_LEASE": str(args.lease),
            }
        )
    with tempfile.TemporaryDirectory(prefix="bench-recovery-") as tmp:
        folder = Path(tmp)
        db_url = open_db(args, folder)
        try:
            summary = []
            if args.part in ("outbox", "both"):
                out = run_outbox(args, folder, db_url)
                times = [r["takeover"] for r in out]
                summary.append(
                    f"outbox: taken over in {min(times):.1f}-{max(times):.1f} s "
                    f"(median {statistics.median(times):.1f}); lost "
                    f"{sum(r['lost'] for r in out)}, duplicates "
                    f"{sum(r['duplicates'] for r in out)} (held at the kills: "
                    f"{sum(r['held'] for r in out)})"
                )
            if args.part in ("inbox", "both"):
                got = run_inbox(args, folder, db_url)
                times = [r["takeover"] for r in got]
                claims = [r["claimed"] for r in got]
                summary.append(
                    f"inbox: claimed again in {min(claims):.1f}-{max(claims):.1f} s, "
                    f"answered in {min(times):.1f}-{max(times):.1f} s after the kill "
                    f"(median {statistics.median(times):.1f}); answers per DM "
                    f"{sorted({r['answers'] for r in got})}"
                )
        finally:
            if args.db != "sqlite":
                kit.drop_db(args.db)
        print("\n".join(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
