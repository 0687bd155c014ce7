"""rasa-sdk actions of the scheduling conversation (no Slack here).

Importing this package registers every action, so `rasa_sdk --actions actions` and
`sessionbot actions` serve the same set the embedded runner uses.
"""

from __future__ import annotations

import asyncio
import logging
import traceback

from rasa_sdk.executor import ActionExecutor, ActionExecutorRunResult, CollectingDispatcher
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)

from actions import (
    cancel_actions,
    hold,
    hours,
    others_form,
    questions,
    saving,
    schedule_form,
    session_actions,
    summary,
)
from actions.context import actor_of_sender, sender_of, services
from dialogue.domain import load_domain
from scheduling.roles import Refused

ACTIONS = (
    schedule_form.ValidateScheduleForm,
    questions.ActionAskDate,
    questions.ActionAskTime,
    questions.ActionAskInviteChannel,
    questions.ActionAskEmail,
    questions.ActionAskPhone,
    questions.ActionAskPaymentRequired,
    questions.ActionAskParticipant,
    questions.ActionAskParticipantTz,
    others_form.ActionAskOthers,
    questions.ActionAskDocuments,
    questions.ActionAskService,
    questions.ActionAskAmount,
    summary.ActionShowSummary,
    saving.ActionSaveSession,
    session_actions.ActionListSessions,
    session_actions.ActionScheduleNext,
    session_actions.ActionSetAgenda,
    hours.ActionSetHours,
    session_actions.ActionCancel,
    cancel_actions.ActionCancelSession,
    session_actions.ActionStartOver,
    session_actions.ActionGoBack,
    session_actions.ActionWhichChange,
    hold.ActionHold,
)
SORRY = (
    "Sorry, something went wrong on my side and nothing was saved. "
    "Please say that again, or “start over”."
)
NOT_YOURS = (
    "Sorry, this conversation doesn't belong to a workspace this practice has set up, "
    "so I can't schedule anything here. Nothing was saved."
)
log = logging.getLogger(__name__)


class SessionbotExecutor(ActionExecutor):
    """rasa-sdk's executor, with the two guarantees the actions need behind any server.

    - The domain is always our own (dialogue/domain.yml, the one the assistant is
      trained on), so a call without one (Rasa's `enable_selective_domain`) is served
      instead of answered with rasa-sdk's 449, which Rasa 3.6 does not understand, and
      no request can swap in a domain of its own.
    - An action that fails answers the clinician with an apology and no events; the log
      gets the action's name and where it failed, never the exception's text or the
      tracker (they can carry a participant's name, address or number).
    - Where the services carry a check of senders (the action server: its trackers come
      from outside), a sender it refuses gets a polite refusal and no action runs, so
      nothing is made for them (no clinician, no draft).
    """

    def update_and_return_domain(
        self, payload: dict[str, object], action_name: str
    ) -> dict[str, object] | None:
        return dict(load_domain())

    async def run(
        self,
        action_call: dict[str, object],
        sink: asyncio.Queue[object] | None = None,
        dispatcher: CollectingDispatcher | None = None,
    ) -> ActionExecutorRunResult | None:
        action_call = _well_formed(action_call)
        try:
            refusal = await self._refusal(action_call) or await _by_role(action_call)
            if refusal is not None:
                return refusal
            return await super().run(action_call, sink, dispatcher)
        except (ActionExecutionRejection, ActionNotFoundException, ActionMissingDomainException):
            raise
        except Exception as exc:
            log.error(
                "action %s failed: %s at %s",
                str(action_call.get("next_action"))[:64],
                type(exc).__name__,
                _where(exc),
            )
            return ActionExecutorRunResult(
                events=[], responses=[{"text": SORRY, "custom": {"kind": "error"}}]
            )

    async def _refusal(self, action_call: object) -> ActionExecutorRunResult | None:
        check = services().admits
        if check is None or not isinstance(action_call, dict):
            return None
        name = action_call.get("next_action")
        if not isinstance(name, str) or name not in self.actions:
            return None  # rasa-sdk's own answer: not found
        tracker = action_call.get("tracker")  # made well-formed: a dict with a sender id
        sender = tracker.get("sender_id") if isinstance(tracker, dict) else None
        who = sender_of(sender if isinstance(sender, str) else None)
        if who is not None and await asyncio.to_thread(check, *who):
            return None
        log.info("action %s refused: the sender names no workspace of this practice", name)
        return ActionExecutorRunResult(
            events=[], responses=[{"text": NOT_YOURS, "custom": {"kind": "error"}}]
        )


async def _by_role(action_call: object) -> ActionExecutorRunResult | None:
    """A staff member's conversation for a clinician ("T:STAFF>CLINICIAN") whose role
    does not allow booking for them: the refusal in words (audited), no action run."""
    tracker = action_call.get("tracker") if isinstance(action_call, dict) else None
    sender = tracker.get("sender_id") if isinstance(tracker, dict) else None
    asking = actor_of_sender(sender if isinstance(sender, str) else None)
    if asking is None or not asking.staff:
        return None
    try:
        await asyncio.to_thread(services().scheduler.may_act, asking)
    except Refused as exc:
        return ActionExecutorRunResult(
            events=[], responses=[{"text": exc.words, "custom": {"kind": "error"}}]
        )
    return None


def _where(exc: BaseException) -> str:
    """The innermost line of our own code in the traceback (file and line, no values)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [
        f for f in frames if "site-packages" not in f.filename and "/lib/python" not in f.filename
    ]
    frame = (ours or frames)[-1]
    parts = frame.filename.replace("\\", "/").split("/")
    return f"{'/'.join(parts[-2:])}:{frame.lineno}"


def _well_formed(action_call: dict[str, object]) -> dict[str, object]:
    """The call with a tracker of the right shape: parts left out or null are empty, so
    each action meets a tracker it can read (and answers on what it lacks)."""
    if not isinstance(action_call, dict) or not action_call.get("next_action"):
        return action_call
    given = action_call.get("tracker")
    tracker: dict[str, object] = dict(given) if isinstance(given, dict) else {}
    sender = tracker.get("sender_id") or action_call.get("sender_id")
    tracker["sender_id"] = sender if isinstance(sender, str) else ""
    for key, empty in (("slots", {}), ("latest_message", {}), ("events", []), ("active_loop", {})):
        if not isinstance(tracker.get(key), type(empty)):
            tracker[key] = empty
    events = tracker["events"]
    tracker["events"] = (
        [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []
    )
    return {**action_call, "tracker": tracker}


def make_executor() -> ActionExecutor:
    """An executor with our actions registered (the one the action server runs too)."""
    executor = SessionbotExecutor()
    for action in ACTIONS:
        executor.register_action(action())
    return executor
