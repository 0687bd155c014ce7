"""`sessionbot actions`: sessionbot's actions served to a Rasa assistant, over rasa-sdk's
action protocol (its executor; /webhook, /actions and /health as rasa-sdk serves them).

Whoever reaches this port could otherwise act as any clinician (list their
participants, save sessions in their name, make the practice text any number), so the
app is our own small Sanic app rather than rasa-sdk's `create_app`, and:

- every request but /health needs the shared token Rasa's `action_endpoint` sends
  (`token:` in endpoints.yml, sent as `?token=`), compared in constant time; without it
  401 and a fixed body. With no token configured the server binds only loopback
  (`check_bind`), and says at start that any local process can call it;
- no CORS at all (rasa-sdk's app allows every origin): no Access-Control-Allow-Origin,
  a preflight is refused;
- a body over `MAX_BODY` (also once inflated, for Rasa's deflate) is 413 before it is
  parsed;
- an action name we do not serve is 404 with a fixed body (rasa-sdk logs it at ERROR
  verbatim and echoes it), and no answer ever echoes the request;
- a sender ("TEAM:USER") must name a workspace of this practice (`InstalledSenders`):
  any other gets a polite refusal from the executor and nothing is made for it.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import socket
import threading
import zlib

from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection
from sanic import Request, Sanic, response
from sanic.exceptions import SanicException
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

from ground.jsontypes import JSON
from ground.settings import Settings
from store.db import Store

log = logging.getLogger(__name__)

# The default body limit (SESSIONBOT_ACTIONS_MAX_BODY): Rasa 3.6 posts the whole tracker
# of the conversation, about 4.9 KB a turn (bench/bench_tracker_size.py: 200 turns made
# 979,683 bytes, the domain 9,415 more when an action asks for it), so 1 MiB holds about
# 210 turns of one Rasa session; a scheduling conversation is 5 to 20.
MAX_BODY = 1024 * 1024
OPEN_PATHS = frozenset({"/health"})


class BindRefused(Exception):
    """The server would listen beyond this machine with no token: one line, why."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def check_bind(host: str, settings: Settings) -> None:
    """Refuse to listen on anything but loopback without a token."""
    if not settings.actions_token and not is_loopback(host):
        raise BindRefused(
            f"sessionbot actions: refusing to listen on {host or 'every address'} without "
            "SESSIONBOT_ACTIONS_TOKEN (set it, and the same `token:` under action_endpoint "
            "in Rasa's endpoints.yml), or listen on 127.0.0.1"
        )


def create_app(settings: Settings | None = None) -> Sanic:
    """The app of the server process."""
    from actions import make_executor
    from ground.logs import configure_logging
    from sessionbot.wiring import build

    configure_logging(default="INFO")
    if settings is None:
        settings = Settings.from_env()
    build(settings, admits=lambda store: InstalledSenders(settings, store))
    return make_app(make_executor(), settings.actions_token, settings.actions_max_body)


