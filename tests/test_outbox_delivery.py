"""Invitations, reminders, updates and cancellations as the participant receives them."""

from __future__ import annotations

import socket
from datetime import timedelta

import icalendar
from conftest import at
from outbox_kit import (
    cancel,
    clinician_notices,
    outbox,
    reschedule,
    run_worker,
    schedule,
    session,
    wired_parts,
)

EMAIL_BOOKING = "JD tomorrow 3pm by email jd@example.com, intake packet"
TEXT_BOOKING = "JD tomorrow 3pm by text +1 617 555 0101, intake packet"


def ics_of(message) -> icalendar.Calendar:
    """The calendar a mail client shows: the text/calendar alternative."""
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


def test_email_invitation_reads_participants_local_time_and_ics_is_the_same_instant(
    tmp_path,
    store,
    smtp_server,
    clock,
) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server)
    booked = schedule(parts, EMAIL_BOOKING)  # 3 PM Eastern, participant in Pacific
    run_worker(parts)
    (mail,) = smtp_server.received
    assert mail.rcpt_tos == ["jd@example.com"]
    msg = mail.message
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "12:00 PM PST" in text and "Pacific" in text and "America/Los_Angeles" in text
    assert "12:00 PM" in msg["Subject"]
    assert "12:00 PM PST" in html
    page = f"https://sessions.example.test/j/{booked.token}"
    assert page in text
    assert f"{page}/rsvp?answer=yes" in text and f"{page}/rsvp?answer=no" in html
    cal = ics_of(msg)
    assert str(cal["METHOD"]) == "REQUEST"
    (event,) = cal.walk("VEVENT")
    assert event.decoded("DTSTART") == at("2026-11-25 15:00")
    assert str(event["STATUS"]) == "CONFIRMED"
    assert int(event["SEQUENCE"]) == 0  # type: ignore[arg-type]  # icalendar: a property typed as any value class
    assert str(event["UID"]) == f"{booked.public_id}@sessionbot"
    assert session(parts, booked.public_id).invite_status == "sent"


def test_text_invitation_reads_participants_time_and_carries_no_health_details(
    tmp_path,
    store,
    fake_twilio,
    clock,
) -> None:
    parts = wired_parts(tmp_path, store, twilio=fake_twilio)
    booked = schedule(parts, TEXT_BOOKING)
    run_worker(parts)
    (sms,) = fake_twilio.messages
    assert sms["To"] == "+16175550101"
    assert sms["From"] == "+15005550006"
    assert "12:00 PM PST" in sms["Body"]
    assert "Wed Nov 25" in sms["Body"]
    assert f"/j/{booked.token}" in sms["Body"]
    assert "intake" not in sms["Body"].lower()
    assert len(sms["Body"]) <= 320
    assert sms["StatusCallback"] == "https://sessions.example.test/webhooks/twilio/status"
    assert fake_twilio.requests[0].path.endswith(
        "/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json"
    )
    assert fake_twilio.requests[0].authorization.startswith("Basic ")
    assert session(parts, booked.public_id).invite_status == "sent"


def test_a_second_worker_run_sends_nothing_new(tmp_path, store, smtp_server, clock) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server)
    schedule(parts, EMAIL_BOOKING)
    first = run_worker(parts)
    assert first.counts["sent"] == 1
    second = run_worker(parts)
    assert second.handled == 0
    assert len(smtp_server.received) == 1


def test_reminders_leave_24_hours_and_1_hour_before(tmp_path, store, smtp_server, clock) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server)
    schedule(parts, "JD in 3 days at 3pm by email jd@example.com, no documents")
    run_worker(parts)
    assert len(smtp_server.received) == 1  # the invitation
    clock.move_to(at("2026-11-26 14:59"))
    run_worker(parts)
    assert len(smtp_server.received) == 1
    clock.move_to(at("2026-11-26 15:00"))
    run_worker(parts)
    assert len(smtp_server.received) == 2
    assert smtp_server.received[1].message["Subject"].startswith("Reminder:")
    clock.move_to(at("2026-11-27 14:00"))
    run_worker(parts)
    assert len(smtp_server.received) == 3
    run_worker(parts)
    assert len(smtp_server.received) == 3


