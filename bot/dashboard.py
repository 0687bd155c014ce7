"""The dashboard (App Home and /sessions), its buttons (Cancel, Schedule Next, Remind now,
the morning agenda, the calendar link) and the clinician's DM of what was done; the
type-ahead options of the forms."""

from __future__ import annotations

import logging
import uuid

from slack_bolt.async_app import AsyncAck, AsyncBoltContext
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from actions.extraction import zone_choices
from bot import blocks, calendar_home, dashboard_view, practice_home, staff
from bot.face import FaceCore, actor
from bot.payloads import BlockAction, InteractionBody, SlackEvent, SlashCommand, Suggestion
from dialogue.turn_io import Who
from scheduling.agendas import agenda_clock
from scheduling.service import Actor

log = logging.getLogger("sessionbot.slack")
VIEW_BLOCKS = 100  # Slack's most blocks in a view


class Dashboard(FaceCore):
    """App Home and /sessions, and the commands clicked on them."""

    def _dashboard(self, who: Who, page: int, *, below: int = 0) -> list[Block]:
        return self._dashboard_page(who, page, below=below)[0]

    def _dashboard_page(self, who: Who, page: int, *, below: int = 0) -> tuple[list[Block], bool]:
        """The dashboard's blocks, with room for `below` more in the view (Slack's 100
        blocks: the refunds of recent cancellations give way, the last-made first), and
        whether whoever looks is an admin of the practice."""
        found = self.parts.scheduler.dashboard(actor(who), page, size=dashboard_view.DASHBOARD_PAGE)
        refunds = list(found.refund_rows)  # failed ones first
        while True:
            built = dashboard_view.dashboard_blocks(
                found.rows,
                page=found.page,
                total=found.total,
                tz=found.tz,
                agenda_at=found.agenda_at,
                waiting=found.waiting,
                refunds=refunds,
            )
            if len(built) + below <= VIEW_BLOCKS or not refunds:
                return built, found.admin
            refunds.pop()

    async def publish_home(self, client: AsyncWebClient, who: Who, page: int = 0) -> None:
        below = len(calendar_home.home_blocks()) + len(practice_home.home_blocks())
        dashboard, admin = await self.off(self._dashboard_page, who, page, below=below)
        practice = practice_home.home_blocks() if admin else []
        view = dashboard_view.home_view([*dashboard, *calendar_home.home_blocks(), *practice])
        await self.call(client.views_publish, user_id=who.user_id, view=view)

    async def on_home_opened(self, event: SlackEvent, context: AsyncBoltContext) -> None:
        if event.get("tab", "home") != "home":
            return
        who = await self.who(context.client, str(context.team_id), str(context.user_id))
        await self.publish_home(context.client, who)

    async def on_sessions(self, command: SlashCommand, context: AsyncBoltContext) -> None:
        client = context.client
        clinician, _ = staff.split_for(command.get("text") or "")
        asking = Actor(str(context.team_id), str(context.user_id), for_user=clinician)
        await self.off(self.parts.scheduler.act_for, asking, reads=True)
        who = await self.who(client, str(context.team_id), str(context.user_id))
        view = dashboard_view.sessions_modal(await self.off(self._dashboard, who, 0))
        opened = await self.call(client.views_open, trigger_id=command["trigger_id"], view=view)
        if opened is None:
            await self.tell(
                client,
                who,
                "I couldn't open your sessions just now. "
                "Please try /sessions again, or see them on my Home tab.",
            )

    async def on_page(
        self, body: InteractionBody, action: BlockAction, context: AsyncBoltContext
    ) -> None:
        client = context.client
        who = await self.who(client, str(context.team_id), str(context.user_id))
        await self.refresh(client, who, body, int(action.get("value") or 0))

    async def refresh(
        self, client: AsyncWebClient, who: Who, body: InteractionBody, page: int = 0
    ) -> None:
        """Show the dashboard again where it was clicked, and republish App Home."""
        view = body.get("view") or {}
        if view.get("type") == "modal" and view.get("id"):
            modal = dashboard_view.sessions_modal(await self.off(self._dashboard, who, page))
            await self.call(client.views_update, view_id=view["id"], view=modal)
            page = 0
        await self.publish_home(client, who, page)

    async def tell(self, client: AsyncWebClient, who: Who, text: str) -> None:
        channel = await self.dm(client, who.team_id, who.user_id)
        if channel is not None:
            sent = await self.call(
                client.chat_postMessage,
                channel=channel,
                text=text,
                blocks=blocks.notice_blocks(text),
            )
            if sent is not None and isinstance(sent.get("ts"), str):
                await self.off(self._record, who, channel, sent["ts"])

    async def on_cancel(
        self, body: InteractionBody, action: BlockAction, context: AsyncBoltContext
    ) -> None:
        client = context.client
        who = await self.who(client, str(context.team_id), str(context.user_id))
        key = f"slack:{action.get('action_ts')}:dash:cancel"
        said = await self.off(self._cancel, who, str(action.get("value")), key)
        if said is None:
            return
        await self.tell(client, who, said)
        await self.refresh(client, who, body)

    def _cancel(self, who: Who, public_id: str, key: str) -> str | None:
        done = self.parts.scheduler.cancel(actor(who), public_id, once=key)
        return None if done is None else done.text

    async def on_dash_command(
        self, body: InteractionBody, action: BlockAction, context: AsyncBoltContext
    ) -> None:
        """Schedule Next, Remind now, Cancel this and following: one command each, told in
        the clinician's DM, the dashboard shown again."""
        client = context.client
        who = await self.who(client, str(context.team_id), str(context.user_id))
        name = str(action.get("action_id"))
        key = f"slack:{action.get('action_ts')}:{name}"
        said = await self.off(self._dash_command, who, name, str(action.get("value")), key)
        if said is None:
            return
        await self.tell(client, who, said)
        await self.refresh(client, who, body)

    def _dash_command(self, who: Who, name: str, public_id: str, key: str) -> str | None:
        scheduler, asking = self.parts.scheduler, actor(who)
        if name == "dash:schedule_next":
            draft_id = f"slack-next:{uuid.uuid4().hex}"
            done = scheduler.schedule_next(asking, public_id, 1, draft_id=draft_id, once=key)
        elif name == "dash:remind":
            done = scheduler.remind(asking, public_id, once=key)
        else:
            done = scheduler.cancel(asking, public_id, series=True, once=key)
        return None if done is None else done.text

    async def on_agenda(
        self, body: InteractionBody, action: BlockAction, context: AsyncBoltContext
    ) -> None:
        """The morning agenda picked on the dashboard: a time, or off."""
        selected = action.get("selected_option")
        value = selected.get("value") if isinstance(selected, dict) else None
        wanted = None if value == "off" else agenda_clock(str(value or ""))
        if wanted is None and value != "off":
            return
        client = context.client
        who = await self.who(client, str(context.team_id), str(context.user_id))
        said = await self.off(self._set_agenda, who, wanted)
        await self.tell(client, who, said)
        await self.refresh(client, who, body)

    def _set_agenda(self, who: Who, wanted: str | None) -> str:
        return self.parts.scheduler.set_agenda(actor(who), wanted).text

    async def on_calendar_link(self, action: BlockAction, context: AsyncBoltContext) -> None:
        """App Home's "Send me the link", or the DM's "Make a new link": the link goes to
        the clinician's DM only, wherever the button was."""
        client = context.client
        who = await self.who(client, str(context.team_id), str(context.user_id))
        channel = await self.dm(client, who.team_id, who.user_id)
        if channel is None:
            return
        rotate = action.get("action_id") == calendar_home.ROTATE
        seen = str(action.get("value") or "")[:32]
        text, fingerprint = await self.off(self._calendar_link, who, rotate, seen)
        sent = await self.call(
            client.chat_postMessage,
            channel=channel,
            text=text,
            blocks=calendar_home.link_blocks(text, fingerprint),
            unfurl_links=False,
        )
        if sent is not None and isinstance(sent.get("ts"), str):
            await self.off(self._record, who, channel, sent["ts"])

    def _calendar_link(self, who: Who, rotate: bool, seen: str) -> tuple[str, str]:
        return self.parts.scheduler.calendar_link(actor(who), rotate=rotate, seen=seen)

    async def contact_options(
        self, ack: AsyncAck, payload: Suggestion, context: AsyncBoltContext
    ) -> None:
        query = str(payload.get("value") or "")
        team, user = str(context.team_id), str(context.user_id)
        pairs = await self.off(self._contacts, team, user, query)
        await ack(options=blocks.options(pairs))

    def _contacts(self, team: str, user: str, query: str) -> list[tuple[str, str]]:
        found = self.parts.scheduler.contacts(staff.asking(self.parts.scheduler, team, user), query)
        return [(str(contact_id), name) for contact_id, name in found]

    async def zone_options(self, ack: AsyncAck, payload: Suggestion) -> None:
        await ack(options=blocks.options(zone_choices(str(payload.get("value") or ""))))
