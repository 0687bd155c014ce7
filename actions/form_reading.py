"""Reading the clinician's message for the form: what this turn says (`understand`, read
once a turn), what the Rasa event history says was already answered or missed, and the
words the form shows its values in."""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeGuard
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import (
    extraction,
    hours,
    week_words,
)
from actions.context import services
from actions.extraction.intents import refusal
from dialogue.domain import CONTROL_INTENTS, load_domain, parse_payload
from dialogue.domain import FORM as FORM_NAME
from dialogue.slots import decoded, read_date, read_money, read_time
from ground.channel import Channel
from ground.formatting import clock, money, phone, zone_label
from ground.jsontypes import JSON

MISSES_BEFORE_HELP = 3  # as the embedded runner (dialogue/runner.py)


KEEP_WORDS = {"ok", "okay", "yes", "y", "keep", "same", "default", "fine", "that's fine", "sure"}


NONE_WORDS = {"none", "no", "nothing", "no documents", "no package", "skip", "n/a"}


SAME_ZONE_WORDS = KEEP_WORDS | {"mine", "my zone", "same as me", "same as mine", "local"}


SLOT_LABELS = {
    "date": "Date",
    "time": "Time",
    "participant": "Participant",
    "invite_channel": "Invitation",
    "email": "E-mail",
    "phone": "Phone",
    "participant_tz": "Participant's time zone",
    "documents": "Documents",
    "payment_required": "Payment",
    "service": "Service",
    "amount": "Amount",
}


MERIDIEM_WORDS = {
    **dict.fromkeys(("pm", "p.m", "p.m.", "afternoon", "in the afternoon", "evening",
                     "in the evening", "at night", "i meant pm", "pm please"), "pm"),
    **dict.fromkeys(("am", "a.m", "a.m.", "morning", "in the morning", "i meant am",
                     "am please"), "am"),
}  # fmt: skip


def error(
    dispatcher: CollectingDispatcher, text: str, buttons: list[dict[str, JSON]] | None = None
) -> None:
    """One error message; a close call carries its readings as buttons."""
    dispatcher.utter_message(text=text, buttons=buttons or [], custom={"kind": "error"})


def choice_buttons(slot: str, choices: Iterable[tuple[str, JSON]]) -> list[dict[str, JSON]]:
    """Buttons that answer the slot with one reading each (a Rasa `/inform` payload)."""
    return [
        {"title": str(title), "payload": "/inform" + json.dumps({slot: value})}
        for title, value in choices
    ]


def readings(raw: JSON) -> list[tuple[str, JSON]]:
    """The readings offered for a slot as a reading keeps them: [label, value] pairs."""
    pairs = raw if isinstance(raw, list) else []
    return [(str(p[0]), p[1]) for p in pairs if isinstance(p, list) and len(p) == 2]


def buttons_of(raw: JSON) -> list[dict[str, JSON]]:
    """The buttons kept with a refused value ({"invalid": why, "choices": buttons})."""
    return [b for b in raw if isinstance(b, dict)] if isinstance(raw, list) else []


def texts(raw: JSON) -> list[str]:
    """A reading's list of words or sentences (its `notes`, its `unread` words)."""
    return [t for t in raw if isinstance(t, str)] if isinstance(raw, list) else []


def shown(slot: str, value: JSON) -> str:
    """A slot value in words, as the summary and the acknowledgements say it."""
    practice = services().practice
    if value is None:
        return "none"
    if slot == "date":
        return read_date(value).strftime("%A, %B %-d")
    if slot == "time":
        return clock(read_time(value))
    if slot == "invite_channel":
        return Channel.said_of(value)
    if slot == "phone":
        return phone(str(value))
    if slot == "participant_tz":
        return zone_label(str(value))
    if slot == "documents":
        package = practice.package(str(value))
        return package.name if package else "none"
    if slot == "service":
        service = practice.service(str(value))
        return service.name if service else str(value)
    if slot == "amount":
        return money(read_money(value), practice.currency)
    if slot == "payment_required":
        return "required" if value else "not required"
    return str(value)


def clinician_now(tracker: Tracker) -> datetime:
    tz = services().practice.zone_of(tracker.get_slot("clinician_tz"))
    return datetime.now(ZoneInfo(tz))


@dataclass
class TurnMemo:
    """What one run of the form's validation action has worked out, kept for that run
    only (our own object: nothing is stored on rasa-sdk's Tracker)."""

    found: dict[str, JSON] | None = None  # the latest message, read once
    before: dict[str, JSON] = field(default_factory=dict)  # the slots before validation
    noted: bool = False  # the reading's notes said
    contact_looked_up: bool = False  # the known contact named, looked up once:
    contact: str | None = None
    acked: set[str] = field(default_factory=set)  # slots whose change was said


