"""Group commit for the worker's sending threads (`store.grouped.GroupedWrites`): writes
that arrive while one is committed share the next unit, and one that fails fails alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from store import claim_rows
from store.db import Store
from store.grouped import GroupedWrites


def _behind_a_slow_write(
    store: Store, write_of: Callable[[int], Callable[[Session], bool]]
) -> tuple[list[object], int]:
    """A slow first write, and 15 more that arrive while it is committed: what each got
    (a result or the error's words) and how many commits there were."""
    grouped = GroupedWrites(store)
    commits: list[object] = []

    def count(conn: object) -> None:
        commits.append(conn)

    event.listen(store.engine, "commit", count)
    first_in = threading.Event()

    def slow_first(s: Session) -> bool:
        first_in.set()
        time.sleep(0.3)
        return claim_rows.first_time(s, "grouped:first")

    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            leader = pool.submit(grouped.write, slow_first)
            assert first_in.wait(5)
            others: list[Future[bool]] = [
                pool.submit(grouped.write, write_of(n)) for n in range(15)
            ]
            assert leader.result(timeout=10) is True
            outcomes: list[object] = []
            for future in others:
                try:
                    outcomes.append(future.result(timeout=10))
                except ValueError as exc:
                    outcomes.append(str(exc))
    finally:
        event.remove(store.engine, "commit", count)
    return outcomes, len(commits)


def test_writes_that_come_together_share_one_commit(store: Store) -> None:
    def write_of(n: int) -> Callable[[Session], bool]:
        return lambda s: claim_rows.first_time(s, f"grouped:{n}")

    outcomes, commits = _behind_a_slow_write(store, write_of)
    assert outcomes == [True] * 15
    assert commits <= 3, commits  # the slow one, then the 15 in one or two groups
    with store.unit() as s:  # committed: every key is seen already
        assert not any(claim_rows.first_time(s, f"grouped:{n}") for n in range(15))


def test_a_refused_write_fails_alone_and_the_rest_are_committed(store: Store) -> None:
    def write_of(n: int) -> Callable[[Session], bool]:
        def write(s: Session) -> bool:
            if n == 7:
                raise ValueError("this one is refused")
            return claim_rows.first_time(s, f"grouped:{n}")

        return write

    outcomes, _ = _behind_a_slow_write(store, write_of)
    assert outcomes[7] == "this one is refused"
    assert [o for n, o in enumerate(outcomes) if n != 7] == [True] * 14
    with store.unit() as s:
        assert [n for n in range(15) if claim_rows.first_time(s, f"grouped:{n}")] == [7]


def test_a_write_alone_is_committed_at_once(store: Store) -> None:
    grouped = GroupedWrites(store)
    assert grouped.write(lambda s: claim_rows.first_time(s, "alone:1")) is True
    with pytest.raises(ZeroDivisionError):
        grouped.write(lambda s: 1 // 0)
    assert grouped.write(lambda s: claim_rows.first_time(s, "alone:1")) is False
