"""The store's writers' lock on SQLite (store/writelock.py), across real processes: a
writer Slack's ack waits for goes before a turn that waited longer, a writer killed
while holding it blocks no one, and one held too long gives a clear error, not a hang."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from store.db import Store
from store.writelock import WriteLock, WriteLockTimeout

ROOT = Path(__file__).resolve().parents[1]


def _writer(db: Path, log: Path, name: str, *, urgent: bool, hold: float = 0.0) -> str:
    """A process that takes the lock, appends its name to `log`, holds it `hold` seconds
    (or until its stdin closes, with hold < 0)."""
    return textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from store.writelock import WriteLock
        lock = WriteLock(Path({str(db)!r}))
        print("started", flush=True)
        with lock.held(urgent={urgent!r}):
            with open({str(log)!r}, "a") as f:
                f.write({name!r} + "\\n")
            print("holding", flush=True)
            if {hold!r} < 0:
                sys.stdin.read()
            else:
                time.sleep({hold!r})
        """
    )


@contextmanager
def _process(code: str) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def _until(check: object, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def _held_by_someone(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def test_the_write_an_ack_waits_for_goes_before_a_turn_that_waited_longer(
    tmp_path: Path,
) -> None:
    db, log = tmp_path / "store.db", tmp_path / "order"
    with _process(_writer(db, log, "holder", urgent=False, hold=-1)) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        with _process(_writer(db, log, "turn", urgent=False)) as turn:
            time.sleep(0.2)  # the turn has been waiting a while
            with _process(_writer(db, log, "inbox", urgent=True)) as inbox:
                _until(lambda: _held_by_someone(Path(f"{db}-urgent")))  # the inbox waits
                assert holder.stdin is not None
                holder.stdin.close()  # the holder lets go
                assert inbox.wait(timeout=10) == 0
                assert turn.wait(timeout=10) == 0
    assert log.read_text().split() == ["holder", "inbox", "turn"]


def test_a_writer_killed_while_holding_the_lock_blocks_no_one(tmp_path: Path) -> None:
    db, log = tmp_path / "store.db", tmp_path / "order"
    with _process(_writer(db, log, "killed", urgent=False, hold=-1)) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        holder.kill()
        holder.wait(timeout=10)
    lock = WriteLock(db, timeout=5)
    with lock.held():
        log.write_text(log.read_text() + "next\n")
    lock.close()
    assert log.read_text().split() == ["killed", "next"]


def test_a_killed_writers_forked_children_do_not_keep_its_lock(tmp_path: Path) -> None:
    """A web process forks its turn processes; killed while writing, its lock is free at
    once though the children live on (they exit on their own a second later)."""
    db = tmp_path / "store.db"
    code = textwrap.dedent(
        f"""
        import os, sys, time
        from pathlib import Path
        from store.writelock import WriteLock
        lock = WriteLock(Path({str(db)!r}))
        print("started", flush=True)
        with lock.held():
            child = os.fork()
            if child == 0:
                time.sleep(60)
                os._exit(0)
            print(child, flush=True)
            sys.stdin.read()
        """
    )
    with _process(code) as holder:
        assert holder.stdout is not None
        child = int(holder.stdout.readline())
        try:
            holder.kill()
            holder.wait(timeout=10)
            os.kill(child, 0)  # the child lives on
            lock = WriteLock(db, timeout=5)
            with lock.held():
                (tmp_path / "written").write_text("after the kill\n")
            lock.close()
        finally:
            os.kill(child, signal.SIGKILL)
    assert (tmp_path / "written").read_text() == "after the kill\n"


def test_a_lock_held_too_long_is_a_clear_error_not_a_hang(tmp_path: Path) -> None:
    db, log = tmp_path / "store.db", tmp_path / "order"
    with _process(_writer(db, log, "holder", urgent=False, hold=-1)) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        for urgent in (False, True):
            lock = WriteLock(db, timeout=0.3)
            too_long = pytest.raises(WriteLockTimeout, match="held the store's write lock too long")
            with too_long, lock.held(urgent=urgent):
                log.write_text("written without the lock\n")
            lock.close()
    assert log.read_text().split() == ["holder"]


def test_the_store_writes_and_reads_under_the_lock_from_two_processes(tmp_path: Path) -> None:
    """Two processes writing the same SQLite store at once both get every write in."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store.open(url, key_file=tmp_path / "key")
    store.dispose()
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from store.db import Store
        from sqlalchemy import text
        store = Store.open({url!r}, key_file=Path({str(tmp_path / "key")!r}))
        print("started", flush=True)
        for i in range(200):
            with store.statements(urgent=i % 2 == 0) as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
            with store.unit() as s:
                s.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
                s.execute(text("INSERT INTO t VALUES (1)"))
        store.dispose()
        """
    )
    with _process(code) as one, _process(code) as two:
        assert one.wait(timeout=60) == 0
        assert two.wait(timeout=60) == 0
    store = Store.open(url, key_file=tmp_path / "key")
    with store.reading() as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar_one() == 400
    store.dispose()
    assert (tmp_path / "store.db-writer").stat().st_mode & 0o777 == 0o600
