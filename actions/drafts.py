"""A draft in the conversation: whose it is (the sender's clinician), its slots made and
cleared, what it still lacks, and the typed session once complete."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import needed, slot_table
from actions.context import actor_of_sender, sender_of, services
from dialogue.slots import spec_from_slots
from ground.jsontypes import JSON
from ground.session import SessionSpec
from ground.zones import COMMON_ZONE_CHOICES
from scheduling.service import Actor

# Messages that answer nothing: "back" never undoes them.
NO_ANSWER_INTENTS = {"help", "list_sessions", "save", "hold"}


# The zone question's buttons, from the one zone vocabulary.
COMMON_ZONES = COMMON_ZONE_CHOICES


def inform(slot: str, value: JSON) -> str:
    return "/inform" + json.dumps({slot: value}, separators=(",", ":"))


def button(title: str, payload: str) -> dict[str, str]:
    return {"title": title, "payload": payload}


def actor_of(tracker: Tracker) -> Actor:
    """The tracker's clinician as the scheduling service takes them (the sender was
    checked: an action that changes anything runs only for a sender naming a clinician)."""
    who = actor_of_sender(tracker.sender_id) if sender_of(tracker.sender_id) else None
    if who is None:
        raise ValueError("a conversation whose sender names no clinician")
    return who


def clinician_tz_of(tracker: Tracker) -> str:
    """The clinician's zone: the draft's, else the one stored for them, else the practice's."""
    ctx = services()
    given = tracker.get_slot("clinician_tz")
    if isinstance(given, str) and given:
        return given
    who = actor_of_sender(tracker.sender_id)
    stored = ctx.scheduler.clinician_view(who).tz if who else None
    return stored or ctx.practice.default_timezone


def new_draft_events(tracker: Tracker) -> list[EventType]:
    """A fresh draft: its own id (the idempotency key of its Save) and the clinician's zone."""
    return [
        SlotSet("draft_id", uuid.uuid4().hex),
        SlotSet("clinician_tz", clinician_tz_of(tracker)),
    ]


# The answers the summary shows (a change to any one is marked there).
SUMMARY_SLOTS = (
    "date",
    "time",
    "participant",
    "invite_channel",
    "email",
    "phone",
    "participant_tz",
    "documents",
    "payment_required",
    "service",
    "amount",
    "series",
    *slot_table.NAMES,
)


def clear_draft_events() -> list[EventType]:
    return [SlotSet(name, None) for name in DRAFT_SLOTS]


def missing_answers(slots: Mapping[str, JSON]) -> list[str]:
    """What the draft still lacks before it can be saved, in the form's words."""
    return needed.missing(slots, payments=services().payments_enabled)


def complete_draft(slots: Mapping[str, JSON]) -> SessionSpec | None:
    """The draft, or None while an answer is missing or unreadable (never an exception)."""
    if missing_answers(slots):
        return None
    try:
        return slot_table.applied(spec_from_slots(slots, services().practice), slots)
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return None


def error_said_this_turn(tracker: Tracker) -> bool:
    """Whether the form's validation already answered this message with an error."""
    events = [e for e in tracker.events or [] if isinstance(e, dict)]
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    return any(
        e.get("event") == "bot"
        and ((e.get("data") or {}).get("custom") or {}).get("kind") == "error"
        for e in events[last_user + 1 :]
    )


# The slots of one draft: a save, a cancel or a start over clears them all.
DRAFT_SLOTS = (
    *SUMMARY_SLOTS,
    "contact_id",
    "draft_id",
    "requested_slot",
    "summary_shown",
    "hours_ok",
    "sms_consent_ok",
)


def say_missing(dispatcher: CollectingDispatcher, slots: Mapping[str, JSON]) -> None:
    missing = [m for m in missing_answers(slots) if m != "draft"] or ["date"]
    dispatcher.utter_message(
        text=f"There's more to answer before I can save: the {', '.join(missing)}.",
        custom={"kind": "info"},
    )
