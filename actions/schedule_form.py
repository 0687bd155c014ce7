"""The schedule form's validation action: one `extract_<slot>` and `validate_<slot>` a slot.

Extraction reads the entities of the latest message (our NLU puts every slot value it
found there); served to a Rasa assistant whose NLU does not, it runs the same extraction
on the text. Validation applies the rules that need now, the practice or the store.
An invalid value is told once, as one message marked `kind: error`, and the slot keeps
the value it had before the turn, so nothing already given is lost.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker, utils
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import (
    answers,
    extraction,
    hours,
    languages,
    needed,
    others_form,
    sms_consent,
    week_words,
)
from actions.context import sender_of, services
from actions.extraction.intents import refusal
from actions.session_actions import new_draft_events
from dialogue.domain import CONTROL_INTENTS, load_domain, parse_payload
from dialogue.domain import FORM as FORM_NAME
from dialogue.slots import SlotValueError, decode, decoded, encode
from ground.channel import Channel
from ground.formatting import clock, money, phone, zone_label
from scheduling import editing, starts
from store import clinician_rows

MISSING = object()
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
    dispatcher: CollectingDispatcher, text: str, buttons: list[dict[str, str]] | None = None
) -> None:
    """One error message; a close call carries its readings as buttons."""
    dispatcher.utter_message(text=text, buttons=buttons or [], custom={"kind": "error"})


def choice_buttons(slot: str, choices: list[Any]) -> list[dict[str, str]]:
    """Buttons that answer the slot with one reading each (a Rasa `/inform` payload)."""
    return [
        {"title": str(title), "payload": "/inform" + json.dumps({slot: value})}
        for title, value in choices
    ]


def shown(slot: str, value: Any) -> str:
    """A slot value in words, as the summary and the acknowledgements say it."""
    practice = services().practice
    if value is None:
        return "none"
    if slot == "date":
        return str(decode("date", value).strftime("%A, %B %-d"))
    if slot == "time":
        return clock(decode("time", value))
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
        return money(decode("amount", value), practice.currency)
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

    found: dict[str, Any] | None = None  # the latest message, read once
    before: dict[str, Any] = field(default_factory=dict)  # the slots before validation
    noted: bool = False  # the reading's notes said
    contact: Any = MISSING  # the known contact named, looked up once
    acked: set[str] = field(default_factory=set)  # slots whose change was said


_turn: contextvars.ContextVar[TurnMemo | None] = contextvars.ContextVar("turn", default=None)


def memo() -> TurnMemo:
    """This run's memo; outside a run (another action), a fresh one that keeps nothing."""
    return _turn.get() or TurnMemo()


def understand(tracker: Tracker) -> dict[str, Any]:
    """Slot -> value (or {"invalid": message}) found in the latest message."""
    cached = memo().found
    if cached is not None:
        return cached
    latest = tracker.latest_message or {}
    found: dict[str, Any] = {}
    if latest.get("sessionbot_nlu"):
        # The embedded runner's NLU: its entities are already our own reading.
        found = week_words.found_in(latest.get("entities") or [])
    elif fresh_message(tracker):
        found = read_rasa_message(tracker, latest)
    _attach_choices(found)
    memo().found = found
    return found


def _attach_choices(found: dict[str, Any]) -> None:
    """Readings offered for a refused value go with its error; others are offers."""
    offers = found.get("choices")
    entries = offers if isinstance(offers, list) else [offers] if offers else []
    remaining = []
    for entry in entries:
        slot, choices = entry.get("slot"), entry.get("choices") or []
        if is_invalid(found.get(slot)):
            found[slot]["choices"] = choice_buttons(slot, choices)
        else:
            remaining.append({"slot": slot, "choices": choices})
    found["choices"] = remaining


