"""`sessionbot serve` tried as an attacker and a flaky network would: huge, malformed,
unsigned and stale requests cost little and get a 4xx, leave no participant word in the
log, and a process killed right after acknowledging a DM answers it once restarted."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import socket
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_slack import APP_ID, BOT_TOKEN, SIGNING_SECRET, FakeSlack, Person, signed_headers
from serve_process import serve_process

NAME = "Zebediah Quartermaine"  # a fake participant; must never reach the log


def slack_env(fake: FakeSlack, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.url,
        **extra,
    }


@pytest.fixture
def served(tmp_path: Path, fake_slack: FakeSlack):
    with serve_process(tmp_path, env=slack_env(fake_slack)) as served:
        yield served


def wait_for(fake: FakeSlack, channel: str, count: int, timeout: float = 15) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(fake.channel(channel)) >= count:
            return fake.channel(channel)
        time.sleep(0.02)
    raise AssertionError(f"{len(fake.channel(channel))} messages in {channel}, wanted {count}")


def signed(body: bytes | str, content_type: str, **headers: str) -> dict[str, str]:
    text = body if isinstance(body, str) else body.decode("latin-1")
    found = signed_headers(text, content_type)
    if isinstance(body, bytes):  # sign the exact bytes (slack_sdk signs only text)
        base = f"v0:{found['X-Slack-Request-Timestamp']}:".encode() + body
        digest = hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
        found["X-Slack-Signature"] = f"v0={digest}"
    return {**found, **headers}


def interaction(payload: dict[str, Any]) -> str:
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


USER = {"id": "U_HOSTILE", "team_id": "T1"}
TEAM = {"id": "T1"}
FORM = "application/x-www-form-urlencoded"


def malformed_requests() -> list[tuple[str, bytes | str, str, bool, dict[str, str]]]:
    """(what, body, content type, signed, extra headers)"""
    dm = json.dumps({"type": "event_callback", "team_id": "T1", "event": {"type": "message"}})
    return [
        ("invalid JSON, signed", '{"type": "event_callback", ', "application/json", True, {}),
        ("invalid JSON, unsigned", '{"type": ', "application/json", False, {}),
        ("invalid UTF-8, signed", b'{"type": "\xff\xfe"}', "application/json", True, {}),
        ("invalid UTF-8, unsigned", b"\xff\xfe\xfd", "application/json", False, {}),
        ("a JSON list", "[1, 2, 3]", "application/json", True, {}),
        (
            "a non-numeric timestamp",
            dm,
            "application/json",
            False,
            {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=abc"},
        ),
        ("payload= that is not JSON", "payload=%7Bnot-json", FORM, True, {}),
        (
            "actions=[{}]",
            interaction({"type": "block_actions", "user": USER, "team": TEAM, "actions": [{}]}),
            FORM,
            True,
            {},
        ),
        (
            "a view_submission with bad metadata",
            interaction(
                {
                    "type": "view_submission",
                    "user": USER,
                    "team": TEAM,
                    "view": {
                        "id": "V1",
                        "callback_id": "reschedule",
                        "private_metadata": f"not json {NAME}",
                        "state": {"values": {}},
                    },
                }
            ),
            FORM,
            True,
            {},
        ),
        (
            "a view_submission with bad values",
            interaction(
                {
                    "type": "view_submission",
                    "user": USER,
                    "team": TEAM,
                    "view": {
                        "id": "V2",
                        "callback_id": "reschedule",
                        "private_metadata": json.dumps({"id": "S1", "tz": "UTC"}),
                        "state": {"values": ["2026-12-24"]},
                    },
                }
            ),
            FORM,
            True,
            {},
        ),
        (
            "a command without a user",
            urllib.parse.urlencode({"command": "/schedule", "team_id": "T1", "text": NAME}),
            FORM,
            True,
            {},
        ),
        ("an event without a type", json.dumps({"team_id": "T1"}), "application/json", True, {}),
    ]


def test_every_malformed_slack_request_gets_a_4xx_and_no_trace(served, fake_slack) -> None:
    answers = {}
    for what, body, ctype, sign, extra in malformed_requests():
        headers = signed(body, ctype, **extra) if sign else {"Content-Type": ctype, **extra}
        content = body if isinstance(body, bytes) else body.encode()
        answers[what] = served.http.post("/slack/events", content=content, headers=headers)
    assert {w: r.status_code for w, r in answers.items() if not 400 <= r.status_code < 500} == {}
    assert all(len(r.text) < 100 for r in answers.values())  # one short reason
    # Still healthy, nothing posted to Slack, nothing of the body in the log.
    assert served.http.get("/healthz").status_code == 200
    assert fake_slack.of("chat.postMessage") == []
    log = served.log.read_text()
    assert "Zebediah" not in log and "Traceback" not in log


def test_huge_urls_and_bodies_are_refused_before_they_are_read(served) -> None:
    assert served.http.get("/j/" + "7" * 60_000).status_code == 414
    assert served.http.get("/healthz?" + "1" * 60_000).status_code == 414
    huge = b"x" * (3 * 1024 * 1024)
    assert served.http.post("/slack/events", content=huge).status_code == 413
    assert served.http.post("/webhooks/twilio/sms", content=huge).status_code == 413

    def chunks():  # no Content-Length: refused once the limit is passed
        for _ in range(100):
            yield b"y" * 65536

    assert served.http.post("/slack/events", content=chunks()).status_code == 413
    assert served.http.get("/healthz").status_code == 200


def test_forged_and_stale_requests_leave_no_name_in_the_log(served) -> None:
    text = f"book {NAME} tomorrow at 3pm, she has panic attacks"
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": APP_ID,
            "event_id": "EvForged1",
            "event": {
                "type": "message",
                "channel_type": "im",
                "channel": "D_X",
                "user": "U_X",
                "text": text,
                "ts": "1.1",
            },
        }
    )
    forged = signed_headers(body, "application/json")
    forged["X-Slack-Signature"] = "v0=" + "0" * 64
    stale = signed_headers(body, "application/json")
    stale["X-Slack-Request-Timestamp"] = str(int(time.time()) - 3600)
    stale_but_signed = {
        **signed_headers(body, "application/json", age=3600),
    }
    for headers in (forged, stale, stale_but_signed, {"Content-Type": "application/json"}):
        assert served.http.post("/slack/events", content=body, headers=headers).status_code == 401
    view = interaction(
        {
            "type": "view_submission",
            "user": USER,
            "team": TEAM,
            "view": {"id": "V9", "callback_id": "reschedule", "private_metadata": NAME},
        }
    )
    assert (
        served.http.post("/slack/events", content=view, headers={"Content-Type": FORM}).status_code
        == 401
    )
    served.proc.send_signal(signal.SIGTERM)
    served.proc.wait(timeout=30)
    log = served.log.read_text()
    assert "refused a Slack request: bad signature" in log
    assert "refused a Slack request: stale request" in log
    assert "Zebediah" not in log and "Quartermaine" not in log and "panic" not in log


def test_hostile_requests_do_not_hold_up_health_or_other_clinicians(served, fake_slack) -> None:
    patient = Person(served, fake_slack, "U_PASTER")
    other = Person(served, fake_slack, "U_OTHER")
    base = str(served.http.base_url)
    results: dict[str, Any] = {}

    def unsigned_huge() -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            results["huge"] = http.post("/slack/events", content=b"a" * (3 * 1024 * 1024))

    def long_dm() -> None:
        body, ctype = patient.dm_body("3pm tomorrow with " + "Jo " * 33_333)
        with httpx.Client(base_url=base, timeout=30) as http:
            results["long"] = http.post(
                "/slack/events", content=body, headers=signed_headers(body, ctype)
            )

    threads = [threading.Thread(target=unsigned_huge), threading.Thread(target=long_dm)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    health = served.http.get("/healthz")
    health_took = time.monotonic() - started
    body, ctype = other.dm_body("schedule a session")
    started = time.monotonic()
    assert other.post(body, ctype).status_code == 200
    wait_for(fake_slack, other.dm_channel, 1, timeout=10)
    answer_took = time.monotonic() - started
    for thread in threads:
        thread.join(30)
    assert health.status_code == 200 and health_took < 1.0, health_took
    assert answer_took < 3.0, answer_took
    assert results["huge"].status_code == 413
    assert results["long"].status_code == 200
    (reply,) = wait_for(fake_slack, patient.dm_channel, 1)
    assert "too long for me" in reply.text


def test_a_dm_acknowledged_before_a_crash_is_answered_once_after_restart(
    tmp_path: Path,
    fake_slack: FakeSlack,
) -> None:
    env = slack_env(fake_slack, SESSIONBOT_SLACK_INBOX_LEASE="1")
    # Slack is slow to open the DM: the turn has not run when the process dies.
    fake_slack.slow_down("conversations.open", 5)
    with serve_process(tmp_path, log_name="first.log", env=env) as first:
        clinician = Person(first, fake_slack, "U_CRASH")
        body, ctype = clinician.dm_body("schedule JD tomorrow at 3pm")
        assert clinician.post(body, ctype).status_code == 200
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
    assert fake_slack.channel(clinician.dm_channel) == []
    fake_slack.slow_down("conversations.open", 0)
    with serve_process(tmp_path, log_name="second.log", env=env) as second:
        (reply,) = wait_for(fake_slack, clinician.dm_channel, 1, timeout=20)
        assert reply.text == "How should I invite JD?"  # the words survived the crash
        # Slack's own retry of the same event, and more sweeps: still answered once.
        retried = second.http.post(
            "/slack/events",
            content=body,
            headers={**signed_headers(body, ctype), "X-Slack-Retry-Num": "1"},
        )
        assert retried.status_code == 200
        time.sleep(3)
        assert len(fake_slack.channel(clinician.dm_channel)) == 1
        assert "replaying Slack request event" in second.log.read_text()


def deep_requests() -> list[tuple[str, str, str, bool, dict[str, str]]]:
    """(what, body, content type, signed, extra headers): each cheap to send, costly to
    parse naively."""
    levels = 300_000
    deep_json = '{"type": "event_callback", "team_id": "T1", "x": ' + "[" * levels
    deep_json += "]" * levels + "}"
    # Written out as text: json.dumps itself recurses too deep for it.
    blocks = '{"type": "rich_text_list", "elements": [' * 900
    blocks += '{"type": "rich_text_section", "elements": []}' + "]}" * 900
    event = {
        "type": "event_callback",
        "team_id": "T1",
        "api_app_id": APP_ID,
        "event_id": "EvDeep1",
        "event": {
            "type": "message",
            "channel_type": "im",
            "channel": "D_DEEP",
            "user": "U_DEEP",
            "text": "hello",
            "ts": "1.1",
            "blocks": "BLOCKS",
        },
    }
    nested = json.dumps(event).replace(
        '"BLOCKS"', f'[{{"type": "rich_text", "elements": [{blocks}]}}]'
    )
    return [
        (
            "a timestamp of 5,000 digits, unsigned",
            json.dumps({"type": "event_callback"}),
            "application/json",
            False,
            {"X-Slack-Request-Timestamp": "9" * 5000, "X-Slack-Signature": "v0=" + "0" * 64},
        ),
        ("JSON nested 300,000 deep, signed", deep_json, "application/json", True, {}),
        ("payload= nested 300,000 deep, signed", "payload=" + "[" * levels, FORM, True, {}),
        ("blocks nested 900 deep, signed", nested, "application/json", True, {}),
    ]


def test_deep_bodies_and_huge_timestamps_get_a_4xx_at_little_cost(served, fake_slack) -> None:
    answers, took = {}, {}
    for what, body, ctype, sign, extra in deep_requests():
        headers = signed(body, ctype, **extra) if sign else {"Content-Type": ctype, **extra}
        started = time.monotonic()
        answers[what] = served.http.post("/slack/events", content=body.encode(), headers=headers)
        took[what] = time.monotonic() - started
    assert {w: r.status_code for w, r in answers.items() if not 400 <= r.status_code < 500} == {}
    assert {w: t for w, t in took.items() if t > 1.0} == {}
    assert served.http.get("/healthz").status_code == 200
    time.sleep(0.5)  # nothing queued behind the answer either
    assert fake_slack.of("chat.postMessage") == []
    assert "Traceback" not in served.log.read_text()


def test_a_stripe_event_signed_an_hour_ago_or_nested_deep_gets_400(tmp_path: Path) -> None:
    from fake_stripe import FakeStripe, sign

    with (
        FakeStripe() as stripe,
        serve_process(
            tmp_path,
            STRIPE_API_KEY="sk_test_fake",
            STRIPE_WEBHOOK_SECRET=stripe.webhook_secret,
            SESSIONBOT_STRIPE_API_URL=stripe.url,
        ) as served,
    ):
        event = json.dumps(stripe.event("checkout.session.completed", {"id": "cs_x"})).encode()
        stale = sign(event, stripe.webhook_secret, timestamp=int(time.time()) - 3600)
        deep = b'{"id": "evt_1", "data": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
        deep_900 = b'{"id": "evt_2", "type": "x", "data": ' + b'{"a": ' * 900 + b"1"
        deep_900 += b"}" * 900 + b"}"
        answers = {
            "stale": served.http.post(
                "/webhooks/stripe", content=event, headers={"Stripe-Signature": stale}
            ),
            **{
                what: served.http.post(
                    "/webhooks/stripe",
                    content=body,
                    headers={"Stripe-Signature": sign(body, stripe.webhook_secret)},
                )
                for what, body in (("deep", deep), ("deep 900", deep_900))
            },
        }
        assert {w: r.status_code for w, r in answers.items()} == {
            "stale": 400,
            "deep": 400,
            "deep 900": 400,
        }
        assert served.http.get("/healthz").status_code == 200
        assert "Traceback" not in served.log.read_text()


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed `sock` (None: still open after `seconds`)."""
    sock.settimeout(0.2)
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except ConnectionError:
            return time.monotonic() - started
    return None


def test_idle_and_half_sent_connections_are_closed(tmp_path: Path) -> None:
    with serve_process(tmp_path, SESSIONBOT_REQUEST_TIMEOUT="1") as served:
        port = served.http.base_url.port
        half_body = (
            b"POST /webhooks/twilio/sms HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\nBody=hel"
        )
        openers: dict[str, bytes] = {
            "nothing sent": b"",
            "half the headers": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ",
            "half the body": half_body,
            "idle after a response": b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        }
        socks = {}
        for what, opener in openers.items():
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(opener)
            socks[what] = sock
        # All at once: the longest wait bounds the test (1 s deadline, 5 s keep-alive).
        results: dict[str, float | None] = {}

        def watch(what: str) -> None:
            results[what] = closed_within(socks[what], 9)

        threads = [threading.Thread(target=watch, args=(w,)) for w in socks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(15)
        for sock in socks.values():
            sock.close()
        assert {w: t for w, t in results.items() if t is None} == {}
        assert results["nothing sent"] < 3 and results["half the headers"] < 3  # type: ignore[operator]
        assert results["half the body"] < 3  # type: ignore[operator]
        assert served.http.get("/healthz").status_code == 200
        assert "Traceback" not in served.log.read_text()
