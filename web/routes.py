"""Routes of this part for the one ASGI app (sessionbot/asgi.py)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from sessionbot.wiring import Parts


def routes(parts: Parts) -> list[BaseRoute]:
    return []
