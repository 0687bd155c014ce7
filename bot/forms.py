"""A session's forms: Reschedule and Edit (the one-screen form), each checked on submit
by the same rules as the conversation, and the working hours on App Home."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from actions import edit_form
from bot import blocks, staff
from bot.dashboard import Dashboard
from bot.face import actor
from dialogue.slots import read_date, read_time
from dialogue.turn_io import Who
from scheduling import starts
from scheduling.editing import EDIT_FIELDS, EditForm
from scheduling.hours import hours_problem

log = logging.getLogger("sessionbot.slack")


def _selected(values: Any, block: str, *path: str) -> str | None:
    """A field's value from a submitted view's state: `values[block][block][*path]`."""
    node: Any = values.get(block) if isinstance(values, dict) else None
    node = node.get(block) if isinstance(node, dict) else None
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, str) and len(node) <= 32 else None


class Forms(Dashboard):
    """The modals of a session and of the clinician's hours."""

    async def on_reschedule(
        self, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        client = context.client
        who = await self.who(client, str(context.team_id), str(context.user_id))
        found = await self.off(self._session_view, who, str(action.get("value")))
        await self.open_form(client, who, body, found, "reschedule")

    async def open_form(
        self, client: AsyncWebClient, who: Who, body: dict[str, Any], view: Any, what: str
    ) -> None:
        """Open a session's form (on top of the dashboard modal when clicked in one)."""
        if view is None:
            await self.tell(client, who, "I couldn't find that session among yours.")
            return
        in_modal = (body.get("view") or {}).get("type") == "modal"
        method = client.views_push if in_modal else client.views_open
        if await self.call(method, trigger_id=body.get("trigger_id"), view=view) is None:
            await self.tell(
                client, who, f"I couldn't open the {what} form just now. Please try again."
            )

    def _session_view(self, who: Who, public_id: str) -> Any:
        found = self.parts.scheduler.form(actor(who), public_id)
        if found is None:
            return None
        return blocks.reschedule_modal(public_id, found.start, found.tz, found.text, 0)

    def new_start(
        self, view: dict[str, Any]
    ) -> tuple[dict[str, Any], starts.StartCheck | None, dict[str, str]]:
        """The modal's new start in the clinician's zone, or the errors to show by its fields.

        The view comes from the request: its metadata and values are checked, not trusted
        (a malformed one is answered with an error by the field, never an exception)."""
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            meta = None
        if not isinstance(meta, dict) or not isinstance(meta.get("id"), str):
            return {}, None, {"date": "This form is out of date: open Reschedule again."}
        values = (view.get("state") or {}).get("values") or {}
        day = _selected(values, "date", "selected_date")
        clock = _selected(values, "time", "selected_option", "value")
        if not day:
            return meta, None, {"date": "Pick a date."}
        if not clock:
            return meta, None, {"time": "Pick a time."}
        try:
            day_value, at = read_date(day), read_time(clock)
            zone = str(meta.get("tz") or "UTC")
            now = datetime.now(UTC)
            check = starts.check_start(
                day_value, at.hour, at.minute, zone, now, self.parts.practice
            )
        except (ValueError, KeyError):
            return meta, None, {"date": "Pick a date and a time from the lists."}
        if check.start is None:
            return meta, None, {check.field: check.problem or "Pick another time."}
        return meta, check, {}

    async def ack_reschedule(
        self, ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        meta, check, problems = self.new_start(view)
        if problems:
            await ack(response_action="errors", errors=problems)
            return
        assert check is not None and check.start is not None
        team, user = str(context.team_id), str(context.user_id)
        warned = await self.off(self._overlap_form, team, user, meta, check.start)
        if warned is not None:  # said before the move; submitting again moves anyway
            await ack(response_action="update", view=warned)
        else:
            await ack()

    def _overlap_form(
        self, team: str, user: str, meta: dict[str, Any], start: datetime
    ) -> Any | None:
        """The form again with what `start` overlaps, or that it is outside the working
        hours (asked, not refused), unless that was already shown."""
        if meta.get("confirmed") == start.isoformat():
            return None
        scheduler, who = self.parts.scheduler, staff.asking(self.parts.scheduler, team, user)
        moved = scheduler.move_overlap(who, meta["id"], start)
        outside = scheduler.hours_question(who, start)
        overlap = " ".join(said for said in (outside, moved) if said) or None
        found = scheduler.form(who, meta["id"]) if overlap is not None else None
        if overlap is None or found is None:
            return None
        page = meta["page"] if isinstance(meta.get("page"), int) else 0
        return blocks.reschedule_modal(
            meta["id"], start, found.tz, found.text, page, overlap=overlap
        )

    async def on_rescheduled(
        self, view: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        client = context.client
        meta, start, _ = self.new_start(view)
        if start is None:
            return
        who = await self.who(client, str(context.team_id), str(context.user_id))
        if await self.off(self._overlap_form, who.team_id, who.user_id, meta, start.start):
            return  # the form shows the overlap; nothing moves until it is submitted again
        said = await self.off(self._reschedule, who, meta["id"], start, str(view.get("id")))
        if said is None:  # this very form was already submitted (a double submit, a retry)
            return
        await self.told_from_form(client, who, said, view)

    async def told_from_form(
        self, client: AsyncWebClient, who: Who, said: str, view: dict[str, Any]
    ) -> None:
        """After a session's form was submitted: say what was done, show the dashboard
        modal it was opened from again, and republish App Home."""
        await self.tell(client, who, said)
        previous = view.get("previous_view_id")
        if previous:
            modal = blocks.sessions_modal(await self.off(self._dashboard, who, 0))
            await self.call(client.views_update, view_id=previous, view=modal)
        await self.publish_home(client, who)

    def _reschedule(
        self, who: Who, public_id: str, check: starts.StartCheck, view_id: str
    ) -> str | None:
        done = self.parts.scheduler.reschedule(
            actor(who), public_id, check, once=f"slack:reschedule:{view_id}"
        )
        return None if done is None else done.text

    async def on_edit(
        self, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        client = context.client
        who = await self.who(client, str(context.team_id), str(context.user_id))
        found = await self.off(self._edit_view, who, str(action.get("value")))
        await self.open_form(client, who, body, found, "edit")

    def _edit_view(self, who: Who, public_id: str) -> Any:
        parts = self.parts
        found = parts.scheduler.form(actor(who), public_id)
        if found is None:
            return None
        text = "Change any field, then Save changes. The participant hears what concerns them."
        payments = parts.settings.payments_configured and bool(parts.practice.services)
        return blocks.edit_modal(found.session, found.tz, parts.practice, text, payments=payments)

    @staticmethod
    def edit_fields(view: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str | None]]:
        """The edit form's metadata and fields, read from the request (checked, not trusted)."""
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            meta = None
        if not isinstance(meta, dict) or not isinstance(meta.get("id"), str):
            meta = None
        values = (view.get("state") or {}).get("values") or {}
        raw: dict[str, str | None] = {}
        for name in EDIT_FIELDS:
            node = values.get(name) if isinstance(values, dict) else None
            node = node.get(name) if isinstance(node, dict) else None
            node = node if isinstance(node, dict) else {}
            option = node.get("selected_option")
            value = node.get("value") or node.get("selected_date")
            if value is None and isinstance(option, dict):
                value = option.get("value")
            raw[name] = value if isinstance(value, str) and len(value) <= 320 else None
        return meta, raw

    def _checked_edit(
        self, team: str, user: str, meta: dict[str, Any], raw: dict[str, str | None]
    ) -> tuple[EditForm | None, dict[str, str]]:
        parts = self.parts
        found = parts.scheduler.form(staff.asking(parts.scheduler, team, user), meta["id"])
        if found is None:
            return None, {"date": "I couldn't find that session among yours."}
        session = found.session
        if raw.get("service") is None:  # no payment fields on the form: kept as they are
            amount = session.amount_cents
            raw = raw | {
                "service": session.service,
                "amount": None if amount is None else f"{amount / 100:.2f}",
            }
        return edit_form.read_edit(
            raw, found.tz, datetime.now(UTC), parts.practice, current_start=session.start_at
        )

    async def ack_edit(
        self, ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        meta, raw = self.edit_fields(view)
        if meta is None:
            await ack(
                response_action="errors",
                errors={"date": "This form is out of date: open Edit again."},
            )
            return
        team, user = str(context.team_id), str(context.user_id)
        _, problems = await self.off(self._checked_edit, team, user, meta, raw)
        if problems:
            await ack(response_action="errors", errors=problems)
            return
        warned = await self.off(self._edit_warning, team, user, meta, raw, view)
        if warned is not None:  # said before the change; submitting again saves anyway
            await ack(response_action="update", view=warned)
        else:
            await ack()

    def _edit_warning(
        self,
        team: str,
        user: str,
        meta: dict[str, Any],
        raw: dict[str, str | None],
        view: dict[str, Any],
    ) -> dict[str, Any] | None:
        """The form again, asking about a new start outside the working hours, unless it
        was already asked for that start."""
        form, problems = self._checked_edit(team, user, meta, raw)
        if form is None or problems or meta.get("confirmed") == form.start.isoformat():
            return None
        question = self.parts.scheduler.edit_hours_question(
            staff.asking(self.parts.scheduler, team, user), meta["id"], form.start
        )
        if question is None:
            return None
        text = f"⚠ {question} Press Save changes again to keep it, or change the time."
        return blocks.warned_view(view, text, {**meta, "confirmed": form.start.isoformat()})

    async def on_edited(self, view: dict[str, Any], context: AsyncBoltContext) -> None:
        client = context.client
        meta, raw = self.edit_fields(view)
        if meta is None:
            return
        who = await self.who(client, str(context.team_id), str(context.user_id))
        if await self.off(self._edit_warning, who.team_id, who.user_id, meta, raw, view):
            return  # the form asks about the working hours; nothing changes until resubmitted
        said = await self.off(self._edit, who, meta, raw, str(view.get("id")))
        if said is None:
            return
        await self.told_from_form(client, who, said, view)

    def _edit(
        self, who: Who, meta: dict[str, Any], raw: dict[str, str | None], view_id: str
    ) -> str | None:
        form, problems = self._checked_edit(who.team_id, who.user_id, meta, raw)
        if form is None or problems:
            return None  # the form showed the problems
        # The same form submitted twice with the same fields (a double click) is done once.
        said = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()[:16]
        done = self.parts.scheduler.edit(
            actor(who), meta["id"], form, once=f"slack:edit:{view_id}:{said}"
        )
        return None if done is None else done.text

    async def on_hours(
        self, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        client = context.client
        who = await self.who(client, str(context.team_id), str(context.user_id))
        view = await self.off(self._hours_view, who)
        await self.open_form(client, who, body, view, "working hours")

    def _hours_view(self, who: Who) -> Any:
        own, said = self.parts.scheduler.own_hours(actor(who))
        return blocks.hours_modal(own, said)

    @staticmethod
    def hours_field(view: dict[str, Any]) -> str:
        values = (view.get("state") or {}).get("values") or {}
        node: Any = values.get("hours") if isinstance(values, dict) else None
        node = node.get("hours") if isinstance(node, dict) else None
        value = node.get("value") if isinstance(node, dict) else None
        return value.strip() if isinstance(value, str) else ""

    async def ack_hours(self, ack: AsyncAck, view: dict[str, Any]) -> None:
        said = self.hours_field(view)
        problem = hours_problem(said) if said else None
        if problem:
            await ack(response_action="errors", errors={"hours": problem})
        else:
            await ack()

    async def on_hours_saved(self, view: dict[str, Any], context: AsyncBoltContext) -> None:
        said = self.hours_field(view)
        if said and hours_problem(said):
            return  # the form said why
        client = context.client
        who = await self.who(client, str(context.team_id), str(context.user_id))
        told = await self.off(self._set_hours, who, said)
        await self.tell(client, who, told)
        await self.publish_home(client, who)

    def _set_hours(self, who: Who, said: str) -> str:
        return self.parts.scheduler.set_hours(actor(who), said).text
