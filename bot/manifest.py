"""The Slack app manifest a clinic pastes into api.slack.com to create the app.

`check()` refuses, before anything is printed, what Slack's manifest validation would
refuse later with a less helpful message: an app name over 35 characters, a bot user
name Slack would not take (lowercase letters, digits, `.`, `-`, `_`; at most 80), and a
request URL that is not https (Slack sends events and clinicians' clicks, which name
participants, only to https in production; `allow_http` is for local testing).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ground.jsontypes import JSON

BOT_SCOPES = ("chat:write", "commands", "im:history", "im:write", "users:read")
# app_uninstalled and tokens_revoked: Bolt's token-revocation listeners (bot/lifecycle.py)
# delete the workspace's installation, so nothing more is posted there.
BOT_EVENTS = ("message.im", "app_home_opened", "app_uninstalled", "tokens_revoked")

# Slack's limits (slackapi/manifest-schema: display_information.name, bot_user.display_name)
# and its rule for bot user names (the App Home page: lowercase, no spaces).
APP_NAME_MAX = 35
BOT_NAME_MAX = 80
BOT_NAME = re.compile(r"[a-z0-9._-]+")


class ManifestError(ValueError):
    """A manifest value Slack would refuse; the message says which and what to do."""


def bot_name_for(name: str) -> str:
    """A bot user name Slack accepts, made from the app name ("Rivera Clinic" → rivera-clinic)."""
    words = re.sub(r"[^a-z0-9._-]+", "-", name.casefold()).strip("-._")
    return words[:BOT_NAME_MAX] or "sessionbot"


def check(url: str, *, name: str, bot_name: str, allow_http: bool = False) -> None:
    """Raise ManifestError for what Slack would refuse."""
    if not name.strip():
        raise ManifestError("The app name (--name) is empty.")
    if len(name) > APP_NAME_MAX:
        raise ManifestError(
            f"The app name (--name) is {len(name)} characters; Slack allows at most {APP_NAME_MAX}."
        )
    if len(bot_name) > BOT_NAME_MAX or not BOT_NAME.fullmatch(bot_name):
        raise ManifestError(
            f"The bot user name (--bot-name) {bot_name!r} is not one Slack accepts: use "
            f"lowercase letters, digits, '.', '-' or '_', no spaces, at most {BOT_NAME_MAX} "
            "characters."
        )
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ManifestError(f"--url {url!r} is not a web address like https://bot.your-clinic.org.")
    if parts.query or parts.fragment:
        raise ManifestError("--url is the deployment's base address: no '?' or '#' part.")
    if parts.scheme == "http" and not allow_http:
        raise ManifestError(
            f"--url {url!r} is not https: Slack would send clinicians' messages unencrypted. "
            "Use the https address of the deployment, or add --local-testing for a test app."
        )


def manifest(
    url: str,
    *,
    name: str = "sessionbot",
    bot_name: str | None = None,
    socket_mode: bool = False,
    allow_http: bool = False,
) -> dict[str, JSON]:
    """The manifest for a deployment whose public base URL is `url` (checked first)."""
    bot = bot_name if bot_name is not None else bot_name_for(name)
    check(url, name=name, bot_name=bot, allow_http=allow_http)
    base = url.rstrip("/")
    events = f"{base}/slack/events"
    return {
        "display_information": {
            "name": name,
            "description": "Schedule secure video sessions with your clients.",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": bot, "always_online": True},
            "slash_commands": [
                {
                    "command": "/schedule",
                    "url": events,
                    "description": "Schedule a secure video session",
                    "usage_hint": "JD tomorrow 3pm by text +1 617 555 0101",
                    "should_escape": False,
                },
                {
                    "command": "/sessions",
                    "url": events,
                    "description": "Your upcoming sessions",
                    "should_escape": False,
                },
            ],
        },
        "oauth_config": {
            "redirect_urls": [f"{base}/slack/oauth_redirect"],
            "scopes": {"bot": list(BOT_SCOPES)},
        },
        "settings": {
            "event_subscriptions": {"request_url": events, "bot_events": list(BOT_EVENTS)},
            "interactivity": {
                "is_enabled": True,
                "request_url": events,
                "message_menu_options_url": events,
            },
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }
