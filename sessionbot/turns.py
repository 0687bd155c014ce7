"""Dialogue turns in worker processes, for the web process.

Understanding a message and running the form's actions is CPU work in Python. In the web
process's own threads it holds the interpreter lock that the event loop needs to answer
`/healthz` and to acknowledge other clinicians' requests within Slack's 3 seconds. Here
each turn runs in one of a few worker processes instead, each with its own store
connection and runner (built from the same settings), so the web process only waits.

The workers are started with `spawn` (the web process has threads; `fork` would copy
their locks) and warmed up at start, so the first turn does not pay for the imports.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from dialogue.runner import Reply, Who
from sessionbot.logs import configure_logging
from sessionbot.settings import Settings

_parts = None  # the worker process's own parts, built by `_start_worker`


def _start_worker(settings: Settings, log_level: str, parent: int) -> None:
    global _parts
    from sessionbot.wiring import build

    configure_logging(log_level)  # the same masking as the parent, before anything logs
    # The parent's pid comes from the parent: read here, it would be init's already when
    # the web process ended while this one was still starting, and it would wait forever.
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _parts = build(settings)


def _exit_with_parent(parent: int) -> None:
    """A web process killed outright (SIGKILL, OOM) cannot stop its pool; its workers,
    which hold both ends of the pool's queue, would wait forever. They notice instead."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _ready() -> bool:
    return _parts is not None


def _handle(who: Who, text: str, turn_id: str | None) -> Reply:
    assert _parts is not None, "worker not started"
    return _parts.runner.handle(who, text, turn_id=turn_id)


class TurnProcesses:
    """`handle(who, text, turn_id)` awaited in the web process, run in a worker."""

    def __init__(self, settings: Settings, processes: int, *, log_level: str = "INFO") -> None:
        self.pool = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(settings, log_level, os.getpid()),
        )
        self.processes = processes

    async def warm_up(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self.pool, _ready) for _ in range(self.processes))
        )

    async def handle(self, who: Who, text: str, turn_id: str | None) -> Reply:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, _handle, who, text, turn_id)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
