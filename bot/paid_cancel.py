"""Slack's face of paid cancellations: the dashboard's Cancel on a paid session opens a form
that asks what to refund (full, none, less the late-cancellation fee), and Retry refund
on a refund Stripe refused.

The rules are actions/commands.py `cancel` and scheduling/refunds.py; the refund is made by
sessionbot/refunds.py after the cancellation commits, and its outcome is said in the DM
with the cancellation. A form submitted twice (a double click, Slack's retry) is done
once: the form's id is claimed; two forms with the same choice meet the command's claim.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ParamSpec, Protocol, TypeVar

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot import modals
from bot.face import actor
from bot.inbox import Lazy, Listener
from bot.payloads import BlockAction, InteractionBody, SlackView, element
from dialogue.turn_io import Who
from integrations.payments import Payments
from integrations.providers import payments
from scheduling import refunds
from sessionbot import refunds as making
from sessionbot.parts import Parts

T = TypeVar("T")
P = ParamSpec("P")


class Face(Protocol):
    """What these listeners use of the Slack face (bot/app.py `SlackFace`)."""

    parts: Parts

    async def off(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T: ...

    async def who(self, client: AsyncWebClient, team: str, user: str) -> Who: ...

    async def tell(self, client: AsyncWebClient, who: Who, text: str) -> None: ...

    async def refresh(
        self, client: AsyncWebClient, who: Who, body: InteractionBody, page: int = 0
    ) -> None: ...

    async def open_form(
        self, client: AsyncWebClient, who: Who, body: InteractionBody, view: View | None, what: str
    ) -> None: ...

    async def told_from_form(
        self, client: AsyncWebClient, who: Who, said: str, view: SlackView
    ) -> None: ...


def chosen_refund(view: SlackView) -> str | None:
    """The radio's value in a submitted form, when it is one of the choices."""
    selected = element(view, "refund").get("selected_option")
    value = selected.get("value") if isinstance(selected, dict) else None
    return refunds.read_choice(value) if isinstance(value, str) else None


def form_session(view: SlackView) -> str | None:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return None
    found = meta.get("id") if isinstance(meta, dict) else None
    return found if isinstance(found, str) and len(found) <= 32 else None


class PaidCancellations:
    def __init__(self, face: Face) -> None:
        self.face = face
        self.parts = face.parts
        self.payments: Payments | None = payments(face.parts.settings)

    def attach(self, app: AsyncApp, done: Callable[[Listener], Lazy]) -> None:
        ack = self.ack
        app.action("dash:cancel_paid")(ack=ack, lazy=[done(self.on_cancel_paid)])
        app.view("cancel_paid")(ack=self.ack_form, lazy=[done(self.on_form)])
        app.action("dash:retry_refund")(ack=ack, lazy=[done(self.on_retry)])

    @staticmethod
    async def ack(ack: AsyncAck) -> None:
        await ack()

    # Cancel: the form ------------------------------------------------------------------

    async def on_cancel_paid(
        self, body: InteractionBody, action: BlockAction, context: AsyncBoltContext
    ) -> None:
        client = context.client
        face = self.face
        who = await face.who(client, str(context.team_id), str(context.user_id))
        form, said = await face.off(self._form, who, str(action.get("value")))
        if said is not None:
            await face.tell(client, who, said)
            await face.refresh(client, who, body)
            return
        await face.open_form(client, who, body, form, "cancel")

    def _form(self, who: Who, public_id: str) -> tuple[View | None, str | None]:
        """The form for a paid session; for one no longer paid (refunded meanwhile) or
        gone, what to say instead."""
        found = self.parts.scheduler.refund_offer(actor(who), public_id)
        if isinstance(found, str):
            return None, found
        offer, what = found
        return modals.cancel_paid_modal(public_id, offer, what), None

    async def ack_form(self, ack: AsyncAck, view: SlackView) -> None:
        if chosen_refund(view) is None:
            await ack(response_action="errors", errors={"refund": "Choose what to refund."})
        else:
            await ack()

    async def on_form(
        self, view: SlackView, body: InteractionBody, context: AsyncBoltContext
    ) -> None:
        client = context.client
        face = self.face
        choice, public_id = chosen_refund(view), form_session(view)
        if choice is None or public_id is None:
            return
        who = await face.who(client, str(context.team_id), str(context.user_id))
        said = await face.off(self._cancel, who, public_id, choice, str(view.get("id")))
        if said is None:  # this very form was already submitted
            return
        await face.told_from_form(client, who, said, view)

    def _cancel(self, who: Who, public_id: str, choice: str, view_id: str) -> str | None:
        parts = self.parts
        done = parts.scheduler.cancel(
            actor(who), public_id, refund=choice, once=f"slack:cancel_paid:{view_id}"
        )
        if done is None:  # this very form was already submitted
            return None
        if not done.changed:
            return done.text
        now = datetime.now(UTC)
        settled = making.settle(parts.scheduler, self.payments, public_id, now)
        if settled.state in (None, refunds.KEPT):
            return done.text
        return f"{done.text} {settled.text}"

    # Retry refund ----------------------------------------------------------------------

    async def on_retry(
        self, body: InteractionBody, action: BlockAction, context: AsyncBoltContext
    ) -> None:
        client = context.client
        face = self.face
        who = await face.who(client, str(context.team_id), str(context.user_id))
        said = await face.off(self._retry, who, str(action.get("value")))
        await face.tell(client, who, said)
        await face.refresh(client, who, body)

    def _retry(self, who: Who, public_id: str) -> str:
        parts = self.parts
        why = parts.scheduler.retry_refund(actor(who), public_id)
        if why is not None:
            return why
        now = datetime.now(UTC)
        return making.settle(parts.scheduler, self.payments, public_id, now).text
