"""Throttling guesses at link tokens: a client that misses too often is refused a while.

A token has 192 random bits, so guessing is hopeless; the throttle is about cost: without
it one client could make the page look up some 700 tokens a second. Only misses (404)
count, so a participant with a real link is never slowed by their own use of it.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

Endpoint = Callable[[Request], Awaitable[Response]]

MISSES_ALLOWED = 30
WINDOW_SECONDS = 60.0
CLIENTS_KEPT = 10_000


class MissThrottle:
    """At most `allowed` misses per client in any `window` seconds; then 429 until the
    oldest miss leaves the window."""

    def __init__(
        self,
        allowed: int = MISSES_ALLOWED,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allowed = allowed
        self.window = window
        self.clock = clock
        self.misses: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str) -> deque[float] | None:
        misses = self.misses.get(client)
        if misses is None:
            return None
        cutoff = self.clock() - self.window
        while misses and misses[0] <= cutoff:
            misses.popleft()
        if not misses:
            del self.misses[client]
            return None
        return misses

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None when it may now."""
        misses = self._recent(client)
        if misses is None or len(misses) < self.allowed:
            return None
        return max(1, int(misses[0] + self.window - self.clock()) + 1)

    def miss(self, client: str) -> None:
        misses = self._recent(client)
        if misses is None:
            misses = self.misses[client] = deque(maxlen=self.allowed)
            while len(self.misses) > CLIENTS_KEPT:
                self.misses.popitem(last=False)
        misses.append(self.clock())

    def guard(self, endpoint: Endpoint) -> Endpoint:
        """`endpoint`, refused with 429 to a client over its misses; its 404s counted."""

        async def guarded(request: Request) -> Response:
            client = request.client.host if request.client else "unknown"
            wait = self.retry_after(client)
            if wait is not None:
                return PlainTextResponse(
                    "Too many unknown links from here. Please wait a minute and try again.",
                    status_code=429,
                    headers={"Retry-After": str(wait), "Cache-Control": "no-store"},
                )
            response = await endpoint(request)
            if response.status_code == 404:
                self.miss(client)
            return response

        return guarded
