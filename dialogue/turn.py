"""One turn of the embedded runner: the message understood, the control intents (cancel,
start over, back, help, change, save...) handled, the form's slots extracted and
validated by the same actions a Rasa server calls, and the next question asked."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rasa_sdk.events import EventType

from dialogue.domain import (
    CONTROL_INTENTS,
    FORM,
    BotMessage,
    SlotMapping,
    message_from_dispatch,
    parse_payload,
)
from dialogue.domain import render_response as render
from dialogue.tracker import TrackerState
from dialogue.turn_io import Entity, ParseData, Who
from ground.jsontypes import JSON

if TYPE_CHECKING:  # the runner makes turns; a turn only calls back into it
    from dialogue.runner import Runner


MISSES_BEFORE_HELP = 3


SUMMARY_UNSEEN = (
    "The summary may not have reached you, so nothing is saved yet. "
    "Please check it below, then press Save."
)


LIST_WORDS = {
    "sessions",
    "my sessions",
    "list",
    "list sessions",
    "upcoming",
    "upcoming sessions",
    "show sessions",
    "show my sessions",
    "what's scheduled",
    "schedule list",
    "dashboard",
}


# "change" with nothing said of what: the Change… button's words, typed.
CHANGE_WORDS = {"change", "edit", "change something", "i want to change something", "modify"}


# The intents the runner handles itself (`_on_<intent>`): the control intents and change.
HANDLED_INTENTS = CONTROL_INTENTS | {"change"}


# Our NLU's names for two of them; the domain's names keep clear of Rasa's built-in
# `restart` and `back` intents, which a Rasa server maps to its own default actions.
INTENT_NAMES = {"restart": "start_over", "back": "go_back"}


class Turn:
    """The work of one message: what the runner decides, step by step."""

    def __init__(self, runner: Runner, state: TrackerState, who: Who, tz: str) -> None:
        self.runner = runner
        self.state = state
        self.who = who
        self.tz = tz
        self.messages: list[BotMessage] = []
        self.saved_session_id: str | None = None
        self.own_hours: str | None = None  # the clinician's working hours ("at 7" reads them)
        # Whether a turn's recorded answer has not reached the clinician (see `handle`).
        self.undelivered: Callable[[str], bool] = lambda turn_id: False

    @property
    def slots(self) -> dict[str, JSON]:
        return self.state.slots

    @property
    def phase(self) -> str:
        return self.state.phase

    def run(self, text: str) -> None:
        text = text.strip()
        requested = self.state.requested_slot if self.phase == "form" else None
        if not text:
            self._say_empty(requested)
            return
        latest = self._understand(text, requested)
        intent = latest["intent"]["name"]
        handler = getattr(self, f"_on_{intent}", None) if intent in HANDLED_INTENTS else None
        if intent == "affirm" and self.phase in ("confirm", "idle"):
            handler = self._on_save  # "yes" to the summary; nothing to say yes to when idle
        if handler is not None:
            handler(latest)
        else:
            self._on_inform(latest)
            if latest.get("sessionbot_held") and self.phase == "confirm":
                self._say("utter_not_saved")  # "wait, make it 4pm": changed, and not saved

    # Understanding ------------------------------------------------------------------

    def _understand(self, text: str, requested: str | None) -> ParseData:
        payload = parse_payload(text)
        if payload is not None:
            intent, values = payload
            entities: list[Entity] = [{"entity": k, "value": v} for k, v in values.items()]
            return {
                "text": text,
                "intent": {"name": intent, "confidence": 1.0},
                "entities": entities,
                "sessionbot_nlu": True,
            }
        if " ".join(text.casefold().split()).rstrip(".!") in CHANGE_WORDS:
            return {
                "text": text,
                "intent": {"name": "change", "confidence": 1.0},
                "entities": [],
                "sessionbot_nlu": True,
            }
        if " ".join(text.casefold().split()).rstrip("?") in LIST_WORDS:
            return {
                "text": text,
                "intent": {"name": "list_sessions", "confidence": 1.0},
                "entities": [],
                "sessionbot_nlu": True,
            }
        now = datetime.now(ZoneInfo(self.tz))
        theirs = self.slots.get("participant_tz") if self.phase != "idle" else None
        found = self.runner.nlu(
            text, now, requested, theirs if isinstance(theirs, str) else None, self.own_hours
        )
        understood = found.entities()
        named: str | None = INTENT_NAMES.get(found.intent or "", found.intent)
        intent = named or ("change" if found.change else "inform")
        held = intent == "hold"
        if intent in ("save", "affirm", "hold") and found.slots():
            intent = "inform"  # "make it 4pm and save": the change is shown before any Save
        if intent == "deny" and self.phase == "confirm" and not found.slots():
            intent = "hold"  # "no" to the summary: nothing saved, and said so
        latest: ParseData = {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0},
            "entities": understood,
            "sessionbot_nlu": True,
        }
        if held and intent == "inform":
            latest["sessionbot_held"] = True
        return latest

    # Control intents -------------------------------------------------------------------

    def _on_cancel(self, latest: ParseData) -> None:
        if self.phase == "idle":  # "cancel my 3pm": the action asks about a saved session
            self._call("action_cancel", latest)
            return
        self._reset()
        self._say("utter_cancelled")

    def _on_start_over(self, latest: ParseData) -> None:
        self._reset()
        self._say("utter_restarted")
        self._start_form()
        self._ask_next()

    def _on_go_back(self, latest: ParseData) -> None:
        history = self.state.history
        if self.phase == "idle" or not history:
            self._say("utter_nothing_to_undo")
            if self.phase != "idle":
                self._ask_next()
            return
        previous = history.pop()
        # What the clinician last saw stays: the summary marks the lines "back" changed.
        previous["summary_shown"] = self.slots.get("summary_shown")
        self.state.slots = previous
        self.state.phase = "form"
        self._say("utter_went_back")
        self._continue_form()

    def _on_help(self, latest: ParseData) -> None:
        self._say("utter_help")
        if self.phase == "form":
            self._ask_next()
        elif self.phase == "confirm":
            self._show_summary()

    def _on_list_sessions(self, latest: ParseData) -> None:
        self._call("action_list_sessions", latest)
        if self.phase == "form":
            self._ask_next()

    def _on_schedule_next(self, latest: ParseData) -> None:
        # "same time next week": the action books it after the session just saved, or
        # says why not (a draft open, nothing saved); an open draft is asked on.
        events, _ = self._call("action_schedule_next", latest)
        # A session was booked: the caller refreshes what shows the clinician's sessions.
        booked = next((e["value"] for e in events if e.get("name") == "saved_session_id"), None)
        self.saved_session_id = booked or self.saved_session_id
        if self.phase == "form":
            self._ask_next()

    def _on_cancel_session(self, latest: ParseData) -> None:
        # A click on "cancel my 3pm"'s buttons: cancelled (the refund chosen) or kept.
        self._call("action_cancel_session", latest)
        if self.phase == "form":
            self._ask_next()

    def _on_set_agenda(self, latest: ParseData) -> None:
        self._call("action_set_agenda", latest)
        if self.phase == "form":
            self._ask_next()

    def _on_set_hours(self, latest: ParseData) -> None:
        self._call("action_set_hours", latest)
        if self.phase == "form":
            self._ask_next()

    def _on_change(self, latest: ParseData) -> None:
        slot = next((e["value"] for e in latest["entities"] if e["entity"] == "slot"), None)
        notes = ("slot", "notes", "unread", "choices")
        values = [e for e in latest["entities"] if e["entity"] not in notes]
        if self.phase == "idle":
            self._on_inform(latest)
            return
        if values:  # "change the time to 4pm": the new value is right there
            self._on_inform(latest)
            return
        if not isinstance(slot, str) or slot not in self._form_slots():
            self._say("utter_which_change")
            return
        self._snapshot()
        for name in self._dependents(slot):
            self.slots[name] = None
        self.state.phase = "form"
        self.slots["requested_slot"] = slot
        self.state.misses.pop(slot, None)
        self._ask(slot)

    def _on_hold(self, latest: ParseData) -> None:
        """ "don't save", "wait", "not yet", "don't cancel it": nothing done, said so."""
        self._call("action_hold", latest)
        if self.phase == "form":
            self._ask_next()

    def _on_save(self, latest: ParseData) -> None:
        if self.phase == "confirm":
            shown = self.state.summary_turn
            if shown and self.undelivered(shown):
                # The summary was never delivered: nothing is stored that was not seen.
                self.messages.append(BotMessage(SUMMARY_UNSEEN, custom={"kind": "error"}))
                self._show_summary()
                return
            draft = self.slots.get("draft_id")
            draft = draft if isinstance(draft, str) else None
            events, responses = self._call("action_save_session", latest)
            saved = next((e["value"] for e in events if e.get("name") == "saved_session_id"), None)
            if saved:
                self.saved_session_id = saved
                self._reset()
                self.state.last_saved = draft
                # What "same time next week" repeats (as a Rasa tracker keeps this slot).
                self.slots["saved_session_id"] = saved
            return
        if self.phase == "idle" and self.state.last_saved:
            self._say("utter_already_saved")
            return
        if self.phase == "form":
            # The save action says what is still missing (as it does for a Rasa assistant).
            self._call("action_save_session", latest)
            self._ask_next()
            return
        self._say("utter_nothing_to_save")

    # Filling the form ------------------------------------------------------------------

    def _on_inform(self, latest: ParseData) -> None:
        if self.phase == "idle":
            self._start_form(greet=not latest["entities"])
        else:
            self._snapshot()
        before = self.state.requested_slot if self.phase == "form" else None
        extracted = self._extract_slots(latest)
        events, _ = self._call("validate_schedule_form", latest, extracted)
        self._apply([{"event": "slot", "name": k, "value": v} for k, v in extracted.items()])
        self._apply(events)
        requested = self.state.requested_slot
        if requested is None:
            self.state.phase = "confirm"
            self.state.misses = {}
            self._show_summary()
            return
        self.state.phase = "form"
        if any(m.kind == "error" for m in self.messages):
            self._offer_again(requested)
            if before is not None and requested == before:
                misses = self.state.misses
                misses[before] = misses.get(before, 0) + 1
                if misses[before] % MISSES_BEFORE_HELP == 0:
                    self._say("utter_too_many_misses")
                    self._say(f"utter_formats_{before}")
            return
        self.state.misses.pop(before or "", None)
        self._ask(requested)

    def _extract_slots(self, latest: ParseData) -> dict[str, JSON]:
        """Rasa's action_extract_slots over the domain's slot mappings, before the form.

        Today every asked slot's mapping is `custom` with no action, so this finds
        nothing and the form's validation action reads the message, once. Were a mapping
        changed (`from_entity`, `from_intent`, `from_text`, or `custom` naming an action),
        the runner fills it as a Rasa server would, so both paths stay the same.
        """
        found: dict[str, JSON] = {}
        requested = self.state.requested_slot
        intent = (latest.get("intent") or {}).get("name")
        entities = latest.get("entities") or []
        actions_run: set[str] = set()
        for slot, spec in (self.runner.domain.get("slots") or {}).items():
            mappings: list[SlotMapping] = spec.get("mappings") or []
            for mapping in mappings:
                if not _conditions_hold(mapping, active=self.phase != "idle", requested=requested):
                    continue
                if not _intent_matches(mapping, intent):
                    continue
                kind = mapping.get("type")
                value: JSON
                if kind == "from_entity":
                    value = next(
                        (
                            e.get("value")
                            for e in entities
                            if e.get("entity") == mapping.get("entity") and not e.get("error")
                        ),
                        None,
                    )
                elif kind == "from_intent":
                    value = mapping.get("value")
                elif kind == "from_text":
                    value = latest.get("text")
                elif (
                    kind == "custom"
                    and isinstance(action := mapping.get("action"), str)
                    and action not in actions_run
                ):
                    actions_run.add(action)
                    events, _ = self._call(action, latest)
                    found.update(
                        {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
                    )
                    continue
                else:
                    continue
                if value is not None:
                    found[slot] = value
                    break
        return found

    def _offer_again(self, slot: str) -> None:
        """After an error, its message carries the question's choices or widget again
        (not the question's words: the error already says what to give), so a
        clinician who clicked can click again."""
        mark = len(self.messages)
        self._ask(slot)
        asked, self.messages[mark:] = self.messages[mark:], []
        offer = next((m for m in asked if m.buttons or m.custom.get("widget")), None)
        last = max(i for i, m in enumerate(self.messages) if m.kind == "error")
        if offer is not None and not self.messages[last].buttons:  # a close call keeps its own
            error = self.messages[last]
            self.messages[last] = BotMessage(
                error.text, offer.buttons, {**offer.custom, "kind": "error"}
            )

    def _continue_form(self) -> None:
        """Ask what is missing, or show the summary when nothing is."""
        quiet: ParseData = {
            "text": None,
            "intent": {"name": "ask"},
            "entities": [],
            "sessionbot_nlu": True,
        }
        events, _ = self._call("validate_schedule_form", quiet)
        self._apply(events)
        requested = self.state.requested_slot
        if requested is None:
            self.state.phase = "confirm"
            self._show_summary()
        else:
            self.state.phase = "form"
            self._ask(requested)

    def _start_form(self, *, greet: bool = True) -> None:
        self.state.phase = "form"
        self.state.history = []
        self.state.misses = {}
        self.state.last_saved = None
        self.slots.clear()
        self.slots["clinician_tz"] = self.tz
        self.slots["draft_id"] = uuid.uuid4().hex
        if greet:
            self._say("utter_greet")

    def _reset(self) -> None:
        self.state.phase = "idle"
        self.state.history = []
        self.state.misses = {}
        self.slots.clear()

    def _snapshot(self) -> None:
        self.state.snapshot()

    def _apply(self, events: list[EventType]) -> None:
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]

    def _form_slots(self) -> list[str]:
        return list(self.runner.domain["forms"][FORM]["required_slots"])

    def _dependents(self, slot: str) -> list[str]:
        """Changing a slot clears it, and the payment answers hang together."""
        if slot == "payment_required":
            return ["payment_required", "service", "amount"]
        if slot == "service":
            return ["service", "amount"]
        return [slot]

    def _ask_next(self) -> None:
        requested = self.state.requested_slot
        if requested is None:
            self._continue_form()
        else:
            self._ask(requested)

    def _ask(self, slot: str) -> None:
        action = f"action_ask_{slot}"
        if action in self.runner.domain.get("actions", []):
            self._call(action, {"text": None, "intent": {"name": "ask"}, "entities": []})
        else:
            self._say(f"utter_ask_{slot}", **self._labels())

    def _show_summary(self) -> None:
        self._call("action_show_summary", {"text": None, "intent": {"name": "ask"}, "entities": []})

    def _say_empty(self, requested: str | None) -> None:
        if requested:
            hint = "Please answer the question above, or say “help”."
        else:
            hint = "Say “schedule” to start a new session, or “help”."
        self._say("utter_empty", hint=hint)

    # Speaking ---------------------------------------------------------------------------

    def _labels(self) -> dict[str, JSON]:
        # Responses name only slots (as a Rasa server fills them); a value that needs work,
        # like the day in the time question, is said by an action.
        return dict(self.slots)

    def _say(self, response: str, **values: JSON) -> None:
        self.messages.append(render(response, {**self._labels(), **values}))

    def _call(
        self, name: str, latest: ParseData, extracted: dict[str, JSON] | None = None
    ) -> tuple[list[EventType], list[dict[str, JSON]]]:
        events, responses = self.runner.call_action(name, self.state, latest, extracted)
        values = self._labels()
        for raw in responses:
            self.messages.append(message_from_dispatch(raw, values))
        if name != "validate_schedule_form":
            self._apply(events)
        return events, responses


def _conditions_hold(mapping: SlotMapping, *, active: bool, requested: str | None) -> bool:
    """A mapping's `conditions` (any one of them), as Rasa reads them."""
    conditions = mapping.get("conditions")
    if not conditions:
        return True
    for condition in conditions:
        loop = condition.get("active_loop")
        if loop is not None and (not active or loop != FORM):
            continue
        if condition.get("requested_slot") not in (None, requested):
            continue
        return True
    return False


def _intent_matches(mapping: SlotMapping, intent: str | None) -> bool:
    def names(value: str | list[str] | None) -> list[str]:
        return [value] if isinstance(value, str) else list(value or [])

    wanted, unwanted = names(mapping.get("intent")), names(mapping.get("not_intent"))
    return (not wanted or intent in wanted) and intent not in unwanted
