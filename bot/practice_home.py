"""Block Kit of the practice's admin section (issue 20): App Home's two buttons, the
Roles modal (who holds what, Revoke, and a form to grant) and the Audit trail modal
(filters, and the newest lines).

Users are shown as Slack mentions (`<@U…>`), which Slack renders as names for the admin
looking; the audit holds ids and field names only, so no line here carries a
participant's name, e-mail or phone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserMultiSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from ground.formatting import when
from scheduling.practice_admin import AuditLine, Holding
from scheduling.roles import ADMIN, SCHEDULER, SUPERVISOR

ROLES, AUDIT, REVOKE = "adm:roles", "adm:audit", "adm:revoke"
ACTIONS = f"^({ROLES}|{AUDIT})$"
GRANT_VIEW, AUDIT_VIEW = "adm_grant", "adm_audit"
ROLES_SHOWN = 40  # a modal holds 100 blocks: 40 grants, the form and a few lines
LINES_PER_SECTION = 10  # a section's text is at most 3,000 characters
ROLE_WORDS = {
    SCHEDULER: "Scheduler: books, moves, cancels and reminds for their clinicians",
    SUPERVISOR: "Supervisor: reads their clinicians' dashboards, initials only",
    ADMIN: "Admin: everything, for every clinician, and grants roles",
}
_PUBLIC_ID = re.compile(r"[0-9a-f]{32}")
_ACTORS = {"participant": "the participant", "system": "sessionbot"}


def home_blocks() -> list[Block]:
    """App Home's section for an admin (3 blocks: the dashboard keeps the view under 100)."""
    return [
        DividerBlock(),
        HeaderBlock(text="Your practice"),
        ActionsBlock(
            block_id="practice",
            elements=[
                ButtonElement(text="Roles", action_id=ROLES, value="roles"),
                ButtonElement(text="Audit trail", action_id=AUDIT, value="audit"),
            ],
        ),
    ]


def _mention(team: str, identity: str | None) -> str:
    """`<@U>` for a user of this practice ("T:U" or "U"); the words for the others."""
    if not identity:
        return ""
    if identity in _ACTORS:
        return _ACTORS[identity]
    found_team, _, user = identity.rpartition(":")
    if found_team and found_team != team:
        return f"`{identity}`"
    return f"<@{user}>"


def held_words(team: str, held: Holding) -> str:
    if held.role == ADMIN:
        return f"{_mention(team, held.user)} is an admin"
    return f"{_mention(team, held.user)} is a {held.role} for {_mention(team, held.clinician)}"


def roles_view(team: str, held: Sequence[Holding], said: str | None = None) -> View:
    """Who holds what, each with Revoke, then the form to grant a role."""
    top: list[Block] = []
    if said:
        top.append(ContextBlock(elements=[MarkdownTextObject(text=said[:2000])]))
    listed: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(text=held_words(team, h)),
            accessory=ButtonElement(
                text="Revoke",
                action_id=REVOKE,
                value=f"{h.role}|{h.user}|{h.clinician or ''}",
                confirm=ConfirmObject(
                    title="Revoke this role?",
                    text=MarkdownTextObject(text=held_words(team, h) + ": not any more."),
                    confirm="Revoke",
                    deny="Keep it",
                    style="danger",
                ),
            ),
        )
        for h in held[:ROLES_SHOWN]
    ]
    if not listed:
        listed = [SectionBlock(text=MarkdownTextObject(text="No one holds a role yet."))]
    if len(held) > ROLES_SHOWN:
        listed.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"And {len(held) - ROLES_SHOWN} more: `sessionbot roles list`."
                    )
                ]
            )
        )
    form: list[Block] = [
        DividerBlock(),
        HeaderBlock(text="Grant a role"),
        InputBlock(
            block_id="grantee",
            label="Who",
            element=UserSelectElement(action_id="user", placeholder="A member of the workspace"),
        ),
        InputBlock(
            block_id="role",
            label="Role",
            element=StaticSelectElement(
                action_id="role",
                placeholder="Choose a role",
                options=[Option(value=r, text=ROLE_WORDS[r][:75]) for r in ROLE_WORDS],
            ),
        ),
        InputBlock(
            block_id="clinicians",
            label="For clinicians",
            optional=True,
            hint="A scheduler or a supervisor works for these clinicians; an admin for all.",
            element=UserMultiSelectElement(action_id="users", placeholder="Clinicians"),
        ),
    ]
    return View(
        type="modal",
        callback_id=GRANT_VIEW,
        title="Roles",
        submit="Grant",
        close="Close",
        blocks=[*top, *listed, *form],
    )


