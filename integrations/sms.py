"""Text messages through Twilio's REST API with the `twilio` SDK.

`SESSIONBOT_TWILIO_API_URL` (tests: a local fake) replaces the scheme and host of every
Twilio API URL. It is done in the SDK's own extension point, the `HttpClient` handed to
`Client`: the SDK builds `https://api.twilio.com/2010-04-01/...` and this client sends it
to the configured base instead.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from integrations.errors import PermanentError, TransientError

log = logging.getLogger(__name__)

# Twilio error codes that no retry can fix (https://www.twilio.com/docs/api/errors).
INVALID_NUMBER = {21211, 21614, 21612, 21408, 21217}
OPTED_OUT = 21610


class SmsSender(Protocol):
    local: bool

    def send(self, to: str, body: str) -> str:
        """Send one text; returns the provider's message id."""
        ...


# Connections kept to Twilio: at least the worker's texts in flight (sessionbot/sending.py).
POOL_SIZE = 32


class SharedHttpClient(TwilioHttpClient):
    """A Twilio HTTP client that threads can share.

    The SDK's client stores each call's request and response on itself and returns the
    stored response, so two threads could swap responses (one text recorded with another's
    sid, or a 429 read as a success). Here those two are kept per thread. Its pool keeps
    `POOL_SIZE` connections (the SDK's default, cores + 4, would reconnect most sends).
    """

    def __init__(self, *, timeout: float = 15.0, logger: logging.Logger) -> None:
        self._per_thread = threading.local()
        super().__init__(timeout=timeout, logger=logger)
        assert self.session is not None
        adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=POOL_SIZE)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    @property
    def _test_only_last_response(self) -> Response | None:
        return getattr(self._per_thread, "response", None)

    @_test_only_last_response.setter
    def _test_only_last_response(self, value: Response | None) -> None:
        self._per_thread.response = value

    @property
    def _test_only_last_request(self) -> object:
        return getattr(self._per_thread, "request", None)

    @_test_only_last_request.setter
    def _test_only_last_request(self, value: object) -> None:
        self._per_thread.request = value


class BaseUrlHttpClient(SharedHttpClient):
    """A Twilio HTTP client that sends every request to another base URL."""

    def __init__(self, base_url: str, *, timeout: float = 15.0) -> None:
        # The SDK's request logger is silenced: URLs are fine, but we log nothing of ours.
        super().__init__(timeout=timeout, logger=logging.getLogger("sessionbot.twilio.http"))
        base = urlsplit(base_url.rstrip("/"))
        self._scheme, self._netloc, self._prefix = base.scheme, base.netloc, base.path

    def request(self, method: str, url: str, *args: object, **kwargs: object) -> Response:
        parts = urlsplit(url)
        url = urlunsplit(
            (self._scheme, self._netloc, self._prefix + parts.path, parts.query, parts.fragment)
        )
        return super().request(method, url, *args, **kwargs)


class TwilioSender:
    local = False

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None,
        messaging_service_sid: str | None,
        status_callback: str | None,
        api_url: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        http = (
            BaseUrlHttpClient(api_url, timeout=timeout)
            if api_url
            else SharedHttpClient(timeout=timeout, logger=logging.getLogger("sessionbot.twilio"))
        )
        self.client = Client(account_sid, auth_token, http_client=http)
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback

    def send(self, to: str, body: str) -> str:
        sender: dict[str, str] = (
            {"messaging_service_sid": self.messaging_service_sid}
            if self.messaging_service_sid
            else {"from_": self.from_number or ""}
        )
        extra = {"status_callback": self.status_callback} if self.status_callback else {}
        try:
            message = self.client.messages.create(to=to, body=body, **sender, **extra)
        except TwilioRestException as exc:
            raise classify(exc) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"Twilio unreachable: {type(exc).__name__}") from None
        return str(message.sid)


def classify(exc: TwilioRestException) -> TransientError | PermanentError:
    code = exc.code or 0
    if code == OPTED_OUT:
        return PermanentError(
            "Twilio 21610: the number has opted out",
            fix="The participant replied STOP to our texts. Invite them by e-mail instead.",
            opted_out=True,
        )
    if code in INVALID_NUMBER:
        return PermanentError(
            f"Twilio {code}: the number cannot receive texts",
            fix="The participant's phone number cannot receive text messages; check it, "
            "or reschedule with an e-mail invitation.",
        )
    if exc.status == 429 or exc.status >= 500:
        return TransientError(
            f"Twilio HTTP {exc.status} (code {code})", rate_limited=exc.status == 429
        )
    return PermanentError(
        f"Twilio HTTP {exc.status} (code {code})",
        fix="Twilio refused the text message; check the phone number and the Twilio account.",
    )
