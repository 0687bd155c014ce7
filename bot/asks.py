"""Slack's Accept and Decline under a participant's request (scheduling/page_requests.py).

The buttons come with the worker's DM (sessionbot/outbox/preparing.py); a click is
acknowledged at once and answered after: the request is answered once (a second click, or
Slack's retry, is told it was already answered), the clinician is told in words, App Home
is published again.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.payloads import BlockAction, InteractionBody
from scheduling import page_requests
from scheduling.service import Actor

if TYPE_CHECKING:
    from bot.app import SlackFace
    from dialogue.turn_io import Who

ACTIONS = re.compile(r"^ask:(accept:\d|decline)$")


def answer(face: SlackFace, who: Who, action_id: str, value: str, key: str) -> str | None:
    """The clinician's answer to a request (the scheduler's one unit); None for a repeat
    of this very click (Slack's retry)."""
    if not value.isdigit():
        return "I couldn't find that request among yours."
    scheduler = face.parts.scheduler
    actor = Actor(who.team_id, who.user_id, for_user=who.for_user)
    if action_id.startswith(page_requests.ACCEPT):
        number = int(action_id.removeprefix(page_requests.ACCEPT))
        done = scheduler.accept_request(actor, int(value), number, once=key)
    else:
        done = scheduler.decline_request(actor, int(value), once=key)
    return None if done is None else done.text


def attach(app: AsyncApp, face: SlackFace) -> None:
    """Listen to the request DM's buttons."""

    async def on_answer(
        body: InteractionBody, action: BlockAction, context: AsyncBoltContext
    ) -> None:
        client = context.client
        who = await face.who(client, str(context.team_id), str(context.user_id))
        name = str(action.get("action_id"))
        key = f"slack:{action.get('action_ts')}:{name}"
        said = await face.off(answer, face, who, name, str(action.get("value") or ""), key)
        if said is None:
            return
        await face.tell(client, who, said)
        await face.publish_home(client, who)

    app.action(ACTIONS)(ack=face.ack, lazy=[face.inbox.processed(on_answer)])
