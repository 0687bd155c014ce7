"""The practice's admin in Slack (issue 20): from App Home, the Roles modal (grant and
revoke, as `sessionbot roles` does) and the Audit trail modal (as `sessionbot audit`
does, for their practice only). Everything is checked by the scheduling service: a
non-admin's click (a crafted one too) is refused in words and audited.

A submission's ack reads nothing: it checks the fields as they are, answers with a
"working" modal, and the listener updates the modal with the result after the ack.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Sequence

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot import practice_home as views
from bot.dashboard import Dashboard
from bot.payloads import BlockAction, InteractionBody, SlackView, element
from dialogue.turn_io import Who
from scheduling.practice_admin import TRAIL_SHOWN, AuditLine
from scheduling.roles import Refused

_USER = re.compile(r"[UW][A-Z0-9_]{2,32}")


def _user(value: object) -> str | None:
    return value if isinstance(value, str) and _USER.fullmatch(value) else None


def grant_fields(view: SlackView) -> tuple[str | None, str | None, list[str]]:
    """(who, role, clinicians) as submitted; ids that are not Slack user ids are dropped."""
    user = _user(element(view, "grantee", "user").get("selected_user"))
    option = element(view, "role", "role").get("selected_option") or {}
    role = option.get("value") if isinstance(option, dict) else None
    chosen = element(view, "clinicians", "users").get("selected_users") or []
    clinicians = [u for u in chosen[:50] if _user(u)] if isinstance(chosen, list) else []
    return user, role if isinstance(role, str) else None, clinicians


def audit_fields(view: SlackView) -> tuple[str | None, str | None]:
    """(session id, user) as submitted."""
    session = element(view, "session", "id").get("value")
    session = session.strip().lower() if isinstance(session, str) and session.strip() else None
    return session, _user(element(view, "user", "user").get("selected_user"))


class PracticeAdmin(Dashboard):
    """The admin's Roles and Audit trail modals."""

    async def on_practice(
        self, body: InteractionBody, action: BlockAction, context: AsyncBoltContext
    ) -> None:
        """App Home's Roles or Audit trail: the modal, once the service says admin."""
        client, team, user = context.client, str(context.team_id), str(context.user_id)
        me = await self.own_who(client, team, user)
        if action.get("action_id") == views.ROLES:
            held = await self.off(self.parts.scheduler.practice_roles, team, user)
            view = views.roles_view(team, held)
        else:
            lines = await self.off(self._trail, me, None, None)
            view = views.audit_view(team, lines, self._zone(me))
        opened = await self.call(client.views_open, trigger_id=body.get("trigger_id"), view=view)
        if opened is None:
            await self.tell(client, me, "I couldn't open that just now. Please try again.")

    @contextlib.asynccontextmanager
    async def refused_in(
        self, client: AsyncWebClient, view_id: str, title: str
    ) -> AsyncIterator[None]:
        """A refusal by role shown in the modal too (the listener's wrapper DMs it)."""
        try:
            yield
        except Refused as exc:
            if view_id:
                busy = views.busy_view(title, exc.words)
                await self.call(client.views_update, view_id=view_id, view=busy)
            raise

    def _zone(self, me: Who) -> str:
        return self.parts.scheduler.practice.zone_of(me.tz)

    def _trail(self, me: Who, session: str | None, user: str | None) -> Sequence[AuditLine] | None:
        return self.parts.scheduler.audit_trail(
            team=me.team_id, by=me.user_id, session=session, user=user,
            limit=TRAIL_SHOWN, newest=True,
        )  # fmt: skip

    # Roles ----------------------------------------------------------------------------

    async def ack_grant(self, ack: AsyncAck, view: SlackView) -> None:
        user, role, clinicians = grant_fields(view)
        problems = views.grant_problems(role, clinicians)
        if user is None:
            problems["grantee"] = "Choose who gets the role."
        if problems:
            await ack(response_action="errors", errors=problems)
        else:
            await ack(response_action="update", view=views.busy_view("Roles", "Granting…"))

    async def on_grant(self, view: SlackView, context: AsyncBoltContext) -> None:
        user, role, clinicians = grant_fields(view)
        if user is None or role is None or views.grant_problems(role, clinicians):
            return  # the form said why
        team, by = str(context.team_id), str(context.user_id)
        scheduler = self.parts.scheduler
        view_id = str(view.get("id") or "")
        async with self.refused_in(context.client, view_id, "Roles"):
            done = await self.off(scheduler.grant_role, team, user, role, clinicians, by=by)
        said = "Granted: " + "; ".join(done) if done else "They held that role already."
        await self._show_roles(context.client, team, by, view_id, said)

    async def on_revoke(
        self, body: InteractionBody, action: BlockAction, context: AsyncBoltContext
    ) -> None:
        role, _, rest = str(action.get("value") or "").partition("|")
        user, _, clinician = rest.partition("|")
        if _user(user) is None or (clinician and _user(clinician) is None):
            return
        team, by = str(context.team_id), str(context.user_id)
        scheduler = self.parts.scheduler
        view_id = str((body.get("view") or {}).get("id") or "")
        async with self.refused_in(context.client, view_id, "Roles"):
            taken = await self.off(
                scheduler.revoke_role, team, user, role, [clinician] if clinician else [], by=by
            )
        said = f"Revoked: <@{user}> is no longer {role}" + (
            f" for <@{clinician}>." if clinician else "."
        )
        await self._show_roles(context.client, team, by, view_id, said if taken else None)

    async def _show_roles(
        self, client: AsyncWebClient, team: str, by: str, view_id: str, said: str | None
    ) -> None:
        held = await self.off(self.parts.scheduler.practice_roles, team, by)
        if view_id:
            await self.call(
                client.views_update, view_id=view_id, view=views.roles_view(team, held, said)
            )
        if said:
            me = await self.own_who(client, team, by)
            await self.tell(client, me, said)

    # The audit trail ------------------------------------------------------------------

    async def ack_audit(self, ack: AsyncAck, view: SlackView) -> None:
        session, _ = audit_fields(view)
        problem = views.session_problem(session)
        if problem:
            await ack(response_action="errors", errors={"session": problem})
        else:
            await ack(response_action="update", view=views.busy_view("Audit trail", "Reading…"))

    async def on_audit(self, view: SlackView, context: AsyncBoltContext) -> None:
        session, user = audit_fields(view)
        if views.session_problem(session):
            return  # the form said why
        client, team = context.client, str(context.team_id)
        me = await self.own_who(client, team, str(context.user_id))
        async with self.refused_in(client, str(view.get("id") or ""), "Audit trail"):
            lines = await self.off(self._trail, me, session, user)
        shown = views.audit_view(team, lines, self._zone(me), session=session, user=user)
        if view.get("id"):
            await self.call(client.views_update, view_id=str(view["id"]), view=shown)