def busy_view(title: str, words: str) -> View:
    """What a modal shows between its submission's ack and the answer (the ack reads
    nothing: the work runs after it, then the modal is updated)."""
    return View(
        type="modal",
        title=title,
        close="Close",
        blocks=[SectionBlock(text=MarkdownTextObject(text=words))],
    )


def grant_problems(role: str | None, clinicians: Sequence[str]) -> dict[str, str]:
    """The Grant form's field errors that need no store."""
    if role not in ROLE_WORDS:
        return {"role": "Choose a role."}
    if role != ADMIN and not clinicians:
        return {"clinicians": f"Choose the clinicians this {role} works for."}
    return {}


def session_problem(text: str | None) -> str | None:
    if text and not _PUBLIC_ID.fullmatch(text.strip().lower()):
        return "A session id has 32 letters and digits (`sessionbot sessions --json` shows it)."
    return None


def line_words(team: str, line: AuditLine, tz: str) -> str:
    parts = [
        f"`{line.seq}` {when(line.at, tz, style='short')}",
        _mention(team, line.actor),
        f"*{line.action.replace('_', ' ')}*",
    ]
    if line.session:
        parts.append(f"session `{line.session[:8]}`")
    if line.contact_id:
        parts.append(f"contact {line.contact_id}")
    if line.for_clinician:
        parts.append(f"for {_mention(team, line.for_clinician)}")
    if line.fields:
        parts.append("fields: " + ", ".join(line.fields))
    return " · ".join(parts)


def audit_view(
    team: str,
    lines: Sequence[AuditLine] | None,
    tz: str,
    *,
    session: str | None = None,
    user: str | None = None,
) -> View:
    """The filters, and the newest lines (or why there are none)."""
    filters: list[Block] = [
        InputBlock(
            block_id="session",
            label="Session id",
            optional=True,
            element=PlainTextInputElement(
                action_id="id", initial_value=session or None, placeholder="All sessions"
            ),
        ),
        InputBlock(
            block_id="user",
            label="By or for",
            optional=True,
            element=UserSelectElement(
                action_id="user", initial_user=user or None, placeholder="Anyone"
            ),
        ),
        DividerBlock(),
    ]
    shown: list[Block] = []
    if lines is None:
        shown.append(SectionBlock(text=MarkdownTextObject(text="No such session here.")))
    elif not lines:
        shown.append(SectionBlock(text=MarkdownTextObject(text="No audit rows yet.")))
    else:
        newest_first = [line_words(team, x, tz) for x in reversed(lines)]
        for i in range(0, len(newest_first), LINES_PER_SECTION):
            text = "\n".join(newest_first[i : i + LINES_PER_SECTION])
            shown.append(SectionBlock(text=MarkdownTextObject(text=text[:3000])))
        shown.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"The newest {len(lines)}, newest first. All of it, and whether "
                        "it is intact: `sessionbot audit` and `sessionbot audit verify`."
                    )
                ]
            )
        )
    return View(
        type="modal",
        callback_id=AUDIT_VIEW,
        title="Audit trail",
        submit="Show",
        close="Close",
        blocks=[*filters, *shown],
    )
