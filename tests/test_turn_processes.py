"""Turn processes as the web process uses them (`sessionbot.turns.TurnProcesses`): a DM's
turn comes back with its answer ready to post; a worker killed while idle is replaced
alone; a call that cannot be sent fails at once and the next one is answered.

Spawned workers (as `serve`'s replacements are) on a SQLite store in a temporary folder;
`tests/test_replies.py` and `tests/test_stopping.py` drive the forked ones through a real
`sessionbot serve`."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings

from dialogue.turn_io import TurnAsk, Who
from sessionbot.turns import TurnProcesses
from sessionbot.wiring import build

TO = {"channel": "D_TURNS", "thread_ts": None}


def ask(user: str, text: str, turn_id: str, to: Mapping[str, Any] = TO) -> TurnAsk:
    return TurnAsk(Who("T_TURNS", user, tz="America/New_York"), text, turn_id, to)


def test_turns_are_answered_a_killed_idle_worker_is_replaced_alone(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    build(settings)  # the store made and migrated once, as `serve` does before its workers
    turns = TurnProcesses(settings, 2, log_level="WARNING")

    async def scenario() -> None:
        await turns.warm_up()
        assert turns.problem() is None
        first = await turns.work(ask("U_ONE", "schedule", "event:Ev1", TO))
        assert first.reply is not None and not first.reply.duplicate
        (answer,) = first.answers
        assert (answer.turn_id, answer.channel) == ("event:Ev1", "D_TURNS")
        assert answer.batches[0].blocks, "rendered to Block Kit in the turn process"
        # Slack's retry of the same event: found done, its answer still to post.
        again = await turns.work(ask("U_ONE", "schedule", "event:Ev1", TO))
        assert again.reply is not None and again.reply.duplicate
        assert [a.turn_id for a in again.answers] == ["event:Ev1"]

        pids = [w.process.pid for w in turns.workers]
        assert pids[0] is not None
        os.kill(pids[0], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not turns.broken():
            assert time.monotonic() < deadline, "the dead worker was not noticed"
            await asyncio.sleep(0.05)
        assert turns.problem() == "a turn process died; replacing it"
        # The other worker answers meanwhile.
        meanwhile = await turns.work(ask("U_TWO", "schedule", "event:Ev2", TO))
        assert meanwhile.reply is not None and meanwhile.answers
        await turns.heal()
        assert turns.problem() is None
        now = [w.process.pid for w in turns.workers]
        assert pids[1] in now and pids[0] not in now and len(now) == 2
        after = await turns.work(ask("U_THREE", "schedule", "event:Ev3", TO))
        assert after.reply is not None and after.answers

        # A call whose arguments cannot be sent fails at once; the next is answered.
        unsendable: dict[str, Any] = {"channel": lambda: 1}  # a function does not pickle
        with pytest.raises(Exception, match="pickle"):
            await turns.work(ask("U_FOUR", "schedule", "event:Ev4", unsendable))
        fine = await turns.work(ask("U_FOUR", "schedule", "event:Ev5", TO))
        assert fine.reply is not None and fine.answers

    try:
        asyncio.run(scenario())
    finally:
        turns.close(timeout=10)
    assert not any(w.process.is_alive() for w in turns.workers)
