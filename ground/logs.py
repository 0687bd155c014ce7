"""Logging for every process, with a last line of defence for health data.

Code never logs participant data or request bodies on purpose: it logs ids, routes,
reasons and sizes. This module adds two safety nets:

- a filter that masks anything shaped like an e-mail address, a phone number, a link
  token or a client address that slips into a line (an SMTP server's "550 <jane@...>",
  a library's exception text). A line is cut to `MAX_LINE` characters before any pattern
  runs, and every pattern has bounded repetition, so the cost of a line is linear in its
  length and bounded overall, whatever a hostile request puts in it.
- for the long-running processes, the formatting and masking happen on a logging thread
  behind a queue (`QueueHandler`), not on the event loop that answers requests.

Libraries that log payloads (Bolt's "unhandled request", its listener tracebacks) get
`WithheldDetailFilter`: their lines keep the level, the logger and the first words,
never the payload.

Off a terminal (a container, a service manager) every line is one JSON object
(`python-json-logger`): `ts` (UTC, ISO 8601), `level`, `logger`, `message` and, inside a
request or a turn, its `request_id` (`request_context`), so an operator can follow one
request from the edge through its turn. On a terminal the human format stays.
`SESSIONBOT_LOG_FORMAT=json|text` chooses either way.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import logging.handlers
import os
import queue
import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

MAX_LINE = 2000
# extra={SAFE: True}: a line we wrote ourselves with nothing personal (the start line).
SAFE = "sessionbot_safe"
_MASKED = "sessionbot_masked"
# Loggers whose lines can carry a Slack payload: summarised, never printed whole.
PAYLOAD_LOGGERS = ("slack_bolt", "sessionbot.slack.bolt")

# Bounded quantifiers only: each starting position costs a constant, so a line costs
# linear time (the unbounded `[\w.+-]+@` of before was quadratic on a long word).
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
_PHONE = re.compile(r"\+?\d[\d\s().-]{6,24}\d")
# Link tokens are secrets too: the participant page, the clinician's Enter Meeting and feed.
_LINK = re.compile(r"/(j|enter|cal)/[A-Za-z0-9_-]{16,64}")
# Client addresses (participants' among them) are personal data as well.
_IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")


def redact(text: str) -> str:
    """`text` cut to MAX_LINE characters, with e-mails, phones, tokens and IPs masked."""
    if len(text) > MAX_LINE:
        text = f"{text[:MAX_LINE]}… [{len(text) - MAX_LINE} more characters cut]"
    text = _LINK.sub(lambda m: f"/{m.group(1)}/[token]", text)
    text = _IP.sub("[ip]", text)
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


def _traceback_outline(record: logging.LogRecord) -> str:
    """The exception's type and where it was raised: never its message, which can quote
    a payload ("Invalid isoformat string: 'Jane ...'")."""
    exc_type, _, tb = record.exc_info or (None, None, None)
    where = ""
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        code = tb.tb_frame.f_code
        where = f" at {os.path.basename(code.co_filename)}:{tb.tb_lineno} in {code.co_name}"
    return f"{exc_type.__name__ if exc_type else 'error'}{where}"


class RedactingFilter(logging.Filter):
    """The handler's filter: payload loggers summarised, every other line masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, SAFE, False) or getattr(record, _MASKED, False):
            return True  # ours, or already masked by another handler's filter
        setattr(record, _MASKED, True)
        if record.name.startswith(PAYLOAD_LOGGERS):
            return _WITHHELD.filter(record)
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            cleaned += "\n" + redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.exc_text = None
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


class WithheldDetailFilter(logging.Filter):
    """For loggers of libraries that put payloads into their lines: keep what happened,
    withhold the detail (Bolt writes "Unhandled request ({'token': ..., 'event': ...})")."""

    WORDS = 8

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg) if record.args else record.getMessage()
        head = message[:200].split("(", 1)[0].split("{", 1)[0].split(":", 1)[0]
        words = " ".join(head.split()[: self.WORDS])
        summary = f"{words} [detail withheld: {len(message)} characters]"
        if record.exc_info and record.exc_info[1] is not None:
            summary += f"; {_traceback_outline(record)}"
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = summary, None
        return True


