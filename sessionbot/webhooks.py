"""Twilio's calls to us: inbound texts (STOP/START/HELP, Y/N) and delivery status callbacks.

Every request must carry a valid `X-Twilio-Signature` for the public URL of the webhook
(`SESSIONBOT_PUBLIC_URL` + path, the URL Twilio was given); anything else gets 403 and
changes nothing. The signature is checked before the body is decoded: a signed body that
is not UTF-8 (Twilio always sends UTF-8) gets 400, a body too big for a text 413; both
with one short reason and nothing stored. Replies to the participant are TwiML.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlparse
from xml.sax.saxutils import escape

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from twilio.request_validator import RequestValidator, add_port, remove_port

from ground.formatting import initials, when
from ground.language import N_, resolve, translations
from ground.metrics import counted, webhook_result
from integrations import messages
from scheduling import booking
from sessionbot.parts import Parts
from store import audit, claim_rows, consents, outbox_rows, session_rows
from store.crypto import keyring
from store.models import ScheduledSession

log = logging.getLogger(__name__)

STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"}
START_WORDS = {"start", "unstop", "optin"}
HELP_WORDS = {"help", "info"}
YES_WORDS = {"y", "yes", "yep", "yeah", "confirm", "s", "si", "sí"}  # "S"/"Sí": Spanish texts
NO_WORDS = {"n", "no", "nope"}
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


def handle_inbound(parts: Parts, form: dict[str, str]) -> str | None:
    """Record what the participant texted; returns the reply to text back, if any, in the
    language of their next session (else the practice's)."""
    reply = _handle_inbound(parts, form)
    if reply is None:
        return None
    with parts.store.reading() as s:
        session = _latest_upcoming(s, form.get("From", ""), datetime.now(UTC))
        language = resolve(session.language if session else None, parts.practice.language)
    return translations(language).gettext(reply)


def _handle_inbound(parts: Parts, form: dict[str, str]) -> str | None:
    phone = form.get("From", "")
    word = " ".join(form.get("Body", "").split()).strip(" .!").casefold()
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    now = datetime.now(UTC)
    index = keyring().blind_indexes(phone)  # every key's: a STOP before a rotation holds
    with parts.store.unit() as s:
        if sid and not claim_rows.first_time(s, f"twilio:sms:{sid}"):
            return None  # a retry of a message already handled
        opted_out = outbox_rows.sms_opted_out(s, index)
        if word in STOP_WORDS:
            if parts.practice.sms_consent:  # consent withdrawn too, by the participant
                consents.withdraw(s, index, now, phone)
            if not outbox_rows.set_sms_opt_out(s, index, True, phone=phone):
                log.info("inbound sms: opt-out already recorded")
                return None  # a second STOP: recorded and told the first time
            audit.record(s, actor=audit.PARTICIPANT, action="sms_opted_out")
            _tell_clinicians(
                s,
                parts,
                phone,
                now,
                sid,
                "replied STOP: no more texts will reach "
                "them. Reach them another way, e.g. reschedule with an e-mail "
                "invitation.",
            )
            log.info("inbound sms: opt-out recorded")
            return None  # Twilio's own STOP handling answers the participant
        if word in START_WORDS or (opted_out and word in YES_WORDS):
            if parts.practice.sms_consent:  # the participant's own Yes to texts
                consents.record_consent(
                    s, index, True, by=consents.PARTICIPANT, at=now, phone=phone
                )
            if outbox_rows.set_sms_opt_out(s, index, False):
                audit.record(s, actor=audit.PARTICIPANT, action="sms_opted_in")
                _tell_clinicians(
                    s, parts, phone, now, sid, "replied START: texts reach them again."
                )
                log.info("inbound sms: opt-in recorded")
            return messages.START_REPLY
        if word in HELP_WORDS:
            return messages.HELP_REPLY
        if word in YES_WORDS or word in NO_WORDS:
            session = _latest_upcoming(s, phone, now)
            if session is None:
                return NO_SESSION
            answer = "yes" if word in YES_WORDS else "no"
            booking.record_rsvp(s, session, answer, now, via="text", practice=parts.practice)
            log.info("inbound sms: rsvp %s recorded", answer)
            return THANKS_YES if answer == "yes" else THANKS_NO
    return messages.HELP_REPLY


def _sessions_for(s: Session, phone: str, now: datetime) -> list[ScheduledSession]:
    return session_rows.upcoming_sms_sessions(s, now, keyring().blind_indexes(phone))


def _latest_upcoming(s: Session, phone: str, now: datetime) -> ScheduledSession | None:
    """The participant's next session (the latest one invited to, soonest start)."""
    found = _sessions_for(s, phone, now)
    return found[0] if found else None


def _tell_clinicians(
    s: Session, parts: Parts, phone: str, now: datetime, sid: str, what: str
) -> None:
    told: set[int] = set()
    for session in _sessions_for(s, phone, now):
        if session.clinician_id in told:
            continue
        told.add(session.clinician_id)
        zone = parts.practice.zone_of(session.clinician.tz)
        booking.notify_clinician(
            s,
            session.clinician_id,
            f"{initials(session.participant)} (session {when(session.start_at, zone)}) {what}",
            dedupe_key=f"notice:sms:{sid or now.isoformat()}:{session.clinician_id}",
            now=now,
            session_id=session.id,
        )


STATUS = {"delivered": "delivered", "undelivered": "failed", "failed": "failed"}


def handle_status(parts: Parts, form: dict[str, str]) -> None:
    """A delivery report: the invitation's status on the dashboard; failures told."""
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = STATUS.get(form.get("MessageStatus", "").lower())
    if not sid or status is None:
        return
    now = datetime.now(UTC)
    with parts.store.unit() as s:
        if not claim_rows.first_time(s, f"twilio:status:{sid}:{status}"):
            return
        message = outbox_rows.outbox_by_provider_ref(s, sid)
        if message is None or message.session_id is None:
            return
        session = session_rows.session_by_id(s, message.session_id)
        if session is None:
            return
        if message.kind in ("invitation", "update"):
            session.invite_status = status
        if status == "failed":
            code = form.get("ErrorCode") or "unknown"
            zone = parts.practice.zone_of(session.clinician.tz)
            booking.notify_clinician(
                s,
                session.clinician_id,
                f"The {message.kind} text for your session with {initials(session.participant)}"
                f" on {when(session.start_at, zone)} was not delivered (Twilio error {code}). "
                "Check the phone number, or reschedule with an e-mail invitation.",
                dedupe_key=f"notice:status:{sid}",
                now=now,
                session_id=session.id,
            )
