"""The embedded form runner: Rasa's form loop for domain.yml, one turn at a time.

A turn is one unit of work on the store: the clinician's row is locked, the tracker is
loaded, the message is understood (NLU), the form's validation action runs through
rasa-sdk's executor with the payload a Rasa server would send, the returned events are
applied, the next question is asked, and the tracker is saved, all in one transaction.
So a restart loses nothing, a retried turn is recognised, and two turns of one
clinician never interleave.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol, TypeVar

import rasa_sdk
from rasa_sdk.events import EventType
from sqlalchemy.orm import Session

from dialogue.domain import (
    FORM,
    BotMessage,
    load_domain,
)
from dialogue.domain import render_response as render
from dialogue.tracker import Held, TrackerState
from dialogue.turn import Turn
from dialogue.turn_io import NLU, ParseData, Reply, Who
from ground.jsontypes import JSON
from store import clinician_rows, slack_rows
from store import roles as store_roles
from store.db import Store

# The longest message the bot tries to understand: a scheduling answer is a line or two,
# and reading is linear in the length, but a 100,000-character paste still costs CPU that
# other clinicians' turns are waiting for.
MAX_MESSAGE_CHARS = 4000


_loops = threading.local()


T = TypeVar("T")


def _run(coro: Coroutine[object, object, T]) -> T:
    """Run a coroutine on this thread's own loop (cheaper than asyncio.run per call)."""
    loop = getattr(_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = _loops.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coro)


class Executed(Protocol):
    """What running an action gives back (rasa-sdk's `ActionExecutorRunResult`)."""

    @property
    def events(self) -> list[EventType]: ...

    @property
    def responses(self) -> list[dict[str, JSON]]: ...


class Executor(Protocol):
    """What the runner needs of rasa-sdk's `ActionExecutor` (or of anything that runs an
    action call as a Rasa server sends it, such as a benchmark's webhook client)."""

    async def run(self, action_call: dict[str, object]) -> Executed | None: ...


# The clinician's own zone, asked once before anything else when Slack gives none.
ZoneReader = Callable[[str], "tuple[str, str] | None"]  # text -> (IANA zone, its label)


@dataclass(frozen=True)
class ZoneGate:
    """What asking the clinician's own zone decided: the zone once known, the held
    message to go on with, and what to say (the question, or the thanks)."""

    zone: str | None = None
    pending: str | None = None
    question: BotMessage | None = None