# The slots a message can answer (what our reading finds besides them, like a change
# request, is not an answer).
ANSWER_SLOTS = frozenset(load_domain()["forms"][FORM_NAME]["required_slots"]) | {"contact_id"}
# What a Rasa server's own actions run between the message and the form's validation.
# ("action_hold" hands a message it finds no refusal in to the form: see actions/hold.py.)
_BETWEEN_MESSAGE_AND_FORM = {"action_listen", "action_extract_slots", FORM_NAME, "action_hold"}


def _answered(tracker: Tracker) -> list[dict[str, Any]]:
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
    intent = str((latest.get("intent") or {}).get("name") or "")
    if is_control(intent, str(latest.get("text") or "")):
        return []
    return [SlotSet(str(requested), tracker.get_slot(str(requested)))]


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


def _reading(tracker: Tracker, text: str, requested: str | None) -> dict[str, Any]:
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


def read_rasa_message(tracker: Tracker, latest: dict[str, Any]) -> dict[str, Any]:
    """A message as a Rasa server parsed it, read with our own extraction too.

    A button payload (`/inform{"documents":"intake"}`) carries our own values: taken as
    they are. Typed text is read whole by our extraction (an entity Rasa found never
    stops the rest of the words from being read); then each entity Rasa marked for a slot
    our reading left empty (no value, no problem) is read again on its own, as the answer
    to that slot, so its value is understood and checked the same way; unless those words
    read as another slot by themselves.
    """
    text = str(latest.get("text") or "")
    intent = str((latest.get("intent") or {}).get("name") or "")
    entities = [e for e in latest.get("entities") or [] if isinstance(e, dict)]
    if parse_payload(text) is not None:
        return {str(e.get("entity")): e.get("value") for e in entities if e.get("entity")}
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


def _unread_left_to_the_error(dispatcher: CollectingDispatcher) -> None:
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
    turns: list[dict[str, Any]] = []
    requested: Any = None
    current: dict[str, Any] | None = None
    for event in (e for e in tracker.events or [] if isinstance(e, dict)):
        kind = event.get("event")
        if kind == "user":
            if current is not None:
                turns.append({**current, "after": requested})
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            current = {"intent": intent, "at": requested, "error": False}
        elif kind == "slot" and event.get("name") == "requested_slot":
            requested = event.get("value")
        elif kind == "bot" and current is not None:
            custom = (event.get("data") or {}).get("custom") or {}
            current["error"] = current["error"] or custom.get("kind") == "error"
        elif kind in ("restart", "reset_slots"):
            requested = None
    count = 0
    for turn in reversed(turns):  # the latest user event is this very turn: not among them
        if turn["after"] is None or turn["intent"] in ("cancel", "start_over"):
            break
        if turn["at"] != slot:
            continue
        if turn["error"] and turn["after"] == slot:
            count += 1
        elif turn["intent"] not in CONTROL_INTENTS:
            break
    return count


def _drop_unchanged_candidates(tracker: Tracker) -> None:
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
    before: dict[str, Any] = {}
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


def is_invalid(value: Any) -> bool:
    return isinstance(value, dict) and "invalid" in value


