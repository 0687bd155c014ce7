"""Dialogue turns in worker processes, for the web process.

Understanding a message and running the form's actions is CPU work in Python. In the web
process's own threads it holds the interpreter lock that the event loop needs to answer
`/healthz` and to acknowledge other clinicians' requests within Slack's 3 seconds. Here
each turn runs in one of a few worker processes instead, each with its own store
connection and runner (built from the same settings), so the web process only waits.

At start they are forked from the web process, after its imports and before it has a
thread or an open database connection, with what a turn loads on first use (the gazetteer
of places and zones, the date parser's data) read once beforehand and frozen out of the
garbage collector: their pages stay shared with the web process copy-on-write, instead of
each worker holding its own copy of every module and table (about 180 MiB a worker when
spawned; bench/README.md, "Memory"). Workers that replace dead ones are started with
`spawn`, as the web process has threads by then (a fork would copy their locks). Either
way they are warmed up before `serve` listens, so the first turn does not pay for imports.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import multiprocessing.context
import multiprocessing.process
import os
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot import turn_work
from dialogue.domain import BotMessage
from dialogue.turn_io import TurnWork, Who
from ground.jsontypes import JSON
from ground.logs import configure_logging, flush_logging, request_context
from ground.settings import Settings

if TYPE_CHECKING:
    from sessionbot.parts import Parts

log = logging.getLogger("sessionbot.turns")
_parts = None  # the worker process's own parts, built by `_start_worker`
TURN_NICE = 10  # added to a turn process's niceness (the web process keeps its own)
# Read once before the fork: a date, a time, a phone number, a place and a package.
PRELOAD_TEXT = "JD tomorrow 3pm London time by text +44 20 7946 0958, intake packet"


def _start_worker(
    settings: Settings, log_level: str, parent: int, inherited: tuple[int, ...] = ()
) -> None:
    global _parts
    from sessionbot.wiring import build

    for fd in inherited:  # a forked worker must not keep the web process's listening socket
        with contextlib.suppress(OSError):
            os.close(fd)
    configure_logging(log_level)  # the same masking as the parent, before anything logs
    # The parent's pid comes from the parent: read here, it would be init's already when
    # the web process ended while this one was still starting, and it would wait forever.
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _parts = build(settings)
    preload(_parts)  # what reading loads on first use, before the first turn waits for it
    # Then below the web process: when turns need more CPU than there is, the loop that
    # acks Slack (3 s) and answers health still gets its share, and turns queue instead
    # (bench/bench_acks.py). After the start, which `serve` waits for before it listens.
    os.nice(TURN_NICE)


class _WithoutCtrlC(multiprocessing.process.BaseProcess):
    """A worker started with SIGINT blocked, from its first instruction on.

    Ctrl-C reaches the whole process group, and a worker still importing would die of it
    with a traceback (and one in a turn, halfway through it). The web process stops its
    pool itself, after the turns in flight, so a worker never needs SIGINT: a blocked
    signal stays blocked across fork and exec, which an ignore set after start-up could
    not cover. SIGTERM and SIGKILL still end a worker."""

    def start(self) -> None:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _SpawnedWithoutCtrlC(_WithoutCtrlC, multiprocessing.context.SpawnProcess):
    """A spawned worker (a replacement, once this process has threads)."""


class _ForkedWithoutCtrlC(_WithoutCtrlC, multiprocessing.context.ForkProcess):
    """A worker forked at start, sharing this process's pages."""


class _QuietSpawnContext(multiprocessing.context.SpawnContext):
    Process = _SpawnedWithoutCtrlC


class _QuietForkContext(multiprocessing.context.ForkContext):
    Process = _ForkedWithoutCtrlC


def preload(parts: Parts) -> None:
    """Read one message as a turn would, so that what reading loads on first use (the
    gazetteer of places, the zones' countries, the date parser's data) is loaded before
    the first turn waits for it: each worker does it as it starts, while the web process
    imports the Slack side (bench/README.md, "Memory")."""
    now = datetime.now(ZoneInfo(parts.practice.default_timezone))
    parts.runner.nlu(PRELOAD_TEXT, now, None, None, None)


