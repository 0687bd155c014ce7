"""The participant's language in the conversation: "she speaks Spanish", "en español",
"in Spanish" (read by actions/extraction/languages.py) set the `language` slot, said back
in words; the summary names it when it is not the practice's default; a known contact
brings their remembered language (actions/form_validators.py `validate_participant`)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import services
from ground.language import name_of, normalize, resolve


def said(
    dispatcher: CollectingDispatcher, tracker: Tracker, found: dict[str, Any]
) -> list[dict[str, Any]]:
    """A language said in this message: the slot set, and the clinician told."""
    code = normalize(found.get("language")) if isinstance(found.get("language"), str) else None
    if code is None or code == tracker.get_slot("language"):
        return []
    dispatcher.utter_message(
        text=f"The participant's messages and page will be in {name_of(code)}.",
        custom={"kind": "info"},
    )
    return [SlotSet("language", code)]


def summary_line(slots: dict[str, Any]) -> str | None:
    """'• Language: Spanish' when it is not what the practice writes in anyway."""
    default = services().practice.language
    code = resolve(slots.get("language"), default)
    return None if code == default else f"• Language: {name_of(code)}"
