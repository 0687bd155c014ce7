"""A session's forms: Reschedule and Edit (the one-screen form), each checked on submit
by the same rules as the conversation, and the working hours on App Home."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ParamSpec
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from actions import edit_form
from bot import dashboard_view, form_views, modals
from bot.dashboard import Dashboard
from bot.face import actor
from bot.payloads import BlockAction, FormMeta, InteractionBody, SlackView, element, form_meta
from dialogue.slots import read_date, read_time
from dialogue.turn_io import Who
from ground.jsontypes import JSON
from scheduling import starts
from scheduling.editing import EDIT_FIELDS
from scheduling.hours import hours_problem
from scheduling.results import NOT_FOUND
from scheduling.roles import Refused

log = logging.getLogger("sessionbot.slack")
P = ParamSpec("P")

# What a submitted form shows after its ack: a view built here or the form again.
Shown = View | dict[str, JSON]
ALREADY_SENT = "This form was sent already; the message in our DM says what was done."


def _form_zone(meta: FormMeta | None) -> str | None:
    """The clinician's zone a form was opened with (its metadata), when it is one."""
    zone = meta.get("tz") if meta is not None else None
    if not isinstance(zone, str) or len(zone) > 64:
        return None
    try:
        ZoneInfo(zone)
    except (KeyError, ValueError):
        return None
    return zone


def _short(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) <= 32 else None