def test_a_reminder_for_a_cancelled_session_never_leaves(
    tmp_path,
    store,
    smtp_server,
    clock,
) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server)
    booked = schedule(parts, EMAIL_BOOKING)
    run_worker(parts)
    cancel(parts, booked.public_id)
    run_worker(parts)
    assert [r.message["Subject"].split(":")[0] for r in smtp_server.received] == [
        "Invitation",
        "Cancelled",
    ]
    cal = ics_of(smtp_server.received[1].message)
    (event,) = cal.walk("VEVENT")
    assert str(cal["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1  # type: ignore[arg-type]  # icalendar: a property typed as any value class
    assert str(event["UID"]) == f"{booked.public_id}@sessionbot"
    for hour in ("2026-11-24 15:00", "2026-11-25 14:00", "2026-11-26 10:00"):
        clock.move_to(at(hour))
        run_worker(parts)
    assert len(smtp_server.received) == 2
    assert {m.status for m in outbox(parts) if m.kind == "reminder"} == {"withdrawn"}


def test_a_reminder_claimed_before_a_cancel_is_not_sent(
    tmp_path,
    store,
    smtp_server,
    clock,
) -> None:
    """The cancel lands between the claim and the send: the worker re-checks."""
    from outbox_kit import worker

    parts = wired_parts(tmp_path, store, smtp=smtp_server)
    booked = schedule(parts, EMAIL_BOOKING)
    run_worker(parts)
    clock.move_to(at("2026-11-24 15:00"))
    w = worker(parts)
    (claimed,) = w.claim()
    cancel(parts, booked.public_id)
    assert w.process(claimed) == "withdrawn"
    assert [r.message["Subject"].split(":")[0] for r in smtp_server.received] == ["Invitation"]


def test_reschedule_withdraws_old_reminders_and_sends_an_update(
    tmp_path,
    store,
    fake_twilio,
    clock,
) -> None:
    parts = wired_parts(tmp_path, store, twilio=fake_twilio)
    booked = schedule(parts, TEXT_BOOKING)
    run_worker(parts)
    reschedule(parts, booked.public_id, at("2026-11-27 16:00"))
    run_worker(parts)
    bodies = [m["Body"] for m in fake_twilio.messages]
    assert len(bodies) == 2
    assert "moved to Fri Nov 27, 1:00 PM PST" in bodies[1]
    # The old reminder times (Nov 24 3 PM, Nov 25 2 PM ET) pass silently...
    for hour in ("2026-11-24 15:00", "2026-11-25 14:00"):
        clock.move_to(at(hour))
        run_worker(parts)
    assert len(fake_twilio.messages) == 2
    # ...and the new ones come at the new times.
    clock.move_to(at("2026-11-26 16:00"))
    run_worker(parts)
    clock.move_to(at("2026-11-27 15:00"))
    run_worker(parts)
    bodies = [m["Body"] for m in fake_twilio.messages]
    assert len(bodies) == 4
    assert all("reminder, video session Fri Nov 27, 1:00 PM PST" in b for b in bodies[2:])


def test_no_invitation_sends_nothing_ever(tmp_path, store, smtp_server, fake_twilio, clock) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server, twilio=fake_twilio)
    booked = schedule(parts, "JD tomorrow 3pm, no invitation, intake packet")
    for hour in ("2026-11-24 10:00", "2026-11-24 15:00", "2026-11-25 14:00"):
        clock.move_to(at(hour))
        run_worker(parts)
    reschedule(parts, booked.public_id, at("2026-11-27 16:00"))
    cancel(parts, booked.public_id)
    run_worker(parts)
    assert smtp_server.received == [] and fake_twilio.requests == []
    assert outbox(parts) == []
    assert session(parts, booked.public_id).invite_status == "not_sent"


def test_an_smtp_outage_for_a_while_ends_with_every_message_sent(
    tmp_path,
    store,
    smtp_server,
    clock,
) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server)
    smtp_server.recorder.outage(7)
    schedule(parts, EMAIL_BOOKING)
    schedule(parts, "Robin tomorrow 4pm by email robin@example.com, no documents")
    for _ in range(12):
        run_worker(parts)
        clock.shift(timedelta(minutes=10))
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [
        "jd@example.com",
        "robin@example.com",
    ]
    invitations = [m for m in outbox(parts) if m.kind == "invitation"]
    assert {m.status for m in invitations} == {"sent"}
    assert sum(m.attempts for m in invitations) == 2 + 7
    assert clinician_notices(parts) == []


def test_smtp_connection_refused_is_retried_after_a_restart(
    tmp_path,
    store,
    clock,
) -> None:
    from smtp_server import BoundController, Recorder

    # Bound and not listening: a connection is refused (on Linux), and the port stays ours
    # until the SMTP server comes up on this very socket.
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    port = held.getsockname()[1]

    class Down:
        url = f"smtp://127.0.0.1:{port}"

    try:
        parts = wired_parts(tmp_path, store, smtp=Down)
        schedule(parts, EMAIL_BOOKING)
        assert run_worker(parts).counts["retry"] == 1
        held.listen()
        recorder = Recorder()
        controller = BoundController(recorder, listener=held)
        controller.start()
        try:
            clock.shift(timedelta(minutes=2))
            assert run_worker(parts).counts["sent"] == 1
        finally:
            controller.stop()
    finally:
        held.close()
    assert len(recorder.received) == 1


