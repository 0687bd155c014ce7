"""E-mail: the message (text + HTML + `.ics`) and who sends it (SMTP, or the local outbox).

`SmtpSender` speaks SMTP to `SESSIONBOT_SMTP_URL`: `smtp://user:pass@host:port` upgrades
with STARTTLS whenever the server offers it; `smtps://` is TLS from the first byte.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit

import icalendar

from integrations import messages
from integrations.errors import PermanentError, TransientError

ICS_METHOD = {"cancellation": "CANCEL"}


class MailSender(Protocol):
    local: bool

    def send(self, message: EmailMessage) -> str:
        """Hand the message over; returns the provider's reference (the Message-ID)."""
        ...


def calendar(
    *,
    uid: str,
    sequence: int,
    start: datetime,
    duration_min: int,
    kind: str,
    organizer: str,
    attendee: str,
    url: str,
    summary: str,
    now: datetime,
) -> bytes:
    """An iTIP `.ics`: REQUEST (CONFIRMED) for invitation/update/reminder, CANCEL otherwise."""
    cancelled = kind == "cancellation"
    cal = icalendar.Calendar()
    cal.add("prodid", "-//sessionbot//video sessions//EN")
    cal.add("version", "2.0")
    cal.add("method", ICS_METHOD.get(kind, "REQUEST"))
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", (start + timedelta(minutes=duration_min)).astimezone(UTC))
    event.add("summary", summary)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if not cancelled:
        event.add("url", url)
        event.add("location", url)
    event.add("organizer", f"mailto:{organizer}")
    attendee_prop = icalendar.vCalAddress(f"mailto:{attendee}")
    attendee_prop.params["role"] = icalendar.vText("REQ-PARTICIPANT")
    attendee_prop.params["rsvp"] = icalendar.vText("TRUE")
    event.add("attendee", attendee_prop)
    cal.add_component(event)
    return cal.to_ical()


def compose(
    kind: str,
    view: messages.SessionView,
    *,
    to: str,
    sender: str,
    uid: str,
    sequence: int,
    now: datetime,
) -> EmailMessage:
    """The whole e-mail: text and HTML alternatives and the calendar file."""
    words = messages.email(kind, view)
    msg = EmailMessage()
    msg["Subject"] = words.subject
    msg["From"] = sender
    msg["To"] = to
    msg["Message-ID"] = make_msgid(domain=_domain_of(sender))
    msg.set_content(words.text)
    msg.add_alternative(words.html, subtype="html")
    ics = calendar(
        uid=uid,
        sequence=sequence,
        start=view.start,
        duration_min=view.duration_min,
        kind=kind,
        organizer=parseaddr(sender)[1] or "no-reply@localhost",
        attendee=to,
        url=view.page_url,
        summary=f"Video session with {view.host}",
        now=now,
    )
    msg.add_attachment(
        ics,
        maintype="text",
        subtype="calendar",
        filename="invite.ics",
        params={"method": ICS_METHOD.get(kind, "REQUEST")},
    )
    return msg


def _domain_of(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"


class SmtpSender:
    """SMTP with STARTTLS when offered (or implicit TLS for smtps://) and AUTH when given.

    The password never goes over a connection without TLS: a `smtp://user:pass@...`
    server that offers no STARTTLS gets no AUTH and no message (a transient error, so the
    messages wait while the practice fixes its settings). One connection is kept open
    and reused while the server keeps it (checked with NOOP), so a batch pays the TLS
    handshake and the login once.
    """

    local = False

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 20.0,
        tls: ssl.SSLContext | None = None,
        ca_file: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("SESSIONBOT_SMTP_URL must start with smtp:// or smtps://")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self.tls = tls or ssl.create_default_context(cafile=ca_file)
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.tls
            )
            conn.ehlo()
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo()
            if conn.has_extn("starttls"):
                conn.starttls(context=self.tls)
                conn.ehlo()
            elif self.user:
                conn.close()
                raise TransientError(
                    "SMTP server offers no STARTTLS; the password is not sent in clear "
                    "(use smtps:// or a server with STARTTLS)"
                )
        if self.user:
            try:
                conn.login(self.user, self.password or "")
            except (smtplib.SMTPAuthenticationError, smtplib.SMTPServerDisconnected) as exc:
                conn.close()
                # The practice's account, not the participant: keep the message for later.
                code = getattr(exc, "smtp_code", "disconnected")
                raise TransientError(f"SMTP login refused ({code})") from None
        return conn

    def _connection(self) -> smtplib.SMTP:
        if self._conn is not None:
            try:
                if self._conn.noop()[0] == 250:
                    return self._conn
            except (smtplib.SMTPException, OSError):
                pass  # the server dropped the kept connection: open a fresh one below
            self.close()
        self._conn = self._connect()
        return self._conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()

    def send(self, message: EmailMessage) -> str:
        try:
            refused = self._connection().send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset()
            codes = [code for code, _ in exc.recipients.values()]
            raise _by_code(min(codes), "recipient refused") from None
        except smtplib.SMTPResponseException as exc:
            self._reset()
            raise _by_code(exc.smtp_code, "server refused the message") from None
        except TransientError:
            raise
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise TransientError(f"SMTP unavailable: {type(exc).__name__}") from None
        if refused:
            raise _by_code(min(code for code, _ in refused.values()), "recipient refused")
        return str(message["Message-ID"])

    def _reset(self) -> None:
        """After a refused transaction, RSET so the kept connection starts clean."""
        if self._conn is None:
            return
        try:
            self._conn.rset()
        except (smtplib.SMTPException, OSError):
            self.close()


def _by_code(code: int, what: str) -> TransientError | PermanentError:
    if 400 <= code < 500:
        return TransientError(f"SMTP {code}: {what} for now")
    return PermanentError(
        f"SMTP {code}: {what}",
        fix="The mail server refused the participant's e-mail address; check it, "
        "or reschedule with another way of inviting them.",
    )
