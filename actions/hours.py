"""Working hours: whose apply, whether a start is inside them, and the question when not.

A clinician's own hours (stored as `ground.hours` writes them) apply, else the practice's
default (`working_hours` in the practice file), in the clinician's own zone; with
neither, nothing is asked. A start outside them is asked, never refused: "Sunday 3:00 AM
is outside your working hours. Book it anyway?", with Yes and a change of time; the
conversation keeps no time until the clinician answers (so nothing can be saved), the
Edit and Reschedule forms ask before they change anything, and a series says which of
its occurrences fall outside. Setting, showing and clearing one's own hours is one
command here for every face (the conversation, App Home, `sessionbot hours`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import commands, recurrence, week_words
from actions.commands import Done
from actions.context import sender_of, services
from actions.extraction.hours import CLEAR, SHOW, hours_request
from actions.formatting import clock
from dialogue.slots import decoded, encode
from ground.hours import HoursError, WorkingHours, parse_hours
from sessionbot.practice import Practice
from store import repos
from store.models import Clinician

HOURS_OK = "hours_ok"  # the slot: the draft's start (and series) accepted outside hours
LISTED = 5  # the most occurrences of a series named in the question


def own_hours(clinician: Clinician | None) -> WorkingHours | None:
    if clinician is None or not clinician.working_hours:
        return None
    try:
        return parse_hours(clinician.working_hours)
    except HoursError:  # written by parse_hours itself: never expected
        return None


def hours_of(clinician: Clinician | None, practice: Practice) -> WorkingHours | None:
    """The hours that apply to a clinician: their own, else the practice's, else none."""
    return own_hours(clinician) or practice.hours


def close_call_bounds(clinician: Clinician | None, practice: Practice) -> tuple[int, int]:
    """The hours a time said without am/pm ("at 7") is read inside."""
    own = own_hours(clinician)
    return own.bounds() if own else practice.working_hours


def inside(start: datetime, tz: str, hours: WorkingHours) -> bool:
    local = start.astimezone(ZoneInfo(tz))
    return hours.contains(local.weekday(), local.hour * 60 + local.minute)


def start_words(start: datetime, tz: str, now: datetime) -> str:
    """ "Sunday 3:00 AM" within the coming week, "Sunday, January 10 3:00 AM" beyond."""
    local = start.astimezone(ZoneInfo(tz))
    ahead = (local.date() - now.astimezone(ZoneInfo(tz)).date()).days
    day = local.strftime("%A") if 0 <= ahead < 7 else f"{local:%A, %B} {local.day}"
    return f"{day} {clock(local.time())}"


def outside_question(
    starts: Sequence[datetime], tz: str, hours: WorkingHours, now: datetime
) -> str | None:
    """The question for the starts outside the hours, or None when every one is inside."""
    out = [start for start in starts if not inside(start, tz, hours)]
    if not out:
        return None
    yours = f"(Your working hours: {hours.said()}.)"
    if len(starts) == 1:
        said = start_words(out[0], tz, now)
        return f"{said} is outside your working hours. Book it anyway? {yours}"
    named = [_occurrence(start, tz) for start in out[:LISTED]]
    if len(out) > LISTED:
        named.append(f"and {len(out) - LISTED} more")
    which = "All" if len(out) == len(starts) else f"{len(out)} of the"
    return (
        f"{which} {len(starts)} sessions are outside your working hours: {'; '.join(named)}. "
        f"Book them anyway? {yours}"
    )


def _occurrence(start: datetime, tz: str) -> str:
    local = start.astimezone(ZoneInfo(tz))
    return f"{local:%a, %b} {local.day} {clock(local.time())}"


# The command: set, clear, show one's own hours ------------------------------------------


def _zone(clinician: Clinician, practice: Practice) -> str:
    return practice.zone_of(clinician.tz)


def _default_words(practice: Practice) -> str:
    if practice.hours is None:
        return "the practice sets none, so no start is asked about."
    return f"the practice's apply: {practice.hours.said()}."


def set_hours(clinician: Clinician, text: str, practice: Practice) -> Done:
    """Store the clinician's own hours once they are read; an unreadable phrase is said
    back and nothing is changed."""
    try:
        hours = parse_hours(text)
    except HoursError as err:
        return Done(f"{err} Nothing was changed.", changed=False)
    zone = _zone(clinician, practice)
    if clinician.working_hours == hours.spec:
        return Done(f"Your working hours are already {hours.said()} ({zone}).", changed=False)
    before = own_hours(clinician)
    clinician.working_hours = hours.spec
    was = f" (were {before.said()})" if before else ""
    return Done(
        f"Your working hours are now {hours.said()}, {zone} time{was}. "
        "I'll ask before booking a start outside them.",
        changed=True,
    )


