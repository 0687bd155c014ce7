"""What every part of the Slack face shares: the process's parts, the threads that run
store work off the event loop, the per-clinician locks, who is talking (and their zone,
as Slack says it), their DM channel, and a Web API call that logs its failure by code."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from typing import ParamSpec, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.inbox import Inbox
from dialogue.turn_io import Who
from scheduling.service import Actor
from sessionbot.parts import Parts
from store import slack_rows

log = logging.getLogger("sessionbot.slack")

STORE_THREADS = 2


LOCKS_KEPT = 1000


T = TypeVar("T")
P = ParamSpec("P")


def actor(who: Who) -> Actor:
    """The clinician a Slack user is, as the scheduling service takes them."""
    return Actor(who.team_id, who.user_id, who.tz, for_user=who.for_user)


async def _nothing() -> None:
    return None


class FaceCore:
    """The listeners' common ground; caches only what Slack itself says (DM ids, zones)."""

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

    async def off(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run blocking store work (a turn, a dashboard) off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))

    async def who(self, client: AsyncWebClient, team: str, user: str) -> Who:
        """The user, with the clinician they work for now (bot/staff.py), if staff."""
        own = await self.own_who(client, team, user)
        acting = await self.off(self.parts.scheduler.acting_for, team, user)
        return replace(own, for_user=acting) if acting else own

    async def own_who(
        self, client: AsyncWebClient, team: str, user: str, *, dm: bool = False
    ) -> Who:
        """The clinician, with the zone Slack gives (asked once, then stored). `dm`: their
        DM channel is wanted too (`dm()` then answers from memory): read from the store
        with the zone, else asked of Slack at the same time as their profile."""
        key = (team, user)
        if key in self.zones:
            if dm:
                await self.dm(client, team, user)
            return self.zones[key]
        tz, channel = await self.off(self._stored, team, user)
        if channel is not None:
            self.dm_channels.setdefault(key, channel)
        who = Who(team, user, tz=tz)
        opening = self.dm(client, team, user) if dm else _nothing()
        if tz is None:
            info, _ = await asyncio.gather(self.call(client.users_info, user=user), opening)
            if info is not None:
                person = info.get("user") or {}
                name = (person.get("profile") or {}).get("display_name") or person.get("real_name")
                who = Who(team, user, tz=person.get("tz"), display_name=name or None)
        else:
            await opening
        if who.tz:
            self.zones[key] = who
        return who

    def _stored(self, team: str, user: str) -> tuple[str | None, str | None]:
        return self.parts.scheduler.slack_known(team, user)

    def known_zone(self, who: Who, zone: str) -> Who:
        known = Who(who.team_id, who.user_id, tz=zone, display_name=who.display_name)
        self.zones[(who.team_id, who.user_id)] = known
        return replace(known, dm_channel=who.dm_channel)

    async def dm(
        self, client: AsyncWebClient, team: str, user: str, *, fresh: bool = False
    ) -> str | None:
        """The user's DM channel with the bot, as Slack's conversations.open gives it
        (kept in memory, and in the store by their next turn: `Who.dm_channel`).
        `fresh`: ask Slack even if one is known (an event named another)."""
        key = (team, user)
        if fresh or key not in self.dm_channels:
            opened = await self.call(client.conversations_open, users=user)
            if opened is None:
                return None
            self.dm_channels[key] = opened["channel"]["id"]
        return self.dm_channels[key]

    async def dm_known(self, team: str, user: str) -> str | None:
        """The DM channel known for the user, from memory or the store, without asking
        Slack (for an ack, which cannot wait for a Web API call)."""
        key = (team, user)
        if key not in self.dm_channels:
            _, channel = await self.off(self._stored, team, user)
            if channel is None:
                return None
            self.dm_channels.setdefault(key, channel)
        return self.dm_channels[key]

    async def call(
        self,
        method: Callable[P, Awaitable[AsyncSlackResponse]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> AsyncSlackResponse | None:
        """A Web API call whose failure is logged by its error code only (never content)."""
        try:
            return await method(*args, **kwargs)
        except SlackApiError as exc:
            log.warning("Slack %s failed: %s", method.__name__, exc.response.get("error"))
            return None

    # The bot's own posts (what it may edit later, and what a click may come from).

    def _ours(self, who: Who, channel: str, ts: str) -> bool:
        with self.parts.store.reading() as s:
            return slack_rows.posted_to(s, who.team_id, who.user_id, channel, ts)

    def _record(self, who: Who, channel: str, ts: str) -> None:
        with self.parts.store.unit() as s:
            slack_rows.record_post(s, who.team_id, who.user_id, channel, ts)
