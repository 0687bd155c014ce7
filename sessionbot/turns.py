"""Dialogue turns in worker processes, for the web process.

Understanding a message and running the form's actions is CPU work in Python. In the web
process's own threads it holds the interpreter lock that the event loop needs to answer
`/healthz` and to acknowledge other clinicians' requests within Slack's 3 seconds. Here
each turn runs in one of a few worker processes instead, each with its own store
connection and runner (built from the same settings), so the web process only waits;
the reads around a DM's turn and the rendering of its answer run there too
(bot/turn_work.py).

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
import collections
import contextlib
import gc
import logging
import multiprocessing
import multiprocessing.context
import multiprocessing.process
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

from bot import turn_work
from dialogue.turn_io import TurnAsk, TurnWork
from ground.logs import configure_logging, flush_logging, request_context
from ground.settings import Settings

if TYPE_CHECKING:
    from sessionbot.parts import Parts

log = logging.getLogger("sessionbot.turns")
T = TypeVar("T")
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


def _work(ask: TurnAsk) -> TurnWork:
    assert _parts is not None, "worker not started"
    with request_context(ask.turn_id):  # the turn's lines carry its id, as the web's do
        return turn_work.run(_parts, ask)


def _serve(
    conn: Connection,
    settings: Settings,
    log_level: str,
    parent: int,
    inherited: tuple[int, ...],
) -> None:
    """A worker's life: start, then run each call the web process sends on `conn`, one at
    a time, answering `(True, result)` or `(False, exception)`, until `None` or EOF."""
    _start_worker(settings, log_level, parent, inherited)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        fn, args = job
        try:
            answer: tuple[bool, object] = (True, fn(*args))
        except Exception as exc:  # noqa: BLE001 - the web process raises it in the caller
            answer = (False, exc)
        try:
            conn.send(answer)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:  # nothing was sent
            conn.send((False, RuntimeError(f"a turn's answer could not be sent: {exc!r}")))


class TurnProcessDied(RuntimeError):
    """The turn process running a call died (killed, out of memory) before answering."""


@dataclass(eq=False)
class _Worker:
    """One turn process and the web process's end of its pipe."""

    process: multiprocessing.process.BaseProcess
    conn: Connection
    job: asyncio.Future[object] | None = None  # the call it runs now
    alive: bool = True
    ready: bool = False  # warmed up: takes turns


