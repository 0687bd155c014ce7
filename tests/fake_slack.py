"""A fake Slack: the Web API on loopback, the app behind a real uvicorn, signed requests.

`FakeSlack` answers the Web API methods the bot uses, records every call, keeps the
messages of each channel (applying `chat.update`), and checks every blocks or view
payload with `slack_sdk.models` and Block Kit's limits. `SlackApp` runs the real ASGI
app on a real server; `Person` is a clinician sending signed events, commands and clicks.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
import uvicorn
from conftest import make_settings
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from slack_sdk.signature import SignatureVerifier

from sessionbot.asgi import create_app
from sessionbot.wiring import Parts, build
from store.db import Store

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
APP_ID = "A_SESSIONBOT"
BOT_USER = "U_BOT"
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
TEXT_LIMIT = 3000


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    updates: int = 0


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from _texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _texts(value)


def block_problems(raw: list[dict[str, Any]], limit: int) -> list[str]:
    problems = []
    if len(raw) > limit:
        problems.append(f"{len(raw)} blocks > {limit}")
    for item in raw:
        try:
            parsed = Block.parse(item)
            if parsed is None:
                problems.append(f"unknown block {item.get('type')}")
            else:
                parsed.validate_json()
        except Exception as exc:  # noqa: BLE001 - any failure is a finding
            problems.append(f"{item.get('type')}: {exc}")
    problems += [f"text of {len(t)} chars" for t in _texts(raw) if len(t) > TEXT_LIMIT]
    return problems


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: ten clients connecting at once overflow
    # it, and the kernel drops their SYNs, to be resent a whole second later.
    request_queue_size = 128
    daemon_threads = True


class FakeSlack:
    """The Slack Web API on 127.0.0.1, port 0, in a thread."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[str, list[Message]] = {}
        self.problems: list[str] = []
        self.zones: dict[str, str | None] = {}
        self.failures: dict[str, list[tuple[int, dict[str, str], dict[str, Any]]]] = {}
        self.socket_url: str | None = None  # what `apps.connections.open` hands out
        self.delays: dict[str, float] = {}  # method -> seconds its answers take
        # method -> seconds its answer is held after the call is recorded (and a message
        # shows in its channel): the app waits for Slack while the clinician already reads
        self.holds: dict[str, float] = {}
        # method -> (failing until (monotonic), seconds each call hangs, the answer)
        self.outages: dict[str, tuple[float, float, tuple[int, dict[str, str], Any]]] = {}
        self.changed = threading.Condition()
        self._ts = itertools.count(1)
        self._views = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Slack's API does
            # TCP_NODELAY, as Slack's servers answer: with Nagle on, the body (written
            # after the headers) waits for the client's delayed ACK of the headers on a
            # kept connection, ~40 ms a call (a client that opens a connection per call
            # never meets it: a new connection ACKs at once).
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                url = urllib.parse.urlsplit(self.path)
                method = url.path.rsplit("/", 1)[-1]
                if "json" in (self.headers.get("Content-Type") or ""):
                    args = json.loads(raw or "{}")
                else:
                    args = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
                args.update({k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()})
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ") or None
                status, headers, body = fake.answer(method, args, token)
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # users.info and a few others are GETs

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeSlack:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # Steering ---------------------------------------------------------------------------

    def fail_once(
        self,
        method: str,
        *,
        status: int = 200,
        error: str = "internal_error",
        retry_after: int | None = None,
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = {"ok": False, "error": "ratelimited" if status == 429 else error}
        self.failures.setdefault(method, []).append((status, headers, body))

    def fail_for(
        self,
        method: str,
        seconds: float,
        *,
        status: int = 500,
        error: str = "internal_error",
        retry_after: int | None = None,
        hang: float = 0.0,
    ) -> None:
        """For the next `seconds`, `method` fails: `status` with `ok: false` and `error`
        (`ratelimited` with 429), after holding each call `hang` seconds (a post that
        hangs and never lands). Calls are recorded as they arrive."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = {"ok": False, "error": "ratelimited" if status == 429 else error}
        self.outages[method] = (time.monotonic() + seconds, hang, (status, headers, body))

    def hold(self, method: str, seconds: float) -> None:
        """From now on `method` takes effect at once but answers only after `seconds`
        (0: at once again): the message shows while the app still waits for Slack."""
        self.holds[method] = seconds

    def slow_down(self, method: str, seconds: float) -> None:
        """From now on `method` answers only after `seconds` (0: at once again)."""
        self.delays[method] = seconds

    # Answering --------------------------------------------------------------------------

    def answer(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        outage = self.outages.get(method)
        if outage is not None and time.monotonic() < outage[0]:
            until, hang, result = outage
            with self.changed:
                self.calls.append(Call(method, args, token))
                self.changed.notify_all()
            time.sleep(hang)
            return result
        if self.delays.get(method):
            time.sleep(self.delays[method])
        hold = self.holds.get(method, 0.0)
        for key in ("blocks", "view"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        with self.changed:
            self.calls.append(Call(method, args, token))
            if self.failures.get(method):
                result = self.failures[method].pop(0)
                self.changed.notify_all()
                return result
            body = self._answer(method, args)
            self.changed.notify_all()
        time.sleep(hold)
        return 200, {}, body

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if "blocks" in args:
            found = block_problems(args["blocks"], MESSAGE_BLOCKS)
            if found:
                self.problems += [f"{method}: {p}" for p in found]
                return {"ok": False, "error": "invalid_blocks"}
        if "view" in args:
            found = self._view_problems(args["view"])
            if found:
                self.problems += [f"{method}: {p}" for p in found]
                return {"ok": False, "error": "invalid_arguments"}
        if method == "apps.connections.open" and self.socket_url:
            return {"ok": True, "url": self.socket_url}
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": "B_BOT", "team_id": "T1"}
        if method == "chat.postMessage":
            ts = f"{1700000000 + next(self._ts)}.000100"
            message = Message(args["channel"], ts, args.get("text", ""), args.get("blocks", []))
            self.messages.setdefault(args["channel"], []).append(message)
            return {"ok": True, "channel": args["channel"], "ts": ts}
        if method == "chat.update":
            for message in self.messages.get(args["channel"], []):
                if message.ts == args["ts"]:
                    message.blocks = args.get("blocks", message.blocks)
                    message.text = args.get("text", message.text)
                    message.updates += 1
                    return {"ok": True, "channel": args["channel"], "ts": args["ts"]}
            return {"ok": False, "error": "message_not_found"}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": "1.0"}
        if method in ("views.publish", "views.open", "views.update", "views.push"):
            return {"ok": True, "view": {"id": args.get("view_id") or f"V{next(self._views)}"}}
        if method == "users.info":
            user = args["user"]
            person: dict[str, Any] = {"id": user, "profile": {"display_name": user}}
            tz = self.zones.get(user, "America/New_York")
            if tz is not None:  # Slack leaves `tz` out for some accounts
                person["tz"] = tz
            return {"ok": True, "user": person}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args["users"]).removeprefix("U")}}
        if method == "oauth.v2.access":
            return {
                "ok": True,
                "app_id": APP_ID,
                "access_token": "xoxb-installed",
                "token_type": "bot",
                "scope": "chat:write,commands,im:history,im:write,users:read",
                "bot_user_id": BOT_USER,
                "team": {"id": "T_NEW", "name": "New Clinic"},
                "enterprise": None,
                "is_enterprise_install": False,
                "authed_user": {"id": "U_ADMIN"},
            }
        return {"ok": False, "error": "unknown_method"}

    def _view_problems(self, view: dict[str, Any]) -> list[str]:
        problems = block_problems(view.get("blocks", []), VIEW_BLOCKS)
        try:
            View(**view).validate_json()
        except Exception as exc:  # noqa: BLE001
            problems.append(f"view: {exc}")
        return problems

    # Reading ----------------------------------------------------------------------------

    def of(self, method: str) -> list[Call]:
        with self.changed:
            return [c for c in self.calls if c.method == method]

    def wait(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                result = predicate()
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("Slack never got what the test waited for")
                self.changed.wait(left)

    def wait_calls(self, method: str, count: int, timeout: float = 10.0) -> list[Call]:
        return self.wait(lambda: len(self.of(method)) >= count and self.of(method), timeout)

    def quiet(self, seconds: float = 0.6) -> None:
        """Wait until no call has come for `seconds` (for checking that nothing happens)."""
        while True:
            before = len(self.calls)
            time.sleep(seconds)
            if len(self.calls) == before:
                return

    def channel(self, channel: str) -> list[Message]:
        with self.changed:
            return list(self.messages.get(channel, []))


# The app on a real server ------------------------------------------------------------------


class SlackApp:
    """The whole ASGI app on a real uvicorn server in a thread (127.0.0.1, port 0)."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> SlackApp:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the app did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=self.url, timeout=10)
        return self

    def stop(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(10)


def signed_headers(
    body: str, content_type: str, *, secret: str = SIGNING_SECRET, age: int = 0
) -> dict[str, str]:
    timestamp = str(int(time.time()) - age)
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None  # None only without a timestamp or a body
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }


_ids = itertools.count(1)


class Reachable(Protocol):
    """What a Person posts through: a client on the running app (a SlackApp, a process)."""

    @property
    def http(self) -> httpx.Client: ...


@dataclass
class Person:
    """A clinician in a workspace, talking to the bot through signed requests."""

    app: Reachable
    slack: FakeSlack
    user: str
    team: str = "T1"
    seen: int = field(default=0)

    @property
    def dm_channel(self) -> str:
        return "D" + self.user.removeprefix("U")

    def post(self, body: str, content_type: str, **headers: str) -> httpx.Response:
        signed = signed_headers(body, content_type)
        return self.app.http.post("/slack/events", content=body, headers={**signed, **headers})

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None
    ) -> httpx.Response:
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": self.team,
                "api_app_id": APP_ID,
                "event_id": event_id or f"Ev{next(_ids):08d}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": self.team, "user_id": BOT_USER, "is_bot": True}],
                "event": event,
            }
        )
        headers = (
            {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            if retry
            else {}
        )
        return self.post(body, "application/json", **headers)

    def dm_body(self, text: str) -> tuple[str, str]:
        event = {
            "type": "message",
            "channel_type": "im",
            "channel": self.dm_channel,
            "user": self.user,
            "text": text,
            "ts": f"{time.time():.0f}.{next(_ids):06d}",
        }
        body = {
            "type": "event_callback",
            "team_id": self.team,
            "api_app_id": APP_ID,
            "event_id": f"Ev{next(_ids):08d}",
            "event": event,
        }
        return json.dumps(body), "application/json"

    def command_body(self, command: str, text: str) -> tuple[str, str]:
        form = {
            "team_id": self.team,
            "channel_id": self.dm_channel,
            "channel_name": "directmessage",
            "user_id": self.user,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "trigger_id": f"trigger-{next(_ids)}",
        }
        return urllib.parse.urlencode(form), "application/x-www-form-urlencoded"

    def dm_event(self, text: str, *, thread_ts: str | None = None, **kwargs: Any) -> httpx.Response:
        event = {
            "type": "message",
            "channel_type": "im",
            "channel": self.dm_channel,
            "user": self.user,
            "text": text,
            "ts": f"{time.time():.0f}.{next(_ids):06d}",
            "client_msg_id": f"msg-{next(_ids)}",
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, **kwargs)

    def command(
        self, command: str, text: str = "", *, channel: str | None = None
    ) -> httpx.Response:
        channel = channel or self.dm_channel
        form = {
            "token": "x",
            "team_id": self.team,
            "team_domain": "clinic",
            "channel_id": channel,
            "channel_name": "directmessage" if channel.startswith("D") else "general",
            "user_id": self.user,
            "user_name": self.user.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "response_url": "http://127.0.0.1:9/unused",
            "trigger_id": f"trigger-{next(_ids)}",
        }
        return self.post(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")

    def interact(self, payload: dict[str, Any]) -> httpx.Response:
        base = {
            "team": {"id": self.team, "domain": "clinic"},
            "user": {"id": self.user, "team_id": self.team, "username": self.user.lower()},
            "api_app_id": APP_ID,
            "token": "x",
            "trigger_id": f"trigger-{next(_ids)}",
        }
        body = urllib.parse.urlencode({"payload": json.dumps({**base, **payload})})
        return self.post(body, "application/x-www-form-urlencoded")

    def submit(self, view: dict[str, Any], values: dict[str, Any]) -> httpx.Response:
        """Submit a modal that Slack opened (`view` as the app sent it) with these values."""
        return self.interact(
            {
                "type": "view_submission",
                "view": {
                    **view,
                    # One id per opened form, as Slack gives: the same form, the same id.
                    "id": view.get("id")
                    or "V"
                    + hashlib.sha256(json.dumps(view, sort_keys=True).encode()).hexdigest()[:10],
                    "state": {"values": values},
                },
            }
        )

    # The conversation as a clinician sees it ----------------------------------------------

    def messages(self) -> list[Message]:
        return self.slack.channel(self.dm_channel)

    def replies(self, count: int = 1, timeout: float = 15.0) -> list[Message]:
        """The next `count` new bot messages in the DM, waited for."""
        want = self.seen + count
        found = self.slack.wait(lambda: len(self.messages()) >= want and self.messages(), timeout)
        new = found[self.seen : want]
        self.seen = want
        return new

    def say(self, text: str) -> Message:
        self.no_extra_replies()
        assert self.dm_event(text).status_code == 200
        (reply,) = self.replies()
        return reply

    def no_extra_replies(self) -> None:
        """Each turn answers exactly once: nothing arrived beyond the replies read so far."""
        extra = self.messages()[self.seen :]
        assert not extra, f"{len(extra)} more message(s) than replies read: {extra[0].text!r}"

    def act(self, message: Message, action: dict[str, Any], block_id: str = "b") -> httpx.Response:
        return self.interact(
            {
                "type": "block_actions",
                "container": {
                    "type": "message",
                    "channel_id": message.channel,
                    "message_ts": message.ts,
                },
                "channel": {"id": message.channel},
                "message": {"ts": message.ts, "text": message.text, "blocks": message.blocks},
                "actions": [
                    {
                        **action,
                        "block_id": block_id,
                        "action_ts": f"{time.time():.0f}.{next(_ids):06d}",
                    }
                ],
            }
        )

    def click(self, message: Message, title: str) -> Message:
        self.no_extra_replies()
        button = find_button(message, title)
        assert self.act(message, button).status_code == 200
        (reply,) = self.replies()
        return reply

    def pick(self, message: Message, action_id: str, **value: Any) -> Message:
        self.no_extra_replies()
        element = find_element(message, action_id)
        action = {"type": element["type"], "action_id": action_id, **value}
        assert self.act(message, action).status_code == 200
        (reply,) = self.replies()
        return reply


def elements(message: Message) -> Iterator[dict[str, Any]]:
    for block in message.blocks:
        yield from block.get("elements", []) if block.get("type") == "actions" else []
        if block.get("type") == "input":
            yield block["element"]


def find_button(message: Message, title: str) -> dict[str, Any]:
    for element in elements(message):
        if element["type"] == "button" and element["text"]["text"].startswith(title):
            return element
    raise AssertionError(f"no button {title!r} in {message.text!r}")


def find_element(message: Message, action_id: str) -> dict[str, Any]:
    for element in elements(message):
        if element.get("action_id") == action_id:
            return element
    raise AssertionError(f"no {action_id} in {message.text!r}")


def option(element: dict[str, Any], label: str) -> dict[str, Any]:
    for opt in element.get("options", []):
        if opt["text"]["text"] == label:
            return opt
    raise AssertionError(f"no option {label!r}")


# Fixtures (imported by the tests that use them) ---------------------------------------------


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    slack = FakeSlack().start()
    yield slack
    slack.stop()
    assert not slack.problems, slack.problems


def slack_env(fake: FakeSlack, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.url,
        **extra,
    }


@pytest.fixture
def slack_parts(tmp_path: Path, fake_slack: FakeSlack, store: Store) -> Parts:
    """The app's parts on each backend (SQLite always, PostgreSQL where configured)."""
    return build(make_settings(tmp_path, **slack_env(fake_slack)), store=store)


@pytest.fixture
def running(slack_parts: Parts, clock: Any) -> Iterator[SlackApp]:
    app = SlackApp(create_app(slack_parts)).start()
    yield app
    app.stop()


@pytest.fixture
def clinician(running: SlackApp, fake_slack: FakeSlack) -> Person:
    return Person(running, fake_slack, "U_CLIN1")
