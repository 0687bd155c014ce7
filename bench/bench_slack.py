"""Slack face latency: sessionbot's Bolt app against a bare Bolt app on the same adapter.

    python bench/bench_slack.py [--requests 50] [--conversations 10]

Ack latency of `/schedule` and of a DM event, N requests at once, p50/p99; and reply
latency (DM event sent -> the bot's answer at the fake Slack) with M conversations at
once, against a bare app that echoes each message. SQLite store in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, Person  # noqa: E402

from bot.app import web_client  # noqa: E402
from sessionbot.asgi import create_app  # noqa: E402
from sessionbot.settings import Settings  # noqa: E402
from sessionbot.wiring import build  # noqa: E402


def bare_app(fake: FakeSlack) -> Starlette:
    app = AsyncApp(client=web_client(fake.url, BOT_TOKEN), signing_secret=SIGNING_SECRET)

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


async def timed(coro: Any) -> float:
    start = time.perf_counter()
    response = await coro
    assert response.status_code == 200, response.status_code
    return (time.perf_counter() - start) * 1000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def ack_latency(app: InProcess, fake: FakeSlack, kind: str, n: int) -> list[float]:
    people = [Person(app, fake, f"U_B{i:03d}") for i in range(n)]  # type: ignore[arg-type]

    def request(p: Person) -> Any:
        if kind == "command":
            body, ctype = p.command_body("/schedule", "JD tomorrow 3pm by text +1 617 555 0101")
        else:
            body, ctype = p.dm_body("schedule")
        from fake_slack import signed_headers

        return app.http.post("/slack/events", content=body, headers=signed_headers(body, ctype))

    return list(await asyncio.gather(*(timed(request(p)) for p in people)))


async def reply_latency(app: InProcess, fake: FakeSlack, m: int, tag: str) -> list[float]:
    people = [Person(app, fake, f"U_R{tag}{i:03d}") for i in range(m)]  # type: ignore[arg-type]
    from fake_slack import signed_headers

    async def one(p: Person) -> float:
        body, ctype = p.dm_body("schedule")
        start = time.perf_counter()
        await app.http.post("/slack/events", content=body, headers=signed_headers(body, ctype))
        while not fake.channel(p.dm_channel):
            await asyncio.sleep(0.001)
        return (time.perf_counter() - start) * 1000

    return list(await asyncio.gather(*(one(p) for p in people)))


async def main(n: int, m: int) -> None:
    fake = FakeSlack().start()
    folder = Path(tempfile.mkdtemp())
    from cryptography.fernet import Fernet

    settings = Settings.from_env(
        {
            "SESSIONBOT_DATA_DIR": str(folder),
            "SESSIONBOT_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.url,
        }
    )
    ours = InProcess(create_app(build(settings)))
    bare = InProcess(bare_app(fake))
    for app in (ours, bare):  # warm up: auth.test, imports, first turn
        await ack_latency(app, fake, "event", 2)
        await asyncio.sleep(1)
    rows = []
    for kind in ("command", "event"):
        mine = await ack_latency(ours, fake, kind, n)
        await asyncio.sleep(3)  # let the turns finish before the next round
        base = await ack_latency(bare, fake, kind, n)
        await asyncio.sleep(1)
        rows.append((f"ack {kind} x{n}", mine, base))
    rows.append(
        (
            f"reply x{m}",
            await reply_latency(ours, fake, m, "o"),
            await reply_latency(bare, fake, m, "b"),
        )
    )
    print(
        f"{'measure':<18}"
        + "".join(f"{h:>10}" for h in ("ours p50", "ours p99", "bare p50", "bare p99", "ratio p50"))
    )
    for name, mine, base in rows:
        print(
            f"{name:<18}{pct(mine, 0.5):>10.1f}{pct(mine, 0.99):>10.1f}"
            f"{pct(base, 0.5):>10.1f}{pct(base, 0.99):>10.1f}"
            f"{statistics.median(mine) / statistics.median(base):>10.2f}"
        )
    fake.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--conversations", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.conversations))
