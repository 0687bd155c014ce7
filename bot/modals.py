"""Block Kit of a session's forms: Reschedule, Edit (every field on one screen), the
working hours, the paid cancellation's refund choice, and a submitted form shown again
with a warning; no I/O."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    DatePickerElement,
    InputBlock,
    InputInteractiveElement,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import OPTION_TEXT_LIMIT, clip, time_select
from bot.payloads import FormMeta, SlackView, frame
from ground.channel import INVITATIONS, Channel
from ground.formatting import zone_label
from ground.jsontypes import JSON
from ground.language import available, name_of
from ground.practice import Practice
from scheduling.editing import DEFAULT_LANGUAGE
from scheduling.refunds import Offer
from store.models import ScheduledSession


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
    meta = FormMeta(id=public_id, tz=tz, page=page)
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


def warned_view(view: SlackView, text: str, meta: FormMeta) -> dict[str, JSON]:
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
        **frame(view),
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
        name: str,
        label: str,
        element: InputInteractiveElement,
        *,
        optional: bool = False,
        hint: str | None = None,
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
            "length",
            "Length (minutes)",
            NumberInputElement(
                action_id="length",
                is_decimal_allowed=False,
                initial_value=str(session.duration_min),
            ),
            hint="a new service brings its own length unless you change this",
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
