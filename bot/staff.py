"""Staff in Slack (issue 20): "/schedule for @Dr Lee …" and "/sessions for @Dr Lee" make
a scheduler (or a supervisor, to read) work for that clinician: their conversation, App
Home and buttons act for the clinician until "/schedule" alone. Every call is checked
against the role by the scheduling service (`Scheduler._acting`); a refusal is said to
the staff member in words (and was audited there).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncBoltContext

from bot.inbox import Lazy, Listener
from dialogue.turn_io import Who
from scheduling.roles import Refused
from scheduling.service import Actor, Scheduler

if TYPE_CHECKING:
    from bot.app import SlackFace

# Slack sends a mention in a command's text as <@U123|name> (or <@U123>).
_FOR = re.compile(r"^\s*for\s+<@([A-Z0-9_]{2,32})(?:\|[^>]{0,80})?>\s*(.*)$", re.S | re.I)


def split_for(text: str) -> tuple[str | None, str]:
    """("U123", the rest) for "for <@U123|Dr Lee> rest"; (None, text) otherwise."""
    found = _FOR.match(text or "")
    if found is None:
        return None, (text or "").strip()
    return found.group(1).upper(), found.group(2).strip()


def refusing(face: SlackFace, processed: Callable[[Listener], Lazy]) -> Callable[[Listener], Lazy]:
    """`processed`, and a refusal by role (`Refused`) told to the staff member in a DM:
    the request is done with (nothing changed), not retried."""

    def wrap(fn: Listener) -> Lazy:
        @functools.wraps(fn)
        async def run(**kwargs: object) -> None:
            try:
                await fn(**kwargs)
            except Refused as exc:
                context = kwargs.get("context")
                if not isinstance(context, AsyncBoltContext):
                    raise
                me = Who(str(context.team_id), str(context.user_id))
                await face.tell(context.client, me, exc.words)

        return processed(run)

    return wrap


def asking(scheduler: Scheduler, team: str, user: str) -> Actor:
    """The user as the service takes them in a modal's ack: with the clinician they
    work for now, if staff (the service checks the role on the call)."""
    return Actor(team, user, for_user=scheduler.acting_for(team, user))
