"""Block Kit's common pieces for the bot, built with `slack_sdk.models`; no I/O.

Text clipped to Slack's limits, the time select (the conversation's and the forms'), the
options of an external select, a notice. Each face has its own module: the conversation's
messages (bot/turn_blocks.py), the dashboard (bot/dashboard_view.py), the forms
(bot/modals.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import (
    Block,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

TEXT_LIMIT = 3000
OPTION_TEXT_LIMIT = 75


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def time_options() -> list[Option]:
    """Twelve-hour times in 15-minute steps: 96 options, under Slack's 100."""
    options = []
    for minutes in range(0, 24 * 60, 15):
        hour, minute = divmod(minutes, 60)
        label = datetime(2000, 1, 1, hour, minute).strftime("%-I:%M %p")
        options.append(Option(value=f"{hour:02d}:{minute:02d}", text=label))
    return options


def time_select(initial: str | None = None, action_id: str = "turn:time") -> StaticSelectElement:
    options = time_options()
    chosen = next((o for o in options if o.value == initial), None)
    return StaticSelectElement(
        action_id=action_id, placeholder="Pick a time", options=options, initial_option=chosen
    )


def options(pairs: Sequence[tuple[str, str]]) -> list[Option]:
    """Options for an external select (`block_suggestion`), at most 100."""
    return [
        Option(value=value, text=clip(label, OPTION_TEXT_LIMIT)) for value, label in pairs[:100]
    ]


def notice_blocks(text: str) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=clip(text)))]
