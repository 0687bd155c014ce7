"""What a command did (`Done`), in the words to tell the clinician, and the rule that a click
or an intent is done once (`once`): a repeat within `CLAIM_WINDOW` is answered, not redone."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ground.formatting import initials, when
from ground.practice import Practice
from store import claim_rows
from store.models import Clinician, ScheduledSession


@dataclass(frozen=True)
class Done:
    """What a command did, in the words to tell the clinician."""

    text: str
    changed: bool
    found: bool = True
    new_id: str | None = None  # the session a command made (Schedule Next)
    repeated: bool = False  # the same action was done moments ago: answered, not redone


def what_session(session: ScheduledSession, tz: str) -> str:
    return f"the session with {initials(session.participant)} on {when(session.start_at, tz)}"


def clinician_zone(clinician: Clinician, practice: Practice) -> str:
    return practice.zone_of(clinician.tz)


NOT_FOUND = Done("I couldn't find that session among yours.", changed=False, found=False)


CLAIM_WINDOW = timedelta(seconds=30)


ACTION_NAMES = {
    "schedule_next": "Schedule Next",
    "remind": "Remind now",
    "cancel": "Cancel",
    "cancel_series": "Cancel this and following",
    "reschedule": "Reschedule",
    "edit": "Edit",
    "rsvp": "RSVP",
    "pay": "Pay Now",
    "rotate_feed": "Make a new calendar link",
}


def already_done(action: str, result: str | None) -> Done:
    """The answer to a repeat: the friendly line with what the first was told."""
    name = ACTION_NAMES.get(action, action)
    if result is None:
        return Done(f"{name} is already being done; one moment.", changed=False, repeated=True)
    try:
        first = json.loads(result)
        text, new_id = str(first["text"]), first.get("new_id")
    except (ValueError, KeyError, TypeError):
        text, new_id = result, None
    return Done(f"{name} was already done: {text}", changed=False, new_id=new_id, repeated=True)


def once(
    s: Session,
    clinician_id: int,
    action: str,
    public_id: str,
    args: str,
    now: datetime,
    run: Callable[[], Done],
    holds: Callable[[], bool] | None = None,
) -> Done:
    """`run()` unless the same action was claimed within `CLAIM_WINDOW` (then "already
    done"); in the caller's unit of work, so the claim commits with what was done.

    `holds` says whether what the earlier one did still stands (the session is at the
    time it was moved to); when it does not (moved back since), the action is done again.
    """
    claimed = claim_rows.claim_action(s, clinician_id, action, public_id, args, now, CLAIM_WINDOW)
    if not claimed.mine and claimed.result is not None and holds is not None and not holds():
        claimed = claim_rows.claim_action(
            s, clinician_id, action, public_id, args, now, CLAIM_WINDOW, superseded=True
        )
    if not claimed.mine:
        return already_done(action, claimed.result)
    done = run()
    if done.changed:
        result = json.dumps({"text": done.text, "new_id": done.new_id})
        claim_rows.finish_claim(s, claimed, result)
    else:
        claim_rows.release_claim(s, claimed)
    return done
