"""The one event builder: a session as an RFC 5545 VEVENT, for the invitation and the feed.

The invitation's `.ics` (integrations/mail.py, in the participant's zone) and the
clinician's live feed (web/feed.py, in the clinician's zone) both build their events
here, so a session is the same event everywhere a calendar meets it:

- UID `<public id>@sessionbot`, the same in every message and in the feed;
- SEQUENCE, the session's version, which goes up with every change;
- STATUS CONFIRMED, or CANCELLED for a cancelled session;
- DTSTART/DTEND as wall times with a TZID, and one VTIMEZONE per zone used (built by
  `icalendar` from zoneinfo, for the years the events span), never UTC `...Z` times, so
  a calendar shows the session at the wall time of that zone, with its rules;
- the link to open (URL, and in the description), unless it is cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

PRODID = "-//sessionbot//video sessions//EN"
UID_DOMAIN = "sessionbot"
END = b"END:VCALENDAR\r\n"


def uid_of(public_id: str) -> str:
    """A session's event UID: stable for its whole life, the same in e-mail and feed."""
    return f"{public_id}@{UID_DOMAIN}"


@dataclass(frozen=True)
class Person:
    """An ORGANIZER or ATTENDEE (the invitation's; the feed names nobody)."""

    address: str
    name: str | None = None


@dataclass(frozen=True)
class SessionEvent:
    """What a calendar event says of one session."""

    uid: str  # `uid_of(the session's public id)`
    sequence: int
    start: datetime  # aware
    duration_min: int
    tz: str  # the IANA zone its times are written in
    summary: str
    stamp: datetime  # DTSTAMP: when this copy was made (a message) or last revised (a feed)
    cancelled: bool = False
    url: str | None = None  # the link to open; left out of a cancelled event
    link_label: str = "Enter Meeting"
    last_modified: datetime | None = None
    organizer: Person | None = None
    attendee: Person | None = None


def vevent(session: SessionEvent) -> icalendar.Event:
    zone = ZoneInfo(session.tz)
    start = session.start.astimezone(zone)
    end = (session.start + timedelta(minutes=session.duration_min)).astimezone(zone)
    event = icalendar.Event()
    event.add("uid", session.uid)
    event.add("sequence", session.sequence)
    event.add("dtstamp", session.stamp.astimezone(UTC))
    if session.last_modified is not None:
        event.add("last-modified", session.last_modified.astimezone(UTC))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", session.summary)
    event.add("status", "CANCELLED" if session.cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if session.cancelled else "OPAQUE")
    if session.url and not session.cancelled:
        event.add("url", session.url)
        event.add("location", session.url)
        event.add("description", f"{session.link_label}: {session.url}")
    if session.organizer is not None:
        event.add("organizer", _address(session.organizer))
    if session.attendee is not None:
        attendee = _address(session.attendee)
        attendee.params["cutype"] = icalendar.vText("INDIVIDUAL")
        attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = icalendar.vText("NEEDS-ACTION")
        # No calendar reply: it would go to the organizer's mailbox, which nobody reads.
        attendee.params["rsvp"] = icalendar.vText("FALSE")
        event.add("attendee", attendee)
    return event


def _address(person: Person) -> icalendar.vCalAddress:
    prop = icalendar.vCalAddress(f"mailto:{person.address}")
    if person.name:
        prop.params["cn"] = icalendar.vText(person.name)
    return prop


@dataclass(frozen=True)
class Built:
    """One event serialized (icalendar folds and escapes it), with what its calendar
    needs to know of it: the TZID it uses (None for UTC itself) and its local year."""

    ical: bytes
    tzid: str | None
    year: int


def build(session: SessionEvent) -> Built:
    event = vevent(session)
    tzid = event["DTSTART"].params.get("TZID")
    year = session.start.astimezone(ZoneInfo(session.tz)).year
    return Built(event.to_ical(), str(tzid) if tzid else None, year)


def calendar(
    sessions: Iterable[SessionEvent | Built],
    *,
    method: str | None = None,
    name: str | None = None,
    refresh: timedelta | None = None,
    zone: tuple[str, int] | None = None,
) -> bytes:
    """A VCALENDAR of these events (or events already built: a feed keeps them between
    polls), with the VTIMEZONE of every zone they use.

    `method` for iTIP (an e-mail's REQUEST or CANCEL); a published feed has none, and
    then `name` and `refresh` (RFC 7986) tell a subscribing calendar what it is and how
    often to look again, and `zone` (the zone and the current year) is its own zone:
    named, with its VTIMEZONE even while no event uses it (a calendar holds at least
    one component).
    """
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("name", name)
        cal.add("x-wr-calname", name)
    if refresh is not None:
        cal.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", icalendar.vDuration(refresh))
    events = [s if isinstance(s, Built) else build(s) for s in sessions]
    spans: dict[str, tuple[int, int]] = {}  # a TZID used: the first and last year
    if zone is not None and not events:
        spans[zone[0]] = (zone[1], zone[1])
    for event in events:
        if event.tzid:
            first, last = spans.get(event.tzid, (event.year, event.year))
            spans[event.tzid] = (min(first, event.year), max(last, event.year))
    if len(spans) == 1 and name:
        cal.add("x-wr-timezone", next(iter(spans)))
    for tzid, (first, last) in sorted(spans.items()):
        cal.add_component(vtimezone(tzid, first, last))
    # The events go in as icalendar wrote them, before the calendar's END line.
    head = cal.to_ical().removesuffix(END)
    return b"".join([head, *(e.ical for e in events), END])


def vtimezone(tz: str, first_year: int, last_year: int) -> icalendar.Timezone:
    """The zone's rules from the start of `first_year` to the end of `last_year` (and a
    year beyond, for a series a calendar extends); from zoneinfo, by `icalendar`."""
    return icalendar.Timezone.from_tzid(
        tz, first_date=date(first_year, 1, 1), last_date=date(last_year + 2, 1, 1)
    )
