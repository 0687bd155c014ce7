"""A refusal answered: "don't save", "do not send it yet", "no, not yet", "hold off",
"wait", "don't cancel it". Nothing is saved, cancelled or changed, and the clinician is
told so in words. The save and cancel actions ask `refused` first too, so a refusal that
a Rasa classifier took for "save" or "cancel" still does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.extraction.intents import refusal
from dialogue.domain import FORM, parse_payload


def refused(tracker: Tracker) -> str | None:
    """What the latest message refuses ("save" or "cancel"), or None. A button's payload
    refuses nothing."""
    text = str((tracker.latest_message or {}).get("text") or "")
    if not text or parse_payload(text) is not None:
        return None
    return refusal(text)


def say_not_done(dispatcher: CollectingDispatcher, tracker: Tracker, what: str | None) -> None:
    """One line: what was not done, and how to go on."""
    drafting = bool(tracker.get_slot("draft_id"))
    at_summary = drafting and not tracker.get_slot("requested_slot")
    if what == "cancel":
        response = "utter_not_cancelled" if drafting else "utter_nothing_changed"
    elif at_summary:
        response = "utter_not_saved"
    elif drafting:
        response = "utter_not_saved_yet"
    else:
        response = "utter_nothing_changed"
    dispatcher.utter_message(response=response)


class ActionHold(Action):
    def name(self) -> str:
        return "action_hold"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        latest = tracker.latest_message or {}
        what = refused(tracker)
        if what is None and not latest.get("sessionbot_nlu") and _has_words(latest):
            # A Rasa classifier's "hold" for words that refuse nothing (a dictated
            # booking): the form reads them instead of them being dropped.
            return [FollowupAction(FORM)]
        say_not_done(dispatcher, tracker, what or "save")
        return []


def _has_words(latest: Mapping[str, object]) -> bool:
    text = str(latest.get("text") or "")
    return bool(text.strip()) and parse_payload(text) is None
