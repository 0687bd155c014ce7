"""A participant's channels, one adapter each, chosen by `Channel` (ground/channel.py).

The worker turns an outbox row into a `Letter` (what is said, to whom) and asks the
channel's adapter for a `Prepared` send; the table of adapters is `Senders.adapter`
(integrations/providers.py). A channel without an adapter is an error there, never
another channel. Slack notices to the clinician are their own kind of message
(`slack_notify`), not a participant's channel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from integrations import local_outbox, mail, messages
from integrations.mail import MailSender
from integrations.sms import SmsSender


@dataclass(frozen=True)
class Letter:
    """One message to a participant, decrypted only in memory."""

    kind: str  # invitation, update, cancellation, reminder
    view: messages.SessionView
    email: str
    phone: str
    uid: str  # the calendar event's
    sequence: int  # the session's version
    mail_from: str
    now: datetime


@dataclass(frozen=True)
class Prepared:
    send: Callable[[], str]  # the provider's reference, or "local"
    preview: Callable[[], str]  # what the local outbox keeps


class ChannelAdapter(Protocol):
    """How one channel composes and sends a letter."""

    @property
    def provider(self) -> str:
        """What to check when it keeps failing ("check the mail server settings")."""
        ...

    @property
    def setup(self) -> str:
        """What `sessionbot outbox` says is not configured."""
        ...

    @property
    def texts_phone(self) -> bool:
        """It goes to the phone number, so a STOP reply stops it."""
        ...

    def prepare(self, letter: Letter) -> Prepared:
        """The send; ValueError when an address or header cannot be carried."""
        ...


@dataclass(frozen=True)
class EmailChannel:
    sender: MailSender
    provider: str = "mail server"
    setup: str = "SMTP (SESSIONBOT_SMTP_URL)"
    texts_phone: bool = False

    def prepare(self, letter: Letter) -> Prepared:
        email = mail.compose(
            letter.kind,
            letter.view,
            to=letter.email,
            sender=letter.mail_from,
            uid=letter.uid,
            sequence=letter.sequence,
            now=letter.now,
        )
        sender = self.sender
        return Prepared(
            send=lambda: sender.send(email), preview=lambda: local_outbox.preview_email(email)
        )


@dataclass(frozen=True)
class SmsChannel:
    sender: SmsSender
    provider: str = "Twilio"
    setup: str = "Twilio (TWILIO_*)"
    texts_phone: bool = True

    def prepare(self, letter: Letter) -> Prepared:
        phone, body = letter.phone, messages.sms(letter.kind, letter.view)
        sender = self.sender
        return Prepared(
            send=lambda: sender.send(phone, body),
            preview=lambda: local_outbox.preview_sms(phone, body),
        )
