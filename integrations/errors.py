"""How a sender says a message did not go: try again later, or never."""

from __future__ import annotations


class DeliveryError(Exception):
    """A send that did not happen. `str(err)` is safe to log: no participant data."""


class TransientError(DeliveryError):
    """The provider or the network may accept it later (SMTP 4xx, refused, timeout, 429, 5xx)."""


class PermanentError(DeliveryError):
    """Resending cannot help; `fix` tells the clinician what to change."""

    def __init__(self, message: str, fix: str = "", *, opted_out: bool = False) -> None:
        super().__init__(message)
        self.fix = fix
        self.opted_out = opted_out
