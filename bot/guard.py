"""What a request to `/slack/events` must be before Bolt sees it.

Checked in this order, each step cheap and before the next: the signature (Slack's v0
scheme, HMAC-SHA256 of `v0:<timestamp>:<body>`) over the raw bytes (a stale, forged or
missing one is 401, and nothing of the body is read further), then UTF-8, then the JSON
or form body, then the shape of the payload that the listeners read. Anything malformed
is a 400 with one short reason. Bolt verifies the signature again; by then it can only
pass, so Bolt's own logging of refused bodies never runs.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from ground import limits
from ground.jsontypes import JSON

MAX_AGE_SECONDS = 60 * 5
# Seconds since 1970 have 10 digits until 2286; a longer one is not a time (and int() of
# a few thousand digits raises instead of answering).
MAX_TIMESTAMP_DIGITS = 12
# The metadata our own modals carry (bot/modals.py), by callback id: a submission of one
# without it was not made from our view.
VIEW_METADATA: Mapping[str, tuple[str, ...]] = {"reschedule": ("id", "tz"), "cancel_paid": ("id",)}


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str


def check_signature(
    secret: str, body: bytes, headers: Mapping[str, str], *, now: float | None = None
) -> Refusal | None:
    timestamp = headers.get("x-slack-request-timestamp") or ""
    signature = headers.get("x-slack-signature") or ""
    if (
        not timestamp.isascii()
        or not timestamp.isdigit()
        or len(timestamp) > MAX_TIMESTAMP_DIGITS
        or not signature.startswith("v0=")
    ):
        return Refusal(401, "missing or malformed signature")
    if abs((now if now is not None else time.time()) - int(timestamp)) > MAX_AGE_SECONDS:
        return Refusal(401, "stale request")
    # Over the raw bytes: slack_sdk's verifier decodes the body first, and a body that is
    # not UTF-8 would raise there instead of being refused.
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return Refusal(401, "bad signature")
    return None


def parse_body(body: bytes, content_type: str) -> dict[str, JSON] | Refusal:
    """The request's payload as Bolt will see it, or why it is malformed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, "body is not UTF-8")
    if content_type.split(";", 1)[0].strip().lower() == "application/json":
        try:
            parsed = limits.loads(text)
        except limits.TooDeep:
            return Refusal(400, "body nested too deep")
        except ValueError:
            return Refusal(400, "body is not JSON")
        return parsed if isinstance(parsed, dict) else Refusal(400, "body is not a JSON object")
    try:
        form = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
    except ValueError:
        return Refusal(400, "body is not a form")
    if "payload" not in form:
        return dict(form)
    try:
        payload = limits.loads(form["payload"])
    except limits.TooDeep:
        return Refusal(400, "payload nested too deep")
    except ValueError:
        return Refusal(400, "payload is not JSON")
    return payload if isinstance(payload, dict) else Refusal(400, "payload is not a JSON object")


def _text(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 255


def _has(node: object, *path: str) -> bool:
    for key in path:
        if not isinstance(node, dict):
            return False
        node = node.get(key)
    return _text(node)


def payload_problem(body: Mapping[str, object]) -> str | None:
    """What is missing from a payload that the listeners rely on (None when it is whole).

    Only what Slack always sends is required; a payload without it is not from Slack."""
    if "ssl_check" in body:
        return None
    if "command" in body:
        for key in ("command", "team_id", "user_id", "trigger_id"):
            if not _text(body.get(key)):
                return f"command without {key}"
        return None
    kind = body.get("type")
    if not _text(kind):
        return "payload without a type"
    if kind == "url_verification":
        return None if _text(body.get("challenge")) else "url_verification without challenge"
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not _text(event.get("type")):
            return "event without a type"
        if not _text(body.get("team_id")) and not _has(event, "team"):
            return "event without a team"
        if event["type"] in ("message", "app_home_opened"):
            if "user" in event and not _text(event["user"]):
                return "event with a malformed user"
            if "text" in event and not isinstance(event["text"], str):
                return "message with a malformed text"
        return None
    interactive = ("block_actions", "view_submission", "view_closed", "block_suggestion")
    if kind in interactive and not (_has(body, "user", "id") and _has(body, "team", "id")):
        return f"{kind} without a user or team"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "block_actions without actions"
        for action in actions:
            if not isinstance(action, dict) or not _text(action.get("action_id")):
                return "action without an action_id"
            if "value" in action and not isinstance(action["value"], str):
                return "action with a malformed value"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, dict) or not _text(view.get("callback_id")):
            return f"{kind} without a view"
        state = view.get("state", {})
        if not isinstance(state, dict) or not isinstance(state.get("values", {}), dict):
            return f"{kind} with malformed values"
        if not isinstance(view.get("private_metadata", ""), str):
            return f"{kind} with malformed metadata"
        needed = VIEW_METADATA.get(view["callback_id"], ())
        if needed:
            try:
                meta = limits.loads(view.get("private_metadata") or "")
            except ValueError:
                meta = None
            if not isinstance(meta, dict) or not all(_text(meta.get(k)) for k in needed):
                return f"{kind} with malformed metadata"
    if kind == "block_suggestion" and not _text(body.get("action_id")):
        return "block_suggestion without an action_id"
    return None
