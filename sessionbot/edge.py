"""Limits at the edge of the web process: what a request may cost before any route runs.

A URL longer than `MAX_URL` bytes gets 414; a body longer than its route's limit gets 413,
from the `Content-Length` header before a byte of the body is read, or as soon as a
chunked body passes the limit. The body is read here once (it is small by then) and
handed on, so no route ever reads an unbounded body.

Below the app, `DeadlineH11Protocol` closes a connection whose request does not arrive
in time (nothing sent, half the headers, half the body).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from ground.logs import request_context

log = logging.getLogger("sessionbot.edge")

KIB = 1024
MAX_URL = 4 * KIB
# Slack: a DM may hold 40,000 characters and its event carries them several times over
# (text, blocks); a Stripe event is a few KB; the others are small forms.
BODY_LIMITS: Mapping[str, int] = {
    "/slack/": 1024 * KIB,
    "/webhooks/stripe": 512 * KIB,
    "/webhooks/twilio/": 64 * KIB,
}
DEFAULT_BODY_LIMIT = 64 * KIB


def _plain(status: int, text: str) -> tuple[Message, Message]:
    body = text.encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


@dataclass
class EdgeLimits:
    app: ASGIApp
    max_url: int = MAX_URL
    body_limits: Mapping[str, int] = field(default_factory=lambda: dict(BODY_LIMITS))
    default_body_limit: int = DEFAULT_BODY_LIMIT

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.body_limits.items():
            if path.startswith(prefix):
                return limit
        return self.default_body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        url_size = len(scope.get("raw_path") or path.encode()) + len(scope.get("query_string", b""))
        if url_size > self.max_url:
            log.info("refused %s: URL of %d bytes", scope.get("method"), url_size)
            await self._refuse(send, 414, "URL too long.")
            return
        limit = self.limit_for(path)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._refuse(send, 400, "Bad Content-Length.")
                return
            if int(declared) > limit:
                log.info(
                    "refused %s %s: body of %s bytes", scope.get("method"), path, int(declared)
                )
                await self._refuse(send, 413, "Request body too large.")
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                log.info("refused %s %s: body over %d bytes", scope.get("method"), path, limit)
                await self._refuse(send, 413, "Request body too large.")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, status: int, text: str) -> None:
        start, body = _plain(status, text)
        await send(start)
        await send(body)


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for receiving each request.

    uvicorn closes a connection idle after a response (`timeout_keep_alive`), but a
    connection that sends nothing, half its headers, or half its body is kept open for
    ever, each holding a socket (and, mid-body, a running request). Here each request's
    headers and body must arrive within `request_timeout` seconds of the connection
    opening or of the previous response; otherwise the connection is closed.
    """

    request_timeout: float = 15.0

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, object],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _receiving(self) -> bool:
        return self.conn.their_state in (h11.IDLE, h11.SEND_BODY)

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or not self._receiving():
            return
        busy = self.cycle is not None and not self.cycle.response_complete
        if self.conn.their_state is h11.IDLE and busy:
            return  # a response still being written; the next request's clock starts after
        log.info("closed a connection: request not received within %gs", self.request_timeout)
        if busy:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._receiving():
            self._disarm()  # the whole request is in: the app may take its time

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self._receiving():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def deadline_protocol(request_timeout: float) -> type[DeadlineH11Protocol]:
    """The protocol class for `uvicorn.Config(http=...)` with this deadline."""
    return type("DeadlineH11Protocol", (DeadlineH11Protocol,), {"request_timeout": request_timeout})


@dataclass
class RequestIds:
    """Every HTTP request runs inside a request id (`ground.logs.request_context`): the
    caller's `X-Request-Id` when it is a short plain token (a proxy's), else a new one. Each
    log line of the request carries it, and the answer names it in `X-Request-Id`, so an
    operator can find a caller's request in the logs."""

    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"")
        with request_context(given.decode("latin-1")[:64] or None) as request_id:

            async def named(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers") or [])
                    headers.append((b"x-request-id", request_id.encode()))
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, named)
