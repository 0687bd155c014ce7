"""The form's other participants (couples and family sessions): the `others` slot.

It holds participants 2..N as a list of objects (`participant`, `invite_channel`,
`email`, `phone`, `participant_tz`). A name is added ("with JD and MK", "add her partner
Sam") or taken off ("remove MK") in any message, in the form or at the summary, and each
change is said back. Each one added is then asked, in turn, how their invitation goes
(their e-mail or mobile number, or no invitation) and, if not the first participant's,
their zone: the answer fills theirs, never the first participant's slots. The practice's
`max_participants` is said when passed; nobody is cut silently.
"""

from __future__ import annotations

from collections.abc import Mapping

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import services
from actions.questions import AskAction
from dialogue.slots import Other, encode, other
from ground.channel import Channel
from ground.formatting import phone
from ground.jsontypes import JSON
from ground.zones import zone_label

SLOT = "others"
# The slots an answer to "how is MK invited?" would otherwise fill for the first participant.
ANSWER_SLOTS = ("invite_channel", "email", "phone", "participant_tz", "participant")


def listed(raw: JSON) -> list[Other]:
    """The slot's value as a list of participants (anything else: none)."""
    people = [other(p) for p in raw] if isinstance(raw, list) else []
    return [p for p in people if p is not None]


def pending(people: list[Other]) -> Other | None:
    """The first one whose invitation is not settled yet (asked next)."""
    for person in people:
        channel = Channel.invitation(person.get("invite_channel"))
        if channel is None or (channel.address and not person.get(channel.address)):
            return person
    return None


def next_requested(required: list[str], slots: Mapping[str, JSON]) -> str | None:
    """The slot to ask next: the first required one not answered, `others` while one
    of them is still to be asked about (its value is a list, never empty)."""
    for slot in required:
        if slots.get(slot) is None or (slot == SLOT and pending(listed(slots.get(slot)))):
            return slot
    return None


def answering(tracker: Tracker) -> bool:
    return tracker.get_slot("requested_slot") == SLOT


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _names(said: Mapping[str, JSON], change: str) -> list[str]:
    """The names a message adds or removes ({"add": [names], "remove": [names]})."""
    names = said.get(change)
    return [str(name) for name in names] if isinstance(names, list) else []


def extract(tracker: Tracker, found: Mapping[str, JSON]) -> dict[str, JSON]:
    """The new list when this message changes it ({} when it does not)."""
    people = listed(tracker.get_slot(SLOT))
    before = [p.copy() for p in people]
    said = found.get(SLOT)
    if isinstance(said, dict):
        for name in _names(said, "remove"):
            people = [p for p in people if not _same(p["participant"], name)]
        lead = str(tracker.get_slot("participant") or "")
        for name in _names(said, "add"):
            if not any(_same(p["participant"], name) for p in people) and not _same(lead, name):
                people.append({"participant": name})
    if answering(tracker):
        person = pending(people)
        if person is not None:
            _fill(person, found, tracker)
    if people == before and not (isinstance(said, dict) and said.get("remove")):
        return {}
    return {SLOT: encode(people)}


def _fill(person: Other, found: Mapping[str, JSON], tracker: Tracker) -> None:
    email, number = found.get("email"), found.get("phone")
    channel = Channel.invitation(found.get("invite_channel"))
    if channel is None:
        channel = Channel.EMAIL if isinstance(email, str) else None
        channel = Channel.SMS if channel is None and isinstance(number, str) else channel
    if channel is not None:
        person["invite_channel"] = channel.value
    if isinstance(email, str):
        person["email"] = email
    if isinstance(number, str):
        person["phone"] = number
    zone = found.get("participant_tz")
    if isinstance(zone, str):
        person["participant_tz"] = zone
    person.setdefault("participant_tz", tracker.get_slot("participant_tz"))


def validate(
    value: JSON, dispatcher: CollectingDispatcher, tracker: Tracker, before_raw: JSON
) -> dict[str, JSON]:
    """The practice's limit, then each change said back."""
    people, before = listed(value), listed(before_raw)
    limit = services().practice.max_participants
    if 1 + len(people) > limit:
        refused = ", ".join(p["participant"] for p in people[len(before) :]) or "them"
        dispatcher.utter_message(
            text=f"A session can have at most {limit} participants (the practice's limit), "
            f"so I didn't add {refused}"
            f": it has {1 + len(before)}. Remove someone first (“remove MK”).",
            custom={"kind": "error"},
        )
        return {SLOT: encode(before or None)}
    names = {p["participant"].casefold() for p in people}
    for gone in before:
        if gone["participant"].casefold() not in names:
            dispatcher.utter_message(text=f"Removed {gone['participant']}.", custom={"kind": "ack"})
    old = {p["participant"].casefold(): p for p in before}
    for person in people:
        earlier = old.get(person["participant"].casefold())
        if earlier is None:
            dispatcher.utter_message(
                text=f"Added {person['participant']} to the session.", custom={"kind": "ack"}
            )
        elif earlier != person and pending([person]) is None:
            dispatcher.utter_message(
                text=f"{person['participant']}: {invitation_words(person)}.",
                custom={"kind": "ack"},
            )
    return {SLOT: encode(people or None)}


def invitation_words(person: Other) -> str:
    channel = Channel.invitation(person.get("invite_channel")) or Channel.NONE
    address = (
        phone(person.get("phone") or "") if channel.address == "phone" else person.get("email")
    )
    words = channel.words.summary.format(address=address)
    zone = person.get("participant_tz")
    return f"{words}, {zone_label(zone)}" if zone else words


class ActionAskOthers(AskAction):
    """ "How should MK get their invitation?": the next other participant, by name."""

    def name(self) -> str:
        return "action_ask_others"

    async def ask(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        dispatcher.utter_message(text=question(tracker))


def question(tracker: Tracker) -> str:
    person = pending(listed(tracker.get_slot(SLOT)))
    name = person["participant"] if person else "the other participant"
    return (
        f"How should {name} get their invitation? Their e-mail address or mobile number "
        f"(say where they are if not with {tracker.get_slot('participant') or 'the first'}), "
        "or “no invitation”."
    )
