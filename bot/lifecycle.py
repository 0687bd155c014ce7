"""Slack's app lifecycle: `app_uninstalled` and `tokens_revoked`.

With OAuth installs, Bolt's own token-revocation listeners run first and delete the
workspace's installation (or its bot) from the installation store, so no token is left to
post with. Then, in either mode, the workspace is recorded as revoked and its pending Slack
notices are dropped with the reason; the outbox worker drops later ones the same way
(sessionbot/outbox/preparing.py), so nothing more is posted to that workspace. A new OAuth
install (bot/installs.py) or, with one workspace, a new `SLACK_BOT_TOKEN` lifts it.

Bolt answers the first listener that matches an event, so these listeners call Bolt's
built-in ones rather than registering both.
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.payloads import SlackEvent
from integrations.slack_notify import DROPPED_BECAUSE, token_hash
from sessionbot.parts import Parts
from store import slack_rows

log = logging.getLogger("sessionbot.slack")


def revoke(parts: Parts, team_id: str, reason: str) -> int:
    """Record the workspace as revoked and drop its pending notices; returns how many."""
    settings = parts.settings
    single = None if settings.slack_client_id else token_hash(settings.slack_bot_token)
    with parts.store.unit() as s:
        dropped = slack_rows.revoke_slack_workspace(
            s,
            team_id,
            reason=reason,
            token_hash=single,
            dropped_because=DROPPED_BECAUSE[reason],
        )
    log.info("slack %s for a workspace: %d pending notices dropped", reason, dropped)
    return dropped


def attach(app: AsyncApp, parts: Parts) -> None:
    """Listen to both lifecycle events (the manifest subscribes to them)."""
    oauth = app.installation_store is not None
    bolt_uninstalled = app.default_app_uninstalled_event_listener() if oauth else None
    bolt_revoked = app.default_tokens_revoked_event_listener() if oauth else None

    async def on_app_uninstalled(context: AsyncBoltContext) -> None:
        if bolt_uninstalled is not None:
            await bolt_uninstalled(context=context)
        if context.team_id:
            await asyncio.to_thread(revoke, parts, context.team_id, "app_uninstalled")

    async def on_tokens_revoked(event: SlackEvent, context: AsyncBoltContext) -> None:
        if bolt_revoked is not None:
            await bolt_revoked(event=event, context=context)
        # Only user tokens revoked leaves the bot's token working: nothing to hold back.
        if (event.get("tokens") or {}).get("bot") and context.team_id:
            await asyncio.to_thread(revoke, parts, context.team_id, "tokens_revoked")

    app.event("app_uninstalled")(on_app_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)
