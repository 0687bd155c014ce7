"""The Bolt app: Slack events in, dialogue turns, Block Kit out.

Every listener acknowledges at once; the work (a turn on the runner, the dashboard)
runs in a lazy listener after the ack. A turn carries the id of what caused it (the
event, the click, the command), so a Slack retry or a double click is done once.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from actions import edit_form
from actions.extraction import zone_choices
from bot import asks, blocks, calendar_home, guard, inbox, installs, lifecycle, staff
from bot.inbox import Inbox
from bot.manifest import BOT_SCOPES
from bot.paid_cancel import PaidCancellations
from dialogue.domain import BotMessage, message_from_dispatch
from dialogue.runner import Reply, Who
from dialogue.slots import read_date, read_time
from ground.logs import request_context
from ground.metrics import SESSIONS_SAVED, TURN_SECONDS, TURNS
from scheduling import calendar_link, starts
from scheduling.agendas import agenda_clock
from scheduling.editing import EDIT_FIELDS, EditForm
from scheduling.hours import hours_problem
from scheduling.service import Actor
from sessionbot.parts import Parts
from store import clinician_rows, slack_rows

log = logging.getLogger("sessionbot.slack")
MESSAGE_BLOCK_LIMIT = 50
DEFAULT_API_URL = "https://slack.com/api/"
STORE_THREADS = 2
LOCKS_KEPT = 1000
T = TypeVar("T")


@dataclass(frozen=True)
class Place:
    """Where an answer goes: the clinician's DM, in a thread when they wrote in one."""

    channel: str
    thread_ts: str | None = None


# A turn's answer is tried this many times (backoff 1 s doubling to 5 min: about 40 min).
REPLY_TRIES = 15
# How long a turn waits for an answer that another web process is posting to this
# clinician (see `SlackFace.settle`), and how often it looks.
SETTLE_SECONDS = 5.0
SETTLE_EVERY = 0.05
REPLY_BACKOFF_CAP = 300.0
# Slack's own trouble, worth trying again (with 5xx, 429 and network errors); any other
# error (channel_not_found, account_inactive, token_revoked, ...) will not pass later.
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)


def _backoff(tries: int) -> float:
    return min(REPLY_BACKOFF_CAP, 2.0 ** max(0, tries - 1)) * (0.75 + random.random() / 2)


