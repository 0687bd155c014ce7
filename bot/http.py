"""Routes of the Slack face for the one ASGI app (sessionbot/asgi.py): Bolt over HTTP."""

from __future__ import annotations

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sessionbot.wiring import Parts


def routes(parts: Parts) -> list[BaseRoute]:
    """`POST /slack/events`, and the OAuth install pages when OAuth is configured."""
    settings = parts.settings
    if not settings.slack_signing_secret or not (
        settings.slack_bot_token or (settings.slack_client_id and settings.slack_client_secret)
    ):

        async def not_configured(request: Request) -> Response:
            return PlainTextResponse(
                "Slack is not configured: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN "
                "(or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET).",
                status_code=503,
            )

        return [
            Route("/slack/events", not_configured, methods=["POST"]),
            Route("/slack/install", not_configured, methods=["GET"]),
            Route("/slack/oauth_redirect", not_configured, methods=["GET"]),
        ]

    from bot.app import bolt_app

    handler = AsyncSlackRequestHandler(bolt_app(parts))

    async def endpoint(request: Request) -> Response:
        return await handler.handle(request)

    return [
        Route("/slack/events", endpoint, methods=["POST"]),
        Route("/slack/install", endpoint, methods=["GET"]),
        Route("/slack/oauth_redirect", endpoint, methods=["GET"]),
    ]
