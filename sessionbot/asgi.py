"""The one ASGI app of `sessionbot serve`: Slack, the participant page, webhooks, health.

Each part contributes its routes from its own package; this module only assembles them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from sessionbot.edge import EdgeLimits, RequestIds
from sessionbot.observe import registry_for
from sessionbot.parts import Parts

log = logging.getLogger("sessionbot.web")


def _ping(parts: Parts) -> None:
    with parts.store.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")


async def healthz(request: Request) -> Response:
    parts: Parts = request.app.state.parts
    # Turns that cannot run are not health: a dead turn process says so until replaced.
    problem = parts.turns.problem() if parts.turns is not None else None
    if problem is not None:
        return PlainTextResponse(problem, status_code=503)
    # In a thread: a database that is slow to answer must not hold the event loop.
    await run_in_threadpool(_ping, parts)
    return PlainTextResponse("ok")


def _exposition(parts: Parts, store_metrics: CollectorRegistry) -> bytes:
    """This process's metrics, then the database's (skipped, and logged, when it fails:
    the process's own still tell the operator something)."""
    body = generate_latest(REGISTRY)
    try:
        return body + generate_latest(store_metrics)
    except SQLAlchemyError as exc:
        log.error("metrics: the database did not answer (%s)", type(exc).__name__)
        return body


async def metrics(request: Request) -> Response:
    # In a thread: the database's part is a few queries.
    body = await run_in_threadpool(
        _exposition, request.app.state.parts, request.app.state.store_metrics
    )
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """At start, the turn processes warmed up and the Slack inbox's sweeper started:
    requests that a dead process acknowledged but never ran are run now (and, every few
    seconds, any whose claim lapses)."""
    parts: Parts = app.state.parts
    watching = None
    if parts.turns is not None:
        await parts.turns.warm_up()
        watching = asyncio.get_running_loop().create_task(parts.turns.watch())
    bolt = getattr(parts, "_bolt_app", None)  # made by the Slack routes, or Socket Mode
    inbox = None
    if bolt is not None:
        from bot.app import slack_inbox

        inbox = slack_inbox(bolt)
        inbox.start(bolt, every=max(0.25, parts.settings.slack_inbox_lease_seconds / 4))
    try:
        yield
    finally:
        if inbox is not None:
            await inbox.stop()
        if watching is not None:
            watching.cancel()
        if parts.turns is not None:
            parts.turns.close()


def create_app(parts: Parts) -> Starlette:
    from bot.http import routes as slack_routes
    from sessionbot.webhooks import routes as twilio_routes
    from web.routes import routes as page_routes

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        *slack_routes(parts),
        *page_routes(parts),
        *twilio_routes(parts),
    ]
    middleware = [Middleware(RequestIds), Middleware(EdgeLimits)]
    if parts.settings.trusted_proxies:
        # The one rule for X-Forwarded-For/-Proto: believed only from these peers, and
        # then the client is the nearest address in the chain that is not one of them.
        trusted = list(parts.settings.trusted_proxies)
        middleware.insert(0, Middleware(ProxyHeadersMiddleware, trusted_hosts=trusted))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.parts = parts
    app.state.store_metrics = registry_for(parts.store)
    return app
