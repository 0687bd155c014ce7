"""Slack face: sessionbot's Bolt app against a bare Bolt app on the same adapter.

    python bench/bench_slack.py [--requests 50] [--conversations 10] [--rounds 5]
                                [--home-sessions 100000] [--heavy 10000] [--memory 300]

1. Ack latency of `/schedule` and of a DM event, N requests at once, p50/p99 (ms), ours
   and bare interleaved for R rounds, samples pooled.
2. Reply latency (a DM event sent -> the bot's answer at the fake Slack) with M
   conversations at once, against a bare app that echoes each message.
3. App Home: `app_home_opened` -> `views.publish` at the fake, for a clinician with
   `--heavy` upcoming sessions among `--home-sessions`, against one with 10, same store.
4. Memory: peak and final RSS of a child process serving `--memory` requests with the web
   app (`create_app(parts)`), against one serving them with the bare Bolt app.

In one process over httpx's ASGI transport (same event loop), SQLite store in a temporary
folder, the fake Slack Web API of `tests/fake_slack.py` on loopback (for 1 and 2 without
its Block Kit checks, as bench_acks.py: `--validate-blocks` keeps them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench_scale import QuickSlack  # noqa: E402
from conftest import make_session  # noqa: E402
from fake_slack import (  # noqa: E402
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    Person,
    signed_headers,
)

from ground.settings import Settings  # noqa: E402
from sessionbot.asgi import create_app  # noqa: E402
from sessionbot.turns import TurnProcesses  # noqa: E402
from sessionbot.wiring import Parts, build  # noqa: E402
from store import (
    clinician_rows,  # noqa: E402
)
from store.crypto import EncryptedText  # noqa: E402
from store.db import Store  # noqa: E402
from store.models import ScheduledSession  # noqa: E402


def bare_app(fake: FakeSlack, *, inline_ack: bool = False) -> Starlette:
    # Bolt as it comes: slack_sdk's client, a new connection for each call.
    app = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=fake.url),
        signing_secret=SIGNING_SECRET,
        process_before_response=inline_ack,
    )

    async def ack(ack: Any) -> None:
        await ack()

    async def echo(event: dict[str, Any], client: Any) -> None:
        await client.chat_postMessage(channel=event["channel"], text=event.get("text") or "")

    async def nothing() -> None:
        pass

    app.command("/schedule")(ack=ack, lazy=[nothing])
    app.event("message")(ack=ack, lazy=[echo])
    handler = AsyncSlackRequestHandler(app)

    async def endpoint(request: Any) -> Any:
        return await handler.handle(request)

    return Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])


class InProcess:
    """What Person needs of a running app, over httpx's ASGI transport (same event loop)."""

    def __init__(self, asgi: Any) -> None:
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=asgi), base_url="http://app", timeout=30
        )

    async def send(self, body: str, ctype: str) -> httpx.Response:
        return await self.http.post(
            "/slack/events", content=body, headers=signed_headers(body, ctype)
        )


VALIDATE_BLOCKS = False  # --validate-blocks: the fake checks Block Kit in latency runs
DATABASE_URL: str | None = None  # --database-url: PostgreSQL instead of a SQLite file
TURN_PROCESSES = 0  # --turn-processes: turns in worker processes, as `sessionbot serve`


def settings_for(fake: FakeSlack, folder: Path) -> Settings:
    env = {
        "SESSIONBOT_DATA_DIR": str(folder),
        "SESSIONBOT_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.url,
    }
    if DATABASE_URL:
        env["SESSIONBOT_DATABASE_URL"] = DATABASE_URL
    return Settings.from_env(env)


def parts_for(fake: FakeSlack) -> Parts:
    """Our app's parts on a fresh store: a new SQLite file, or the PostgreSQL database of
    --database-url emptied and brought up to date."""
    settings = settings_for(fake, Path(tempfile.mkdtemp()))
    if not DATABASE_URL:
        parts = build(settings)
    else:
        parts = build(settings, store=fresh_postgresql(settings))
    if TURN_PROCESSES:
        parts.turns = TurnProcesses(settings, TURN_PROCESSES, log_level="WARNING")
    return parts


