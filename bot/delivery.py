"""Delivering a turn's answers to the clinician's DM: recorded with the turn, posted in
batches, retried with backoff while Slack hiccups, marked delivered once, never twice."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Connection

from bot import inbox, turn_blocks, turn_work
from bot.face import FaceCore
from bot.payloads import InteractionBody
from dialogue.domain import BotMessage
from dialogue.turn_io import Answer, Batch, Who
from store import slack_rows

log = logging.getLogger("sessionbot.slack")
# A turn's answer is tried this many times (backoff 1 s doubling to 5 min: about 40 min).
REPLY_TRIES = 15
# How long a turn waits for an answer that another web process is posting to this
# clinician (see `Delivery.settle`), and how often it looks.
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


@dataclass(frozen=True)
class Place:
    """Where an answer goes: the clinician's DM, in a thread when they wrote in one."""

    channel: str
    thread_ts: str | None = None


def _backoff(tries: int) -> float:
    return min(REPLY_BACKOFF_CAP, 2.0 ** max(0, tries - 1)) * (0.75 + random.random() / 2)


def _post_failure(exc: BaseException) -> tuple[str, bool, float]:
    """What a failed post was: its error code (never content), whether trying again may
    help, and how long Slack asked to wait (Retry-After)."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        error = str(response.get("error") or f"http_{response.status_code}")[:64]
        headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
        raw: object = headers.get("retry-after")
        raw = raw[0] if isinstance(raw, list) and raw else raw
        try:
            wait = float(str(raw)) if raw is not None else 0.0
        except ValueError:
            wait = 0.0
        status = int(response.status_code or 0)
        transient = status >= 500 or status == 429 or error in TRANSIENT_ERRORS
        return error, transient, min(wait, REPLY_BACKOFF_CAP)
    return type(exc).__name__, True, 0.0  # the network, a timeout: Slack never answered


class Delivery(FaceCore):
    """Posting answers: what was recorded with a turn reaches the DM, once."""

    async def answered(
        self, client: AsyncWebClient, who: Who, body: InteractionBody, label: str
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
            blocks=turn_blocks.answered(message.get("blocks") or [], label),
        )
        thread = message.get("thread_ts")
        return Place(channel, thread if isinstance(thread, str) and thread != ts else None)

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

    async def deliver(
        self, client: AsyncWebClient, who: Who, answers: Sequence[Answer] | None = None
    ) -> None:
        """Post the clinician's recorded answers that Slack has not taken, oldest first
        (`answers`: as the turn's process read them after the turn; else read here).

        Each is marked delivered once Slack answered ok. A refusal that a retry can fix
        (5xx, network, rate limit, Slack's own trouble) raises `Undelivered`: the inbox
        runs the request again after a backoff. Any other (the channel or the token gone)
        gives the answer up, with the error code in the log and nothing of its content."""
        if answers is None:
            answers = await self.off(turn_work.pending, self.parts, who)
        for answer in answers:
            place = Place(answer.channel, answer.thread_ts)
            try:
                posted = await self.post_batches(client, place, answer.batches)
            except Exception as exc:  # noqa: BLE001 - every failure is sorted below
                error, transient, wait = _post_failure(exc)
                tries = await self.off(self._not_delivered, answer.turn_id, error, transient)
                if transient and tries < REPLY_TRIES:
                    log.warning("reply not delivered (%s); trying again", error)
                    raise inbox.Undelivered(max(wait, _backoff(tries))) from None
                log.warning("reply given up after %d tries: %s", tries, error)
                continue
            async with self.inbox.aside():  # a database write: off this loop
                await self.inbox.along(self._delivered, who, answer.turn_id, place.channel, posted)

    def _not_delivered(self, turn_id: str, error: str, transient: bool) -> int:
        with self.parts.store.unit() as s:
            return slack_rows.reply_not_delivered(
                s, turn_id, error, final=not transient, max_tries=REPLY_TRIES
            )

    @staticmethod
    def _delivered(s: Connection, who: Who, turn_id: str, channel: str, posted: list[str]) -> None:
        """In the inbox's next group write (awaited): a post whose mark was lost would be
        posted again by the request's replay."""
        posts = [(who.team_id, who.user_id, channel, ts) for ts in posted]
        slack_rows.reply_delivered(s, turn_id, datetime.now(UTC), posts)

    async def post_all(
        self, client: AsyncWebClient, place: Place, messages: Sequence[BotMessage]
    ) -> list[str]:
        """Post messages (one Slack message, split only past Block Kit's 50 blocks);
        raises what Slack or the network raised; returns the posted ts."""
        return await self.post_batches(client, place, turn_work.batches(messages))

    async def post_batches(
        self, client: AsyncWebClient, place: Place, batches: Sequence[Batch]
    ) -> list[str]:
        posted: list[str] = []
        for batch in batches:
            # Slack's client leaves out a thread_ts of None: then a message, not a reply.
            channel, thread = place.channel, place.thread_ts or None
            try:
                sent = await client.chat_postMessage(
                    channel=channel, thread_ts=thread, text=batch.text, blocks=batch.blocks
                )
            except SlackApiError as exc:
                if exc.response.get("error") != "invalid_blocks":
                    raise
                log.warning("chat.postMessage failed: invalid_blocks; posting the words")
                sent = await client.chat_postMessage(
                    channel=channel, thread_ts=thread, text=batch.text
                )
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
