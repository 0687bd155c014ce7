"""A session as every layer hands it on: one typed value, declared once.

The conversation's slots (strings and numbers in a tracker) become a `SessionSpec` at the
conversation's edge (`dialogue.slots.spec_from_slots`); the Edit form, Schedule Next and a
series make one too; the scheduling rules book it and the store keeps it. A start is an
aware datetime, a zone a `ZoneInfo`, a channel a `Channel`, money whole cents with their
currency, and the participants a list (one today; couples and families next).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from zoneinfo import ZoneInfo

from ground.channel import Channel

# A session's field the store keeps as it is, in the session's column of the same name:
# booking writes it and Schedule Next copies it without naming it (`SessionSpec.stored`).
STORED = MappingProxyType({"stored": True})


@dataclass(frozen=True)
class Money:
    """An amount in whole cents (no float anywhere) and its ISO currency, lower case."""

    cents: int
    currency: str = "usd"

    @classmethod
    def of(cls, amount: Decimal | str | int, currency: str = "usd") -> Money:
        """`Decimal("95.50")` as 9550 cents; an amount finer than a cent is an error."""
        value = Decimal(amount)
        cents = value * 100
        if cents != cents.to_integral_value():
            raise ValueError(f"{amount} is not a whole number of cents")
        return cls(int(cents), currency.lower())

    @property
    def amount(self) -> Decimal:
        return (Decimal(self.cents) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Participant:
    """Who joins from outside the practice and how they are reached."""

    name: str
    channel: Channel
    email: str | None
    phone: str | None
    zone: ZoneInfo
    # What they read ("es", ground/language.py); None: the practice's default.
    language: str | None = None

    def __post_init__(self) -> None:
        if self.channel == Channel.SLACK:
            raise ValueError("Slack carries the clinician's notices, never a participant's")
        if self.channel.address == "email" and not self.email:
            raise ValueError("an e-mail invitation needs an e-mail address")
        if self.channel.address == "phone" and not self.phone:
            raise ValueError("a text invitation needs a mobile number")

    @property
    def tz(self) -> str:
        """The zone's IANA name, as the store keeps it."""
        return self.zone.key


@dataclass(frozen=True)
class SessionSpec:
    """A session as the clinician confirmed it, before or without the store."""

    draft_id: str  # the idempotency key of its Save
    start: datetime  # aware: the wall time the clinician gave, in their zone
    duration_min: int = field(metadata=STORED)
    participants: tuple[Participant, ...] = ()
    documents: str | None = field(default=None, metadata=STORED)  # a document package's key
    service: str | None = field(default=None, metadata=STORED)  # a service's key, when paid
    price: Money | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("a session's start carries its zone")
        if not self.participants:
            raise ValueError("a session has at least one participant")
        if self.duration_min <= 0:
            raise ValueError("a session lasts some minutes")

    @classmethod
    def stored_names(cls) -> tuple[str, ...]:
        """The fields the store keeps as they are (each its column of the same name)."""
        return tuple(f.name for f in fields(cls) if f.metadata.get("stored"))

    def stored(self) -> dict[str, object]:
        """Those fields' values, by column name."""
        return {name: getattr(self, name) for name in self.stored_names()}

    @property
    def lead(self) -> Participant:
        """The first participant: the one the summary and the dashboard name."""
        return self.participants[0]

    @classmethod
    def for_one(
        cls,
        draft_id: str,
        start: datetime,
        duration_min: int,
        participant: str,
        invite_channel: str | Channel,
        email: str | None,
        phone: str | None,
        participant_tz: str,
        documents: str | None = None,
        service: str | None = None,
        amount: Decimal | None = None,
        currency: str = "usd",
        language: str | None = None,
    ) -> SessionSpec:
        """A session with one participant, from the values as a form or a row has them."""
        person = Participant(participant, Channel(invite_channel), email, phone,
                             ZoneInfo(participant_tz), language)  # fmt: skip
        price = Money.of(amount, currency) if amount is not None else None
        return cls(draft_id, start, duration_min, (person,), documents, service, price)
