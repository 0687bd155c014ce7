"""The form's validators, one a slot: each answer checked by the conversation's rules,
said back when it changes a value, refused in words (and asked again) when it cannot be
used."""

from __future__ import annotations

import contextlib
from datetime import date, datetime, time
from decimal import Decimal

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import (
    answers,
    extraction,
    others_form,
)
from actions.context import actor_of_sender, services
from actions.form_parts import FormParts
from actions.form_reading import clinician_now, error, is_invalid
from dialogue.slots import (
    SlotValueError,
    decoded,
    encode,
    read_date,
    read_id,
    read_money,
    read_time,
)
from ground.channel import Channel
from ground.formatting import clock
from ground.jsontypes import JSON
from scheduling import editing, starts


class Validators(FormParts):
    """`validate_<slot>` for every slot of the form."""

    def validate_others(
        self, value: JSON, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        return others_form.validate(value, dispatcher, tracker, self._before(tracker, "others"))

    def validate_date(
        self, value: JSON, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        if is_invalid(value):
            return self._reject(dispatcher, tracker, "date", value)
        try:
            day = read_date(value)
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
        out: dict[str, JSON] = {"date": encode(day)}
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
        self, value: JSON, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        if is_invalid(value):
            return self._reject(dispatcher, tracker, "time", value)
        try:
            at = read_time(value)
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
        self, value: JSON, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        if is_invalid(value):
            return self._reject(dispatcher, tracker, "participant", value)
        scheduler, who = services().scheduler, actor_of_sender(tracker.sender_id)
        if isinstance(value, dict) and "contact_id" in value:
            try:
                contact = scheduler.contact_by_id(who, read_id(value["contact_id"]))
            except SlotValueError:
                contact = None
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
            contact = scheduler.contact_named(who, name)
            if contact is None:
                self._acknowledge(dispatcher, tracker, "participant", name)
                return {"participant": name, "contact_id": None}
        # A known contact fills how to reach them, unless this draft already says.
        out: dict[str, JSON] = {"participant": contact.name, "contact_id": contact.id}
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
        self, value: JSON, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        if is_invalid(value) or Channel.invitation(value) is None:
            message = (
                str(value["invalid"])
                if is_invalid(value)
                else "Choose e-mail, text message or no invitation."
            )
            return self._reject(dispatcher, tracker, "invite_channel", message)
        self._acknowledge(dispatcher, tracker, "invite_channel", value)
        return {"invite_channel": value}

    def validate_email(
        self, value: JSON, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        if is_invalid(value):
            return self._reject(dispatcher, tracker, "email", value)
        try:
            address = extraction.parse_email(str(value))
        except extraction.ExtractionError as exc:
            return self._reject(dispatcher, tracker, "email", str(exc))
        self._acknowledge(dispatcher, tracker, "email", address)
        return {"email": address}

    def validate_phone(
        self, value: JSON, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
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
        self, value: JSON, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        if is_invalid(value):
            return self._reject(dispatcher, tracker, "participant_tz", value)
        problem = answers.zone_problem(value)
        if problem:
            return self._reject(dispatcher, tracker, "participant_tz", problem)
        self._acknowledge(dispatcher, tracker, "participant_tz", str(value))
        return {"participant_tz": str(value)}

    def validate_documents(
        self, value: JSON, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        practice = services().practice
        if is_invalid(value):
            return self._reject(dispatcher, tracker, "documents", value)
        if isinstance(value, str) and (value == "none" or practice.package(value) is not None):
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
        self, value: JSON, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        if not isinstance(value, bool):
            return self._reject(
                dispatcher, tracker, "payment_required", "Answer “yes” to require payment or “no”."
            )
        self._acknowledge(dispatcher, tracker, "payment_required", value)
        if not value:
            return {"payment_required": False, "service": None, "amount": None}
        return {"payment_required": True}

    def validate_service(
        self, value: JSON, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        practice = services().practice
        service = practice.service(value) if isinstance(value, str) else None
        if service is None:
            names = ", ".join(s.name for s in practice.services)
            return self._reject(
                dispatcher, tracker, "service", f"That isn't one of the services ({names})."
            )
        out: dict[str, JSON] = {"service": service.key}
        self._acknowledge(dispatcher, tracker, "service", service.key)
        if self._before(tracker, "service") not in (None, service.key) and not self._said(
            tracker, "amount"
        ):
            out["amount"] = encode(service.price)  # a new service starts from its own price
            self._acknowledge(dispatcher, tracker, "amount", out["amount"])
        return out

    def validate_amount(
        self, value: JSON, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, JSON]:
        if is_invalid(value):
            return self._reject(dispatcher, tracker, "amount", value)
        practice = services().practice
        try:
            amount = read_money(value)
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