class Forms(Dashboard):
    """The modals of a session and of the clinician's hours."""

    async def on_reschedule(
        self, body: InteractionBody, action: BlockAction, context: AsyncBoltContext
    ) -> None:
        client = context.client
        who = await self.who(client, str(context.team_id), str(context.user_id))
        found = await self.off(self._session_view, who, str(action.get("value")))
        await self.open_form(client, who, body, found, "reschedule")

    async def open_form(
        self, client: AsyncWebClient, who: Who, body: InteractionBody, view: View | None, what: str
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

    def _session_view(self, who: Who, public_id: str) -> View | None:
        found = self.parts.scheduler.form(actor(who), public_id)
        if found is None:
            return None
        return modals.reschedule_modal(public_id, found.start, found.tz, found.text, 0)

    # A submitted form: its ack checks what needs no store and answers with the form
    # marked busy; the listener asks the store, then shows the form again (a question,
    # a problem) or what was done, by `views.update`.

    async def show_form(self, client: AsyncWebClient, view: SlackView, shown: Shown) -> None:
        """The submitted form `view`, still open, shows `shown` now."""
        await self.call(client.views_update, view_id=view.get("id"), view=shown)

    async def form_work(
        self,
        client: AsyncWebClient,
        view: SlackView,
        work: Callable[P, tuple[Shown | None, str | None]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> tuple[Shown | None, str | None]:
        """A form's store work, off the loop; a refusal by role ends the form with its
        words, and is told in the DM as well (bot/staff.py)."""
        try:
            return await self.off(work, *args, **kwargs)
        except Refused as refused:
            await self.show_form(client, view, form_views.done_view(view, refused.words))
            raise

    async def form_done(
        self,
        client: AsyncWebClient,
        who: Who,
        view: SlackView,
        shown: Shown | None,
        said: str | None,
    ) -> None:
        """The form again (`shown`: nothing was done), or what was done (`said`), in the
        form and in the DM; neither: this very form was done before (a double submit)."""
        if shown is not None:
            await self.show_form(client, view, shown)
        elif said is None:
            await self.show_form(client, view, form_views.done_view(view, ALREADY_SENT))
        else:
            await self.show_form(client, view, form_views.done_view(view, said))
            await self.told_from_form(client, who, said, view)

    def new_start(
        self, view: SlackView
    ) -> tuple[FormMeta | None, starts.StartCheck | None, dict[str, str]]:
        """The modal's new start in the clinician's zone, or the errors to show by its fields.

        The view comes from the request: its metadata and values are checked, not trusted
        (a malformed one is answered with an error by the field, never an exception).
        No I/O: the zone is the one the form was opened with (its metadata)."""
        meta = form_meta(view)
        if meta is None:
            return None, None, {"date": "This form is out of date: open Reschedule again."}
        day = _short(element(view, "date").get("selected_date"))
        option = element(view, "time").get("selected_option")
        clock = _short(option.get("value") if isinstance(option, dict) else None)
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

    async def ack_reschedule(self, ack: AsyncAck, view: SlackView) -> None:
        _, _, problems = self.new_start(view)
        if problems:
            await ack(response_action="errors", errors=problems)
        else:  # what it overlaps, the working hours, the move: after the ack
            await ack(response_action="update", view=form_views.busy_view(view))

    async def on_rescheduled(self, view: SlackView, context: AsyncBoltContext) -> None:
        client = context.client
        meta, check, _ = self.new_start(view)
        if meta is None or check is None or check.start is None:
            return  # the form said why
        who = await self.who(client, str(context.team_id), str(context.user_id))
        view_id = str(view.get("id"))
        shown, said = await self.form_work(
            client, view, self._rescheduled, who, meta, check, view_id
        )
        await self.form_done(client, who, view, shown, said)

    def _rescheduled(
        self, who: Who, meta: FormMeta, check: starts.StartCheck, view_id: str
    ) -> tuple[Shown | None, str | None]:
        """The form again with what the new start runs into (said before the move;
        submitting it again moves anyway), else the move and what to say of it."""
        assert check.start is not None
        warned = self._overlap_form(who, meta, check.start)
        if warned is not None:
            return warned, None
        done = self.parts.scheduler.reschedule(
            actor(who), meta["id"], check, once=f"slack:reschedule:{view_id}"
        )
        return None, None if done is None else done.text

    def _overlap_form(self, who: Who, meta: FormMeta, start: datetime) -> View | None:
        """The form again with what `start` overlaps, or that it is outside the working
        hours (asked, not refused), unless that was already shown."""
        if meta.get("confirmed") == start.isoformat():
            return None
        scheduler, asking = self.parts.scheduler, actor(who)
        moved = scheduler.move_overlap(asking, meta["id"], start)
        outside = scheduler.hours_question(asking, start)
        overlap = " ".join(said for said in (outside, moved) if said) or None
        found = scheduler.form(asking, meta["id"]) if overlap is not None else None
        if overlap is None or found is None:
            return None
        page = meta.get("page", 0)
        return modals.reschedule_modal(
            meta["id"], start, found.tz, found.text, page, overlap=overlap
        )

    async def told_from_form(
        self, client: AsyncWebClient, who: Who, said: str, view: SlackView
    ) -> None:
        """After a session's form was submitted: say what was done, show the dashboard
        modal it was opened from again, and republish App Home."""
        await self.tell(client, who, said)
        previous = view.get("previous_view_id")
        if previous:
            modal = dashboard_view.sessions_modal(await self.off(self._dashboard, who, 0))
            await self.call(client.views_update, view_id=previous, view=modal)
        await self.publish_home(client, who)

    async def on_edit(
        self, body: InteractionBody, action: BlockAction, context: AsyncBoltContext
    ) -> None:
        client = context.client
        who = await self.who(client, str(context.team_id), str(context.user_id))
        found = await self.off(self._edit_view, who, str(action.get("value")))
        await self.open_form(client, who, body, found, "edit")

    def _edit_view(self, who: Who, public_id: str) -> View | None:
        parts = self.parts
        found = parts.scheduler.form(actor(who), public_id)
        if found is None:
            return None
        text = "Change any field, then Save changes. The participant hears what concerns them."
        payments = parts.settings.payments_configured and bool(parts.practice.services)
        return form_views.edit_view(
            found.session, found.tz, parts.practice, text, payments=payments
        )

    @staticmethod
    def edit_fields(view: SlackView) -> tuple[FormMeta | None, dict[str, str | None]]:
        """The edit form's metadata and fields, read from the request (checked, not trusted)."""
        meta = form_meta(view)
        raw: dict[str, str | None] = {}
        for name in EDIT_FIELDS:
            node = element(view, name)
            option = node.get("selected_option")
            value = node.get("value") or node.get("selected_date")
            if value is None and isinstance(option, dict):
                value = option.get("value")
            raw[name] = value if isinstance(value, str) and len(value) <= 320 else None
        return meta, raw

    def edit_problems(self, meta: FormMeta | None, raw: dict[str, str | None]) -> dict[str, str]:
        """The problems of the edit form's fields that need no store: every field read by
        the conversation's rules, in the zone and against the start the form was opened
        with (its metadata). The payment fields, when the form has none, are the
        session's and are left to the listener."""
        zone = _form_zone(meta)
        if meta is None or zone is None:
            return {"date": "This form is out of date: open Edit again."}
        _, problems = edit_form.read_edit(
            raw,
            zone,
            datetime.now(UTC),
            self.parts.practice,
            current_start=form_views.opened_start(meta),
        )
        return problems

    async def ack_edit(self, ack: AsyncAck, view: SlackView) -> None:
        meta, raw = self.edit_fields(view)
        problems = self.edit_problems(meta, raw)
        if problems:
            await ack(response_action="errors", errors=problems)
        else:  # the session as stored, the working hours, the change: after the ack
            await ack(response_action="update", view=form_views.busy_view(view))

    async def on_edited(self, view: SlackView, context: AsyncBoltContext) -> None:
        client = context.client
        meta, raw = self.edit_fields(view)
        if meta is None or self.edit_problems(meta, raw):
            return  # the form said why
        who = await self.who(client, str(context.team_id), str(context.user_id))
        shown, said = await self.form_work(client, view, self._edited, who, meta, raw, view)
        await self.form_done(client, who, view, shown, said)

    def _edited(
        self, who: Who, meta: FormMeta, raw: dict[str, str | None], view: SlackView
    ) -> tuple[Shown | None, str | None]:
        """The form again (a problem only the store shows; a new start outside the
        working hours, asked unless already asked for that start), else the change and
        what to say of it."""
        scheduler, asking = self.parts.scheduler, actor(who)
        found = scheduler.form(asking, meta["id"])
        if found is None:
            return form_views.done_view(view, NOT_FOUND.text), None
        session = found.session
        fields = raw
        if raw.get("service") is None:  # no payment fields on the form: kept as they are
            amount = session.amount_cents
            fields = raw | {
                "service": session.service,
                "amount": None if amount is None else f"{amount / 100:.2f}",
            }
        form, problems = edit_form.read_edit(
            fields, found.tz, datetime.now(UTC), self.parts.practice, current_start=session.start_at
        )
        if form is None:
            return modals.warned_view(view, "⚠ " + " ".join(problems.values()), meta), None
        start = form.start.isoformat()
        if meta.get("confirmed") != start:
            question = scheduler.edit_hours_question(asking, meta["id"], form.start)
            if question is not None:
                text = f"⚠ {question} Press Save changes again to keep it, or change the time."
                return modals.warned_view(view, text, {**meta, "confirmed": start}), None
        # The same form submitted twice with the same fields (a double click) is done once.
        said = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()[:16]
        done = scheduler.edit(asking, meta["id"], form, once=f"slack:edit:{view.get('id')}:{said}")
        return None, None if done is None else done.text

    async def on_hours(
        self, body: InteractionBody, action: BlockAction, context: AsyncBoltContext
    ) -> None:
        client = context.client
        who = await self.who(client, str(context.team_id), str(context.user_id))
        view = await self.off(self._hours_view, who)
        await self.open_form(client, who, body, view, "working hours")

    def _hours_view(self, who: Who) -> View:
        own, said = self.parts.scheduler.own_hours(actor(who))
        return modals.hours_modal(own, said)

    @staticmethod
    def hours_field(view: SlackView) -> str:
        value = element(view, "hours").get("value")
        return value.strip() if isinstance(value, str) else ""

    async def ack_hours(self, ack: AsyncAck, view: SlackView) -> None:
        said = self.hours_field(view)
        problem = hours_problem(said) if said else None
        if problem:
            await ack(response_action="errors", errors={"hours": problem})
        else:
            await ack()

    async def on_hours_saved(self, view: SlackView, context: AsyncBoltContext) -> None:
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
