"""A fake Slack Socket Mode endpoint: a WebSocket server on loopback, port 0, in a thread.

The fake Web API (`FakeSlack.socket_url`) hands out its `ws://` URL from
`apps.connections.open`; the app connects, gets `hello`, and then the test sends
envelopes (`events_api`, `slash_commands`) as Slack would. Everything the app sends back
(the acks, `{"envelope_id": ...}`, with a payload when the ack carries one) is recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

PATH = "/link"

_envelopes = itertools.count(1)


class FakeSocketMode:
    """Slack's side of one Socket Mode connection at a time."""

    def __init__(self) -> None:
        self.replies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.close_codes: list[int | None] = []
        self.changed = threading.Condition()
        self._connection: ServerConnection | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Server | None = None
        self.url = ""

    def start(self) -> FakeSocketMode:
        self._thread.start()
        self._server = self._run(self._listen())
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}{PATH}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._run(self._server.wait_closed())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _listen(self) -> Server:
        return await serve(self._talk, "127.0.0.1", 0)

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _talk(self, connection: ServerConnection) -> None:
        path = connection.request.path if connection.request else ""
        if path != PATH:  # only the URL that apps.connections.open handed out
            await connection.close(1008, "unknown link")
            return
        await connection.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "connection_info": {"app_id": "A_SESSIONBOT"},
                    "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                }
            )
        )
        with self.changed:
            self.paths.append(path)
            self._connection = connection
            self.changed.notify_all()
        try:
            async for raw in connection:
                with self.changed:
                    self.replies.append(json.loads(raw))
                    self.changed.notify_all()
        except ConnectionClosed:
            pass
        with self.changed:
            self.close_codes.append(connection.close_code)
            if self._connection is connection:
                self._connection = None
            self.changed.notify_all()

    # Slack's side -------------------------------------------------------------------------

    def wait(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                result = predicate()
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "the Socket Mode client never did what the test waited for"
                    )
                self.changed.wait(left)

    def connected(self, timeout: float = 15.0) -> ServerConnection:
        return self.wait(lambda: self._connection, timeout)

    def send(self, type_: str, payload: dict[str, Any], **extra: Any) -> str:
        """Send one envelope over the open connection; its id, for `ack`."""
        envelope_id = f"env-{next(_envelopes):06d}"
        envelope = {
            "envelope_id": envelope_id,
            "type": type_,
            "accepts_response_payload": type_ != "events_api",
            "payload": payload,
            **extra,
        }
        self._run(self.connected().send(json.dumps(envelope)))
        return envelope_id

    def event(self, body: dict[str, Any], *, retry: int = 0) -> str:
        """An Events API envelope for an `event_callback` body; `retry` as Slack counts it."""
        extra = {"retry_attempt": retry, "retry_reason": "timeout" if retry else ""}
        return self.send("events_api", body, **extra)

    def slash_command(self, form: dict[str, str]) -> str:
        return self.send("slash_commands", form)

    def ack(self, envelope_id: str, timeout: float = 15.0) -> dict[str, Any]:
        """The app's acknowledgement of an envelope, waited for (fails if it never comes)."""

        def found() -> dict[str, Any] | None:
            return next((r for r in self.replies if r.get("envelope_id") == envelope_id), None)

        return self.wait(found, timeout)

    def acks_of(self, envelope_id: str) -> list[dict[str, Any]]:
        with self.changed:
            return [r for r in self.replies if r.get("envelope_id") == envelope_id]
