"""The schedule form's validation action: one `extract_<slot>` and `validate_<slot>` a slot.

Extraction reads the entities of the latest message (our NLU puts every slot value it
found there); served to a Rasa assistant whose NLU does not, it runs the same extraction
on the text. Validation applies the rules that need now, the practice or the store.
An invalid value is told once, as one message marked `kind: error`, and the slot keeps
the value it had before the turn, so nothing already given is lost.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from rasa_sdk import Tracker, utils
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import (
    extraction,
    hours,
    needed,
    others_form,
    slot_table,
    sms_consent,
    week_words,
)
from actions.context import actor_of_sender, services
from actions.drafts import new_draft_events
from actions.form_reading import (
    ANSWER_SLOTS,
    KEEP_WORDS,
    MERIDIEM_WORDS,
    MISSES_BEFORE_HELP,
    NONE_WORDS,
    SAME_ZONE_WORDS,
    TURN,
    UNREAD,
    TurnMemo,
    answered_before,
    choice_buttons,
    clinician_now,
    drop_unchanged_candidates,
    fresh_message,
    memo,
    misses_before,
    readings,
    texts,
    understand,
    unread_left_to_the_error,
)
from actions.form_validators import Validators
from dialogue.slots import decoded, encode
from ground.channel import Channel
from ground.jsontypes import JSON


class ValidateScheduleForm(Validators, FormValidationAction):
    def name(self) -> str:
        return "validate_schedule_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        token = TURN.set(TurnMemo())  # what this run works out, for this run only
        try:
            return await self._run(dispatcher, tracker, domain)
        finally:
            TURN.reset(token)

    async def _run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
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
        start: list[EventType] = []
        if not tracker.get_slot("draft_id"):
            start = new_draft_events(tracker)
            tracker.slots.update({e["name"]: e["value"] for e in start})
            if not ANSWER_SLOTS & set(understand(tracker)):
                dispatcher.utter_message(response="utter_greet")
        drop_unchanged_candidates(tracker)
        cleared = self._change_request(tracker, domain)
        tracker.slots.update(cleared)
        found = understand(tracker)
        if isinstance(found.get("hours"), str):
            # "my hours are 9 to 5" that a Rasa classifier handed to the form.
            hours.say_hours_request(dispatcher, tracker, found["hours"])
        accepted = hours.accept(tracker, found)  # the Yes to a start outside the hours
        consented = sms_consent.accept(dispatcher, tracker, found)  # the consent question's answer
        memo().before = dict(tracker.slots)
        answered = answered_before(tracker)  # before validation: the slot asked for this message
        events = await super().run(dispatcher, tracker, domain)
        unread_left_to_the_error(dispatcher)
        self._hint_after_misses(dispatcher, tracker, events)
        series = self._series(dispatcher, tracker)
        wanted = next((e["value"] for e in series), tracker.get_slot("series"))
        outside = hours.ask_if_outside(dispatcher, tracker, wanted, bool(accepted))
        table = self._table_slots(dispatcher, tracker)
        consent = sms_consent.ask_if_needed(dispatcher, tracker)
        return [
            *start, *(SlotSet(k, v) for k, v in cleared.items()), *accepted, *consented,
            *answered, *events, *series, *outside, *table, *consent,
        ]  # fmt: skip

    def _table_slots(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """The slots of the slot table this message gives (actions/slot_table): each set
        and said back, or refused in words."""
        said = slot_table.said_in(understand(tracker), tracker.slots, services().practice)
        # A refusal is no error of the question asked (not one of the table's), which is
        # asked all the same.
        for sentence in (*said.refusals, *said.acks):
            dispatcher.utter_message(text=sentence, custom={"kind": "info"})
        return [SlotSet(name, value) for name, value in said.values.items()]

    def _series(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
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
        self, dispatcher: CollectingDispatcher, tracker: Tracker, events: list[EventType]
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
    ) -> EventType | None:
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        return SlotSet("requested_slot", others_form.next_requested(required, tracker.slots))

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # Extract every form slot the message mentions, not only those required so far:
        # "by email jane@example.com" fills the channel and the address in one turn.
        events: dict[str, JSON] = {}
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

    def _change_request(self, tracker: Tracker, domain: DomainDict) -> dict[str, JSON]:
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

    def extract_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        self._say_notes(dispatcher, tracker)
        found = self._extract("date", tracker)
        days = self._shift(tracker, "days")
        if days and not found:
            current = decoded("date", tracker.get_slot("date"))
            if current is None:
                return {"date": {"invalid": "There's no date yet to move; which date?"}}
            return {"date": encode(current + timedelta(days=days))}
        return found

    def extract_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        found = self._extract("time", tracker)
        if not found:
            found = self._other_half_of_the_day(tracker)
        minutes = self._shift(tracker, "minutes")
        if not minutes or found:
            return found
        return self._shifted(tracker, minutes)

    def _shift(self, tracker: Tracker, unit: str) -> int | None:
        """ "An hour later", "move it to the next day": the shift the message asks for, in
        days or minutes (the reading's `shift`)."""
        shift = understand(tracker).get("shift")
        amount = shift.get(unit) if isinstance(shift, dict) else None
        return amount if isinstance(amount, int) and not isinstance(amount, bool) else None

    def _other_half_of_the_day(self, tracker: Tracker) -> dict[str, JSON]:
        """ "pm", "in the morning" said alone about the draft's time: the same clock time in
        the other half of the day ("at 8" read as 8 AM, then "pm")."""
        half = MERIDIEM_WORDS.get(self._text(tracker).rstrip(".!"))
        current = decoded("time", tracker.get_slot("time"))
        if half is None or current is None or (current.hour >= 12) == (half == "pm"):
            return {}
        hour = current.hour % 12 + (12 if half == "pm" else 0)
        return {"time": encode(current.replace(hour=hour))}

    def _shifted(self, tracker: Tracker, minutes: int) -> dict[str, JSON]:
        """ "An hour later", "push it back 30 minutes": the time moved, and the date with it
        when it crosses midnight."""
        current = decoded("time", tracker.get_slot("time"))
        day = decoded("date", tracker.get_slot("date"))
        if current is None:
            return {"time": {"invalid": "There's no time yet to move; what time should it be?"}}
        start_day = day or clinician_now(tracker).date()
        moved = datetime.combine(start_day, current) + timedelta(minutes=minutes)
        out: dict[str, JSON] = {"time": encode(moved.time())}
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
        given = found.get("choices")
        offers = {
            str(entry.get("slot")): readings(entry.get("choices"))
            for entry in (given if isinstance(given, list) else [])
            if isinstance(entry, dict)
        }
        for note in texts(found.get("notes")):
            # The note of a close call carries its other reading as a button.
            slot = "date" if note.startswith("I took ") else "phone" if "I read " in note else None
            offer = offers.pop(slot, None) if slot else None
            buttons = choice_buttons(slot, offer) if slot and offer else []
            dispatcher.utter_message(text=note, buttons=buttons, custom={"kind": "note"})
        unread = [w for w in texts(found.get("unread")) if w not in self._contact_words(tracker)]
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
        if not turn.contact_looked_up:
            turn.contact, turn.contact_looked_up = self._look_up_contact(tracker), True
        return turn.contact

    def _look_up_contact(self, tracker: Tracker) -> str | None:
        found = understand(tracker)
        unread = texts(found.get("unread"))
        if not unread or "participant" in found or tracker.get_slot("requested_slot"):
            return None
        spans = [
            " ".join(unread[first : first + size])
            for size in range(min(len(unread), 4), 0, -1)
            for first in range(len(unread) - size + 1)
        ]  # the longest first
        return services().scheduler.known_contact(actor_of_sender(tracker.sender_id), spans)

    def extract_participant(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
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
    ) -> dict[str, JSON]:
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
    ) -> dict[str, JSON]:
        found = self._extract("email", tracker)
        self._unused_address(dispatcher, tracker, found, Channel.EMAIL, "e-mail address")
        return found

    def extract_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        found = self._extract("phone", tracker)
        self._unused_address(dispatcher, tracker, found, Channel.SMS, "number")
        return found

    def _unused_address(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        found: dict[str, JSON],
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
    ) -> dict[str, JSON]:
        if self._requested(tracker, "participant_tz") and self._text(tracker) in SAME_ZONE_WORDS:
            return {"participant_tz": self._default_zone(tracker)}
        return self._extract("participant_tz", tracker)

    def extract_others(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        return others_form.extract(tracker, understand(tracker))

    def extract_documents(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        if self._requested(tracker, "documents") and self._text(tracker) in NONE_WORDS:
            return {"documents": "none"}
        return self._extract("documents", tracker)

    def extract_payment_required(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
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
    ) -> dict[str, JSON]:
        return self._extract("service", tracker)

    def extract_amount(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        if self._requested(tracker, "amount") and self._text(tracker) in KEEP_WORDS:
            service = services().practice.service(tracker.get_slot("service"))
            if service is not None:
                return {"amount": encode(service.price)}
        return self._extract("amount", tracker)

    # Validation: the rules ----------------------------------------------------------------
