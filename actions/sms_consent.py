"""Text-message consent in the conversation (the practice's `sms_consent = "ask"`).

Mirrors the working-hours question (actions/hours.py): after the form's validation, a
mobile number set for a text invitation with no consent recorded is asked about ("Has
J.D. agreed to get text messages at +1 617-555-0101?", buttons "Yes, they agreed" and
"No"), and the number is held back until the clinician answers, so Save refuses in the
meantime (the mobile number is still missing). Yes (its button, or typed while it waits)
records the consent with the time and the clinician, and keeps the number; No records
that too and drops the text invitation: the clinician is offered e-mail or no invitation.
The rules and the record are `scheduling.sms_consent`; the same code serves the embedded
runner and a Rasa assistant.
"""

from __future__ import annotations

import json

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import sender_of, services
from actions.drafts import actor_of
from ground.channel import Channel
from ground.formatting import initials
from ground.jsontypes import JSON
from scheduling import sms_consent

SMS_CONSENT_OK = "sms_consent_ok"  # the slot: "?" + the number asked about, or the number agreed
PENDING = "?"
YES_WORDS = frozenset(
    {"yes", "y", "yep", "yeah", "yes they agreed", "yes, they agreed", "they agreed", "agreed",
     "yes they did", "they did"}
)  # fmt: skip
NO_WORDS = frozenset(
    {"no", "n", "nope", "no they didn't", "no, they didn't", "they didn't", "not yet",
     "no they did not", "they did not"}
)  # fmt: skip


def _answer(tracker: Tracker, found: dict[str, JSON]) -> tuple[bool, str] | None:
    """(agreed, the number) when this message answers the question that waits."""
    pending = tracker.get_slot(SMS_CONSENT_OK)
    if not (isinstance(pending, str) and pending.startswith(PENDING)):
        return None
    phone = pending.removeprefix(PENDING)
    said = found.get(SMS_CONSENT_OK)
    if isinstance(said, str):  # a button: its answer and the number it was asked about
        answer, _, number = said.partition(" ")
        if number != phone or answer not in ("yes", "no"):
            return None  # a button of an earlier question, or a hand-made payload
        return answer == "yes", phone
    waiting = tracker.get_slot("requested_slot") == "phone" and not tracker.get_slot("phone")
    text = " ".join(str((tracker.latest_message or {}).get("text") or "").casefold().split())
    text = text.rstrip(".!")
    if waiting and text in YES_WORDS:
        return True, phone
    if waiting and text in NO_WORDS:
        return False, phone
    return None


def accept(
    dispatcher: CollectingDispatcher, tracker: Tracker, found: dict[str, JSON]
) -> list[EventType]:
    """The answer to the question, recorded before the form validates (time, clinician);
    Yes puts the number back on the draft, No drops the text invitation."""
    answered = _answer(tracker, found)
    if answered is None or sender_of(tracker.sender_id) is None:
        return []
    agreed, phone = answered
    services().scheduler.record_sms_consent(actor_of(tracker), phone, agreed)
    participant = tracker.get_slot("participant")
    name = initials(participant) if isinstance(participant, str) and participant else "They"
    if agreed:
        dispatcher.utter_message(
            text=f"Noted: {name} agreed to get text messages. The invitation goes by text.",
            custom={"kind": "ack", "slot": "phone"},
        )
        changes: dict[str, str | None] = {SMS_CONSENT_OK: phone, "phone": phone}
    else:
        dispatcher.utter_message(response="utter_sms_consent_declined", custom={"kind": "error"})
        changes = {SMS_CONSENT_OK: None, "phone": None, "invite_channel": None,
                   "requested_slot": "invite_channel"}  # fmt: skip
    tracker.slots.update(changes)
    return [SlotSet(k, v) for k, v in changes.items()]


def ask_if_needed(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """After the form's validation: a number for a text invitation with no consent on
    record is asked about, and held back until the clinician answers."""
    slots = tracker.slots
    phone = slots.get("phone")
    texted = Channel.invitation(slots.get("invite_channel")) is Channel.SMS
    if not (isinstance(phone, str) and phone and texted):
        return []
    if slots.get(SMS_CONSENT_OK) == phone or not services().scheduler.sms_consent_needed(phone):
        return []
    participant = slots.get("participant")
    buttons = [
        {"title": sms_consent.YES,
         "payload": "/inform" + json.dumps({SMS_CONSENT_OK: f"yes {phone}"})},
        {"title": sms_consent.NO,
         "payload": "/inform" + json.dumps({SMS_CONSENT_OK: f"no {phone}"})},
    ]  # fmt: skip
    dispatcher.utter_message(
        text=sms_consent.question(participant if isinstance(participant, str) else None, phone),
        buttons=buttons,
        custom={"kind": "error"},
    )
    return [
        SlotSet("phone", None),
        SlotSet("requested_slot", "phone"),
        SlotSet(SMS_CONSENT_OK, PENDING + phone),
    ]