def test_a_refused_email_address_tells_the_clinician_what_to_fix(
    tmp_path,
    store,
    smtp_server,
    clock,
) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server)
    smtp_server.recorder.refuse("jd@example.com")
    booked = schedule(parts, EMAIL_BOOKING)
    stats = run_worker(parts)
    assert stats.counts["failed"] == 1
    assert session(parts, booked.public_id).invite_status == "failed"
    (notice,) = clinician_notices(parts)
    assert "invitation for your session with JD" in notice
    assert "550" in notice and "check it" in notice
    assert "jd@example.com" not in notice
    clock.shift(timedelta(hours=2))
    assert run_worker(parts).handled == 0


def test_an_invalid_phone_number_tells_the_clinician(tmp_path, store, fake_twilio, clock) -> None:
    parts = wired_parts(tmp_path, store, twilio=fake_twilio)
    fake_twilio.reject("+16175550101", 21211)
    booked = schedule(parts, TEXT_BOOKING)
    run_worker(parts)
    assert fake_twilio.messages == []
    assert session(parts, booked.public_id).invite_status == "failed"
    (notice,) = clinician_notices(parts)
    assert "21211" in notice and "phone number" in notice


def test_twilio_busy_and_dropped_connections_are_retried(
    tmp_path,
    store,
    fake_twilio,
    clock,
) -> None:
    parts = wired_parts(tmp_path, store, twilio=fake_twilio)
    fake_twilio.fail_next("429", "500", "drop")
    booked = schedule(parts, TEXT_BOOKING)
    for _ in range(6):
        run_worker(parts)
        clock.shift(timedelta(minutes=5))
    assert len(fake_twilio.messages) == 1
    assert len(fake_twilio.requests) == 4
    assert session(parts, booked.public_id).invite_status == "sent"
    assert clinician_notices(parts) == []


def test_cancelling_before_the_invitation_left_sends_the_participant_nothing(
    tmp_path,
    store,
    smtp_server,
    clock,
) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server)
    booked = schedule(parts, EMAIL_BOOKING)
    cancel(parts, booked.public_id)  # before any worker ran: the invitation never left
    for hour in ("2026-11-24 10:00", "2026-11-24 15:00", "2026-11-25 14:00"):
        clock.move_to(at(hour))
        run_worker(parts)
    assert smtp_server.received == []
    assert [(m.kind, m.status) for m in outbox(parts)] == [
        ("invitation", "withdrawn"),
        ("reminder", "withdrawn"),
        ("reminder", "withdrawn"),
    ]
    assert session(parts, booked.public_id).invite_status == "withdrawn"


def test_cancelling_after_a_withdrawn_invitation_sends_nothing_either(
    tmp_path,
    store,
    fake_twilio,
    clock,
) -> None:
    """Moved, then cancelled, all before the worker ran: no text ever reaches the phone."""
    parts = wired_parts(tmp_path, store, twilio=fake_twilio)
    booked = schedule(parts, TEXT_BOOKING)
    reschedule(parts, booked.public_id, at("2026-11-27 16:00"))
    cancel(parts, booked.public_id)
    run_worker(parts)
    assert fake_twilio.requests == []
    assert "cancellation" not in {m.kind for m in outbox(parts)}


def test_cancelling_after_the_invitation_was_sent_tells_the_participant(
    tmp_path,
    store,
    fake_twilio,
    clock,
) -> None:
    parts = wired_parts(tmp_path, store, twilio=fake_twilio)
    booked = schedule(parts, TEXT_BOOKING)
    run_worker(parts)
    cancel(parts, booked.public_id)
    run_worker(parts)
    bodies = [m["Body"] for m in fake_twilio.messages]
    assert len(bodies) == 2
    assert "Wed Nov 25, 12:00 PM PST is cancelled" in bodies[1]


def test_moving_a_session_before_its_invitation_left_sends_an_invitation_not_an_update(
    tmp_path,
    store,
    smtp_server,
    clock,
) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server)
    booked = schedule(parts, EMAIL_BOOKING)
    reschedule(parts, booked.public_id, at("2026-11-27 16:00"))
    run_worker(parts)
    (mail,) = smtp_server.received
    assert mail.message["Subject"].startswith("Invitation:")
    assert "1:00 PM PST" in mail.message["Subject"]
    (event,) = ics_of(mail.message).walk("VEVENT")
    assert event.decoded("DTSTART") == at("2026-11-27 16:00")
    assert int(event["SEQUENCE"]) == 1  # type: ignore[arg-type]  # icalendar: a property typed as any value class
