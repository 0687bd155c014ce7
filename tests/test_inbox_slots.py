"""The inbox's work slots: what runs on the web process's loop after the acks is bounded
(`inbox.WORKING`), and work that waits off the loop (an answer posted, waiting for its
"delivered" mark's group write) lends its slot meanwhile (`Inbox.aside`), so that the
next clinician's turn, their App Home or a click does not wait behind that write."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from types import SimpleNamespace
from typing import cast

from slack_bolt.kwargs_injection.async_args import AsyncArgs

from bot import inbox
from bot.inbox import Inbox
from store.db import Store


def _lazy(
    box: Inbox, fn: Callable[[], Awaitable[None]]
) -> Callable[[], Coroutine[None, None, None]]:
    """`fn` as the inbox runs a listener's work after the ack (no request key: a test's)."""
    run = box.processed(fn)
    args = cast(AsyncArgs, SimpleNamespace(context={}))

    async def lazy() -> None:
        await run(args)

    return lazy


async def _until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.005)


def test_work_waiting_off_the_loop_leaves_the_slots_to_other_work(sqlite_store: Store) -> None:
    async def scenario() -> None:
        box = Inbox(sqlite_store, lease=timedelta(seconds=30))
        written = asyncio.Event()
        waiting: list[int] = []
        home_shown = asyncio.Event()

        async def answered() -> None:
            async with box.aside():  # waiting for its group write
                waiting.append(1)
                await written.wait()

        async def home() -> None:
            home_shown.set()

        answers = [asyncio.create_task(_lazy(box, answered)()) for _ in range(inbox.WORKING + 3)]
        # Every answer reaches its write, not only the first WORKING.
        await _until(lambda: len(waiting) == inbox.WORKING + 3)
        # And a clinician opening App Home meanwhile is not kept waiting behind them.
        shown = asyncio.create_task(_lazy(box, home)())
        await asyncio.wait_for(home_shown.wait(), 2.0)
        await shown
        written.set()
        await asyncio.gather(*answers)
        assert box.working._value == inbox.WORKING  # every slot given back
        assert not box.slot_holders

    asyncio.run(scenario())


def test_work_back_on_the_loop_stays_within_the_slots(sqlite_store: Store) -> None:
    async def scenario() -> None:
        box = Inbox(sqlite_store, lease=timedelta(seconds=30))
        on_loop = 0
        most = 0

        async def answered() -> None:
            nonlocal on_loop, most
            async with box.aside():
                await asyncio.sleep(0.01)
            on_loop += 1  # back on the loop (App Home after a save): in a slot
            most = max(most, on_loop)
            await asyncio.sleep(0.02)
            on_loop -= 1

        await asyncio.gather(*(_lazy(box, answered)() for _ in range(4 * inbox.WORKING)))
        assert most == inbox.WORKING
        assert box.working._value == inbox.WORKING

    asyncio.run(scenario())


def test_work_cancelled_while_waiting_for_its_slot_back_loses_no_slot(
    sqlite_store: Store,
) -> None:
    async def scenario() -> None:
        box = Inbox(sqlite_store, lease=timedelta(seconds=30))
        release = asyncio.Event()
        parked: list[int] = []

        async def hog() -> None:  # holds a slot on the loop until released
            await release.wait()

        async def answered() -> None:
            async with box.aside():
                parked.append(1)
                await asyncio.sleep(0.01)

        answers = [asyncio.create_task(_lazy(box, answered)()) for _ in range(3)]
        await _until(lambda: len(parked) == 3)
        hogs = [asyncio.create_task(_lazy(box, hog)()) for _ in range(inbox.WORKING)]
        await asyncio.sleep(0.05)  # the answers now wait for a slot back, all taken
        assert all(not t.done() for t in answers)
        for t in answers:
            t.cancel()
        await asyncio.gather(*answers, return_exceptions=True)
        release.set()
        await asyncio.gather(*hogs)
        assert box.working._value == inbox.WORKING
        assert not box.slot_holders

    asyncio.run(scenario())
