"""Block Kit for the bot, built with `slack_sdk.models` from domain objects; no I/O.

Dialogue messages (`BotMessage`) become message blocks with the widget their hint asks
for; clicks and widget values come back as runner text (`turn_text`); the dashboard
(App Home and the `/sessions` modal) is paged so a view stays under 100 blocks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    ExternalDataSelectElement,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from actions.drafts import COMMON_ZONES
from dialogue.domain import BotMessage, Button
from ground.channel import INVITATIONS, Channel
from ground.formatting import short_zone, when, zone_label
from ground.language import available, name_of
from ground.practice import Practice
from scheduling.dashboards import SessionRow
from scheduling.editing import DEFAULT_LANGUAGE
from scheduling.refunds import FAILED, Offer, RefundRow
from store.models import ScheduledSession

TEXT_LIMIT = 3000
OPTION_TEXT_LIMIT = 75
BUTTONS_PER_ACTIONS = 25
# 4 blocks a session: 80 + header, at most 5 of the waiting room (dashboards.WAITING_SHOWN),
# paging and footer < Slack's 100 blocks of a view.
DASHBOARD_PAGE = 20

# Action ids: every dialogue element starts with "turn:" (one listener turns it into
# runner text); the dashboard's start with "dash:".
TURN_PREFIX = "turn:"


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def inform(slot: str, value: Any) -> str:
    return "/inform" + json.dumps({slot: value}, separators=(",", ":"))


# Dialogue messages -----------------------------------------------------------------------


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
        blocks.append(
            InputBlock(
                label="Amount (USD)",
                dispatch_action=True,
                element=PlainTextInputElement(
                    action_id="turn:amount", initial_value=custom.get("initial") or None
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


def saved_blocks(message: BotMessage) -> list[Block]:
    """The confirmation after Save: both local times and the Enter Meeting button."""

    custom = message.custom
    start = datetime.fromisoformat(custom["start"])
    mine, theirs = custom["clinician_tz"], custom["participant_tz"]
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
                    url=custom["enter_meeting_url"],
                    action_id="dash:enter",
                    style="primary",
                ),
                ButtonElement(
                    text="Participant's page",
                    url=custom["participant_url"],
                    action_id="dash:page_link",
                ),
            ]
        ),
    ]


def fallback_text(message: BotMessage) -> str:
    """The notification text of a message (what Slack shows where blocks are not)."""
    return clip(message.text or "…", 3000)


def answered(blocks: list[dict[str, Any]], choice: str) -> list[Block]:
    """A clicked message, updated in place: its text stays, its widgets become the answer."""
    kept: list[Block] = []
    for raw in blocks:
        if raw.get("type") == "section":
            kept.append(SectionBlock(text=raw.get("text"), fields=raw.get("fields")))
        elif raw.get("type") in ("header", "context"):
            parsed = Block.parse(raw)
            if parsed is not None:
                kept.append(parsed)
    kept.append(ContextBlock(elements=[MarkdownTextObject(text=clip(f"✓ {choice}", 2000))]))
    return kept


def turn_text(action: dict[str, Any]) -> tuple[str, str] | None:
    """What a click or widget value says to the runner, and how to show the answer."""
    action_id = str(action.get("action_id", ""))
    kind = action_id.removeprefix(TURN_PREFIX)
    if kind.startswith("btn:"):
        return action["value"], action["text"]["text"]
    if kind == "date" and action.get("selected_date"):
        return inform("date", action["selected_date"]), action["selected_date"]
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


def options(pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Options for an external select (`block_suggestion`), at most 100."""
    return [
        Option(value=value, text=clip(label, OPTION_TEXT_LIMIT)).to_dict()
        for value, label in pairs[:100]
    ]


# The dashboard -------------------------------------------------------------------------


PAYMENT_LABELS = {
    "not_required": "not required",
    "pending": "pending",
    "paid": "paid",
    "payment_failed": "failed (asked to pay again)",
    "partially_refunded": "paid, partly refunded",
    "refunded": "refunded (unpaid again)",
}


def agenda_select(agenda_at: str | None) -> StaticSelectElement:
    """The morning agenda DM: off, or a time from 5:00 to 10:00 AM in half hours."""
    pairs = [("off", "Morning agenda: off")]
    for minutes in range(5 * 60, 10 * 60 + 1, 30):
        hour, minute = divmod(minutes, 60)
        label = datetime(2000, 1, 1, hour, minute).strftime("%-I:%M %p")
        pairs.append((f"{hour:02d}:{minute:02d}", f"Morning agenda at {label}"))
    options = [Option(value=v, text=label) for v, label in pairs]
    chosen = next((o for o in options if o.value == (agenda_at or "off")), None)
    return StaticSelectElement(
        action_id="dash:agenda",
        placeholder="Morning agenda",
        options=options,
        initial_option=chosen,
    )


