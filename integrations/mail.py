"""E-mail: the message (text + HTML + calendar, iMIP) and who sends it (SMTP, or the local outbox).

An invitation is shaped as Google Calendar and Thunderbird send one, so every common client
shows it as an invitation rather than a file:

    multipart/mixed
      multipart/alternative
        text/plain; charset=utf-8
        text/html; charset=utf-8
        text/calendar; method=REQUEST; charset=utf-8     (CANCEL for a cancellation)
      application/ics; name="invite.ics"                 (the same calendar, as a file)

with `Date` and `Message-ID` (smtplib adds neither). Updates and cancellations carry the
same UID with SEQUENCE = the session's version, which goes up with every change; the event
is built by integrations/calendar.py (the clinician's feed holds the same one), its times in
the participant's zone with a TZID and VTIMEZONE.

RSVP: the calendar does not ask for a reply (`RSVP=FALSE` on the attendee). A calendar's
reply is an e-mail to the ORGANIZER, and sessionbot reads no mailbox; the participant
answers with the Yes/No links of the e-mail and the session page, which do reach it.

`SmtpSender` speaks SMTP to `SESSIONBOT_SMTP_URL`: `smtp://user:pass@host:port` upgrades
with STARTTLS whenever the server offers it; `smtps://` is TLS from the first byte.
"""

from __future__ import annotations

import copy
import smtplib
import ssl
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit

from ground.language import translations
from integrations import calendar as events
from integrations import messages
from integrations.errors import PermanentError, TransientError

ICS_METHOD = {"cancellation": "CANCEL"}
ICS_FILENAME = "invite.ics"


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
    tz: str,
    kind: str,
    organizer: str,
    organizer_name: str,
    attendee: str,
    url: str,
    summary: str,
    now: datetime,
    link_label: str = "Enter Meeting",
) -> bytes:
    """An iTIP `.ics`: REQUEST (CONFIRMED) for invitation/update/reminder, CANCEL otherwise.

    The event is the one the clinician's feed holds (integrations/calendar.py), written
    in the participant's zone `tz` with its VTIMEZONE.
    """
    event = events.SessionEvent(
        uid=uid,
        sequence=sequence,
        start=start,
        duration_min=duration_min,
        tz=tz,
        summary=summary,
        stamp=now,
        cancelled=kind == "cancellation",
        url=url,
        link_label=link_label,
        organizer=events.Person(organizer, organizer_name),
        attendee=events.Person(attendee),
    )
    return events.calendar([event], method=ICS_METHOD.get(kind, "REQUEST"))


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
    """The whole e-mail: text, HTML and calendar alternatives, and the calendar file."""
    words = messages.email(kind, view)
    _ = translations(view.language).gettext
    from_name, from_address = parseaddr(sender)
    from_address = from_address or "no-reply@localhost"
    msg = EmailMessage()
    msg["Subject"] = words.subject
    msg["From"] = Address(display_name=from_name or view.host, addr_spec=from_address)
    msg["To"] = to
    msg["Date"] = format_datetime(now.astimezone(UTC))
    msg["Message-ID"] = make_msgid(domain=_domain_of(from_address))
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: vacation responders stay quiet
    method = ICS_METHOD.get(kind, "REQUEST")
    ics = calendar(
        uid=uid,
        sequence=sequence,
        start=view.start,
        duration_min=view.duration_min,
        tz=view.participant_tz,
        kind=kind,
        organizer=from_address,
        organizer_name=from_name or view.host,
        attendee=to,
        url=view.page_url,
        summary=_("Video session with {whom}").format(whom=view.with_whom),
        now=now,
        link_label=_("Enter Meeting"),
    )
    msg.set_content(words.text, charset="utf-8")
    msg.add_alternative(words.html, subtype="html", charset="utf-8")
    # Bytes in base64: the calendar's CRLF line ends and folding reach the client as made.
    msg.add_alternative(
        ics, maintype="text", subtype="calendar", params={"method": method, "charset": "utf-8"}
    )
    msg.make_mixed()
    msg.add_attachment(
        ics,
        maintype="application",
        subtype="ics",
        filename=ICS_FILENAME,
        params={"name": ICS_FILENAME},
    )
    return msg


def _domain_of(address: str) -> str:
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

    def twin(self) -> SmtpSender:
        """Another sender with these settings and a connection of its own: one connection
        is one SMTP dialogue, so each sending thread gets its twin (sessionbot/sending.py)."""
        twin = copy.copy(self)
        twin._conn = None
        return twin

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
    if 400 <= code < 500:  # 421: the server closes the connection, "too many" among others
        return TransientError(f"SMTP {code}: {what} for now", rate_limited=code == 421)
    return PermanentError(
        f"SMTP {code}: {what}",
        fix="The mail server refused the participant's e-mail address; check it, "
        "or reschedule with another way of inviting them.",
    )
