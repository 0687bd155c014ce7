"""Logging for every process, with a last line of defence for health data.

Code never logs participant data on purpose; this filter also masks anything shaped like
an e-mail address or a phone number that slips into a log line (an SMTP server's
"550 <jane@example.com>: no such user", a library's exception text).
"""

from __future__ import annotations

import logging
import os
import re
import sys

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")
# Link tokens are secrets too: the participant page, the clinician's Enter Meeting.
_LINK = re.compile(r"/(j|enter)/[A-Za-z0-9_-]{16,}")


# Client addresses (participants' among them) are personal data as well.
_IP = re.compile(r"\b\d{1,3}(\.\d{1,3}){3}\b")


def redact(text: str) -> str:
    text = _LINK.sub(lambda m: f"/{m.group(1)}/[token]", text)
    text = _IP.sub("[ip]", text)
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            cleaned += "\n" + redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.exc_text = None
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


QUIET_LIBRARIES = ("alembic", "rasa_sdk", "sanic", "asyncio")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (tests and shells replace it)."""

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # type: ignore[no-untyped-def]
        pass


def configure_logging(level: str | None = None, *, default: str = "WARNING") -> None:
    """Log to stderr at SESSIONBOT_LOG_LEVEL (else `default`), redacted.

    Terminal commands default to WARNING so their output stays readable; the long-running
    processes (serve, worker, actions) pass INFO.
    """
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or os.environ.get("SESSIONBOT_LOG_LEVEL") or default).upper())
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
    # Libraries that log request bodies at DEBUG never go below INFO.
    for name in ("slack_bolt", "slack_sdk", "twilio", "stripe", "httpx", "urllib3", "sanic"):
        logging.getLogger(name).setLevel(max(root.level, logging.INFO))
