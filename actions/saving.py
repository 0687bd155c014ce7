"""Save: the summary the clinician saw, checked again by the conversation's rules, booked
once through the scheduling service (one session or a whole series), and said."""

from __future__ import annotations

from datetime import UTC, datetime

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import answers, hold, week_words
from actions.context import sender_of, services
from actions.drafts import actor_of, clear_draft_events, complete_draft, say_missing
from actions.summary import show_summary, summary_values
from ground.channel import Channel
from ground.formatting import when
from ground.jsontypes import JSON
from ground.session import SessionSpec


class ActionSaveSession(Action):
    """Save once per draft: a second Save of the same draft finds the first session."""

    def name(self) -> str:
        return "action_save_session"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
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
            return save_series(dispatcher, tracker, slots.get("series"), draft, mine)
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


def refuse_unusable(dispatcher: CollectingDispatcher, slot: str, why: str) -> list[EventType]:
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
    series: JSON,
    draft: SessionSpec,
    clinician_tz: str,
) -> list[EventType]:
    """Save every occurrence of the series the summary showed, in one call of the
    scheduling service; a series that can't be booked (too long, a date past or skipped by
    the clocks) is refused whole, with its reason, and nothing is stored."""
    ctx = services()
    wanted = week_words.series_of(series)
    booked = (
        ctx.scheduler.book_series(actor_of(tracker), draft, wanted)
        if wanted is not None
        else "I couldn't read the series."
    )
    if isinstance(booked, str):
        dispatcher.utter_message(
            text=f"Nothing was saved. {booked} Say “just once” to book one session.",
            custom={"kind": "error"},
        )
        return []
    dispatcher.utter_message(
        text=booked.text if booked.made else "That series was already saved.",
        custom={
            "kind": "saved",
            "session_id": booked.first_id,
            "series_size": booked.size,
            "enter_meeting_url": booked.enter_meeting_url,
            "participant_url": booked.participant_url,
            "start": booked.first_start.astimezone(UTC).isoformat(),
            "clinician_tz": clinician_tz,
            "participant_tz": draft.lead.tz,
        },
    )
    # "same time next week" after a series goes on from its last session.
    return [*clear_draft_events(), SlotSet("saved_session_id", booked.last_id)]
