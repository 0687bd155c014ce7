"""Payments: a small Protocol and its Stripe implementation (Checkout Sessions, refunds,
webhooks).

The real one talks to Stripe's API through the `stripe` SDK at a base URL that settings
can change (`SESSIONBOT_STRIPE_API_URL`, for the local fake in tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import stripe
from stripe._base_address import BaseAddresses  # the type StripeClient takes (not exported)

from ground import limits
from ground.jsontypes import JSON
from ground.settings import Settings

STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"
# How old a webhook's signed timestamp may be (Stripe's own default): a captured event
# cannot be replayed later.
SIGNATURE_TOLERANCE = 300


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
    payment_intent: str | None = None  # what a later refund (a charge) names


@dataclass(frozen=True)
class Refund:
    """A `charge.refunded` event's charge: how much of it has been refunded so far."""

    charge_id: str
    payment_intent: str | None
    amount_cents: int
    refunded_cents: int  # cumulative, as Stripe reports `amount_refunded`
    currency: str
    full: bool


@dataclass(frozen=True)
class PaymentEvent:
    """A verified webhook event, reduced to what the page needs."""

    id: str
    type: str
    checkout: Checkout | None
    refund: Refund | None = None


class InvalidSignature(ValueError):
    """The webhook body was not signed with our secret (or is not an event at all)."""


class MalformedEvent(ValueError):
    """Signed with our secret, but not an event of the shape Stripe sends."""


class PaymentsUnavailable(RuntimeError):
    """Stripe could not be reached or refused the call: the SDK's error, kept inside."""


@dataclass(frozen=True)
class RefundMade:
    """A refund Stripe accepted (`succeeded` or `pending` at the bank: either way, made)."""

    id: str
    amount_cents: int
    currency: str
    status: str


class RefundRefused(RuntimeError):
    """Stripe did not make the refund; `reason` says why in the clinician's words (never
    a card number or a name: Stripe's own message is not passed on)."""

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


# Stripe's error codes a clinician can act on, in their words.
REFUSALS = {
    "charge_already_refunded": "the payment was already refunded at Stripe",
    "charge_disputed": "the payment is disputed (a chargeback), so Stripe refuses a refund",
    "amount_too_large": "the amount is more than what is left of the payment",
    "insufficient_funds": "the Stripe balance is too low to pay the refund",
    "expired_or_canceled_card": "the card the participant paid with is closed",
}


def refusal(error: stripe.StripeError) -> RefundRefused:
    """A Stripe error as a refusal in words."""
    code = getattr(error, "code", None)
    if code in REFUSALS:
        return RefundRefused(REFUSALS[code], code=code)
    if isinstance(error, stripe.CardError):
        return RefundRefused("the card's bank declined the refund", code=code or "card_error")
    if isinstance(error, stripe.APIConnectionError):
        return RefundRefused("Stripe could not be reached", code="unreachable")
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        return RefundRefused("Stripe refused our API key", code="api_key")
    if isinstance(error, stripe.RateLimitError):
        return RefundRefused("Stripe was busy and asked us to wait", code="rate_limited")
    return RefundRefused(f"Stripe refused it ({code or type(error).__name__})", code=code)


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

    def refund(
        self,
        *,
        payment_intent: str,
        amount_cents: int,
        reference: str,
        idempotency_key: str,
    ) -> RefundMade:
        """Refund `amount_cents` of the payment; RefundRefused when Stripe does not."""
        ...


def _checkout(obj: dict[str, JSON]) -> Checkout:
    """A Checkout Session as Stripe sends it (`to_dict()` of the SDK's, or an event's)."""
    metadata = obj.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ValueError("metadata is not an object")
    return Checkout(
        id=_text(obj["id"]),
        url=_maybe_text(obj.get("url")),
        status=_maybe_text(obj.get("status")) or "open",
        # Only "paid": "no_payment_required" is a Checkout of nothing, never our sessions.
        paid=obj.get("payment_status") == "paid",
        amount_cents=_cents(obj.get("amount_total")),
        currency=_maybe_text(obj.get("currency")),
        reference=_maybe_text(obj.get("client_reference_id") or metadata.get("session")),
        payment_intent=_intent(obj.get("payment_intent")),
    )


def _intent(value: object) -> str | None:
    """A PaymentIntent's id, whether Stripe sent the id or the expanded object."""
    return _maybe_text(value.get("id") if isinstance(value, dict) else value)


