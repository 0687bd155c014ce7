"""How a message reaches someone: the one list of channels and how each is said.

The values are what the store holds (`scheduled_sessions.invite_channel`,
`outbox_messages.channel`), so a `Channel` compares equal to its stored string. A
participant is invited by e-mail, by text message or not at all; Slack carries the
clinician's own notices and is never a participant's channel.

Adding a channel: a member here with its words in `_WORDS`, its adapter in
`integrations/`, and its entry in `integrations/providers.py` (README, "How to add a
channel").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    NONE = "none"  # the participant is not invited
    SLACK = "slack"  # a notice to the clinician

    @classmethod
    def of(cls, value: object) -> Channel | None:
        """The channel a stored or typed value names, or None (never a guess)."""
        try:
            return cls(str(value)) if value is not None else None
        except ValueError:
            return None

    @classmethod
    def invitation(cls, value: object) -> Channel | None:
        """A participant's channel (e-mail, text message, none), or None."""
        channel = cls.of(value)
        return channel if channel in INVITATIONS else None

    @classmethod
    def said_of(cls, value: object) -> str:
        """A stored value in a sentence ("text message"); an unknown one as it is."""
        channel = cls.of(value)
        return channel.said if channel is not None else str(value)

    @property
    def words(self) -> ChannelWords:
        return _WORDS[self]

    @property
    def said(self) -> str:
        """In a sentence: "e-mail", "text message", "no invitation"."""
        return self.words.said

    @property
    def address(self) -> str | None:
        """The slot that holds the participant's address on it ("email", "phone")."""
        return self.words.address


@dataclass(frozen=True)
class ChannelWords:
    said: str  # in a sentence ("switch to e-mail": "text message → e-mail")
    choice: str  # a button or an option ("E-mail invitation")
    summary: str  # the summary's line, "{address}" filled ("E-mail to {address}")
    address: str | None = None  # the slot with the address it needs
    address_said: str = ""  # what is missing without it ("e-mail address")
    kind: str = ""  # "E-mail isn't set up here"


_WORDS = {
    Channel.EMAIL: ChannelWords(
        "e-mail",
        "E-mail invitation",
        "E-mail to {address}",
        address="email",
        address_said="e-mail address",
        kind="E-mail",
    ),
    Channel.SMS: ChannelWords(
        "text message",
        "Text message invitation",
        "Text message to {address}",
        address="phone",
        address_said="mobile number",
        kind="Text messaging",
    ),
    Channel.NONE: ChannelWords("no invitation", "No invitation", "No invitation"),
    Channel.SLACK: ChannelWords("Slack", "Slack notice", "Slack"),
}

# A participant's channels, in the order they are offered.
INVITATIONS: tuple[Channel, ...] = (Channel.EMAIL, Channel.SMS, Channel.NONE)
