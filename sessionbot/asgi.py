"""The one ASGI app of `sessionbot serve`: Slack, the participant page, webhooks, health.

Each part contributes its routes from its own package; this module only assembles them.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sessionbot.wiring import Parts


async def healthz(request: Request) -> Response:
    parts: Parts = request.app.state.parts
    with parts.store.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    return PlainTextResponse("ok")


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def create_app(parts: Parts) -> Starlette:
    from bot.http import routes as slack_routes
    from integrations.webhooks import routes as twilio_routes
    from web.routes import routes as page_routes

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        *slack_routes(parts),
        *page_routes(parts),
        *twilio_routes(parts),
    ]
    app = Starlette(routes=routes)
    app.state.parts = parts
    return app
