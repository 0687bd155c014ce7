"""A fake Twilio REST API on loopback (port 0, a thread) recording every request.

It accepts `POST /2010-04-01/Accounts/{sid}/Messages.json` as Twilio does (form body,
Basic auth) and answers a Message resource. It can fail: `fail_next("429", "500",
"drop")` answers the next requests with those, `busy_for(seconds)` answers every request
429 for that long (a rate limit for a while), `reject(number, code)` gives a permanent
Twilio error for one number. `latency` delays every answer (requests are answered
concurrently, each in a thread). `sign()` makes the X-Twilio-Signature of a webhook call.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token-not-real"
FROM_NUMBER = "+15005550006"


@dataclass
class Sent:
    path: str
    form: dict[str, str]
    authorization: str
    at: float = 0.0  # time.monotonic() when it arrived


@dataclass
class FakeTwilio:
    url: str = ""
    requests: list[Sent] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)
    latency: float = 0.0
    busy_until: float = 0.0  # time.monotonic() until which every request gets a 429
    in_flight: int = 0  # requests being answered now
    peak: int = 0  # the most ever answered at once (how concurrently a client sent)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def busy_for(self, seconds: float) -> None:
        self.busy_until = time.monotonic() + seconds

    @property
    def throttled(self) -> int:
        """Requests answered 429."""
        return sum(1 for r in self.requests if r.form.get("_status") == "429")

    def fail_next(self, *modes: str) -> None:
        with self.lock:
            self.failures.extend(modes)

    def reject(self, number: str, code: int) -> None:
        self.rejected[number] = code

    @property
    def messages(self) -> list[dict[str, str]]:
        """Texts accepted (not the failed attempts)."""
        return [r.form for r in self.requests if r.form.get("_accepted") == "1"]

    def env(self) -> dict[str, str]:
        return {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FROM_NUMBER,
            "SESSIONBOT_TWILIO_API_URL": self.url,
        }


def sign(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes

        def log_message(self, *args: object) -> None:
            pass

        def _json(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if len(body) < length:  # the caller died mid-request: nothing was sent
                self.close_connection = True
                return
            raw = body.decode()
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            record = Sent(self.path, form, self.headers.get("Authorization", ""), time.monotonic())
            with fake.lock:
                fake.requests.append(record)
                mode = fake.failures.pop(0) if fake.failures else None
                if mode is None and time.monotonic() < fake.busy_until:
                    mode = "429"
                if mode:
                    form["_status"] = mode
            if fake.latency:
                with fake.lock:
                    fake.in_flight += 1
                    fake.peak = max(fake.peak, fake.in_flight)
                time.sleep(fake.latency)
                with fake.lock:
                    fake.in_flight -= 1
            if mode == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if mode in ("429", "500"):
                status = int(mode)
                busy = 20429 if status == 429 else 20500
                self._json(status, {"code": busy, "message": "busy", "status": status})
                return
            if not self.path.endswith("/Messages.json"):
                self._json(404, {"code": 20404, "message": "not found", "status": 404})
                return
            code = fake.rejected.get(form.get("To", ""))
            if code:
                self._json(400, {"code": code, "message": "rejected", "status": 400})
                return
            form["_accepted"] = "1"
            sid = "SM" + secrets.token_hex(16)
            self._json(
                201,
                {
                    "sid": sid,
                    "account_sid": ACCOUNT_SID,
                    "to": form.get("To"),
                    "from": form.get("From"),
                    "body": form.get("Body"),
                    "status": "queued",
                    "num_segments": "1",
                },
            )

    return Handler


class _Server(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: a worker's 16 sending threads (or several
    # workers') connecting at once would overflow it, and the kernel would drop their
    # SYNs, resent a second (then 3, 7 s) later (as fake_slack.py found).
    request_queue_size = 128


def start_fake_twilio() -> tuple[FakeTwilio, ThreadingHTTPServer]:
    fake = FakeTwilio()
    server = _Server(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake, server


@pytest.fixture(name="fake_twilio")
def fake_twilio_fixture() -> Iterator[FakeTwilio]:
    fake, server = start_fake_twilio()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
