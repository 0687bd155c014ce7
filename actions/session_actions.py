"""The conversation's other actions: the questions that need data, summary, save, list.

Every action answers on any tracker (missing slots, None values, no latest message, a
sender id that names nobody): a clear message, never an exception. What an action looks
up is keyed by the tracker's sender ("TEAM:USER") and checked against that clinician, so
no tracker can make it read or answer with another clinician's session. The control
actions at the end (cancel, start over, back) are what a Rasa assistant's rules call;
the embedded runner does the same steps itself.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import answers, cancel_actions, hold, languages, needed, week_words
from actions.context import actor_of_sender, sender_of, services
from dialogue.domain import FORM, render_response
from dialogue.slots import decoded, spec_from_slots
from ground.channel import Channel
from ground.formatting import money, phone, short_zone, when, zone_label
from ground.session import SessionSpec
from ground.zones import COMMON_ZONE_CHOICES
from scheduling import agendas, booking, clashes, recurrence, results, series_plans
from scheduling.service import Actor
from store import audit, clinician_rows, session_rows

# Messages that answer nothing: "back" never undoes them.
NO_ANSWER_INTENTS = {"help", "list_sessions", "save", "hold"}


# The zone question's buttons, from the one zone vocabulary.
COMMON_ZONES = COMMON_ZONE_CHOICES


def inform(slot: str, value: Any) -> str:
    return "/inform" + json.dumps({slot: value}, separators=(",", ":"))


def button(title: str, payload: str) -> dict[str, str]:
    return {"title": title, "payload": payload}


def clinician_of(s: Any, tracker: Tracker) -> Any:
    """The tracker's clinician, made on first sight; None when the sender names nobody."""
    who = sender_of(tracker.sender_id)
    return clinician_rows.get_clinician(s, *who) if who else None


def actor_of(tracker: Tracker) -> Actor:
    """The tracker's clinician as the scheduling service takes them (the sender was
    checked: an action that changes anything runs only for a sender naming a clinician)."""
    who = actor_of_sender(tracker.sender_id) if sender_of(tracker.sender_id) else None
    if who is None:
        raise ValueError("a conversation whose sender names no clinician")
    return who


def clinician_id_of(s: Any, tracker: Tracker) -> int | None:
    who = sender_of(tracker.sender_id)
    found = clinician_rows.find_clinician(s, *who) if who else None
    return found.id if found else None


def clinician_tz_of(tracker: Tracker) -> str:
    """The clinician's zone: the draft's, else the one stored for them, else the practice's."""
    ctx = services()
    given = tracker.get_slot("clinician_tz")
    if isinstance(given, str) and given:
        return given
    who = sender_of(tracker.sender_id)
    if who:
        with ctx.store.reading() as s:
            found = clinician_rows.find_clinician(s, *who)
            if found is not None and found.tz:
                return str(found.tz)
    return ctx.practice.default_timezone


def new_draft_events(tracker: Tracker) -> list[dict[str, Any]]:
    """A fresh draft: its own id (the idempotency key of its Save) and the clinician's zone."""
    return [
        SlotSet("draft_id", uuid.uuid4().hex),
        SlotSet("clinician_tz", clinician_tz_of(tracker)),
    ]


def clear_draft_events() -> list[dict[str, Any]]:
    return [SlotSet(name, None) for name in DRAFT_SLOTS]


def missing_answers(slots: dict[str, Any]) -> list[str]:
    """What the draft still lacks before it can be saved, in the form's words."""
    return needed.missing(slots, payments=services().payments_enabled)


def complete_draft(slots: dict[str, Any]) -> SessionSpec | None:
    """The draft, or None while an answer is missing or unreadable (never an exception)."""
    if missing_answers(slots):
        return None
    try:
        return spec_from_slots(slots, services().practice)
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return None


def error_said_this_turn(tracker: Tracker) -> bool:
    """Whether the form's validation already answered this message with an error."""
    events = [e for e in tracker.events or [] if isinstance(e, dict)]
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    return any(
        e.get("event") == "bot"
        and ((e.get("data") or {}).get("custom") or {}).get("kind") == "error"
        for e in events[last_user + 1 :]
    )


