"""Every participant of a session, the first and the others (couples, families).

The session's own columns are the first participant's (everything that reads one
participant keeps working); participants 2..N are `session_guests` rows. Here they are
one list of `Recipient`s: each with their own channel, address, zone, page link, RSVP
and Enter. The room and the payment are the session's, shared by all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypedDict

from sqlalchemy.orm import Session

from ground.channel import Channel
from ground.language import resolve
from ground.session import Participant
from store import audit, guests
from store.crypto import keyring
from store.models import ScheduledSession, SessionGuest


class TooManyParticipants(ValueError):
    """More participants than the practice's `max_participants`."""

    def __init__(self, given: int, limit: int) -> None:
        super().__init__(
            f"A session can have at most {limit} participants (the practice's limit); "
            f"this one has {given}."
        )
        self.given, self.limit = given, limit


def check_limit(count: int, limit: int) -> None:
    if count > limit:
        raise TooManyParticipants(count, limit)


@dataclass(frozen=True)
class Recipient:
    """One participant as a message or a page needs them (decrypted, in memory only)."""

    guest_id: int | None  # None: the first participant (the session's own columns)
    name: str
    channel: Channel
    email: str | None
    phone: str | None
    tz: str
    token: str
    rsvp: str | None
    entered_at: datetime | None
    phone_index: str | None = None


def _of_guest(guest: SessionGuest) -> Recipient:
    return Recipient(
        guest.id,
        guest.participant,
        Channel(guest.invite_channel),
        guest.email,
        guest.phone,
        guest.participant_tz,
        guest.token,
        guest.rsvp,
        guest.entered_at,
        guest.phone_index,
    )


def first(session: ScheduledSession) -> Recipient:
    return Recipient(
        None,
        session.participant,
        Channel(session.invite_channel),
        session.email,
        session.phone,
        session.participant_tz,
        session.token,
        session.rsvp,
        session.entered_at,
        session.phone_index,
    )


def recipients(session: ScheduledSession) -> list[Recipient]:
    """The first participant, then the others in the order they were named."""
    return [first(session), *(_of_guest(g) for g in session.guests)]


def recipient(session: ScheduledSession, guest_id: int | None) -> Recipient | None:
    """The participant a message is for; None when that one was removed."""
    if guest_id is None:
        return first(session)
    found = guests.guest_of(session, guest_id)
    return _of_guest(found) if found is not None else None


def set_invite_status(session: ScheduledSession, guest_id: int | None, status: str) -> None:
    """Where the invitation of this participant stands (the session's own: the first's)."""
    if guest_id is None:
        session.invite_status = status
        return
    found = guests.guest_of(session, guest_id)
    if found is not None:
        found.invite_status = status


def invite_status_of(session: ScheduledSession, guest_id: int | None) -> str:
    found = guests.guest_of(session, guest_id) if guest_id is not None else None
    return found.invite_status if found is not None else session.invite_status


def guest_fields(person: Participant) -> guests.GuestFields:
    address = person.channel.address
    phone = person.phone if address == "phone" else None
    return {
        "participant": person.name,
        "invite_channel": person.channel.value,
        "email": person.email if address == "email" else None,
        "phone": phone,
        "phone_index": keyring().blind_index(phone) if phone else None,
        "participant_tz": person.tz,
        "invite_status": "queued" if person.channel != Channel.NONE else "not_sent",
    }


def add_others(s: Session, session: ScheduledSession, people: tuple[Participant, ...]) -> None:
    """Participants 2..N of a session just stored (flushed, so messages can name them)."""
    for person in people:
        guests.add_guest(s, session, **guest_fields(person))
    if people:
        s.flush()


def participant_url(public_url: str, who: Recipient) -> str:
    return f"{public_url}/j/{who.token}"


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ParticipantRecord(TypedDict):
    """One participant in `sessions --json`."""

    participant: str  # "erased" once erased
    invite_channel: str
    email: str | None
    phone: str | None
    participant_tz: str
    language: str
    participant_url: str
    rsvp: str | None
    entered_at: str | None  # ISO 8601, UTC


def records(
    session: ScheduledSession, public_url: str, default_language: str | None = None
) -> list[ParticipantRecord]:
    """`sessions --json`'s `participants`: every participant, the first one first. The
    language is the session's (every participant reads the session's language), else the
    practice's."""
    erased = session.erased_at is not None
    language = resolve(session.language, default_language)
    return [
        {
            "participant": "erased" if erased or not who.name else who.name,
            "invite_channel": who.channel.value,
            "email": who.email,
            "phone": who.phone,
            "participant_tz": who.tz,
            "language": language,
            "participant_url": participant_url(public_url, who),
            "rsvp": who.rsvp,
            "entered_at": _iso(who.entered_at),
        }
        for who in recipients(session)
    ]


def remove_guest(s: Session, session: ScheduledSession, guest_id: int) -> bool:
    """Take a participant 2..N off the session: their messages not sent yet go with them."""
    found = guests.guest_of(session, guest_id)
    if found is None:
        return False
    session.guests.remove(found)
    audit.session_event(s, session, "participant_removed", fields=["participants"])
    return True
