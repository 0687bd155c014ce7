"""Twilio's calls to us: inbound texts (STOP/START/HELP, Y/N) and delivery status callbacks.

Every request must carry a valid `X-Twilio-Signature` for the public URL of the webhook
(`SESSIONBOT_PUBLIC_URL` + path, the URL Twilio was given); anything else gets 403 and
changes nothing. The signature is checked before the body is decoded: a signed body that
is not UTF-8 (Twilio always sends UTF-8) gets 400, a body too big for a text 413; both
with one short reason and nothing stored. Replies to the participant are TwiML. What
a text or a report means is the scheduling rules' (scheduling/texts_in.py), through the
`Scheduler`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl, urlparse
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from twilio.request_validator import RequestValidator, add_port, remove_port

from ground.language import N_, translations
from ground.metrics import counted, webhook_result
from integrations import messages
from scheduling.texts_in import Reply
from sessionbot.parts import Parts

NO_SESSION = N_("We found no upcoming session for this number.")
THANKS_YES = N_("Thanks, we've let them know.")
THANKS_NO = N_("Thanks, we've let them know you can't make it.")


def twiml(text: str | None = None) -> Response:
    body = f"<Message>{escape(text)}</Message>" if text else ""
    return Response(
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>',
        media_type="application/xml",
    )


# A text is at most 1,600 characters; Twilio's form around it is a few hundred bytes more.
MAX_BODY = 32 * 1024


async def _signed_form(request: Request, parts: Parts, path: str) -> dict[str, str] | Response:
    """The verified form of a Twilio request, or the response that refuses it."""
    token = parts.settings.twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return PlainTextResponse("invalid signature", status_code=403)
    body = await _limited_body(request, MAX_BODY)
    if body is None:
        return PlainTextResponse("body too large", status_code=413)
    url = parts.settings.public_url + path
    if request.url.query:
        url += "?" + request.url.query
    # Twilio posts application/x-www-form-urlencoded. Latin-1 maps each byte to one
    # character, so the fields come out as the exact bytes sent, decoded only once checked.
    raw = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in parse_qsl(
            body.decode("latin-1"), keep_blank_values=True, encoding="latin-1"
        )
    ]
    try:
        form = {name.decode(): value.decode() for name, value in raw}
    except UnicodeDecodeError:
        if _signed_bytes(token, url, raw, signature):
            return PlainTextResponse("the body is not UTF-8", status_code=400)
        return PlainTextResponse("invalid signature", status_code=403)
    if not RequestValidator(token).validate(url, form, signature):
        return PlainTextResponse("invalid signature", status_code=403)
    return form


async def _limited_body(request: Request, limit: int) -> bytes | None:
    """The body, read no further than `limit` bytes (None past it)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _signed_bytes(token: str, url: str, fields: list[tuple[bytes, bytes]], signature: str) -> bool:
    """Twilio's signature (HMAC-SHA1 of the URL and the sorted fields) over raw bytes.

    Only for a body that is not UTF-8, which RequestValidator (str only) cannot take: it
    tells a forged request (403) from a signed but badly encoded one (400). UTF-8 keeps
    code point order, so sorting bytes sorts as Twilio sorts the characters.
    """
    pairs = b"".join(name + value for name, value in sorted(set(fields)))
    parsed = urlparse(url)
    for candidate in {add_port(parsed), remove_port(parsed)}:
        mac = hmac.new(token.encode(), candidate.encode() + pairs, hashlib.sha1)
        if hmac.compare_digest(base64.b64encode(mac.digest()).decode(), signature):
            return True
    return False


def routes(parts: Parts) -> list[BaseRoute]:
    async def inbound_sms(request: Request) -> Response:
        form = await _signed_form(request, parts, "/webhooks/twilio/sms")
        if isinstance(form, Response):
            return form
        return twiml(handle_inbound(parts, form))

    async def status_callback(request: Request) -> Response:
        form = await _signed_form(request, parts, "/webhooks/twilio/status")
        if isinstance(form, Response):
            return form
        handle_status(parts, form)
        return Response(status_code=204)

    twilio = webhook_result("twilio")
    return [
        Route("/webhooks/twilio/sms", counted(inbound_sms, twilio), methods=["POST"]),
        Route("/webhooks/twilio/status", counted(status_callback, twilio), methods=["POST"]),
    ]


REPLIES = {
    Reply.START: messages.START_REPLY,
    Reply.HELP: messages.HELP_REPLY,
    Reply.NO_SESSION: NO_SESSION,
    Reply.THANKS_YES: THANKS_YES,
    Reply.THANKS_NO: THANKS_NO,
}


def handle_inbound(parts: Parts, form: dict[str, str]) -> str | None:
    """Record what the participant texted (scheduling/texts_in.py); returns the reply to
    text back, if any, in the language of their next session (else the practice's)."""
    phone = form.get("From", "")
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    reply = parts.scheduler.text_received(phone, form.get("Body", ""), sid)
    if reply is None:
        return None
    return translations(parts.scheduler.text_language(phone)).gettext(REPLIES[reply])


STATUS = {"delivered": "delivered", "undelivered": "failed", "failed": "failed"}


def handle_status(parts: Parts, form: dict[str, str]) -> None:
    """A delivery report: the invitation's status on the dashboard; failures told."""
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = STATUS.get(form.get("MessageStatus", "").lower())
    if not sid or status is None:
        return
    parts.scheduler.text_delivery(sid, status, form.get("ErrorCode") or "unknown")
