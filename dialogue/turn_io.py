"""What a dialogue turn takes in and gives back: who is talking (`Who`), what the message
says (`Understanding`, made by an `NLU`), the reply (`Reply`) and what a face posts of
it (`TurnWork`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, Required, TypedDict

from dialogue.domain import (
    BotMessage,
)
from ground.jsontypes import JSON


class Entity(TypedDict, total=False):
    """One entity of Rasa's parse data: a value read from the message (named for its
    slot), a note of the reading (`slot` to change, `notes`, `unread`, `choices`...), or a
    refused value with why (`error`)."""

    entity: Required[str]
    value: JSON
    error: str


class Intent(TypedDict, total=False):
    name: Required[str]
    confidence: float


class ParseData(TypedDict, total=False):
    """A message understood, as a Rasa server's NLU hands it on (a tracker's
    `latest_message`); with no text when the runner asks a question by itself."""

    text: Required[str | None]
    intent: Required[Intent]
    entities: Required[list[Entity]]
    sessionbot_nlu: bool  # understood by our own NLU, not a Rasa server's
    sessionbot_held: bool  # "wait, make it 4pm": a change, and not saved


class Understanding(Protocol):
    """What NLU found in a message: an intent, a slot to change, the slot values, and
    all of it as the entities of Rasa's parse data (JSON, as a tracker keeps it)."""

    @property
    def intent(self) -> str | None: ...

    @property
    def change(self) -> str | None: ...

    def slots(self) -> dict[str, object]: ...

    def entities(self) -> list[Entity]: ...


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
    dm_channel: str | None = None  # their DM with the bot, as Slack gave it: kept by the turn

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
    # With a face's `reply_to`: its recorded answers still to post (turn id, JSON body).
    pending: list[tuple[str, str]] = field(default_factory=list)
    settling: bool = False  # nothing run: an earlier answer is still being posted
    for_user: str | None = None  # with `acting`: the clinician a staff member works for

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.messages)


@dataclass(frozen=True)
class TurnAsk:
    """A face's message for a turn, with where its answer goes (`reply_to`: channel,
    thread_ts) and what to say first (`preface`). `settle_since`: run nothing while an
    answer recorded since then by another turn is still being posted (`Reply.settling`).
    Made by the face, run by `bot.turn_work.run` in its thread or a turn process."""

    who: Who
    text: str
    turn_id: str
    reply_to: Mapping[str, JSON]
    preface: tuple[BotMessage, ...] = ()
    settle_since: datetime | None = None


@dataclass(frozen=True)
class Batch:
    """One chat message of an answer: its fallback text and its blocks, as JSON (made by
    the face, `bot.turn_work`)."""

    text: str
    blocks: list[dict[str, JSON]]


@dataclass(frozen=True)
class Answer:
    """A recorded answer that Slack has not taken yet, ready to post."""

    turn_id: str
    channel: str
    thread_ts: str | None
    batches: list[Batch]


@dataclass(frozen=True)
class TurnWork:
    """What a face needs after a turn (`bot.turn_work.run`). `reply` None: nothing was
    run, as an earlier answer to this clinician is still being posted by another process."""

    reply: Reply | None
    answers: list[Answer]
    who: Who  # with the clinician a staff member works for, if staff
