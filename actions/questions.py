"""The form's questions: one action a slot, each with the buttons that answer it (the
clinician's contacts, the common zones, the practice's packages and services)."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import actor_of_sender, services
from actions.drafts import COMMON_ZONES, button, error_said_this_turn, inform
from dialogue.domain import render_response
from dialogue.slots import decoded
from ground.formatting import money, short_zone


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
    ) -> list[EventType]:
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
        recent = services().scheduler.recent_contacts(actor_of_sender(tracker.sender_id), limit=5)
        buttons = [button(name, inform("contact_id", contact_id)) for contact_id, name in recent]
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