class Runner:
    """Carries conversations for any number of clinicians over one store."""

    def __init__(
        self,
        store: Store,
        executor: Executor,
        nlu: NLU,
        *,
        default_tz: str = "America/New_York",
        read_zone: ZoneReader | None = None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.nlu = nlu
        self.default_tz = default_tz
        self.read_zone = read_zone
        self.domain = load_domain()

    # The turn ------------------------------------------------------------------------

    def handle(
        self,
        who: Who,
        text: str,
        *,
        turn_id: str | None = None,
        reply_to: Mapping[str, JSON] | None = None,
        preface: Sequence[BotMessage] = (),
        settle_since: datetime | None = None,
        acting: bool = False,
    ) -> Reply:
        """One clinician message in, the bot's messages out; saved before returning.

        With `reply_to` (where the face posts it), the answer (`preface` and the turn's
        messages) is recorded with the turn, in its transaction, for the face to deliver,
        and the reply carries every answer to this clinician still to post, this one
        included, oldest first (`Reply.pending`). With `settle_since`, nothing is run
        (`Reply.settling`) while an answer another turn recorded since then is still being
        posted by its process: the face waits and asks again (bot/delivery.py, `settle`).
        `acting`: `who` is the user as the face knows them; the clinician a staff member
        works for now is read here, in the turn's transaction (`Reply.for_user`)."""
        with self.store.unit() as s:
            if settle_since is not None and slack_rows.replies_in_flight(
                s, who.team_id, who.user_id, besides=turn_id or "", since=settle_since
            ):
                return Reply(settling=True)
            if acting:
                clinician_user = store_roles.acting_for(s, who.team_id, who.user_id)
                who = replace(who, for_user=clinician_user)
            clinician, saved = clinician_rows.open_conversation(
                s,
                who.team_id,
                who.user_id,
                tz=who.tz,
                display_name=who.display_name,
                dm_channel=who.dm_channel,
            )
            state = self._state(saved, who)
            if state.seen(turn_id):
                return Reply(
                    duplicate=True,
                    phase=state.phase,
                    pending=self._pending(s, who, reply_to),
                    for_user=who.for_user,
                )
            tz = clinician.tz or who.tz or self.default_tz
            turn = Turn(self, state, who, tz)
            turn.own_hours = clinician.working_hours
            turn.undelivered = lambda shown: slack_rows.reply_undelivered(s, shown)
            if len(text) > MAX_MESSAGE_CHARS:
                turn._say("utter_too_long", length=f"{len(text):,}", limit=f"{MAX_MESSAGE_CHARS:,}")
            else:
                with self.store.bound(s):
                    turn.run(text)
            state.remember(turn_id)
            if turn_id and any(m.kind == "summary" for m in turn.messages):
                state.summary_turn = turn_id
            clinician_rows.save_tracker(s, clinician.id, state.to_json())
            answer = [*preface, *turn.messages]
            if reply_to is not None and turn_id and answer:
                body = {"to": dict(reply_to), "messages": [m.to_dict() for m in answer]}
                slack_rows.reply_record(
                    s, turn_id, who.team_id, who.user_id, json.dumps(body, separators=(",", ":"))
                )
            pending = self._pending(s, who, reply_to)
        return Reply(
            messages=turn.messages,
            phase=state.phase,
            requested_slot=state.requested_slot,
            saved_session_id=turn.saved_session_id,
            pending=pending,
            for_user=who.for_user,
        )

    @staticmethod
    def _pending(
        s: Session, who: Who, reply_to: Mapping[str, JSON] | None
    ) -> list[tuple[str, str]]:
        """The clinician's recorded answers still to post (turn id, body), for a face that
        posts them (`reply_to`); read in the turn's transaction, saving the face a trip."""
        if reply_to is None:
            return []
        return slack_rows.replies_pending(s, who.team_id, who.user_id)

    def own_zone(
        self, who: Who, text: str, turn_id: str, *, reply_to: Mapping[str, JSON] | None = None
    ) -> ZoneGate:
        """Hold the first message while the clinician's own zone is asked; take the answer.

        For a face that knows no zone for the clinician (Slack's profile may have none).
        The held message waits in the clinician's tracker (encrypted, shared by every
        process), and the turn ids are recorded there, so a retry is still done once.
        With `reply_to`, a question asked (the zone still unknown) is recorded as the
        turn's answer, as `handle` records its own.
        """
        with self.store.unit() as s:
            clinician = clinician_rows.get_clinician(s, who.team_id, who.user_id, lock=True)
            if clinician.tz:  # told meanwhile (another process, another click)
                return ZoneGate(zone=clinician.tz)
            state = self._state(clinician_rows.load_tracker(s, clinician.id), who)
            if state.seen(turn_id):
                return ZoneGate()
            state.remember(turn_id)
            held = state.held
            asked = "utter_ask_own_zone" if held is None else "utter_own_zone_again"
            gate = ZoneGate(question=render(asked, {}))
            if held is None:
                state.held = Held(text=text, turn_id=turn_id)
            else:
                found = self.read_zone(text) if self.read_zone else None
                if found is not None:
                    zone, label = found
                    clinician.tz = zone
                    state.held = None
                    thanks = render("utter_own_zone_thanks", {"zone_label": label})
                    gate = ZoneGate(zone=zone, pending=held.text, question=thanks)
            clinician_rows.save_tracker(s, clinician.id, state.to_json())
            if reply_to is not None and gate.zone is None and gate.question is not None:
                body = {"to": dict(reply_to), "messages": [gate.question.to_dict()]}
                slack_rows.reply_record(
                    s, turn_id, who.team_id, who.user_id, json.dumps(body, separators=(",", ":"))
                )
            return gate

    def state_of(self, who: Who) -> TrackerState | None:
        with self.store.unit() as s:
            clinician = clinician_rows.get_clinician(s, who.team_id, who.user_id)
            saved = clinician_rows.load_tracker(s, clinician.id)
            return None if saved is None else self._state(saved, who)

    def _state(self, saved: Mapping[str, JSON] | None, who: Who) -> TrackerState:
        if saved is None:
            return TrackerState(sender_id=who.sender_id)
        return TrackerState.from_json(saved, who.sender_id)

    # Calling actions the way a Rasa server does ------------------------------------------

    def call_action(
        self,
        name: str,
        state: TrackerState,
        latest: ParseData,
        extracted: dict[str, JSON] | None = None,
    ) -> tuple[list[EventType], list[dict[str, JSON]]]:
        """Run an action with the payload a Rasa server sends; `extracted` are the slots
        Rasa's action_extract_slots set from the message just before (as SlotSet events
        after the user's, which the form's validation then validates)."""
        slot_events = [
            {"event": "slot", "name": k, "value": v} for k, v in (extracted or {}).items()
        ]
        tracker = {
            "sender_id": state.sender_id,
            "slots": {**state.slots, **(extracted or {})},
            "latest_message": latest,
            "events": [
                {"event": "user", "text": latest.get("text"), "parse_data": latest},
                *slot_events,
            ],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": FORM} if state.phase != "idle" else {},
            "latest_action_name": "action_listen",
        }
        payload: dict[str, object] = {
            "next_action": name,
            "sender_id": state.sender_id,
            "tracker": tracker,
            "domain": self.domain,
            "version": rasa_sdk.__version__,
        }
        result = _run(self.executor.run(payload))
        if result is None:
            return [], []
        return list(result.events), list(result.responses)
