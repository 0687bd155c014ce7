"""The Slack app manifest a clinic pastes into api.slack.com to create the app."""

from __future__ import annotations

from typing import Any

BOT_SCOPES = ("chat:write", "commands", "im:history", "im:write", "users:read")
BOT_EVENTS = ("message.im", "app_home_opened")


def manifest(url: str, *, name: str = "sessionbot", socket_mode: bool = False) -> dict[str, Any]:
    """The manifest for a deployment whose public base URL is `url`."""
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
            "bot_user": {"display_name": name, "always_online": True},
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
