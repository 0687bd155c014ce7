"""The durable inbox: a Slack request is in the store before Slack hears the ack.

Slack does not resend an event it got a 200 for, so a process that died between the ack
and the turn would lose the clinician's words. Here every event, click and command is
written (one short insert, encrypted) by a Bolt middleware before the ack listener runs,
and marked processed when its lazy listener is done. A sweeper in every web process
(at start, then every few seconds) claims the rows whose claim has lapsed (their process
died, or the work failed) and runs them again through the same Bolt app, up to
`MAX_ATTEMPTS` times. The row's key is the turn id, so a retry from Slack, a replay and
a second process never double a turn: the runner records turn ids in the tracker.

Claims are short (`SESSIONBOT_SLACK_INBOX_LEASE`, 8 s) and kept alive: while this
process works on a request (written by it, or replayed), a heartbeat renews the row's
claim every quarter of the lease, and the sweep looks every quarter too, so a request of
a process killed mid-turn is run again by another process within one lease and one sweep
(at most 10 s), and a live process's long turn is not run twice meanwhile. A request is
held at most `HOLD_MAX` (a listener that never finished); then its claim lapses.

A turn's answer is recorded with the turn and the row stays unprocessed until Slack took
the answer: a listener that could not post it raises `Undelivered`, and the row is run
again after a backoff (the replayed turn finds itself done and posts the recorded answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Concatenate, ParamSpec, TypeVar

from slack_bolt.async_app import AsyncApp
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy import Connection

from ground.metrics import SLACK_EVENTS
from store import slack_rows
from store.db import Store

log = logging.getLogger("sessionbot.slack.inbox")

T = TypeVar("T")
P = ParamSpec("P")
# A listener of ours: Bolt passes it its arguments by name (body, action, view, context...).
Listener = Callable[..., Awaitable[None]]
# Bolt's lazy listener: all of a request's arguments in one.
Lazy = Callable[[AsyncArgs], Awaitable[None]]

REPLAY = "sessionbot_inbox_replay"  # in a replayed request's context
KEY = "sessionbot_inbox_key"
MAX_ATTEMPTS = 3
# Events whose work runs after the ack (lazy listeners), so a crash could lose it.
LAZY_EVENTS = frozenset({"message", "app_home_opened"})
KEEP = timedelta(days=1)
# The longest this process renews a request it works on: a turn is seconds, a post that
# Slack holds up ends in `Undelivered`; past this the claim lapses and a sweep runs it.
HOLD_MAX = 120.0
# Lazy work (turns, posts) under way at once in this process. The event loop that runs it
# also acknowledges Slack: with every request's work started at once, a burst of DMs
# fills the loop with work and the acks wait behind it (bench/bench_acks.py). Beyond
# this many, work waits its turn (its request is already kept, its claim renewed).
WORKING = 4


def key_of(body: Mapping[str, object]) -> str | None:
    """The turn id of a request worth keeping: events, commands, clicks, submissions.

    Type-ahead lookups and closed views are answered at once and kept nowhere."""
    if "command" in body:
        return f"command:{body.get('trigger_id')}"
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or event.get("type") not in LAZY_EVENTS:
            return None  # handled before the ack (app_uninstalled, tokens_revoked)
        ident = body.get("event_id") or event.get("client_msg_id") or event.get("ts")
        return f"event:{ident}" if ident else None
    if kind == "block_actions":
        actions = body.get("actions")
        action = actions[0] if isinstance(actions, list) and actions else {}
        return f"action:{action.get('action_ts')}:{action.get('action_id')}"
    if kind == "view_submission":
        view = body.get("view")
        view = view if isinstance(view, dict) else {}
        return f"view:{view.get('id')}:{view.get('hash', '')}"
    return None


class Undelivered(Exception):  # noqa: N818 - a state, not a failure of the inbox
    """Raised by a listener whose work is done but whose answer Slack has not taken yet:
    the request is run again after `retry_in` seconds (its turn, already committed, is
    found done; the recorded answer is posted then)."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"answer not delivered; again in {retry_in:.1f}s")
        self.retry_in = retry_in


