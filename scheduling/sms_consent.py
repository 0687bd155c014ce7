"""Text-message consent (the practice's `sms_consent = "ask"`): the rules.

With the setting on, a mobile number is texted only once a Yes to "Has J.D. agreed to get
text messages at +1 617-555-0101?" is recorded for it (store/consents.py: by blind index,
with the time and who recorded it). The conversation asks (actions/sms_consent.py); the
worker withholds a text to a number without a recorded Yes (a session booked before the
setting, a number changed outside the conversation) and tells the clinician once per
session. An inbound STOP records the consent withdrawn (sessionbot/webhooks.py).
With the setting off nothing here is consulted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from ground.channel import Channel
from ground.formatting import initials
from ground.formatting import phone as phone_words
from ground.practice import Practice
from scheduling import queue
from store import consents
from store.crypto import keyring

YES = "Yes, they agreed"
NO = "No"
WITHHELD = "no_consent"  # the outbox row's outcome and the invitation's status


def asks(practice: Practice) -> bool:
    return practice.sms_consent


def needs_asking(s: Session, practice: Practice, phone: str | None) -> bool:
    """The number must be asked about: the setting is on and no Yes stands for it."""
    if not (practice.sms_consent and phone):
        return False
    return not consents.agreed_among(s, keyring().blind_indexes(phone))


def may_text(s: Session, practice: Practice, indexes: Iterable[str]) -> bool:
    """A text to this number (its blind indexes) may go: the setting is off, or a Yes
    stands for it."""
    if not practice.sms_consent:
        return True
    return bool(consents.agreed_among(s, list(indexes)))


def record_answer(s: Session, actor: str, phone: str, agreed: bool, now: datetime) -> bool:
    """The clinician's (`actor`, "T:U") answer for the number, with the time."""
    indexes = keyring().blind_indexes(phone)
    return consents.record_consent(s, indexes, agreed, by=actor, at=now, phone=phone)


def question(participant: str | None, phone: str) -> str:
    who = initials(participant) if participant else "the participant"
    return f"Has {who} agreed to get text messages at {phone_words(phone)}?"


def withheld_words() -> str:
    """The end of the clinician's notice about a text withheld ("The invitation for your
    session with J.D. on … was not texted: …")."""
    return (
        "was not texted: no consent to text messages is recorded for their number. "
        "Ask them, then send it by e-mail or schedule it again and answer the consent "
        "question; nothing more will be texted to them until then."
    )


def tell_once(s: Session, clinician_id: int, session_id: int, text: str, now: datetime) -> None:
    """The clinician's notice of a withheld text, once per session (a later reminder
    withheld for the same reason tells them nothing new)."""
    queue.put(
        s,
        queue.Message(
            kind="clinician_notice",
            channel=Channel.SLACK,
            due_at=now,
            dedupe_key=f"notice:sms_consent:{session_id}",
            session_id=session_id,
            clinician_id=clinician_id,
            payload=text,
        ),
        once=True,
    )
