"""Working hours in the conversation: a start outside them is asked, not refused.

The rule (whose hours apply, the question's words) is `scheduling.hours`. Here: the
form's question after its validation ("Sunday 3:00 AM is outside your working hours. Book
it anyway?", with Yes and a change of time; the draft keeps no time until the clinician
answers, so nothing can be saved), a series naming the occurrences outside, the Yes (its
button, or typed), the close calls' hours ("at 7"), and "my hours are 9 to 5 mon-thu"
said back and stored once read. The same code serves the embedded runner and a Rasa
assistant.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import week_words
from actions.context import actor_of_sender, sender_of, services
from actions.drafts import actor_of
from actions.extraction.hours import CLEAR, SHOW, hours_request
from dialogue.slots import decoded, encode
from ground.hours import WorkingHours
from ground.jsontypes import JSON
from scheduling import recurrence
from scheduling.hours import hours_problem, outside_question
from scheduling.results import Done
from scheduling.service import Actor
from scheduling.starts import check_start

HOURS_OK = "hours_ok"  # the slot: the draft's start (and series) accepted outside hours


def hours_command(who: Actor, wanted: str) -> Done:
    """What `hours_request` found: set, clear or show, through the scheduling service."""
    scheduler = services().scheduler
    if wanted == CLEAR:
        return scheduler.set_hours(who, "")
    if wanted == SHOW:
        return Done(scheduler.own_hours(who)[1], changed=False)
    return scheduler.set_hours(who, wanted)


# The conversation -----------------------------------------------------------------------


def accepted_key(day: date, at: time, series: JSON) -> str:
    """What a Yes accepts: this date, time and series; any change asks again."""
    return f"{day.isoformat()} {at:%H:%M} {json.dumps(series, sort_keys=True)}"


def _tracker_hours(tracker: Tracker) -> WorkingHours | None:
    return services().scheduler.clinician_view(actor_of_sender(tracker.sender_id)).hours


def tracker_bounds(tracker: Tracker) -> tuple[int, int]:
    """The close-call hours of the tracker's clinician (their own, else the practice's)."""
    who = actor_of_sender(tracker.sender_id)
    if who is None:
        return services().practice.working_hours
    return services().scheduler.clinician_view(who).bounds


_KEY = re.compile(r"\d{4}-\d{2}-\d{2} (\d{2}:\d{2}) ")
PENDING = "?"  # the hours_ok slot while the question waits: "?" and the key asked about
YES_WORDS = frozenset(
    {"yes", "y", "yep", "yes please", "ok", "okay", "sure", "book it", "book it anyway",
     "book them", "book them anyway", "yes, book it", "yes, book it anyway", "keep it"}
)  # fmt: skip


def accept(tracker: Tracker, found: dict[str, JSON]) -> list[EventType]:
    """A Yes to the question (its button, or typed while it waits), kept on the tracker
    before the form validates: the start asked about is the draft's again."""
    said = found.get(HOURS_OK)
    if isinstance(said, str) and len(said) <= 400:  # a key is ~100 characters
        tracker.slots[HOURS_OK] = said
        return [SlotSet(HOURS_OK, said)]
    pending = tracker.get_slot(HOURS_OK)
    text = " ".join(str((tracker.latest_message or {}).get("text") or "").casefold().split())
    waiting = tracker.get_slot("requested_slot") == "time" and tracker.get_slot("time") is None
    if not (isinstance(pending, str) and pending.startswith(PENDING) and waiting):
        return []
    if text.rstrip(".!") not in YES_WORDS:
        return []
    key = pending.removeprefix(PENDING)
    asked = _KEY.match(key)
    if asked is None:  # not one this form wrote (a hand-made payload): nothing taken
        return []
    at = asked.group(1)
    tracker.slots.update({HOURS_OK: key, "time": at})
    return [SlotSet(HOURS_OK, key), SlotSet("time", at)]


def ask_if_outside(
    dispatcher: CollectingDispatcher, tracker: Tracker, series: JSON, just_accepted: bool
) -> list[EventType]:
    """After the form's validation: a start (or any occurrence) outside the hours, not yet
    accepted, is asked, and the time is held back until the clinician answers."""
    slots = tracker.slots
    day, at = decoded("date", slots.get("date")), decoded("time", slots.get("time"))
    if day is None or at is None:
        return []
    key = accepted_key(day, at, series)
    if slots.get(HOURS_OK) == key:
        if just_accepted:
            them = "them" if week_words.series_of(series) is not None else "it"
            dispatcher.utter_message(
                text=f"Booking {them} outside your working hours, as you said.",
                custom={"kind": "ack", "slot": "time"},
            )
        return []
    hours = _tracker_hours(tracker)
    if hours is None:
        return []
    practice = services().practice
    tz = practice.zone_of(slots.get("clinician_tz"))
    now = datetime.now(UTC)
    wanted = week_words.series_of(series)
    if wanted is None:
        check = check_start(day, at.hour, at.minute, tz, now)
        starts = [check.start] if check.start is not None else []
    else:
        starts = list(recurrence.expand(wanted, day, at.hour, at.minute, tz, now, practice).starts)
    question = outside_question(starts, tz, hours, now) if starts else None
    if question is None:
        pending = slots.get(HOURS_OK)
        stale = isinstance(pending, str) and pending.startswith(PENDING)
        return [SlotSet(HOURS_OK, None)] if stale else []
    yes = "Yes, book them anyway" if len(starts) > 1 else "Yes, book it anyway"
    buttons = [
        {"title": yes, "payload": "/inform" + json.dumps({"time": encode(at), HOURS_OK: key})},
        {"title": "Change the time", "payload": '/change{"slot":"time"}'},
    ]
    dispatcher.utter_message(text=question, buttons=buttons, custom={"kind": "error"})
    return [
        SlotSet("time", None),
        SlotSet("requested_slot", "time"),
        SlotSet(HOURS_OK, PENDING + key),
    ]


def _entity(tracker: Tracker, name: str) -> JSON:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity") == name:
            return entity.get("value")
    return None


def say_hours_request(dispatcher: CollectingDispatcher, tracker: Tracker, wanted: JSON) -> None:
    """ "my hours are 9 to 5 mon-thu": said back, and stored only once it is read."""
    who = sender_of(tracker.sender_id)
    if not isinstance(wanted, str) or who is None:
        dispatcher.utter_message(
            text="Say your working hours like “my hours are Mon-Fri 9-5”. Nothing was changed.",
            custom={"kind": "error"},
        )
        return
    done = hours_command(actor_of(tracker), wanted)
    refused = wanted not in (CLEAR, SHOW) and hours_problem(wanted) is not None
    dispatcher.utter_message(text=done.text, custom={"kind": "error" if refused else "info"})


class ActionSetHours(Action):
    """ "my hours are 9 to 5 mon-thu", "clear my working hours", "what are my hours?"."""

    def name(self) -> str:
        return "action_set_hours"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        wanted = _entity(tracker, "hours")
        if wanted is None and (tracker.latest_message or {}).get("text"):
            wanted = hours_request(str(tracker.latest_message["text"]))
        say_hours_request(dispatcher, tracker, wanted)
        return []
