"""Sends in parallel: a bounded lane of threads per channel, and a pause for a throttled one.

The outbox worker hands each prepared message to its channel's lane (SMS 16 at once,
e-mail 8, Slack notices 4 by default: `Limits`, from settings). A provider that answers
429 (or SMTP 421) pauses its channel: the lane's threads wait before their next send,
1 s the first time, doubling up to a minute, back to nothing after a success. The
throttled message itself is retried later by the worker as any transient error. A lane
can also keep a rate (sends a second) below what the provider allows.

A sender that keeps a connection and is not thread-safe (`SmtpSender`) gets one twin per
sending thread (`PerThread`); `close()` closes them all.

While a worker holds claimed messages, a `Heartbeat` thread renews their short lease
(8 s by default, every quarter of it), so a dead worker's claims are free again within
a lease, and a live one keeps them however long a send or a 429 pause takes.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, ParamSpec, Protocol, TypeVar

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R", covariant=True)

log = logging.getLogger(__name__)


def channel_name(channel: object) -> str:
    """ "sms", "email" or "slack" (a str, or an enum whose value is one)."""
    return str(getattr(channel, "value", channel))


@dataclass(frozen=True)
class Limits:
    """How many sends each channel has in flight at once, and at most how many a second
    (0: no rate of ours; the provider's 429s still pause the channel)."""

    sms: int = 16
    email: int = 8
    slack: int = 4
    sms_rate: float = 0.0
    email_rate: float = 0.0
    slack_rate: float = 0.0

    def of(self, channel: object) -> int:
        return max(1, int(getattr(self, channel_name(channel), 1)))

    def rate(self, channel: object) -> float:
        return float(getattr(self, f"{channel_name(channel)}_rate", 0.0))

    @property
    def total(self) -> int:
        return self.sms + self.email + self.slack


class Throttle:
    """One channel's pause after a provider said "too many" and its own rate, if any."""

    def __init__(self, rate: float = 0.0, *, base: float = 1.0, cap: float = 60.0) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.base, self.cap = base, cap
        self.strikes = 0
        self._paused_until = 0.0
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def wait(self, stop: threading.Event | None = None) -> None:
        """Until the channel may send again (returns at once when `stop` is set)."""
        while True:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._paused_until, self._next_slot)
                if start <= now:
                    self._next_slot = now + self.interval
                    return
            if stop is not None:
                if stop.wait(min(start - now, 0.5)):
                    return
            else:
                time.sleep(min(start - now, 0.5))

    def throttled(self) -> float:
        """The provider said 429: pause the channel, longer each time in a row. The other
        sends that were in flight with it and say 429 too do not lengthen the pause."""
        with self._lock:
            now = time.monotonic()
            if now < self._paused_until:
                return self._paused_until - now
            self.strikes += 1
            pause = min(self.cap, self.base * 2 ** (self.strikes - 1))
            self._paused_until = now + pause
            return pause

    def succeeded(self) -> None:
        with self._lock:
            self.strikes = 0

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - time.monotonic())


class Lanes:
    """A thread pool per channel, each as wide as its limit, made on first use."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self.throttles: dict[str, Throttle] = {}
        self._lock = threading.Lock()

    def throttle(self, channel: object) -> Throttle:
        name = channel_name(channel)
        with self._lock:
            found = self.throttles.get(name)
            if found is None:
                found = self.throttles[name] = Throttle(self.limits.rate(name))
            return found

    def submit(self, channel: object, fn: Callable[[], T]) -> Future[T]:
        name = channel_name(channel)
        with self._lock:
            pool = self._pools.get(name)
            if pool is None:
                pool = self._pools[name] = ThreadPoolExecutor(
                    self.limits.of(name), thread_name_prefix=f"send-{name}"
                )
        return pool.submit(fn)

    def shutdown(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)


class Heartbeat:
    """Calls `beat` every `every` seconds in a thread of its own while the block runs.

    A beat that fails is logged (its kind only) and the next one tries again: the holder's
    own work meets the same failure and decides what to do about it."""

    def __init__(self, every: float, beat: Callable[[], object], *, name: str) -> None:
        self.every = every
        self.beat = beat
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.beat()
            except Exception as exc:  # the kind only: no row's content
                log.warning("%s: a heartbeat failed: %s", self.name, type(exc).__name__)


class Twinnable(Protocol[P, R]):
    """A sender that makes a twin of itself (its own connection) for another thread."""

    local: bool

    def twin(self) -> Twinnable[P, R]: ...

    def send(self, *args: P.args, **kwargs: P.kwargs) -> R: ...


class PerThread(Generic[P, R]):
    """The same sender, one instance per thread (each with its own connection)."""

    def __init__(self, prototype: Twinnable[P, R]) -> None:
        self.prototype = prototype
        self.local = prototype.local
        self._mine = threading.local()
        self._made: list[Twinnable[P, R]] = []
        self._lock = threading.Lock()

    def _sender(self) -> Twinnable[P, R]:
        sender: Twinnable[P, R] | None = getattr(self._mine, "sender", None)
        if sender is None:
            sender = self._mine.sender = self.prototype.twin()
            with self._lock:
                self._made.append(sender)
        return sender

    def send(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._sender().send(*args, **kwargs)

    def close(self) -> None:
        with self._lock:
            made, self._made = self._made, []
        self._mine = threading.local()
        for sender in [*made, self.prototype]:
            close = getattr(sender, "close", None)
            if close is not None:
                close()


def per_thread(senders: T) -> T:
    """`senders` with each sender that cannot be shared by threads made one per thread."""
    changes: dict[str, PerThread[..., object]] = {
        f.name: PerThread(getattr(senders, f.name))
        for f in dataclasses.fields(senders)  # type: ignore[arg-type]
        if callable(getattr(getattr(senders, f.name), "twin", None))
    }
    return dataclasses.replace(senders, **changes) if changes else senders  # type: ignore[type-var]