def clear_hours(clinician: Clinician, practice: Practice) -> Done:
    if clinician.working_hours is None:
        return Done(f"You have no working hours of your own; {_default_words(practice)}", False)
    clinician.working_hours = None
    return Done(f"Your own working hours are cleared; {_default_words(practice)}", True)


def hours_problem(text: str) -> str | None:
    """Why an hours spec cannot be read (a form shows it by its field), or None."""
    try:
        parse_hours(text)
    except HoursError as err:
        return str(err)
    return None


def show_hours_default(practice: Practice) -> str:
    return f"You have no working hours of your own; {_default_words(practice)}"


def start_question(
    clinician: Clinician, start: datetime, practice: Practice, now: datetime
) -> str | None:
    """The question for one new start outside the clinician's hours (the Edit and
    Reschedule forms), or None."""
    found = hours_of(clinician, practice)
    if found is None:
        return None
    return outside_question([start], practice.zone_of(clinician.tz), found, now)


def show_hours(clinician: Clinician, practice: Practice) -> str:
    own = own_hours(clinician)
    if own is not None:
        return f"Your working hours: {own.said()} ({_zone(clinician, practice)})."
    return show_hours_default(practice)


def hours_command(clinician: Clinician, wanted: str, practice: Practice) -> Done:
    """What `hours_request` found: set, clear or show."""
    if wanted == CLEAR:
        return clear_hours(clinician, practice)
    if wanted == SHOW:
        return Done(show_hours(clinician, practice), changed=False)
    return set_hours(clinician, wanted, practice)


# The conversation -----------------------------------------------------------------------


def accepted_key(day: date, at: time, series: Any) -> str:
    """What a Yes accepts: this date, time and series; any change asks again."""
    return f"{day.isoformat()} {at:%H:%M} {json.dumps(series, sort_keys=True)}"


def _tracker_hours(tracker: Tracker) -> WorkingHours | None:
    practice = services().practice
    who = sender_of(tracker.sender_id)
    with services().store.reading() as s:
        clinician = repos.find_clinician(s, *who) if who else None
        return hours_of(clinician, practice)


def tracker_bounds(tracker: Tracker) -> tuple[int, int]:
    """The close-call hours of the tracker's clinician (their own, else the practice's)."""
    practice = services().practice
    who = sender_of(tracker.sender_id)
    if who is None:
        return practice.working_hours
    with services().store.reading() as s:
        return close_call_bounds(repos.find_clinician(s, *who), practice)


PENDING = "?"  # the hours_ok slot while the question waits: "?" and the key asked about
YES_WORDS = frozenset(
    {"yes", "y", "yep", "yes please", "ok", "okay", "sure", "book it", "book it anyway",
     "book them", "book them anyway", "yes, book it", "yes, book it anyway", "keep it"}
)  # fmt: skip


def accept(tracker: Tracker, found: dict[str, Any]) -> list[dict[str, Any]]:
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
    at = key.split(" ")[1]
    tracker.slots.update({HOURS_OK: key, "time": at})
    return [SlotSet(HOURS_OK, key), SlotSet("time", at)]


def ask_if_outside(
    dispatcher: CollectingDispatcher, tracker: Tracker, series: Any, just_accepted: bool
) -> list[dict[str, Any]]:
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
        check = commands.check_start(day, at.hour, at.minute, tz, now)
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


def _entity(tracker: Tracker, name: str) -> Any:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity") == name:
            return entity.get("value")
    return None


def say_hours_request(dispatcher: CollectingDispatcher, tracker: Tracker, wanted: Any) -> None:
    """ "my hours are 9 to 5 mon-thu": said back, and stored only once it is read."""
    who = sender_of(tracker.sender_id)
    if not isinstance(wanted, str) or who is None:
        dispatcher.utter_message(
            text="Say your working hours like “my hours are Mon-Fri 9-5”. Nothing was changed.",
            custom={"kind": "error"},
        )
        return
    ctx = services()
    with ctx.store.unit() as s:
        clinician = repos.get_clinician(s, *who)
        done = hours_command(clinician, wanted, ctx.practice)
    refused = not done.changed and wanted not in (CLEAR, SHOW) and "already" not in done.text
    dispatcher.utter_message(text=done.text, custom={"kind": "error" if refused else "info"})


class ActionSetHours(Action):
    """ "my hours are 9 to 5 mon-thu", "clear my working hours", "what are my hours?"."""

    def name(self) -> str:
        return "action_set_hours"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        wanted = _entity(tracker, "hours")
        if wanted is None and (tracker.latest_message or {}).get("text"):
            wanted = hours_request(str(tracker.latest_message["text"]))
        say_hours_request(dispatcher, tracker, wanted)
        return []
