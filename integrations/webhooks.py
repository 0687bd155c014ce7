"""Twilio's calls to us: inbound texts (STOP/START/HELP, Y/N) and delivery status callbacks.

Every request must carry a valid `X-Twilio-Signature` for the public URL of the webhook
(`SESSIONBOT_PUBLIC_URL` + path, the URL Twilio was given); anything else gets 403 and
changes nothing. Replies to the participant are TwiML.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from twilio.request_validator import RequestValidator

from actions import booking
from actions.formatting import initials, when
from integrations import messages
from sessionbot.wiring import Parts
from store import repos
from store.crypto import keyring

log = logging.getLogger(__name__)

STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"}
START_WORDS = {"start", "unstop", "optin"}
HELP_WORDS = {"help", "info"}
YES_WORDS = {"y", "yes", "yep", "yeah", "confirm"}
NO_WORDS = {"n", "no", "nope"}


def twiml(text: str | None = None) -> Response:
    body = f"<Message>{escape(text)}</Message>" if text else ""
    return Response(
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>',
        media_type="application/xml",
    )


async def _signed_form(request: Request, parts: Parts, path: str) -> dict[str, str] | None:
    token = parts.settings.twilio_auth_token
    # Twilio posts application/x-www-form-urlencoded; parsed here (no multipart needed).
    form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return None
    url = parts.settings.public_url + path
    if request.url.query:
        url += "?" + request.url.query
    if not RequestValidator(token).validate(url, form, signature):
        return None
    return form


def routes(parts: Parts) -> list[BaseRoute]:
    async def inbound_sms(request: Request) -> Response:
        form = await _signed_form(request, parts, "/webhooks/twilio/sms")
        if form is None:
            return PlainTextResponse("invalid signature", status_code=403)
        return twiml(handle_inbound(parts, form))

    async def status_callback(request: Request) -> Response:
        form = await _signed_form(request, parts, "/webhooks/twilio/status")
        if form is None:
            return PlainTextResponse("invalid signature", status_code=403)
        handle_status(parts, form)
        return Response(status_code=204)

    return [
        Route("/webhooks/twilio/sms", inbound_sms, methods=["POST"]),
        Route("/webhooks/twilio/status", status_callback, methods=["POST"]),
    ]


def handle_inbound(parts: Parts, form: dict[str, str]) -> str | None:
    """Record what the participant texted; returns the reply to text back, if any."""
    phone = form.get("From", "")
    word = " ".join(form.get("Body", "").split()).strip(" .!").casefold()
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    now = datetime.now(UTC)
    index = keyring().blind_index(phone)
    with parts.store.unit() as s:
        if sid and not repos.first_time(s, f"twilio:sms:{sid}"):
            return None  # a retry of a message already handled
        opted_out = repos.sms_opted_out(s, index)
        if word in STOP_WORDS:
            repos.set_sms_opt_out(s, index, True)
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
            repos.set_sms_opt_out(s, index, False)
            _tell_clinicians(s, parts, phone, now, sid, "replied START: texts reach them again.")
            log.info("inbound sms: opt-in recorded")
            return messages.START_REPLY
        if word in HELP_WORDS:
            return messages.HELP_REPLY
        if word in YES_WORDS or word in NO_WORDS:
            session = _latest_upcoming(s, phone, now)
            if session is None:
                return "We found no upcoming session for this number."
            answer = "yes" if word in YES_WORDS else "no"
            booking.record_rsvp(s, session, answer, now, via="text")
            log.info("inbound sms: rsvp %s recorded", answer)
            return (
                "Thanks, we've let them know."
                if answer == "yes"
                else ("Thanks, we've let them know you can't make it.")
            )
    return messages.HELP_REPLY


def _sessions_for(s, phone: str, now: datetime):  # type: ignore[no-untyped-def]
    return repos.upcoming_sms_sessions(s, now, keyring().blind_index(phone))


def _latest_upcoming(s, phone: str, now: datetime):  # type: ignore[no-untyped-def]
    """The participant's next session (the latest one invited to, soonest start)."""
    found = _sessions_for(s, phone, now)
    return found[0] if found else None


def _tell_clinicians(s, parts: Parts, phone: str, now: datetime, sid: str, what: str) -> None:  # type: ignore[no-untyped-def]
    told: set[int] = set()
    for session in _sessions_for(s, phone, now):
        if session.clinician_id in told:
            continue
        told.add(session.clinician_id)
        zone = session.clinician.tz or parts.practice.default_timezone
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
        if not repos.first_time(s, f"twilio:status:{sid}:{status}"):
            return
        message = repos.outbox_by_provider_ref(s, sid)
        if message is None or message.session_id is None:
            return
        session = repos.session_by_id(s, message.session_id)
        if session is None:
            return
        if message.kind in ("invitation", "update"):
            session.invite_status = status
        if status == "failed":
            code = form.get("ErrorCode") or "unknown"
            zone = session.clinician.tz or parts.practice.default_timezone
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
