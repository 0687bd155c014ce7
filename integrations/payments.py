"""Payments: a small Protocol and its Stripe implementation (Checkout Sessions, webhooks).

The real one talks to Stripe's API through the `stripe` SDK at a base URL that settings
can change (`SESSIONBOT_STRIPE_API_URL`, for the local fake in tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import stripe

from sessionbot.settings import Settings

STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"


@dataclass(frozen=True)
class Checkout:
    """A hosted payment page as the provider reports it."""

    id: str
    url: str | None
    status: str  # open | complete | expired
    paid: bool
    amount_cents: int | None
    currency: str | None
    reference: str | None  # our session's public id


@dataclass(frozen=True)
class PaymentEvent:
    """A verified webhook event, reduced to what the page needs."""

    id: str
    type: str
    checkout: Checkout | None


class InvalidSignature(ValueError):
    """The webhook body was not signed with our secret (or is not an event at all)."""


class Payments(Protocol):
    def create_checkout(
        self,
        *,
        reference: str,
        description: str,
        amount_cents: int,
        currency: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> Checkout: ...

    def retrieve_checkout(self, checkout_id: str) -> Checkout: ...

    def verify_event(self, payload: bytes, signature: str | None) -> PaymentEvent: ...


def _checkout(found: Any) -> Checkout:
    obj: dict[str, Any] = found.to_dict() if hasattr(found, "to_dict") else dict(found)
    metadata = obj.get("metadata") or {}
    return Checkout(
        id=obj["id"],
        url=obj.get("url"),
        status=obj.get("status") or "open",
        paid=obj.get("payment_status") in ("paid", "no_payment_required"),
        amount_cents=obj.get("amount_total"),
        currency=obj.get("currency"),
        reference=obj.get("client_reference_id") or metadata.get("session"),
    )


class StripePayments:
    """Stripe Checkout through `stripe.StripeClient`."""

    def __init__(self, api_key: str, webhook_secret: str | None, api_url: str | None) -> None:
        base = {"api": api_url.rstrip("/")} if api_url else None
        self._client = stripe.StripeClient(api_key, base_addresses=base, max_network_retries=2)
        self._webhook_secret = webhook_secret

    def create_checkout(
        self,
        *,
        reference: str,
        description: str,
        amount_cents: int,
        currency: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> Checkout:
        session = self._client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "client_reference_id": reference,
                "metadata": {"session": reference},
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": currency,
                            "unit_amount": amount_cents,
                            "product_data": {"name": description},
                        },
                    }
                ],
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            options={"idempotency_key": idempotency_key},
        )
        return _checkout(session)

    def retrieve_checkout(self, checkout_id: str) -> Checkout:
        return _checkout(self._client.v1.checkout.sessions.retrieve(checkout_id))

    def verify_event(self, payload: bytes, signature: str | None) -> PaymentEvent:
        if not self._webhook_secret:
            raise InvalidSignature("STRIPE_WEBHOOK_SECRET is not set")
        try:
            event = stripe.Webhook.construct_event(payload, signature, self._webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise InvalidSignature(str(exc)) from exc
        obj = event["data"]["object"].to_dict()
        is_checkout = obj.get("object") == "checkout.session"
        return PaymentEvent(
            id=event["id"], type=event["type"], checkout=_checkout(obj) if is_checkout else None
        )


def make_payments(settings: Settings) -> Payments | None:
    """The configured payments provider, or None when payments are not set up."""
    if not settings.stripe_api_key:
        return None
    return StripePayments(
        settings.stripe_api_key, settings.stripe_webhook_secret, settings.stripe_api_url
    )


def checkout_origins(settings: Settings) -> tuple[str, ...]:
    """Where Pay Now's form may lead (the page's CSP `form-action`)."""
    origins = [STRIPE_CHECKOUT_ORIGIN]
    if settings.stripe_api_url:
        parts = urlsplit(settings.stripe_api_url)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(origins)