def dashboard_blocks(
    rows: Sequence[SessionRow],
    *,
    page: int,
    total: int,
    tz: str,
    agenda_at: str | None = None,
    waiting: Sequence[SessionRow] = (),
    refunds: Sequence[RefundRow] = (),
) -> list[Block]:

    pages = max(1, -(-total // DASHBOARD_PAGE))
    blocks: list[Block] = [
        HeaderBlock(text="Upcoming sessions"),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"{total} upcoming · times in {zone_label(tz)} · "
                    "say “schedule” in our DM or use /schedule to add one"
                )
            ]
        ),
        ActionsBlock(
            block_id="agenda",
            elements=[
                agenda_select(agenda_at),
                ButtonElement(text="Working hours", action_id="dash:hours", value="hours"),
            ],
        ),
        DividerBlock(),
    ]
    if waiting:  # begun, so off the upcoming list: one line each with Enter Meeting
        blocks.append(SectionBlock(text=MarkdownTextObject(text="*In the waiting room now*")))
        for row in waiting:
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(
                        text=f"*{when(row.start, tz)}* · {row.participant} · :hourglass: *waiting*"
                    ),
                    accessory=ButtonElement(
                        text="Enter Meeting",
                        url=row.enter_meeting_url,
                        action_id="dash:enter",
                        style="primary",
                    ),
                )
            )
        blocks.append(DividerBlock())
    if not rows:
        blocks.append(SectionBlock(text="You have no upcoming sessions."))
    for row in rows:
        invitation = "no invitation" if row.invite_channel == Channel.NONE else row.invite_status
        status = (
            f"Invitation: {invitation} ({row.invite_channel}) · RSVP: {row.rsvp or '—'}"
            f" · Payment: {PAYMENT_LABELS.get(row.payment_status, row.payment_status)}"
        )
        if row.series_id:
            status += " · part of a series"
        if row.reminded_at is not None:
            status += f" · reminded {when(row.reminded_at, tz)}"
        here = " · :hourglass: *waiting*" if row.waiting else ""
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=f"*{when(row.start, tz)}* · {row.participant}{here}"),
            )
        )
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=status)]))
        blocks.append(
            ActionsBlock(
                block_id=f"session:{row.public_id}",
                elements=[
                    ButtonElement(
                        text="Enter Meeting",
                        url=row.enter_meeting_url,
                        action_id="dash:enter",
                        style="primary",
                    ),
                    ButtonElement(
                        text="Reschedule", action_id="dash:reschedule", value=row.public_id
                    ),
                    _cancel_button(row, tz),
                    *_more_buttons(row, tz),
                ],
            )
        )
        blocks.append(DividerBlock())
    blocks += refund_blocks(refunds)
    if pages > 1:
        paging: list[ButtonElement] = []
        if page > 0:
            paging.append(
                ButtonElement(text="‹ Earlier", action_id="dash:prev", value=str(page - 1))
            )
        if page + 1 < pages:
            paging.append(ButtonElement(text="Later ›", action_id="dash:next", value=str(page + 1)))
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"Page {page + 1} of {pages}")])
        )
        blocks.append(ActionsBlock(block_id="paging", elements=paging))
    return blocks


def _cancel_button(row: SessionRow, tz: str) -> ButtonElement:
    """Cancel, confirmed in Slack's own dialog; a paid session's opens the refund form."""
    if row.paid:
        return ButtonElement(
            text="Cancel", action_id="dash:cancel_paid", value=row.public_id, style="danger"
        )
    return ButtonElement(
        text="Cancel",
        action_id="dash:cancel",
        value=row.public_id,
        style="danger",
        confirm=ConfirmObject(
            title="Cancel this session?",
            text=f"Cancel the session on {when(row.start, tz)}? The participant will be told.",
            confirm="Cancel session",
            deny="Keep it",
            style="danger",
        ),
    )


def refund_blocks(rows: Sequence[RefundRow]) -> list[Block]:
    """The refunds of recent paid cancellations: where each stands; Retry refund on one
    that Stripe refused."""
    if not rows:
        return []
    out: list[Block] = [HeaderBlock(text="Refunds of cancelled sessions")]
    for row in rows:
        mark = "⚠ " if row.state == FAILED else ""
        out.append(
            SectionBlock(
                block_id=f"refund:{row.public_id}",
                text=MarkdownTextObject(text=clip(f"{mark}{row.participant} · {row.text}")),
                accessory=(
                    ButtonElement(
                        text="Retry refund",
                        action_id="dash:retry_refund",
                        value=row.public_id,
                        style="primary",
                    )
                    if row.state == FAILED
                    else None
                ),
            )
        )
    out.append(DividerBlock())
    return out


