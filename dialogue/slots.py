"""Slot values: how each is written into a tracker and read back, in one place.

A tracker holds JSON: the embedded runner's is stored encrypted as JSON, a Rasa server's
is sent to the action server as JSON. So a value is written with `encode` wherever it
enters one (what our NLU read from a message, what a validation sets, a button's
payload) and read with `decode`, or all of a draft at once with `Filled.of`, wherever a
rule needs it as what it is: a date, a clock time, an amount of money. `READERS` says
what each slot holds; nothing else in the code parses a slot's JSON.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Literal, Required, TypedDict, TypeVar, overload
from zoneinfo import ZoneInfo

from ground.channel import Channel
from ground.jsontypes import JSON
from ground.practice import Practice
from ground.session import Money, Participant, SessionSpec


class SlotValueError(ValueError):
    """A tracker value that is not what its slot holds (a hand-made button payload, a
    tracker written by something else)."""


@overload
def encode(value: Mapping[str, object]) -> dict[str, JSON]: ...
@overload
def encode(value: object) -> JSON: ...
def encode(value: object) -> JSON:
    """A value as the tracker keeps it: a date as 2026-12-03, a clock time as 15:30, money
    as its decimal string ('95.50'), dataclasses as objects, tuples as lists."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, Decimal):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    raise TypeError(f"a slot cannot hold a {type(value).__name__}")


def read_date(raw: object) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if not isinstance(raw, str):
        raise SlotValueError("not a date")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise SlotValueError("not a date") from None


def read_time(raw: object) -> time:
    if isinstance(raw, time):
        return raw.replace(second=0, microsecond=0, tzinfo=None)
    hour, sep, minute = raw.partition(":") if isinstance(raw, str) else ("", "", "")
    if not (sep and hour.isdigit() and minute.isdigit() and len(minute) == 2):
        raise SlotValueError("not a clock time")
    try:
        return time(int(hour), int(minute))
    except ValueError:
        raise SlotValueError("not a clock time") from None


def read_money(raw: object) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float, Decimal)):
        raise SlotValueError("not an amount")
    try:
        amount = Decimal(str(raw).strip())
    except InvalidOperation:
        raise SlotValueError("not an amount") from None
    if not amount.is_finite():
        raise SlotValueError("not an amount")
    return amount