def _refund(obj: dict[str, JSON]) -> Refund:
    amount = _cents(obj["amount"])
    refunded = _cents(obj["amount_refunded"])
    if amount is None or refunded is None:
        raise ValueError("a charge without amounts")
    return Refund(
        charge_id=_text(obj["id"]),
        payment_intent=_intent(obj.get("payment_intent")),
        amount_cents=amount,
        refunded_cents=refunded,
        currency=_text(obj["currency"]),
        full=bool(obj.get("refunded")) or refunded >= amount,
    )


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a string")
    return value


def _maybe_text(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError("expected a string")
    return value or None


def _cents(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected an amount in cents")
    return value


def _event(event: stripe.Event) -> PaymentEvent:
    raw: dict[str, JSON] = event.to_dict()
    data = raw["data"]
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise ValueError("data.object is not an object")
    kind = obj.get("object")
    return PaymentEvent(
        id=_text(raw["id"]),
        type=_text(raw["type"]),
        checkout=_checkout(obj) if kind == "checkout.session" else None,
        refund=_refund(obj) if kind == "charge" else None,
    )


class StripePayments:
    """Stripe Checkout through `stripe.StripeClient`."""

    def __init__(self, api_key: str, webhook_secret: str | None, api_url: str | None) -> None:
        base: BaseAddresses | None = {"api": api_url.rstrip("/")} if api_url else None
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
        try:
            session = self._create(
                reference,
                description,
                amount_cents,
                currency,
                success_url,
                cancel_url,
                idempotency_key,
            )
        except stripe.StripeError as exc:
            raise PaymentsUnavailable(type(exc).__name__) from None
        return _checkout(session.to_dict())

    def _create(
        self,
        reference: str,
        description: str,
        amount_cents: int,
        currency: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> stripe.checkout.Session:
        return self._client.v1.checkout.sessions.create(
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

    def retrieve_checkout(self, checkout_id: str) -> Checkout:
        try:
            found = self._client.v1.checkout.sessions.retrieve(checkout_id)
        except stripe.StripeError as exc:
            raise PaymentsUnavailable(type(exc).__name__) from None
        return _checkout(found.to_dict())

    def refund(
        self,
        *,
        payment_intent: str,
        amount_cents: int,
        reference: str,
        idempotency_key: str,
    ) -> RefundMade:
        try:
            made = self._client.v1.refunds.create(
                params={
                    "payment_intent": payment_intent,
                    "amount": amount_cents,
                    "reason": "requested_by_customer",
                    "metadata": {"session": reference},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise refusal(exc) from None
        obj: dict[str, JSON] = made.to_dict()
        status = _maybe_text(obj.get("status")) or "pending"
        if status in ("failed", "canceled"):
            raise RefundRefused("the card's bank returned the refund", code=f"refund_{status}")
        amount = _cents(obj.get("amount"))
        return RefundMade(
            id=_text(obj["id"]),
            amount_cents=amount if amount is not None else amount_cents,
            currency=_text(obj["currency"]),
            status=status,
        )

    def verify_event(self, payload: bytes, signature: str | None) -> PaymentEvent:
        if not self._webhook_secret:
            raise InvalidSignature("STRIPE_WEBHOOK_SECRET is not set")
        # The timestamp too: without a tolerance verify_header takes an event signed at
        # any time, and construct_event's own check (five minutes) then raised past us.
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self._webhook_secret, tolerance=SIGNATURE_TOLERANCE
            )
        except (stripe.SignatureVerificationError, ValueError) as exc:  # ValueError: not UTF-8
            raise InvalidSignature(str(exc)) from exc
        # Signed by Stripe (or with our secret): what is not an event's shape is refused
        # with a 4xx, so Stripe shows the failure in its dashboard instead of retrying a 500.
        # Parsed here first, bounded in depth: Stripe's parser and its objects recurse.
        try:
            limits.loads(payload)
            event = stripe.Webhook.construct_event(
                payload, signature, self._webhook_secret, tolerance=SIGNATURE_TOLERANCE
            )
            return _event(event)
        except stripe.SignatureVerificationError as exc:
            raise InvalidSignature(str(exc)) from exc
        except (KeyError, TypeError, AttributeError, ValueError, RecursionError) as exc:
            raise MalformedEvent(type(exc).__name__) from None


def checkout_origins(settings: Settings) -> tuple[str, ...]:
    """Where Pay Now's form may lead (the page's CSP `form-action`)."""
    origins = [STRIPE_CHECKOUT_ORIGIN]
    if settings.stripe_api_url:
        parts = urlsplit(settings.stripe_api_url)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(origins)
