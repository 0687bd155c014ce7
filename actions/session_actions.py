"""The conversation's other actions: the questions that need data, summary, save, list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import booking
from actions.context import services
from actions.extraction.zones import COMMON_ZONE_CHOICES
from actions.formatting import money, phone, short_zone, when, zone_label
from store import repos

# The zone question's buttons, from the one zone vocabulary.
COMMON_ZONES = COMMON_ZONE_CHOICES


def inform(slot: str, value: Any) -> str:
    import json

    return "/inform" + json.dumps({slot: value}, separators=(",", ":"))


def button(title: str, payload: str) -> dict[str, str]:
    return {"title": title, "payload": payload}


def clinician_of(s: Any, tracker: Tracker) -> Any:
    team, _, user = tracker.sender_id.partition(":")
    return repos.get_clinician(s, team, user)


def clinician_id_of(s: Any, tracker: Tracker) -> int | None:
    team, _, user = tracker.sender_id.partition(":")
    found = repos.find_clinician(s, team, user)
    return found.id if found else None


class ActionAskParticipant(Action):
    def name(self) -> str:
        return "action_ask_participant"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        with services().store.reading() as s:
            clinician_id = clinician_id_of(s, tracker)
            recent = repos.find_contacts(s, clinician_id, "", limit=5) if clinician_id else []
            buttons = [button(c.name, inform("contact_id", c.id)) for c in recent]
        text = "Who is the session with? Type a name or initials"
        text += ", or pick someone you've scheduled before." if buttons else "."
        dispatcher.utter_message(text=text, buttons=buttons, custom={"widget": "contact_select"})
        return []


class ActionAskParticipantTz(Action):
    def name(self) -> str:
        return "action_ask_participant_tz"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        mine = tracker.get_slot("clinician_tz") or services().practice.default_timezone
        default = mine
        zones = [default, *(z for z in COMMON_ZONES if z != default)]
        who = tracker.get_slot("participant") or "the participant"
        buttons = [
            button(
                f"{short_zone(z)} (same as you)" if z == mine else short_zone(z),
                inform("participant_tz", z),
            )
            for z in zones
        ]
        dispatcher.utter_message(
            text=f"What time zone is {who} in? Say “same” for yours ({short_zone(default)}), "
            "or type a zone or city.",
            buttons=buttons,
            custom={"widget": "zone_select", "default": default},
        )
        return []


class ActionAskDocuments(Action):
    def name(self) -> str:
        return "action_ask_documents"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        practice = services().practice
        buttons = [button(p.name, inform("documents", p.key)) for p in practice.documents]
        buttons.append(button("No documents", inform("documents", "none")))
        dispatcher.utter_message(
            text="Which package of documents should the participant complete?",
            buttons=buttons,
            custom={"widget": "documents_select"},
        )
        return []


class ActionAskService(Action):
    def name(self) -> str:
        return "action_ask_service"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        practice = services().practice
        buttons = [
            button(f"{s.name} — {money(s.price, practice.currency)}", inform("service", s.key))
            for s in practice.services
        ]
        dispatcher.utter_message(
            text="Which service?", buttons=buttons, custom={"widget": "service_select"}
        )
        return []


class ActionAskAmount(Action):
    def name(self) -> str:
        return "action_ask_amount"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        practice = services().practice
        service = practice.service(tracker.get_slot("service"))
        price = service.price if service else None
        if service is None or price is None:
            text = "What amount should the participant pay?"
        else:
            text = (
                f"The price of {service.name} is {money(price, practice.currency)}. "
                "Say “ok” to charge that, or type another amount."
            )
        dispatcher.utter_message(
            text=text,
            buttons=[
                button(f"Charge {money(price, practice.currency)}", inform("amount", str(price)))
            ]
            if price is not None
            else [],
            custom={"widget": "amount_input", "initial": str(price) if price is not None else None},
        )
        return []


SUMMARY_SLOTS = (
    "date",
    "time",
    "participant",
    "invite_channel",
    "email",
    "phone",
    "participant_tz",
    "documents",
    "payment_required",
    "service",
    "amount",
)
CHANGED = "  ✎ _changed_"


def summary_values(slots: dict[str, Any]) -> dict[str, Any]:
    """What a summary shows, by slot: Save stores these and nothing else."""
    return {slot: slots.get(slot) for slot in SUMMARY_SLOTS}


def summary_lines(slots: dict[str, Any], changed: frozenset[str] = frozenset()) -> list[str]:
    """The draft in words, as the clinician checks it before Save; the lines of slots
    changed since the last summary they saw are marked."""
    practice = services().practice
    draft = booking.draft_from_slots(slots, practice)
    mine = slots.get("clinician_tz") or practice.default_timezone

    def mark(*names: str) -> str:
        return CHANGED if changed.intersection(names) else ""

    lines = [
        "*New scheduled session*: please check, then Save.",
        f"• When: {when(draft.start, mine)} (your time), {draft.duration_min} min"
        + mark("date", "time"),
    ]
    if draft.participant_tz != mine:
        lines.append(f"   {when(draft.start, draft.participant_tz)} for {draft.participant}")
    lines.append(f"• Participant: {draft.participant}" + mark("participant"))
    invitation = {
        "email": f"E-mail to {draft.email}",
        "sms": f"Text message to {phone(draft.phone or '')}",
        "none": "No invitation",
    }[draft.invite_channel]
    lines.append(f"• Invitation: {invitation}" + mark("invite_channel", "email", "phone"))
    lines.append(
        f"• Participant's time zone: {zone_label(draft.participant_tz)}" + mark("participant_tz")
    )
    package = practice.package(draft.documents)
    lines.append(f"• Documents: {package.name if package else 'None'}" + mark("documents"))
    if services().payments_enabled:
        service = practice.service(draft.service)
        paid = mark("payment_required", "service", "amount")
        if service and draft.amount is not None:
            lines.append(
                f"• Payment: {service.name}, {money(draft.amount, practice.currency)}" + paid
            )
        else:
            lines.append("• Payment: not required" + paid)
    return lines


def show_summary(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """Show the summary, marking what changed since the last one, and remember what it
    showed: Save stores exactly that."""
    slots = tracker.current_slot_values()
    values = summary_values(slots)
    before = tracker.get_slot("summary_shown")
    changed = frozenset(
        slot
        for slot in SUMMARY_SLOTS
        if isinstance(before, dict) and before.get(slot) != values[slot]
    )
    dispatcher.utter_message(
        response="utter_confirm",
        summary="\n".join(summary_lines(slots, changed)),
        custom={"kind": "summary", "changed": sorted(changed)},
    )
    return [SlotSet("summary_shown", values)]


class ActionShowSummary(Action):
    def name(self) -> str:
        return "action_show_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        return show_summary(dispatcher, tracker)


class ActionSaveSession(Action):
    """Save once per draft: a second Save of the same draft finds the first session."""

    def name(self) -> str:
        return "action_save_session"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        ctx = services()
        slots = tracker.current_slot_values()
        if tracker.get_slot("summary_shown") != summary_values(slots):
            # Something changed after the last summary: nothing is stored unseen.
            dispatcher.utter_message(
                text="The draft changed since the summary you saw; please check it again.",
                custom={"kind": "error"},
            )
            return show_summary(dispatcher, tracker)
        draft = booking.draft_from_slots(slots, ctx.practice)
        now = datetime.now(UTC)
        if draft.start <= now:
            dispatcher.utter_message(
                text="That start time has passed while we were talking. Please pick a new time.",
                custom={"kind": "error"},
            )
            return [SlotSet("time", None)]
        with ctx.store.unit() as s:
            clinician = clinician_of(s, tracker)
            session, created = booking.book(s, clinician, draft, ctx.practice, now)
            enter = booking.enter_meeting_url(ctx.settings.public_url, session)
            page = booking.participant_url(ctx.settings.public_url, session)
            public_id = session.public_id
        mine = slots.get("clinician_tz") or ctx.practice.default_timezone
        text = f"Saved: session with {draft.participant}, {when(draft.start, mine)}"
        if draft.participant_tz != mine:
            text += f" ({when(draft.start, draft.participant_tz)} for them)"
        text += "."
        configured = {
            "email": ctx.settings.email_configured,
            "sms": ctx.settings.sms_configured,
        }.get(draft.invite_channel)
        if configured:
            text += " The invitation is on its way."
        elif configured is False:
            kind = "E-mail" if draft.invite_channel == "email" else "Text messaging"
            text += (
                f" {kind} isn't set up here, so the invitation goes to the local outbox"
                " (`sessionbot outbox`)."
            )
        dispatcher.utter_message(
            text=text if created else "That session was already saved.",
            custom={
                "kind": "saved",
                "session_id": public_id,
                "enter_meeting_url": enter,
                "participant_url": page,
                "start": draft.start.astimezone(UTC).isoformat(),
                "clinician_tz": mine,
                "participant_tz": draft.participant_tz,
            },
        )
        return [SlotSet("saved_session_id", public_id)]


class ActionListSessions(Action):
    def name(self) -> str:
        return "action_list_sessions"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        ctx = services()
        mine = tracker.get_slot("clinician_tz") or ctx.practice.default_timezone
        with ctx.store.reading() as s:
            clinician = clinician_of(s, tracker)
            upcoming = repos.list_sessions(s, clinician.id, after=datetime.now(UTC), limit=10)
            total = repos.count_sessions(s, clinician.id, after=datetime.now(UTC))
            lines = [
                f"• {when(x.start_at, clinician.tz or mine)}: {x.participant}" for x in upcoming
            ]
        if not lines:
            dispatcher.utter_message(text="You have no upcoming sessions.", custom={"kind": "list"})
            return []
        more = f"\n…and {total - len(lines)} more." if total > len(lines) else ""
        dispatcher.utter_message(
            text=f"Your upcoming sessions ({total}):\n" + "\n".join(lines) + more,
            custom={"kind": "list"},
        )
        return []
