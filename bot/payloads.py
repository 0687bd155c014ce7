"""The Slack payloads our listeners read, as types: the parts of a slash command, an event,
a click (`block_actions`) and a submitted view (`view_submission`) that we look at.

Every key is optional (`total=False`): a payload comes from outside and is checked where
it is read (bot/guard.py requires only what Slack always sends), so a reader still asks
`.get` and checks what it got. Slack's reference: api.slack.com/reference/interaction-payloads.
"""

from __future__ import annotations

import json
from typing import TypedDict

from ground.jsontypes import JSON


class TextObject(TypedDict, total=False):
    """A `plain_text` or `mrkdwn` text object."""

    type: str
    text: str
    emoji: bool


class Option(TypedDict, total=False):
    """A select's or radio's option."""

    text: TextObject
    value: str


class ElementState(TypedDict, total=False):
    """One input's value in `view.state.values[block_id][action_id]`: which key holds it
    depends on the element's type."""

    type: str
    value: str | None
    selected_date: str | None
    selected_time: str | None
    selected_option: Option | None
    selected_options: list[Option]
    selected_user: str | None
    selected_users: list[str]


# `view.state.values`: block id, then action id, then the input's state.
StateValues = dict[str, dict[str, ElementState]]


class ViewState(TypedDict, total=False):
    values: StateValues


class SlackView(TypedDict, total=False):
    """A view as Slack sends it back (a submission, the modal a click was made in)."""

    id: str
    type: str
    callback_id: str
    hash: str
    private_metadata: str
    previous_view_id: str | None
    root_view_id: str | None
    title: dict[str, JSON]
    submit: dict[str, JSON] | None
    close: dict[str, JSON] | None
    blocks: list[dict[str, JSON]]
    state: ViewState


class BlockAction(TypedDict, total=False):
    """One element of a `block_actions` payload's `actions` (what was clicked or picked)."""

    type: str
    action_id: str
    block_id: str
    action_ts: str
    value: str
    text: TextObject
    selected_option: Option | None
    selected_date: str | None


class Container(TypedDict, total=False):
    type: str
    channel_id: str
    message_ts: str
    view_id: str


class Message(TypedDict, total=False):
    """The message a click was made in."""

    ts: str
    thread_ts: str
    text: str
    blocks: list[dict[str, JSON]]


class Named(TypedDict, total=False):
    """A payload's `user`, `team` or `channel`."""

    id: str
    name: str


class InteractionBody(TypedDict, total=False):
    """A `block_actions` or `view_submission` request's payload."""

    type: str
    trigger_id: str
    user: Named
    team: Named
    channel: Named
    container: Container
    message: Message
    view: SlackView
    actions: list[BlockAction]


class SlashCommand(TypedDict, total=False):
    command: str
    text: str
    team_id: str
    user_id: str
    channel_id: str
    api_app_id: str
    trigger_id: str
    response_url: str


class Tokens(TypedDict, total=False):
    oauth: list[str]
    bot: list[str]


class SlackEvent(TypedDict, total=False):
    """An Events API event: a message, `app_home_opened`, `tokens_revoked`."""

    type: str
    subtype: str
    user: str
    bot_id: str
    channel: str
    channel_type: str
    text: str
    ts: str
    thread_ts: str
    client_msg_id: str
    tab: str
    tokens: Tokens


class EventBody(TypedDict, total=False):
    """An `event_callback` request's payload."""

    type: str
    team_id: str
    api_app_id: str
    event_id: str
    event: SlackEvent


class Suggestion(TypedDict, total=False):
    """A `block_suggestion` payload: what was typed in an external select."""

    type: str
    action_id: str
    block_id: str
    value: str


def element(view: SlackView, block: str, action: str | None = None) -> ElementState:
    """The state of the input `action` (by default named like its block) in `block` of a
    submitted view; empty when the view has no such input or is malformed."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    node = values.get(block) if isinstance(values, dict) else None
    found = node.get(block if action is None else action) if isinstance(node, dict) else None
    return found if isinstance(found, dict) else {}


def frame(view: SlackView) -> dict[str, JSON]:
    """What of a submitted view is shown again in the view that answers it: a modal with
    its callback id, title, buttons and metadata (each when it has one)."""
    parts: dict[str, JSON] = {
        "callback_id": view.get("callback_id"),
        "title": view.get("title"),
        "submit": view.get("submit"),
        "close": view.get("close"),
        "private_metadata": view.get("private_metadata"),
    }
    return {"type": "modal", **{k: v for k, v in parts.items() if v}}


class FormMeta(TypedDict, total=False):
    """What our session forms carry in `private_metadata` (bot/modals.py writes it)."""

    id: str  # the session's public id
    tz: str  # the clinician's zone when the form was opened
    page: int  # the dashboard page it was opened from
    confirmed: str  # the start already warned about (submitting it again goes ahead)
    start: str  # the Edit form: the session's start when the form was opened


def form_meta(view: SlackView) -> FormMeta | None:
    """A submitted form's metadata when it names a session (checked, not trusted: a part
    of the wrong kind is left out)."""
    try:
        parsed = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("id"), str):
        return None
    meta = FormMeta(id=parsed["id"])
    if isinstance(tz := parsed.get("tz"), str):
        meta["tz"] = tz
    if isinstance(page := parsed.get("page"), int):
        meta["page"] = page
    if isinstance(confirmed := parsed.get("confirmed"), str):
        meta["confirmed"] = confirmed
    if isinstance(start := parsed.get("start"), str):
        meta["start"] = start
    return meta
