"""Health data never reaches a log line, even when a library puts it there."""

from __future__ import annotations

import logging

from sessionbot.logs import RedactingFilter


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