class ValidateScheduleForm(FormValidationAction):
    def name(self) -> str:
        return "validate_schedule_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        token = _turn.set(TurnMemo())  # what this run works out, for this run only
        try:
            return await self._run(dispatcher, tracker, domain)
        finally:
            _turn.reset(token)

    async def _run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        """Rasa's form step: a new draft when there is none, then extract, validate, ask.

        The embedded runner starts each draft itself; a Rasa assistant's tracker comes
        without one, so its first call starts it here (its id is the key of its Save).
        """
        latest = tracker.latest_message or {}
        denied = (latest.get("intent") or {}).get("name") == "deny"
        at_summary = tracker.get_slot("draft_id") and not tracker.get_slot("requested_slot")
        if denied and at_summary and not latest.get("sessionbot_nlu") and fresh_message(tracker):
            # "no" to the summary (a Rasa rule hands it to the form): nothing saved, said.
            dispatcher.utter_message(response="utter_not_saved")
        start: list[dict[str, Any]] = []
        if not tracker.get_slot("draft_id"):
            start = new_draft_events(tracker)
            tracker.slots.update({e["name"]: e["value"] for e in start})
            if not ANSWER_SLOTS & set(understand(tracker)):
                dispatcher.utter_message(response="utter_greet")
        _drop_unchanged_candidates(tracker)
        cleared = self._change_request(tracker, domain)
        tracker.slots.update(cleared)
        found = understand(tracker)
        if isinstance(found.get("hours"), str):
            # "my hours are 9 to 5" that a Rasa classifier handed to the form.
            hours.say_hours_request(dispatcher, tracker, found["hours"])
        accepted = hours.accept(tracker, found)  # the Yes to a start outside the hours
        consented = sms_consent.accept(dispatcher, tracker, found)  # the consent question's answer
        memo().before = dict(tracker.slots)
        answered = _answered(tracker)  # before validation: the slot asked for this message
        events = await super().run(dispatcher, tracker, domain)
        _unread_left_to_the_error(dispatcher)
        self._hint_after_misses(dispatcher, tracker, events)
        series = self._series(dispatcher, tracker)
        wanted = next((e["value"] for e in series), tracker.get_slot("series"))
        outside = hours.ask_if_outside(dispatcher, tracker, wanted, bool(accepted))
        language = languages.said(dispatcher, tracker, understand(tracker))
        consent = sms_consent.ask_if_needed(dispatcher, tracker)
        return [
            *start, *(SlotSet(k, v) for k, v in cleared.items()), *accepted, *consented,
            *answered, *events, *series, *outside, *language, *consent,
        ]  # fmt: skip

    def _series(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        """A series said in this message is kept (the summary lists its dates before any
        Save); "just once" drops one. Each is said back in words."""
        said = understand(tracker).get("series")
        before = tracker.get_slot("series")
        if said == week_words.ONCE:
            if before is None:
                return []
            dispatcher.utter_message(text="Just once, then: no series.", custom={"kind": "info"})
            return [SlotSet("series", None)]
        wanted = week_words.series_of(said)
        kept = week_words.series_of(before)
        if wanted is not None and kept is not None and wanted.count is None and not wanted.until:
            # "every Monday" after "every Thursday for 3 weeks": another day, the same length.
            wanted = dataclasses.replace(wanted, count=kept.count, until=kept.until)
            said = week_words.series_value(wanted)
        if wanted is None or said == before:
            return []
        length = (
            f"{wanted.count} sessions"
            if wanted.count is not None
            else f"until {wanted.until:%B %-d}"
            if wanted.until is not None
            else "(how long? say “for 6 weeks” or “until March 1”)"
        )
        dispatcher.utter_message(
            text=f"Repeating {wanted.describe()}, {length}: the summary lists the dates.",
            custom={"kind": "info"},
        )
        return [SlotSet("series", said)]

    def _hint_after_misses(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, events: list[dict[str, Any]]
    ) -> None:
        """Every third miss in a row at one question, what can be read (a Rasa tracker:
        the embedded runner keeps this count in its own state and says the same)."""
        if (tracker.latest_message or {}).get("sessionbot_nlu"):
            return
        asked = self._before(tracker, "requested_slot")
        after = next(
            (e["value"] for e in reversed(events) if e.get("name") == "requested_slot"), asked
        )
        missed = any((m.get("custom") or {}).get("kind") == "error" for m in dispatcher.messages)
        if not missed or not asked or after != asked:
            return
        if (misses_before(tracker, str(asked)) + 1) % MISSES_BEFORE_HELP == 0:
            dispatcher.utter_message(response="utter_too_many_misses")
            dispatcher.utter_message(response=f"utter_formats_{asked}")

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """The answers this draft needs (actions/needed.py, the one rule Save reads too)."""
        return needed.needed_slots(
            tracker.current_slot_values(), payments=services().payments_enabled
        )

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        return SlotSet("requested_slot", others_form.next_requested(required, tracker.slots))

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        # Extract every form slot the message mentions, not only those required so far:
        # "by email jane@example.com" fills the channel and the address in one turn.
        events: dict[str, Any] = {}
        for slot in self.domain_slots(domain):
            method = getattr(self, f"extract_{slot}", None)
            if method is None or (
                others_form.answering(tracker) and slot in others_form.ANSWER_SLOTS
            ):
                continue  # (an answer about another participant fills only theirs)
            found = await utils.call_potential_coroutine(method(dispatcher, tracker, domain))
            found = found if isinstance(found, dict) else {}
            events.update(found)
            tracker.slots.update(found)
        return [
            {"event": "slot", "timestamp": None, "name": k, "value": v} for k, v in events.items()
        ]

    def _change_request(self, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        """ "change the time" (or the Change… button's `/change{"slot":"time"}`) with no new
        value: the slot is emptied, so the form asks it again (as the runner does).
        """
        found = understand(tracker)
        slot = found.get("slot")
        if not isinstance(slot, str) or slot not in self.domain_slots(domain) or slot in found:
            return {}
        if slot == "payment_required":
            names = ["payment_required", "service", "amount"]
        elif slot == "service":
            names = ["service", "amount"]
        else:
            names = [slot]
        return {name: None for name in names}

    # Extraction: the value the message gives for the slot --------------------------------

    def _extract(self, slot: str, tracker: Tracker) -> dict[str, Any]:
        value = understand(tracker).get(slot, MISSING)
        return {} if value is MISSING else {slot: value}

    def _requested(self, tracker: Tracker, slot: str) -> bool:
        return tracker.get_slot("requested_slot") == slot

    def _raw_text(self, tracker: Tracker) -> str:
        return str((tracker.latest_message or {}).get("text") or "")

    def _text(self, tracker: Tracker) -> str:
        return " ".join(str((tracker.latest_message or {}).get("text") or "").casefold().split())

    def extract_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        self._say_notes(dispatcher, tracker)
        found = self._extract("date", tracker)
        days = (understand(tracker).get("shift") or {}).get("days")
        if days and not found:
            current = decoded("date", tracker.get_slot("date"))
            if current is None:
                return {"date": {"invalid": "There's no date yet to move; which date?"}}
            return {"date": encode(current + timedelta(days=days))}
        return found

    def extract_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = self._extract("time", tracker)
        if not found:
            found = self._other_half_of_the_day(tracker)
        minutes = (understand(tracker).get("shift") or {}).get("minutes")
        if not minutes or found:
            return found
        return self._shifted(tracker, minutes)

    def _other_half_of_the_day(self, tracker: Tracker) -> dict[str, Any]:
        """ "pm", "in the morning" said alone about the draft's time: the same clock time in
        the other half of the day ("at 8" read as 8 AM, then "pm")."""
        half = MERIDIEM_WORDS.get(self._text(tracker).rstrip(".!"))
        current = decoded("time", tracker.get_slot("time"))
        if half is None or current is None or (current.hour >= 12) == (half == "pm"):
            return {}
        hour = current.hour % 12 + (12 if half == "pm" else 0)
        return {"time": encode(current.replace(hour=hour))}

    def _shifted(self, tracker: Tracker, minutes: int) -> dict[str, Any]:
        """ "An hour later", "push it back 30 minutes": the time moved, and the date with it
        when it crosses midnight."""
        current = decoded("time", tracker.get_slot("time"))
        day = decoded("date", tracker.get_slot("date"))
        if current is None:
            return {"time": {"invalid": "There's no time yet to move; what time should it be?"}}
        start_day = day or clinician_now(tracker).date()
        moved = datetime.combine(start_day, current) + timedelta(minutes=minutes)
        out: dict[str, Any] = {"time": encode(moved.time())}
        if day is not None and moved.date() != start_day:
            out["date"] = encode(moved.date())
        return out

    def _say_notes(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """Once a turn: how something was read ("4:30 PM Central is 5:30 PM your time"),
        the other date a phrase or the other country a number could mean (with a button),
        and the words not understood."""
        if memo().noted:
            return
        memo().noted = True
        found = understand(tracker)
        offers = {entry["slot"]: entry["choices"] for entry in found.get("choices") or []}
        for note in found.get("notes") or []:
            # The note of a close call carries its other reading as a button.
            slot = "date" if note.startswith("I took ") else "phone" if "I read " in note else None
            offer = offers.pop(slot, None) if slot else None
            buttons = choice_buttons(slot, offer) if slot and offer else []
            dispatcher.utter_message(text=note, buttons=buttons, custom={"kind": "note"})
        unread = [w for w in found.get("unread") or [] if w not in self._contact_words(tracker)]
        if unread:
            words = " ".join(unread)
            # No name yet: an unplaced word may be one ("jd tmrw 2p"); ask, don't guess.
            nameless = tracker.get_slot("participant") is None and "participant" not in found
            candidates = [w for w in unread if any(c.isalpha() for c in w)][:3]
            buttons = (
                choice_buttons(
                    "participant", [(f"“{w}” is the participant", w) for w in candidates]
                )
                if nameless and not tracker.get_slot("requested_slot")
                else []
            )
            places = [(w, extraction.city_zone(w)) for w in candidates] if buttons else []
            places = [(w, zone) for w, zone in places if zone]
            if places and len(unread) == 1:
                # "Paris" opening a message: a person, or where the person is? Asked.
                word, zone = places[0]
                buttons += choice_buttons("participant_tz", [(f"{word} is where they are", zone)])
                dispatcher.utter_message(
                    text=f"Is “{word}” the participant, or the city they're in?",
                    buttons=buttons,
                    custom={"kind": "note"},
                )
                return
            dispatcher.utter_message(
                text=f"{UNREAD}{words}”.", buttons=buttons, custom={"kind": "note"}
            )

    def _contact_words(self, tracker: Tracker) -> set[str]:
        name = self._known_contact_in(tracker)
        return set(name.split()) if name else set()

    def _known_contact_in(self, tracker: Tracker) -> str | None:
        """Unmarked words that are the name of one of this clinician's contacts (looked up
        once a turn)."""
        turn = memo()
        if turn.contact is MISSING:
            turn.contact = self._look_up_contact(tracker)
        return turn.contact

    def _look_up_contact(self, tracker: Tracker) -> str | None:
        found = understand(tracker)
        unread = found.get("unread") or []
        if not unread or "participant" in found or tracker.get_slot("requested_slot"):
            return None
        team, user = sender_of(tracker.sender_id) or ("", "")
        with services().store.reading() as s:
            clinician = clinician_rows.find_clinician(s, team, user)
            if clinician is None:
                return None
            for size in range(min(len(unread), 4), 0, -1):
                for first in range(len(unread) - size + 1):
                    name = " ".join(unread[first : first + size])
                    if clinician_rows.contact_by_name(s, clinician.id, name) is not None:
                        return name
        return None

    def extract_participant(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = understand(tracker)
        contact_id = found.get("contact_id")
        if contact_id is not None:
            return {"participant": {"contact_id": contact_id}}
        given = self._extract("participant", tracker)
        if given:
            return given
        name = self._known_contact_in(tracker)
        return {"participant": name} if name else {}

    def extract_invite_channel(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = self._extract("invite_channel", tracker)
        if found:
            return found
        # An address alone, while no channel is chosen yet, says how to invite.
        given = understand(tracker)
        if tracker.get_slot("invite_channel") is None:
            if isinstance(given.get("email"), str):
                return {"invite_channel": Channel.EMAIL}
            if isinstance(given.get("phone"), str):
                return {"invite_channel": Channel.SMS}
        return {}

    def extract_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = self._extract("email", tracker)
        self._unused_address(dispatcher, tracker, found, Channel.EMAIL, "e-mail address")
        return found

    def extract_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = self._extract("phone", tracker)
        self._unused_address(dispatcher, tracker, found, Channel.SMS, "number")
        return found

    def _unused_address(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        found: dict[str, Any],
        channel: Channel,
        what: str,
    ) -> None:
        """An address for a channel the invitation does not go by is not used: say so,
        rather than drop it without a word."""
        value = next(iter(found.values()), None)
        if not isinstance(value, str):
            return
        said = understand(tracker).get("invite_channel")
        chosen = said if isinstance(said, str) else tracker.get_slot("invite_channel")
        if chosen in (None, channel):
            return
        how = Channel.said_of(chosen)
        switch = "send it by text" if channel is Channel.SMS else "send it by e-mail"
        dispatcher.utter_message(
            text=f"The invitation goes by {how}, so I didn't use that {what}; "
            f"say “{switch}” to use it.",
            custom={"kind": "note"},
        )

    def extract_participant_tz(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._requested(tracker, "participant_tz") and self._text(tracker) in SAME_ZONE_WORDS:
            return {"participant_tz": self._default_zone(tracker)}
        return self._extract("participant_tz", tracker)

    def extract_others(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return others_form.extract(tracker, understand(tracker))

    def validate_others(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return others_form.validate(value, dispatcher, tracker, self._before(tracker, "others"))

    def extract_documents(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._requested(tracker, "documents") and self._text(tracker) in NONE_WORDS:
            return {"documents": "none"}
        return self._extract("documents", tracker)

    def extract_payment_required(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = self._extract("payment_required", tracker)
        if found or not self._requested(tracker, "payment_required"):
            return found
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent == "affirm":
            return {"payment_required": True}
        if intent == "deny":
            return {"payment_required": False}
        if understand(tracker).get("service"):
            return {"payment_required": True}
        return {}

    def extract_service(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._extract("service", tracker)

    def extract_amount(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._requested(tracker, "amount") and self._text(tracker) in KEEP_WORDS:
            service = services().practice.service(tracker.get_slot("service"))
            if service is not None:
                return {"amount": encode(service.price)}
        return self._extract("amount", tracker)

    # Validation: the rules ----------------------------------------------------------------

    def _before(self, tracker: Tracker, slot: str) -> Any:
        return memo().before.get(slot)

    def _reject(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, message: Any
    ) -> dict[str, Any]:
        if is_invalid(message):
            error(dispatcher, message["invalid"], message.get("choices"))
        else:
            error(dispatcher, str(message))
        return {slot: self._before(tracker, slot)}

    def _acknowledge(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, new: Any
    ) -> None:
        """A change of an earlier answer is said in words, old and new:
        "Invitation: e-mail → text message." """
        before = self._before(tracker, slot)
        if before == new or (before is None and not self._out_of_turn(tracker, slot)):
            return
        said = memo().acked
        if slot in said:
            return
        said.add(slot)
        label = SLOT_LABELS.get(slot, slot)
        text = (
            f"{label}: {shown(slot, new)}."
            if before is None
            else f"{label}: {shown(slot, before)} → {shown(slot, new)}."
        )
        dispatcher.utter_message(text=text, custom={"kind": "ack", "slot": slot})

    def _out_of_turn(self, tracker: Tracker, slot: str) -> bool:
        """A first value given while another question was asked ("he's in Berlin" to the
        phone question) is said too, so nothing is taken silently; the pairs that are
        answered together (a date with its time, a channel with its address) are not."""
        asked = tracker.get_slot("requested_slot")
        together = [{"date", "time"}, {"invite_channel", "email"}, {"invite_channel", "phone"},
                    {"service", "amount"}, {"payment_required", "service"}]  # fmt: skip
        # Together only when the asked one is answered too: "$110.50" to the service
        # question is said back, "follow-up, $95" is not.
        answered_with = {asked, slot} in together and asked in understand(tracker)
        return bool(asked) and asked != slot and not answered_with

    def validate_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if is_invalid(value):
            return self._reject(dispatcher, tracker, "date", value)
        try:
            day: date = decode("date", value)
        except SlotValueError:
            return self._reject(
                dispatcher, tracker, "date", "I couldn't read that date. Try “tomorrow” or “Dec 3”."
            )
        now = clinician_now(tracker)
        if day < now.date():
            return self._reject(
                dispatcher,
                tracker,
                "date",
                f"{day.strftime('%A, %B %-d, %Y')} is in the past. Pick today or a later date.",
            )
        if (day - now.date()).days > 366 * 2:
            return self._reject(
                dispatcher, tracker, "date", "That's more than two years ahead. Pick a nearer date."
            )
        out: dict[str, Any] = {"date": encode(day)}
        time_value = tracker.get_slot("time")
        at = decoded("time", time_value)
        if at is not None and self._before(tracker, "time") == time_value:
            problem = self._start_problem(day, at, now)
            if problem:
                error(dispatcher, f"{problem} Please give a time.")
                out["time"] = None
                return out
        self._acknowledge(dispatcher, tracker, "date", out["date"])
        return out

    def _start_problem(self, day: date, at: time, now: datetime) -> str | None:
        """The one rule for a new start (scheduling/commands.py), in the conversation's words
        for a start that has passed."""
        check = starts.check_start(day, at.hour, at.minute, str(now.tzinfo), now)
        if check.start is not None:
            return None
        if check.skipped:
            return check.problem
        when = "today" if day == now.date() else day.strftime("%B %-d")
        return f"{clock(at)} {when} has already passed (it's {clock(now.time())} now)."

    def validate_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if is_invalid(value):
            return self._reject(dispatcher, tracker, "time", value)
        try:
            at: time = decode("time", value)
        except SlotValueError:
            return self._reject(
                dispatcher, tracker, "time", "I couldn't read that time. Try “3pm” or “9:30 am”."
            )
        hhmm = encode(at)
        day = decoded("date", tracker.get_slot("date"))
        if day is not None:
            problem = self._start_problem(day, at, clinician_now(tracker))
            if problem:
                return self._reject(dispatcher, tracker, "time", f"{problem} Pick a later time.")
        self._acknowledge(dispatcher, tracker, "time", hhmm)
        return {"time": hhmm}

    def validate_participant(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if is_invalid(value):
            return self._reject(dispatcher, tracker, "participant", value)
        team, user = sender_of(tracker.sender_id) or ("", "")
        with services().store.reading() as s:
            clinician = clinician_rows.find_clinician(s, team, user)
            contacts_of = clinician.id if clinician else None
            if isinstance(value, dict) and "contact_id" in value:
                contact = (
                    clinician_rows.contact_by_id(s, contacts_of, int(value["contact_id"]))
                    if contacts_of
                    else None
                )
                if contact is None:
                    return self._reject(
                        dispatcher,
                        tracker,
                        "participant",
                        "I can't find that contact. Type a name or initials.",
                    )
            else:
                try:
                    name = extraction.parse_participant(str(value))
                except extraction.ExtractionError as exc:
                    return self._reject(dispatcher, tracker, "participant", str(exc))
                contact = (
                    clinician_rows.contact_by_name(s, contacts_of, name) if contacts_of else None
                )
                if contact is None:
                    self._acknowledge(dispatcher, tracker, "participant", name)
                    return {"participant": name, "contact_id": None}
            # A known contact fills how to reach them, unless this draft already says.
            out: dict[str, Any] = {"participant": contact.name, "contact_id": contact.id}
            known = {
                "invite_channel": contact.invite_channel,
                "email": contact.email,
                "phone": contact.phone,
                "participant_tz": contact.participant_tz,
                "language": contact.language,
            }
            for slot, known_value in known.items():
                if known_value and tracker.get_slot(slot) is None:
                    out[slot] = known_value
        return out

    def validate_invite_channel(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if is_invalid(value) or Channel.invitation(value) is None:
            message = (
                value["invalid"]
                if is_invalid(value)
                else "Choose e-mail, text message or no invitation."
            )
            return self._reject(dispatcher, tracker, "invite_channel", message)
        self._acknowledge(dispatcher, tracker, "invite_channel", value)
        return {"invite_channel": value}

    def validate_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if is_invalid(value):
            return self._reject(dispatcher, tracker, "email", value)
        try:
            address = extraction.parse_email(str(value))
        except extraction.ExtractionError as exc:
            return self._reject(dispatcher, tracker, "email", str(exc))
        self._acknowledge(dispatcher, tracker, "email", address)
        return {"email": address}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        region = services().practice.default_region
        theirs = extraction.region_of_zone(tracker.get_slot("participant_tz"))
        if is_invalid(value) and theirs and theirs != region:
            # A national number read in the participant's country ("030 1234567" in Berlin).
            with contextlib.suppress(extraction.ExtractionError):
                value = extraction.parse_phone(self._raw_text(tracker), region, theirs)
        if is_invalid(value):
            return self._reject(dispatcher, tracker, "phone", value)
        try:
            number = extraction.parse_phone(str(value), region, theirs)
        except extraction.ExtractionError as exc:
            return self._reject(dispatcher, tracker, "phone", str(exc))
        self._acknowledge(dispatcher, tracker, "phone", number)
        return {"phone": number}

    def validate_participant_tz(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if is_invalid(value):
            return self._reject(dispatcher, tracker, "participant_tz", value)
        problem = answers.zone_problem(value)
        if problem:
            return self._reject(dispatcher, tracker, "participant_tz", problem)
        self._acknowledge(dispatcher, tracker, "participant_tz", str(value))
        return {"participant_tz": str(value)}

    def validate_documents(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        practice = services().practice
        if is_invalid(value):
            return self._reject(dispatcher, tracker, "documents", value)
        if value == "none" or practice.package(value) is not None:
            self._acknowledge(dispatcher, tracker, "documents", value)
            return {"documents": value}
        names = ", ".join(p.name for p in practice.documents) or "none are set up"
        return self._reject(
            dispatcher,
            tracker,
            "documents",
            f"That isn't one of the packages ({names}), or say “none”.",
        )

    def validate_payment_required(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not isinstance(value, bool):
            return self._reject(
                dispatcher, tracker, "payment_required", "Answer “yes” to require payment or “no”."
            )
        self._acknowledge(dispatcher, tracker, "payment_required", value)
        if not value:
            return {"payment_required": False, "service": None, "amount": None}
        return {"payment_required": True}

    def validate_service(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        practice = services().practice
        service = practice.service(value) if not is_invalid(value) else None
        if service is None:
            names = ", ".join(s.name for s in practice.services)
            return self._reject(
                dispatcher, tracker, "service", f"That isn't one of the services ({names})."
            )
        out: dict[str, Any] = {"service": service.key}
        self._acknowledge(dispatcher, tracker, "service", service.key)
        if self._before(tracker, "service") not in (None, service.key) and not self._said(
            tracker, "amount"
        ):
            out["amount"] = encode(service.price)  # a new service starts from its own price
            self._acknowledge(dispatcher, tracker, "amount", out["amount"])
        return out

    def _said(self, tracker: Tracker, slot: str) -> bool:
        """Whether this message gave a value for the slot."""
        return slot in understand(tracker)

    def validate_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if is_invalid(value):
            return self._reject(dispatcher, tracker, "amount", value)
        practice = services().practice
        try:
            amount: Decimal = decode("amount", value)
        except SlotValueError:
            return self._reject(
                dispatcher, tracker, "amount", "I couldn't read that amount. Try “120” or “$95.50”."
            )
        problem = editing.amount_problem(amount, practice)  # the one rule, as the Edit form
        if problem:
            return self._reject(dispatcher, tracker, "amount", problem)
        cents = encode(amount.quantize(Decimal("0.01")))
        self._acknowledge(dispatcher, tracker, "amount", cents)
        return {"amount": cents}

    def _default_zone(self, tracker: Tracker) -> str:
        return services().practice.zone_of(tracker.get_slot("clinician_tz"))
