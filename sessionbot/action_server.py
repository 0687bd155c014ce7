"""`sessionbot actions`: rasa-sdk's action server with sessionbot's actions, for a Rasa assistant.

It is rasa-sdk's own Sanic app (its /webhook, /actions and /health), built by a factory
that Sanic's workers call, with one change: rasa-sdk answers an unexpected error with a
500 whose body echoes the whole request, tracker included, which Rasa then writes to its
log at ERROR. Participant names, addresses and numbers do not belong in another system's
logs, so here an error body says only what kind of error it was.
"""

from __future__ import annotations

import logging
import os
import socket

from rasa_sdk import endpoint
from sanic import Request, Sanic, response
from sanic.exceptions import SanicException

log = logging.getLogger(__name__)


def create_app() -> Sanic:
    """The app of one server process (Sanic's workers call this after the fork; `serve` on
    a handed-over socket, in its own process)."""
    from actions import make_executor
    from sessionbot.logs import configure_logging
    from sessionbot.settings import Settings
    from sessionbot.wiring import build

    configure_logging(default="INFO")
    build(Settings.from_env())
    app = endpoint.create_app(make_executor())
    # Sanic refuses a second handler for the same exception through `add`; this replaces
    # rasa-sdk's (the one that echoes the request) in Sanic's public handler table.
    app.error_handler.cached_handlers[(Exception, None)] = _error
    return app


async def _error(request: Request, exception: Exception) -> response.HTTPResponse:
    if isinstance(exception, SanicException):
        status = int(exception.status_code)
        return response.json({"error": "bad request" if status < 500 else "error"}, status=status)
    log.error("action server error: %s", type(exception).__name__)
    return response.json({"error": "internal error"}, status=500)


def serve(host: str, port: int, *, fd: int | None = None) -> None:
    """Serve on host:port, or on `fd`: a socket this process inherited already bound and
    listening (a supervisor's, a test's).

    One process, no Sanic worker manager: the manager (rasa-sdk's own way) never ends on
    a SIGTERM that comes before its worker's start-up ack (its signal handler writes to
    the manager's shared state in the middle of a read of it), so a deploy that stops
    a server just started would hang. A supervisor (systemd, the container runtime)
    restarts the process instead, as it does `sessionbot serve`.
    """
    app = create_app()
    if fd is None:
        app.prepare(host=host, port=port, single_process=True)
    else:
        app.prepare(sock=socket.socket(fileno=fd), single_process=True)
    Sanic.serve_single(primary=app)


def default_host() -> str:
    # rasa-sdk's own setting, kept so deployments that set it go on working.
    return os.environ.get("SANIC_HOST", "0.0.0.0")
