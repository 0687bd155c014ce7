"""rasa-sdk actions of the scheduling conversation (no Slack here).

Importing this package registers every action, so `rasa_sdk --actions actions` and
`sessionbot actions` serve the same set the embedded runner uses.
"""

from rasa_sdk.executor import ActionExecutor

from actions import schedule_form, session_actions

ACTIONS = (
    schedule_form.ValidateScheduleForm,
    session_actions.ActionAskTime,
    session_actions.ActionAskParticipant,
    session_actions.ActionAskParticipantTz,
    session_actions.ActionAskDocuments,
    session_actions.ActionAskService,
    session_actions.ActionAskAmount,
    session_actions.ActionShowSummary,
    session_actions.ActionSaveSession,
    session_actions.ActionListSessions,
    session_actions.ActionCancel,
    session_actions.ActionStartOver,
    session_actions.ActionGoBack,
)


def make_executor() -> ActionExecutor:
    """An executor with our actions registered (the one the action server runs too)."""
    executor = ActionExecutor()
    for action in ACTIONS:
        executor.register_action(action())
    return executor
