"""Invitation e-mails as mail clients and calendars read them, through the local SMTP server.

The raw message is parsed with the standard library's strict policy; the calendar with
`icalendar` and, independently, `vobject`. A practice and a clinician with accented names.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage, MIMEPart
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any

import icalendar
import pytest
import vobject
from conftest import at
from outbox_kit import CLINICIAN, cancel, reschedule, run_worker, schedule, wired_parts
from smtp_server import Received
from starlette.testclient import TestClient

from scheduling import calendar_link
from sessionbot.asgi import create_app
from sessionbot.wiring import Parts
from store import clinician_rows

PRACTICE = "Clínica Peña"
CLINICIAN_NAME = "Dr. Zoë Müller"
FROM = "sessions@practice.example"
BOOKING = "JD tomorrow 3pm by email jd@example.com, intake packet"


@pytest.fixture
def parts(tmp_path: Path, store, smtp_server, clock) -> Parts:
    example = (Path(__file__).parents[1] / "ground" / "example_practice.toml").read_text()
    practice = tmp_path / "practice.toml"
    practice.write_text(example.replace('name = "Example Practice"', f'name = "{PRACTICE}"'))
    parts = wired_parts(
        tmp_path,
        store,
        smtp=smtp_server,
        SESSIONBOT_PRACTICE_FILE=str(practice),
        SESSIONBOT_MAIL_FROM=f"{PRACTICE} <{FROM}>",
    )
    with parts.store.unit() as s:
        clinician_rows.get_clinician(
            s, CLINICIAN.team_id, CLINICIAN.user_id, display_name=CLINICIAN_NAME
        )
    return parts


def strict(received: Received) -> EmailMessage:
    """The raw DATA parsed with policy.strict: any defect raises instead of being noted."""
    message = message_from_bytes(received.raw, policy=policy.strict)
    assert isinstance(message, EmailMessage)
    for part in message.walk():
        assert not part.defects, part.defects
    return message


def shape(message: EmailMessage) -> list:
    def tree(part: MIMEPart) -> Any:  # a content type, or [type, [the parts' trees]]
        if part.is_multipart():
            return [part.get_content_type(), [tree(p) for p in part.iter_parts()]]
        return part.get_content_type()

    return tree(message)


def calendar_part(message: EmailMessage) -> MIMEPart:
    alternative = next(message.iter_parts())
    return [p for p in alternative.iter_parts() if p.get_content_type() == "text/calendar"][0]


def attached_ics(message: EmailMessage) -> MIMEPart:
    (attachment,) = list(message.iter_attachments())
    return attachment


def events(message: EmailMessage) -> tuple[icalendar.Calendar, icalendar.Event, Any]:
    """The calendar by icalendar, its one event, and the same calendar read by vobject
    (untyped, hence Any)."""
    raw = calendar_part(message).get_payload(decode=True)
    assert isinstance(raw, bytes)
    cal = icalendar.Calendar.from_ical(raw)
    (event,) = cal.walk("VEVENT")
    assert isinstance(event, icalendar.Event)
    return cal, event, vobject.readOne(raw.decode("utf-8"))


def test_an_invitation_is_an_imip_message_with_date_message_id_and_the_calendar_inside(
    parts: Parts, smtp_server
) -> None:
    schedule(parts, BOOKING)
    run_worker(parts)
    (received,) = smtp_server.received
    message = strict(received)
    assert parsedate_to_datetime(message["Date"]) == at("2026-11-24 10:00").astimezone(UTC)
    assert re.fullmatch(r"<[^<>@\s]+@practice\.example>", message["Message-ID"])
    assert shape(message) == [
        "multipart/mixed",
        [
            ["multipart/alternative", ["text/plain", "text/html", "text/calendar"]],
            "application/ics",
        ],
    ]
    inline = calendar_part(message)
    assert inline.get_param("method") == "REQUEST"
    assert inline.get_content_charset() == "utf-8"
    assert inline.get_content_disposition() is None  # shown, not a file
    attachment = attached_ics(message)
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_payload(decode=True) == inline.get_payload(decode=True)


def test_organizer_and_attendee_are_right_and_the_calendar_asks_no_reply(
    parts: Parts, smtp_server
) -> None:
    booked = schedule(parts, BOOKING)
    run_worker(parts)
    message = strict(smtp_server.received[0])
    cal, event, other = events(message)
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(event["ORGANIZER"]) == f"mailto:{FROM}"
    assert str(event["ORGANIZER"].params["CN"]) == PRACTICE
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:jd@example.com"
    assert attendee.params["RSVP"] == "FALSE" and attendee.params["PARTSTAT"] == "NEEDS-ACTION"
    assert str(event["UID"]) == f"{booked.public_id}@sessionbot"
    assert event.decoded("DTSTART") == at("2026-11-25 15:00")
    # vobject, a parser of its own, reads the same.
    assert other.method.value == "REQUEST"
    vevent = other.vevent
    assert vevent.organizer.value == f"mailto:{FROM}"
    assert vevent.organizer.params["CN"] == [PRACTICE]
    assert vevent.attendee.value == "mailto:jd@example.com"
    assert vevent.attendee.params["RSVP"] == ["FALSE"]
    assert vevent.dtstart.value == at("2026-11-25 15:00")
    assert vevent.uid.value == f"{booked.public_id}@sessionbot"
    # The answer goes where sessionbot hears it: the links, not a calendar reply.
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert f"/j/{booked.token}/rsvp?answer=yes" in text
    assert "replies to this e-mail are not read" in text


def test_accented_names_are_right_in_every_part(parts: Parts, smtp_server) -> None:
    schedule(parts, BOOKING)
    run_worker(parts)
    message = strict(smtp_server.received[0])
    assert parseaddr(str(message["From"])) == (PRACTICE, FROM)
    with_whom = f"{CLINICIAN_NAME} ({PRACTICE})"
    plain = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    assert plain is not None and html_part is not None
    assert with_whom in plain.get_content()
    html = html_part.get_content()
    assert with_whom in html
    _, event, other = events(message)
    assert str(event["SUMMARY"]) == f"Video session with {with_whom}"
    assert other.vevent.summary.value == f"Video session with {with_whom}"
    assert other.vevent.organizer.params["CN"] == [PRACTICE]
    payload = attached_ics(message).get_payload(decode=True)
    assert isinstance(payload, bytes)
    attachment = payload.decode("utf-8")
    assert f"Video session with {with_whom}" in attachment.replace("\r\n ", "")


def test_an_update_and_a_cancellation_carry_the_same_uid_a_higher_sequence_and_cancel(
    parts: Parts, smtp_server
) -> None:
    booked = schedule(parts, BOOKING)
    run_worker(parts)
    reschedule(parts, booked.public_id, at("2026-11-27 16:00"))
    run_worker(parts)
    cancel(parts, booked.public_id)
    run_worker(parts)
    invitation, update, cancellation = (strict(r) for r in smtp_server.received)
    assert update["Subject"].startswith("Updated:") and cancellation["Subject"].startswith(
        "Cancelled:"
    )
    ids = {m["Message-ID"] for m in (invitation, update, cancellation)}
    assert len(ids) == 3
    found = [events(m) for m in (invitation, update, cancellation)]
    assert {str(event["UID"]) for _, event, _ in found} == {f"{booked.public_id}@sessionbot"}
    assert [int(event["SEQUENCE"]) for _, event, _ in found] == [0, 1, 2]  # type: ignore[arg-type]  # icalendar: a property typed as any value class
    assert [other.vevent.sequence.value for _, _, other in found] == ["0", "1", "2"]
    assert [str(cal["METHOD"]) for cal, _, _ in found] == ["REQUEST", "REQUEST", "CANCEL"]
    assert [calendar_part(m).get_param("method") for m in (invitation, update, cancellation)] == [
        "REQUEST",
        "REQUEST",
        "CANCEL",
    ]
    _, moved, _ = found[1]
    assert moved.decoded("DTSTART") == at("2026-11-27 16:00")
    cal, cancelled, other = found[2]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert str(cancelled["ATTENDEE"]) == "mailto:jd@example.com"  # CANCEL names who is told
    assert other.vevent.status.value == "CANCELLED"
    assert shape(cancellation)[1][0] == [
        "multipart/alternative",
        ["text/plain", "text/html", "text/calendar"],
    ]


def test_the_invitations_event_is_in_the_participants_zone_with_its_rules(
    parts: Parts, smtp_server
) -> None:
    """No UTC times: the start is the participant's wall time under a TZID whose
    VTIMEZONE is in the file, so their calendar shows 12:00 PM Pacific (3 PM Eastern)."""
    schedule(parts, BOOKING, tz_answer="Pacific")
    run_worker(parts)
    message = strict(smtp_server.received[0])
    cal, event, other = events(message)
    assert event["DTSTART"].params["TZID"] == "America/Los_Angeles"
    assert event["DTEND"].params["TZID"] == "America/Los_Angeles"
    payload = calendar_part(message).get_payload(decode=True)
    assert isinstance(payload, bytes)
    raw = payload.decode("utf-8")
    assert "DTSTART;TZID=America/Los_Angeles:20261125T120000" in raw
    assert not re.search(r"^DT(START|END)[:;].*Z\r?$", raw, re.M)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["America/Los_Angeles"]
    assert event.decoded("DTSTART") == at("2026-11-25 15:00")
    # vobject resolves the TZID from the file's own VTIMEZONE: Pacific standard time.
    start = other.vevent.dtstart.value
    assert (start.hour, start.minute) == (12, 0)
    assert start.utcoffset() == timedelta(hours=-8)
    payload = attached_ics(message).get_payload(decode=True)
    assert isinstance(payload, bytes)
    attachment = payload.decode("utf-8")
    assert "DTSTART;TZID=America/Los_Angeles:20261125T120000" in attachment


def test_the_invitation_and_the_clinicians_feed_hold_one_event(parts: Parts, smtp_server) -> None:
    """The same UID and SEQUENCE in the participant's e-mail and the clinician's feed, each
    in its reader's zone: a calendar that has both sees one session."""
    booked = schedule(parts, BOOKING, tz_answer="Pacific")
    run_worker(parts)
    _, invited, _ = events(strict(smtp_server.received[0]))
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, CLINICIAN.team_id, CLINICIAN.user_id)
        done, _ = calendar_link.show(s, clinician, parts.settings.public_url)
    (url,) = re.findall(r"https://\S+\.ics", done.text)
    with TestClient(create_app(parts), base_url=parts.settings.public_url) as client:
        body = client.get(url.removeprefix(parts.settings.public_url)).content
    (in_feed,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(in_feed["UID"]) == str(invited["UID"]) == f"{booked.public_id}@sessionbot"
    feed_sequence, invited_sequence = in_feed["SEQUENCE"], invited["SEQUENCE"]
    assert isinstance(feed_sequence, int) and isinstance(invited_sequence, int)  # vInt
    assert int(feed_sequence) == int(invited_sequence) == 0
    assert in_feed.decoded("DTSTART") == invited.decoded("DTSTART")
    assert in_feed["DTSTART"].params["TZID"] == "America/New_York"  # the clinician's
    assert invited["DTSTART"].params["TZID"] == "America/Los_Angeles"  # the participant's
