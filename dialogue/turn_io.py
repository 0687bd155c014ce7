"""What a dialogue turn takes in and gives back: who is talking (`Who`), what the message
says (`Understanding`, made by an `NLU`) and the reply (`Reply`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from dialogue.domain import (
    BotMessage,
)


class Understanding(Protocol):
    """What NLU found in a message: an intent, a slot to change, the slot values, and
    all of it as the entities of Rasa's parse data (JSON, as a tracker keeps it)."""

    @property
    def intent(self) -> str | None: ...

    @property
    def change(self) -> str | None: ...

    def slots(self) -> dict[str, object]: ...

    def entities(self) -> list[dict[str, Any]]: ...


# (text, now in the clinician's zone, the slot asked for, the draft's participant zone)
# text, now, the slot asked, the draft's participant zone, the clinician's own hours spec
NLU = Callable[[str, datetime, "str | None", "str | None", "str | None"], Understanding]


@dataclass(frozen=True)
class Who:
    """The clinician talking: their workspace, their user id and what Slack knows of them."""

    team_id: str
    user_id: str
    tz: str | None = None
    display_name: str | None = None
    for_user: str | None = None  # a staff member booking for this clinician (roles)

    @property
    def sender_id(self) -> str:
        if self.for_user and self.for_user != self.user_id:
            return f"{self.team_id}:{self.user_id}>{self.for_user}"
        return f"{self.team_id}:{self.user_id}"


@dataclass
class Reply:
    messages: list[BotMessage] = field(default_factory=list)
    duplicate: bool = False
    phase: str = "idle"
    requested_slot: str | None = None
    saved_session_id: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.messages)
