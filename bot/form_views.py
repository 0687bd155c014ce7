"""A session's form after it is submitted: the same form marked busy while the store is
asked (the ack's answer, so the ack itself does no I/O), and the short answer the form
ends with. Built from the view as Slack sent it, or from domain objects; no I/O.

Every input keeps its block and action ids, so what was typed stays when the form is
shown busy and then again with a question (Slack keeps an input's state by its ids).
"""

from __future__ import annotations

import json
from datetime import datetime

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot import blocks, modals
from bot.payloads import FormMeta, SlackView, frame
from ground.jsontypes import JSON
from ground.practice import Practice
from store.models import ScheduledSession

CHECKING = "⏳ Checking…"
# The notices a form shows under its description: busy, or a question or problem.
STATUS = "status"
NOTICES = frozenset({STATUS, "warning", "overlap"})


def busy_view(view: SlackView, text: str = CHECKING) -> dict[str, JSON]:
    """The submitted form as it was (its fields, its metadata), with `text` in place of
    any earlier notice: what the ack answers while the listener checks it."""
    kept = [
        b
        for b in view.get("blocks") or []
        if isinstance(b, dict) and b.get("block_id") not in NOTICES
    ]
    status = ContextBlock(block_id=STATUS, elements=[MarkdownTextObject(text=blocks.clip(text))])
    return {**frame(view), "blocks": [*kept[:1], status.to_dict(), *kept[1:]]}


def done_view(view: SlackView, text: str) -> View:
    """The form's last screen: what was done (or why nothing was), and Close."""
    title = view.get("title")
    said = title.get("text") if isinstance(title, dict) else title
    return View(
        type="modal",
        callback_id=str(view.get("callback_id") or "form"),
        title=said if isinstance(said, str) and said else "Session",
        close="Close",
        blocks=[SectionBlock(text=MarkdownTextObject(text=blocks.clip(text)))],
    )


def edit_view(
    session: ScheduledSession, tz: str, practice: Practice, description: str, *, payments: bool
) -> View:
    """The Edit form (bot/modals.py `edit_modal`), its metadata also holding the session's
    start as it was when opened: the ack accepts that start unchanged, even once it has
    passed, without asking the store."""
    view = modals.edit_modal(session, tz, practice, description, payments=payments)
    meta = json.loads(view.private_metadata or "{}")
    view.private_metadata = json.dumps({**meta, "start": session.start_at.isoformat()})
    return view


def opened_start(meta: FormMeta) -> datetime | None:
    """The start an Edit form was opened with (None: an older form, or not a time)."""
    raw = meta.get("start")
    try:
        start = datetime.fromisoformat(raw) if isinstance(raw, str) and len(raw) <= 40 else None
    except ValueError:
        return None
    return start if start is not None and start.tzinfo is not None else None
