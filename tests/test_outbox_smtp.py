"""E-mail to a mail server that wants TLS and a login, as a practice's real one does.

The server's certificate is made at test time and trusted through
SESSIONBOT_SMTP_CA_FILE; every AUTH the server sees is recorded with whether TLS was on.
"""

from __future__ import annotations

from datetime import timedelta

from outbox_kit import outbox, run_worker, schedule, session, wired_parts, worker
from smtp_server import PASSWORD, USER, Login

from sessionbot.sending import Limits

EMAIL_BOOKING = "JD tomorrow 3pm by email jd@example.com, intake packet"


def invitation_status(parts) -> tuple[str, str | None]:
    (invitation,) = [m for m in outbox(parts) if m.kind == "invitation"]
    return invitation.status, invitation.last_error


def test_starttls_is_used_when_offered_and_the_password_goes_only_over_tls(
    tmp_path, store, secure_smtp, clock
) -> None:
    server = secure_smtp("starttls")
    parts = wired_parts(tmp_path, store, smtp=server)
    booked = schedule(parts, EMAIL_BOOKING)
    assert run_worker(parts).counts["sent"] == 1
    (mail,) = server.received
    assert mail.rcpt_tos == ["jd@example.com"]
    assert "12:00 PM PST" in mail.message["Subject"]
    assert server.logins == [Login("PLAIN", USER, PASSWORD, over_tls=True)]
    assert session(parts, booked.public_id).invite_status == "sent"


def test_smtps_speaks_tls_from_the_first_byte(tmp_path, store, secure_smtp, clock) -> None:
    server = secure_smtp("smtps")
    parts = wired_parts(tmp_path, store, smtp=server)
    schedule(parts, EMAIL_BOOKING)
    assert run_worker(parts).counts["sent"] == 1
    assert len(server.received) == 1
    assert [(x.user, x.over_tls) for x in server.logins] == [(USER, True)]


def test_a_server_without_tls_never_gets_the_password(tmp_path, store, secure_smtp, clock) -> None:
    """smtp://user:pass@ and no STARTTLS offered: nothing is sent, the message waits."""
    server = secure_smtp("plain")
    parts = wired_parts(tmp_path, store, smtp=server)
    schedule(parts, EMAIL_BOOKING)
    assert run_worker(parts).counts["retry"] == 1
    assert server.logins == [] and server.received == []
    status, error = invitation_status(parts)
    assert status == "pending" and "STARTTLS" in (error or "")
    assert PASSWORD not in (error or "")


def test_a_certificate_the_practice_does_not_trust_is_refused(
    tmp_path, store, secure_smtp, clock
) -> None:
    server = secure_smtp("starttls")
    server.ca_file = ""  # the system's CAs only: our test CA is unknown to them
    parts = wired_parts(tmp_path, store, smtp=server)
    schedule(parts, EMAIL_BOOKING)
    assert run_worker(parts).counts["retry"] == 1
    assert server.logins == [] and server.received == []


def test_a_refused_login_keeps_the_invitation_for_later(
    tmp_path, store, secure_smtp, clock
) -> None:
    server = secure_smtp("starttls", password="not-the-password")
    parts = wired_parts(tmp_path, store, smtp=server)
    schedule(parts, EMAIL_BOOKING)
    assert run_worker(parts).counts["retry"] == 1
    assert server.logins and all(x.over_tls for x in server.logins)
    status, error = invitation_status(parts)
    assert status == "pending" and "login refused" in (error or "")
    assert "not-the-password" not in (error or "")


def test_each_sending_thread_keeps_one_connection_and_one_login(
    tmp_path, store, secure_smtp, clock
) -> None:
    """E-mails go 2 at once here: at most 2 connections (SMTP is one dialogue at a time),
    each logged in once and kept for the next batch."""
    server = secure_smtp("starttls")
    parts = wired_parts(tmp_path, store, smtp=server)
    schedule(parts, EMAIL_BOOKING)
    schedule(parts, "Robin tomorrow 4pm by email robin@example.com, no documents")
    schedule(parts, "Sam tomorrow 5pm by email sam@example.com, no documents")
    w = worker(parts, limits=Limits(email=2))
    assert w.run_once().counts["sent"] == 3
    assert len(server.received) == 3
    assert 1 <= len(server.logins) <= 2
    logins = len(server.logins)
    schedule(parts, "Kim tomorrow 6pm by email kim@example.com, no documents")
    schedule(parts, "Lee tomorrow 7pm by email lee@example.com, no documents")
    assert w.run_once().counts["sent"] == 2
    assert len(server.logins) == logins  # the kept connections, no new login
    clock.shift(timedelta(minutes=1))
    w.close()
