"""How a sender says a message did not go: try again later, or never."""

from __future__ import annotations


class DeliveryError(Exception):
    """A send that did not happen. `str(err)` is safe to log: no participant data."""


class TransientError(DeliveryError):
    """The provider or the network may accept it later (SMTP 4xx, refused, timeout, 429, 5xx).

    `rate_limited`: the provider said "too many" (HTTP 429, SMTP 421): the worker pauses
    the whole channel for a while, not only this message."""

    def __init__(self, message: str, *, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.rate_limited = rate_limited


class PermanentError(DeliveryError):
    """Resending cannot help; `fix` tells the clinician what to change."""

    def __init__(self, message: str, fix: str = "", *, opted_out: bool = False) -> None:
        super().__init__(message)
        self.fix = fix
        self.opted_out = opted_out
