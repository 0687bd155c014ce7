"""Routes of the Slack face for the one ASGI app (sessionbot/asgi.py): Bolt over HTTP."""

from __future__ import annotations

import logging
import time

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot import guard
from ground.metrics import SLACK_ACK_SECONDS, SLACK_REQUESTS
from sessionbot.parts import Parts

log = logging.getLogger("sessionbot.slack")
EVENTS_PATH = "/slack/events"


class AckedSlackRequests(logging.Filter):
    """Leaves out uvicorn's access line of each Slack request answered below 400.

    Slack sends every event, click and command there: a line each (handed to the logging
    thread, formatted, masked, written) is CPU on every request (bench/README.md, "branch
    replies") and says nothing that the metrics (`SLACK_REQUESTS`) and the inbox do not.
    A refused or failed request keeps its line, besides our own line saying why."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args  # uvicorn's: client, method, path, HTTP version, status
        if isinstance(args, tuple) and len(args) == 5 and args[2] == EVENTS_PATH:
            return not (isinstance(args[4], int) and args[4] < 400)
        return True


def quiet_acked_requests() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AckedSlackRequests) for f in access.filters):
        access.addFilter(AckedSlackRequests())


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

    # Deferred, not a circle: Bolt and the Slack face load only where Slack is configured.
    from bot.app import bolt_app

    handler = AsyncSlackRequestHandler(bolt_app(parts))
    quiet_acked_requests()
    secret = settings.slack_signing_secret
    assert secret  # checked above

    async def events(request: Request) -> Response:
        started = time.perf_counter()
        response = await checked(request)
        if response.status_code < 400:
            SLACK_REQUESTS.labels(result="acked").inc()
            SLACK_ACK_SECONDS.observe(time.perf_counter() - started)
        else:
            SLACK_REQUESTS.labels(result="refused").inc()
        return response

    async def checked(request: Request) -> Response:
        """Signature first, then the body's encoding and shape; only then Bolt."""
        body = await request.body()  # bounded by the edge limits (sessionbot/edge.py)
        refusal = guard.check_signature(secret, body, request.headers)
        if refusal is None:
            parsed = guard.parse_body(body, request.headers.get("content-type", ""))
            if isinstance(parsed, guard.Refusal):
                refusal = parsed
            elif (problem := guard.payload_problem(parsed)) is not None:
                refusal = guard.Refusal(400, problem)
        if refusal is not None:
            log.info("refused a Slack request: %s (%d bytes)", refusal.reason, len(body))
            return PlainTextResponse(refusal.reason, status_code=refusal.status)
        return await handler.handle(request)

    async def endpoint(request: Request) -> Response:
        return await handler.handle(request)

    return [
        Route(EVENTS_PATH, events, methods=["POST"]),
        Route("/slack/install", endpoint, methods=["GET"]),
        Route("/slack/oauth_redirect", endpoint, methods=["GET"]),
    ]
