"""What a participant's text to us means (STOP, START, HELP, Yes or No to their next
session), and what a delivery report does to the invitation it reports on.

Twilio's webhook (sessionbot/webhooks.py) checks the signature and reads the form; these
work in the caller's unit (through the `Scheduler`, one unit a call), each text and each
report counted once by its Twilio id. The reply is named, not written: the webhook says
it in the participant's language.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from ground.formatting import initials, when
from ground.language import resolve
from ground.practice import Practice
from scheduling import booking
from store import audit, claim_rows, consents, outbox_rows, session_rows
from store.crypto import keyring
from store.models import ScheduledSession

log = logging.getLogger("sessionbot.webhooks")

STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"}
START_WORDS = {"start", "unstop", "optin"}
HELP_WORDS = {"help", "info"}
YES_WORDS = {"y", "yes", "yep", "yeah", "confirm", "s", "si", "sí"}  # "S"/"Sí": Spanish texts
NO_WORDS = {"n", "no", "nope"}


class Reply(StrEnum):
    """What to text back (None: nothing, e.g. after STOP: Twilio's own answer goes)."""

    START = "start"  # texts reach them again
    HELP = "help"
    NO_SESSION = "no_session"  # a Yes or No, and no upcoming session for the number
    THANKS_YES = "thanks_yes"
    THANKS_NO = "thanks_no"


def word_of(body: str) -> str:
    """The one word a text is read as: spaces squeezed, end punctuation off, any case."""
    return " ".join(body.split()).strip(" .!").casefold()


def received(
    s: Session, practice: Practice, phone: str, body: str, sid: str, now: datetime
) -> Reply | None:
    """Record what the participant texted; the reply to text back, if any."""
    word = word_of(body)
    index = keyring().blind_indexes(phone)  # every key's: a STOP before a rotation holds
    if sid and not claim_rows.first_time(s, f"twilio:sms:{sid}"):
        return None  # a retry of a message already handled
    opted_out = outbox_rows.sms_opted_out(s, index)
    if word in STOP_WORDS:
        if practice.sms_consent:  # consent withdrawn too, by the participant
            consents.withdraw(s, index, now, phone)
        if not outbox_rows.set_sms_opt_out(s, index, True, phone=phone):
            log.info("inbound sms: opt-out already recorded")
            return None  # a second STOP: recorded and told the first time
        audit.record(s, actor=audit.PARTICIPANT, action="sms_opted_out")
        _tell_clinicians(
            s,
            practice,
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
        if practice.sms_consent:  # the participant's own Yes to texts
            consents.record_consent(s, index, True, by=consents.PARTICIPANT, at=now, phone=phone)
        if outbox_rows.set_sms_opt_out(s, index, False):
            audit.record(s, actor=audit.PARTICIPANT, action="sms_opted_in")
            _tell_clinicians(s, practice, phone, now, sid, "replied START: texts reach them again.")
            log.info("inbound sms: opt-in recorded")
        return Reply.START
    if word in HELP_WORDS:
        return Reply.HELP
    if word in YES_WORDS or word in NO_WORDS:
        session = _latest_upcoming(s, phone, now)
        if session is None:
            return Reply.NO_SESSION
        answer = "yes" if word in YES_WORDS else "no"
        booking.record_rsvp(s, session, answer, now, via="text", practice=practice)
        log.info("inbound sms: rsvp %s recorded", answer)
        return Reply.THANKS_YES if answer == "yes" else Reply.THANKS_NO
    return Reply.HELP


def language(s: Session, practice: Practice, phone: str, now: datetime) -> str:
    """The language of the number's next session, else the practice's."""
    session = _latest_upcoming(s, phone, now)
    return resolve(session.language if session else None, practice.language)


def _sessions_for(s: Session, phone: str, now: datetime) -> list[ScheduledSession]:
    return session_rows.upcoming_sms_sessions(s, now, keyring().blind_indexes(phone))


def _latest_upcoming(s: Session, phone: str, now: datetime) -> ScheduledSession | None:
    """The participant's next session (the latest one invited to, soonest start)."""
    found = _sessions_for(s, phone, now)
    return found[0] if found else None


def _tell_clinicians(
    s: Session, practice: Practice, phone: str, now: datetime, sid: str, what: str
) -> None:
    told: set[int] = set()
    for session in _sessions_for(s, phone, now):
        if session.clinician_id in told:
            continue
        told.add(session.clinician_id)
        zone = practice.zone_of(session.clinician.tz)
        booking.notify_clinician(
            s,
            session.clinician_id,
            f"{initials(session.participant)} (session {when(session.start_at, zone)}) {what}",
            dedupe_key=f"notice:sms:{sid or now.isoformat()}:{session.clinician_id}",
            now=now,
            session_id=session.id,
        )


def delivery(
    s: Session, practice: Practice, sid: str, status: str, code: str, now: datetime
) -> None:
    """A delivery report (`status`: delivered or failed): the invitation's status on the
    dashboard; a failure told to the clinician."""
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
        zone = practice.zone_of(session.clinician.tz)
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
