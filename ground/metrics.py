"""The process's Prometheus metrics (the ground floor: every face counts here).

One registry (prometheus-client's default). No label carries participant data or an
unbounded value: labels are fixed words (a result, a reason, a channel, a route group),
never a session id, a team or a text.

`sessionbot serve` shows them at /metrics, with what the database says (queues, their
oldest ages, sessions: `sessionbot.observe`, the same from every replica);
`sessionbot worker --metrics-port N` serves the worker's own on 127.0.0.1:N (a separate
process has its own counters). Turn processes count nothing of their own: a turn is timed
by the web process that awaits it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Histogram, start_http_server
from starlette.requests import Request
from starlette.responses import Response

# Slack: what came in, what was acknowledged, what was done, and how long each took.
SLACK_REQUESTS = Counter(
    "sessionbot_slack_requests_total",
    "Slack requests at /slack/events, by result (acked, refused)",
    ["result"],
)
SLACK_ACK_SECONDS = Histogram(
    "sessionbot_slack_ack_seconds",
    "From a Slack request's arrival to its acknowledgement (Slack gives up after 3 s)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
)
SLACK_EVENTS = Counter(
    "sessionbot_slack_events_total",
    "Slack events, clicks and commands through the inbox, by stage "
    "(received: kept before the ack; processed; later: its answer waits for Slack; "
    "replayed: run again after a lapsed claim)",
    ["stage"],
)
TURNS = Counter("sessionbot_turns_total", "Dialogue turns, by result (ok, failed)", ["result"])
STORE_WRITE_WAIT_SECONDS = Histogram(
    "sessionbot_store_write_wait_seconds",
    "How long a write waited for the embedded SQLite store's one writer (store/writelock.py), "
    "by kind (ack: the inbox's write that Slack's acknowledgement waits for; other)",
    ["kind"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0),
)
TURN_SECONDS = Histogram(
    "sessionbot_turn_seconds",
    "A dialogue turn: understanding, the form's actions and the store, in a turn process",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
)
SESSIONS_SAVED = Counter(
    "sessionbot_sessions_saved_total", "Sessions saved from a Slack conversation"
)

# The outbox worker.
OUTBOX_SENT = Counter(
    "sessionbot_outbox_sent_total",
    "Outbox messages handed to their provider (or the local outbox), by channel",
    ["channel"],
)
OUTBOX_FAILED = Counter(
    "sessionbot_outbox_failed_total",
    "Outbox messages given up on, by reason (a fixed word: no participant data)",
    ["reason"],
)

# Webhooks and the participant page.
WEBHOOKS = Counter(
    "sessionbot_webhook_requests_total",
    "Stripe and Twilio webhook requests, by provider and result",
    ["provider", "result"],
)
PAGE_REQUESTS = Counter(
    "sessionbot_page_requests_total",
    "Participant page requests, by result (ok, unknown, throttled, refused)",
    ["result"],
)

# Errors, by kind: the logger that reported them (a fixed name in the code).
ERRORS = Counter(
    "sessionbot_errors_total",
    "Lines logged at ERROR or above, by the part that logged them",
    ["kind"],
)


def serve_metrics(port: int, host: str = "127.0.0.1") -> int:
    """Serve /metrics of this process on a thread; the port bound (0: any free one)."""
    server, _thread = start_http_server(port, addr=host)
    return int(server.server_port)


class ErrorCounter(logging.Handler):
    """Counts lines at ERROR and above by the part that logged them (the logger's first
    two names: `sessionbot.outbox`, `slack_bolt.AsyncApp`, a fixed set)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        ERRORS.labels(kind=".".join(record.name.split(".")[:2])).inc()


def result_of(status: int) -> str:
    """A response's status as a fixed word (a bounded label)."""
    if status < 400:
        return "ok"
    if status == 404:
        return "unknown"
    if status == 429:
        return "throttled"
    return "refused" if status < 500 else "error"


def counted(
    endpoint: Callable[[Request], Awaitable[Response]], count: Callable[[str], None]
) -> Callable[[Request], Awaitable[Response]]:
    """`endpoint`, counting each answer by `result_of` (an exception counts as an error)."""

    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        try:
            response = await endpoint(request)
        except Exception:
            count("error")
            raise
        count(result_of(response.status_code))
        return response

    return wrapped


def page_result(result: str) -> None:
    PAGE_REQUESTS.labels(result=result).inc()


def webhook_result(provider: str) -> Callable[[str], None]:
    def count(result: str) -> None:
        WEBHOOKS.labels(provider=provider, result=result).inc()

    return count
