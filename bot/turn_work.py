"""A clinician's turn with the reads around it, in one call where the turn runs.

A DM used to cost the web process four trips to the store's threads besides the turn:
whom a staff member works for, whether another process is still posting an earlier
answer (`Delivery.settle`), the answers still to post, and marking them posted. The
first three are reads that the turn's own process (a turn process under `serve`, else a
thread of the face's pool) does beside the turn, and the answers it returns are rendered
there too (Block Kit to JSON), so the web process, whose one event loop also acknowledges
every clinician's requests, only posts them; the mark rides the inbox's next group write
(`Inbox.along`). bench/README.md, "Replies".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from bot import blocks, turn_blocks
from dialogue.domain import BotMessage, message_from_dispatch
from dialogue.turn_io import Answer, Batch, TurnAsk, TurnWork, Who
from ground.jsontypes import JSON
from store import slack_rows

if TYPE_CHECKING:
    from sessionbot.parts import Parts

MESSAGE_BLOCK_LIMIT = 50  # Block Kit's blocks in one message


def batches(messages: Sequence[BotMessage]) -> list[Batch]:
    """Messages as Slack messages: one, split only past Block Kit's 50 blocks."""
    out: list[Batch] = []
    rendered: list[dict[str, JSON]] = []
    texts: list[str] = []
    for message in messages:
        mine = [b.to_dict() for b in turn_blocks.message_blocks(message)]
        if rendered and len(rendered) + len(mine) > MESSAGE_BLOCK_LIMIT:
            out.append(Batch(blocks.clip("\n".join(texts)), rendered))
            rendered, texts = [], []
        rendered += mine
        texts.append(turn_blocks.fallback_text(message))
    if rendered:
        out.append(Batch(blocks.clip("\n".join(texts)), rendered))
    return out


def answer_of(turn_id: str, raw: str) -> Answer:
    """A recorded answer (`Runner.handle`'s `reply_to` and messages) ready to post."""
    body = json.loads(raw)
    to = body.get("to") or {}
    messages = [message_from_dispatch(m, {}) for m in body.get("messages") or []]
    return Answer(turn_id, str(to.get("channel")), to.get("thread_ts") or None, batches(messages))


def pending(parts: Parts, who: Who) -> list[Answer]:
    """The clinician's recorded answers that Slack has not taken, oldest first."""
    with parts.store.reading() as s:
        rows = slack_rows.replies_pending(s, who.team_id, who.user_id)
        return [answer_of(turn_id, body) for turn_id, body in rows]


def run(parts: Parts, ask: TurnAsk) -> TurnWork:
    """The turn, and the answers to post after it.

    With `ask.settle_since`, first look whether another process is posting an earlier
    answer to this clinician (recorded since then); if so run nothing (`reply` None), for
    the caller to wait and ask again. `ask.who` is the Slack user as they are: the
    clinician a staff member works for is read in the turn's transaction."""
    who = ask.who
    reply = parts.runner.handle(
        who,
        ask.text,
        turn_id=ask.turn_id,
        reply_to=ask.reply_to,
        preface=ask.preface,
        settle_since=ask.settle_since,
        acting=True,
    )
    if reply.settling:
        return TurnWork(None, [], who)
    answers = [answer_of(t, raw) for t, raw in reply.pending]
    who = replace(who, for_user=reply.for_user)
    return TurnWork(replace(reply, pending=[]), answers, who)  # the bodies once, as answers
