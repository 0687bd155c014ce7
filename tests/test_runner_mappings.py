"""The embedded runner follows dialogue/domain.yml's slot mappings as Rasa does, so a
changed mapping changes both paths alike (Rasa's action_extract_slots runs them before the
form; the form's validation then checks what they set)."""

from __future__ import annotations

import copy
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from rasa_sdk.types import DomainDict

from dialogue.domain import FORM
from dialogue.turn_io import Who
from sessionbot.wiring import Parts


class GuessZone(Action):
    """A mapping's own action: every message says the participant is in London."""

    calls = 0

    def name(self) -> str:
        return "action_guess_zone"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        GuessZone.calls += 1
        return [SlotSet("participant_tz", "Europe/London")]


def with_mappings(parts: Parts, **mappings: list[dict[str, object]]) -> Parts:
    domain = copy.deepcopy(parts.runner.domain)
    for slot, slot_mappings in mappings.items():
        domain["slots"][slot]["mappings"] = slot_mappings
    domain["actions"] = [*domain["actions"], "action_guess_zone"]
    parts.runner.domain = domain
    executor = parts.runner.executor
    assert isinstance(executor, ActionExecutor)
    executor.register_action(GuessZone())
    return parts


def test_the_domain_as_shipped_validates_once_a_turn(chat, clock) -> None:
    chat.say("tomorrow")
    reply = chat.say("3pm")
    assert reply.text == "Who is the session with? Type a name or initials."


def test_a_custom_mapping_with_an_action_is_run_before_the_form(parts, clock) -> None:
    active = [{"active_loop": FORM}]
    with_mappings(
        parts,
        participant_tz=[{"type": "custom", "action": "action_guess_zone", "conditions": active}],
    )
    who = Who("T_TEST", "U_MAP", tz="America/New_York")
    parts.runner.handle(who, "JD tomorrow 3pm no invitation")
    state = parts.runner.state_of(who)
    assert state.slots["participant_tz"] == "Europe/London"
    assert GuessZone.calls == 1  # once a turn, like Rasa's action_extract_slots


def test_a_from_intent_mapping_fills_its_slot(parts, clock) -> None:
    asked = [{"active_loop": FORM, "requested_slot": "invite_channel"}]
    with_mappings(
        parts,
        invite_channel=[
            {"type": "from_intent", "intent": "affirm", "value": "email", "conditions": asked},
            {"type": "custom", "conditions": [{"active_loop": FORM}]},
        ],
    )
    who = Who("T_TEST", "U_MAP2", tz="America/New_York")
    parts.runner.handle(who, "JD tomorrow 3pm")
    reply = parts.runner.handle(who, "yes")
    assert parts.runner.state_of(who).slots["invite_channel"] == "email"
    assert reply.text == "What's JD's e-mail address?"