class AskAction(Action):
    """A question of the form. Right after an error about the same answer, only its
    choices (buttons, widget) are offered again, not its words: the error already says
    what to give. The embedded runner puts those choices on the error message itself; a
    Rasa server asks the question after every turn, so the question holds back its words.
    """

    async def ask(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        """The question's own words and choices: every ask action of the form says them."""
        raise NotImplementedError(f"{type(self).__name__} asks nothing")

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        asked = CollectingDispatcher()
        await self.ask(asked, tracker, domain)
        again = error_said_this_turn(tracker)
        for message in asked.messages:
            custom = message.get("custom") or {}
            if not again:
                dispatcher.messages.append(message)
            elif message.get("buttons") or custom.get("widget"):
                dispatcher.utter_message(buttons=message.get("buttons") or [], custom=custom)
        return []


class ActionAskFromDomain(AskAction):
    """A question that is a response of the domain (`utter_ask_<slot>`), said by an action
    so that it, too, holds back its words after an error."""

    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def ask(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        question = render_response(f"utter_ask_{self.slot}", tracker.current_slot_values())
        dispatcher.utter_message(
            text=question.text,
            buttons=[{"title": b.title, "payload": b.payload} for b in question.buttons],
            custom=dict(question.custom),
        )


class ActionAskDate(ActionAskFromDomain):
    slot = "date"


class ActionAskInviteChannel(ActionAskFromDomain):
    slot = "invite_channel"


class ActionAskEmail(ActionAskFromDomain):
    slot = "email"


class ActionAskPhone(ActionAskFromDomain):
    slot = "phone"


class ActionAskPaymentRequired(ActionAskFromDomain):
    slot = "payment_required"


class ActionAskTime(AskAction):
    """The time question names the day, which only an action can say (no slot holds it)."""

    def name(self) -> str:
        return "action_ask_time"

    async def ask(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        day = decoded("date", tracker.get_slot("date"))
        on = f" on {day:%A, %B} {day.day}" if day else ""
        dispatcher.utter_message(
            text=f"What time{on}? (e.g. “3pm”, “9:30 am”, “15:30”)",
            custom={"widget": "timepicker"},
        )


class ActionAskParticipant(AskAction):
    def name(self) -> str:
        return "action_ask_participant"

    async def ask(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        with services().store.reading() as s:
            clinician_id = clinician_id_of(s, tracker)
            recent = (
                clinician_rows.find_contacts(s, clinician_id, "", limit=5) if clinician_id else []
            )
            buttons = [button(c.name, inform("contact_id", c.id)) for c in recent]
        text = "Who is the session with? Type a name or initials"
        text += ", or pick someone you've scheduled before." if buttons else "."
        dispatcher.utter_message(text=text, buttons=buttons, custom={"widget": "contact_select"})


class ActionAskParticipantTz(AskAction):
    def name(self) -> str:
        return "action_ask_participant_tz"

    async def ask(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        mine = services().practice.zone_of(tracker.get_slot("clinician_tz"))
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


class ActionAskDocuments(AskAction):
    def name(self) -> str:
        return "action_ask_documents"

    async def ask(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        practice = services().practice
        buttons = [button(p.name, inform("documents", p.key)) for p in practice.documents]
        buttons.append(button("No documents", inform("documents", "none")))
        dispatcher.utter_message(
            text="Which package of documents should the participant complete?",
            buttons=buttons,
            custom={"widget": "documents_select"},
        )


class ActionAskService(AskAction):
    def name(self) -> str:
        return "action_ask_service"

    async def ask(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        practice = services().practice
        buttons = [
            button(f"{s.name} — {money(s.price, practice.currency)}", inform("service", s.key))
            for s in practice.services
        ]
        dispatcher.utter_message(
            text="Which service?", buttons=buttons, custom={"widget": "service_select"}
        )


class ActionAskAmount(AskAction):
    def name(self) -> str:
        return "action_ask_amount"

    async def ask(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
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
    "series",
    "language",
)
CHANGED = "  ✎ _changed_"

# The slots of one draft: a save, a cancel or a start over clears them all.
DRAFT_SLOTS = (
    *SUMMARY_SLOTS,
    "contact_id",
    "draft_id",
    "requested_slot",
    "summary_shown",
    "hours_ok",
    "sms_consent_ok",
)


def summary_values(slots: dict[str, Any]) -> dict[str, Any]:
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
    slots: dict[str, Any], draft: SessionSpec, changed: frozenset[str] = frozenset()
) -> list[str]:
    """The draft in words, as the clinician checks it before Save; the lines of slots
    changed since the last summary they saw are marked."""
    practice = services().practice
    mine = practice.zone_of(slots.get("clinician_tz"))

    def mark(*names: str) -> str:
        return CHANGED if changed.intersection(names) else ""

    lines = [
        "*New scheduled session*: please check, then Save.",
        f"• When: {when(draft.start, mine)} (your time), {draft.duration_min} min"
        + mark("date", "time"),
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
    if language := languages.summary_line(slots):
        lines.append(language + mark("language"))
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


def series_preview(
    s: Any, clinician: Any, slots: dict[str, Any], draft: SessionSpec, now: datetime
) -> series_plans.SeriesPreview | None:
    """The series the draft asks for, expanded and checked (None: one session)."""
    wanted = week_words.series_of(slots.get("series"))
    if wanted is None:
        return None
    practice = services().practice
    local = draft.start.astimezone(ZoneInfo(results.clinician_zone(clinician, practice)))
    return series_plans.series_preview(
        s, clinician, wanted, local.date(), local.hour, local.minute, draft.duration_min,
        practice, now,
    )  # fmt: skip


def week_lines(
    tracker: Tracker, slots: dict[str, Any], draft: SessionSpec, changed: frozenset[str]
) -> list[str]:
    """What the summary adds from the clinician's week: the series' dates (or why it
    can't be booked), or what the one session overlaps (they may still save)."""
    ctx = services()
    with ctx.store.reading() as s:
        who = sender_of(tracker.sender_id)
        clinician = clinician_rows.find_clinician(s, *who) if who else None
        if clinician is None:
            return []  # nobody to look up; Save says so
        preview = series_preview(s, clinician, slots, draft, datetime.now(UTC))
        if preview is None:
            note = clashes.overlap_note(s, clinician, draft.start, draft.duration_min, ctx.practice)
            return [f"⚠ {note} You can still save it."] if note else []
    if preview.problem:
        return [
            f"⚠ Repeats: {preview.problem}",
            "   Say “just once” to book one session, or give the series again.",
        ]
    mark = CHANGED if "series" in changed else ""
    head = "• Repeats: " + preview.lines[0] + mark
    return [head, *(f"   {x}" for x in preview.lines[1:])]


def show_summary(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
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
    ) -> list[dict[str, Any]]:
        return show_summary(dispatcher, tracker)


def say_missing(dispatcher: CollectingDispatcher, slots: dict[str, Any]) -> None:
    missing = [m for m in missing_answers(slots) if m != "draft"] or ["date"]
    dispatcher.utter_message(
        text=f"There's more to answer before I can save: the {', '.join(missing)}.",
        custom={"kind": "info"},
    )


class ActionSaveSession(Action):
    """Save once per draft: a second Save of the same draft finds the first session."""

    def name(self) -> str:
        return "action_save_session"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        ctx = services()
        slots = tracker.current_slot_values()
        if hold.refused(tracker):  # "don't save", whatever intent a classifier saw
            hold.say_not_done(dispatcher, tracker, hold.refused(tracker))
            return []
        if sender_of(tracker.sender_id) is None:
            dispatcher.utter_message(
                text="I can't tell which clinician this conversation is for, so nothing was saved.",
                custom={"kind": "error"},
            )
            return []
        draft = complete_draft(slots)
        if draft is None:
            if not slots.get("draft_id") and slots.get("saved_session_id"):
                dispatcher.utter_message(response="utter_already_saved")
            elif not slots.get("draft_id"):
                dispatcher.utter_message(response="utter_nothing_to_save")
            else:
                for slot in ("participant_tz", "clinician_tz"):
                    # A zone no one has (from a tracker made outside) makes no session.
                    problem = slots.get(slot) and answers.zone_problem(slots.get(slot))
                    if problem:
                        return refuse_unusable(dispatcher, slot, problem)
                say_missing(dispatcher, slots)
            return []
        if tracker.get_slot("summary_shown") != summary_values(slots):
            # Something changed after the last summary: nothing is stored unseen.
            dispatcher.utter_message(
                text="The draft changed since the summary you saw; please check it again.",
                custom={"kind": "error"},
            )
            return show_summary(dispatcher, tracker)
        now = datetime.now(UTC)
        if draft.start <= now:
            dispatcher.utter_message(
                text="That start time has passed while we were talking. Please pick a new time.",
                custom={"kind": "error"},
            )
            return [SlotSet("time", None)]
        mine = ctx.practice.zone_of(slots.get("clinician_tz"))
        problem = answers.saved_draft_problem(
            draft, mine, ctx.practice, now, payments=ctx.payments_enabled
        )
        if problem is not None:
            return refuse_unusable(dispatcher, *problem)
        if week_words.series_of(slots.get("series")) is not None:
            return save_series(dispatcher, tracker, slots, draft, now)
        booked = ctx.scheduler.book(actor_of(tracker), draft)
        created, enter, page = booked.created, booked.enter_meeting_url, booked.participant_url
        public_id = booked.public_id
        text = f"Saved: session with {draft.lead.name}, {when(draft.start, mine)}"
        if draft.lead.tz != mine:
            text += f" ({when(draft.start, draft.lead.tz)} for them)"
        text += "."
        configured = {
            Channel.EMAIL: ctx.settings.email_configured,
            Channel.SMS: ctx.settings.sms_configured,
        }.get(draft.lead.channel)
        if configured:
            text += " The invitation is on its way."
        elif configured is False:
            kind = draft.lead.channel.words.kind
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
                "participant_tz": draft.lead.tz,
            },
        )
        # The draft is done with: a Rasa assistant starts the next one from nothing (the
        # embedded runner resets its own state the same way).
        return [*clear_draft_events(), SlotSet("saved_session_id", public_id)]


def refuse_unusable(dispatcher: CollectingDispatcher, slot: str, why: str) -> list[dict[str, Any]]:
    """Save found an answer the conversation would have refused (a tracker can come from
    outside): nothing is stored, the clinician is told which answer, and it is asked again."""
    label = {"clinician_tz": "Your time zone"}.get(slot) or SLOT_NAMES.get(slot, slot)
    dispatcher.utter_message(
        text=f"Nothing was saved: I can't use that {label.lower()}. {why}",
        custom={"kind": "error", "slot": slot},
    )
    return [SlotSet(slot, None)]


SLOT_NAMES = {
    "date": "Date",
    "time": "Time",
    "participant": "Participant name",
    "email": "E-mail address",
    "phone": "Mobile number",
    "participant_tz": "Participant's time zone",
    "documents": "Document package",
    "service": "Service",
    "amount": "Amount",
}


def save_series(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    slots: dict[str, Any],
    draft: SessionSpec,
    now: datetime,
) -> list[dict[str, Any]]:
    """Save every occurrence of the series the summary showed, in one unit of work; a
    series that can't be booked (too long, a date past or skipped by the clocks) is
    refused whole, with its reason, and nothing is stored."""
    ctx = services()
    with ctx.store.unit() as s:
        clinician = clinician_of(s, tracker)
        asking = actor_of_sender(tracker.sender_id)
        if clinician is not None and asking is not None and asking.staff:  # checked: role
            audit.acting_as(s, audit.staff(asking.team, asking.user))
        preview = series_preview(s, clinician, slots, draft, now)
        if preview is None or preview.problem:
            problem = preview.problem if preview else "I couldn't read the series."
            dispatcher.utter_message(
                text=f"Nothing was saved. {problem} Say “just once” to book one session.",
                custom={"kind": "error"},
            )
            return []
        booked = series_plans.book_series(s, clinician, draft, preview.starts, ctx.practice, now)
        first = booked.sessions[0]
        public_id = first.public_id
        # "same time next week" after a series goes on from its last session.
        last_id = booked.sessions[-1].public_id
        enter = booking.enter_meeting_url(ctx.settings.public_url, first)
        page = booking.participant_url(ctx.settings.public_url, first)
    dispatcher.utter_message(
        text=booked.text if booked.made else "That series was already saved.",
        custom={
            "kind": "saved",
            "session_id": public_id,
            "series_size": len(booked.sessions),
            "enter_meeting_url": enter,
            "participant_url": page,
            "start": first.start_at.astimezone(UTC).isoformat(),
            "clinician_tz": ctx.practice.zone_of(slots.get("clinician_tz")),
            "participant_tz": draft.lead.tz,
        },
    )
    return [*clear_draft_events(), SlotSet("saved_session_id", last_id)]


def entity_value(tracker: Tracker, name: str) -> Any:
    """The value of the latest message's entity `name` (our NLU's), or None."""
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity") == name:
            return entity.get("value")
    return None


class ActionScheduleNext(Action):
    """ "same time next week" / "same time in two weeks" after a Save: the session just
    saved, again that many weeks later (Schedule Next)."""

    def name(self) -> str:
        return "action_schedule_next"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        ctx = services()
        if tracker.get_slot("draft_id"):
            dispatcher.utter_message(
                text="Let's finish this session first (or say “cancel”); after Save, say "
                "“same time next week” to book the next one.",
                custom={"kind": "info"},
            )
            return []
        saved = tracker.get_slot("saved_session_id")
        weeks = entity_value(tracker, "weeks")
        if not isinstance(weeks, int) or isinstance(weeks, bool):
            # A Rasa assistant's NLU gives the intent, not our value: read the words.
            text = str((tracker.latest_message or {}).get("text") or "")
            weeks = recurrence.next_week_shift(text) or 1
        if not isinstance(saved, str) or sender_of(tracker.sender_id) is None:
            dispatcher.utter_message(
                text="There's no session just saved to repeat. Use Schedule Next on the "
                "dashboard (“sessions”), or say “schedule” to book a new one.",
                custom={"kind": "info"},
            )
            return []
        done = ctx.scheduler.schedule_next(
            actor_of(tracker), saved, weeks, draft_id=f"next:{saved}:{weeks}"
        )
        assert done is not None  # no idempotency key: never a repeat
        if done.new_id and not done.changed and not done.repeated:
            text = "That one is already booked: " + done.text
        else:
            text = done.text
        # Not "saved": that kind is a Save's confirmation, with its links and times.
        kind = "booked" if done.new_id else "error"
        dispatcher.utter_message(text=text, custom={"kind": kind, "session_id": done.new_id})
        return [SlotSet("saved_session_id", done.new_id)] if done.new_id else []


class ActionSetAgenda(Action):
    """ "send me my agenda at 7:30" / "stop my agenda": the morning agenda DM, on or off."""

    def name(self) -> str:
        return "action_set_agenda"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        wanted = entity_value(tracker, "agenda")
        if wanted is None and (tracker.latest_message or {}).get("text"):
            wanted = agendas.agenda_request(str(tracker.latest_message["text"]))
        if not isinstance(wanted, str) or sender_of(tracker.sender_id) is None:
            dispatcher.utter_message(
                text="Say a time for your morning agenda, like “send me my agenda at 7:30”, "
                "or “stop my agenda”. Nothing was changed.",
                custom={"kind": "error"},
            )
            return []
        scheduler = services().scheduler
        done = scheduler.set_agenda(actor_of(tracker), None if wanted == "off" else wanted)
        dispatcher.utter_message(text=done.text, custom={"kind": "info"})
        return []


class ActionListSessions(Action):
    def name(self) -> str:
        return "action_list_sessions"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        ctx = services()
        mine = ctx.practice.zone_of(tracker.get_slot("clinician_tz"))
        with ctx.store.reading() as s:
            who = sender_of(tracker.sender_id)
            clinician = clinician_rows.find_clinician(s, *who) if who else None
            if clinician is None:
                dispatcher.utter_message(
                    text="You have no upcoming sessions.", custom={"kind": "list"}
                )
                return []
            upcoming = session_rows.list_sessions(
                s, clinician.id, after=datetime.now(UTC), limit=10
            )
            total = session_rows.count_sessions(s, clinician.id, after=datetime.now(UTC))
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


class ActionCancel(Action):
    """ "cancel": the draft is dropped, nothing was saved (or there was nothing to drop)."""

    def name(self) -> str:
        return "action_cancel"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if hold.refused(tracker):  # "don't cancel it"
            hold.say_not_done(dispatcher, tracker, hold.refused(tracker))
            return []
        if not tracker.get_slot("draft_id") and not tracker.active_loop_name:
            # "cancel my 3pm": a saved session, asked about (actions/cancel_actions.py).
            if not cancel_actions.offer_to_cancel(dispatcher, tracker):
                dispatcher.utter_message(response="utter_nothing_to_cancel")
            return []
        dispatcher.utter_message(response="utter_cancelled")
        return [{"event": "active_loop", "name": None}, *clear_draft_events()]


class ActionStartOver(Action):
    """ "start over": a new, empty draft; the form then asks its first question."""

    def name(self) -> str:
        return "action_start_over"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_restarted")
        dispatcher.utter_message(response="utter_greet")
        return [
            {"event": "active_loop", "name": None},
            *clear_draft_events(),
            *new_draft_events(tracker),
        ]


class ActionWhichChange(Action):
    """ "change" with nothing said of what: which answer? With no draft open there is
    nothing to change yet, so a draft starts (as the embedded runner does)."""

    def name(self) -> str:
        return "action_which_change"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if tracker.get_slot("draft_id"):
            dispatcher.utter_message(response="utter_which_change")
            return []
        dispatcher.utter_message(response="utter_greet")
        return [*new_draft_events(tracker), {"event": "active_loop", "name": FORM}]


class ActionGoBack(Action):
    """ "back": the draft as it was before the last answer, read from the tracker's events.

    Like the embedded runner's history: each earlier "back" used up one answer, questions
    like "help" changed nothing, and the answer that started the draft cannot be undone.
    """

    def name(self) -> str:
        return "action_go_back"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        events = [e for e in tracker.events or [] if isinstance(e, dict)]
        draft_id = tracker.get_slot("draft_id")
        users = [i for i, e in enumerate(events) if e.get("event") == "user"]
        target, skip = None, 0
        for index in reversed(users[:-1]):  # the latest is this very "back"
            intent = ((events[index].get("parse_data") or {}).get("intent") or {}).get("name")
            if intent in ("cancel", "start_over"):
                break
            if intent == "go_back":
                skip += 1
            elif intent not in NO_ANSWER_INTENTS:
                if not skip:
                    target = index
                    break
                skip -= 1
        before: dict[str, Any] = {}
        for event in events[: target or 0]:
            if event.get("event") == "slot":
                before[str(event.get("name"))] = event.get("value")
            elif event.get("event") in ("restart", "reset_slots"):
                before = {}
        if target is None or not draft_id or before.get("draft_id") != draft_id:
            dispatcher.utter_message(response="utter_nothing_to_undo")
            return []
        dispatcher.utter_message(response="utter_went_back")
        # What the clinician last saw stays: the summary marks the lines "back" changed.
        keep = {"draft_id", "requested_slot", "summary_shown"}
        events = [SlotSet(name, before.get(name)) for name in DRAFT_SLOTS if name not in keep]
        if not tracker.active_loop_name:
            # Back from the summary: the form opens again and asks what is now missing.
            events.append({"event": "active_loop", "name": FORM})
        return events
