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
from sanic.worker.loader import AppLoader

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

    On host:port it is rasa-sdk's way: Sanic's worker manager and one worker process. On a
    handed-over socket it is one process with no manager. Sanic's manager would pass the
    socket to its worker as well, but it never ends on a SIGTERM that comes before the
    worker's start-up ack (its signal handler writes to the manager's shared state in the
    middle of a read of it), and whoever hands a socket over stops what it started.
    """
    if fd is None:
        loader = AppLoader(factory=create_app)
        app = loader.load()
        app.prepare(host=host, port=port, workers=1, single_process=False)
        Sanic.serve(primary=app, app_loader=loader)
        return
    app = create_app()
    app.prepare(sock=socket.socket(fileno=fd), single_process=True)
    Sanic.serve_single(primary=app)


def default_host() -> str:
    # rasa-sdk's own setting, kept so deployments that set it go on working.
    return os.environ.get("SANIC_HOST", "0.0.0.0")