_WITHHELD = WithheldDetailFilter()

# The request or turn this thread (or task) is working for; logged with every line.
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "sessionbot_request_id", default=None
)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def current_request_id() -> str | None:
    return _request_id.get()


@contextmanager
def request_context(request_id: str | None = None) -> Iterator[str]:
    """Every line logged inside carries `request_id` (a fresh one when none is given, or
    when the one given is not a short plain token: it may come from a request header)."""
    if request_id is None or not _REQUEST_ID.fullmatch(request_id):
        request_id = secrets.token_hex(8)
    token = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Stamps the record with the current request id, on the thread that logged it (the
    record crosses to the logging thread, the context does not)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


class JsonLines(JsonFormatter):
    """One JSON object a line: ts, level, logger, message, request_id (when there is one)."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )

    def add_fields(
        self,
        log_data: dict[str, object],
        record: logging.LogRecord,
        message_dict: dict[str, object],
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data.pop("request_id", None)
        for key in [k for k in log_data if k.startswith("sessionbot_")]:
            del log_data[key]  # our own markers (SAFE, masked)
        log_data.pop("color_message", None)  # uvicorn's copy of the message, with ANSI colours
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        fields = dict(log_data)
        log_data.clear()
        log_data["ts"] = stamp.replace("+00:00", "Z")
        log_data.update(fields)
        request_id = getattr(record, "request_id", None)
        if request_id:
            log_data["request_id"] = request_id


def _wants_json(stream: TextIO) -> bool:
    chosen = (os.environ.get("SESSIONBOT_LOG_FORMAT") or "auto").strip().lower()
    if chosen in ("json", "text"):
        return chosen == "json"
    try:
        return not stream.isatty()
    except (AttributeError, ValueError):
        return True


QUIET_LIBRARIES = ("alembic", "rasa_sdk", "sanic", "asyncio")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (tests and shells replace it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        # logging's StreamHandler sets a stream at construction; this handler has none of
        # its own (it always writes to the current sys.stderr), so the value is dropped.
        del value


class _RecordQueueHandler(logging.handlers.QueueHandler):
    """Hands the record itself to the logging thread: formatting and masking happen there.

    The stock `prepare` formats the message on the caller's thread; here only the lazy
    `%` arguments are made strings (so a record never holds live objects across threads)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        if record.args:
            record.msg, record.args = record.getMessage(), None
        return record


_listener: logging.handlers.QueueListener | None = None


def _stop_listener() -> None:
    global _listener
    if _listener is not None:
        _listener.stop()  # drains what is queued
        _listener = None


def flush_logging() -> None:
    """Write out what the logging thread still holds, and log directly from now on:
    for a process about to end by a re-raised signal, where `atexit` does not run."""
    if _listener is not None:
        handlers = _listener.handlers
        _stop_listener()
        logging.getLogger().handlers[:] = list(handlers)


def configure_logging(
    level: str | None = None, *, default: str = "WARNING", background: bool = False
) -> None:
    """Log to stderr at SESSIONBOT_LOG_LEVEL (else `default`), redacted.

    Terminal commands default to WARNING so their output stays readable; the long-running
    processes (serve, worker, actions) pass INFO and `background=True`, so that a line is
    formatted and masked on a logging thread rather than on the thread that serves.
    """
    _stop_listener()
    handler = _StderrHandler()
    if _wants_json(sys.stderr):
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    if background:
        global _listener
        lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        _listener = logging.handlers.QueueListener(lines, handler, respect_handler_level=True)
        _listener.start()
        atexit.register(_stop_listener)
        root.handlers[:] = [_RecordQueueHandler(lines)]
    else:
        root.handlers[:] = [handler]
    root.setLevel((level or os.environ.get("SESSIONBOT_LOG_LEVEL") or default).upper())
    set_library_levels(root.level)


def set_library_levels(level: int) -> None:
    """Chatty libraries at WARNING; those that log request bodies at DEBUG never below INFO."""
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    for name in ("slack_bolt", "slack_sdk", "twilio", "stripe", "httpx", "urllib3", "sanic"):
        logging.getLogger(name).setLevel(max(level, logging.INFO))