def cancel_paid_modal(public_id: str, offer: Offer, description: str) -> View:
    """Cancel a paid session: what to refund is chosen here (nothing preselected: a
    choice about money is asked, not guessed); submitting is the confirmation."""
    options = [Option(value=o.choice, text=clip(o.label, OPTION_TEXT_LIMIT)) for o in offer.options]
    return View(
        type="modal",
        callback_id="cancel_paid",
        private_metadata=json.dumps({"id": public_id}),
        title="Cancel session",
        submit="Cancel session",
        close="Keep it",
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=clip(f"{description} {offer.question}"))),
            InputBlock(
                block_id="refund",
                label="The payment",
                element=RadioButtonsElement(action_id="refund", options=options),
            ),
        ],
    )


def _more_buttons(row: SessionRow, tz: str) -> list[ButtonElement]:
    """Schedule Next, Remind now (only with an invitation channel), Edit, and for an
    occurrence of a series the choice to cancel it and the following ones."""

    out = [ButtonElement(text="Schedule Next", action_id="dash:schedule_next", value=row.public_id)]
    if row.invite_channel != Channel.NONE:
        out.append(ButtonElement(text="Remind now", action_id="dash:remind", value=row.public_id))
    out.append(ButtonElement(text="Edit", action_id="dash:edit", value=row.public_id))
    if row.series_id:
        out.append(
            ButtonElement(
                text="Cancel this and following",
                action_id="dash:cancel_series",
                value=row.public_id,
                style="danger",
                confirm=ConfirmObject(
                    title="Cancel the rest of the series?",
                    text=f"Cancel the session on {when(row.start, tz)} and every later one "
                    "of its series? Each invited participant will be told.",
                    confirm="Cancel them",
                    deny="Keep them",
                    style="danger",
                ),
            )
        )
    return out


def home_view(blocks: list[Block]) -> View:
    return View(type="home", blocks=blocks)


def sessions_modal(blocks: list[Block]) -> View:
    return View(type="modal", title="Sessions", close="Close", blocks=blocks)


def reschedule_modal(
    public_id: str,
    start: datetime,
    tz: str,
    description: str,
    page: int,
    *,
    overlap: str | None = None,
) -> View:
    """Pick a new date and time; submitting is the confirmation. With `overlap` (what
    `start` runs into), the form says so, and submitting `start` again moves anyway."""
    local = start.astimezone(ZoneInfo(tz))
    quarter = f"{local.hour:02d}:{local.minute - local.minute % 15:02d}"
    select = time_select(quarter, action_id="time")
    meta: dict[str, Any] = {"id": public_id, "tz": tz, "page": page}
    warning: list[Block] = []
    if overlap is not None:
        meta["confirmed"] = start.isoformat()
        warning.append(
            SectionBlock(
                block_id="overlap",
                text=MarkdownTextObject(
                    text=clip(f"⚠ {overlap} Press Reschedule again to move it anyway.")
                ),
            )
        )
    return View(
        type="modal",
        callback_id="reschedule",
        private_metadata=json.dumps(meta),
        title="Reschedule",
        submit="Reschedule",
        close="Keep it",
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=clip(description))),
            *warning,
            InputBlock(
                block_id="date",
                label="New date",
                element=DatePickerElement(action_id="date", initial_date=local.date().isoformat()),
            ),
            InputBlock(block_id="time", label=f"New time ({tz})", element=select),
        ],
    )


def warned_view(view: dict[str, Any], text: str, meta: dict[str, Any]) -> dict[str, Any]:
    """A submitted form again, as it was, with a warning under its description and
    `meta` (what was warned about): Slack keeps what was typed, since every input keeps
    its block and action ids; submitting again is the confirmation."""
    kept = [
        b
        for b in view.get("blocks") or []
        if isinstance(b, dict) and b.get("block_id") != "warning"
    ]
    warning = SectionBlock(block_id="warning", text=MarkdownTextObject(text=clip(text)))
    return {
        "type": "modal",
        **{k: view[k] for k in ("callback_id", "title", "submit", "close") if view.get(k)},
        "private_metadata": json.dumps(meta),
        "blocks": [*kept[:1], warning.to_dict(), *kept[1:]],
    }