def _post_failure(exc: BaseException) -> tuple[str, bool, float]:
    """What a failed post was: its error code (never content), whether trying again may
    help, and how long Slack asked to wait (Retry-After)."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        error = str(response.get("error") or f"http_{response.status_code}")[:64]
        headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
        raw: Any = headers.get("retry-after")
        raw = raw[0] if isinstance(raw, list) and raw else raw
        try:
            wait = float(str(raw)) if raw is not None else 0.0
        except ValueError:
            wait = 0.0
        status = int(response.status_code or 0)
        transient = status >= 500 or status == 429 or error in TRANSIENT_ERRORS
        return error, transient, min(wait, REPLY_BACKOFF_CAP)
    return type(exc).__name__, True, 0.0  # the network, a timeout: Slack never answered


def _batches(messages: Sequence[BotMessage]) -> list[tuple[list[Block], list[str]]]:
    """Messages as Slack messages: blocks and fallback texts, split past 50 blocks."""
    out: list[tuple[list[Block], list[str]]] = []
    batch: list[Block] = []
    texts: list[str] = []
    for message in messages:
        rendered = blocks.message_blocks(message)
        if batch and len(batch) + len(rendered) > MESSAGE_BLOCK_LIMIT:
            out.append((batch, texts))
            batch, texts = [], []
        batch += rendered
        texts.append(blocks.fallback_text(message))
    if batch:
        out.append((batch, texts))
    return out


def quiet_sdk_logging() -> None:
    """Bolt and slack_sdk log whole payloads at DEBUG: participant data. Never below INFO."""
    for name in ("slack_bolt", "slack_sdk"):
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:  # NOTSET too: a DEBUG root must not reach them
            logger.setLevel(logging.INFO)


def web_client(api_url: str | None, token: str | None = None) -> AsyncWebClient:
    base = (api_url or DEFAULT_API_URL).rstrip("/") + "/"
    return AsyncWebClient(
        token=token,
        base_url=base,
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
    kwargs: dict[str, Any] = {}
    if oauth:
        assert settings.slack_client_id and settings.slack_client_secret
        kwargs["oauth_settings"] = AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=list(BOT_SCOPES),
            installation_store=installs.installation_store(
                settings.slack_client_id, parts.store.engine
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
        **kwargs,
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


def _selected(values: Any, block: str, *path: str) -> str | None:
    """A field's value from a submitted view's state: `values[block][block][*path]`."""
    node: Any = values.get(block) if isinstance(values, dict) else None
    node = node.get(block) if isinstance(node, dict) else None
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, str) and len(node) <= 32 else None


def actor(who: Who) -> Actor:
    """The clinician a Slack user is, as the scheduling service takes them."""
    return Actor(who.team_id, who.user_id, who.tz, for_user=who.for_user)


class SlackFace:
    """The listeners, over the parts; caches only what Slack itself says (DM ids, zones)."""

    def __init__(self, parts: Parts, *, threads: int = STORE_THREADS) -> None:
        self.parts = parts
        self.dm_channels: dict[tuple[str, str], str] = {}
        self.zones: dict[tuple[str, str], Who] = {}
        # Turns and store reads run in a few threads of their own: with Python's default
        # pool (cores + 4) a burst of turns takes the GIL from the loop that acks.
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sessionbot-turn")
        self.locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.inbox = Inbox(
            parts.store, lease=timedelta(seconds=parts.settings.slack_inbox_lease_seconds)
        )

    def lock(self, who: Who) -> asyncio.Lock:
        """One clinician's turns in this process, one at a time, each with its answer
        posted (and recorded as ours) before the next, such as a click on it, begins."""
        key = (who.team_id, who.user_id)
        lock = self.locks.get(key)
        if lock is None:
            if len(self.locks) > LOCKS_KEPT:  # forget idle clinicians' locks
                for idle in [k for k, v in self.locks.items() if not v.locked()]:
                    del self.locks[idle]
            lock = self.locks[key] = asyncio.Lock()
        return lock

    async def off(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking store work (a turn, a dashboard) off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))

    def attach(self, app: AsyncApp) -> None:
        app.use(self.inbox.middleware)
        app.middleware(self.payload_check)
        done = staff.refusing(self, self.inbox.processed)
        app.event("message")(ack=self.ack, lazy=[done(self.on_direct_message)])
        app.event("app_home_opened")(ack=self.ack, lazy=[done(self.on_home_opened)])
        app.command("/schedule")(ack=self.ack_schedule, lazy=[done(self.on_schedule)])
        app.command("/sessions")(ack=self.ack, lazy=[done(self.on_sessions)])
        app.action(re.compile(r"^turn:"))(ack=self.ack, lazy=[done(self.on_turn_action)])
        app.action(re.compile(r"^dash:(enter|page_link)$"))(ack=self.ack, lazy=[done(self.noop)])
        app.action("dash:cancel")(ack=self.ack, lazy=[done(self.on_cancel)])
        PaidCancellations(self).attach(app, done)  # a paid session's Cancel, Retry refund
        app.action("dash:reschedule")(ack=self.ack, lazy=[done(self.on_reschedule)])
        app.action(re.compile(r"^dash:(schedule_next|remind|cancel_series)$"))(
            ack=self.ack, lazy=[done(self.on_dash_command)]
        )
        app.action(re.compile(r"^dash:(prev|next)$"))(ack=self.ack, lazy=[done(self.on_page)])
        app.view("reschedule")(ack=self.ack_reschedule, lazy=[done(self.on_rescheduled)])
        app.action("dash:edit")(ack=self.ack, lazy=[done(self.on_edit)])
        app.action("dash:agenda")(ack=self.ack, lazy=[done(self.on_agenda)])
        app.view("edit")(ack=self.ack_edit, lazy=[done(self.on_edited)])
        app.action("dash:hours")(ack=self.ack, lazy=[done(self.on_hours)])
        app.view("hours")(ack=self.ack_hours, lazy=[done(self.on_hours_saved)])
        app.options("turn:contact")(self.contact_options)
        app.options("turn:zone")(self.zone_options)
        app.action(re.compile(r"^me:zone"))(ack=self.ack, lazy=[done(self.on_my_zone)])
        app.options("me:zone")(self.zone_options)
        app.action(re.compile(calendar_home.ACTIONS))(
            ack=self.ack, lazy=[done(self.on_calendar_link)]
        )

    @staticmethod
    async def payload_check(body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:
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
        self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
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
        channel = await self.dm(context.client, team, user)
        if channel is None or channel != event.get("channel"):
            return
        thread = event.get("thread_ts")
        who = await self.who(context.client, team, user)
        async with self.lock(who):
            await self.turn(
                context.client,
                who,
                event.get("text") or "",
                turn_id,
                Place(channel, thread if isinstance(thread, str) else None),
            )

    async def ack_schedule(
        self, ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        # Only words from here, never the command's text: it may name the participant.
        key = (str(context.team_id), str(context.user_id))
        if self.dm_channels.get(key) == command.get("channel_id"):
            await ack()
            return
        link = f"slack://app?team={command.get('team_id')}&id={command.get('api_app_id')}"
        await ack(
            text="Let's continue in our direct messages, where your sessions stay private: "
            f"<{link}&tab=messages|open the Messages tab>."
        )

    async def on_schedule(self, command: dict[str, Any], context: AsyncBoltContext) -> None:
        team, user = str(context.team_id), str(context.user_id)
        clinician, said = staff.split_for(command.get("text") or "")  # "for @Dr Lee …"
        await self.off(self.parts.scheduler.act_for, Actor(team, user, for_user=clinician))
        who = await self.who(context.client, team, user)
        channel = await self.dm(context.client, team, user)
        if channel is None:
            return
        text = said or "schedule"
        # Locked like a DM's turn: a click on its answer waits until the answer is
        # recorded as ours (else the click could not mark it answered).
        async with self.lock(who):
            await self.turn(
                context.client, who, text, f"command:{command['trigger_id']}", Place(channel)
            )

    async def on_turn_action(
        self, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        said = blocks.turn_text(action)
        if said is None:
            return
        text, label = said
        client = context.client
        who = await self.who(client, str(context.team_id), str(context.user_id))
        async with self.lock(who):
            place = await self.answered(client, who, body, label)
            if place is None:
                return
            turn_id = f"action:{action.get('action_ts')}:{action.get('action_id')}"
            await self.turn(client, who, text, turn_id, place)

    async def answered(
        self, client: AsyncWebClient, who: Who, body: dict[str, Any], label: str
    ) -> Place | None:
        """Mark the clicked message answered, if the bot posted it to this clinician, and
        say where the answer goes: the clinician's DM (from Slack, never the payload), in
        the clicked message's thread when it was in one of ours."""
        channel = await self.dm(client, who.team_id, who.user_id)
        if channel is None:
            return None
        container = body.get("container") or {}
        message = body.get("message") or {}
        ts = message.get("ts") if isinstance(message, dict) else None
        clicked_in = container.get("channel_id") if isinstance(container, dict) else None
        if not isinstance(ts, str) or clicked_in != channel:
            return Place(channel)
        if not await self.off(self._ours, who, channel, ts):
            return Place(channel)
        await self.call(
            client.chat_update,
            channel=channel,
            ts=ts,
            text=str(message.get("text") or label),
            blocks=blocks.answered(message.get("blocks") or [], label),
        )
        thread = message.get("thread_ts")
        return Place(channel, thread if isinstance(thread, str) and thread != ts else None)

    def _ours(self, who: Who, channel: str, ts: str) -> bool:
        with self.parts.store.reading() as s:
            return slack_rows.posted_to(s, who.team_id, who.user_id, channel, ts)

    def _record(self, who: Who, channel: str, ts: str) -> None:
        with self.parts.store.unit() as s:
            slack_rows.record_post(s, who.team_id, who.user_id, channel, ts)

    async def settle(self, who: Who, turn_id: str) -> None:
        """Wait, at most `SETTLE_SECONDS`, until no earlier answer to this clinician is
        still being posted by another web process.

        Behind a load balancer the clinician's next message may reach another process
        while the one that posted the last answer waits for Slack to confirm it (the
        clinician answers as soon as it shows). This turn would then post that answer a
        second time (it is still pending) and, after Save, refuse to save a summary it
        thinks unseen. In one process the clinician's lock already orders the two. An
        answer that Slack refused is not waited for; one whose process died is posted
        with this turn's after the wait, as before."""
        deadline = time.monotonic() + SETTLE_SECONDS
        since = datetime.now(UTC) - timedelta(seconds=self.parts.settings.slack_inbox_lease_seconds)
        while await self.off(self._in_flight, who, turn_id, since):
            if time.monotonic() >= deadline:
                return
            await asyncio.sleep(SETTLE_EVERY)

    def _in_flight(self, who: Who, turn_id: str, since: datetime) -> int:
        with self.parts.store.reading() as s:
            return slack_rows.replies_in_flight(
                s, who.team_id, who.user_id, besides=turn_id, since=since
            )

    async def turn(
        self, client: AsyncWebClient, who: Who, text: str, turn_id: str, place: Place
    ) -> None:
        with request_context(turn_id):  # every line of the turn, here and in its process
            await self._turn(client, who, text, turn_id, place)

    async def _turn(
        self, client: AsyncWebClient, who: Who, text: str, turn_id: str, place: Place
    ) -> None:
        await self.settle(who, turn_id)
        preface: list[BotMessage] = []
        if who.tz is None:  # Slack gave no zone and none is stored: ask once, first
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
            reply = await self.handle(who, text, turn_id, place, preface)
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
        await self.deliver(client, who)
        if reply.saved_session_id and not reply.duplicate:
            SESSIONS_SAVED.inc()
            await self.publish_home(client, who)

    async def handle(
        self, who: Who, text: str, turn_id: str, place: Place, preface: Sequence[BotMessage]
    ) -> Reply:
        """The dialogue turn, in a worker process where the web process has them (so the
        event loop keeps answering), else in this process's turn threads."""
        to = {"channel": place.channel, "thread_ts": place.thread_ts}
        if self.parts.turns is not None:
            return await self.parts.turns.handle(who, text, turn_id, to, preface)
        return await self.off(
            self.parts.runner.handle, who, text, turn_id=turn_id, reply_to=to, preface=preface
        )

    # Delivering answers ---------------------------------------------------------------------

    async def deliver(self, client: AsyncWebClient, who: Who) -> None:
        """Post the clinician's recorded answers that Slack has not taken, oldest first.

        Each is marked delivered once Slack answered ok. A refusal that a retry can fix
        (5xx, network, rate limit, Slack's own trouble) raises `Undelivered`: the inbox
        runs the request again after a backoff. Any other (the channel or the token gone)
        gives the answer up, with the error code in the log and nothing of its content."""
        for turn_id, raw in await self.off(self._pending, who):
            body = json.loads(raw)
            to = body.get("to") or {}
            place = Place(str(to.get("channel")), to.get("thread_ts") or None)
            messages = [message_from_dispatch(m, {}) for m in body.get("messages") or []]
            try:
                posted = await self.post_all(client, place, messages)
            except Exception as exc:  # noqa: BLE001 - every failure is sorted below
                error, transient, wait = _post_failure(exc)
                tries = await self.off(self._not_delivered, turn_id, error, transient)
                if transient and tries < REPLY_TRIES:
                    log.warning("reply not delivered (%s); trying again", error)
                    raise inbox.Undelivered(max(wait, _backoff(tries))) from None
                log.warning("reply given up after %d tries: %s", tries, error)
                continue
            await self.off(self._delivered, who, turn_id, place.channel, posted)

    def _pending(self, who: Who) -> list[tuple[str, str]]:
        with self.parts.store.reading() as s:
            return [
                (r.turn_id, r.body) for r in slack_rows.replies_pending(s, who.team_id, who.user_id)
            ]

    def _not_delivered(self, turn_id: str, error: str, transient: bool) -> int:
        with self.parts.store.unit() as s:
            return slack_rows.reply_not_delivered(
                s, turn_id, error, final=not transient, max_tries=REPLY_TRIES
            )

    def _delivered(self, who: Who, turn_id: str, channel: str, posted: list[str]) -> None:
        with self.parts.store.unit() as s:
            posts = [(who.team_id, who.user_id, channel, ts) for ts in posted]
            slack_rows.reply_delivered(s, turn_id, datetime.now(UTC), posts)

    async def post_all(
        self, client: AsyncWebClient, place: Place, messages: Sequence[BotMessage]
    ) -> list[str]:
        """Post a turn's messages (one Slack message, split only past Block Kit's 50
        blocks); raises what Slack or the network raised; returns the posted ts."""
        posted: list[str] = []
        for batch, texts in _batches(messages):
            text = blocks.clip("\n".join(texts))
            where: dict[str, Any] = {"channel": place.channel}
            if place.thread_ts:
                where["thread_ts"] = place.thread_ts
            try:
                sent = await client.chat_postMessage(**where, text=text, blocks=batch)
            except SlackApiError as exc:
                if exc.response.get("error") != "invalid_blocks":
                    raise
                log.warning("chat.postMessage failed: invalid_blocks; posting the words")
                sent = await client.chat_postMessage(**where, text=text)
            if isinstance(sent.get("ts"), str):
                posted.append(sent["ts"])
        return posted

    async def post(
        self, client: AsyncWebClient, who: Who, place: Place, messages: Sequence[BotMessage]
    ) -> None:
        """Post messages that are not a turn's answer (the zone question, an apology):
        a failure is logged by its code and dropped."""
        try:
            posted = await self.post_all(client, place, messages)
        except Exception as exc:  # noqa: BLE001 - logged by its kind, never its content
            log.warning("chat.postMessage failed: %s", _post_failure(exc)[0])
            return
        for ts in posted:
            await self.off(self._record, who, place.channel, ts)

    # Who is talking -----------------------------------------------------------------------

    async def who(self, client: AsyncWebClient, team: str, user: str) -> Who:
        """The user, with the clinician they work for now (bot/staff.py), if staff."""
        own = await self.own_who(client, team, user)
        acting = await self.off(self.parts.scheduler.acting_for, team, user)
        return replace(own, for_user=acting) if acting else own

    async def own_who(self, client: AsyncWebClient, team: str, user: str) -> Who:
        """The clinician, with the zone Slack gives (asked once, then stored)."""
        key = (team, user)
        if key in self.zones:
            return self.zones[key]
        stored = await self.off(self._stored_zone, team, user)
        who = Who(team, user, tz=stored)
        if stored is None:
            info = await self.call(client.users_info, user=user)
            if info is not None:
                person = info.get("user") or {}
                name = (person.get("profile") or {}).get("display_name") or person.get("real_name")
                who = Who(team, user, tz=person.get("tz"), display_name=name or None)
        if who.tz:
            self.zones[key] = who
        return who

    def _stored_zone(self, team: str, user: str) -> str | None:
        return self.parts.scheduler.own_zone(Actor(team, user))

    def known_zone(self, who: Who, zone: str) -> Who:
        who = Who(who.team_id, who.user_id, tz=zone, display_name=who.display_name)
        self.zones[(who.team_id, who.user_id)] = who
        return who

    async def on_my_zone(
        self, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
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
        who = await self.who(client, str(context.team_id), str(context.user_id))
        async with self.lock(who):
            place = await self.answered(client, who, body, label)
            if who.tz is not None or place is None:
                return  # already known: a second click changes nothing
            turn_id = f"action:{action.get('action_ts')}:{action.get('action_id')}"
            await self.turn(client, who, zone, turn_id, place)

    async def dm(self, client: AsyncWebClient, team: str, user: str) -> str | None:
        key = (team, user)
        if key not in self.dm_channels:
            opened = await self.call(client.conversations_open, users=user)
            if opened is None:
                return None
            self.dm_channels[key] = opened["channel"]["id"]
        return self.dm_channels[key]

    async def call(self, method: Any, **kwargs: Any) -> Any:
        """A Web API call whose failure is logged by its error code only (never content)."""
        try:
            return await method(**kwargs)
        except SlackApiError as exc:
            log.warning("Slack %s failed: %s", method.__name__, exc.response.get("error"))
            return None

    # The dashboard ------------------------------------------------------------------------

    def _dashboard(self, who: Who, page: int) -> list[Block]:
        found = self.parts.scheduler.dashboard(actor(who), page, size=blocks.DASHBOARD_PAGE)
        return blocks.dashboard_blocks(
            found.rows,
            page=found.page,
            total=found.total,
            tz=found.tz,
            agenda_at=found.agenda_at,
            waiting=found.waiting,
            refunds=found.refund_rows,
        )

    async def publish_home(self, client: AsyncWebClient, who: Who, page: int = 0) -> None:
        dashboard = await self.off(self._dashboard, who, page)
        view = blocks.home_view([*dashboard, *calendar_home.home_blocks()])
        await self.call(client.views_publish, user_id=who.user_id, view=view)

    async def on_home_opened(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        if event.get("tab", "home") != "home":
            return
        who = await self.who(context.client, str(context.team_id), str(context.user_id))
        await self.publish_home(context.client, who)

    async def on_sessions(self, command: dict[str, Any], context: AsyncBoltContext) -> None:
        client = context.client
        clinician, _ = staff.split_for(command.get("text") or "")
        asking = Actor(str(context.team_id), str(context.user_id), for_user=clinician)
        await self.off(self.parts.scheduler.act_for, asking, reads=True)
        who = await self.who(client, str(context.team_id), str(context.user_id))
        view = blocks.sessions_modal(await self.off(self._dashboard, who, 0))
        opened = await self.call(client.views_open, trigger_id=command["trigger_id"], view=view)
        if opened is None:
            await self.tell(
                client,
                who,
                "I couldn't open your sessions just now. "
                "Please try /sessions again, or see them on my Home tab.",
            )

    async def on_page(
        self, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        client = context.client
        who = await self.who(client, str(context.team_id), str(context.user_id))
        await self.refresh(client, who, body, int(action.get("value") or 0))

    async def refresh(
        self, client: AsyncWebClient, who: Who, body: dict[str, Any], page: int = 0
    ) -> None:
        """Show the dashboard again where it was clicked, and republish App Home."""
        view = body.get("view") or {}
        if view.get("type") == "modal" and view.get("id"):
            modal = blocks.sessions_modal(await self.off(self._dashboard, who, page))
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
        self, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
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

    async def on_dash_command(
        self, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
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
        self, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
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

    # The calendar feed --------------------------------------------------------------------

    async def on_calendar_link(self, action: dict[str, Any], context: AsyncBoltContext) -> None:
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
        public_url = self.parts.settings.public_url
        with self.parts.store.unit() as s:
            clinician = clinician_rows.get_clinician(s, who.team_id, who.user_id, tz=who.tz)
            if rotate:
                done, fingerprint = calendar_link.rotate(
                    s, clinician, public_url, seen, datetime.now(UTC)
                )
            else:
                done, fingerprint = calendar_link.show(s, clinician, public_url)
        return done.text, fingerprint

    # Edit in one screen ------------------------------------------------------------------

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

    # Working hours on App Home -------------------------------------------------------------

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

    # Type-ahead options ---------------------------------------------------------------------

    async def contact_options(
        self, ack: AsyncAck, payload: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        query = str(payload.get("value") or "")
        team, user = str(context.team_id), str(context.user_id)
        pairs = await self.off(self._contacts, team, user, query)
        await ack(options=blocks.options(pairs))

    def _contacts(self, team: str, user: str, query: str) -> list[tuple[str, str]]:
        found = self.parts.scheduler.contacts(staff.asking(self.parts.scheduler, team, user), query)
        return [(str(contact_id), name) for contact_id, name in found]

    async def zone_options(self, ack: AsyncAck, payload: dict[str, Any]) -> None:
        await ack(options=blocks.options(zone_choices(str(payload.get("value") or ""))))
