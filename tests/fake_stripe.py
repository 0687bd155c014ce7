"""A local fake of Stripe's API and hosted Checkout page, on loopback port 0.

It answers the calls the `stripe` SDK makes (`POST /v1/checkout/sessions`, `GET
/v1/checkout/sessions/{id}`, `POST /v1/refunds`), honours Idempotency-Key like Stripe (same
key, same answer: the same session, the same refund or the same refusal), records every
request, and serves a "checkout page": paying there posts a
signed `checkout.session.completed` webhook to the app and redirects to success_url.

What happens later at Stripe is driven from the test: `refund()` (the Dashboard's Refund
button: a `charge.refunded` with the Charge as Stripe sends it, `amount_refunded`
cumulative), `expire()` (`checkout.session.expired`), `fail_async()` (a bank debit that
failed after Checkout: `checkout.session.async_payment_failed`). Objects carry the
fields of Stripe's API reference that the app reads, with Stripe's id prefixes.

A refund through the API refuses what Stripe refuses (nothing left to refund:
`charge_already_refunded`; more than is left: `amount_too_large`), and `refuse_refunds`
makes the next ones fail as a declined card would (402, `card_error`); it sends the
`charge.refunded` webhook as Stripe does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header value for `payload`, as Stripe computes it."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


@dataclass
class FakeStripe:
    webhook_secret: str = "whsec_test_fake"
    webhook_url: str | None = None
    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)  # by PaymentIntent
    webhooks: list[httpx.Response] = field(default_factory=list)
    url: str = ""
    slow_down: float = 0.0  # seconds each Checkout creation takes (a slow Stripe)
    refuse_refunds: str | None = None  # a card error's code for every API refund, or None
    answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # by key

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeStripe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # The API --------------------------------------------------------------------------

    def create_session(self, form: dict[str, str], key: str | None) -> dict[str, Any]:
        with self._lock:
            if key and key in self.by_key:
                return self.sessions[self.by_key[key]]
            cs_id = "cs_test_" + secrets.token_hex(12)
            amount = int(form["line_items[0][price_data][unit_amount]"]) * int(
                form.get("line_items[0][quantity]", "1")
            )
            session = {
                "id": cs_id,
                "object": "checkout.session",
                "mode": form.get("mode"),
                "url": f"{self.url}/pay/{cs_id}",
                "status": "open",
                "payment_status": "unpaid",
                "amount_total": amount,
                "currency": form["line_items[0][price_data][currency]"],
                "client_reference_id": form.get("client_reference_id"),
                "metadata": {"session": form.get("metadata[session]")},
                "payment_intent": None,
                "success_url": form["success_url"],
                "cancel_url": form["cancel_url"],
                "description": form["line_items[0][price_data][product_data][name]"],
            }
            self.sessions[cs_id] = session
            if key:
                self.by_key[key] = cs_id
            return session

    def complete(self, cs_id: str) -> dict[str, Any]:
        """The payer paid: the session completes and Stripe sends the webhook."""
        session = self.pay(cs_id)
        self._send(self.event("checkout.session.completed", session))
        return session

    def pay(self, cs_id: str) -> dict[str, Any]:
        """The Checkout is paid (no webhook sent): a PaymentIntent and its Charge exist."""
        session = self.sessions[cs_id]
        intent = "pi_" + secrets.token_hex(12)
        session.update(status="complete", payment_status="paid", payment_intent=intent, url=None)
        self.charges[intent] = {
            "id": "ch_" + secrets.token_hex(12),
            "object": "charge",
            "amount": session["amount_total"],
            "amount_captured": session["amount_total"],
            "amount_refunded": 0,
            "captured": True,
            "currency": session["currency"],
            "livemode": False,
            "metadata": {},
            "paid": True,
            "payment_intent": intent,
            "refunded": False,
            "status": "succeeded",
            "refunds": {"object": "list", "data": [], "has_more": False, "url": "/v1/refunds"},
        }
        return session

    def refund(self, cs_id: str, amount: int | None = None) -> dict[str, Any]:
        """Refund `amount` cents (default: what is left) of the Checkout's charge."""
        charge = self.charges[self.sessions[cs_id]["payment_intent"]]
        left = charge["amount"] - charge["amount_refunded"]
        amount = left if amount is None else amount
        assert 0 < amount <= left, "Stripe refuses a refund over what is left"
        return self._refund_charge(charge, amount, {})[1]

    def _refund_charge(
        self, charge: dict[str, Any], amount: int, metadata: dict[str, str]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        refund = {
            "id": "re_" + secrets.token_hex(12),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "currency": charge["currency"],
            "payment_intent": charge["payment_intent"],
            "metadata": metadata,
            "reason": "requested_by_customer",
            "status": "succeeded",
        }
        charge["refunds"]["data"].insert(0, refund)
        event = self.event("charge.refunded", charge)
        self._send(event)
        return refund, event

    def create_refund(self, form: dict[str, str], key: str | None) -> tuple[int, dict[str, Any]]:
        """`POST /v1/refunds`: the same key gives the same answer, a refusal included."""
        with self._lock:
            if key and key in self.answers:
                return self.answers[key]
            answer = self._new_refund(form)
            if key:
                self.answers[key] = answer
        return answer

    def _new_refund(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        charge = self.charges.get(form.get("payment_intent", ""))
        if charge is None:
            return _error(404, "invalid_request_error", "resource_missing", "No such payment")
        if self.refuse_refunds:
            return _error(402, "card_error", self.refuse_refunds, "Your card was declined.")
        left = charge["amount"] - charge["amount_refunded"]
        if left == 0:
            return _error(
                400,
                "invalid_request_error",
                "charge_already_refunded",
                f"Charge {charge['id']} has already been refunded.",
            )
        amount = int(form.get("amount") or left)
        if not 0 < amount <= left:
            return _error(400, "invalid_request_error", "amount_too_large", "Amount too large.")
        metadata = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}
        refund, _ = self._refund_charge(charge, amount, metadata)
        return 200, refund

    def refunds_made(self) -> list[dict[str, Any]]:
        """Every refund that moved money, across charges, oldest first."""
        made = [r for c in self.charges.values() for r in c["refunds"]["data"]]
        return list(reversed(made))

    def refund_calls(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path == "/v1/refunds"]

    def expire(self, cs_id: str) -> dict[str, Any]:
        """Nobody paid in time: Stripe expires the Checkout (its url is gone)."""
        session = self.sessions[cs_id]
        session.update(status="expired", url=None)
        event = self.event("checkout.session.expired", session)
        self._send(event)
        return event

    def fail_async(self, cs_id: str) -> dict[str, Any]:
        """A delayed payment method failed: the Checkout is complete and still unpaid."""
        session = self.sessions[cs_id]
        session.update(status="complete", payment_status="unpaid", url=None)
        session["payment_intent"] = "pi_" + secrets.token_hex(12)
        event = self.event("checkout.session.async_payment_failed", session)
        self._send(event)
        return event

    def _send(self, event: dict[str, Any]) -> None:
        if self.webhook_url:
            self.webhooks.append(self.post_event(event))

    @staticmethod
    def event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": "2024-06-20",
            "type": kind,
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": json.loads(json.dumps(obj))},
        }

    def signed(
        self, event: dict[str, Any], *, secret: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook request's body and headers, signed as Stripe signs them."""
        body = json.dumps(event).encode()
        signature = sign(body, secret or self.webhook_secret)
        return body, {"Stripe-Signature": signature, "Content-Type": "application/json"}

    def post_event(self, event: dict[str, Any], *, secret: str | None = None) -> httpx.Response:
        assert self.webhook_url
        body, headers = self.signed(event, secret=secret)
        return httpx.post(self.webhook_url, content=body, headers=headers)

    def created(self) -> list[Recorded]:
        return [
            r for r in self.requests if r.method == "POST" and r.path == "/v1/checkout/sessions"
        ]


def _error(status: int, kind: str, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"type": kind, "code": code, "message": message}}


