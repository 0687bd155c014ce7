"""The Bolt app: Slack events in, dialogue turns, Block Kit out.

Every listener acknowledges at once; the work (a turn on the runner, the dashboard)
runs in a lazy listener after the ack. A turn carries the id of what caused it (the
event, the click, the command), so a Slack retry or a double click is done once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from aiohttp import ClientSession, ClientTimeout
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot import (
    asks,
    calendar_home,
    guard,
    inbox,
    installs,
    lifecycle,
    practice_home,
    staff,
    turn_blocks,
    turn_work,
)
from bot.delivery import SETTLE_EVERY, SETTLE_SECONDS, Delivery, Place
from bot.forms import Forms
from bot.inbox import Inbox
from bot.manifest import BOT_SCOPES
from bot.paid_cancel import PaidCancellations
from bot.payloads import BlockAction, EventBody, InteractionBody, SlackEvent, SlashCommand
from bot.practice import PracticeAdmin
from dialogue.domain import BotMessage
from dialogue.turn_io import TurnAsk, TurnWork, Who
from ground.jsontypes import JSON
from ground.logs import request_context
from ground.metrics import SESSIONS_SAVED, TURN_SECONDS, TURNS
from scheduling.service import Actor
from sessionbot.parts import Parts

log = logging.getLogger("sessionbot.slack")
DEFAULT_API_URL = "https://slack.com/api/"


def quiet_sdk_logging() -> None:
    """Bolt and slack_sdk log whole payloads at DEBUG: participant data. Never below INFO."""
    for name in ("slack_bolt", "slack_sdk"):
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:  # NOTSET too: a DEBUG root must not reach them
            logger.setLevel(logging.INFO)


class LoopSessions:
    """Kept connections to Slack: one aiohttp session per event loop, where slack_sdk
    takes an `aiohttp.ClientSession` (it uses `closed` and `request`).

    Without a session of its own, slack_sdk opens a session and a TCP (and, to Slack, a
    TLS) connection for every call. Bolt hands this object on to the client it makes for
    each request and deep-copies that client for the lazy listeners: a copy shares it.
    A session is made on first use in a loop and closed when the loop's run ends
    (`asyncio.run` cancels the task that holds it)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ClientSession] = (
            weakref.WeakKeyDictionary()
        )
        self.holders: set[asyncio.Task[None]] = set()

    @property
    def closed(self) -> bool:
        return False  # a closed loop's session is replaced by the next loop's

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """`ClientSession.request`, its arguments and result passed through as they are."""
        return self.session().request(method, url, **kwargs)

    def session(self) -> ClientSession:
        loop = asyncio.get_running_loop()
        session = self.sessions.get(loop)
        if session is None or session.closed:
            session = ClientSession(timeout=ClientTimeout(total=self.timeout))
            self.sessions[loop] = session
            holder = loop.create_task(self._close_at_end(session), name="slack-session")
            self.holders.add(holder)
            holder.add_done_callback(self.holders.discard)
        return session

    @staticmethod
    async def _close_at_end(session: ClientSession) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await session.close()

    def __deepcopy__(self, memo: dict[int, object]) -> LoopSessions:
        return self


def web_client(api_url: str | None, token: str | None = None) -> AsyncWebClient:
    base = (api_url or DEFAULT_API_URL).rstrip("/") + "/"
    timeout = 30
    return AsyncWebClient(
        token=token,
        base_url=base,
        timeout=timeout,
        session=cast(ClientSession, LoopSessions(timeout)),
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def create_bolt_app(parts: Parts) -> AsyncApp:
    """The Bolt app for these parts: one workspace by token, or many by OAuth."""
    quiet_sdk_logging()
    settings = parts.settings
    oauth = bool(settings.slack_client_id and settings.slack_client_secret)
    client = web_client(settings.slack_api_url, None if oauth else settings.slack_bot_token)
    oauth_settings: AsyncOAuthSettings | None = None
    if oauth:
        assert settings.slack_client_id and settings.slack_client_secret
        oauth_settings = AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=list(BOT_SCOPES),
            installation_store=installs.installation_store(
                settings.slack_client_id, parts.store.engine, parts.scheduler
            ),
            state_store=installs.state_store(parts.store.engine),
            redirect_uri=f"{settings.public_url}/slack/oauth_redirect",
        )
    app = AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        # Our ack functions do no I/O, so Bolt may await them inline and answer at once;
        # otherwise it runs them as tasks and polls for the ack every 10 ms, behind the
        # lazy turns it has just started. Lazy listeners still run after the response.
        process_before_response=True,
        logger=logging.getLogger("sessionbot.slack.bolt"),
        oauth_settings=oauth_settings,
    )
    face = SlackFace(parts)
    face.attach(app)
    asks.attach(app, face)  # Accept and Decline under a participant's request
    lifecycle.attach(app, parts)
    app._sessionbot_face = face  # type: ignore[attr-defined]  # the inbox sweeper finds it
    return app


