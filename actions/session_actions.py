"""The conversation's other actions: the questions that need data, summary, save, list.

Every action answers on any tracker (missing slots, None values, no latest message, a
sender id that names nobody): a clear message, never an exception. What an action looks
up is keyed by the tracker's sender ("TEAM:USER") and checked against that clinician, so
no tracker can make it read or answer with another clinician's session. The control
actions at the end (cancel, start over, back) are what a Rasa assistant's rules call;
the embedded runner does the same steps itself.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import cancel_actions, hold
from actions.context import actor_of_sender, sender_of, services
from actions.drafts import (
    DRAFT_SLOTS,
    NO_ANSWER_INTENTS,
    actor_of,
    clear_draft_events,
    new_draft_events,
)
from dialogue.domain import FORM
from ground.formatting import when
from ground.jsontypes import JSON
from scheduling import agendas, recurrence


def entity_value(tracker: Tracker, name: str) -> JSON:
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
    ) -> list[EventType]:
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
    ) -> list[EventType]:
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
    ) -> list[EventType]:
        ctx = services()
        mine = ctx.practice.zone_of(tracker.get_slot("clinician_tz"))
        found = ctx.scheduler.upcoming(actor_of_sender(tracker.sender_id), limit=10)
        if found is None:
            dispatcher.utter_message(text="You have no upcoming sessions.", custom={"kind": "list"})
            return []
        total = found.total
        lines = [f"• {when(x.start, found.tz or mine)}: {x.participant}" for x in found.sessions]
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
    ) -> list[EventType]:
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
    ) -> list[EventType]:
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
    ) -> list[EventType]:
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
    ) -> list[EventType]:
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
        before: dict[str, JSON] = {}
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