class TurnProcesses:
    """`work(who, text, turn_id, ...)` awaited in the web process, run in a worker.

    Each worker has a pipe of its own, read by the web process's event loop when the
    worker answers (`loop.add_reader`): a call costs a pickle each way and no thread of
    the web process (`concurrent.futures.ProcessPoolExecutor` hands each call and each
    result through two threads and two queues of its own: about 2 ms of the web process's
    CPU a DM, bench/README.md, "Replies"). A worker takes one call at a time; calls wait
    in order for the first worker free.

    A worker that dies (killed, out of memory) fails the call it ran (`TurnProcessDied`);
    a new worker replaces it (noticed by the turn that failed, or by `watch` between
    turns), the turn that was in flight is run once more (its turn id makes that safe: a
    turn that had committed is found done), and `problem()` says what health should say
    until the new worker is up. The others go on meanwhile."""

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
        self.workers: list[_Worker] = []
        self.queue: collections.deque[tuple[asyncio.Future[object], tuple[object, ...]]] = (
            collections.deque()
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self.forked = fork_from is not None and self._fork(fork_from)
        if not self.forked:
            self.workers = [self._new_worker(_QuietSpawnContext()) for _ in range(processes)]
        self.starting: asyncio.Task[None] | None = None
        # Replacements in a row whose workers did not come up: each waits longer (a
        # worker that cannot start must not become a loop of new processes).
        self.failed_starts = 0
        self.not_before = 0.0

    def _new_worker(self, context: multiprocessing.context.BaseContext) -> _Worker:
        ours, theirs = context.Pipe()
        process = context.Process(  # type: ignore[attr-defined]
            target=_serve,
            args=(theirs, self.settings, self.log_level, os.getpid(), self.inherited),
            daemon=True,  # a web process that ends without `close` does not wait for it
        )
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        if self.loop is not None:
            self.loop.add_reader(ours.fileno(), self._readable, worker)
        return worker

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
            context = _QuietForkContext()
            self.workers = [self._new_worker(context) for _ in range(self.processes)]
            return True
        finally:
            configure_logging(self.log_level, background=True)

    # Calls ------------------------------------------------------------------------------

    def _attach(self) -> asyncio.AbstractEventLoop:
        """Read the workers' pipes on the running loop (from the first call on)."""
        loop = asyncio.get_running_loop()
        if self.loop is not loop:
            if self.loop is not None and not self.loop.is_closed():
                for worker in self.workers:
                    if worker.alive:
                        self.loop.remove_reader(worker.conn.fileno())
            self.loop = loop
            for worker in self.workers:
                if worker.alive:
                    loop.add_reader(worker.conn.fileno(), self._readable, worker)
        return loop

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        if not any(w.ready for w in self.workers if w.alive):
            await self.warm_up()  # the first call, or every worker being replaced
        future: asyncio.Future[object] = self._attach().create_future()
        self.queue.append((future, (fn, args)))
        self._dispatch()
        return await future  # type: ignore[return-value]

    async def _call_on(self, worker: _Worker, fn: Callable[..., T], *args: object) -> T:
        """A call for this worker (its warm-up), sent now: a new worker takes nothing else
        before its answer."""
        future: asyncio.Future[object] = self._attach().create_future()
        try:
            worker.conn.send((fn, args))
        except (OSError, EOFError):
            self._died(worker)
            raise TurnProcessDied("a turn process died before it started") from None
        worker.job = future
        return await future  # type: ignore[return-value]

    def _send(
        self, worker: _Worker, future: asyncio.Future[object], job: tuple[object, ...]
    ) -> bool:
        """Hand `job` to an idle worker; False when it could not take it (then `future`
        holds why, or the job waits again for another worker)."""
        try:
            worker.conn.send(job)  # pickled whole before a byte is written
        except (OSError, EOFError):  # its end is gone: it died; the job waits for another
            self.queue.appendleft((future, job))
            self._died(worker)
            return False
        except Exception as exc:  # noqa: BLE001 - the call's arguments would not pickle
            future.set_exception(exc)
            return False
        worker.job = future
        return True

    def _dispatch(self) -> None:
        for worker in self.workers:
            while self.queue and worker.alive and worker.ready and worker.job is None:
                future, job = self.queue.popleft()
                if not future.done():  # a caller that gave up (cancelled) is skipped
                    self._send(worker, future, job)
        if self.queue and not any(w.alive for w in self.workers):
            self._fail_queue()

    def _readable(self, worker: _Worker) -> None:
        try:
            ok, value = worker.conn.recv()
        except (EOFError, OSError):
            self._died(worker)
            return
        except Exception as exc:  # noqa: BLE001 - an answer that would not unpickle
            ok, value = False, exc
        future, worker.job = worker.job, None
        if future is not None and not future.done():
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        self._dispatch()

    def _died(self, worker: _Worker) -> None:
        if not worker.alive:
            return
        worker.alive = False
        if self.loop is not None and not self.loop.is_closed():
            self.loop.remove_reader(worker.conn.fileno())
        worker.conn.close()
        future, worker.job = worker.job, None
        if future is not None and not future.done():
            future.set_exception(TurnProcessDied("a turn process died"))
        if not any(w.alive for w in self.workers):
            self._fail_queue()

    def _fail_queue(self) -> None:
        """No worker left: the calls waiting fail now (their turns are run again once a
        new worker is up) instead of waiting for one that may not come."""
        while self.queue:
            future, _ = self.queue.popleft()
            if not future.done():
                future.set_exception(TurnProcessDied("no turn process is running"))

    # Health -----------------------------------------------------------------------------

    def broken(self) -> bool:
        """A worker died and is not replaced yet (noticed as soon as its pipe closes, or
        its process is found gone, busy or idle)."""
        for worker in self.workers:
            if worker.alive and not worker.process.is_alive():
                self._died(worker)
        return any(not w.alive for w in self.workers)

    def problem(self) -> str | None:
        """Why turns cannot be served right now, in a few words; None when they can."""
        if self.broken():
            return "a turn process died; replacing it"
        if self.starting is not None and not self.starting.done():
            return "turn processes starting"
        return None

    async def warm_up(self) -> None:
        """Wait until the workers have started (once, however many wait); raises what
        kept one from starting."""
        if self.starting is None or self.starting.done():
            cold = [w for w in self.workers if w.alive and not w.ready and w.job is None]
            if not cold:
                return
            self.starting = self._attach().create_task(self._warm(cold))
        await asyncio.shield(self.starting)

    async def _warm(self, workers: list[_Worker]) -> None:
        started = await asyncio.gather(
            *(self._call_on(w, _ready) for w in workers), return_exceptions=True
        )
        for worker, ok in zip(workers, started, strict=True):
            worker.ready = ok is True
        self._dispatch()
        for ok in started:
            if isinstance(ok, BaseException):
                raise ok

    async def heal(self) -> None:
        """Replace the dead workers (once, however many turns noticed) and warm them up."""
        if self.broken() and time.monotonic() >= self.not_before:
            self._attach()
            # Spawned: this process has threads and connections now.
            dead = [w for w in self.workers if not w.alive]
            fresh = [self._new_worker(_QuietSpawnContext()) for _ in dead]
            self.workers = [w for w in self.workers if w.alive] + fresh
            for worker in dead:
                worker.process.join(0)  # reaped, not left a zombie
            log.error("a turn process died; started new turn processes")
            self.not_before = time.monotonic() + min(30.0, 0.5 * 2**self.failed_starts)
            self.failed_starts += 1
            self.starting = asyncio.get_running_loop().create_task(self._start(fresh))
        if self.starting is not None:
            await asyncio.shield(self.starting)

    async def _start(self, workers: list[_Worker]) -> None:
        try:
            await self._warm(workers)
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

    async def work(self, ask: TurnAsk) -> TurnWork:
        """`bot.turn_work.run` in a worker: the turn and the reads around it."""
        try:
            return await self._call(_work, ask)
        except TurnProcessDied:
            await self.heal()
        return await self._call(_work, ask)  # once more

    def close(self, timeout: float = 20.0) -> None:
        """Stop the workers after the turns they hold (calls still waiting fail).

        Waited for, up to `timeout`; a worker stuck past it is left to notice its parent
        has gone (`_exit_with_parent`)."""
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            if worker.alive:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)  # after the call it runs, if any
        for worker in self.workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        stuck = [w for w in self.workers if w.process.is_alive()]
        if stuck:
            log.warning("turn processes still busy after %.0f s; leaving them", timeout)
        for worker in self.workers:
            if worker.alive:
                self._died(worker)  # its reader off the loop, its pipe closed
        self._fail_queue()
