"""The summary the clinician checks before Save: every answer in words, what changed since
the last one marked, each participant's time in their zone, and a series' dates."""

from __future__ import annotations

from collections.abc import Mapping

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import slot_table, week_words
from actions.context import actor_of_sender, services
from actions.drafts import SUMMARY_SLOTS, complete_draft, say_missing
from dialogue.slots import decoded
from ground.formatting import money, phone, when, zone_label
from ground.jsontypes import JSON
from ground.session import SessionSpec

CHANGED = "  ✎ _changed_"


def summary_values(slots: Mapping[str, JSON]) -> dict[str, JSON]:
    """What a summary shows, by slot: Save stores these and nothing else."""
    return {slot: slots.get(slot) for slot in SUMMARY_SLOTS}


def others_lines(draft: SessionSpec, marked: str) -> list[str]:
    """Each other participant's own invitation and zone (couples and family sessions)."""
    lines = []
    for person in draft.participants[1:]:
        address = phone(person.phone or "") if person.channel.address == "phone" else person.email
        invitation = person.channel.words.summary.format(address=address)
        lines.append(f"• {person.name}: {invitation}, {zone_label(person.tz)}" + marked)
    return lines


def summary_lines(
    slots: Mapping[str, JSON], draft: SessionSpec, changed: frozenset[str] = frozenset()
) -> list[str]:
    """The draft in words, as the clinician checks it before Save; the lines of slots
    changed since the last summary they saw are marked."""
    practice = services().practice
    mine = practice.zone_of(decoded("clinician_tz", slots.get("clinician_tz")))

    def mark(*names: str) -> str:
        return CHANGED if changed.intersection(names) else ""

    lines = [
        "*New scheduled session*: please check, then Save.",
        f"• When: {when(draft.start, mine)} (your time), {draft.duration_min} min"
        + mark("date", "time", *slot_table.shown_in("when")),
    ]
    for person in draft.participants:
        if person.tz != mine:
            lines.append(f"   {when(draft.start, person.tz)} for {person.name}")
    names = ", ".join(person.name for person in draft.participants)
    lines.append(f"• Participant: {names}" + mark("participant"))
    address = (
        phone(draft.lead.phone or "") if draft.lead.channel.address == "phone" else draft.lead.email
    )
    invitation = draft.lead.channel.words.summary.format(address=address)
    lines.append(f"• Invitation: {invitation}" + mark("invite_channel", "email", "phone"))
    lines.append(f"• Participant's time zone: {zone_label(draft.lead.tz)}" + mark("participant_tz"))
    lines += others_lines(draft, mark("others"))
    lines += slot_table.summary_lines(slots, practice, mark)
    package = practice.package(draft.documents)
    lines.append(f"• Documents: {package.name if package else 'None'}" + mark("documents"))
    if services().payments_enabled:
        service = practice.service(draft.service)
        paid = mark("payment_required", "service", "amount")
        if service and draft.price is not None:
            price = money(draft.price.amount, draft.price.currency)
            lines.append(f"• Payment: {service.name}, {price}" + paid)
        else:
            lines.append("• Payment: not required" + paid)
    return lines


def week_lines(
    tracker: Tracker, slots: Mapping[str, JSON], draft: SessionSpec, changed: frozenset[str]
) -> list[str]:
    """What the summary adds from the clinician's week: the series' dates (or why it
    can't be booked), or what the one session overlaps (they may still save)."""
    wanted = week_words.series_of(slots.get("series"))
    week = services().scheduler.draft_week(actor_of_sender(tracker.sender_id), draft, wanted)
    if week is None:
        return []  # nobody to look up; Save says so
    preview = week.series
    if preview is None:
        return [f"⚠ {week.overlap} You can still save it."] if week.overlap else []
    if preview.problem:
        return [
            f"⚠ Repeats: {preview.problem}",
            "   Say “just once” to book one session, or give the series again.",
        ]
    mark = CHANGED if "series" in changed else ""
    head = "• Repeats: " + preview.lines[0] + mark
    return [head, *(f"   {x}" for x in preview.lines[1:])]


def show_summary(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Show the summary, marking what changed since the last one, and remember what it
    showed: Save stores exactly that."""
    slots = tracker.current_slot_values()
    draft = complete_draft(slots)
    if draft is None:
        say_missing(dispatcher, slots)
        return []
    values = summary_values(slots)
    before = tracker.get_slot("summary_shown")
    changed = frozenset(
        slot
        for slot in SUMMARY_SLOTS
        if isinstance(before, dict) and before.get(slot) != values[slot]
    )
    dispatcher.utter_message(
        response="utter_confirm",
        summary="\n".join(
            [*summary_lines(slots, draft, changed), *week_lines(tracker, slots, draft, changed)]
        ),
        custom={"kind": "summary", "changed": sorted(changed)},
    )
    return [SlotSet("summary_shown", values)]


class ActionShowSummary(Action):
    def name(self) -> str:
        return "action_show_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return show_summary(dispatcher, tracker)