def make_app(executor: ActionExecutor, token: str | None, max_body: int = MAX_BODY) -> Sanic:
    app = Sanic("sessionbot_actions", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = max_body
    app.config.FALLBACK_ERROR_FORMAT = "json"
    expected = token.encode() if token else None

    async def guard(request: Request) -> response.HTTPResponse | None:
        if request.path in OPEN_PATHS and request.method in ("GET", "HEAD"):
            return None
        if expected is not None:
            given = request.args.get("token") or ""
            if not hmac.compare_digest(given.encode(), expected):
                return response.json({"error": "unauthorized"}, status=401)
        if request.method == "OPTIONS":
            return response.json({"error": "method not allowed"}, status=405)
        return None

    app.register_middleware(guard, "request", priority=100)

    @app.get("/health")
    async def health(_: Request) -> response.HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/actions")
    async def actions(_: Request) -> response.HTTPResponse:
        return response.json([a.model_dump() for a in executor.list_actions()])

    @app.post("/webhook")
    async def webhook(request: Request) -> response.HTTPResponse:
        call = _action_call(request, max_body)
        name = call.get("next_action")
        if not isinstance(name, str) or name not in executor.actions:
            # rasa-sdk would log the name at ERROR and echo it: it is whatever was posted.
            return response.json({"error": "unknown action"}, status=404)
        try:
            result = await executor.run(call)
        except ActionExecutionRejection:
            return response.json({"error": "rejected", "action_name": name}, status=400)
        return response.json(result.model_dump() if result else None)

    app.exception(Exception)(_error)
    return app


def _action_call(request: Request, max_body: int) -> dict[str, JSON]:
    """The posted action call: JSON, deflated when Rasa compresses it, within max_body."""
    body = request.body or b""
    if request.headers.get("content-encoding") == "deflate":
        inflate = zlib.decompressobj()
        try:
            body = inflate.decompress(body, max_body + 1)
        except zlib.error:
            raise SanicException("bad request", status_code=400) from None
        if len(body) > max_body or inflate.unconsumed_tail:
            raise SanicException("too large", status_code=413)
    try:
        call = json.loads(body)
    except (ValueError, RecursionError):
        raise SanicException("bad request", status_code=400) from None
    if not isinstance(call, dict):
        raise SanicException("bad request", status_code=400)
    return call


async def _error(request: Request, exception: Exception) -> response.HTTPResponse:
    if isinstance(exception, SanicException):
        status = int(exception.status_code)
        reason = {401: "unauthorized", 404: "not found", 405: "method not allowed"}
        reason |= {413: "too large"}
        error = reason.get(status) or ("bad request" if status < 500 else "error")
        if status == 413:
            # Rasa logs only "413"; say here what to do (a size, nothing of the body).
            length = str(request.headers.get("content-length", ""))
            size = f"{int(length) // 1024} KiB" if length.isdigit() else "unknown size"
            log.warning(
                "refused a call over the body limit (%s): a tracker that long needs a "
                "larger SESSIONBOT_ACTIONS_MAX_BODY",
                size,
            )
        return response.json({"error": error}, status=status)
    log.error("action server error: %s", type(exception).__name__)
    return response.json({"error": "internal error"}, status=500)


class InstalledSenders:
    """Whether a sender ("TEAM", "USER") is a clinician of this practice: a user of a
    workspace the app is installed in (OAuth installs in the store, or the workspace of
    SLACK_BOT_TOKEN, learned once from Slack's auth.test), or the terminal's clinician
    (`sessionbot shell`, `sessions`: team T_LOCAL, user U_SHELL or one the shell has
    already made)."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._single_team: str | None = None
        self._lock = threading.Lock()
        self._installs: SQLAlchemyInstallationStore | None = None
        if settings.slack_client_id and settings.slack_client_secret:
            self._installs = SQLAlchemyInstallationStore(
                client_id=settings.slack_client_id, engine=store.engine
            )

    def __call__(self, team: str, user: str) -> bool:
        from sessionbot.commands import DEFAULT_USER, LOCAL_TEAM
        from store import clinician_rows, slack_rows

        if team == LOCAL_TEAM:
            if user == DEFAULT_USER:
                return True
            with self.store.reading() as s:
                return clinician_rows.find_clinician(s, team, user) is not None
        settings = self.settings
        if self._installs is not None:
            return self._installs.find_bot(enterprise_id=None, team_id=team) is not None
        if settings.slack_bot_token:
            from integrations.slack_notify import token_hash

            if team != self.single_team():
                return False
            with self.store.reading() as s:
                hashed = token_hash(settings.slack_bot_token)
                return slack_rows.slack_revocation(s, team, hashed) is None
        return False

    def single_team(self) -> str | None:
        """The workspace of SLACK_BOT_TOKEN (None while Slack cannot say)."""
        with self._lock:
            if self._single_team is None:
                self._single_team = _auth_test_team(self.settings)
            return self._single_team


def _auth_test_team(settings: Settings) -> str | None:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackClientError

    base = (settings.slack_api_url or "https://slack.com/api/").rstrip("/") + "/"
    try:
        answer = WebClient(token=settings.slack_bot_token, base_url=base, timeout=10).auth_test()
    except (SlackClientError, OSError) as exc:
        log.warning("could not learn SLACK_BOT_TOKEN's workspace: %s", type(exc).__name__)
        return None
    team = answer.get("team_id")
    return team if isinstance(team, str) and team else None


def serve(host: str, port: int, *, fd: int | None = None, settings: Settings) -> None:
    """Serve on host:port, or on `fd`: a socket this process inherited already bound and
    listening (a supervisor's, a test's). Raises BindRefused before anything is built
    when it would listen beyond loopback without a token.

    One process, no Sanic worker manager: the manager (rasa-sdk's own way) never ends on
    a SIGTERM that comes before its worker's start-up ack (its signal handler writes to
    the manager's shared state in the middle of a read of it), so a deploy that stops
    a server just started would hang. A supervisor (systemd, the container runtime)
    restarts the process instead, as it does `sessionbot serve`.
    """
    sock = socket.socket(fileno=fd) if fd is not None else None
    check_bind(str(sock.getsockname()[0]) if sock is not None else host, settings)
    app = create_app(settings)
    if not settings.actions_token:
        log.warning(
            "sessionbot actions: no SESSIONBOT_ACTIONS_TOKEN, so any process on this "
            "machine can call the actions; set one for Rasa's endpoints.yml"
        )
    if sock is None:
        app.prepare(host=host, port=port, single_process=True, access_log=False)
    else:
        app.prepare(sock=sock, single_process=True, access_log=False)
    Sanic.serve_single(primary=app)


def default_host() -> str:
    """Loopback unless told otherwise: `--host`, or rasa-sdk's SANIC_HOST (kept so
    deployments that set it go on working; without a token they are refused)."""
    return os.environ.get("SANIC_HOST") or "127.0.0.1"
