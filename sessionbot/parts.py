"""What a process is made of, handed to the faces (Slack, the page, the webhooks).

Built once at the edge by `sessionbot.wiring.build`; the layers below take it as it is
and never build or read settings themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dialogue.runner import Reply, Runner, Who
from sessionbot.practice import Practice
from sessionbot.settings import Settings
from store.db import Store


class TurnService(Protocol):
    """Dialogue turns elsewhere than the calling thread (`sessionbot.turns`)."""

    async def warm_up(self) -> None: ...

    async def handle(self, who: Who, text: str, turn_id: str | None) -> Reply: ...

    def close(self) -> None: ...


@dataclass
class Parts:
    settings: Settings
    store: Store
    practice: Practice
    runner: Runner
    # The web process's turns in worker processes (`sessionbot serve`); None: in threads.
    turns: TurnService | None = None
