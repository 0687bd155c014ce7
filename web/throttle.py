"""Throttling guesses at link tokens: a client that misses too often is refused a while.

A token has 192 random bits, so guessing is hopeless; the throttle is about cost and
noise: a client past its misses gets a short 429 instead of the page's 404. Only misses
(404) count, and a real link is always looked up first and always opens: a clinic whose
patients share one address (a NAT) is not locked out by someone else's guesses there.

The client is the connection's peer address; `X-Forwarded-For` counts only when the
peer is a configured proxy (SESSIONBOT_TRUSTED_PROXIES, applied in sessionbot/asgi.py),
so rotating that header changes nothing. IPv6 clients count by their /64 (one host
usually holds a whole /64).
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

Endpoint = Callable[[Request], Awaitable[Response]]
Refuse = Callable[[int], Response]

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

    def guard(self, endpoint: Endpoint, refuse: Refuse) -> Endpoint:
        """`endpoint`, its 404s counted; past its misses a client's 404 becomes
        `refuse(retry_after)` (a 429). What the endpoint finds is answered as ever."""

        async def guarded(request: Request) -> Response:
            client = client_key(request)
            response = await endpoint(request)
            if response.status_code != 404:
                return response
            wait = self.retry_after(client)
            self.miss(client)
            return response if wait is None else refuse(wait)

        return guarded


def client_key(request: Request) -> str:
    """Who a request counts against: its address (an IPv6 one by its /64)."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
