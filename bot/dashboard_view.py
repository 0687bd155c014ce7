"""Block Kit of the dashboard: App Home and the `/sessions` modal; no I/O.

One section a session with its buttons (Enter Meeting, Reschedule, Cancel, Schedule Next,
Remind now, Edit), the waiting room, the refunds of paid cancellations; paged so a view
stays under 100 blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import clip
from ground.channel import Channel
from ground.formatting import when, zone_label
from scheduling.dashboards import SessionRow
from scheduling.refunds import FAILED, RefundRow

# 4 blocks a session: 80 + header, at most 5 of the waiting room (dashboards.WAITING_SHOWN),
# paging and footer < Slack's 100 blocks of a view.
DASHBOARD_PAGE = 20


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
