"""`sessionbot serve`: the web process (Slack, participant page, webhooks, health).

With SLACK_APP_TOKEN set, Slack comes over Socket Mode instead of `POST /slack/events`;
the rest of the HTTP app is served either way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator

import uvicorn

from ground.logs import SAFE, flush_logging
from ground.settings import Settings
from sessionbot.edge import deadline_protocol

NAME = "serve"
KEEP_ALIVE_SECONDS = 5  # an idle connection after a response is closed after this
log = logging.getLogger("sessionbot.serve")


def add_parser(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser(NAME, help="the web process: Slack, participant page, webhooks")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default %(default)s; 0.0.0.0 in the container image)",
    )
    serve.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default %(default)s)"
    )
    serve.add_argument(
        "--fd",
        type=int,
        help="serve on this already bound and listening socket (a supervisor's, a test's)",
    )
    serve.add_argument(
        "--turn-processes",
        type=int,
        default=2,
        help="worker processes for dialogue turns (0: threads of this process)",
    )


class Server(uvicorn.Server):
    """uvicorn, naming the address it listens on (its own line has the address masked, as
    client addresses are), and writing out the log before a re-raised SIGTERM ends it."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            for server in self.servers:
                for sock in server.sockets:
                    host, port = sock.getsockname()[:2]
                    shown = f"[{host}]" if ":" in host else host
                    log.info("listening on http://%s:%d", shown, port, extra={SAFE: True})

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM stop it the graceful way (requests in flight finished, the
        turn processes stopped), then it ends with one line and exit code 0. uvicorn
        would raise the signal again once stopped: a traceback for Ctrl-C, exit 143 for
        SIGTERM, both read by supervisors as a crash."""
        with super().capture_signals():
            try:
                yield
            finally:
                if self._captured_signals:
                    names = ", ".join(signal.Signals(s).name for s in self._captured_signals)
                    log.info("stopped on %s: requests in flight were finished", names)
                    self._captured_signals.clear()
                flush_logging()


def run(args: argparse.Namespace, settings: Settings) -> int:
    from sessionbot.turns import TurnProcesses
    from sessionbot.wiring import build

    parts = build(settings)
    if args.turn_processes > 0:
        level = logging.getLevelName(logging.getLogger().level)
        # Forked now, before uvicorn and the Slack inbox start threads (sessionbot.turns),
        # and before the Slack side's imports, which a turn never needs: each worker reads
        # its first message (`preload`) while this process imports them, so `serve`
        # listens no later for it (bench/bench_start.py).
        parts.turns = TurnProcesses(
            settings,
            args.turn_processes,
            log_level=level,
            fork_from=parts,
            inherited=(args.fd,) if args.fd is not None else (),
        )

    from bot.app import bolt_app, quiet_sdk_logging
    from sessionbot.asgi import create_app

    quiet_sdk_logging()
    app = create_app(parts)
    if not settings.slack_signing_secret and not settings.slack_app_token:
        logging.getLogger("sessionbot").warning(
            "Slack is off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (see `sessionbot manifest`)"
        )
    # log_config=None: uvicorn's loggers (the access log too) go through our handler,
    # which masks link tokens, e-mail addresses and phone numbers.
    # proxy_headers=False: uvicorn would believe X-Forwarded-For from 127.0.0.1 (or
    # $FORWARDED_ALLOW_IPS); the app believes it only from SESSIONBOT_TRUSTED_PROXIES.
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        log_config=None,
        proxy_headers=False,
        http=deadline_protocol(settings.request_timeout_seconds),
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    # A socket handed over is taken as it is (uvicorn's own `fd` assumes a Unix socket).
    sockets = [socket.socket(fileno=args.fd)] if args.fd is not None else None
    if not settings.slack_app_token:
        Server(config).run(sockets=sockets)
        return 0

    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    class SocketModeServer(Server):
        """uvicorn that closes the Socket Mode connection as it shuts down. After SIGTERM
        uvicorn re-raises the signal as `serve()` returns, so nothing after it would run."""

        def __init__(self, config: uvicorn.Config, handler: AsyncSocketModeHandler) -> None:
            super().__init__(config)
            self.handler = handler

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            await self.handler.close_async()  # first: Slack stops sending while HTTP drains
            await super().shutdown(sockets)

    async def both() -> None:
        # Made inside the loop: the handler's aiohttp session belongs to it.
        handler = AsyncSocketModeHandler(bolt_app(parts), settings.slack_app_token)
        await handler.connect_async()
        await SocketModeServer(config, handler).serve(sockets=sockets)

    asyncio.run(both())
    return 0
