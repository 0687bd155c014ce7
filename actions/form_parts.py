"""What the form's extractors and validators share: the message's text, the value a slot
held before this turn, and the words of a refusal or an acknowledgement."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import services
from actions.form_reading import SLOT_LABELS, buttons_of, error, is_invalid, memo, shown, understand
from ground.jsontypes import JSON


class FormParts:
    """The form's common steps (mixed into `ValidateScheduleForm`)."""

    def _extract(self, slot: str, tracker: Tracker) -> dict[str, JSON]:
        found = understand(tracker)
        return {slot: found[slot]} if slot in found else {}

    def _requested(self, tracker: Tracker, slot: str) -> bool:
        return tracker.get_slot("requested_slot") == slot

    def _raw_text(self, tracker: Tracker) -> str:
        return str((tracker.latest_message or {}).get("text") or "")

    def _text(self, tracker: Tracker) -> str:
        return " ".join(str((tracker.latest_message or {}).get("text") or "").casefold().split())

    def _before(self, tracker: Tracker, slot: str) -> JSON:
        return memo().before.get(slot)

    def _reject(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, message: JSON
    ) -> dict[str, JSON]:
        """The slot keeps what it held before; `message` says why, a refused reading
        ({"invalid": why}) with its buttons."""
        if is_invalid(message):
            error(dispatcher, str(message["invalid"]), buttons_of(message.get("choices")))
        else:
            error(dispatcher, str(message))
        return {slot: self._before(tracker, slot)}

    def _acknowledge(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, new: JSON
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

    def _said(self, tracker: Tracker, slot: str) -> bool:
        """Whether this message gave a value for the slot."""
        return slot in understand(tracker)

    def _default_zone(self, tracker: Tracker) -> str:
        return services().practice.zone_of(tracker.get_slot("clinician_tz"))