TURN: contextvars.ContextVar[TurnMemo | None] = contextvars.ContextVar("turn", default=None)


def memo() -> TurnMemo:
    """This run's memo; outside a run (another action), a fresh one that keeps nothing."""
    return TURN.get() or TurnMemo()


def understand(tracker: Tracker) -> dict[str, JSON]:
    """Slot -> value (or {"invalid": message}) found in the latest message."""
    cached = memo().found
    if cached is not None:
        return cached
    latest = tracker.latest_message or {}
    found: dict[str, JSON] = {}
    if latest.get("sessionbot_nlu"):
        # The embedded runner's NLU: its entities are already our own reading.
        found = week_words.found_in(latest.get("entities") or [])
    elif fresh_message(tracker):
        found = read_rasa_message(tracker, latest)
    _attach_choices(found)
    memo().found = found
    return found


def _attach_choices(found: dict[str, JSON]) -> None:
    """Readings offered for a refused value go with its error; others are offers."""
    offers = found.get("choices")
    entries = offers if isinstance(offers, list) else [offers] if offers else []
    remaining: list[JSON] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        slot, choices = entry.get("slot"), entry.get("choices") or []
        refused = found.get(slot) if isinstance(slot, str) else None
        if isinstance(slot, str) and is_invalid(refused):
            refused["choices"] = [*choice_buttons(slot, readings(choices))]
        else:
            remaining.append({"slot": slot, "choices": choices})
    found["choices"] = remaining


# The slots a message can answer (what our reading finds besides them, like a change
# request, is not an answer).
ANSWER_SLOTS = frozenset(load_domain()["forms"][FORM_NAME]["required_slots"]) | {"contact_id"}


# What a Rasa server's own actions run between the message and the form's validation.
# ("action_hold" hands a message it finds no refusal in to the form: see actions/hold.py.)
_BETWEEN_MESSAGE_AND_FORM = {"action_listen", "action_extract_slots", FORM_NAME, "action_hold"}


def answered_before(tracker: Tracker) -> list[EventType]:
    """A Rasa message that is no control word counts as an answer, even when it gave nothing.

    Rasa's form rejects a turn that set no slot and leaves the next step to the rules;
    a rule exists for each control word, but after an answer the bot cannot use ("yes"
    to the date) no rule fits, and a rejected form waits for a rule that never comes: the
    conversation would go silent. Setting the asked slot to what it already holds keeps
    the form in charge, and it asks again (as the embedded runner does).
    """
    latest = tracker.latest_message or {}
    requested = tracker.get_slot("requested_slot")
    if latest.get("sessionbot_nlu") or not requested or not fresh_message(tracker):
        return []
    if is_control(intent_of(latest), str(latest.get("text") or "")):
        return []
    return [SlotSet(str(requested), tracker.get_slot(str(requested)))]


def intent_of(latest: Mapping[str, JSON]) -> str:
    """The intent's name in a tracker's latest message ("" when none)."""
    intent = latest.get("intent")
    return str(intent.get("name") or "") if isinstance(intent, dict) else ""


def is_control(intent: str, text: str) -> bool:
    """Whether a Rasa intent is a control word for these words: a classifier's "hold" for
    words our reading finds no refusal in (a dictated booking) is an answer."""
    if intent == "hold":
        return refusal(text) is not None
    return intent in CONTROL_INTENTS


def fresh_message(tracker: Tracker) -> bool:
    """Whether the latest message is still to be read (a Rasa tracker).

    The form also runs after a rule's steps ("help", "back", "start over"); by then the
    message was answered by those steps, and reading its words again would fill slots
    with them. So it is read only when nothing but Rasa's own form machinery ran since.
    """
    events = [e for e in tracker.events or [] if isinstance(e, dict)]
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=None)
    if last_user is None:
        return bool((tracker.latest_message or {}).get("text"))
    for event in events[last_user + 1 :]:
        kind = event.get("event")
        if kind == "action" and event.get("name") not in _BETWEEN_MESSAGE_AND_FORM:
            return False
        if kind in ("rewind", "undo", "restart", "reset_slots", "bot"):
            return False
    return True


def _reading(tracker: Tracker, text: str, requested: str | None) -> dict[str, JSON]:
    practice = services().practice
    now = clinician_now(tracker)
    result = week_words.read(
        text,
        now,
        lambda words: extraction.extract(
            words,
            now=now,
            default_region=practice.default_region,
            packages={p.key: p.name for p in practice.documents},
            services={s.key: s.name for s in practice.services},
            requested_slot=requested,
            working_hours=hours.tracker_bounds(tracker),
            participant_zone=decoded("participant_tz", tracker.get_slot("participant_tz")),
        ),
    )
    return result.found()


