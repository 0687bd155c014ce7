"""Health data never reaches a log line, even when a library puts it there."""

from __future__ import annotations

import logging

from log_scan import findings

from sessionbot.logs import MAX_LINE, RedactingFilter, redact
from sessionbot.settings import Settings


def test_emails_and_phones_in_log_lines_and_tracebacks_are_masked(caplog) -> None:
    logger = logging.getLogger("sessionbot.test")
    caplog.handler.addFilter(RedactingFilter())
    logger.warning("smtp said: 550 <%s>: no such user", "jane.doe@example.com")
    try:
        raise ValueError("could not text +1 617-555-0101")
    except ValueError:
        logger.exception("send failed")
    text = caplog.text
    assert "jane.doe@example.com" not in text and "617-555-0101" not in text
    assert "[email]" in text and "[phone]" in text


def test_ordinary_log_lines_are_left_alone(caplog) -> None:
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RedactingFilter())
    logging.getLogger("sessionbot.test").info("outbox %s (%s): sent", 42, "reminder")
    assert "outbox 42 (reminder): sent" in caplog.text


def test_link_tokens_in_access_logs_are_masked(caplog, monkeypatch) -> None:
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RedactingFilter())
    access = logging.getLogger("uvicorn.access")
    # An in-process uvicorn of another test may have configured it not to propagate.
    monkeypatch.setattr(access, "propagate", True)
    monkeypatch.setattr(access, "disabled", False)
    monkeypatch.setattr(access, "level", logging.INFO)
    access.info(
        '%s - "%s %s HTTP/1.1" %d', "127.0.0.1", "GET", "/j/AWI1fQ5FvfMM94D98mrjA0Z134pLSFR1", 200
    )
    assert "AWI1fQ5F" not in caplog.text and "/j/[token]" in caplog.text
    assert "[ip]" in caplog.text and "127.0.0.1" not in caplog.text


def test_a_huge_line_is_cut_before_any_pattern_runs() -> None:
    line = "GET /healthz?" + "1" * 3_000_000 + " jane.doe@example.com"
    cleaned = redact(line)
    assert len(cleaned) < MAX_LINE + 100
    assert "more characters cut" in cleaned and "jane.doe" not in cleaned


def test_bolts_payload_lines_and_tracebacks_are_summarised(caplog) -> None:
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RedactingFilter())
    bolt = logging.getLogger("slack_bolt.AsyncApp")
    bolt.warning("Unhandled request ({'event': {'text': 'book Jane Doe, grief counselling'}})")
    try:
        raise ValueError("Invalid isoformat string: 'Jane Doe'")
    except ValueError:
        logging.getLogger("sessionbot.slack.bolt").exception("Failed to run listener function")
    text = caplog.text
    assert "Jane" not in text and "grief" not in text
    assert "Unhandled request [detail withheld" in text
    assert "Failed to run listener function [detail withheld" in text
    assert "ValueError at test_logs.py" in text


def test_settings_never_show_a_secret_in_their_repr() -> None:
    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-not-a-real-token-42",
            "SLACK_SIGNING_SECRET": "signing-secret-42",
            "STRIPE_API_KEY": "sk_test_fake42",
            "SESSIONBOT_SMTP_URL": "smtp://mailer:hunter42@mail.example.test:587",
            "SESSIONBOT_ENCRYPTION_KEY": "fernet-key-42",
        }
    )
    shown = repr(settings) + str(settings)
    assert "42" not in shown.replace("587", "")
    assert "slack_bot_token='***'" in shown and "smtp://mailer:***@mail.example.test:587" in shown


def test_the_run_wide_log_scan_finds_a_participant() -> None:
    assert findings(["INFO sessionbot.x: booked Jane Doe", "INFO y: +1 (617) 555-0101"]) == [
        "INFO sessionbot.x: booked Jane Doe",
        "INFO y: +1 (617) 555-0101",
    ]
    assert findings(["INFO sessionbot.outbox: message 42 (reminder) sent"]) == []