def hours_modal(own: str | None, said: str) -> View:
    """A clinician's own working hours: one line, read by the one parser of hours."""
    return View(
        type="modal",
        callback_id="hours",
        title="Working hours",
        submit="Save hours",
        close="Keep them",
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=clip(said))),
            InputBlock(
                block_id="hours",
                label="Your working hours (your time zone)",
                element=PlainTextInputElement(
                    action_id="hours",
                    initial_value=own or None,
                    placeholder="Mon-Fri 9-5, or Mon 9-12, Wed 13-17",
                    max_length=200,
                ),
                optional=True,
                hint="Empty: the practice's hours. A start outside them is asked, not refused.",
            ),
        ],
    )


def notice_blocks(text: str) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=clip(text)))]


CHANNEL_OPTIONS = tuple((str(c), c.words.choice) for c in INVITATIONS)


def language_options(practice: Practice) -> list[tuple[str, str]]:
    """The Edit form's languages: the practice's default, then every catalog's."""
    default = (DEFAULT_LANGUAGE, f"The practice's default ({name_of(practice.language)})")
    return [default, *((code, name_of(code)) for code in available())]


def _static(
    action_id: str, pairs: Sequence[tuple[str, str]], initial: str | None
) -> StaticSelectElement:
    options = [Option(value=v, text=clip(label, OPTION_TEXT_LIMIT)) for v, label in pairs[:100]]
    chosen = next((o for o in options if o.value == initial), None)
    return StaticSelectElement(action_id=action_id, options=options, initial_option=chosen)


def _text(
    action_id: str, initial: str | None, placeholder: str | None = None
) -> PlainTextInputElement:
    return PlainTextInputElement(
        action_id=action_id, initial_value=initial or None, placeholder=placeholder
    )


def others_blocks(session: ScheduledSession) -> list[Block]:
    """The session's other participants, listed (read-only here: each keeps their own
    invitation, zone and link; the fields above are the first participant's)."""
    if not session.guests:
        return []
    lines = [
        f"• {g.participant}: {Channel.said_of(g.invite_channel)}, {zone_label(g.participant_tz)}"
        for g in session.guests
    ]
    text = "*Also in this session* (the fields above are the first participant's):\n"
    return [SectionBlock(text=MarkdownTextObject(text=clip(text + "\n".join(lines))))]


def edit_modal(
    session: ScheduledSession, tz: str, practice: Practice, description: str, *, payments: bool
) -> View:
    """Every field of a session on one screen, prefilled; submitting is the confirmation
    (checked by the conversation's rules, problems shown by their fields)."""
    local = session.start_at.astimezone(ZoneInfo(tz))
    clock = time_select(f"{local.hour:02d}:{local.minute - local.minute % 15:02d}", "time")
    packages = [("none", "No documents"), *((p.key, p.name) for p in practice.documents)]
    services = [("none", "No payment"), *((x.key, x.name) for x in practice.services)]
    amount = None if session.amount_cents is None else f"{session.amount_cents / 100:.2f}"

    def field(
        name: str, label: str, element: Any, *, optional: bool = False, hint: str | None = None
    ) -> InputBlock:
        return InputBlock(block_id=name, label=label, element=element, optional=optional, hint=hint)

    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=clip(description))),
        field(
            "date",
            "Date",
            DatePickerElement(action_id="date", initial_date=local.date().isoformat()),
        ),
        field("time", f"Time ({tz})", clock),
        field("participant", "Participant", _text("participant", session.participant)),
        field(
            "invite_channel",
            "Invitation",
            _static("invite_channel", CHANNEL_OPTIONS, session.invite_channel),
        ),
        field(
            "email",
            "E-mail",
            _text("email", session.email),
            optional=True,
            hint="for an e-mail invitation",
        ),
        field(
            "phone",
            "Phone",
            _text("phone", session.phone),
            optional=True,
            hint="for a text message invitation",
        ),
        field(
            "participant_tz",
            "Participant's time zone",
            _text("participant_tz", session.participant_tz),
            hint="a zone or a city, like Eastern or London",
        ),
        *others_blocks(session),
        field(
            "documents", "Documents", _static("documents", packages, session.documents or "none")
        ),
        field(
            "language",
            "Participant's language",
            _static("language", language_options(practice), session.language or DEFAULT_LANGUAGE),
            hint="their texts, e-mails and page",
        ),
    ]
    if payments:  # as in the conversation: offered only when payments are set up
        blocks.append(
            field("service", "Service", _static("service", services, session.service or "none"))
        )
        blocks.append(field("amount", "Amount", _text("amount", amount), optional=True))
    return View(
        type="modal",
        callback_id="edit",
        private_metadata=json.dumps({"id": session.public_id, "tz": tz}),
        title="Edit session",
        submit="Save changes",
        close="Keep it",
        blocks=blocks,
    )
