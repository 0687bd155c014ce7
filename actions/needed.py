"""Which answers a draft needs before Save: the one rule, read by the form (which slot to
ask next) and by Save and the summary (what is still missing, in words)."""

from __future__ import annotations

from collections.abc import Mapping

from ground.channel import Channel
from ground.jsontypes import JSON

# How a missing answer is named to the clinician ("There's more to answer: the date").
SAID = {
    "invite_channel": "invitation",
    "participant_tz": "time zone",
    "payment_required": "payment",
    "others": "the other participants' invitations",
}


def needed_slots(slots: Mapping[str, JSON], *, payments: bool) -> list[str]:
    """The slots this draft needs, in the order they are asked: e-mail only for e-mail
    invitations, phone only for text, payment when the practice takes payments."""
    needed = ["date", "time", "participant", "invite_channel"]
    channel = Channel.invitation(slots.get("invite_channel"))
    if channel is not None and channel.address:
        needed.append(channel.address)
    needed.append("participant_tz")
    if slots.get("others") is not None:  # asked while one is pending (actions/others_form)
        needed.append("others")
    needed.append("documents")
    if payments:
        needed.append("payment_required")
        if slots.get("payment_required"):
            needed += ["service", "amount"]
    return needed


def _others_pending(raw: JSON) -> bool:
    """Another participant whose invitation is not settled yet (asked in turn)."""
    for person in raw if isinstance(raw, list) else []:
        if not isinstance(person, dict):
            continue
        channel = Channel.invitation(person.get("invite_channel"))
        if channel is None or (channel.address and not person.get(channel.address)):
            return True
    return False


def missing(slots: Mapping[str, JSON], *, payments: bool) -> list[str]:
    """The needed answers not given yet, in words; "draft" when there is no draft."""
    said = []
    for slot in needed_slots(slots, payments=payments):
        value = slots.get(slot)
        if slot == "others":
            if _others_pending(value):
                said.append(SAID[slot])
        elif value is None if slot == "payment_required" else not value:  # "no payment" answers
            channel = Channel.of(slots.get("invite_channel"))
            address = channel is not None and slot == channel.address
            said.append(channel.words.address_said if address and channel else SAID.get(slot, slot))
    if not slots.get("draft_id"):
        said.append("draft")
    return said
