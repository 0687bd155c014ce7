"""One writer at a time on an SQLite file, handed over at once, across processes.

SQLite lets one transaction write. A `BEGIN IMMEDIATE` that meets another process's
writer sleeps in SQLite's busy handler, which tries again after 1, 2, 5, 10, 15, 20, 25
... 100 ms however soon the lock is free: under `serve`, the turn processes and the web
process's inbox (whose write comes before Slack's ack) queued that way, and a turn
stalled 30-60 ms behind a write of a millisecond (bench/README.md, "fourth session").

Here every writer of the store takes a lock file first (`flock`, which the kernel drops
with the process, so a killed writer blocks no one), trying again after 0.1 ms, doubling
to 2 ms: the next writer starts within about a millisecond of the last one's commit.
Writers that Slack waits for (`urgent`: the inbox's write before the ack) go first: while
one waits, others do not take the lock (a second lock file says that one is waiting),
so an ack waits for at most the write under way. SQLite's own lock stays the guard of
the data (a process that does not use this one, the `sqlite3` shell say, still meets
the busy timeout); this only orders our writers. Python's `flock` is used as is: the
`filelock` package polls at a fixed interval and has no notion of a writer first.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ground.metrics import STORE_WRITE_WAIT_SECONDS as WAITED

FIRST_PAUSE = 0.0001
LONGEST_PAUSE = 0.002


class WriteLockTimeout(TimeoutError):
    """No turn to write came within the timeout (another writer held on for that long)."""


class WriteLock:
    """The writers' lock of one SQLite file (`<file>-writer`, `<file>-urgent`), for every
    thread of every process of this machine that opens it; of this process's threads only
    for a database in memory (`database` None)."""

    def __init__(self, database: Path | None, *, timeout: float = 30.0) -> None:
        self.paths = (
            None
            if database is None
            else (
                database.with_name(database.name + "-writer"),
                database.with_name(database.name + "-urgent"),
            )
        )
        self.timeout = timeout
        self.threads = threading.Lock()  # this process's threads queue here, woken at once
        self.fds: tuple[int, int] | None = None

    def _files(self) -> tuple[int, int] | None:
        if self.paths is None:
            return None
        if self.fds is None:
            flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
            self.fds = (os.open(self.paths[0], flags, 0o600), os.open(self.paths[1], flags, 0o600))
            _open.add(self)
        return self.fds

    def _forget_after_fork(self) -> None:
        """In a forked child: close the parent's descriptors, which share its lock (flock
        belongs to the open file, not to the process; a parent killed while holding it
        would hold it until the last child let go), and open its own when it writes."""
        if self.fds is not None:
            for fd in self.fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.fds = None

    @contextmanager
    def held(self, *, urgent: bool = False) -> Iterator[None]:
        """Hold the lock for one write; the wait is counted (STORE_WRITE_WAIT_SECONDS)."""
        asked = time.monotonic()
        deadline = asked + self.timeout
        if not self.threads.acquire(timeout=self.timeout):
            raise WriteLockTimeout("another thread held the store's write lock too long")
        try:
            files = self._files()
            if files is None:
                yield
                return
            writer, first = files
            if urgent:
                _take(first, fcntl.LOCK_EX, deadline)
                try:
                    _take(writer, fcntl.LOCK_EX, deadline)
                finally:
                    fcntl.flock(first, fcntl.LOCK_UN)
            else:
                _take(writer, fcntl.LOCK_EX, deadline, unless_waiting=first)
            WAITED.labels(kind="ack" if urgent else "other").observe(time.monotonic() - asked)
            try:
                yield
            finally:
                fcntl.flock(writer, fcntl.LOCK_UN)
        finally:
            self.threads.release()

    def close(self) -> None:
        if self.fds is not None:
            for fd in self.fds:
                os.close(fd)
        self.fds = None
        _open.discard(self)


_open: weakref.WeakSet[WriteLock] = weakref.WeakSet()  # locks with files open


def _after_fork_in_child() -> None:
    for lock in list(_open):
        lock._forget_after_fork()
    _open.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _take(fd: int, how: int, deadline: float, *, unless_waiting: int | None = None) -> None:
    """Lock `fd`, trying again after short pauses; with `unless_waiting`, only while that
    file is not held (an urgent writer waits)."""
    pause = FIRST_PAUSE
    while True:
        if unless_waiting is None or _free(unless_waiting):
            with contextlib.suppress(BlockingIOError):  # held: pause, then try again
                fcntl.flock(fd, how | fcntl.LOCK_NB)
                return
        if time.monotonic() >= deadline:
            raise WriteLockTimeout("another process held the store's write lock too long")
        time.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)


def _free(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(fd, fcntl.LOCK_UN)
    return True
