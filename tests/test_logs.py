"""Health data never reaches a log line, even when a library puts it there."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import IO

from log_scan import findings

from ground.logs import MAX_LINE, RedactingFilter, redact
from ground.settings import Settings


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


LOG_SNIPPET = """
import logging
from ground.logs import configure_logging, request_context
configure_logging(default="INFO")
log = logging.getLogger("sessionbot.probe")
log.info("started")
with request_context("turn-7f3a"):
    log.warning("could not text %s", "+1 617 555 0101")
with request_context('evil"\\n{"level": "DEBUG"}'):
    log.info("with a hostile id")
"""


def _run_logging(stderr: IO[str] | int, **env: str) -> subprocess.CompletedProcess[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONBOT_")}
    return subprocess.run(
        [sys.executable, "-c", LOG_SNIPPET], stderr=stderr, env={**clean, **env}, timeout=60
    )


def test_off_a_terminal_every_line_is_json_with_its_request_id(tmp_path) -> None:
    import json

    out = tmp_path / "stderr.log"
    with out.open("w") as f:
        assert _run_logging(f).returncode == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["message"] for x in lines] == [
        "started",
        "could not text [phone]",
        "with a hostile id",
    ]
    assert lines[0]["level"] == "INFO" and lines[0]["logger"] == "sessionbot.probe"
    assert lines[0]["ts"].endswith("Z") and "request_id" not in lines[0]
    assert lines[1]["request_id"] == "turn-7f3a"
    # An id that is not a short plain token (it can come from a header) is replaced.
    assert len(lines[2]["request_id"]) == 16 and "evil" not in lines[2]["request_id"]


def test_on_a_terminal_lines_stay_human(tmp_path) -> None:
    import os
    import pty

    leader, follower = pty.openpty()
    try:
        assert _run_logging(follower).returncode == 0
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    text = b"".join(chunks).decode()
    assert "INFO sessionbot.probe: started" in text
    assert "{" not in text
    # SESSIONBOT_LOG_FORMAT chooses either way.
    out = tmp_path / "text.log"
    with out.open("w") as f:
        _run_logging(f, SESSIONBOT_LOG_FORMAT="text")
    assert "WARNING sessionbot.probe: could not text [phone]" in out.read_text()


def test_a_requests_lines_carry_its_request_id_and_the_answer_names_it(tmp_path) -> None:
    import json
    import time

    from fake_slack import BOT_TOKEN, SIGNING_SECRET
    from serve_process import serve_process

    with serve_process(
        tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET
    ) as served:
        given = served.http.post(
            "/slack/events", json={"type": "event_callback"}, headers={"X-Request-Id": "trace-42"}
        )
        assert given.status_code == 401 and given.headers["x-request-id"] == "trace-42"
        made = served.http.post(
            "/slack/events", json={}, headers={"X-Request-Id": "<script>alert(1)</script>"}
        )
        assert made.headers["x-request-id"] != "<script>alert(1)</script>"
        assert len(made.headers["x-request-id"]) == 16
        time.sleep(0.5)  # the log is written on a logging thread
        lines = [json.loads(x) for x in served.log.read_text().splitlines() if x.startswith("{")]
    refused = [x for x in lines if x["message"].startswith("refused a Slack request")]
    assert [x.get("request_id") for x in refused] == ["trace-42", made.headers["x-request-id"]]
