"""Block Kit of the conversation's turns, built from domain objects; no I/O.

Dialogue messages (`BotMessage`) become message blocks with the widget their hint asks
for (the summary after Save among them); clicks and widget values come back as runner
text (`turn_text`), and a clicked message is updated in place with the answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    ExternalDataSelectElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)

from actions.drafts import COMMON_ZONES
from bot.blocks import OPTION_TEXT_LIMIT, clip, time_select
from bot.payloads import BlockAction
from dialogue.domain import BotMessage, Button
from ground.formatting import short_zone, when
from ground.jsontypes import JSON

BUTTONS_PER_ACTIONS = 25


# Action ids: every dialogue element starts with "turn:" (one listener turns it into
# runner text); the dashboard's start with "dash:".
TURN_PREFIX = "turn:"


def inform(slot: str, value: JSON) -> str:
    return "/inform" + json.dumps({slot: value}, separators=(",", ":"))


def message_blocks(message: BotMessage) -> list[Block]:
    """One dialogue message as blocks: its text, then the widget or buttons it offers."""
    custom = message.custom
    if custom.get("kind") == "saved":
        return saved_blocks(message)
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(message.text or " ")))]
    widget = custom.get("widget")
    buttons = list(message.buttons)
    if widget == "datepicker":
        blocks.append(
            ActionsBlock(
                elements=[DatePickerElement(action_id="turn:date", placeholder="Pick a date")]
            )
        )
    elif widget == "timepicker":
        blocks.append(ActionsBlock(elements=[time_select()]))
    elif widget == "contact_select":
        select = ExternalDataSelectElement(
            action_id="turn:contact", placeholder="Previous participants", min_query_length=0
        )
        blocks.append(ActionsBlock(elements=[select]))
        buttons = []  # the select offers the same recent contacts
    elif widget == "zone_select":
        select = ExternalDataSelectElement(
            action_id="turn:zone", placeholder="Search time zones", min_query_length=1
        )
        blocks.append(ActionsBlock(elements=[select, *_buttons(buttons[:5], start=1)]))
        buttons = []
    elif widget == "my_zone_select":  # the clinician's own zone, asked once
        select = ExternalDataSelectElement(
            action_id="me:zone", placeholder="Search time zones", min_query_length=1
        )
        quick = [
            ButtonElement(text=short_zone(zone), action_id=f"me:zone:{i}", value=zone)
            for i, zone in enumerate(COMMON_ZONES)
        ]
        blocks.append(ActionsBlock(elements=[select, *quick]))
    elif widget in ("documents_select", "service_select") and buttons:
        options = [Option(value=b.payload, text=clip(b.title, OPTION_TEXT_LIMIT)) for b in buttons]
        placeholder = "Choose a package" if widget == "documents_select" else "Choose a service"
        picker = StaticSelectElement(
            action_id="turn:pick", placeholder=placeholder, options=options[:100]
        )
        blocks.append(ActionsBlock(elements=[picker]))
        buttons = []
    elif widget == "amount_input":
        initial = custom.get("initial")
        blocks.append(
            InputBlock(
                label="Amount (USD)",
                dispatch_action=True,
                element=PlainTextInputElement(
                    action_id="turn:amount",
                    initial_value=initial if isinstance(initial, str) and initial else None,
                ),
                hint="Press Enter to use this amount.",
            )
        )
    if buttons:
        for start in range(0, len(buttons), BUTTONS_PER_ACTIONS):
            chunk = buttons[start : start + BUTTONS_PER_ACTIONS]
            blocks.append(ActionsBlock(elements=_buttons(chunk, start=start)))
    return blocks


def _buttons(buttons: Sequence[Button], *, start: int = 0) -> list[ButtonElement]:
    out = []
    for i, b in enumerate(buttons, start=start):
        style = "primary" if b.payload == "/save" else None
        out.append(
            ButtonElement(
                text=clip(b.title, OPTION_TEXT_LIMIT),
                action_id=f"turn:btn:{i}",
                value=b.payload,
                style=style,
            )
        )
    return out


def saved_blocks(message: BotMessage) -> list[Block]:
    """The confirmation after Save: both local times and the Enter Meeting button."""

    custom = message.custom
    start = datetime.fromisoformat(str(custom["start"]))
    mine, theirs = str(custom["clinician_tz"]), str(custom["participant_tz"])
    times = f"*Your time:* {when(start, mine)}"
    if theirs != mine:
        times += f"\n*Participant's time:* {when(start, theirs)}"
    return [
        SectionBlock(text=MarkdownTextObject(text=clip(message.text))),
        SectionBlock(text=MarkdownTextObject(text=times)),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Enter Meeting",
                    url=str(custom["enter_meeting_url"]),
                    action_id="dash:enter",
                    style="primary",
                ),
                ButtonElement(
                    text="Participant's page",
                    url=str(custom["participant_url"]),
                    action_id="dash:page_link",
                ),
            ]
        ),
    ]


def fallback_text(message: BotMessage) -> str:
    """The notification text of a message (what Slack shows where blocks are not)."""
    return clip(message.text or "…", 3000)


def answered(blocks: list[dict[str, JSON]], choice: str) -> list[Block]:
    """A clicked message, updated in place: its text stays, its widgets become the answer."""
    kept: list[Block] = []
    for raw in blocks:
        if raw.get("type") == "section":
            text, fields = raw.get("text"), raw.get("fields")
            kept.append(
                SectionBlock(
                    text=text if isinstance(text, str | dict) else None,
                    fields=[f for f in fields if isinstance(f, str | dict)]
                    if isinstance(fields, list)
                    else None,
                )
            )
        elif raw.get("type") in ("header", "context"):
            parsed = Block.parse(raw)
            if parsed is not None:
                kept.append(parsed)
    kept.append(ContextBlock(elements=[MarkdownTextObject(text=clip(f"✓ {choice}", 2000))]))
    return kept


def turn_text(action: BlockAction) -> tuple[str, str] | None:
    """What a click or widget value says to the runner, and how to show the answer."""
    action_id = str(action.get("action_id", ""))
    kind = action_id.removeprefix(TURN_PREFIX)
    if kind.startswith("btn:"):
        return action["value"], action["text"]["text"]
    day = action.get("selected_date")
    if kind == "date" and day:
        return inform("date", day), day
    selected = action.get("selected_option") or {}
    label = (selected.get("text") or {}).get("text", "")
    if kind == "time" and selected:
        return inform("time", selected["value"]), label
    if kind == "contact" and selected:
        value = selected["value"]
        return inform("contact_id", int(value) if value.isdigit() else value), label
    if kind == "zone" and selected:
        return inform("participant_tz", selected["value"]), label
    if kind == "pick" and selected:
        return selected["value"], label
    if kind == "amount" and action.get("value") is not None:
        return str(action["value"]), str(action["value"])
    return None
