"""Group commit for threads: short writes that arrive together share one transaction.

A worker records each message it sent in a short unit of its own, and each such unit
appends to the audit trail, whose hash chain has one head row locked until commit
(store/audit.py). Sixteen sends at once in each of several workers then queue on that
row, one commit at a time: sends per second stopped growing past two workers
(bench/README.md, "Many web processes and workers"). Here the first thread to arrive
writes for every thread that arrives while it writes, in one unit (one head lock, one
commit); the others wait for it. A group whose unit fails is written again one write at
a time, so a failure reaches only its own caller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from store.db import Store

T = TypeVar("T")


class _Write(Generic[T]):
    def __init__(self, fn: Callable[[Session], T], order: tuple[int, ...]) -> None:
        self.fn = fn
        self.order = order
        self.done: Future[T] = Future()


class GroupedWrites:
    """`write(fn)`: `fn(session)` committed, in one unit with the writes of other threads
    that came meanwhile; returns what `fn` returned, or raises what it raised.

    A group runs its writes in the order of their `order` keys (the ids of the rows they
    lock, smallest first): two groups that lock the same rows lock them in the same order,
    so they wait for each other instead of deadlocking."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.Lock()
        self.waiting: list[_Write[object]] = []
        self.writing = False

    def write(self, fn: Callable[[Session], T], *, order: tuple[int, ...] = ()) -> T:
        mine: _Write[T] = _Write(fn, order)
        with self.lock:
            self.waiting.append(mine)  # type: ignore[arg-type]
            lead = not self.writing
            self.writing = True
        if lead:
            self._write_all()
        return mine.done.result()

    def _write_all(self) -> None:
        """Write groups until none is waiting (only the leading thread is here)."""
        while True:
            with self.lock:
                group, self.waiting = self.waiting, []
                if not group:
                    self.writing = False
                    return
            try:
                self._write(group)
            except BaseException as exc:  # noqa: BLE001 - nobody may wait for ever
                for write in group:
                    if not write.done.done():
                        write.done.set_exception(exc)

    def _together(self, group: list[_Write[object]]) -> bool:
        """The group in one unit; False (nothing committed) when a write failed."""
        try:
            with self.store.unit() as s:
                results = [write.fn(s) for write in group]
        except Exception:  # noqa: BLE001 - which write failed is found one at a time
            return False
        for write, result in zip(group, results, strict=True):
            write.done.set_result(result)
        return True

    def _write(self, group: list[_Write[object]]) -> None:
        group = sorted(group, key=lambda write: write.order)
        if len(group) > 1 and self._together(group):
            return
        for write in group:  # alone, or again one at a time after the group's unit failed
            try:
                with self.store.unit() as s:
                    result = write.fn(s)
            except Exception as exc:  # noqa: BLE001 - raised in its own caller
                write.done.set_exception(exc)
            else:
                write.done.set_result(result)