def read_rasa_message(tracker: Tracker, latest: Mapping[str, JSON]) -> dict[str, JSON]:
    """A message as a Rasa server parsed it, read with our own extraction too.

    A button payload (`/inform{"documents":"intake"}`) carries our own values: taken as
    they are. Typed text is read whole by our extraction (an entity Rasa found never
    stops the rest of the words from being read); then each entity Rasa marked for a slot
    our reading left empty (no value, no problem) is read again on its own, as the answer
    to that slot, so its value is understood and checked the same way; unless those words
    read as another slot by themselves.
    """
    text = str(latest.get("text") or "")
    intent = intent_of(latest)
    given = latest.get("entities")
    entities = [e for e in given if isinstance(e, dict)] if isinstance(given, list) else []
    if parse_payload(text) is not None:
        return {str(e["entity"]): e.get("value") for e in entities if e.get("entity")}
    if is_control(intent, text) or not text.strip():
        return {}
    requested = tracker.get_slot("requested_slot")
    found = _reading(tracker, text, requested)
    for entity in entities:
        name, value = entity.get("entity"), entity.get("value")
        if not isinstance(name, str) or not isinstance(value, str) or name in found:
            continue
        if name == "slot":
            found["slot"] = value
            continue
        start, end = entity.get("start"), entity.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            continue
        # Each span fills one slot at most: words our reading used for another slot
        # ("December" of "December 3") are not a participant, whatever Rasa's tagger
        # thought. Without them the rest must read the same.
        without = _reading(tracker, f"{text[:start]} {text[end:]}", requested)
        if any(without.get(k) != v for k, v in found.items() if k in ANSWER_SLOTS):
            continue
        alone = _reading(tracker, text[start:end], name).get(name)
        if alone is not None and not is_invalid(alone):
            found[name] = alone
    return found


def unread_left_to_the_error(dispatcher: CollectingDispatcher) -> None:
    """When the answer was refused, the refusal says what to give: the words not
    understood are not said a second time ("I didn't understand “blah”" + "I couldn't
    read that as a date")."""
    messages = dispatcher.messages
    if any((m.get("custom") or {}).get("kind") == "error" for m in messages):
        messages[:] = [m for m in messages if not str(m.get("text") or "").startswith(UNREAD)]


UNREAD = "I didn't understand “"


def misses_before(tracker: Tracker, slot: str) -> int:
    """How many turns in a row before this one answered `slot`'s question with an error.

    Read from a Rasa tracker's events the way the embedded runner counts: turns at other
    questions and control words ("help") leave the count alone; an answer that went
    through, the end of the form or a new draft ends it.
    """
    turns: list[_Turn] = []
    requested: JSON = None
    current: _Turn | None = None
    for event in (e for e in tracker.events or [] if isinstance(e, dict)):
        kind = event.get("event")
        if kind == "user":
            if current is not None:
                current.after = requested
                turns.append(current)
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            current = _Turn(intent=intent, at=requested)
        elif kind == "slot" and event.get("name") == "requested_slot":
            requested = event.get("value")
        elif kind == "bot" and current is not None:
            custom = (event.get("data") or {}).get("custom") or {}
            current.error = current.error or custom.get("kind") == "error"
        elif kind in ("restart", "reset_slots"):
            requested = None
    count = 0
    for turn in reversed(turns):  # the latest user event is this very turn: not among them
        if turn.after is None or turn.intent in ("cancel", "start_over"):
            break
        if turn.at != slot:
            continue
        if turn.error and turn.after == slot:
            count += 1
        elif turn.intent not in CONTROL_INTENTS:
            break
    return count


@dataclass
class _Turn:
    """One user turn of a Rasa tracker, as `misses_before` counts it: its intent, the
    question asked when it came and after it, and whether it was answered with an error."""

    intent: JSON
    at: JSON
    after: JSON = None
    error: bool = False


def drop_unchanged_candidates(tracker: Tracker) -> None:
    """Forget the slot candidates that only repeat what the draft already held.

    When the form starts again (a correction at the summary), Rasa hands its validation
    every slot already filled as a candidate; validating those as if just given would
    acknowledge each one as a change. A candidate is kept only when its value differs
    from the slot's value before the clinician's latest message.
    """
    events = tracker.events
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=None)
    if last_user is None:
        return
    before: dict[str, JSON] = {}
    for event in events[:last_user]:
        if event.get("event") == "slot":
            before[str(event.get("name"))] = event.get("value")
        elif event.get("event") in ("restart", "reset_slots"):
            before = {}
    first = len(events)
    while first > last_user + 1 and events[first - 1].get("event") == "slot":
        first -= 1
    kept = [e for e in events[first:] if before.get(str(e.get("name"))) != e.get("value")]
    tracker.events = events[:first] + kept


def is_invalid(value: JSON) -> TypeGuard[dict[str, JSON]]:
    """A value its reading refused: {"invalid": why}, with readings to choose from."""
    return isinstance(value, dict) and "invalid" in value