def _page(session: dict[str, Any]) -> bytes:
    amount = f"${session['amount_total'] / 100:,.2f}"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Fake Stripe Checkout</title></head><body><main>
<h1>Fake Stripe Checkout</h1><p>{session["description"]}: {amount}</p>
<form method="post" action="/pay/{session["id"]}"><button type="submit">Pay {amount}</button></form>
</main></body></html>""".encode()


def _handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _record(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            form = dict(parse_qsl(body, keep_blank_values=True))
            fake.requests.append(Recorded(self.command, self.path, dict(self.headers), form))
            return form

        def _send(self, status: int, body: bytes, kind: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, obj: Any) -> None:
            self._send(status, json.dumps(obj).encode(), "application/json", Request_Id="req_fake")

        def do_POST(self) -> None:  # noqa: N802
            form = self._record()
            if self.path == "/v1/checkout/sessions":
                time.sleep(fake.slow_down)
                if not self.headers.get("Authorization", "").startswith("Bearer sk_test_"):
                    return self._json(401, {"error": {"message": "Invalid API Key"}})
                return self._json(
                    200, fake.create_session(form, self.headers.get("Idempotency-Key"))
                )
            if self.path == "/v1/refunds":
                if not self.headers.get("Authorization", "").startswith("Bearer sk_test_"):
                    return self._json(401, {"error": {"message": "Invalid API Key"}})
                return self._json(*fake.create_refund(form, self.headers.get("Idempotency-Key")))
            if self.path.startswith("/pay/") and self.path[5:] in fake.sessions:
                session = fake.complete(self.path[5:])
                target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
                return self._send(303, b"", "text/plain", Location=target)
            self._json(404, {"error": {"message": "No such route"}})

        def do_GET(self) -> None:  # noqa: N802
            self._record()
            prefix = "/v1/checkout/sessions/"
            if self.path.startswith(prefix) and self.path[len(prefix) :] in fake.sessions:
                return self._json(200, fake.sessions[self.path[len(prefix) :]])
            if self.path.startswith("/pay/") and self.path[5:] in fake.sessions:
                return self._send(200, _page(fake.sessions[self.path[5:]]), "text/html")
            self._json(404, {"error": {"message": "No such checkout session"}})

    return Handler
