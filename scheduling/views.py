"""What the conversation reads of a clinician, their contacts and their sessions: small
frozen views made inside the scheduling service's unit, never rows a face could change.

Whose conversation it is: the sender, or the clinician a staff member books for while they
may (an admin, or their scheduler; scheduling/roles.py). A read never makes a clinician:
someone the store has not met yet reads as the practice's defaults and no contacts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ground.formatting import initials
from ground.hours import WorkingHours
from ground.practice import Practice
from scheduling import refunds, roles
from scheduling.hours import close_call_bounds, hours_of
from scheduling.results import clinician_zone
from store import clinician_rows, session_rows
from store.models import Clinician, Contact, ScheduledSession

BOOKS_FOR = (roles.ADMIN, roles.SCHEDULER)  # the roles a staff member's conversation needs


def conversation_user(s: Session, team: str, user: str, for_user: str | None) -> str | None:
    """The clinician a conversation acts for: the sender itself, or (`for_user`) the
    clinician a staff member may book for; None when they may not."""
    if for_user is None:
        return user
    return for_user if roles.role_for(s, team, user, for_user) in BOOKS_FOR else None


def conversation_clinician(
    s: Session, team: str, user: str, for_user: str | None
) -> Clinician | None:
    """The stored clinician of a conversation (None: nobody, or not met yet)."""
    clinician_user = conversation_user(s, team, user, for_user)
    return (
        None if clinician_user is None else clinician_rows.find_clinician(s, team, clinician_user)
    )


@dataclass(frozen=True)
class ClinicianView:
    """A clinician as the conversation needs them; the practice's defaults for nobody."""

    known: bool  # the store has met them
    tz: str | None  # the zone stored for them (None: never given)
    zone: str  # their zone, else the practice's
    hours: WorkingHours | None  # the working hours that apply (their own, else the practice's)
    bounds: tuple[int, int]  # the hours a time without am/pm ("at 7") is read inside


def clinician_view(clinician: Clinician | None, practice: Practice) -> ClinicianView:
    return ClinicianView(
        known=clinician is not None,
        tz=clinician.tz if clinician is not None else None,
        zone=practice.zone_of(clinician.tz if clinician is not None else None),
        hours=hours_of(clinician, practice),
        bounds=close_call_bounds(clinician, practice),
    )


@dataclass(frozen=True)
class ContactView:
    """A previous participant: what choosing them fills in a draft."""

    id: int
    name: str
    invite_channel: str
    email: str | None
    phone: str | None
    participant_tz: str | None
    language: str | None


def contact_view(contact: Contact) -> ContactView:
    return ContactView(
        contact.id,
        contact.name,
        contact.invite_channel,
        contact.email,
        contact.phone,
        contact.participant_tz,
        contact.language,
    )


def known_name(s: Session, clinician: Clinician, names: list[str]) -> str | None:
    """The first of `names` that is one of the clinician's contacts, as it was given."""
    return next(
        (name for name in names if clinician_rows.contact_by_name(s, clinician.id, name)), None
    )


@dataclass(frozen=True)
class SessionLine:
    start: datetime
    participant: str


@dataclass(frozen=True)
class Upcoming:
    """The first of the clinician's upcoming sessions and how many there are in all."""

    sessions: tuple[SessionLine, ...]
    total: int
    tz: str | None  # the zone stored for the clinician


def upcoming(s: Session, clinician: Clinician, now: datetime, limit: int) -> Upcoming:
    rows = session_rows.list_sessions(s, clinician.id, after=now, limit=limit)
    return Upcoming(
        tuple(SessionLine(x.start_at, x.participant) for x in rows),
        session_rows.count_sessions(s, clinician.id, after=now),
        clinician.tz,
    )


@dataclass(frozen=True)
class CancelChoice:
    """A session the clinician may be asked about cancelling: Cancel it / Keep it, or for
    a paid one the refund `offer`."""

    public_id: str
    start: datetime
    participant: str
    cancelled: bool
    offer: refunds.Offer | None
    tz: str  # the clinician's zone, to say the start in


def cancel_choice(
    session: ScheduledSession, clinician: Clinician, practice: Practice, now: datetime
) -> CancelChoice:
    return CancelChoice(
        session.public_id,
        session.start_at,
        session.participant,
        session.status == "cancelled",
        refunds.offer(session, practice, now),
        clinician_zone(clinician, practice),
    )


def sessions_said(
    s: Session,
    clinician: Clinician,
    practice: Practice,
    now: datetime,
    *,
    at: time | None,
    day: date | None,
    participant: str | None,
) -> list[ScheduledSession]:
    """The upcoming sessions "cancel my 3pm with JD on Friday" names: at that local time,
    on that local day, with that participant (by name or initials); each given part must fit."""
    tz = ZoneInfo(clinician_zone(clinician, practice))
    wanted = participant.replace(".", "").casefold() if participant else None
    fits = []
    for session in session_rows.list_sessions(s, clinician.id, after=now, limit=500):
        local = session.start_at.astimezone(tz)
        if at is not None and (local.hour, local.minute) != (at.hour, at.minute):
            continue
        if day is not None and local.date() != day:
            continue
        if wanted is not None and wanted not in (
            session.participant.casefold(),
            initials(session.participant).replace(".", "").casefold(),
        ):
            continue
        fits.append(session)
    return fits
