"""A bare Bolt app, the baseline of `bench_acks.py`: acks each DM and echoes it from a
lazy listener, on the same Starlette adapter under uvicorn as ours.

    python bench/bare_bolt.py FD SLACK_URL BOT_TOKEN SIGNING_SECRET [--inline-ack]

A script of its own that imports only Bolt, Starlette and uvicorn: run from
`bench_acks.py` itself, it also held that script's imports (SQLAlchemy, the store, the
test fakes: about 85 MiB), which its memory figure then counted as Bolt's.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.routing import Route


def main(fd: int, slack_url: str, token: str, secret: str, inline: bool) -> None:
    app = AsyncApp(
        client=AsyncWebClient(token=token, base_url=slack_url),
        signing_secret=secret,
        process_before_response=inline,
    )

    async def ack(ack: Any) -> None:
        await ack()

    async def echo(event: dict[str, Any], client: Any) -> None:
        await client.chat_postMessage(channel=event["channel"], text=event.get("text") or "")

    app.event("message")(ack=ack, lazy=[echo])
    handler = AsyncSlackRequestHandler(app)

    async def endpoint(request: Any) -> Any:
        return await handler.handle(request)

    asgi = Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])
    uvicorn.Server(uvicorn.Config(asgi, log_level="warning", access_log=False)).run(
        sockets=[socket.socket(fileno=fd)]
    )


if __name__ == "__main__":
    fd, url, token, secret = sys.argv[1:5]
    main(int(fd), url, token, secret, "--inline-ack" in sys.argv[5:])