def slack_inbox(app: AsyncApp) -> Inbox:
    return app._sessionbot_face.inbox  # type: ignore[attr-defined]


def bolt_app(parts: Parts) -> AsyncApp:
    """The one Bolt app of these parts, shared by the HTTP route and Socket Mode, so a
    process has one set of listeners, caches and turn threads."""
    app = getattr(parts, "_bolt_app", None)
    if app is None:
        app = create_bolt_app(parts)
        parts._bolt_app = app  # type: ignore[attr-defined]
    return app


class SlackFace(Delivery, Forms, PracticeAdmin):
    """The listeners (`attach`) and the conversation; the dashboard and its buttons
    (bot/dashboard.py), the forms (bot/forms.py), the admin's modals (bot/practice.py) and
    delivering answers (bot/delivery.py) are its parts, over the common ground of bot/face.py."""

    def attach(self, app: AsyncApp) -> None:
        app.use(self.inbox.middleware)
        app.middleware(self.payload_check)
        done = staff.refusing(self, self.inbox.processed)
        then = self.inbox.then  # the ack, then the work (Bolt's lazy listeners, uncopied)
        app.event("message")(then(self.ack, done(self.on_direct_message)))
        app.event("app_home_opened")(then(self.ack, done(self.on_home_opened)))
        app.command("/schedule")(then(self.ack_schedule, done(self.on_schedule)))
        app.command("/sessions")(then(self.ack, done(self.on_sessions)))
        app.action(re.compile(r"^turn:"))(then(self.ack, done(self.on_turn_action)))
        app.action(re.compile(r"^dash:(enter|page_link)$"))(then(self.ack, done(self.noop)))
        app.action("dash:cancel")(then(self.ack, done(self.on_cancel)))
        PaidCancellations(self).attach(app, done)  # a paid session's Cancel, Retry refund
        app.action("dash:reschedule")(then(self.ack, done(self.on_reschedule)))
        app.action(re.compile(r"^dash:(schedule_next|remind|cancel_series)$"))(
            then(self.ack, done(self.on_dash_command))
        )
        app.action(re.compile(r"^dash:(prev|next)$"))(then(self.ack, done(self.on_page)))
        app.view("reschedule")(then(self.ack_reschedule, done(self.on_rescheduled)))
        app.action("dash:edit")(then(self.ack, done(self.on_edit)))
        app.action("dash:agenda")(then(self.ack, done(self.on_agenda)))
        app.view("edit")(then(self.ack_edit, done(self.on_edited)))
        app.action("dash:hours")(then(self.ack, done(self.on_hours)))
        app.view("hours")(then(self.ack_hours, done(self.on_hours_saved)))
        app.options("turn:contact")(self.contact_options)
        app.options("turn:zone")(self.zone_options)
        app.action(re.compile(r"^me:zone"))(then(self.ack, done(self.on_my_zone)))
        app.options("me:zone")(self.zone_options)
        app.action(re.compile(calendar_home.ACTIONS))(then(self.ack, done(self.on_calendar_link)))
        app.action(re.compile(practice_home.ACTIONS))(then(self.ack, done(self.on_practice)))
        app.action(practice_home.REVOKE)(then(self.ack, done(self.on_revoke)))
        app.view(practice_home.GRANT_VIEW)(then(self.ack_grant, done(self.on_grant)))
        app.view(practice_home.AUDIT_VIEW)(then(self.ack_audit, done(self.on_audit)))

    @staticmethod
    async def payload_check(
        body: dict[str, JSON], next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        """Socket Mode's payloads get the shape check that HTTP's get before Bolt."""
        problem = guard.payload_problem(body)
        if problem is not None:
            log.info("dropped a Slack payload: %s", problem)
            return BoltResponse(status=400, body=problem)
        return await next()

    @staticmethod
    async def noop() -> None:
        """A link button (Enter Meeting): Slack opens the URL; there is nothing to do."""

    @staticmethod
    async def ack(ack: AsyncAck) -> None:
        await ack()

    # The conversation ---------------------------------------------------------------------

    async def on_direct_message(
        self, event: SlackEvent, body: EventBody, context: AsyncBoltContext
    ) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        if not event.get("user"):
            return
        team, user = str(context.team_id), str(event["user"])
        turn_id = inbox.key_of(body)
        if turn_id is None:
            return
        # Where to answer comes from Slack for this user, never from the payload: a DM
        # channel the event names but conversations.open does not give gets nothing.
        # Known from an earlier turn (the store), else asked with who they are (a first
        # message's two Web API calls overlap); one the event contradicts is asked again.
        # Whom a staff member works for is read in the turn.
        who = await self.own_who(context.client, team, user, dm=True)
        channel = await self.dm(context.client, team, user)
        if channel is not None and channel != event.get("channel"):
            channel = await self.dm(context.client, team, user, fresh=True)
        if channel is None or channel != event.get("channel"):
            return
        who = replace(who, dm_channel=channel)  # kept by the turn for the next start
        thread = event.get("thread_ts")
        async with self.lock(who):
            await self.turn(
                context.client,
                who,
                event.get("text") or "",
                turn_id,
                Place(channel, thread if isinstance(thread, str) else None),
            )

    async def ack_schedule(
        self, ack: AsyncAck, command: SlashCommand, context: AsyncBoltContext
    ) -> None:
        # Only words from here, never the command's text: it may name the participant.
        if await self.dm_known(str(context.team_id), str(context.user_id)) == command.get(
            "channel_id"
        ):
            await ack()
            return
        link = f"slack://app?team={command.get('team_id')}&id={command.get('api_app_id')}"
        await ack(
            text="Let's continue in our direct messages, where your sessions stay private: "
            f"<{link}&tab=messages|open the Messages tab>."
        )

    async def on_schedule(self, command: SlashCommand, context: AsyncBoltContext) -> None:
        team, user = str(context.team_id), str(context.user_id)
        clinician, said = staff.split_for(command.get("text") or "")  # "for @Dr Lee …"
        await self.off(self.parts.scheduler.act_for, Actor(team, user, for_user=clinician))
        who = await self.own_who(context.client, team, user, dm=True)
        channel = await self.dm(context.client, team, user)
        if channel is None:
            return
        who = replace(who, dm_channel=channel)
        text = said or "schedule"
        # Locked like a DM's turn: a click on its answer waits until the answer is
        # recorded as ours (else the click could not mark it answered).
        async with self.lock(who):
            await self.turn(
                context.client, who, text, f"command:{command['trigger_id']}", Place(channel)
            )

    async def on_turn_action(
        self, body: InteractionBody, action: BlockAction, context: AsyncBoltContext
    ) -> None:
        said = turn_blocks.turn_text(action)
        if said is None:
            return
        text, label = said
        client = context.client
        who = await self.own_who(client, str(context.team_id), str(context.user_id))
        async with self.lock(who):
            place = await self.answered(client, who, body, label)
            if place is None:
                return
            turn_id = f"action:{action.get('action_ts')}:{action.get('action_id')}"
            await self.turn(client, who, text, turn_id, place)

    async def turn(
        self, client: AsyncWebClient, who: Who, text: str, turn_id: str, place: Place
    ) -> None:
        """`who`: the Slack user as they are (`own_who`); whom a staff member works for is
        read where the turn runs."""
        with request_context(turn_id):  # every line of the turn, here and in its process
            await self._turn(client, who, text, turn_id, place)

    async def _turn(
        self, client: AsyncWebClient, who: Who, text: str, turn_id: str, place: Place
    ) -> None:
        preface: list[BotMessage] = []
        settle = True  # asked of the turn's own process, unless done here first
        if who.tz is None:  # Slack gave no zone and none is stored: ask once, first
            await self.settle(who, turn_id)
            settle = False
            to = {"channel": place.channel, "thread_ts": place.thread_ts}
            gate = await self.off(self.parts.runner.own_zone, who, text, turn_id, reply_to=to)
            if gate.zone is None:  # the question, recorded: delivered like any answer
                await self.deliver(client, who)
                return
            who = self.known_zone(who, gate.zone)
            if gate.pending is not None:  # go on with the message held for the question
                text, turn_id = gate.pending, f"{turn_id}:resumed"
            preface = [gate.question] if gate.question else []
        started = time.perf_counter()
        try:
            work = await self.handle(who, text, turn_id, place, preface, settle=settle)
        except Exception as exc:  # the clinician must hear of it; the log gets no content
            TURNS.labels(result="failed").inc()
            log.error("turn failed: %s", type(exc).__name__)
            sorry = "Something went wrong on my side and nothing was changed. Please try again."
            await self.post(client, who, place, [BotMessage(sorry)])
            return
        # The answer was recorded with the turn: posted now, with any earlier one Slack
        # has not taken yet. A replayed turn that had committed posts its answer here if it
        # was never delivered (a failed post, a process killed before it).
        TURNS.labels(result="ok").inc()
        TURN_SECONDS.observe(time.perf_counter() - started)
        await self.deliver(client, work.who, work.answers)
        reply = work.reply
        if reply is not None and reply.saved_session_id and not reply.duplicate:
            SESSIONS_SAVED.inc()
            await self.publish_home(client, work.who)

    async def handle(
        self,
        who: Who,
        text: str,
        turn_id: str,
        place: Place,
        preface: Sequence[BotMessage],
        *,
        settle: bool,
    ) -> TurnWork:
        """The dialogue turn, with the reads around it (bot/turn_work.py), in a worker
        process where the web process has them (so the event loop keeps answering), else
        in this process's turn threads.

        `settle`: first wait, at most `SETTLE_SECONDS`, while another web process still
        posts an earlier answer to this clinician (see `Delivery.settle`): the turn's
        process looks, and runs nothing while one is in flight. `who` is the user as they
        are: whom a staff member works for is read there too."""
        to: dict[str, JSON] = {"channel": place.channel, "thread_ts": place.thread_ts}
        deadline = time.monotonic() + SETTLE_SECONDS
        lease = timedelta(seconds=self.parts.settings.slack_inbox_lease_seconds)
        since = datetime.now(UTC) - lease if settle else None
        ask = TurnAsk(who, text, turn_id, to, tuple(preface), since)
        while True:
            if ask.settle_since is not None and time.monotonic() >= deadline:
                # Waited long enough: that answer's process may have died.
                ask = replace(ask, settle_since=None)
            if self.parts.turns is not None:
                work = await self.parts.turns.work(ask)
            else:
                work = await self.off(turn_work.run, self.parts, ask)
            if work.reply is not None:
                return work
            await asyncio.sleep(SETTLE_EVERY)

    # The clinician's own zone, picked from the question ---------------------------------

    async def on_my_zone(
        self, body: InteractionBody, action: BlockAction, context: AsyncBoltContext
    ) -> None:
        """The clinician picked their own zone in the question above."""
        selected = action.get("selected_option")
        selected = selected if isinstance(selected, dict) else {}
        zone = selected.get("value") or action.get("value")
        if not isinstance(zone, str) or not zone:
            return
        shown = selected.get("text") or action.get("text")
        label = str(shown.get("text") if isinstance(shown, dict) else zone)
        client = context.client
        who = await self.own_who(client, str(context.team_id), str(context.user_id))
        async with self.lock(who):
            place = await self.answered(client, who, body, label)
            if who.tz is not None or place is None:
                return  # already known: a second click changes nothing
            turn_id = f"action:{action.get('action_ts')}:{action.get('action_id')}"
            await self.turn(client, who, zone, turn_id, place)