def read_flag(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    raise SlotValueError("not yes or no")


def read_text(raw: object) -> str:
    if isinstance(raw, str):
        return raw
    raise SlotValueError("not text")


def read_id(raw: object) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    raise SlotValueError("not an id")


class Other(TypedDict, total=False):
    """Another participant as the `others` slot keeps them: a name, then how they are
    invited, as the conversation learns it (a zone None: the first participant's)."""

    participant: Required[str]
    invite_channel: str | None
    email: str | None
    phone: str | None
    participant_tz: str | None


def other(raw: object) -> Other | None:
    """One object of the `others` slot, or None when it has no name; a field that is not
    text reads as not given."""
    if not isinstance(raw, dict) or not isinstance(name := raw.get("participant"), str):
        return None
    person = Other(participant=name)
    if "invite_channel" in raw:
        person["invite_channel"] = _text(raw["invite_channel"])
    if "email" in raw:
        person["email"] = _text(raw["email"])
    if "phone" in raw:
        person["phone"] = _text(raw["phone"])
    if "participant_tz" in raw:
        person["participant_tz"] = _text(raw["participant_tz"])
    return person


def _text(raw: object) -> str | None:
    return raw if isinstance(raw, str) else None


def read_people(raw: object) -> list[Other]:
    """Other participants: a list of objects, each with a name."""
    people = [other(p) for p in raw] if isinstance(raw, list) else [None]
    if all(p is not None for p in people):
        return [p for p in people if p is not None]
    raise SlotValueError("not a list of participants")


def read_object(raw: object) -> dict[str, JSON]:
    if isinstance(raw, dict):  # a tracker holds JSON: its keys are text
        return raw
    raise SlotValueError("not an object")


def read_series(raw: object) -> dict[str, JSON] | str:
    """A series is an object here; actions/week_words.series_of reads it as a recurrence
    (and refuses one no clinician could have said). "once" drops one."""
    return raw if isinstance(raw, str) else read_object(raw)


READERS: dict[str, Callable[[object], object]] = {
    "date": read_date,
    "time": read_time,
    "amount": read_money,
    "payment_required": read_flag,
    "participant": read_text,
    "invite_channel": read_text,
    "email": read_text,
    "phone": read_text,
    "participant_tz": read_text,
    "documents": read_text,
    "service": read_text,
    "clinician_tz": read_text,
    "draft_id": read_text,
    "saved_session_id": read_text,
    "requested_slot": read_text,
    "contact_id": read_id,
    "summary_shown": read_object,
    "others": read_people,
    "series": read_series,
}

T = TypeVar("T")


def given(reader: Callable[[object], T], raw: object) -> T | None:
    """A slot's value read by `reader`, None staying None."""
    return None if raw is None else reader(raw)


# The slots the conversation's rules read by name, typed: `decode("date", raw)` is a date.
@overload
def decode(slot: Literal["date"], raw: object) -> date | None: ...
@overload
def decode(slot: Literal["time"], raw: object) -> time | None: ...
@overload
def decode(slot: Literal["amount"], raw: object) -> Decimal | None: ...
@overload
def decode(
    slot: Literal["participant_tz", "clinician_tz", "participant"], raw: object
) -> str | None: ...
@overload
def decode(slot: str, raw: object) -> object: ...
def decode(slot: str, raw: object) -> object:
    """The slot's value as what it is (None stays None); SlotValueError when it is not."""
    reader = READERS.get(slot)
    return raw if reader is None else given(reader, raw)


@overload
def decoded(slot: Literal["date"], raw: object) -> date | None: ...
@overload
def decoded(slot: Literal["time"], raw: object) -> time | None: ...
@overload
def decoded(slot: Literal["amount"], raw: object) -> Decimal | None: ...
@overload
def decoded(
    slot: Literal["participant_tz", "clinician_tz", "participant"], raw: object
) -> str | None: ...
@overload
def decoded(slot: str, raw: object) -> object: ...
def decoded(slot: str, raw: object) -> object:
    """As `decode`, but a value that is not what its slot holds reads as not given."""
    try:
        return decode(slot, raw)
    except SlotValueError:
        return None


@dataclass(frozen=True)
class Filled:
    """A draft's slots, each as what it is (None where not given)."""

    date: dt.date | None = None
    time: dt.time | None = None
    participant: str | None = None
    invite_channel: str | None = None
    email: str | None = None
    phone: str | None = None
    participant_tz: str | None = None
    documents: str | None = None
    payment_required: bool | None = None
    service: str | None = None
    amount: Decimal | None = None
    clinician_tz: str | None = None
    contact_id: int | None = None
    draft_id: str | None = None
    others: list[Other] | None = None

    @classmethod
    def of(cls, slots: Mapping[str, object]) -> Filled:
        """Raises SlotValueError when a slot holds what it cannot."""
        return cls(
            date=given(read_date, slots.get("date")),
            time=given(read_time, slots.get("time")),
            participant=given(read_text, slots.get("participant")),
            invite_channel=given(read_text, slots.get("invite_channel")),
            email=given(read_text, slots.get("email")),
            phone=given(read_text, slots.get("phone")),
            participant_tz=given(read_text, slots.get("participant_tz")),
            documents=given(read_text, slots.get("documents")),
            payment_required=given(read_flag, slots.get("payment_required")),
            service=given(read_text, slots.get("service")),
            amount=given(read_money, slots.get("amount")),
            clinician_tz=given(read_text, slots.get("clinician_tz")),
            contact_id=given(read_id, slots.get("contact_id")),
            draft_id=given(read_text, slots.get("draft_id")),
            others=given(read_people, slots.get("others")),
        )


def _other(person: Other, first: Participant) -> Participant:
    """Another participant as the `others` slot keeps them (zone: the first's unless said)."""
    channel = Channel.invitation(person.get("invite_channel"))
    if channel is None:
        raise SlotValueError(f"how {person.get('participant')} is invited is needed")
    return Participant(
        name=str(person["participant"]),
        channel=channel,
        email=person.get("email") if channel.address == "email" else None,
        phone=person.get("phone") if channel.address == "phone" else None,
        zone=ZoneInfo(str(person.get("participant_tz") or first.tz)),
    )


def spec_from_slots(slots: Mapping[str, object], practice: Practice) -> SessionSpec:
    """The session the slots describe: the one place the conversation's answers become the
    typed session. Raises ValueError (SlotValueError) when an answer it needs is missing or
    is not what its slot holds."""
    filled = Filled.of(slots)
    if filled.date is None or filled.time is None or not filled.participant:
        raise SlotValueError("the date, the time and the participant are needed")
    channel = Channel.invitation(filled.invite_channel)
    if not filled.draft_id or channel is None:
        raise SlotValueError("a draft and its invitation are needed")
    tz = practice.zone_of(filled.clinician_tz)
    paid = bool(filled.payment_required)
    service = filled.service if paid else None
    participant = Participant(
        name=filled.participant,
        channel=channel,
        email=filled.email if channel.address == "email" else None,
        phone=filled.phone if channel.address == "phone" else None,
        zone=ZoneInfo(filled.participant_tz or tz),
    )
    people = (participant, *(_other(p, participant) for p in filled.others or []))
    return SessionSpec(
        draft_id=filled.draft_id,
        # The wall time the clinician gave, in their zone.
        start=datetime.combine(filled.date, filled.time, tzinfo=ZoneInfo(tz)),
        duration_min=practice.duration_for(service),
        participants=people,
        documents=None if filled.documents in (None, "none") else filled.documents,
        service=service,
        price=Money.of(filled.amount, practice.currency) if paid and filled.amount else None,
    )