def fresh_postgresql(settings: Settings) -> Store:
    assert DATABASE_URL
    engine = sa.create_engine(DATABASE_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()
    return Store.open(DATABASE_URL, list(settings.encryption_keys), upgrade=True)


async def timed(coro: Any) -> float:
    start = time.perf_counter()
    response = await coro
    assert response.status_code == 200, response.status_code
    return (time.perf_counter() - start) * 1000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def settle(fake: FakeSlack, quiet: float = 0.3) -> None:
    """Wait until the fake Slack has had no call for `quiet` seconds (lazy work done)."""
    while True:
        before = len(fake.calls)
        await asyncio.sleep(quiet)
        if len(fake.calls) == before:
            return


_round = iter(range(1_000_000))


async def ack_latency(app: InProcess, fake: FakeSlack, kind: str, n: int) -> list[float]:
    tag = next(_round)
    people = [Person(app, fake, f"U_A{tag}x{i:03d}") for i in range(n)]  # type: ignore[arg-type]

    def request(p: Person) -> Any:
        if kind == "command":
            body, ctype = p.command_body("/schedule", "JD tomorrow 3pm by text +1 617 555 0101")
        else:
            body, ctype = p.dm_body("schedule")
        return app.send(body, ctype)

    samples = list(await asyncio.gather(*(timed(request(p)) for p in people)))
    await settle(fake)
    return samples


async def reply_latency(
    app: InProcess,
    fake: FakeSlack,
    m: int,
    *,
    ongoing: bool = False,
    restart: InProcess | None = None,
) -> list[float]:
    """From a DM sent to the answer at the fake Slack; `ongoing`: the conversation's second
    message (the clinician is known, as in most turns), else its first; `restart`: the
    second message goes to this app instead, a web process of its own on the same store
    (nothing in its memory: the first DM of each clinician after a restart or a deploy)."""
    tag = next(_round)
    people = [Person(app, fake, f"U_R{tag}x{i:03d}") for i in range(m)]  # type: ignore[arg-type]

    async def say(p: Person, text: str) -> float:
        before = len(fake.channel(p.dm_channel))
        body, ctype = p.dm_body(text)
        start = time.perf_counter()
        await app.send(body, ctype)
        while len(fake.channel(p.dm_channel)) <= before:
            await asyncio.sleep(0.001)
        return (time.perf_counter() - start) * 1000

    if ongoing:
        await asyncio.gather(*(say(p, "schedule") for p in people))
        await settle(fake)
    if restart is not None:  # the same clinicians, on a web process that just started
        await ack_latency(restart, fake, "event", 2)  # its own warm-up: auth.test
        app = restart  # `say` posts there from now on
    text = "tomorrow 3pm" if ongoing else "schedule"
    samples = list(await asyncio.gather(*(say(p, text) for p in people)))
    await settle(fake)
    return samples


# App Home with many sessions --------------------------------------------------------------


def seed(parts: Parts, total: int, heavy: int, light: int = 10) -> None:
    """`total` upcoming sessions: `heavy` for U_HEAVY, `light` for U_LIGHT, the rest spread
    over 900 other clinicians. Participant data is encrypted once and the ciphertext
    reused (Fernet per row would dominate the seeding); rows go in by executemany."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    with parts.store.unit() as s:
        owners = [clinician_rows.get_clinician(s, "T1", "U_HEAVY", tz="America/New_York")]
        owners.append(clinician_rows.get_clinician(s, "T1", "U_LIGHT", tz="America/New_York"))
        owners += [clinician_rows.get_clinician(s, "T1", f"U_OTHER{i:03d}") for i in range(900)]
        template, _ = make_session(
            s,
            owners[1].id,
            start_at=now,
            invite_channel="none",
            email=None,
            participant_tz="America/New_York",
            invite_status="not_sent",
        )
        ids = [o.id for o in owners]
        template_id = template.id
    table = ScheduledSession.__table__
    assert isinstance(table, sa.Table)
    # The same table with its encrypted columns as plain text: ciphertext copied as is.
    raw = sa.table(
        table.name,
        *[
            sa.column(c.name, sa.String() if isinstance(c.type, EncryptedText) else c.type)
            for c in table.columns
            if c.name != "id"
        ],
    )
    with parts.store.engine.begin() as conn:
        copied = conn.execute(sa.select(raw).where(sa.literal_column("id") == template_id)).one()
        base = dict(copied._mapping)
        owners_of = [ids[0]] * heavy + [ids[1]] * (light - 1)
        rest = total - len(owners_of) - 1
        owners_of += [ids[2 + i % 900] for i in range(rest)]
        rows = []
        for n, owner in enumerate(owners_of):
            rows.append(
                {
                    **base,
                    "public_id": f"{n:032x}",
                    "clinician_id": owner,
                    "start_at": now + timedelta(hours=n // 900 if owner not in ids[:2] else n),
                    "token_hash": f"t{n:063x}",
                    "host_token_hash": f"h{n:063x}",
                }
            )
        for start in range(0, len(rows), 10_000):
            conn.execute(sa.insert(raw), rows[start : start + 10_000])


async def home_latency(app: InProcess, fake: FakeSlack, user: str, times: int) -> list[float]:
    samples = []
    for _ in range(times):
        before = len([c for c in fake.of("views.publish") if c.args.get("user_id") == user])
        event = {"type": "app_home_opened", "user": user, "tab": "home", "channel": "D1"}
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": "T1",
                "api_app_id": "A_SESSIONBOT",
                "event_id": f"EvHome{next(_round)}",
                "event": event,
            }
        )
        start = time.perf_counter()
        await app.send(body, "application/json")
        while len([c for c in fake.of("views.publish") if c.args.get("user_id") == user]) <= before:
            await asyncio.sleep(0.0005)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _view_of(fake: FakeSlack, user: str) -> str:
    return str([c for c in fake.of("views.publish") if c.args.get("user_id") == user][-1].args)


async def home_bench(total: int, heavy: int, times: int) -> tuple[list[float], list[float], str]:
    fake = FakeSlack().start()
    folder = Path(tempfile.mkdtemp())
    parts = build(settings_for(fake, folder))
    started = time.perf_counter()
    seed(parts, total, heavy)
    seeded = f"seeded {total} sessions in {time.perf_counter() - started:.1f} s"
    app = InProcess(create_app(parts))
    for user in ("U_HEAVY", "U_LIGHT"):  # warm up: users.info, auth.test, caches
        await home_latency(app, fake, user, 2)
    many, few = [], []
    for _ in range(times):  # interleaved, so both see the same machine
        many += await home_latency(app, fake, "U_HEAVY", 1)
        few += await home_latency(app, fake, "U_LIGHT", 1)
    assert f"{heavy} upcoming" in _view_of(fake, "U_HEAVY"), _view_of(fake, "U_HEAVY")[:300]
    assert "10 upcoming" in _view_of(fake, "U_LIGHT")
    fake.stop()
    return many, few, seeded


# Memory in a child process -----------------------------------------------------------------


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB -> MiB
    return float("nan")


async def memory_child(which: str, n: int) -> None:
    fake = FakeSlack().start()
    if which == "ours":
        app = InProcess(create_app(build(settings_for(fake, Path(tempfile.mkdtemp())))))
    else:
        app = InProcess(bare_app(fake))
    await ack_latency(app, fake, "event", 2)
    built = _status("VmRSS")
    done = 0
    while done < n:  # conversations of 10 turns at a time, 10 at once
        batch = min(10, n - done)
        people = [Person(app, fake, f"U_M{done}x{i}") for i in range(batch)]  # type: ignore[arg-type]
        for text in ("schedule", "tomorrow", "3pm", "Jane Doe", "email"):
            await asyncio.gather(*(app.send(*p.dm_body(text)) for p in people))
            await settle(fake, 0.05)
        done += batch * 5
    await settle(fake)
    print(json.dumps({"built": built, "rss": _status("VmRSS"), "hwm": _status("VmHWM")}))
    fake.stop()


def memory(which: str, n: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", which, "--memory", str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# Main ---------------------------------------------------------------------------------------


def row(name: str, mine: list[float], base: list[float]) -> str:
    return (
        f"{name:<22}{pct(mine, 0.5):>10.1f}{pct(mine, 0.99):>10.1f}"
        f"{pct(base, 0.5):>10.1f}{pct(base, 0.99):>10.1f}"
        f"{statistics.median(mine) / statistics.median(base):>10.2f}"
    )


async def latency(n: int, m: int, rounds: int, inline_ack: bool) -> list[str]:
    # The fake runs in this process, on the GIL the apps share: its Block Kit checks (the
    # tests' business, Slack's in production) would count against ours, whose answers
    # have blocks, and not against the echo's plain text. `--validate-blocks` keeps them.
    fake = (FakeSlack() if VALIDATE_BLOCKS else QuickSlack()).start()
    parts = parts_for(fake)
    if parts.turns is not None:  # what the app's lifespan does in `sessionbot serve`
        await parts.turns.warm_up()
    ours = InProcess(create_app(parts))
    bare = InProcess(bare_app(fake, inline_ack=inline_ack))
    for app in (ours, bare):  # warm up: auth.test, imports, first turn
        await ack_latency(app, fake, "event", 2)
    pooled: dict[str, tuple[list[float], list[float]]] = {}
    for r in range(rounds):
        for kind in ("command", "event"):
            first, second = (ours, bare) if r % 2 == 0 else (bare, ours)
            a = await ack_latency(first, fake, kind, n)
            b = await ack_latency(second, fake, kind, n)
            mine, base = (a, b) if first is ours else (b, a)
            pooled.setdefault(f"ack {kind} x{n}", ([], []))
            pooled[f"ack {kind} x{n}"][0].extend(mine)
            pooled[f"ack {kind} x{n}"][1].extend(base)
        pooled.setdefault(f"reply x{m}", ([], []))
        pooled[f"reply x{m}"][0].extend(await reply_latency(ours, fake, m))
        pooled[f"reply x{m}"][1].extend(await reply_latency(bare, fake, m))
        pooled.setdefault(f"reply ongoing x{m}", ([], []))
        pooled[f"reply ongoing x{m}"][0].extend(await reply_latency(ours, fake, m, ongoing=True))
        pooled[f"reply ongoing x{m}"][1].extend(await reply_latency(bare, fake, m, ongoing=True))
        # A restart: new parts (a new Slack face, empty caches) on the same store and turn
        # processes; the bare echo keeps nothing, so its ongoing reply is the baseline.
        fresh = build(parts.settings, store=parts.store)
        fresh.turns = parts.turns
        restarted = InProcess(create_app(fresh))
        after = await reply_latency(ours, fake, m, ongoing=True, restart=restarted)
        pooled.setdefault(f"reply restarted x{m}", ([], []))
        pooled[f"reply restarted x{m}"][0].extend(after)
        pooled[f"reply restarted x{m}"][1].extend(await reply_latency(bare, fake, m, ongoing=True))
    fake.stop()
    if parts.turns is not None:
        parts.turns.close()
    return [row(name, mine, base) for name, (mine, base) in pooled.items()]


async def main(args: argparse.Namespace) -> None:
    header = f"{'measure':<22}" + "".join(
        f"{h:>10}" for h in ("ours p50", "ours p99", "bare p50", "bare p99", "ratio p50")
    )
    lines = [header]
    if args.rounds:
        lines += await latency(args.requests, args.conversations, args.rounds, args.bare_inline_ack)
    if args.home_sessions:
        many, few, seeded = await home_bench(args.home_sessions, args.heavy, 20)
        print(seeded)
        lines.append(
            row(f"home {args.heavy}/{args.home_sessions // 1000}k", many, few)
            + "   (bare = 10 sessions)"
        )
    print("\n".join(lines))
    if args.memory:
        ours, bare = memory("ours", args.memory), memory("bare", args.memory)
        print(f"\nmemory (MiB) after {args.memory} DM events, 10 at once")
        print(f"{'':<8}{'built':>10}{'after':>10}{'peak':>10}")
        for name, m in (("ours", ours), ("bare", bare)):
            print(f"{name:<8}{m['built']:>10.1f}{m['rss']:>10.1f}{m['hwm']:>10.1f}")
        print(f"ratio peak {ours['hwm'] / bare['hwm']:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--home-sessions", type=int, default=100_000)
    parser.add_argument("--heavy", type=int, default=10_000)
    parser.add_argument("--memory", type=int, default=300)
    parser.add_argument("--memory-child", choices=["ours", "bare"])
    parser.add_argument("--database-url", help="run ours on this PostgreSQL database (emptied)")
    parser.add_argument(
        "--validate-blocks",
        action="store_true",
        help="the fake Slack checks Block Kit in the latency runs too (in this process)",
    )
    parser.add_argument("--turn-processes", type=int, default=0, help="as `serve` (default 2)")
    parser.add_argument(
        "--bare-inline-ack",
        action="store_true",
        help="the bare app with process_before_response=True, as ours (default: Bolt's default)",
    )
    args = parser.parse_args()
    DATABASE_URL = args.database_url
    TURN_PROCESSES = args.turn_processes
    VALIDATE_BLOCKS = args.validate_blocks
    if args.memory_child:
        asyncio.run(memory_child(args.memory_child, args.memory))
    else:
        asyncio.run(main(args))