def _exit_with_parent(parent: int) -> None:
    """A web process killed outright (SIGKILL, OOM) cannot stop its pool; its workers,
    which hold both ends of the pool's queue, would wait forever. They notice instead."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _ready() -> bool:
    return _parts is not None


def _work(
    who: Who,
    text: str,
    turn_id: str,
    reply_to: Mapping[str, JSON],
    preface: Sequence[BotMessage],
    settle_since: datetime | None,
) -> TurnWork:
    assert _parts is not None, "worker not started"
    with request_context(turn_id):  # the turn's lines carry its id, as the web process's do
        return turn_work.run(
            _parts, who, text, turn_id, reply_to, preface, settle_since=settle_since
        )


class TurnProcesses:
    """`work(who, text, turn_id, ...)` awaited in the web process, run in a worker.

    A worker that dies (killed, out of memory) breaks a `ProcessPoolExecutor` for good:
    every later call fails at once. The broken pool is replaced by a new one (noticed by
    the turn that failed, or by `watch` between turns), the turn that was in flight is
    run once more (its turn id makes that safe: a turn that had committed is found done),
    and `problem()` says what health should say until the new workers are up."""

    def __init__(
        self,
        settings: Settings,
        processes: int,
        *,
        log_level: str = "INFO",
        fork_from: Parts | None = None,
        inherited: tuple[int, ...] = (),
    ) -> None:
        """`fork_from`: this process's parts, when the workers are to be forked from it
        now (see `_fork`; `preload` first); `inherited`: file descriptors a forked
        worker closes."""
        self.settings = settings
        self.log_level = log_level
        self.processes = processes
        self.inherited = inherited
        self.forked = fork_from is not None and self._fork(fork_from)
        if not self.forked:
            self.pool = self._new_pool(_QuietSpawnContext())
        self.starting: asyncio.Task[None] | None = None
        # Replacements in a row whose workers did not come up: each waits longer (a
        # worker that cannot start must not become a loop of new processes).
        self.failed_starts = 0
        self.not_before = 0.0

    def _new_pool(self, context: multiprocessing.context.BaseContext) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=context,
            initializer=_start_worker,
            initargs=(self.settings, self.log_level, os.getpid(), self.inherited),
        )

    def _fork(self, parts: Parts) -> bool:
        """Fork the workers from this process now, sharing its pages; False (and nothing
        done) when a thread other than this one runs, which a fork would leave without
        its thread but with any lock it held.

        The logging thread is stopped for the fork and started again after it; the
        store's pooled connections are closed (a worker must not share a connection's
        socket or SQLite handle; this process opens new ones when it next needs them)."""
        flush_logging()
        try:
            if threading.active_count() > 1:
                log.warning("turn processes spawned, not forked: a thread runs at start")
                return False
            parts.store.dispose()
            gc.collect()
            gc.freeze()  # the collector never writes to these objects: their pages stay shared
            self.pool = self._new_pool(_QuietForkContext())
            # With `fork`, the executor forks every worker at its first call, before it
            # starts its own threads (cpython#90622); `warm_up` waits for them.
            self.pool.submit(_ready)
            return True
        finally:
            configure_logging(self.log_level, background=True)

    def broken(self) -> bool:
        # Set by the executor's manager thread as soon as a worker dies, busy or idle;
        # the executor has no public way to ask.
        return bool(getattr(self.pool, "_broken", False))

    def problem(self) -> str | None:
        """Why turns cannot be served right now, in a few words; None when they can."""
        if self.broken():
            return "a turn process died; replacing it"
        if self.starting is not None and not self.starting.done():
            return "turn processes starting"
        return None

    async def warm_up(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self.pool, _ready) for _ in range(self.processes))
        )

    async def heal(self) -> None:
        """Replace a broken pool (once, however many turns noticed) and warm it up."""
        if self.broken() and time.monotonic() >= self.not_before:
            # Spawned: this process has threads and connections now.
            old, self.pool = self.pool, self._new_pool(_QuietSpawnContext())
            old.shutdown(wait=False, cancel_futures=True)
            log.error("a turn process died; started new turn processes")
            self.not_before = time.monotonic() + min(30.0, 0.5 * 2**self.failed_starts)
            self.failed_starts += 1
            self.starting = asyncio.get_running_loop().create_task(self._start())
        if self.starting is not None:
            await asyncio.shield(self.starting)

    async def _start(self) -> None:
        try:
            await self.warm_up()
        except Exception as exc:  # noqa: BLE001 - the next call (or `watch`) tries again
            log.error("new turn processes did not start: %s", type(exc).__name__)
        else:
            self.failed_starts = 0

    async def watch(self, every: float = 0.5) -> None:
        """Between turns too, a dead worker is replaced (and health says so meanwhile)."""
        while True:
            if self.broken():
                await self.heal()
            await asyncio.sleep(every)

    async def work(
        self,
        who: Who,
        text: str,
        turn_id: str,
        reply_to: Mapping[str, JSON],
        preface: Sequence[BotMessage] = (),
        *,
        settle_since: datetime | None = None,
    ) -> TurnWork:
        """`bot.turn_work.run` in a worker: the turn and the reads around it."""
        loop = asyncio.get_running_loop()
        args = (who, text, turn_id, reply_to, tuple(preface), settle_since)
        try:
            return await loop.run_in_executor(self.pool, _work, *args)
        except BrokenProcessPool:
            await self.heal()
        return await loop.run_in_executor(self.pool, _work, *args)  # once more

    def close(self, timeout: float = 20.0) -> None:
        """Stop the workers after the turns they hold (queued ones are cancelled).

        Waited for, up to `timeout`: a pool left to stop on its own races the
        interpreter's exit, which then writes to the pool's closed wake-up pipe (a
        traceback at every stop). A worker stuck past it is left to notice its parent
        has gone (`_exit_with_parent`)."""
        stopping = threading.Thread(
            target=self.pool.shutdown, kwargs={"wait": True, "cancel_futures": True}, daemon=True
        )
        stopping.start()
        stopping.join(timeout)
        if stopping.is_alive():
            log.warning("turn processes still busy after %.0f s; leaving them", timeout)
