"""What a process is made of, handed to the faces (Slack, the page, the webhooks).

Built once at the edge by `sessionbot.wiring.build`; the layers below take it as it is
and never build or read settings themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from dialogue.runner import Runner
from dialogue.turn_io import TurnAsk, TurnWork
from ground.practice import Practice
from ground.settings import Settings
from scheduling.service import Scheduler
from store.db import Store


class TurnService(Protocol):
    """Dialogue turns elsewhere than the calling thread (`sessionbot.turns`)."""

    async def warm_up(self) -> None: ...

    async def work(self, ask: TurnAsk) -> TurnWork:
        """`bot.turn_work.run` elsewhere: the turn and the reads around it."""
        ...

    def problem(self) -> str | None:
        """Why turns cannot be served right now (for health); None when they can."""
        ...

    async def watch(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class Parts:
    settings: Settings
    store: Store
    practice: Practice
    runner: Runner
    # The web process's turns in worker processes (`sessionbot serve`); None: in threads.
    turns: TurnService | None = None
    # The scheduling rules' front door (one transaction a call), for every face.
    scheduler: Scheduler = field(init=False)

    def __post_init__(self) -> None:
        self.scheduler = Scheduler(self.store, self.practice, self.settings.public_url)
