"""Block Kit of "Add to your calendar": App Home's section, and the DM with the link.

The link itself is never in a view or a channel: App Home holds only a button, and the
link goes to the clinician's DM with the bot, beside a "Make a new link" button (which
asks first: the calendar subscribed to the old link stops updating).
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

SHOW = "cal:show"
ROTATE = "cal:rotate"
ACTIONS = f"^({SHOW}|{ROTATE})$"


def home_blocks() -> list[Block]:
    """App Home's section (3 blocks: the dashboard's page keeps the view under 100)."""
    return [
        DividerBlock(),
        HeaderBlock(text="Add to your calendar"),
        SectionBlock(
            text=MarkdownTextObject(
                text="See your sessions in Google Calendar, Outlook or Apple Calendar: "
                "a private link your calendar subscribes to (participants as initials). "
                "I'll send it to you in our DM."
            ),
            accessory=ButtonElement(text="Send me the link", action_id=SHOW, value="show"),
        ),
    ]


def link_blocks(text: str, fingerprint: str) -> list[Block]:
    """The DM with the link, and the button that replaces it."""
    return [
        SectionBlock(text=MarkdownTextObject(text=text[:3000])),
        ActionsBlock(
            block_id="calendar",
            elements=[
                ButtonElement(
                    text="Make a new link",
                    action_id=ROTATE,
                    value=fingerprint,
                    style="danger",
                    confirm=ConfirmObject(
                        title="Make a new calendar link?",
                        text="The link you have stops working at once: a calendar "
                        "subscribed to it stops updating until you subscribe it to the new one.",
                        confirm="Make a new link",
                        deny="Keep this one",
                        style="danger",
                    ),
                )
            ],
        ),
    ]
