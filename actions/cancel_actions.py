"""The conversation's cancellation of a saved session: "cancel my 3pm".

With no draft open, a "cancel" that names a time, a date or a participant looks among the
clinician's upcoming sessions: one found is asked about with buttons (Cancel it / Keep it,
or for a paid session the refund choices of scheduling/refunds.py and Keep it); several are
listed to pick from. Nothing is cancelled without a click. The click is the intent
`cancel_session` with entities `session_ref` (the public id) and `refund`, `confirm` or
`keep`; `action_cancel_session` then runs the clinician's command (actions/commands.py
`cancel`), so the same rules hold as on the dashboard and in the CLI. A chosen refund is
made by the worker (sessionbot/refunds.py), which tells the clinician by DM.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import extraction
from actions.context import actor_of_sender, sender_of, services
from actions.drafts import actor_of
from ground.formatting import clock, initials, when
from ground.jsontypes import JSON
from ground.practice import Practice
from scheduling import refunds, results
from scheduling.service import Actor
from scheduling.views import CancelChoice

INTENT = "cancel_session"
SHOWN = 5  # sessions offered at most when several fit


def payload(public_id: str, **more: JSON) -> str:
    return f"/{INTENT}" + json.dumps({"session_ref": public_id, **more}, separators=(",", ":"))


def _entity(tracker: Tracker, name: str) -> JSON:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity") == name:
            return entity.get("value")
    return None


def sessions_named(
    who: Actor, tz: str, text: str, practice: Practice, now: datetime
) -> tuple[list[CancelChoice], str] | None:
    """The upcoming sessions a "cancel …" message names (by time, date, participant), with
    how it named them; None when it names none (a plain "cancel"), or names nobody's."""
    found = extraction.extract(
        text, now=now.astimezone(ZoneInfo(tz)), default_region=practice.default_region
    )
    at, day, person = found.time, found.date, found.participant
    if at is None and day is None and not person:
        return None
    named = " ".join(
        part
        for part in (
            f"with {person}" if person else "",
            f"on {day.strftime('%a, %b %-d')}" if day else "",
            f"at {clock(at)}" if at else "",
        )
        if part
    )
    fits = services().scheduler.cancel_choices(
        who, at=at, day=day, participant=str(person) if person else None
    )
    return None if fits is None else (fits, named)


def ask_to_cancel(dispatcher: CollectingDispatcher, session: CancelChoice) -> None:
    """The question before cancelling one session: Cancel it / Keep it, or for a paid one
    what to refund (nothing preselected)."""
    what = f"the session with {initials(session.participant)} on {when(session.start, session.tz)}"
    offer = session.offer
    keep = {"title": "Keep it", "payload": payload(session.public_id, keep=True)}
    if offer is None:
        buttons = [
            {"title": "Cancel it", "payload": payload(session.public_id, confirm=True)},
            keep,
        ]
        text = f"Cancel {what}? The participant will be told."
    else:
        buttons = [
            {"title": o.label, "payload": payload(session.public_id, refund=o.choice)}
            for o in offer.options
        ] + [keep]
        text = f"Cancel {what}? {offer.question}"
    dispatcher.utter_message(text=text, buttons=buttons, custom={"kind": "info"})


def offer_to_cancel(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """ "cancel my 3pm" with no draft open: ask about the session(s) it names. False when
    the message names none (the caller says there is nothing in progress to cancel)."""
    ctx = services()
    text = str((tracker.latest_message or {}).get("text") or "")
    now = datetime.now(UTC)
    who = actor_of_sender(tracker.sender_id)
    if who is None or not text:
        return False
    clinician = ctx.scheduler.clinician_view(who)
    if not clinician.known:
        return False
    named = sessions_named(who, clinician.zone, text, ctx.practice, now)
    if named is None:
        return False
    fits, how = named
    if not fits:
        dispatcher.utter_message(
            text=f"I couldn't find an upcoming session of yours {how}. Nothing was "
            "cancelled. Say “sessions” to see them.",
            custom={"kind": "error"},
        )
    elif len(fits) == 1:
        ask_to_cancel(dispatcher, fits[0])
    else:
        buttons = [
            {
                "title": f"{when(x.start, x.tz)} · {initials(x.participant)}",
                "payload": payload(x.public_id),
            }
            for x in fits[:SHOWN]
        ]
        more = f" (the first {SHOWN} of {len(fits)})" if len(fits) > SHOWN else ""
        dispatcher.utter_message(
            text=f"Which session {how} do you want to cancel?{more}",
            buttons=buttons,
            custom={"kind": "info"},
        )
    return True


class ActionCancelSession(Action):
    """A click on the question's buttons: cancel (with the refund chosen), or keep it."""

    def name(self) -> str:
        return "action_cancel_session"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ref = _entity(tracker, "session_ref")
        if not isinstance(ref, str) or not ref or len(ref) > 32:
            dispatcher.utter_message(
                text="Which session? Say it with its time, like “cancel my 3pm”.",
                custom={"kind": "error"},
            )
            return []
        if _entity(tracker, "keep") is True:
            dispatcher.utter_message(text="OK, the session is kept.", custom={"kind": "info"})
            return []
        refund = _entity(tracker, "refund")
        choice = refunds.read_choice(refund if isinstance(refund, str) else None)
        scheduler = services().scheduler
        if sender_of(tracker.sender_id) is None:
            dispatcher.utter_message(text=results.NOT_FOUND.text, custom={"kind": "error"})
            return []
        who = actor_of(tracker)
        if choice is None and _entity(tracker, "confirm") is not True:
            found = scheduler.cancel_choice(who, ref)
            if found is None:
                dispatcher.utter_message(text=results.NOT_FOUND.text, custom={"kind": "error"})
            elif found.cancelled:
                dispatcher.utter_message(
                    text="That session is already cancelled.", custom={"kind": "info"}
                )
            else:
                ask_to_cancel(dispatcher, found)
            return []
        done = scheduler.cancel(who, ref, refund=choice) or results.NOT_FOUND
        pending = done.changed and choice not in (None, refunds.NONE)
        text = f"{done.text} I'll tell you here when Stripe has made it." if pending else done.text
        dispatcher.utter_message(text=text, custom={"kind": "info" if done.found else "error"})
        return []