class Inbox:
    """The inbox of one Bolt app over one store."""

    def __init__(self, store: Store, *, lease: timedelta) -> None:
        self.store = store
        self.lease = lease
        # One thread of its own: an insert never queues behind turns in the turn pool.
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sessionbot-inbox")
        self.sweeping: asyncio.Task[None] | None = None
        # Group commit: requests that arrive while a write is under way wait for the next
        # one, which takes them all in one transaction (one round trip, one fsync), with
        # the requests done with meanwhile (their marks are not waited for: one lost in a
        # crash leaves its request to a replay, which finds its work done).
        self.waiting: list[tuple[str, str, asyncio.Future[None]]] = []
        self.finished: list[str] = []
        # Other short writes of a request's path that ride the same transaction (`along`).
        self.riders: list[tuple[Callable[[Connection], None], asyncio.Future[None]]] = []
        self.writer: asyncio.Task[None] | None = None
        # Requests this process works on (key: when it took them, monotonic), whose
        # claims the heartbeat renews.
        self.held: dict[str, float] = {}
        self.beating: asyncio.Task[None] | None = None
        self.prune_at = 0.0
        self.working = asyncio.Semaphore(WORKING)
        self.slot_holders: set[asyncio.Task[object] | None] = set()  # tasks holding a slot
        self.lazies: set[asyncio.Task[None]] = set()  # work under way (kept from the GC)

    async def _off(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))

    def _write(
        self,
        rows: list[tuple[str, str]],
        finished: list[str],
        riders: list[Callable[[Connection], None]],
    ) -> None:
        now = datetime.now(UTC)
        with self.store.statements(urgent=True) as conn:
            slack_rows.inbox_add(conn, rows, now)
            for write in riders:
                write(conn)
            slack_rows.inbox_done(conn, finished, now)

    async def keep(self, key: str, body: str) -> None:
        """Return once the request is in the store (with whatever else came meanwhile)."""
        done = asyncio.get_running_loop().create_future()
        self.waiting.append((key, body, done))
        self._wake()
        await done

    async def along(
        self, fn: Callable[Concatenate[Connection, P], None], *args: P.args, **kwargs: P.kwargs
    ) -> None:
        """Run `fn(connection, ...)` (SQL statements, no ORM session) in the next group
        write, and return once it is committed (a short write of a request's path, such as
        marking an answer posted: one transaction for many requests instead of one each).
        A failure reaches every write of its group."""
        done = asyncio.get_running_loop().create_future()
        self.riders.append((lambda s: fn(s, *args, **kwargs), done))
        self._wake()
        await done

    def finish(self, key: str) -> None:
        """Mark the request processed, with the next group of writes (not waited for)."""
        self.finished.append(key)
        self._wake()

    def _wake(self) -> None:
        if self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(self._write_waiting())

    async def _write_waiting(self) -> None:
        try:
            while self.waiting or self.finished or self.riders:
                batch, self.waiting = self.waiting, []
                finished, self.finished = self.finished, []
                riders, self.riders = self.riders, []
                rows = [(key, body) for key, body, _ in batch]
                waiters = [done for *_, done in batch] + [done for _, done in riders]
                try:
                    await self._off(self._write, rows, finished, [write for write, _ in riders])
                except Exception as exc:  # each waiting request hears of it
                    if finished:  # their claims lapse; a sweep finds their work done
                        log.warning("inbox: marking done failed: %s", type(exc).__name__)
                    for done in waiters:
                        done.set_exception(exc)
                else:
                    for done in waiters:
                        done.set_result(None)
                    SLACK_EVENTS.labels(stage="processed").inc(len(finished))
        finally:
            self.writer = None

    def _later(self, key: str, retry_in: float) -> None:
        at = datetime.now(UTC) + timedelta(seconds=retry_in)
        with self.store.unit() as s:
            slack_rows.inbox_later(s, key, at, self.lease.total_seconds())

    def _renew(self) -> None:
        # Read here, in the inbox's thread, so a key let go meanwhile is not renewed
        # after its `_later` (which runs after this in the same thread).
        now = time.monotonic()
        keys = [k for k, since in self.held.copy().items() if now - since < HOLD_MAX]
        if keys:
            with self.store.unit() as s:
                slack_rows.inbox_renew(s, keys, datetime.now(UTC))

    def _claim(self) -> list[tuple[str, str]]:
        now = datetime.now(UTC)
        with self.store.unit() as s:
            if time.monotonic() >= self.prune_at:  # old rows go once a minute
                slack_rows.inbox_prune(s, now - KEEP)
                self.prune_at = time.monotonic() + 60
            return slack_rows.inbox_claim_lapsed(
                s, now, now - self.lease, max_attempts=MAX_ATTEMPTS
            )

    async def middleware(
        self,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        """Bolt global middleware: keep the request, then go on to the ack listener."""
        key = key_of(req.body)
        if key is not None:
            req.context[KEY] = key
            if not req.context.get(REPLAY):
                await self.keep(key, json.dumps(req.body))
                SLACK_EVENTS.labels(stage="received").inc()
            self.held[key] = time.monotonic()
        return await next()

    @contextlib.asynccontextmanager
    async def aside(self) -> AsyncIterator[None]:
        """Give the work slot back while the work waits off this loop, and take one
        again after: a DM's answer, posted, waiting for its "delivered" mark to be
        committed with the next group write (bot/delivery.py).

        The slots bound the work on the loop, which also acknowledges Slack; a write
        waited for uses none of it, and while it held its slot the next clinician's turn
        waited behind it with a turn process idle (bench/README.md, "third session").
        Not for a turn waiting for a turn process: the slots are what holds back the
        intake of turns when the turn processes cannot keep up, so that the acks keep
        their CPU (lent there too, 160 DMs/s went over Slack's 3 s). In a task that holds
        no slot (a replay's own, a test's) it does nothing."""
        task = asyncio.current_task()
        if task not in self.slot_holders:
            yield
            return
        self.slot_holders.discard(task)
        self.working.release()
        try:
            yield
        finally:  # cancelled while waiting: no slot held, none given back by `processed`
            await self.working.acquire()
            self.slot_holders.add(task)

    def processed(self, fn: Listener) -> Lazy:
        """A lazy listener that marks its request processed once it has run."""
        wanted = [name for name in inspect.signature(fn).parameters]

        async def lazy(args: AsyncArgs) -> None:
            key = args.context.get(KEY)
            try:
                async with self._slot():
                    await fn(**{name: getattr(args, name) for name in wanted})
            except Undelivered as later:  # kept, for the sweeper to run again later
                if key:
                    self.held.pop(key, None)  # before `_later`: no renewal after it
                    await self._off(self._later, key, later.retry_in)
                    SLACK_EVENTS.labels(stage="later").inc()
                return
            except BaseException:  # failed: its claim lapses, a sweep runs it again
                if key:
                    self.held.pop(key, None)
                raise
            if key:
                self.held.pop(key, None)
                self.finish(key)

        lazy.__name__ = fn.__name__
        return lazy

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """A work slot of this process for the task (which `aside` may lend meanwhile)."""
        task = asyncio.current_task()
        await self.working.acquire()
        self.slot_holders.add(task)
        try:
            yield
        finally:
            if task in self.slot_holders:
                self.slot_holders.discard(task)
                self.working.release()

    def then(self, ack: Listener, lazy: Lazy) -> Lazy:
        """One Bolt listener: `ack`, then `lazy` (a `processed` listener) in a task of its own.

        What Bolt's `lazy=[...]` does, without its deep copy of the request and context for
        each lazy listener (the raw body parsed again, the client and its helpers copied:
        ~0.2 ms a request, bench/README.md): the request is kept in the store already, and
        nothing changes it after the ack."""
        wanted = [name for name in inspect.signature(ack).parameters]

        async def listener(args: AsyncArgs) -> None:
            await ack(**{name: getattr(args, name) for name in wanted})
            task = asyncio.get_running_loop().create_task(self._run(lazy, args))
            self.lazies.add(task)
            task.add_done_callback(self._lazy_ended)

        return listener

    @staticmethod
    async def _run(lazy: Lazy, args: AsyncArgs) -> None:
        await lazy(args)

    def _lazy_ended(self, task: asyncio.Task[None]) -> None:
        self.lazies.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # Its claim lapses and a sweep runs it again; the log gets the kind only.
            log.error("a Slack request's work failed: %s", type(exc).__name__)

    # Replaying ------------------------------------------------------------------------

    def start(self, app: AsyncApp, *, every: float) -> None:
        """Sweep now and then every `every` seconds, on the running loop."""
        loop = asyncio.get_running_loop()
        if self.sweeping is None:
            self.sweeping = loop.create_task(self._sweep(app, every))
        if self.beating is None:
            self.beating = loop.create_task(self._beat(self.lease.total_seconds() / 4))

    async def stop(self) -> None:
        for task in (self.sweeping, self.beating):
            if task is not None:
                task.cancel()
        self.sweeping = self.beating = None
        if self.writer is not None:  # the last marks of processed requests
            await asyncio.shield(self.writer)

    async def _beat(self, every: float) -> None:
        """Renew the claims of the requests this process still works on."""
        while True:
            await asyncio.sleep(every)
            now = time.monotonic()
            for key in [k for k, since in self.held.items() if now - since >= HOLD_MAX]:
                del self.held[key]
            try:
                await self._off(self._renew)
            except Exception as exc:  # the next beat tries again
                log.warning("inbox heartbeat failed: %s", type(exc).__name__)

    async def _sweep(self, app: AsyncApp, every: float) -> None:
        while True:
            try:
                await self.replay(app)
            except Exception as exc:  # keep sweeping; the log gets the kind only
                log.error("inbox sweep failed: %s", type(exc).__name__)
            await asyncio.sleep(every)

    async def replay(self, app: AsyncApp) -> int:
        """Run the lapsed requests again through `app`; returns how many."""
        claimed = await self._off(self._claim)
        for key, raw in claimed:
            log.info("replaying Slack request %s", key.split(":", 1)[0])
            SLACK_EVENTS.labels(stage="replayed").inc()
            request = AsyncBoltRequest(
                body=json.loads(raw), mode="socket_mode", context={REPLAY: True}
            )
            await app.async_dispatch(request)
        return len(claimed)
